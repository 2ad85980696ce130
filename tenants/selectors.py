"""Reads about staff and their hotels. Every console request and websocket resolves its tenant here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tenants.models import StaffMembership, StaffRole, Tenant

ACTIVE_TENANT_SESSION_KEY = "active_tenant_id"


def staff_tenants(*, user: Any) -> QuerySet[Tenant]:
    """Active hotels where ``user`` has an active membership (none for anonymous or inactive users)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Tenant.objects.none()
    return (
        Tenant.objects.filter(is_active=True, memberships__user=user, memberships__is_active=True)
        .distinct()
        .order_by("name")
    )


def staff_membership(*, user: Any, tenant: Tenant | int | None) -> StaffMembership | None:
    if tenant is None or user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    return (
        StaffMembership.objects.select_related("tenant")
        .filter(user=user, tenant_id=tenant_id, is_active=True, tenant__is_active=True)
        .first()
    )


def staff_is_hotel_admin(*, user: Any, tenant: Tenant | int | None) -> bool:
    membership = staff_membership(user=user, tenant=tenant)
    return membership is not None and membership.role == StaffRole.ADMIN


def active_tenant_for(*, user: Any, session: Any) -> Tenant | None:
    """The hotel the staff member picked for this session, if they still belong to it; else their only hotel;
    else ``None`` (they must pick one). Fails closed."""
    tenants = staff_tenants(user=user)
    chosen = session.get(ACTIVE_TENANT_SESSION_KEY) if session is not None else None
    if chosen is not None:
        tenant = tenants.filter(pk=chosen).first()
        if tenant is not None:
            return tenant
    first_two = list(tenants[:2])
    return first_two[0] if len(first_two) == 1 else None

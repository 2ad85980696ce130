"""Django admin for hotel admins: each one sees and edits only the rows of the hotels they administer.

A hotel admin is an active staff user (``is_staff``) with an active ``StaffMembership`` of role ``admin`` in an
active hotel. They need no Django permissions of their own: ``tenants.auth.LockoutModelBackend`` grants them the
model permissions named by ``hotel_admin_permissions`` on every ``ModelAdmin`` that uses
``TenantScopedAdminMixin``, and the mixin narrows those permissions to their hotels' rows:

- ``get_queryset`` keeps the rows whose ``tenant_field`` (``"tenant"``, ``"conversation__tenant"``, ``"pk"`` for
  ``Tenant`` itself) is one of their hotels, so lists, searches, actions and related links follow;
- a row of another hotel is a 404, exactly like a row that does not exist;
- foreign-key choices are limited to their hotels' rows (a foreign key to ``Tenant`` becomes required, so no
  hotel admin writes a global row) and list filters offer only values present in their rows;
- ``superuser_only_fields`` are read-only and ``superuser_only_actions`` hidden for them.

Superusers see everything, unchanged. Staff without an admin membership (front-desk agents) get no permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from tenants.models import StaffMembership, StaffRole, Tenant

ALL_PERMISSIONS = ("view", "add", "change", "delete")


def hotel_admin_tenant_ids(user: Any) -> frozenset[int]:
    """Active hotels where ``user`` is an active hotel admin (cached on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_hotel_admin_tenant_ids", None)
    if cached is None:
        cached = frozenset(
            StaffMembership.objects.filter(
                user=user, role=StaffRole.ADMIN, is_active=True, tenant__is_active=True
            ).values_list("tenant_id", flat=True)
        )
        user._hotel_admin_tenant_ids = cached
    return cached


def _is_unscoped(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def _tenant_id_of(obj: models.Model, tenant_field: str) -> int | None:
    """Follow ``tenant_field`` on an instance (``"conversation__tenant"`` → ``obj.conversation.tenant_id``)."""
    *path, last = tenant_field.split("__")
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if last == "pk":
        return obj.pk
    return getattr(obj, obj._meta.get_field(last).attname)


class TenantScopedAdminMixin:
    """Put it first in a ``ModelAdmin``'s bases. See the module docstring."""

    tenant_field: str = "tenant"
    # What a hotel admin may do with this model (within their hotels); the class's own rules still apply on top.
    hotel_admin_permissions: tuple[str, ...] = ALL_PERMISSIONS
    superuser_only_fields: tuple[str, ...] = ()
    superuser_only_actions: tuple[str, ...] = ()

    # --- rows ------------------------------------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        if _is_unscoped(request):
            return queryset
        return queryset.filter(**{f"{self.tenant_field}__in": hotel_admin_tenant_ids(request.user)})

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if obj is None and not _is_unscoped(request):
            raise Http404  # absent and "another hotel's" look the same
        return obj

    def tenant_in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if obj is None or _is_unscoped(request):
            return True
        return _tenant_id_of(obj, self.tenant_field) in hotel_admin_tenant_ids(request.user)

    # --- permissions (the model permissions come from the auth backend; the object ones from here) ----------------
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self.tenant_in_scope(request, obj)  # type: ignore[misc]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self.tenant_in_scope(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self.tenant_in_scope(request, obj)  # type: ignore[misc]

    # --- forms ---------------------------------------------------------------------------------------------
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        if _is_unscoped(request) or not self.superuser_only_fields:
            return fields
        return [*fields, *(f for f in self.superuser_only_fields if f not in fields)]

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        # The autocomplete endpoint searches the related model's admin, which a hotel admin may not reach (users):
        # plain selects over the already-narrowed choices instead.
        if _is_unscoped(request):
            return super().get_autocomplete_fields(request)  # type: ignore[misc]
        return ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not _is_unscoped(request):
            queryset = scoped_choices(db_field.related_model, request, admin_site=self.admin_site)  # type: ignore[attr-defined]
            if queryset is not None:
                kwargs["queryset"] = queryset
            if db_field.related_model is Tenant:
                kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    # --- lists ---------------------------------------------------------------------------------------------
    def get_list_filter(self, request: HttpRequest) -> Any:
        list_filter = super().get_list_filter(request)  # type: ignore[misc]
        if _is_unscoped(request):
            return list_filter
        # A plain related filter lists every row of the related table (every hotel's name): offer only the values
        # present in this admin's (scoped) rows.
        return [
            (item, admin.RelatedOnlyFieldListFilter)
            if isinstance(item, str) and _is_relation(self.model, item)
            else item  # type: ignore[attr-defined]
            for item in list_filter
        ]

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)  # type: ignore[misc]
        if not _is_unscoped(request):
            for name in self.superuser_only_actions:
                actions.pop(name, None)
        return actions


def _is_relation(model: type[models.Model], lookup: str) -> bool:
    *path, last = lookup.split("__")
    try:
        for part in path:
            model = model._meta.get_field(part).related_model
        field = model._meta.get_field(last)
    except (FieldDoesNotExist, AttributeError):
        return False
    return bool(field.is_relation)


def scoped_choices(model: type[models.Model], request: HttpRequest, *, admin_site: admin.AdminSite) -> QuerySet | None:
    """The rows of ``model`` a hotel admin may pick in a form: their hotels, their hotels' rows (through the
    model's scoped admin), their hotels' staff. ``None`` when the model is not tenant-owned."""
    tenant_ids = hotel_admin_tenant_ids(request.user)
    if model is Tenant:
        return Tenant.objects.filter(pk__in=tenant_ids)
    if model is get_user_model():
        return model._default_manager.filter(memberships__tenant_id__in=tenant_ids).distinct()
    if admin_site.is_registered(model):
        model_admin = admin_site.get_model_admin(model)
        if isinstance(model_admin, TenantScopedAdminMixin):
            return model_admin.get_queryset(request)
    try:
        model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return None
    return model._default_manager.filter(tenant_id__in=tenant_ids)

"""Staff console pages. Each page renders the shell; ``static/console/console.js`` fetches the data from the
console API (``/api/console/…``) and keeps it live over ``/ws/console/``. Every page needs a logged-in staff
member with an active hotel; without one they are sent to pick it (``console-switch-tenant``)."""

from __future__ import annotations

from functools import wraps
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from conversations.models import ConversationStatus
from tenants.models import ChannelType
from tenants.selectors import ACTIVE_TENANT_SESSION_KEY, active_tenant_for, staff_is_hotel_admin, staff_tenants


def _console_page(view):
    """Login required; resolve the active hotel (or send the staff member to pick one) and pass it on."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = active_tenant_for(user=request.user, session=request.session)
        if tenant is None:
            return redirect(f"{reverse('console-switch-tenant')}?next={request.get_full_path()}")
        return view(request, tenant, *args, **kwargs)

    return wrapper


def _shell(request: HttpRequest, template: str, *, tenant, page: str, **extra: Any) -> HttpResponse:
    context = {
        "tenant": tenant,
        "page": page,
        "has_several_hotels": staff_tenants(user=request.user)[1:2].exists(),
        "is_hotel_admin": staff_is_hotel_admin(user=request.user, tenant=tenant),
        "statuses": ConversationStatus.choices,
        "channels": ChannelType.choices,
        **extra,
    }
    return render(request, template, context)


@require_GET
@_console_page
def queue(request: HttpRequest, tenant) -> HttpResponse:
    return _shell(request, "console/queue.html", tenant=tenant, page="queue")


@require_GET
@_console_page
def conversations(request: HttpRequest, tenant) -> HttpResponse:
    return _shell(request, "console/conversations.html", tenant=tenant, page="conversations")


@require_GET
@_console_page
def conversation(request: HttpRequest, tenant, conversation_id: UUID) -> HttpResponse:
    # Existence and ownership are the API's job (same 404 for absent and not yours); the page is only a shell.
    return _shell(
        request, "console/conversation.html", tenant=tenant, page="conversation", conversation_id=conversation_id
    )


@login_required
@require_http_methods(["GET", "POST"])
def switch_tenant(request: HttpRequest) -> HttpResponse:
    """GET: the staff member's hotels. POST ``tenant``: make it the active hotel; a hotel they do not belong to
    (or that does not exist) is a 404, never a hint."""
    tenants = staff_tenants(user=request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST":
        raw = request.POST.get("tenant", "")
        if not (raw.isascii() and raw.isdigit()):
            raise Http404
        tenant = tenants.filter(pk=int(raw)).first()
        if tenant is None:
            raise Http404
        request.session[ACTIVE_TENANT_SESSION_KEY] = tenant.pk
        return HttpResponseRedirect(next_url or reverse("console-queue"))
    active = active_tenant_for(user=request.user, session=request.session)
    return render(
        request,
        "console/switch_tenant.html",
        {"tenants": list(tenants), "tenant": active, "page": "switch", "next": next_url},
    )

"""Operator admin for guests, conversations, messages, booking attempts and lock audits. Superuser-level for now.

The traffic itself is read-only here: messages, conversations and lock audits are written by the pipeline's
services (status changes, escalations, delivery receipts), never by hand.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from conversations.agent.booking_attempts import (
    UNRESOLVED,
    SettleRefused,
    booking_attempt_settle_booked,
    booking_attempt_settle_not_booked,
    booking_attempt_verify_in_pms,
)
from conversations.agent.nlu.llm import same_endpoint
from conversations.models import (
    AgentSettings,
    BookingAttempt,
    BookingAttemptStatus,
    CannedReply,
    Conversation,
    Guest,
    InboundNotification,
    LockAudit,
    Message,
    SessionState,
)
from pms.services import pms_for_tenant
from tenants.admin_scoping import TenantScopedAdminMixin


class ReadOnlyAdminMixin:
    """View-only: no add, change or delete, whoever asks."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _short(text: str) -> str:
    return Truncator(text).chars(60)


@admin.register(Guest)
class GuestAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    hotel_admin_permissions = ("view", "change")
    list_display = ["__str__", "tenant", "channel", "address", "language", "last_seen_at", "created_at"]
    list_filter = ["channel", "tenant"]
    search_fields = ["address", "display_name"]
    list_select_related = ["tenant"]
    fields = ["tenant", "channel", "address", "display_name", "language", "created_at", "last_seen_at"]
    # Guests arrive through a channel; only how we call and address them is editable.
    readonly_fields = ["tenant", "channel", "address", "created_at", "last_seen_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    fields = ["created_at", "direction", "sender", "kind", "text", "status", "flagged"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    ordering = ["created_at", "id"]


@admin.register(Conversation)
class ConversationAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["guest", "tenant", "channel", "status", "assignee", "last_message_at", "created_at"]
    list_filter = ["status", "channel_account__channel", "tenant"]
    search_fields = ["guest__address", "guest__display_name"]
    list_select_related = ["guest", "tenant", "channel_account", "assignee"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]

    @admin.display(description=_("channel"), ordering="channel_account__channel")
    def channel(self, obj: Conversation) -> str:
        return obj.channel_account.get_channel_display()


@admin.register(Message)
class MessageAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "tenant", "guest", "direction", "sender", "kind", "summary", "status", "flagged"]
    list_filter = ["direction", "status", "kind", "flagged", "tenant"]
    search_fields = ["text", "provider_message_id", "conversation__guest__address"]
    list_select_related = ["tenant", "conversation__guest"]
    date_hierarchy = "created_at"

    @admin.display(description=_("guest"), ordering="conversation__guest__address")
    def guest(self, obj: Message) -> str:
        return str(obj.conversation.guest)

    @admin.display(description=_("text"))
    def summary(self, obj: Message) -> str:
        return _short(obj.text)


@admin.register(LockAudit)
class LockAuditAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "tenant", "resource", "action", "owner", "held_ms"]
    list_filter = ["action", "tenant"]
    search_fields = ["resource", "owner"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"


class BookingAttemptSettleForm(forms.ModelForm):
    """Nothing of the attempt is editable; an unresolved one takes the PMS reference staff found for its stay, which is
    checked against the PMS (room type, dates, confirmed) before it is recorded as booked."""

    pms_reference = forms.CharField(
        label=_("Found in the PMS as"),
        required=False,
        max_length=64,
        help_text=_(
            "The PMS's booking reference of this stay. It is checked against the PMS (room type, dates) and recorded "
            "as booked, with the PMS's total."
        ),
    )

    class Meta:
        model = BookingAttempt
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        reference = (data.get("pms_reference") or "").strip()
        self.found = None
        if reference:
            try:
                self.found = booking_attempt_verify_in_pms(
                    attempt=self.instance, reference=reference, pms=pms_for_tenant(self.instance.tenant)
                )
            except SettleRefused as exc:
                self.add_error("pms_reference", str(exc))
        return data


@admin.register(BookingAttempt)
class BookingAttemptAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Every guest "yes" to a booking and what the PMS answered. ``unknown`` ones (a timeout, a run that died
    mid-call) were handed to reception: look the stay up in the PMS. Found: enter its reference on the attempt (checked
    against the PMS, then ``booked``). Not there: the action "not booked" lets the guest book those dates again.
    Nothing else about an attempt is ever edited by hand, and none is added or deleted here."""

    hotel_admin_permissions = ("view", "change")
    form = BookingAttemptSettleForm
    list_display = ["created_at", "tenant", "status", "reference", "room_type", "stay", "guest_name", "total"]
    list_filter = ["status", "tenant"]
    search_fields = ["reference"]
    list_select_related = ["tenant"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "tenant", "message", "status", "reference", "room_type", "check_in", "check_out", "adults", "children",
        "guest_name", "total_price", "currency", "error", "created_at", "updated_at",
    ]  # fmt: skip
    actions = ["settle_not_booked"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Only an unresolved attempt, and only to record what the PMS says about it."""
        return obj is not None and obj.status in UNRESOLVED and super().has_change_permission(request, obj)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        settleable = obj is not None and self.has_change_permission(request, obj)
        return [*self.readonly_fields, *(["pms_reference"] if settleable else [])]

    def save_model(self, request: HttpRequest, obj: BookingAttempt, form: Any, change: bool) -> None:
        """The row is never saved from the form: only the verified PMS booking is recorded, by the service."""
        booking = getattr(form, "found", None)
        if booking is None:
            return
        if booking_attempt_settle_booked(attempt=obj, booking=booking, by=request.user.get_username()):
            self.message_user(request, _("Recorded as booked: %(ref)s.") % {"ref": booking.reference})
        else:
            self.message_user(request, _("This booking attempt was settled meanwhile; nothing changed."), "warning")

    @admin.display(description=_("stay"), ordering="check_in")
    def stay(self, obj: BookingAttempt) -> str:
        return f"{obj.check_in:%Y-%m-%d} → {obj.check_out:%Y-%m-%d} · {obj.adults}+{obj.children}"

    @admin.display(description=_("total"), ordering="total_price")
    def total(self, obj: BookingAttempt) -> str:
        return f"{obj.total_price} {obj.currency}" if obj.total_price is not None else ""

    @admin.action(description=_("Checked in the PMS: not booked (the guest may book again)"))
    def settle_not_booked(self, request: HttpRequest, queryset: Any) -> None:
        settled = 0
        for attempt in queryset.filter(status__in=[BookingAttemptStatus.STARTED, BookingAttemptStatus.UNKNOWN]):
            settled += booking_attempt_settle_not_booked(attempt=attempt, by=request.user.get_username())
        self.message_user(
            request,
            ngettext(
                "%(n)d booking attempt marked as not booked.", "%(n)d booking attempts marked as not booked.", settled
            )
            % {"n": settled},
        )


class AgentSettingsForm(forms.ModelForm):
    """The LLM key is write-only: never rendered, blank keeps the stored one."""

    llm_api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current key."),
    )
    clear_llm_api_key = forms.BooleanField(required=False, label=_("Remove the stored LLM key"))

    class Meta:
        model = AgentSettings
        fields = (
            "tenant",
            "confidence_threshold",
            "session_ttl_hours",
            "nlu_engine",
            "llm_base_url",
            "llm_model",
            "llm_api_key",
        )

    def clean_llm_api_key(self) -> str:
        value = self.cleaned_data.get("llm_api_key", "")
        return value or (self.instance.llm_api_key if self.instance.pk else "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        base_url = (cleaned.get("llm_base_url") or "").strip()
        key = "" if cleaned.get("clear_llm_api_key") else cleaned.get("llm_api_key", "")
        if base_url and not key and not same_endpoint(base_url, settings.LLM_API_BASE_URL):
            self.add_error(
                "llm_api_key",
                _(
                    "The hotel's own endpoint needs its own API key: the global key is only sent to the global "
                    "endpoint."
                ),
            )
        return cleaned

    def save(self, commit: bool = True) -> AgentSettings:
        if self.cleaned_data.get("clear_llm_api_key"):
            self.instance.llm_api_key = ""
        return super().save(commit=commit)


@admin.register(AgentSettings)
class AgentSettingsAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    form = AgentSettingsForm
    # Where the server sends guests' messages is the operator's call, as the PMS URL is: a hotel admin who could
    # point it anywhere could make the workers call internal addresses. Hotel admins pick the model and their key.
    superuser_only_fields = ("llm_base_url",)
    list_display = ("tenant", "confidence_threshold", "session_ttl_hours", "nlu_engine", "llm_model")
    list_select_related = ("tenant",)
    search_fields = ("tenant__slug", "tenant__name")


@admin.register(SessionState)
class SessionStateAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("conversation", "tenant", "language", "fallback_streak", "expires_at", "updated_at")
    list_filter = ("tenant", "language")
    list_select_related = ("tenant", "conversation__guest")
    search_fields = ("conversation__guest__address", "conversation__guest__display_name")


@admin.register(CannedReply)
class CannedReplyAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "tenant", "language", "sort_order", "updated_at")
    list_filter = ("language", "tenant")
    list_editable = ("sort_order",)
    list_select_related = ("tenant",)
    search_fields = ("title", "text")
    ordering = ("tenant", "language", "sort_order", "title")
    fields = ("tenant", "language", "title", "text", "sort_order")


class PendingFilter(admin.SimpleListFilter):
    title = _("processed")
    parameter_name = "processed"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("Not yet")), ("yes", _("Yes"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() in ("no", "yes"):
            return queryset.filter(processed_at__isnull=self.value() == "no")
        return queryset


@admin.register(InboundNotification)
class InboundNotificationAdmin(TenantScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Webhook notifications as stored by the request: an old unprocessed one is stuck (see ``last_error``;
    ``manage.py reprocess_inbound`` enqueues it again). The raw body is not shown: it may name other hotels."""

    list_display = [
        "__str__", "tenant", "channel_account", "received_at", "processed_at", "attempts", "failed_at", "last_error"
    ]  # fmt: skip
    list_filter = [PendingFilter, "channel", "tenant"]
    list_select_related = ["tenant", "channel_account"]
    fields = [
        "tenant", "channel_account", "channel", "received_at", "processed_at", "attempts", "failed_at", "last_error"
    ]  # fmt: skip
    readonly_fields = fields
    date_hierarchy = "received_at"

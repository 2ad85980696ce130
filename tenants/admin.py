"""Operator admin for hotels, channel accounts and staff. Superuser-level for now.

Channel credentials are write-only here: the raw JSON is never a form field, the change form offers one password
input per key (blank keeps the stored value) and lists only show which keys are set.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from tenants.admin_scoping import TenantScopedAdminMixin
from tenants.auth_views import StaffAdminAuthenticationForm
from tenants.flags import DEFAULT_FLAGS, FLAG_DESCRIPTIONS, flag_cache_invalidate
from tenants.forms import (
    ChannelAccountAdminForm,
    credential_clear_field_name,
    credential_field_name,
    credential_keys_for,
)
from tenants.models import (
    ChannelAccount,
    FeatureFlag,
    HotelProfile,
    KnowledgeEntry,
    StaffMembership,
    Tenant,
)
from tenants.services import channel_account_credential_status, tenant_activate, tenant_deactivate

# Lockout message on the admin's login page too (the lockout itself is in the auth backend).
admin.site.login_form = StaffAdminAuthenticationForm


def credential_summary(account: ChannelAccount) -> str:
    """``app_secret ✓, access_token –`` — which keys are set, never what they are."""
    status = channel_account_credential_status(account=account)
    return ", ".join(f"{key} {'✓' if is_set else '–'}" for key, is_set in status.items()) or "–"


class ChannelAccountInline(admin.TabularInline):
    """Read-only summary; accounts are edited on their own page (write-only credentials)."""

    model = ChannelAccount
    fields = ["channel", "external_id", "display_name", "is_active", "credentials_set"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("credentials"))
    def credentials_set(self, obj: ChannelAccount) -> str:
        return credential_summary(obj)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    tenant_field = "pk"
    hotel_admin_permissions = ("view", "change")  # hotels are created, deleted and (de)activated by operators
    superuser_only_fields = ("is_active",)
    superuser_only_actions = ("deactivate_selected", "activate_selected")
    list_display = ["slug", "name", "is_active", "timezone", "default_language", "channel_count", "created_at"]
    list_filter = ["is_active", "default_language"]
    search_fields = ["slug", "name"]
    ordering = ["slug"]
    inlines = [ChannelAccountInline]
    actions = ["deactivate_selected", "activate_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).annotate(channel_count=Count("channel_accounts"))

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        # The slug names the hotel on the command line and in logs: fixed once created.
        fields = ["slug", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]
        return [*fields, *super().get_readonly_fields(request, obj)]  # + superuser-only fields for hotel admins

    @admin.display(description=_("channels"), ordering="channel_count")
    def channel_count(self, obj: Tenant) -> int:
        return obj.channel_count  # type: ignore[attr-defined]  # annotated in get_queryset

    @admin.action(description=_("Deactivate selected hotels"))
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        slugs = list(queryset.values_list("slug", flat=True))
        for slug in slugs:
            tenant_deactivate(slug=slug)
        self.message_user(request, _("%(count)d hotel(s) deactivated.") % {"count": len(slugs)}, messages.SUCCESS)

    @admin.action(description=_("Activate selected hotels"))
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        slugs = list(queryset.values_list("slug", flat=True))
        for slug in slugs:
            tenant_activate(slug=slug)
        self.message_user(request, _("%(count)d hotel(s) activated.") % {"count": len(slugs)}, messages.SUCCESS)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    # Which provider id routes to which hotel is the operator's call; hotel admins edit names and credentials.
    hotel_admin_permissions = ("view", "change")
    superuser_only_fields = ("external_id",)
    form = ChannelAccountAdminForm
    list_display = ["__str__", "tenant", "channel", "external_id", "display_name", "is_active", "credentials_set"]
    list_filter = ["channel", "is_active"]
    search_fields = ["external_id", "display_name", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]

    def get_readonly_fields(self, request: HttpRequest, obj: ChannelAccount | None = None) -> list[str]:
        # Conversations and guests hang off the account: moving it to another hotel or channel would mix tenants.
        fields = ["tenant", "channel", "created_at", "updated_at"] if obj else ["created_at", "updated_at"]
        return [*fields, *super().get_readonly_fields(request, obj)]  # + superuser-only fields for hotel admins

    def get_fieldsets(self, request: HttpRequest, obj: ChannelAccount | None = None) -> list[tuple[Any, dict]]:
        keys = credential_keys_for(obj)
        return [
            (None, {"fields": ["tenant", "channel", "external_id", "display_name", "is_active"]}),
            (
                _("Credentials (write-only)"),
                {
                    "fields": [(credential_field_name(k), credential_clear_field_name(k)) for k in keys],
                    "description": _(
                        "Override the environment's values for this account. Stored values are never shown: "
                        "leave a field blank to keep the current value, tick “clear” to remove it."
                    ),
                },
            ),
            (_("History"), {"fields": ["created_at", "updated_at"]}),
        ]

    @admin.display(description=_("credentials"))
    def credentials_set(self, obj: ChannelAccount) -> str:
        return credential_summary(obj)


@admin.register(StaffMembership)
class StaffMembershipAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "user__email", "tenant__slug", "tenant__name"]
    list_select_related = ["user", "tenant"]
    autocomplete_fields = ["user", "tenant"]
    readonly_fields = ["created_at"]


# --- feature flags ------------------------------------------------------------------------------------------------
class FeatureFlagAdminForm(forms.ModelForm):
    """The name is picked from the flags the code knows: an override of an unknown flag cannot be created."""

    name = forms.ChoiceField(choices=())

    class Meta:
        model = FeatureFlag
        fields = ["name", "tenant", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].choices = [
                (name, f"{name} — {FLAG_DESCRIPTIONS[name]}") for name in sorted(DEFAULT_FLAGS)
            ]
        if "tenant" in self.fields:
            self.fields["tenant"].help_text = _("Leave empty for a global override (every hotel without its own).")


@admin.register(FeatureFlag)
class FeatureFlagAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    """Overrides only; ``manage.py flags list`` shows every flag with its effective value. Saves and deletes drop
    the cached values like ``tenants.flags.flag_set`` / ``flag_unset`` do."""

    form = FeatureFlagAdminForm
    list_display = ["name", "scope", "enabled", "default", "updated_at"]
    list_filter = ["enabled", "name", ("tenant", admin.EmptyFieldListFilter)]
    search_fields = ["name", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    ordering = ["name", "tenant__slug"]

    def get_readonly_fields(self, request: HttpRequest, obj: FeatureFlag | None = None) -> list[str]:
        # Renaming or moving an override would leave the old scope's cached value behind: delete and add instead.
        return ["name", "tenant", "updated_at"] if obj else ["updated_at"]

    @admin.display(description=_("hotel"), ordering="tenant__slug")
    def scope(self, obj: FeatureFlag) -> str:
        return obj.tenant.slug if obj.tenant_id else _("all hotels (global)")

    @admin.display(description=_("default"), boolean=True)
    def default(self, obj: FeatureFlag) -> bool | None:
        return DEFAULT_FLAGS.get(obj.name)

    def save_model(self, request: HttpRequest, obj: FeatureFlag, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        flag_cache_invalidate(obj.name, tenant=obj.tenant_id)

    def delete_model(self, request: HttpRequest, obj: FeatureFlag) -> None:
        name, tenant_id = obj.name, obj.tenant_id
        super().delete_model(request, obj)
        flag_cache_invalidate(name, tenant=tenant_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[FeatureFlag]) -> None:
        scopes = list(queryset.values_list("name", "tenant_id"))
        super().delete_queryset(request, queryset)
        for name, tenant_id in scopes:
            flag_cache_invalidate(name, tenant=tenant_id)


# --- hotel knowledge ----------------------------------------------------------------------------------------------
@admin.register(HotelProfile)
class HotelProfileAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["tenant", "city", "phone", "check_in_time", "check_out_time", "reception_hours", "updated_at"]
    search_fields = ["tenant__slug", "tenant__name", "city", "address"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["updated_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["tenant"]}),
        (
            _("Location"),
            {"fields": ["address", "postal_code", "city", "country", ("latitude", "longitude"), "map_url"]},
        ),
        (_("Contact"), {"fields": ["phone", "email", "website"]}),
        (
            _("Times"),
            {
                "fields": [
                    ("check_in_time", "check_out_time"),
                    "reception_24h",
                    ("reception_opens", "reception_closes"),
                ],
                "description": _(
                    "Times are local to the hotel's time zone. Outside reception hours urgent messages go to staff."
                ),
            },
        ),
        (None, {"fields": ["currency", "updated_at"]}),
    ]

    @admin.display(description=_("reception"))
    def reception_hours(self, obj: HotelProfile) -> str:
        if obj.reception_24h:
            return "24 h"
        return f"{obj.reception_opens:%H:%M}–{obj.reception_closes:%H:%M}"


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["tenant", "topic", "language", "answer_preview", "updated_at"]
    list_filter = ["tenant", "topic", "language"]
    search_fields = ["answer", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]
    autocomplete_fields = ["tenant"]
    readonly_fields = ["updated_at"]
    ordering = ["tenant__slug", "topic", "language"]

    @admin.display(description=_("answer"))
    def answer_preview(self, obj: KnowledgeEntry) -> str:
        return Truncator(obj.answer).chars(90)

"""Tenants (hotels), their channel accounts and their staff."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

SUPPORTED_LANGUAGES = [("es", _("Spanish")), ("en", _("English")), ("pt", _("Portuguese"))]


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known IANA time zone."), params={"value": value})


class Tenant(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="Europe/Madrid", validators=[validate_timezone])
    default_language = models.CharField(max_length=5, choices=SUPPORTED_LANGUAGES, default="es")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("hotel")
        verbose_name_plural = _("hotels")

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class ChannelType(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"
    EMAIL = "email", _("E-mail")
    WEBCHAT = "webchat", _("Web chat")


# The credentials a channel account may hold to override the global (environment) values.
CHANNEL_CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    ChannelType.WHATSAPP: ("app_secret", "access_token", "verify_token"),
    ChannelType.SMS: ("account_sid", "auth_token"),
    ChannelType.EMAIL: ("username", "password"),
    ChannelType.WEBCHAT: (),
}


class ChannelAccount(models.Model):
    """One number / mailbox / widget of a hotel. ``external_id`` is what the provider sends us to identify it
    (WhatsApp: ``metadata.phone_number_id``)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="channel_accounts")
    channel = models.CharField(max_length=16, choices=ChannelType.choices)
    external_id = models.CharField(
        max_length=128, validators=[RegexValidator(r"^[A-Za-z0-9@.+_:-]+$", _("Invalid external id."))]
    )
    display_name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    # Secrets overriding the environment's values for this account. Never rendered in admin or logs.
    credentials = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__slug", "channel", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_channel_external_id"),
        ]
        verbose_name = _("channel account")
        verbose_name_plural = _("channel accounts")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.external_id}"

    def __repr__(self) -> str:  # never leak credentials through repr()
        return f"<ChannelAccount {self.pk} {self.channel}:{self.external_id}>"

    def credential(self, key: str) -> str:
        value = (self.credentials or {}).get(key, "")
        return value if isinstance(value, str) else ""


class StaffRole(models.TextChoices):
    AGENT = "agent", _("Front-desk agent")
    ADMIN = "admin", _("Hotel admin")


class StaffMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=StaffRole.choices, default=StaffRole.AGENT)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")]
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant.slug} ({self.role})"

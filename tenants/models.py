"""Tenants (hotels), their channel accounts and their staff."""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
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


# --- feature flags (``tenants.flags``) --------------------------------------------------------------------------
class FeatureFlag(models.Model):
    """An override of one of ``tenants.flags.DEFAULT_FLAGS``: for one hotel, or for all of them (``tenant`` null).

    Written only through ``tenants.flags`` (or the admin, which calls its invalidation), so caches follow.
    """

    name = models.CharField(max_length=100)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="feature_flags")
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "tenant_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "tenant"],
                name="uniq_feature_flag_name_tenant",
                violation_error_message=_("This hotel already has an override for this flag."),
            ),
            # NULLs are distinct in a unique index: the global row needs its own partial constraint.
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(tenant__isnull=True),
                name="uniq_feature_flag_global",
                violation_error_message=_("There is already a global override for this flag."),
            ),
        ]
        verbose_name = _("feature flag")
        verbose_name_plural = _("feature flags")

    def __str__(self) -> str:
        scope = self.tenant.slug if self.tenant_id else "global"
        return f"{self.name} [{scope}] = {'on' if self.enabled else 'off'}"


# --- hotel knowledge (``tenants.knowledge``) --------------------------------------------------------------------
class HotelProfile(models.Model):
    """Facts about a hotel the agent quotes: where it is, how to reach it, its times and its reception hours."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="profile")
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True)
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    map_url = models.URLField(max_length=500, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    check_in_time = models.TimeField(default=datetime.time(15, 0))
    check_out_time = models.TimeField(default=datetime.time(12, 0))
    reception_24h = models.BooleanField(
        _("reception open 24 h"), default=False, help_text=_("When set, the opening hours below are ignored.")
    )
    reception_opens = models.TimeField(default=datetime.time(8, 0))
    reception_closes = models.TimeField(
        default=datetime.time(23, 0), help_text=_("May be earlier than the opening time: the hours cross midnight.")
    )
    currency = models.CharField(
        max_length=3,
        default="EUR",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use an ISO 4217 code such as EUR."))],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("hotel profile")
        verbose_name_plural = _("hotel profiles")

    def __str__(self) -> str:
        return f"{self.tenant.slug} profile"


class KnowledgeTopic(models.TextChoices):
    WIFI = "wifi", _("Wi-Fi")
    PARKING = "parking", _("Parking")
    BREAKFAST = "breakfast", _("Breakfast")
    POOL = "pool", _("Pool")
    GYM = "gym", _("Gym")
    SPA = "spa", _("Spa")
    PETS = "pets", _("Pets")
    CHECKIN_CHECKOUT = "checkin_checkout", _("Check-in and check-out")
    PAYMENT = "payment", _("Payment")
    INVOICE = "invoice", _("Invoices")
    SHUTTLE = "shuttle", _("Airport shuttle and transfers")
    ACCESSIBILITY = "accessibility", _("Accessibility")
    LUGGAGE = "luggage", _("Luggage storage")
    SMOKING = "smoking", _("Smoking")
    RESTAURANT = "restaurant", _("Restaurant and bar")
    LOCATION_DIRECTIONS = "location_directions", _("Address and directions")
    LOCATION_DISTANCES = "location_distances", _("Distances")
    CANCELLATION_POLICY = "cancellation_policy", _("Cancellation policy")
    CHILDREN_POLICY = "children_policy", _("Children policy")


class KnowledgeEntryQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int | None) -> KnowledgeEntryQuerySet:
        """Fails closed: no tenant, no rows."""
        if tenant is None:
            return self.none()
        return self.filter(tenant_id=tenant if isinstance(tenant, int) else tenant.pk)


class KnowledgeEntry(models.Model):
    """One answer of one hotel about one topic, in one language. Edited by the hotel in the admin."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="knowledge_entries")
    topic = models.CharField(max_length=32, choices=KnowledgeTopic.choices)
    language = models.CharField(max_length=5, choices=SUPPORTED_LANGUAGES)
    answer = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    objects = KnowledgeEntryQuerySet.as_manager()

    class Meta:
        ordering = ["tenant_id", "topic", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "topic", "language"],
                name="uniq_knowledge_tenant_topic_language",
                violation_error_message=_("This hotel already has an answer for this topic in this language."),
            ),
        ]
        verbose_name = _("knowledge entry")
        verbose_name_plural = _("knowledge entries")

    def __str__(self) -> str:
        return f"{self.tenant.slug}: {self.topic} ({self.language})"


# --- staff passwords (``tenants.auth``) -------------------------------------------------------------------------
class PasswordHistory(models.Model):
    """The hashes of a staff member's recent passwords, newest first, so that none of the last few is reused.

    Only hashes, never the password; written by ``tenants.auth.password_history_record`` (kept to the last
    ``PasswordHistoryValidator.history`` rows per user)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(_("password hash"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="password_history_user_recent")]
        verbose_name = _("password history entry")
        verbose_name_plural = _("password history")

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d %H:%M}"

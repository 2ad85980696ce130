"""Guests, conversations, messages, booking attempts and lock audits. Every table is tenant-owned and read through
``for_tenant(tenant)``, which fails closed (``None`` ⇒ empty queryset)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenants.models import SUPPORTED_LANGUAGES, ChannelAccount, ChannelType, Tenant


class TenantScopedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int | None) -> TenantScopedQuerySet:
        if tenant is None:
            return self.none()
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        if tenant_id is None:
            return self.none()
        return self.filter(tenant_id=tenant_id)


class Guest(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="guests")
    channel = models.CharField(max_length=16, choices=ChannelType.choices)
    # WhatsApp: wa_id (phone digits) or, for username users without a phone, the user id.
    address = models.CharField(max_length=255)
    display_name = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=5, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "channel", "address"], name="uniq_guest_tenant_channel_address")
        ]
        verbose_name = _("guest")
        verbose_name_plural = _("guests")

    def __str__(self) -> str:
        return self.display_name or self.address


class ConversationStatus(models.TextChoices):
    BOT = "bot", _("Bot")
    PENDING_HUMAN = "pending_human", _("Waiting for staff")
    HUMAN = "human", _("Staff")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="conversations")
    guest = models.ForeignKey(Guest, on_delete=models.PROTECT, related_name="conversations")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="conversations")
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_reason = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=5, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # At most one open conversation per guest and channel account: concurrent first messages converge.
            models.UniqueConstraint(
                fields=["guest", "channel_account"],
                condition=~Q(status="closed"),
                name="uniq_open_conversation_per_guest_account",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "last_message_at"], name="conv_tenant_status_idx")]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")

    def __str__(self) -> str:
        return f"{self.guest} · {self.get_status_display()}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class Sender(models.TextChoices):
    GUEST = "guest", _("Guest")
    BOT = "bot", _("Bot")
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System")


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    AUDIO = "audio", _("Audio")
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document")
    STICKER = "sticker", _("Sticker")
    INTERACTIVE = "interactive", _("Interactive")
    LOCATION = "location", _("Location")
    UNSUPPORTED = "unsupported", _("Unsupported")


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")  # inbound messages
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    INTERNAL = "internal", _("Internal note")  # staff notes: never sent


# Statuses only move forward. ``failed`` can replace queued/sent, never delivered/read.
STATUS_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
}


class FlagReason(models.TextChoices):
    FLOOD = "flood", _("Too many messages per minute")


class MessageQuerySet(TenantScopedQuerySet):
    def guest_visible(self) -> MessageQuerySet:
        """What the guest may see: everything but staff's internal notes."""
        return self.filter(is_internal=False)


class Message(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender = models.CharField(max_length=8, choices=Sender.choices)
    kind = models.CharField(max_length=16, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField(blank=True)
    # Media reference, location, interactive ids … whatever the kind carries, normalized.
    attachment = models.JSONField(default=dict, blank=True)
    raw_payload = models.JSONField(default=dict, blank=True)
    # What the agent understood of an inbound message: intent, confidence, language, entities, engine.
    nlu = models.JSONField(default=dict, blank=True)
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 (NULL: not sent yet; unique when set)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices)
    error_code = models.CharField(max_length=32, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=16, choices=FlagReason.choices, blank=True)
    provider_timestamp = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    status_updated_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveSmallIntegerField(default=0)
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    # Staff's internal notes: stored with the conversation, shown in the console, never sent to the guest.
    is_internal = models.BooleanField(default=False)
    # The staff member who wrote a staff reply or note.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel_account", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="uniq_message_provider_id_per_account",
            ),
            # Exactly one bot answer per inbound message, whatever runs twice.
            models.UniqueConstraint(
                fields=["reply_to"],
                condition=Q(sender="bot"),
                name="uniq_bot_reply_per_inbound",
            ),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="msg_conversation_created_idx")]
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.text[:40]}"

    @property
    def choice_id(self) -> str:
        """The id of the quick reply (button or list row) the guest tapped, or ``""``."""
        choice = self.attachment.get("id", "") if isinstance(self.attachment, dict) else ""
        return choice if isinstance(choice, str) else ""


class LockAction(models.TextChoices):
    ACQUIRED = "acquired", _("Acquired")
    RELEASED = "released", _("Released")
    CONTENDED = "contended", _("Contended (not acquired)")
    EXPIRED = "expired", _("Expired before release")


class LockAudit(models.Model):
    """Trail of distributed locks (the seed's ``lock_audit`` table)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="lock_audits")
    resource = models.CharField(max_length=200)
    owner = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=LockAction.choices)
    held_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "resource", "created_at"], name="lockaudit_resource_idx")]
        verbose_name = _("lock audit")
        verbose_name_plural = _("lock audits")

    def __str__(self) -> str:
        return f"{self.resource} {self.action} by {self.owner[:8]}"


class AgentSettings(models.Model):
    """Per-hotel overrides of the agent's global settings (``None`` = use the global value)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="agent_settings")
    confidence_threshold = models.FloatField(
        null=True,
        blank=True,
        help_text=_("Below this NLU confidence the agent asks for clarification (0–1). Empty: global default."),
    )
    session_ttl_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("How long a conversation's context is kept. Empty: global default.")
    )
    nlu_engine = models.CharField(
        max_length=16, blank=True, help_text=_("NLU engine name (local, llm). Empty: chosen by feature flags.")
    )
    # The optional LLM engine's endpoint for this hotel (empty: the LLM_* settings).
    llm_base_url = models.URLField(blank=True, help_text=_("OpenAI-compatible base URL. Empty: global setting."))
    llm_model = models.CharField(max_length=100, blank=True, help_text=_("Model name. Empty: global setting."))
    llm_api_key = models.CharField(max_length=255, blank=True, help_text=_("Never shown; empty: global setting."))

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("agent settings")
        verbose_name_plural = _("agent settings")

    def __str__(self) -> str:
        return f"agent settings · {self.tenant_id}"


class SessionState(models.Model):
    """Multi-turn state of one conversation: what the guest asked for so far, recent intents, the question the
    agent is waiting on. Expires after the session TTL; an expired session starts over (the conversation stays)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sessions")
    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="session")
    # check_in / check_out (ISO), adults, children, room_type, booking_ref, guest_name, email, phone, …
    context = models.JSONField(default=dict, blank=True)
    # What the agent asked and is waiting for: {"action": "...", "slot": "...", "data": {...}}.
    pending = models.JSONField(default=dict, blank=True)
    intents = models.JSONField(default=list, blank=True)  # last 10: [{"intent", "confidence", "at"}]
    language = models.CharField(max_length=5, blank=True)
    fallback_streak = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"session · {self.conversation_id}"

    @property
    def last_intent(self) -> dict | None:
        return self.intents[-1] if self.intents else None


class ConversationEvent(models.Model):
    """Every realtime event, kept for replay: a reconnecting console asks for events after the last id it saw
    (per tenant), so nothing is lost or shown twice. Pruned after a few days by ``prune_events``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="events")
    conversation = models.ForeignKey(
        Conversation, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "id"], name="event_tenant_id_idx")]
        verbose_name = _("conversation event")
        verbose_name_plural = _("conversation events")

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class CannedReply(models.Model):
    """A ready-made answer staff can insert in the console, per hotel and language (hotel admins edit them)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="canned_replies")
    language = models.CharField(_("language"), max_length=5, choices=SUPPORTED_LANGUAGES)
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=4096)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["tenant", "language", "sort_order", "title"]
        indexes = [models.Index(fields=["tenant", "language", "sort_order"], name="canned_tenant_lang_idx")]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class IdempotencyKey(models.Model):
    """A staff reply's ``Idempotency-Key``: the same key from the same staff member in the same hotel names the
    same message, however many times the request arrives."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user", "key"], name="uniq_idempotency_key_per_staff")]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return f"{self.key} → message {self.message_id}"


class InboundNotification(models.Model):
    """A provider notification as received, stored in the webhook's own request before it answers 200: one row per
    channel account the notification names (usually one), written in one statement. Everything else (guests,
    conversations, messages, flood flags, delivery statuses, events) is done by ``drain_inbound_notifications``
    from this row, so nothing a guest sent is lost if the worker or the broker is down; a row still unprocessed
    after a while is shown in the admin and picked up again by ``manage.py reprocess_inbound``.

    ``body`` is the raw body exactly as signed. It may name other hotels' numbers; only this account's part is ever
    processed, and the admin never shows the body."""

    # No database FK constraints (``db_constraint=False``; the indexes and Django's PROTECT stay): this table takes
    # one INSERT per webhook, and a constraint check locks the hotel's tenant and account rows (FOR KEY SHARE) on
    # every one of them, so all of a hotel's concurrent webhooks contend for the same two rows and each writes three
    # more WAL records (pgbench, 5 clients: 22k against 31k inserts/s). The request stores rows only for an account
    # it has just resolved; one deleted in between leaves an orphan row, which ``inbound_notifications_orphans_settle``
    # closes (never processed: the account is gone, as the constraint would have refused the row).
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    channel_account = models.ForeignKey(ChannelAccount, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    channel = models.CharField(max_length=16, choices=ChannelType.choices)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)  # the last failed attempt

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["received_at"], condition=Q(processed_at__isnull=True), name="inbound_notif_pending_idx"
            )
        ]
        verbose_name = _("inbound notification")
        verbose_name_plural = _("inbound notifications")

    def __str__(self) -> str:
        return f"{self.channel} notification #{self.pk}"


class BookingAttemptStatus(models.TextChoices):
    STARTED = "started", _("Started")
    BOOKED = "booked", _("Booked")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown: check the PMS")


class BookingAttempt(models.Model):
    """A guest's "yes" to a booking summary, written and committed before the PMS is called: one per inbound
    message, so a replayed turn finds what the first run did. ``started`` that is still there later means the run
    died mid-call; ``unknown`` means the PMS may or may not have booked (timeout, 5xx): staff reconcile both in the
    PMS. ``booked`` carries the PMS's answer; ``failed`` is a definitive refusal (nothing was booked)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="booking_attempts")
    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="booking_attempt")
    room_type = models.CharField(max_length=64)
    check_in = models.DateField()
    check_out = models.DateField()
    adults = models.PositiveSmallIntegerField()
    children = models.PositiveSmallIntegerField(default=0)
    guest_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=BookingAttemptStatus.choices, default=BookingAttemptStatus.STARTED)
    reference = models.CharField(max_length=64, blank=True)
    total_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="booked") | (~Q(reference="") & Q(total_price__isnull=False)),
                name="booking_attempt_booked_has_reference",
            )
        ]
        indexes = [models.Index(fields=["tenant", "status", "created_at"], name="booking_attempt_status_idx")]
        verbose_name = _("booking attempt")
        verbose_name_plural = _("booking attempts")

    def __str__(self) -> str:
        return f"{self.room_type} {self.check_in}→{self.check_out} · {self.get_status_display()}"

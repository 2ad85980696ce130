"""Rehearsal: drive the real pipeline (gateway record → processing task → orchestrator → outbound) in-process,
for the ``chat`` and ``simulate`` commands. Replies go to the log sender, never to a provider."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from channels_gateway.adapters.base import storable
from channels_gateway.types import UnifiedMessage
from conversations.agent.clock import override_today
from conversations.models import Conversation, Direction, Message, Sender
from conversations.services import flood_limit_lifted, inbound_record
from hotel_agent.celery import app as celery_app
from tenants.models import ChannelAccount, ChannelType, Tenant
from tenants.services import ResolvedAccount

SIMULATOR_PREFIX = "simulator-"


@dataclass(frozen=True)
class Turn:
    guest: str
    reply: str | None
    intent: str | None
    confidence: float | None
    language: str | None
    conversation_status: str
    options: list[str]

    def as_dict(self) -> dict:
        return {
            "guest": self.guest,
            "reply": self.reply,
            "intent": self.intent,
            "confidence": self.confidence,
            "language": self.language,
            "conversation_status": self.conversation_status,
        }


def simulator_account(tenant: Tenant) -> ResolvedAccount:
    """The tenant's rehearsal channel (a web-chat account only the simulator uses; replies are only logged)."""
    account, _ = ChannelAccount.objects.get_or_create(
        channel=ChannelType.WEBCHAT,
        external_id=f"{SIMULATOR_PREFIX}{tenant.slug}",
        defaults={"tenant": tenant, "display_name": "Simulator"},
    )
    return ResolvedAccount.of(account, tenant)


class Rehearsal:
    def __init__(self, *, tenant: Tenant, guest: str | None = None, name: str = "", today: dt.date | None = None):
        self.tenant = tenant
        self.account = simulator_account(tenant)
        self.guest = guest or f"guest-{uuid.uuid4().hex[:8]}"
        self.name = name
        self.today = today

    def reset(self) -> None:
        """Close the guest's open conversation, so the next message starts a new one."""
        Conversation.objects.for_tenant(self.tenant).filter(
            guest__address=self.guest, channel_account_id=self.account.account_id
        ).exclude(status="closed").update(status="closed", closed_at=timezone.now())

    def send(self, text: str) -> Turn:
        text = storable(text)  # what a terminal or a script passes may hold a NUL, which PostgreSQL cannot store
        provider_id = f"sim.{uuid.uuid4().hex}"
        unified = UnifiedMessage(
            channel=self.account.channel,
            account_external_id=self.account.external_id,
            provider_message_id=provider_id,
            guest_address=self.guest,
            guest_name=storable(self.name),
            kind="text",
            text=text,
            timestamp=timezone.now(),
            raw={"simulated": True, "text": text},
        )
        previous = celery_app.conf.task_always_eager
        celery_app.conf.task_always_eager = True  # rehearsals always run the pipeline in-process
        try:
            token = flood_limit_lifted.set(True)
            try:
                with override_today(self.today), transaction.atomic():
                    inbound_record(account=self.account, messages=[unified])
            finally:
                flood_limit_lifted.reset(token)
        finally:
            celery_app.conf.task_always_eager = previous
        inbound = (
            Message.objects.for_tenant(self.tenant)
            .select_related("conversation")
            .get(channel_account_id=self.account.account_id, provider_message_id=provider_id)
        )
        reply = (
            Message.objects.for_tenant(self.tenant)
            .filter(reply_to=inbound, direction=Direction.OUTBOUND, sender=Sender.BOT)
            .first()
        )
        conversation = Conversation.objects.for_tenant(self.tenant).get(pk=inbound.conversation_id)
        nlu = inbound.nlu or {}
        return Turn(
            guest=text,
            reply=reply.text if reply else None,
            intent=nlu.get("intent"),
            confidence=nlu.get("confidence"),
            language=nlu.get("language") or conversation.language or None,
            conversation_status=conversation.status,
            options=[o.get("title", "") for o in (reply.attachment.get("options", []) if reply else [])],
        )

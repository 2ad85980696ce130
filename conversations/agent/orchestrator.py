"""The orchestrator: NLU → dict intent router → handler → ``Reply``.

Knows messages and conversations, never HTTP or a channel's payload format. New behaviour is a new intent and a
handler in ``HANDLERS`` (a dict, not an if/elif chain).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from django.utils import translation
from django.utils.translation import gettext as _

from conversations.agent.nlu import NLUResult, engine_for
from conversations.metrics import intents_detected, orchestrator_latency_seconds
from conversations.models import Conversation, Message, MessageKind
from tenants.models import Tenant

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class TurnContext:
    tenant: Tenant
    conversation: Conversation
    message: Message


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    options: list[str] = field(default_factory=list)
    escalate_reason: str = ""


Handler = Callable[[TurnContext, NLUResult], Reply]


def handle_greeting(ctx: TurnContext, nlu: NLUResult) -> Reply:
    name = ctx.conversation.guest.display_name.split(" ")[0] if ctx.conversation.guest.display_name else ""
    if name:
        text = _("Hello %(name)s! Welcome to %(hotel)s. How can I help you?") % {"name": name, "hotel": ctx.tenant.name}
    else:
        text = _("Hello! Welcome to %(hotel)s. How can I help you?") % {"hotel": ctx.tenant.name}
    return Reply(text=text, language=nlu.language)


def handle_echo(ctx: TurnContext, nlu: NLUResult) -> Reply:
    return Reply(
        text=_("We received your message: “%(text)s”. A receptionist will follow up if needed.")
        % {"text": ctx.message.text[:500]},
        language=nlu.language,
    )


def handle_non_text(ctx: TurnContext, nlu: NLUResult) -> Reply:
    return Reply(
        text=_("Thanks! For now I can only read text messages. Could you write your request?"),
        language=nlu.language,
    )


HANDLERS: dict[str, Handler] = {
    "greeting": handle_greeting,
    "echo": handle_echo,
    "non_text": handle_non_text,
}
TEXT_KINDS = (MessageKind.TEXT, MessageKind.INTERACTIVE)


def orchestrate(ctx: TurnContext) -> Reply:
    started = time.perf_counter()
    language = ctx.conversation.language or ctx.conversation.guest.language or ctx.tenant.default_language
    if ctx.message.kind in TEXT_KINDS and ctx.message.text.strip():
        nlu = engine_for(ctx.tenant).parse(ctx.message.text, tenant=ctx.tenant, context={"language": language})
    else:
        nlu = NLUResult(intent="non_text", confidence=1.0, language=language)
    intents_detected.labels(intent=nlu.intent, confidence="high" if nlu.confidence >= 0.7 else "low").inc()
    handler = HANDLERS.get(nlu.intent, handle_echo)
    with translation.override(nlu.language):
        reply = handler(ctx, nlu)
    orchestrator_latency_seconds.observe(time.perf_counter() - started)
    logger.info("orchestrated", intent=nlu.intent, confidence=nlu.confidence, language=nlu.language)
    return reply

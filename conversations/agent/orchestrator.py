"""The orchestrator: NLU → pending question? → escalation rules → dict intent router → ``Reply``.

Knows messages, sessions and the PMS interface, never HTTP or a channel's payload format. New behaviour is a new
intent and a handler in ``HANDLERS`` (a dict, not an if/elif chain). Handlers are plain functions of a
``TurnContext`` with no module state, so they are safe to call from a thread (``sync_to_async``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from prometheus_client import Counter

from conversations.agent import knowledge, pms_access
from conversations.agent.handlers import booking, escalation, info, manage, smalltalk, stay
from conversations.agent.handlers import rooms as rooms_module
from conversations.agent.handlers.common import intent_option
from conversations.agent.nlu import NLUResult, engine_for
from conversations.agent.nlu.base import SOCIAL_INTENTS
from conversations.agent.nlu.local import tenant_today
from conversations.agent.nlu.text import fold
from conversations.agent.pending import resolve_pending
from conversations.agent.sessions import agent_settings_for, session_load, session_record_turn
from conversations.agent.types import Reply, TurnContext
from conversations.metrics import intents_detected, orchestrator_latency_seconds
from conversations.models import Conversation, Message, MessageKind, SessionState
from pms.base import PMSError
from tenants.flags import flag_enabled
from tenants.models import Tenant

logger = structlog.get_logger(__name__)

nlp_fallbacks_total = Counter("nlp_fallbacks_total", "Messages the agent did not understand confidently enough.")

Handler = Callable[[TurnContext], Reply]

HANDLERS: dict[str, Handler] = {
    "greeting": smalltalk.handle_greeting,
    "goodbye": smalltalk.handle_goodbye,
    "thanks": smalltalk.handle_thanks,
    "affirm": smalltalk.handle_affirm,
    "deny": smalltalk.handle_deny,
    "out_of_scope": smalltalk.handle_out_of_scope,
    "check_availability": booking.handle_check_availability,
    "room_info": booking.handle_room_info,
    "make_reservation": booking.handle_make_reservation,
    "modify_reservation": manage.handle_modify_reservation,
    "cancel_reservation": manage.handle_cancel_reservation,
    "reservation_status": manage.handle_reservation_status,
    "late_checkout": stay.handle_late_checkout,
    "early_checkin": stay.handle_early_checkin,
    "service_request": stay.handle_service_request,
    "hotel_info": info.handle_hotel_info,
    "location": info.handle_location,
    "complaint": escalation.handle_complaint,
    "human_handoff": escalation.handle_human_handoff,
}
# Short social turns are answered even when the classifier is unsure: asking "did you mean…" to "ok" is silly.
NO_CLARIFICATION = SOCIAL_INTENTS
# Urgent words (folded: no accents). Strong ones hand the guest to staff at any hour; after reception hours any of
# them does. Weak ones ("help", "doctor") also come in everyday questions ("can you help me book?", "is there a doctor
# nearby?"), and "socorro" is a first name too.
URGENT_STRONG = re.compile(
    r"\b(urgen\w*|emergenc\w*|fuego|fire|incendi\w*|humo|smoke|fumaca|inunda\w*|flood\w*|ambulan\w*|robo|robbery|"
    r"theft|roubo|roubaram|atrapad\w*|fuga de (?:gas|agua)|gas leak|water leak|leaking|vazamento|vazando|"
    r"ayuda urgente)\b"
)
URGENT = re.compile(URGENT_STRONG.pattern + r"|\b(socorro|auxilio|help|medico|doctor|hospital|stuck|preso)\b")
CHOICE_INTENTS = {"yes": "affirm", "no": "deny"}
# "Una habitación para esta noche", "a twin for tomorrow night", "sexta à noite": one night (folded text).
ONE_NIGHT = re.compile(
    r"\b(esta noche|esta noite|tonight|hoy (a|por) la noche|hoje (a|de) noite|manana (a|por) la noche|tomorrow night|"
    r"amanha (a|de) noite|(monday|tuesday|wednesday|thursday|friday|saturday|sunday) night|"
    r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo) (a|por) la noche|"
    r"(segunda|terca|quarta|quinta|sexta)(-feira)? (a|de) noite|(sabado|domingo) (a|de) noite)\b"
)


# Dates, party and room only describe a stay when the guest is talking about one: "quiero hablar con una persona"
# must not leave "1 adult" in the session, nor "¿abre la piscina mañana?" a check-in date.
STAY_INTENTS = frozenset(
    {"check_availability", "room_info", "make_reservation", "modify_reservation", "cancel_reservation",
     "reservation_status", "late_checkout", "early_checkin"}
)  # fmt: skip
STAY_KEYS = frozenset({"check_in", "check_out", "nights", "adults", "children", "room_type"})


def remembered_entities(nlu: NLUResult) -> dict:
    if nlu.intent in STAY_INTENTS:
        return dict(nlu.entities)
    return {k: v for k, v in nlu.entities.items() if k not in STAY_KEYS}


def confidence_bucket(confidence: float, threshold: float) -> str:
    if confidence >= 0.8:
        return "high"
    return "medium" if confidence >= threshold else "low"


def confidence_threshold(tenant: Tenant) -> float:
    overrides = agent_settings_for(tenant.pk)
    if overrides and overrides.confidence_threshold is not None:
        return overrides.confidence_threshold
    return settings.NLU_CONFIDENCE_THRESHOLD


def _understand(tenant: Tenant, message: Message, context: dict) -> NLUResult:
    """NLU, except for taps on our own quick replies, which say exactly what they mean."""
    choice = message.choice_id
    engine = engine_for(tenant)
    result = engine.parse(message.text, tenant=tenant, context=context)
    if choice in CHOICE_INTENTS:
        return NLUResult(CHOICE_INTENTS[choice], 1.0, result.language, result.entities, engine=result.engine)
    if choice.startswith("intent:") and choice.removeprefix("intent:") in HANDLERS:
        return NLUResult(choice.removeprefix("intent:"), 1.0, result.language, result.entities, engine=result.engine)
    return result


def _one_night(nlu: NLUResult, text: str) -> NLUResult:
    """A stay asked "for tonight" is one night: asking "how many nights?" back would be silly. The extractor only
    gives the date (that is what the words say); the dialogue adds the length."""
    entities = nlu.entities
    if (
        nlu.intent in STAY_INTENTS
        and "check_in" in entities
        and "check_out" not in entities
        and "nights" not in entities
        and ONE_NIGHT.search(fold(text))
    ):
        return dataclasses.replace(nlu, entities={**entities, "nights": 1})
    return nlu


def _dated_room_question(nlu: NLUResult) -> NLUResult:
    """ "Do you have the superior double from January 15 to 17?" asks for availability: a room question with dates
    in it is answered with the rooms free on those dates and their prices, not with the room's description."""
    pair = ("room_info", "check_availability")
    if nlu.intent in pair and "check_in" in nlu.entities:
        # With dates, both readings ask about rooms for a stay and the availability answer covers the two, so their
        # scores add up ("vocês têm quarto de 10 a 12 de março?": 0.44 + 0.18).
        other = sum(score for intent, score in nlu.alternatives if intent in pair)
        return dataclasses.replace(
            nlu,
            intent="check_availability",
            confidence=min(1.0, nlu.confidence + other),
            alternatives=tuple((i, s) for i, s in nlu.alternatives if i not in pair),
        )
    return nlu


def _room_named(tenant: Tenant, nlu: NLUResult, text: str) -> NLUResult:
    """A kind of room ("doble") that the message narrows to one of the hotel's rooms ("la doble superior") becomes
    that room's code, so the booking, the availability answer and the session keep the room the guest named."""
    wanted = nlu.entities.get("room_type")
    if nlu.intent not in STAY_INTENTS or not isinstance(wanted, str) or not wanted:
        return nlu
    try:
        rooms = pms_access.adapter(tenant).room_types()
    except PMSError:
        return nlu  # the kind stays; the flow asks which room when it has the list
    room = rooms_module.room_from_words(rooms, wanted, text)
    return dataclasses.replace(nlu, entities={**nlu.entities, "room_type": room.code}) if room else nlu


def _clarify(ctx: TurnContext) -> Reply:
    nlp_fallbacks_total.inc()
    if ctx.session.fallback_streak + 1 >= 2:
        return escalation.handle_repeated_fallback(ctx)
    candidates = [ctx.nlu.intent, *(intent for intent, _score in ctx.nlu.alternatives)]
    offered = list(
        dict.fromkeys(i for i in candidates if i in HANDLERS and i not in NO_CLARIFICATION and i != "out_of_scope")
    )[:3]
    enhanced = flag_enabled("nlp.fallback.enhanced", tenant=ctx.tenant)
    if enhanced and offered:
        labels = ", ".join(f"“{intent_option(i).title}”" for i in offered)
        text = _("I'm not sure I understood. Do you mean one of these: %(options)s?") % {"options": labels}
        options = tuple(intent_option(i) for i in offered)
    else:
        text = _("I'm not sure I understood. Could you say it in other words?")
        options = ()
    return Reply(text=text, language=ctx.language, options=options, fallback=True)


def _urgent(ctx: TurnContext) -> Reply | None:
    """An urgent message goes to staff before anything else, a pending question included ("hay humo en el pasillo"
    is not an answer to "under which name?")."""
    folded = fold(ctx.text)
    if not URGENT.search(folded):
        return None
    if not knowledge.within_business_hours(ctx.tenant, ctx.now):
        if flag_enabled("escalation.after_hours_urgent", tenant=ctx.tenant):
            return escalation.handle_urgent_after_hours(ctx)
        return None
    if URGENT_STRONG.search(folded) and flag_enabled("escalation.urgent", tenant=ctx.tenant):
        return escalation.handle_urgent(ctx)
    return None


def _route(ctx: TurnContext, threshold: float) -> Reply:
    urgent = _urgent(ctx)
    if urgent is not None:
        return urgent
    if ctx.session.pending:
        answered = resolve_pending(ctx, ctx.nlu.intent, threshold=threshold)
        if answered is not None:
            return answered
    if ctx.nlu.confidence < threshold and ctx.nlu.intent not in NO_CLARIFICATION:
        return _clarify(ctx)
    return HANDLERS.get(ctx.nlu.intent, smalltalk.handle_out_of_scope)(ctx)


def orchestrate(*, tenant: Tenant, conversation: Conversation, message: Message) -> tuple[Reply, NLUResult | None]:
    """Answer one guest message and fold the turn into the conversation's session (saved)."""
    reply, nlu, session = orchestrate_turn(tenant=tenant, conversation=conversation, message=message)
    session.save()
    return reply, nlu


def orchestrate_turn(
    *, tenant: Tenant, conversation: Conversation, message: Message
) -> tuple[Reply, NLUResult | None, SessionState]:
    """``orchestrate`` without saving the session: the processing task saves it in the transaction that stores the
    reply, so a turn whose reply is lost (worker killed, database error) is replayed from the same state."""
    started = time.perf_counter()
    session = session_load(conversation=conversation)
    # The conversation's language so far; a first message is detected freely (the hotel's default otherwise).
    known_language = session.language or conversation.language or conversation.guest.language
    language = known_language or tenant.default_language
    today = tenant_today(tenant)
    if message.kind not in (MessageKind.TEXT, MessageKind.INTERACTIVE) or not message.text.strip():
        with translation.override(language):
            reply = smalltalk.handle_non_text(
                TurnContext(
                    tenant,
                    conversation,
                    message,
                    session,
                    NLUResult("non_text", 1.0, language),
                    language,
                    today,
                    timezone.now(),
                )
            )
        session_record_turn(session=session, intent="non_text", confidence=1.0, language=language, entities={},
                            fallback=False, pending=session.pending, save=False)  # fmt: skip
        return reply, None, session

    context = {"language": known_language or None, "today": today, "check_in": session.context.get("check_in")}
    if isinstance(context["check_in"], str):
        from conversations.agent.sessions import session_context_date

        context["check_in"] = session_context_date(session, "check_in")
    nlu = _dated_room_question(_one_night(_understand(tenant, message, context), message.text))
    nlu = _room_named(tenant, nlu, message.text)
    threshold = confidence_threshold(tenant)
    intents_detected.labels(intent=nlu.intent, confidence=confidence_bucket(nlu.confidence, threshold)).inc()
    ctx = TurnContext(tenant, conversation, message, session, nlu, nlu.language, today, timezone.now())
    with translation.override(nlu.language):
        reply = _route(ctx, threshold)
    session_record_turn(
        session=session,
        intent=nlu.intent,
        confidence=nlu.confidence,
        language=reply.language,
        entities={**remembered_entities(nlu), **{k: v for k, v in reply.remember.items() if v is not None}},
        fallback=reply.fallback,
        pending=reply.pending,
        save=False,
    )
    forget = [k for k, v in reply.remember.items() if v is None]
    if forget:
        session.context = {k: v for k, v in session.context.items() if k not in forget}
    orchestrator_latency_seconds.observe(time.perf_counter() - started)
    logger.info(
        "orchestrated",
        intent=nlu.intent,
        confidence=nlu.confidence,
        language=nlu.language,
        engine=nlu.engine,
        escalate=reply.escalate_reason or None,
    )
    return reply, nlu, session


aorchestrate = sync_to_async(orchestrate, thread_sensitive=True)

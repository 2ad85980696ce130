"""Orchestrator rules: routing, clarification, escalation, bot silence with staff, quick-reply taps.

The NLU is stubbed (``engine_for`` returns an engine that answers a chosen ``NLUResult``), so these tests are about
the orchestrator, not the classifier. Turns go through the real pipeline with ``Rehearsal``.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override
from prometheus_client import REGISTRY

from channels_gateway.types import UnifiedMessage
from conversations.agent.nlu import NLUResult
from conversations.agent.orchestrator import HANDLERS
from conversations.agent.types import Reply
from conversations.models import Conversation, ConversationStatus, Direction, Message, Sender, SessionState
from conversations.services import inbound_record
from conversations.simulator import Rehearsal
from tenants.flags import flag_set
from tenants.models import HotelProfile
from tests.conftest import seeded_hotel

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline answers on commit


@pytest.fixture
def hotel(agent_clock):
    return seeded_hotel("demo-agent")


class StubEngine:
    name = "stub"

    def __init__(self):
        self.result = NLUResult("greeting", 1.0, "es")

    def parse(self, text, *, tenant, context):
        return self.result


@pytest.fixture
def nlu(monkeypatch):
    """The NLU result every message gets: set ``nlu.result`` before sending."""
    engine = StubEngine()
    monkeypatch.setattr("conversations.agent.orchestrator.engine_for", lambda tenant: engine)
    return engine


def conversation_of(rehearsal: Rehearsal) -> Conversation:
    return Conversation.objects.get(tenant=rehearsal.tenant, guest__address=rehearsal.guest)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def tap(rehearsal: Rehearsal, *, option_id: str, title: str) -> Message:
    """The guest taps one of our quick replies (an ``interactive`` message carrying the option id)."""
    provider_id = f"sim.{uuid.uuid4().hex}"
    with transaction.atomic():
        inbound_record(
            account=rehearsal.account,
            messages=[
                UnifiedMessage(
                    channel=rehearsal.account.channel,
                    account_external_id=rehearsal.account.external_id,
                    provider_message_id=provider_id,
                    guest_address=rehearsal.guest,
                    guest_name="",
                    kind="interactive",
                    text=title,
                    timestamp=timezone.now(),
                    attachment={"id": option_id},
                )
            ],
        )
    return Message.objects.get(channel_account_id=rehearsal.account.account_id, provider_message_id=provider_id)


def reply_to(message: Message) -> Message | None:
    return Message.objects.filter(reply_to=message, direction=Direction.OUTBOUND, sender=Sender.BOT).first()


# --- routing --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("intent", sorted(HANDLERS))
def test_each_intent_reaches_its_handler(intent, nlu, rehearsal, monkeypatch):
    # given a confident NLU result for the intent and a marker handler in its slot of the router
    nlu.result = NLUResult(intent, 0.99, "es")
    monkeypatch.setitem(HANDLERS, intent, lambda ctx: Reply(text=f"handled {ctx.nlu.intent}", language="es"))

    # when the guest writes
    turn = rehearsal.send("mensaje")

    # then that handler answered
    assert turn.reply == f"handled {intent}"
    assert turn.intent == intent
    assert turn.conversation_status == ConversationStatus.BOT


# --- clarification and repeated fallback -------------------------------------------------------------------------
def test_low_confidence_asks_for_clarification_with_options(nlu, rehearsal):
    nlu.result = NLUResult("check_availability", 0.2, "es", alternatives=(("room_info", 0.15), ("greeting", 0.1)))
    before = sample("nlp_fallbacks_total")

    turn = rehearsal.send("eh, lo de las fechas")

    with override("es"):
        expected_titles = [gettext("Check availability"), gettext("Rooms and prices")]
    assert turn.options == expected_titles  # greeting is never offered as a clarification
    assert turn.conversation_status == ConversationStatus.BOT
    assert sample("nlp_fallbacks_total") == before + 1
    assert SessionState.objects.get(conversation=conversation_of(rehearsal)).fallback_streak == 1


def test_low_confidence_without_enhanced_fallback_offers_no_options(nlu, rehearsal, hotel):
    flag_set("nlp.fallback.enhanced", False, tenant=hotel)
    nlu.result = NLUResult("check_availability", 0.2, "es", alternatives=(("room_info", 0.15),))

    turn = rehearsal.send("eh")

    with override("es"):
        assert turn.reply == gettext("I'm not sure I understood. Could you say it in other words?")
    assert turn.options == []


def test_two_fallbacks_in_a_row_escalate(nlu, rehearsal):
    nlu.result = NLUResult("room_info", 0.2, "es")
    escalations = sample("orchestrator_escalations_total", reason="repeated_fallback", channel="webchat")

    first = rehearsal.send("mmm")
    second = rehearsal.send("pues eso")

    assert first.conversation_status == ConversationStatus.BOT
    assert second.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "repeated_fallback"
    assert sample("orchestrator_escalations_total", reason="repeated_fallback", channel="webchat") == escalations + 1


def test_an_understood_turn_resets_the_fallback_streak(nlu, rehearsal):
    nlu.result = NLUResult("room_info", 0.2, "es")
    rehearsal.send("mmm")
    nlu.result = NLUResult("thanks", 0.99, "es")
    rehearsal.send("gracias")
    nlu.result = NLUResult("room_info", 0.2, "es")

    turn = rehearsal.send("mmm otra vez")

    assert turn.conversation_status == ConversationStatus.BOT
    assert SessionState.objects.get(conversation=conversation_of(rehearsal)).fallback_streak == 1


# --- escalation rules ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("intent", ["human_handoff", "complaint"])
def test_handoff_and_complaint_escalate_with_their_reason(intent, nlu, rehearsal):
    nlu.result = NLUResult(intent, 0.95, "es")
    before = sample("orchestrator_escalations_total", reason=intent, channel="webchat")

    turn = rehearsal.send("quiero hablar con alguien")

    assert turn.reply  # the guest is told, in their language
    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == intent
    assert sample("orchestrator_escalations_total", reason=intent, channel="webchat") == before + 1


def test_service_request_escalates_when_the_hotel_wants_staff_to_handle_it(nlu, rehearsal, hotel):
    flag_set("service_requests.to_staff", True, tenant=hotel)
    nlu.result = NLUResult("service_request", 0.95, "es")

    turn = rehearsal.send("¿me traéis toallas?")

    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "service_request"


def test_service_request_is_offered_to_staff_when_the_flag_is_off(nlu, rehearsal):
    nlu.result = NLUResult("service_request", 0.95, "es")

    turn = rehearsal.send("¿me traéis toallas?")

    assert turn.conversation_status == ConversationStatus.BOT
    assert conversation_of(rehearsal).escalation_reason == ""
    assert SessionState.objects.get(conversation=conversation_of(rehearsal)).pending == {
        "action": "offer_staff",
        "reason": "service_request",
    }


def test_urgent_message_after_hours_escalates(nlu, rehearsal, hotel):
    HotelProfile.objects.filter(tenant=hotel).update(reception_opens=dt.time(20, 0), reception_closes=dt.time(22, 0))
    nlu.result = NLUResult("out_of_scope", 0.9, "es")
    before = sample("orchestrator_escalations_total", reason="urgent_after_hours", channel="webchat")

    turn = rehearsal.send("hay un incendio, urgente")

    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "urgent_after_hours"
    assert sample("orchestrator_escalations_total", reason="urgent_after_hours", channel="webchat") == before + 1


@pytest.mark.parametrize(
    "text",
    [
        "hay un incendio, urgente",
        "hay una fuga de agua en mi habitación",
        "sale humo del baño",
        "there's smoke in the corridor",
        "my room is flooding",
        "tem fumaça no quarto",
        "roubaram minha mala",
    ],
)
def test_an_emergency_inside_hours_escalates(text, nlu, rehearsal, hotel):
    """Inside reception hours an emergency was answered by the bot ("call reception … or shall I pass it on?")."""
    nlu.result = NLUResult("service_request", 0.9, "es")
    before = sample("orchestrator_escalations_total", reason="urgent", channel="webchat")

    turn = rehearsal.send(text)

    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "urgent"
    assert sample("orchestrator_escalations_total", reason="urgent", channel="webchat") == before + 1


@pytest.mark.parametrize("text", ["can you help me book a room?", "¿hay un médico cerca?", "Socorro Pérez"])
def test_everyday_words_that_are_urgent_only_after_hours_stay_with_the_bot_inside_hours(text, nlu, rehearsal):
    nlu.result = NLUResult("make_reservation", 0.9, "es")

    turn = rehearsal.send(text)

    assert turn.conversation_status == ConversationStatus.BOT
    assert conversation_of(rehearsal).escalation_reason == ""


def test_an_emergency_inside_hours_stays_with_the_bot_when_the_hotel_turns_it_off(nlu, rehearsal, hotel):
    flag_set("escalation.urgent", False, tenant=hotel)
    nlu.result = NLUResult("out_of_scope", 0.9, "es")

    turn = rehearsal.send("hay un incendio, urgente")

    assert turn.conversation_status == ConversationStatus.BOT
    assert conversation_of(rehearsal).escalation_reason == ""


def test_an_emergency_is_not_taken_for_the_answer_to_a_pending_question(rehearsal, hotel):
    """ "hay humo en el pasillo" fits the name pattern: it was the guest's name for the booking."""
    rehearsal.send("quiero reservar una doble estándar del 10 al 12 de marzo para 2 adultos")
    assert SessionState.objects.get(conversation=conversation_of(rehearsal)).pending["slot"] == "guest_name"

    turn = rehearsal.send("hay humo en el pasillo")

    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "urgent"


@pytest.mark.parametrize("status", [ConversationStatus.PENDING_HUMAN, ConversationStatus.HUMAN])
def test_bot_records_but_does_not_answer_while_staff_has_the_conversation(status, nlu, rehearsal):
    rehearsal.send("hola")
    Conversation.objects.filter(pk=conversation_of(rehearsal).pk).update(status=status)

    turn = rehearsal.send("¿sigue ahí alguien?")

    assert turn.reply is None
    assert turn.conversation_status == status
    inbound = Message.objects.get(conversation=conversation_of(rehearsal), text="¿sigue ahí alguien?")
    assert inbound.direction == Direction.INBOUND
    assert inbound.processed_at is not None
    assert not Message.objects.filter(reply_to=inbound).exists()
    assert Message.objects.filter(conversation=conversation_of(rehearsal), direction=Direction.OUTBOUND).count() == 1


# --- quick replies -------------------------------------------------------------------------------------------------
def test_yes_tap_answers_the_pending_question(nlu, rehearsal):
    nlu.result = NLUResult("late_checkout", 0.97, "es")
    rehearsal.send("¿puedo salir más tarde?")
    nlu.result = NLUResult("out_of_scope", 0.1, "es")  # whatever the text says, the tap means "yes"

    message = tap(rehearsal, option_id="yes", title="Sí")

    message.refresh_from_db()
    assert message.nlu["intent"] == "affirm"
    assert reply_to(message) is not None
    conversation = conversation_of(rehearsal)
    assert conversation.status == ConversationStatus.PENDING_HUMAN
    assert conversation.escalation_reason == "late_checkout_request"


def test_intent_tap_routes_to_that_intent(nlu, rehearsal, monkeypatch):
    monkeypatch.setitem(HANDLERS, "hotel_info", lambda ctx: Reply(text="info handler", language=ctx.language))
    nlu.result = NLUResult("out_of_scope", 0.1, "es")

    message = tap(rehearsal, option_id="intent:hotel_info", title="Información del hotel")

    message.refresh_from_db()
    assert message.nlu["intent"] == "hotel_info"
    assert message.nlu["confidence"] == 1.0
    assert reply_to(message).text == "info handler"


def test_tap_on_an_unknown_intent_is_classified_normally(nlu, rehearsal):
    nlu.result = NLUResult("thanks", 0.9, "es")

    message = tap(rehearsal, option_id="intent:launch_rockets", title="Cohetes")

    message.refresh_from_db()
    assert message.nlu["intent"] == "thanks"


# --- a room question with dates is an availability question ----------------------------------------------------
@pytest.mark.parametrize("top", ["room_info", "check_availability"])
def test_with_dates_room_and_availability_readings_add_up(top):
    from conversations.agent.orchestrator import _dated_room_question

    other = "check_availability" if top == "room_info" else "room_info"
    nlu = NLUResult(
        top, 0.44, "pt", {"check_in": dt.date(2026, 3, 10)}, alternatives=((other, 0.18), ("hotel_info", 0.05))
    )

    merged = _dated_room_question(nlu)

    assert (merged.intent, round(merged.confidence, 2), merged.alternatives) == (
        "check_availability", 0.62, (("hotel_info", 0.05),)
    )  # fmt: skip


def test_without_dates_a_room_question_stays_one():
    from conversations.agent.orchestrator import _dated_room_question

    nlu = NLUResult("room_info", 0.44, "en", {"room_type": "suite"}, alternatives=(("check_availability", 0.3),))

    assert _dated_room_question(nlu) == nlu

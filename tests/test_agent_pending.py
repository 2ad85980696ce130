"""Answers to the agent's own questions, including details given out of turn."""

from __future__ import annotations

import datetime as dt

import pytest

from conversations.models import Conversation
from conversations.simulator import Rehearsal
from pms.models import MockBooking
from pms.seed import pms_seed_demo
from tenants.knowledge import knowledge_seed_demo
from tests.factories import TenantFactory

TODAY = dt.date(2026, 3, 4)


@pytest.fixture
def hotel(transactional_db):
    tenant = TenantFactory(slug="pendiente", name="Hotel Pendiente")
    knowledge_seed_demo(tenant)
    pms_seed_demo(tenant)
    return tenant


def session_of(rehearsal: Rehearsal):
    return Conversation.objects.get(guest__address=rehearsal.guest).session


def test_a_detail_given_out_of_turn_is_kept_and_the_booking_carries_on(hotel):
    # given: the agent is collecting a booking and asks for the guest's name
    guest = Rehearsal(tenant=hotel, today=TODAY)
    guest.send("Quiero reservar una doble estándar del 10 al 12 de marzo para 2 adultos")
    assert session_of(guest).pending == {"action": "collect", "for": "make_reservation", "slot": "guest_name"}

    # when: the guest answers with their e-mail instead
    guest.send("mi correo es ana.garcia@example.com")

    # then: the e-mail is remembered, the name is asked again, and the booking completes with both
    session = session_of(guest)
    assert session.context["email"] == "ana.garcia@example.com"
    assert session.pending == {"action": "collect", "for": "make_reservation", "slot": "guest_name"}
    guest.send("Ana García")
    assert session_of(guest).pending["action"] == "confirm_booking"
    guest.send("sí")
    booking = MockBooking.objects.get(tenant=hotel)
    assert (booking.guest_name, booking.guest_email) == ("Ana García", "ana.garcia@example.com")
    assert (booking.check_in, booking.check_out, booking.adults) == (dt.date(2026, 3, 10), dt.date(2026, 3, 12), 2)


def test_asking_for_a_person_leaves_the_pending_question(hotel):
    guest = Rehearsal(tenant=hotel, today=TODAY)
    guest.send("Quiero reservar una doble del 10 al 12 de marzo para 2 adultos")

    turn = guest.send("quiero hablar con una persona de recepción")

    assert turn.conversation_status == "pending_human"
    assert MockBooking.objects.filter(tenant=hotel).count() == 0


def test_availability_for_a_kind_of_room_lists_only_that_kind(hotel):
    guest = Rehearsal(tenant=hotel, today=TODAY)

    reply = guest.send("¿Tenéis habitación familiar del 10 al 12 de marzo?").reply

    assert "Familiar" in reply
    assert "Doble Estándar" not in reply
    assert "Twin" not in reply


def test_words_about_people_outside_a_stay_question_do_not_become_the_party(hotel):
    guest = Rehearsal(tenant=hotel, today=TODAY)

    guest.send("Hola, quiero hablar con una persona")

    assert "adults" not in session_of(guest).context


def test_the_orchestrator_can_be_awaited_from_async_code(hotel):
    """Async callers (websocket consumers) use ``aorchestrate``: the sync handlers run in a worker thread."""
    from asgiref.sync import async_to_sync

    from conversations.agent.orchestrator import aorchestrate
    from conversations.models import Direction, Message, Sender
    from tests.factories import ChannelAccountFactory, ConversationFactory

    account = ChannelAccountFactory(tenant=hotel)
    conversation = ConversationFactory(tenant=hotel, channel_account=account)
    message = Message.objects.create(
        tenant=hotel,
        conversation=conversation,
        channel_account=account,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        text="¿A qué hora es el check-out?",
        status="received",
    )

    reply, nlu = async_to_sync(aorchestrate)(tenant=hotel, conversation=conversation, message=message)

    assert nlu.intent == "hotel_info"
    assert "12:00" in reply.text

"""Property-based conversations with the agent: random sequences of guest turns through the real pipeline.

The turns are drawn from what guests write to a hotel — booking requests, dates, party sizes, room names, names and
contacts, yes/no, changes, cancellations, questions, hand-over requests — in es/en/pt, mixed with arbitrary text,
so the booking flow is entered, interrupted, resumed and abandoned in orders no scripted test walks. Whatever the
order, every turn the bot owns gets exactly one reply and nothing raises; once the conversation is handed to
reception the bot stays silent.

Derandomized in the suite; ``HYPOTHESIS_PROFILE=fuzz`` explores at random (``tests/test_webhook_fuzz.py``).
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.models import ConversationStatus, Direction, Message, Sender
from conversations.simulator import Rehearsal
from pms.models import MockBooking
from tests.conftest import AGENT_TODAY, seeded_hotel

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline answers on commit

# The profiles are registered by tests/test_webhook_fuzz.py; load the same one here when run alone.
from tests import test_webhook_fuzz  # noqa: E402, F401

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"

PHRASES = [
    # booking flow, es / en / pt
    "quiero reservar", "I want to book a room", "quero fazer uma reserva",
    "¿tenéis habitación del 10 al 12 de marzo?", "do you have a room from March 10 to 12?",
    "del 10 al 12 de marzo", "from March 10 to 12", "de 10 a 12 de março", "el finde", "mañana", "por 3 noches",
    "del 12 al 10 de marzo", "el 31 de febrero", "2", "2 adultos y un niño", "somos 40", "0", "-1", "para 1",
    "Doble Estándar", "Standard Double", "Suite", "una suite con vistas", "Ana García", "John Smith",
    "ana@example.com", "+34 600 000 000", "sí", "yes", "sim", "no", "não", "vale", "ok", "1", "3",
    # changes and bookings
    "quiero cambiar mi reserva", "I want to cancel my booking HA-12345", "estado de mi reserva ABC123",
    "cambia las fechas al 20 de marzo", "late check-out", "¿puedo hacer el check-in antes?",
    # questions, people, trouble
    "¿tenéis parking?", "what time is breakfast?", "wifi?", "quiero hablar con una persona", "hay una fuga de agua!",
    "esto es un desastre, quiero una reclamación", "gracias", "hola", "Olá, tudo bem?", "adiós",
    "", "   ", "😀", "????", "SELECT * FROM rooms", "<script>alert(1)</script>",
]  # fmt: skip

_UNFILLED = re.compile(r"%\(|%s|\{[a-z_]*\}|\bNone\b|\bnan\b|\[\]|\{\}")
CONFIRMATIONS = {"sí", "si", "yes", "sim", "vale", "ok", "1"}
_random_turns = st.lists(st.sampled_from(PHRASES) | st.text(max_size=60), min_size=1, max_size=8)
# The booking flow in order, cut at a random point, then random turns: summaries, yes/no and changes of mind get
# reached, which fully random sequences seldom do.
BOOKING_SCRIPT = ["quiero reservar", "del 10 al 12 de marzo", "2", "Doble Estándar", "Ana García", "ana@example.com"]
# … and on to a cancellation or a change of the booking just made (the session remembers its reference).
AFTER_BOOKING = [["sí", "quiero cancelar mi reserva"], ["sí", "quiero cambiar las fechas de mi reserva al 20 de marzo"]]
_scripts = st.sampled_from([BOOKING_SCRIPT, *(BOOKING_SCRIPT + after for after in AFTER_BOOKING)])
turns = _random_turns | st.builds(
    lambda script, cut, rest: script[: max(1, round(cut * len(script)))] + rest,
    _scripts,
    st.floats(min_value=0, max_value=1),
    _random_turns,
)


@pytest.fixture
def fuzz_hotel(agent_clock):
    return seeded_hotel("fuzz-hotel")


@pytest.mark.timeout(3600 if FUZZING else 600)
@settings(max_examples=1000 if FUZZING else 25)
@given(texts=turns)
def test_any_sequence_of_guest_turns_gets_one_reply_per_bot_turn(texts, fuzz_hotel):
    rehearsal = Rehearsal(tenant=fuzz_hotel, today=AGENT_TODAY)  # a new guest per example
    status = ConversationStatus.BOT
    for text in texts:
        before = _bookings(fuzz_hotel)
        turn = rehearsal.send(text)
        if _bookings(fuzz_hotel) != before:  # booked, cancelled or changed only on an explicit "yes"
            assert text.strip().lower() in CONFIRMATIONS, (texts, text)
        if status == ConversationStatus.BOT:
            assert turn.reply is not None and turn.reply.strip(), (texts, text)
            # a finished sentence: no placeholder left unfilled, no Python value printed as text
            assert not _UNFILLED.search(turn.reply), (texts, text, turn.reply)
        else:  # handed to reception: the bot stays silent
            assert turn.reply is None, (texts, text)
        status = turn.conversation_status
    inbound = Message.objects.filter(conversation__guest__address=rehearsal.guest, direction=Direction.INBOUND)
    assert inbound.count() == len(texts)
    for message in inbound:  # never two bot answers to one message
        assert Message.objects.filter(reply_to=message, sender=Sender.BOT).count() <= 1


def test_a_rehearsal_turn_with_a_nul_is_recorded_without_it(fuzz_hotel):
    """Found by the test above on PostgreSQL (text cannot hold NUL): ``chat``/``simulate`` input is made storable like
    every channel's."""
    rehearsal = Rehearsal(tenant=fuzz_hotel, today=AGENT_TODAY, name="A\x00na")
    turn = rehearsal.send("ho\x00la")
    assert turn.reply
    message = Message.objects.get(conversation__guest__address=rehearsal.guest, direction=Direction.INBOUND)
    assert (message.text, message.conversation.guest.display_name) == ("hola", "Ana")


def _bookings(hotel) -> list[tuple]:
    rows = MockBooking.objects.for_tenant(hotel).order_by("pk")
    return list(rows.values_list("pk", "status", "check_in", "check_out", "room_type_id"))

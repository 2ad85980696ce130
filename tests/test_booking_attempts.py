"""A guest's "yes" books at most once: the attempt is committed before the PMS is called, a replayed turn answers
from it, and an outcome nobody knows (a timeout, a run killed mid-call) goes to reception instead of a second try."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager

import pytest
from django.db import connection, transaction
from django.utils.translation import gettext, override
from prometheus_client import REGISTRY

from conversations import events
from conversations.agent.booking_attempts import booking_attempt_claim
from conversations.agent.handlers import booking as booking_handlers
from conversations.agent.handlers.common import fmt_money
from conversations.models import (
    BookingAttempt,
    BookingAttemptStatus,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Message,
    Sender,
    SessionState,
)
from conversations.services import inbound_process
from conversations.simulator import Rehearsal
from pms.base import PMSNoAvailability, PMSTimeout
from pms.mock import MockPMS
from pms.models import MockBooking
from pms.services import pms_for_tenant
from tests.conftest import seeded_hotel
from tests.factories import ConversationFactory, MessageFactory, TenantFactory
from tests.test_agent_booking import MAR_10, MAR_12, SCRIPTS, book_by_chat

pytestmark = pytest.mark.django_db(transaction=True)  # the attempt is committed before the PMS call, for real

CHECKING = "I'm checking with reception whether your booking went through; a colleague will confirm it here shortly."
CHECKING_ES = (
    "Estoy comprobando con recepción si tu reserva se ha completado; un compañero te lo confirmará aquí en breve."
)
DEGRADED = (
    "I'm sorry, I can't reach our booking system right now. Shall I pass your request to reception so they can "
    "answer you as soon as possible?"
)
SOLD_OUT = "I'm sorry, that room has just sold out for those dates."


@pytest.fixture
def hotel(agent_clock):
    return seeded_hotel("demo-intent", "Hotel Intento")


class CreateBookingSpy:
    """Counts the mock PMS's ``create_booking`` calls; ``before`` runs before the PMS books, ``after`` once it has
    (raising there is an answer lost on the way back: the booking exists, the caller never hears of it)."""

    def __init__(self) -> None:
        self.calls = 0
        self.before = None
        self.after = None


@pytest.fixture
def pms_create(monkeypatch):
    spy = CreateBookingSpy()
    real = MockPMS.create_booking

    def create_booking(self, **kwargs):
        spy.calls += 1
        if spy.before is not None:
            spy.before()
        booking = real(self, **kwargs)
        if spy.after is not None:
            spy.after()
        return booking

    monkeypatch.setattr(MockPMS, "create_booking", create_booking)
    return spy


def once(exc: BaseException, then=None):
    """Raises ``exc`` the first time it is called, then calls ``then`` (if any) with the same arguments."""
    raised = []

    def hook(*args, **kwargs):
        if not raised:
            raised.append(exc)
            raise exc
        return then(*args, **kwargs) if then is not None else None

    return hook


def conversation_of(rehearsal: Rehearsal) -> Conversation:
    return Conversation.objects.get(tenant=rehearsal.tenant, guest__address=rehearsal.guest)


def session_of(rehearsal: Rehearsal) -> SessionState:
    return SessionState.objects.get(conversation=conversation_of(rehearsal))


def guest_yes(rehearsal: Rehearsal, text: str = "sí") -> Message:
    """A guest's "yes" stored but not processed yet (the test runs the processing task itself)."""
    return MessageFactory(conversation=conversation_of(rehearsal), direction=Direction.INBOUND, sender=Sender.GUEST,
                          text=text, status=DeliveryStatus.RECEIVED)  # fmt: skip


def reply_to(message: Message) -> Message:
    return Message.objects.get(reply_to=message, sender=Sender.BOT)


def unknown_count(cause: str) -> float:
    return REGISTRY.get_sample_value("booking_outcome_unknown_total", {"cause": cause}) or 0.0


# --- replays -------------------------------------------------------------------------------------------------------
def test_a_replay_after_booked_answers_with_the_same_booking_and_calls_the_pms_once(rehearsal, hotel, pms_create,
                                                                                    monkeypatch):  # fmt: skip
    # given: the PMS booked, the attempt says so, then the reply was lost (the worker died while publishing it)
    book_by_chat(rehearsal, "es")
    yes = guest_yes(rehearsal)
    monkeypatch.setattr(
        "conversations.events.publish_message", once(RuntimeError("worker killed"), then=events.publish_message)
    )
    with pytest.raises(RuntimeError):
        inbound_process(message_id=yes.pk)
    attempt = BookingAttempt.objects.get(message=yes)
    assert attempt.status == BookingAttemptStatus.BOOKED
    assert not Message.objects.filter(reply_to=yes).exists()

    # when: the task runs again from the saved session
    assert inbound_process(message_id=yes.pk) == "replied"

    # then: the same booking, named in the reply; one PMS call, one booking
    booking = MockBooking.objects.get(tenant=hotel)
    assert pms_create.calls == 1
    assert (attempt.reference, attempt.total_price, attempt.currency) == (booking.reference, booking.total, "EUR")
    with override("es"):
        assert reply_to(yes).text == gettext(
            "Done! Your booking is confirmed. Reference: %(ref)s. Total: %(total)s. We look forward to welcoming you!"
        ) % {"ref": booking.reference, "total": fmt_money(booking.total, "EUR", "es")}
    assert session_of(rehearsal).context["booking_ref"] == booking.reference
    assert conversation_of(rehearsal).status == ConversationStatus.BOT


def test_a_run_killed_between_the_pms_answer_and_booked_is_handed_to_reception(rehearsal, hotel, pms_create,
                                                                               monkeypatch):  # fmt: skip
    # given: the PMS booked, then the worker died before ``booked`` was written (the attempt stays ``started``)
    book_by_chat(rehearsal, "es")
    yes = guest_yes(rehearsal)
    monkeypatch.setattr(
        "conversations.agent.handlers.booking.booking_attempt_mark_booked",
        once(RuntimeError("worker killed"), then=booking_handlers.booking_attempt_mark_booked),
    )
    with pytest.raises(RuntimeError):
        inbound_process(message_id=yes.pk)
    assert MockBooking.objects.filter(tenant=hotel).count() == 1
    assert BookingAttempt.objects.get(message=yes).status == BookingAttemptStatus.STARTED
    before = unknown_count("interrupted")

    # when: the turn is replayed
    assert inbound_process(message_id=yes.pk) == "replied"

    # then: no second PMS call; reception is asked to check, and the guest is told so
    assert pms_create.calls == 1
    assert MockBooking.objects.filter(tenant=hotel).count() == 1
    assert BookingAttempt.objects.get(message=yes).status == BookingAttemptStatus.UNKNOWN
    conversation = conversation_of(rehearsal)
    assert (conversation.status, conversation.escalation_reason) == (
        ConversationStatus.PENDING_HUMAN,
        "booking_outcome_unknown",
    )
    with override("es"):
        assert reply_to(yes).text == gettext(CHECKING)
    assert unknown_count("interrupted") == before + 1
    assert session_of(rehearsal).pending == {}  # a later "yes" is not a confirmation any more


# --- a timeout -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lang", "expected"), [("es", CHECKING_ES), ("en", CHECKING)])
def test_a_pms_timeout_is_unknown_escalates_and_a_later_yes_does_not_book(lang, expected, rehearsal, hotel,
                                                                          pms_create):  # fmt: skip
    # given: the PMS books, but its answer times out on the way back
    book_by_chat(rehearsal, lang)
    confirm = session_of(rehearsal).pending
    pms_create.after = once(PMSTimeout("read timed out"))
    before = unknown_count("pms_unavailable")

    # when
    turn = rehearsal.send(SCRIPTS[lang]["yes"])

    # then: in the guest's language, reception is checking; the attempt is unknown; nothing was tried twice
    assert turn.reply == expected
    assert turn.conversation_status == ConversationStatus.PENDING_HUMAN
    assert conversation_of(rehearsal).escalation_reason == "booking_outcome_unknown"
    attempt = BookingAttempt.objects.get(tenant=hotel)
    assert (attempt.status, attempt.reference) == (BookingAttemptStatus.UNKNOWN, "")
    assert attempt.error.startswith("PMSTimeout")
    assert unknown_count("pms_unavailable") == before + 1
    assert (pms_create.calls, MockBooking.objects.filter(tenant=hotel).count()) == (1, 1)

    # and when: staff hand the conversation back and the guest, at the same summary again, says yes once more
    Conversation.objects.filter(pk=conversation_of(rehearsal).pk).update(status=ConversationStatus.BOT)
    SessionState.objects.filter(conversation=conversation_of(rehearsal)).update(pending=confirm)
    again = rehearsal.send(SCRIPTS[lang]["yes"])

    # then: still no PMS call while the first outcome is unknown; reception again
    assert again.reply == expected
    assert again.conversation_status == ConversationStatus.PENDING_HUMAN
    assert (pms_create.calls, MockBooking.objects.filter(tenant=hotel).count()) == (1, 1)
    assert BookingAttempt.objects.filter(tenant=hotel).count() == 1  # the second "yes" started nothing


def test_an_unknown_attempt_settled_as_not_booked_lets_the_guest_book(rehearsal, hotel, pms_create):
    from conversations.agent.booking_attempts import booking_attempt_settle_not_booked

    book_by_chat(rehearsal, "es")
    confirm = session_of(rehearsal).pending
    pms_create.before = once(PMSTimeout("connect timed out"))  # this time the PMS never got it
    rehearsal.send("sí")
    attempt = BookingAttempt.objects.get(tenant=hotel)

    assert booking_attempt_settle_not_booked(attempt=attempt, by="recepcion") is True
    Conversation.objects.filter(pk=conversation_of(rehearsal).pk).update(status=ConversationStatus.BOT)
    SessionState.objects.filter(conversation=conversation_of(rehearsal)).update(pending=confirm)
    done = rehearsal.send("sí")

    booking = MockBooking.objects.get(tenant=hotel)
    assert booking.reference in done.reply
    assert pms_create.calls == 2
    assert BookingAttempt.objects.get(pk=attempt.pk).status == BookingAttemptStatus.FAILED
    assert BookingAttempt.objects.exclude(pk=attempt.pk).get(tenant=hotel).reference == booking.reference


def _unknown_but_booked(rehearsal: Rehearsal, hotel, pms_create) -> tuple[BookingAttempt, MockBooking]:
    """The PMS booked, its answer timed out: an ``unknown`` attempt whose booking does exist."""
    book_by_chat(rehearsal, "en")
    pms_create.after = once(PMSTimeout("read timed out"))
    rehearsal.send(SCRIPTS["en"]["yes"])
    return BookingAttempt.objects.get(tenant=hotel), MockBooking.objects.get(tenant=hotel)


def _settle_url(attempt: BookingAttempt) -> str:
    return f"/admin/conversations/bookingattempt/{attempt.pk}/change/"


def test_staff_record_an_unknown_attempt_as_booked_with_the_pms_reference(rehearsal, hotel, pms_create, admin_client):
    attempt, booking = _unknown_but_booked(rehearsal, hotel, pms_create)

    response = admin_client.post(_settle_url(attempt), {"pms_reference": f"  {booking.reference} "})

    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.status, attempt.reference) == (BookingAttemptStatus.BOOKED, booking.reference)
    assert (attempt.total_price, attempt.currency) == (booking.total, booking.currency)  # the PMS's figures
    assert "found in the PMS" in attempt.error
    # settled: nothing more can be posted to it
    assert admin_client.post(_settle_url(attempt), {"pms_reference": booking.reference}).status_code == 403


@pytest.mark.parametrize("case", ["unknown reference", "another stay", "cancelled"])
def test_a_reference_that_is_not_this_stay_is_refused_and_nothing_changes(case, rehearsal, hotel, pms_create,
                                                                          admin_client):  # fmt: skip
    attempt, booking = _unknown_but_booked(rehearsal, hotel, pms_create)
    reference = booking.reference
    if case == "unknown reference":
        reference = "NOPE-0000"
    elif case == "another stay":
        MockBooking.objects.filter(pk=booking.pk).update(check_out=booking.check_out + dt.timedelta(days=1))
    else:
        MockBooking.objects.filter(pk=booking.pk).update(status="cancelled")

    response = admin_client.post(_settle_url(attempt), {"pms_reference": reference})

    assert response.status_code == 200  # the form again, with the reason
    errors = response.context["adminform"].form.errors["pms_reference"]
    assert errors and (reference in errors[0] or booking.reference in errors[0])
    attempt.refresh_from_db()
    assert (attempt.status, attempt.reference) == (BookingAttemptStatus.UNKNOWN, "")


def test_the_settle_form_edits_nothing_else(rehearsal, hotel, pms_create, admin_client):
    attempt, _booking = _unknown_but_booked(rehearsal, hotel, pms_create)

    response = admin_client.post(
        _settle_url(attempt), {"status": "booked", "reference": "FORGED-1", "total_price": "1.00", "pms_reference": ""}
    )

    assert response.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.status, attempt.reference, attempt.total_price) == (BookingAttemptStatus.UNKNOWN, "", None)


# --- definitive refusals ------------------------------------------------------------------------------------------
def test_no_availability_fails_the_attempt_and_a_later_yes_can_book(rehearsal, hotel, pms_create):
    # given
    book_by_chat(rehearsal, "es")
    confirm = session_of(rehearsal).pending
    pms_create.before = once(PMSNoAvailability("DBL is sold out"))

    # when
    sold_out = rehearsal.send("sí")

    # then: the existing answer; the attempt failed; nothing booked
    with override("es"):
        assert sold_out.reply.startswith(gettext(SOLD_OUT))
    failed = BookingAttempt.objects.get(tenant=hotel)
    assert failed.status == BookingAttemptStatus.FAILED
    assert failed.error.startswith("PMSNoAvailability")
    assert MockBooking.objects.filter(tenant=hotel).count() == 0

    # and when: a room frees up and the guest confirms again (a new message)
    SessionState.objects.filter(conversation=conversation_of(rehearsal)).update(pending=confirm)
    done = rehearsal.send("sí")

    # then: booked, on its own attempt
    booking = MockBooking.objects.get(tenant=hotel)
    assert booking.reference in done.reply
    assert pms_create.calls == 2
    assert BookingAttempt.objects.exclude(pk=failed.pk).get(tenant=hotel).status == BookingAttemptStatus.BOOKED


def test_a_failed_attempt_of_the_same_message_is_tried_again(hotel):
    message = MessageFactory(conversation=ConversationFactory(tenant=hotel), direction=Direction.INBOUND,
                             sender=Sender.GUEST, text="sí", status=DeliveryStatus.RECEIVED)  # fmt: skip
    stay = {"room_type": "DBL", "check_in": MAR_10, "check_out": MAR_12, "adults": 2, "children": 0}
    first = booking_attempt_claim(tenant=hotel, message=message, guest_name="Ana García", **stay)
    BookingAttempt.objects.filter(pk=first.attempt.pk).update(status=BookingAttemptStatus.FAILED, error="sold out")

    again = booking_attempt_claim(tenant=hotel, message=message, guest_name="Ana García", **stay)

    assert (first.proceed, again.proceed) == (True, True)
    assert again.attempt.pk == first.attempt.pk
    row = BookingAttempt.objects.get(pk=first.attempt.pk)
    assert (row.status, row.error) == (BookingAttemptStatus.STARTED, "")


def test_an_open_breaker_fails_the_attempt_without_calling_the_pms(rehearsal, hotel, pms_create):
    book_by_chat(rehearsal, "es")
    pms_for_tenant(hotel).breaker.open()

    turn = rehearsal.send("sí")

    with override("es"):
        assert turn.reply == gettext(DEGRADED)
    assert pms_create.calls == 0
    assert BookingAttempt.objects.get(tenant=hotel).status == BookingAttemptStatus.FAILED
    assert turn.conversation_status == ConversationStatus.BOT  # the guest is offered reception, as before


def test_a_lock_not_acquired_leaves_no_attempt(rehearsal, hotel, pms_create, monkeypatch):
    from conversations.locks import LockNotAcquired

    @contextmanager
    def busy(**kwargs):
        raise LockNotAcquired(kwargs["resource"])
        yield  # pragma: no cover

    book_by_chat(rehearsal, "es")
    monkeypatch.setattr("conversations.agent.handlers.booking.distributed_lock", busy)

    turn = rehearsal.send("sí")

    with override("es"):
        assert turn.reply == gettext(DEGRADED)
    assert pms_create.calls == 0
    assert not BookingAttempt.objects.filter(tenant=hotel).exists()


# --- durability ----------------------------------------------------------------------------------------------------
def test_the_attempt_is_committed_before_the_pms_is_called(rehearsal, hotel, pms_create):
    seen: dict[str, object] = {}

    def read_from_another_connection():
        def read():
            try:
                seen["started"] = list(
                    BookingAttempt.objects.filter(tenant=hotel).values_list("status", "room_type", "guest_name")
                )
            finally:
                connection.close()

        seen["in_atomic_block"] = connection.in_atomic_block
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=10)

    book_by_chat(rehearsal, "es")
    pms_create.before = read_from_another_connection

    rehearsal.send("sí")

    assert seen == {"in_atomic_block": False, "started": [(BookingAttemptStatus.STARTED, "DBL", "Ana García")]}
    assert BookingAttempt.objects.get(tenant=hotel).status == BookingAttemptStatus.BOOKED


def test_claiming_inside_a_transaction_is_refused(hotel):
    message = MessageFactory(conversation=ConversationFactory(tenant=hotel), direction=Direction.INBOUND,
                             sender=Sender.GUEST, text="sí", status=DeliveryStatus.RECEIVED)  # fmt: skip

    with transaction.atomic(), pytest.raises(RuntimeError, match="outside any transaction"):
        booking_attempt_claim(tenant=hotel, message=message, room_type="DBL", check_in=MAR_10, check_out=MAR_12,
                              adults=2, children=0, guest_name="Ana García")  # fmt: skip

    assert not BookingAttempt.objects.exists()


# --- tenants -------------------------------------------------------------------------------------------------------
def test_another_tenants_attempts_are_never_returned(hotel):
    other = TenantFactory(slug="otro-intento")
    message = MessageFactory(conversation=ConversationFactory(tenant=hotel), direction=Direction.INBOUND,
                             sender=Sender.GUEST, text="sí", status=DeliveryStatus.RECEIVED)  # fmt: skip
    stay = {"room_type": "DBL", "check_in": MAR_10, "check_out": MAR_12, "adults": 2, "children": 0}
    mine = booking_attempt_claim(tenant=hotel, message=message, guest_name="Ana García", **stay).attempt

    assert list(BookingAttempt.objects.for_tenant(hotel)) == [mine]
    assert not BookingAttempt.objects.for_tenant(other).exists()
    assert not BookingAttempt.objects.for_tenant(None).exists()
    with pytest.raises(ValueError):
        booking_attempt_claim(tenant=other, message=message, guest_name="Intruso", **stay)
    assert BookingAttempt.objects.count() == 1

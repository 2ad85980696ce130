"""Staff console services and selectors: claim (one winner), release, resolve, idempotent staff replies, internal
notes that are never sent, the bot's silence while staff hold a conversation, and the hotel-scoped reads."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.http import Http404

from channels_gateway.services import outbound_send
from conversations.console import selectors
from conversations.console.services import (
    ConsoleActionError,
    conversation_claim,
    conversation_release,
    conversation_resolve,
    note_add,
    staff_reply_send,
)
from conversations.models import (
    CannedReply,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    IdempotencyKey,
    Message,
    Sender,
    SessionState,
)
from conversations.services import inbound_process
from pms.base import Booking, GuestDetails, PMSNotFound, PMSUnavailable, RoomType
from tenants.models import StaffRole
from tests import whatsapp_payloads as wa
from tests.conftest import REAL_POSTGRES
from tests.factories import (
    ChannelAccountFactory,
    ConversationFactory,
    GuestFactory,
    MessageFactory,
    StaffMembershipFactory,
    TenantFactory,
    UserFactory,
)


# --- helpers ----------------------------------------------------------------------------------------------------------
def staff(tenant, *, role: str = StaffRole.AGENT, **user_fields):
    user = UserFactory(**user_fields)
    StaffMembershipFactory(user=user, tenant=tenant, role=role)
    return user


def conversation_for(account, *, status: str = ConversationStatus.BOT, assignee=None, **fields) -> Conversation:
    guest = GuestFactory(tenant=account.tenant, address=fields.pop("address", None) or wa.GUEST_PHONE)
    return ConversationFactory(
        tenant=account.tenant, guest=guest, channel_account=account, status=status, assignee=assignee, **fields
    )


def event_types(conversation) -> list[str]:
    return list(ConversationEvent.objects.filter(conversation_id=conversation.pk).values_list("type", flat=True))


@pytest.fixture
def sends(monkeypatch) -> list[int]:
    """Every ``send_outbound.delay`` call, instead of sending."""
    calls: list[int] = []
    monkeypatch.setattr("channels_gateway.tasks.send_outbound.delay", lambda message_id: calls.append(message_id))
    return calls


@pytest.fixture
def agent(tenant):
    return staff(tenant, first_name="Lucía", last_name="Pérez")


@pytest.fixture
def colleague(tenant):
    return staff(tenant)


@pytest.fixture
def hotel_admin(tenant):
    return staff(tenant, role=StaffRole.ADMIN)


@pytest.fixture
def conversation(whatsapp_account):
    return conversation_for(whatsapp_account, status=ConversationStatus.PENDING_HUMAN, escalation_reason="human")


# --- claim ------------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("status", [ConversationStatus.BOT, ConversationStatus.PENDING_HUMAN])
def test_claiming_assigns_the_conversation_and_announces_it(whatsapp_account, agent, status):
    # given
    conversation = conversation_for(whatsapp_account, status=status)
    # when
    claimed = conversation_claim(conversation=conversation, user=agent)
    # then
    assert (claimed.status, claimed.assignee_id) == (ConversationStatus.HUMAN, agent.pk)
    event = ConversationEvent.objects.get(conversation_id=conversation.pk)
    assert event.type == "conversation.updated"
    assert (event.payload["status"], event.payload["assignee"]) == ("human", agent.pk)


@pytest.mark.django_db
def test_claiming_one_already_mine_changes_nothing(conversation, agent):
    conversation_claim(conversation=conversation, user=agent)
    # when
    again = conversation_claim(conversation=conversation, user=agent)
    # then
    assert (again.status, again.assignee_id) == (ConversationStatus.HUMAN, agent.pk)
    assert event_types(conversation) == ["conversation.updated"]


@pytest.mark.django_db
def test_claiming_one_held_by_a_colleague_is_refused(conversation, agent, colleague):
    conversation_claim(conversation=conversation, user=colleague)
    # when
    with pytest.raises(ConsoleActionError) as error:
        conversation_claim(conversation=conversation, user=agent)
    # then
    assert error.value.code == "held_by_other"
    conversation.refresh_from_db()
    assert conversation.assignee_id == colleague.pk
    assert event_types(conversation) == ["conversation.updated"]


@pytest.mark.django_db
def test_a_closed_conversation_cannot_be_claimed(whatsapp_account, agent):
    conversation = conversation_for(whatsapp_account, status=ConversationStatus.CLOSED)
    with pytest.raises(ConsoleActionError) as error:
        conversation_claim(conversation=conversation, user=agent)
    assert error.value.code == "closed"
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.CLOSED, None)
    assert event_types(conversation) == []


def run_concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call at the same moment, each in its own thread with its own DB connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the outcome of the race, inspected by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker is stuck"
    return results


@pytest.mark.skipif(not REAL_POSTGRES, reason="needs a real PostgreSQL (DATABASE_URL=postgres://…)")
@pytest.mark.django_db(transaction=True)
def test_two_staff_claiming_at_once_exactly_one_wins(whatsapp_account):
    # given
    conversation = conversation_for(whatsapp_account, status=ConversationStatus.PENDING_HUMAN)
    claimants = [staff(whatsapp_account.tenant) for _ in range(6)]
    # when
    results = run_concurrently(
        [lambda user=user: conversation_claim(conversation=conversation, user=user) for user in claimants]
    )
    # then
    winners = [r for r in results if isinstance(r, Conversation)]
    losers = [r for r in results if isinstance(r, ConsoleActionError)]
    assert len(winners) == 1
    assert [e.code for e in losers] == ["held_by_other"] * 5
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.HUMAN, winners[0].assignee_id)
    assert event_types(conversation) == ["conversation.updated"]


# --- release / resolve ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_releasing_hands_back_to_the_bot_and_forgets_the_pending_question(conversation, agent):
    # given
    conversation_claim(conversation=conversation, user=agent)
    SessionState.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        context={"booking_ref": "SYM-1"},
        pending={"action": "booking_status", "slot": "booking_ref"},
        fallback_streak=2,
        expires_at="2099-01-01T00:00:00Z",
    )
    # when
    released = conversation_release(conversation=conversation, user=agent)
    # then
    assert (released.status, released.assignee_id, released.escalation_reason) == (ConversationStatus.BOT, None, "")
    session = SessionState.objects.get(conversation=conversation)
    assert (session.pending, session.fallback_streak, session.context) == ({}, 0, {"booking_ref": "SYM-1"})
    assert event_types(conversation) == ["conversation.updated", "conversation.updated"]
    assert ConversationEvent.objects.filter(conversation_id=conversation.pk).last().payload["status"] == "bot"


@pytest.mark.django_db
def test_only_the_assignee_or_a_hotel_admin_may_release(conversation, agent, colleague, hotel_admin):
    conversation_claim(conversation=conversation, user=agent)
    # when a colleague tries
    with pytest.raises(ConsoleActionError) as error:
        conversation_release(conversation=conversation, user=colleague)
    # then
    assert error.value.code == "not_allowed"
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee_id) == (ConversationStatus.HUMAN, agent.pk)
    assert event_types(conversation) == ["conversation.updated"]
    # when the hotel admin does
    released = conversation_release(conversation=conversation, user=hotel_admin)
    assert (released.status, released.assignee_id) == (ConversationStatus.BOT, None)


@pytest.mark.django_db
def test_an_admin_of_another_hotel_is_not_an_admin_here(conversation, agent):
    conversation_claim(conversation=conversation, user=agent)
    outsider = staff(TenantFactory(), role=StaffRole.ADMIN)
    with pytest.raises(ConsoleActionError):
        conversation_release(conversation=conversation, user=outsider)
    conversation.refresh_from_db()
    assert conversation.assignee_id == agent.pk


@pytest.mark.django_db
def test_an_unassigned_escalation_is_released_only_by_an_admin(conversation, agent, hotel_admin):
    with pytest.raises(ConsoleActionError):
        conversation_release(conversation=conversation, user=agent)
    assert conversation_release(conversation=conversation, user=hotel_admin).status == ConversationStatus.BOT


@pytest.mark.django_db
def test_releasing_one_with_the_bot_is_a_no_op(whatsapp_account, agent):
    conversation = conversation_for(whatsapp_account)
    assert conversation_release(conversation=conversation, user=agent).status == ConversationStatus.BOT
    assert event_types(conversation) == []


@pytest.mark.django_db
def test_resolving_closes_the_conversation(conversation, agent):
    conversation_claim(conversation=conversation, user=agent)
    # when
    resolved = conversation_resolve(conversation=conversation, user=agent)
    # then
    assert resolved.status == ConversationStatus.CLOSED
    assert resolved.closed_at is not None
    assert event_types(conversation) == ["conversation.updated", "conversation.updated"]
    # and again: nothing changes
    assert conversation_resolve(conversation=conversation, user=agent).closed_at == resolved.closed_at
    assert len(event_types(conversation)) == 2


@pytest.mark.django_db
def test_resolving_one_held_by_a_colleague_needs_an_admin(conversation, agent, colleague, hotel_admin):
    conversation_claim(conversation=conversation, user=colleague)
    with pytest.raises(ConsoleActionError) as error:
        conversation_resolve(conversation=conversation, user=agent)
    assert error.value.code == "not_allowed"
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.HUMAN
    assert conversation_resolve(conversation=conversation, user=hotel_admin).status == ConversationStatus.CLOSED


@pytest.mark.django_db
def test_any_staff_member_may_resolve_an_unassigned_conversation(conversation, agent):
    assert conversation_resolve(conversation=conversation, user=agent).status == ConversationStatus.CLOSED


# --- the bot stays silent while staff hold the conversation -----------------------------------------------------------
def inbound(conversation, text: str = "¿Hay parking?") -> Message:
    return MessageFactory(
        conversation=conversation,
        direction=Direction.INBOUND,
        sender=Sender.GUEST,
        status=DeliveryStatus.RECEIVED,
        text=text,
        provider_message_id=wa.wamid(),
    )


@pytest.mark.django_db
def test_a_claimed_conversation_gets_no_bot_reply_until_released(conversation, agent, greeting_nlu, sends):
    # given staff hold the conversation
    conversation_claim(conversation=conversation, user=agent)
    # when the guest writes
    first = inbound(conversation)
    outcome = inbound_process(message_id=first.pk)
    # then the bot says nothing
    assert outcome == "human"
    assert not Message.objects.filter(conversation=conversation, sender=Sender.BOT).exists()
    assert sends == []
    # when staff hand it back and the guest writes again
    conversation_release(conversation=conversation, user=agent)
    second = inbound(conversation, "Hola")
    # then the bot answers that one
    assert inbound_process(message_id=second.pk) == "replied"
    assert list(Message.objects.filter(sender=Sender.BOT).values_list("reply_to_id", flat=True)) == [second.pk]


# --- staff replies ----------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_staff_reply_is_stored_queued_and_sent_after_commit(
    conversation, agent, sends, django_capture_on_commit_callbacks
):
    conversation_claim(conversation=conversation, user=agent)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = staff_reply_send(conversation=conversation, user=agent, text="Ahora lo miro", idempotency_key="k-1")
    # then
    message = result.message
    assert result.created is True
    assert (message.direction, message.sender, message.status, message.text, message.author_id) == (
        Direction.OUTBOUND,
        Sender.STAFF,
        DeliveryStatus.QUEUED,
        "Ahora lo miro",
        agent.pk,
    )
    assert message.is_internal is False
    assert sends == [message.pk]
    key = IdempotencyKey.objects.get()
    assert (key.tenant_id, key.user_id, key.key, key.conversation_id, key.message_id) == (
        conversation.tenant_id,
        agent.pk,
        "k-1",
        conversation.pk,
        message.pk,
    )
    created = ConversationEvent.objects.get(type="message.created")
    assert created.payload["id"] == message.pk
    assert created.payload["author"] == {"id": agent.pk, "name": "Lucía Pérez"}


@pytest.mark.django_db
def test_the_same_idempotency_key_sends_once(conversation, agent, sends, django_capture_on_commit_callbacks):
    conversation_claim(conversation=conversation, user=agent)
    with django_capture_on_commit_callbacks(execute=True):
        first = staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="double")
    # when the double click arrives
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="double")
    # then
    assert (second.created, second.message.pk) == (False, first.message.pk)
    assert callbacks == []
    assert sends == [first.message.pk]
    assert Message.objects.filter(sender=Sender.STAFF).count() == 1
    assert ConversationEvent.objects.filter(type="message.created").count() == 1


@pytest.mark.django_db
def test_a_replayed_key_still_answers_after_the_conversation_was_released(conversation, agent, sends):
    conversation_claim(conversation=conversation, user=agent)
    first = staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k")
    conversation_release(conversation=conversation, user=agent)
    again = staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k")
    assert (again.created, again.message.pk) == (False, first.message.pk)


@pytest.mark.django_db
def test_a_key_reused_for_another_text_is_refused(conversation, agent, sends):
    conversation_claim(conversation=conversation, user=agent)
    staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k")
    with pytest.raises(ConsoleActionError) as error:
        staff_reply_send(conversation=conversation, user=agent, text="Adiós", idempotency_key="k")
    assert error.value.code == "idempotency_key_reused"
    assert Message.objects.filter(sender=Sender.STAFF).count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_staff_member(conversation, agent, hotel_admin, sends):
    # given the admin took over after the agent replied with key "k"
    conversation_claim(conversation=conversation, user=agent)
    staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k")
    conversation_release(conversation=conversation, user=agent)
    conversation_claim(conversation=conversation, user=hotel_admin)
    # when the admin's console happens to use the same key
    result = staff_reply_send(conversation=conversation, user=hotel_admin, text="Hola", idempotency_key="k")
    # then it is their own new message
    assert result.created is True
    assert Message.objects.filter(sender=Sender.STAFF).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("holder", [None, "colleague"])
def test_replying_without_holding_the_conversation_is_refused(
    conversation, agent, colleague, holder, sends, django_capture_on_commit_callbacks
):
    if holder:
        conversation_claim(conversation=conversation, user=colleague)
    events_before = ConversationEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ConsoleActionError) as error:
        staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k")
    assert error.value.code == "claim_first"
    assert not Message.objects.filter(sender=Sender.STAFF).exists()
    assert not IdempotencyKey.objects.exists()
    assert sends == []
    assert ConversationEvent.objects.count() == events_before


@pytest.mark.django_db
def test_a_staff_reply_goes_out_through_the_guests_channel(conversation, agent, django_capture_on_commit_callbacks):
    # given (no patched sender: eager Celery runs the real send task with the log sender)
    conversation_claim(conversation=conversation, user=agent)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="k").message
    # then
    message.refresh_from_db()
    assert message.status == DeliveryStatus.SENT
    assert message.provider_message_id


@pytest.mark.skipif(not REAL_POSTGRES, reason="needs a real PostgreSQL (DATABASE_URL=postgres://…)")
@pytest.mark.django_db(transaction=True)
def test_a_double_click_racing_itself_sends_one_message(whatsapp_account, sends):
    # given
    agent = staff(whatsapp_account.tenant)
    conversation = conversation_for(whatsapp_account, status=ConversationStatus.HUMAN, assignee=agent)
    # when
    results = run_concurrently(
        [
            lambda: staff_reply_send(conversation=conversation, user=agent, text="Hola", idempotency_key="same")
            for _ in range(5)
        ]
    )
    # then
    assert not [r for r in results if isinstance(r, Exception)]
    assert len({r.message.pk for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, False, False, True]
    assert Message.objects.filter(sender=Sender.STAFF).count() == 1
    assert sends == [results[0].message.pk]


# --- internal notes ---------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_note_is_stored_for_staff_and_never_sent(conversation, agent, sends, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        note = note_add(conversation=conversation, user=agent, text="Cliente VIP, ofrecer upgrade")
    # then
    assert (note.is_internal, note.status, note.sender, note.author_id) == (
        True,
        DeliveryStatus.INTERNAL,
        Sender.STAFF,
        agent.pk,
    )
    assert sends == []
    assert outbound_send(message_id=note.pk).result == "skipped"
    note.refresh_from_db()
    assert (note.status, note.provider_message_id, note.send_attempts) == (DeliveryStatus.INTERNAL, None, 0)
    assert not Message.objects.for_tenant(conversation.tenant).guest_visible().filter(pk=note.pk).exists()


@pytest.mark.django_db
def test_a_notes_event_reaches_only_the_hotels_console_group(conversation, agent, django_capture_on_commit_callbacks):
    # when
    note = note_add(conversation=conversation, user=agent, text="Nota")
    # then the event is the hotel's, not the conversation's (whose group a guest's web chat may listen on)
    event = ConversationEvent.objects.get(type="note.created")
    assert (event.tenant_id, event.conversation_id) == (conversation.tenant_id, None)
    assert event.payload["conversation"] == str(conversation.pk)
    assert (event.payload["id"], event.payload["is_internal"]) == (note.pk, True)


@pytest.mark.django_db
def test_a_note_is_allowed_whoever_holds_the_conversation(conversation, agent, colleague):
    conversation_claim(conversation=conversation, user=colleague)
    assert note_add(conversation=conversation, user=agent, text="Nota").is_internal is True


# --- selectors --------------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_conversation_of_another_hotel_is_not_found_like_an_absent_one(conversation, agent, other_tenant_account):
    foreign = conversation_for(other_tenant_account)
    assert selectors.conversation_get_for_staff(user=agent, tenant=conversation.tenant, conversation_id=conversation.pk)
    for conversation_id in (foreign.pk, uuid.uuid4()):
        with pytest.raises(Http404):
            selectors.conversation_get_for_staff(
                user=agent, tenant=conversation.tenant, conversation_id=conversation_id
            )
    with pytest.raises(Http404):
        selectors.conversation_get_for_staff(user=agent, tenant=None, conversation_id=conversation.pk)


@pytest.mark.django_db
def test_the_list_filters_by_status_channel_assignee_and_guest(tenant, whatsapp_account, agent, colleague):
    # given
    sms = ChannelAccountFactory(tenant=tenant, channel="sms", external_id="+34900000000")
    waiting = conversation_for(whatsapp_account, status=ConversationStatus.PENDING_HUMAN, address="34611111111")
    mine = conversation_for(whatsapp_account, status=ConversationStatus.HUMAN, assignee=agent, address="34622222222")
    theirs = conversation_for(sms, status=ConversationStatus.HUMAN, assignee=colleague, address="34633333333")
    Conversation.objects.filter(pk=theirs.pk).update(guest=GuestFactory(tenant=tenant, display_name="Bob Smith"))

    def ids(**filters) -> set:
        return {c.pk for c in selectors.conversation_list_for_staff(tenant=tenant, user=agent, **filters)}

    # then
    assert ids() == {waiting.pk, mine.pk, theirs.pk}
    assert ids(status="pending_human") == {waiting.pk}
    assert ids(channel="sms") == {theirs.pk}
    assert ids(assignee="me") == {mine.pk}
    assert ids(assignee="none") == {waiting.pk}
    assert ids(assignee=str(colleague.pk)) == {theirs.pk}
    assert ids(q="bob") == {theirs.pk}
    assert ids(q="3462222") == {mine.pk}
    assert selectors.conversation_list_for_staff(tenant=None, user=agent).count() == 0


@pytest.mark.django_db
def test_the_queue_is_oldest_first_and_the_list_most_recent_first(tenant, whatsapp_account, agent):
    older = conversation_for(whatsapp_account, status=ConversationStatus.PENDING_HUMAN, address="34611111111")
    newer = conversation_for(whatsapp_account, status=ConversationStatus.PENDING_HUMAN, address="34622222222")
    Conversation.objects.filter(pk=older.pk).update(updated_at="2026-01-01T10:00:00Z", last_message_at=None)
    Conversation.objects.filter(pk=newer.pk).update(
        updated_at="2026-01-01T11:00:00Z", last_message_at="2026-01-01T11:00:00Z"
    )
    queue = selectors.conversation_list_for_staff(tenant=tenant, user=agent, status="pending_human")
    assert [c.pk for c in queue] == [older.pk, newer.pk]


@pytest.mark.django_db
def test_messages_for_staff_include_notes_oldest_first_after_an_id(conversation, agent):
    first = inbound(conversation, "Hola")
    note = note_add(conversation=conversation, user=agent, text="Nota")
    MessageFactory(conversation=ConversationFactory(tenant=conversation.tenant))  # another conversation
    assert [m.pk for m in selectors.messages_for_staff(conversation=conversation)] == [first.pk, note.pk]
    assert [m.pk for m in selectors.messages_for_staff(conversation=conversation, after=first.pk)] == [note.pk]


ROOM = RoomType(
    code="DBL",
    name="Doble",
    max_adults=2,
    max_children=1,
    max_occupancy=3,
    base_price=Decimal("90"),
    currency="EUR",
    taxes_included=True,
)


class FakeBookingsPMS:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[str] = []

    def get_booking(self, reference: str) -> Booking:
        self.asked.append(reference)
        if self.error:
            raise self.error
        return Booking(
            reference=reference,
            status="confirmed",
            room_type=ROOM,
            check_in=dt.date(2026, 12, 4),
            check_out=dt.date(2026, 12, 6),
            adults=2,
            children=0,
            guest=GuestDetails(name="Ana García", email="ana@example.com"),
            total_price=Decimal("180.00"),
            currency="EUR",
            taxes_included=True,
        )


@pytest.fixture
def with_session(conversation):
    SessionState.objects.create(
        tenant=conversation.tenant,
        conversation=conversation,
        context={"booking_ref": "SYM-42", "adults": 2},
        expires_at="2099-01-01T00:00:00Z",
    )
    understood = {
        "intent": "booking_status",
        "confidence": 0.91,
        "language": "es",
        "entities": {"booking_ref": "SYM-42"},
    }
    Message.objects.filter(pk=inbound(conversation, "¿Mi reserva?").pk).update(nlu={"intent": "greeting"})
    Message.objects.filter(pk=inbound(conversation, "Es la SYM-42").pk).update(nlu=understood)
    inbound(conversation, "Gracias")  # not understood yet (no nlu): the panel shows the last one that was
    return conversation


@pytest.mark.django_db
def test_the_guest_panel_shows_context_last_understanding_and_the_pms_booking(with_session, monkeypatch):
    pms = FakeBookingsPMS()
    monkeypatch.setattr(selectors, "pms_for_tenant", lambda tenant: pms)
    # when
    panel = selectors.conversation_guest_panel(conversation=with_session)
    # then
    assert pms.asked == ["SYM-42"]
    assert panel == {
        "name": "Ana García",
        "channel": "whatsapp",
        "address": wa.GUEST_PHONE,
        "language": "",
        "context": {"booking_ref": "SYM-42", "adults": 2},
        "pending": {},
        "last_nlu": {"intent": "booking_status", "confidence": 0.91, "entities": {"booking_ref": "SYM-42"}},
        "booking": {
            "reference": "SYM-42",
            "status": "confirmed",
            "room_type": "Doble",
            "room_type_code": "DBL",
            "check_in": "2026-12-04",
            "check_out": "2026-12-06",
            "adults": 2,
            "children": 0,
            "guest_name": "Ana García",
            "guest_email": "ana@example.com",
            "guest_phone": "",
            "total_price": "180.00",
            "currency": "EUR",
            "taxes_included": True,
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("error", [PMSNotFound("no"), PMSUnavailable("down"), RuntimeError("adapter bug")])
def test_the_guest_panel_shows_no_booking_when_the_pms_cannot_say(with_session, monkeypatch, error):
    monkeypatch.setattr(selectors, "pms_for_tenant", lambda tenant: FakeBookingsPMS(error))
    panel = selectors.conversation_guest_panel(conversation=with_session)
    assert panel["booking"] is None
    assert panel["last_nlu"]["intent"] == "booking_status"


@pytest.mark.django_db
def test_the_guest_panel_does_not_ask_the_pms_without_a_reference(conversation, monkeypatch):
    pms = FakeBookingsPMS()
    monkeypatch.setattr(selectors, "pms_for_tenant", lambda tenant: pms)
    panel = selectors.conversation_guest_panel(conversation=conversation)
    assert (panel["context"], panel["last_nlu"], panel["booking"], pms.asked) == ({}, None, None, [])


@pytest.mark.django_db
def test_the_guest_panel_with_the_real_mock_pms_of_an_unknown_reference_has_no_booking(with_session):
    assert selectors.conversation_guest_panel(conversation=with_session)["booking"] is None


@pytest.mark.django_db
def test_canned_replies_are_the_hotels_in_the_asked_language(tenant, other_tenant_account):
    CannedReply.objects.create(tenant=tenant, language="es", title="B", text="b", sort_order=2)
    first = CannedReply.objects.create(tenant=tenant, language="es", title="A", text="a", sort_order=1)
    CannedReply.objects.create(tenant=tenant, language="en", title="Hi", text="Hi")
    CannedReply.objects.create(tenant=other_tenant_account.tenant, language="es", title="Otro", text="x")
    replies = selectors.canned_replies_for_staff(tenant=tenant, language="es")
    assert [r.title for r in replies] == ["A", "B"]
    assert replies[0].pk == first.pk
    assert selectors.canned_replies_for_staff(tenant=tenant).count() == 3
    assert selectors.canned_replies_for_staff(tenant=None).count() == 0

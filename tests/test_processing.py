"""Answering one stored guest message: exactly once, never in a staff conversation, in the guest's language."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext

from conversations import locks
from conversations.locks import LockNotAcquired, distributed_lock
from conversations.models import (
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Guest,
    LockAction,
    LockAudit,
    Message,
    MessageKind,
    Sender,
    SessionState,
)
from conversations.services import inbound_process
from conversations.tasks import process_inbound
from tests import whatsapp_payloads as wa
from tests.factories import ConversationFactory, GuestFactory, MessageFactory

NON_TEXT_REPLY = "Thanks! For now I can only read text messages. Could you write your request?"


@pytest.fixture
def conversation(whatsapp_account):
    guest = GuestFactory(tenant=whatsapp_account.tenant, address=wa.GUEST_PHONE, display_name="Ana García")
    return ConversationFactory(tenant=whatsapp_account.tenant, guest=guest, channel_account=whatsapp_account)


@pytest.fixture
def make_inbound(conversation):
    def _make(text: str = "Hola", *, kind: str = MessageKind.TEXT, **fields) -> Message:
        return MessageFactory(
            conversation=conversation,
            direction=Direction.INBOUND,
            sender=Sender.GUEST,
            status=DeliveryStatus.RECEIVED,
            kind=kind,
            text=text,
            provider_message_id=wa.wamid(),
            **fields,
        )

    return _make


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a callable and, once its transaction commits, what it enqueued (the send task)."""

    def _run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = fn(*args, **kwargs)
        return result, callbacks

    return _run


def translated(language: str, text: str, **params: str) -> str:
    with translation.override(language):
        return gettext(text) % params if params else gettext(text)


def replies_to(message: Message):
    return Message.objects.filter(reply_to=message)


def test_process_inbound_task_twice_answers_once(make_inbound, run):
    message = make_inbound("Hola")

    first, _ = run(lambda: process_inbound.delay(message.pk).get())
    second, callbacks = run(lambda: process_inbound.delay(message.pk).get())

    assert (first, second) == ("replied", "duplicate")
    assert callbacks == []  # the second run enqueued no send
    reply = replies_to(message).get()
    assert reply.sender == Sender.BOT
    assert reply.direction == Direction.OUTBOUND
    assert reply.tenant_id == message.tenant_id
    assert reply.conversation_id == message.conversation_id
    assert reply.status == DeliveryStatus.SENT  # the send task ran after commit (log sender)
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 1
    message.refresh_from_db()
    assert message.processed_at is not None


def test_inbound_process_twice_answers_once(make_inbound, run):
    message = make_inbound("Hola")

    first, first_callbacks = run(inbound_process, message_id=message.pk)
    second, second_callbacks = run(inbound_process, message_id=message.pk)

    assert (first, second) == ("replied", "duplicate")
    # one send enqueued (the other on-commit callbacks broadcast realtime events)
    assert len([c for c in first_callbacks if getattr(c, "task_name", None) == "channels_gateway.send_outbound"]) == 1
    assert second_callbacks == []
    assert replies_to(message).filter(sender=Sender.BOT).count() == 1


def test_a_reply_already_recorded_is_not_recorded_again(make_inbound, conversation, run):
    """Belt and braces: the unique (reply_to, sender=bot) constraint stops a second answer even if the processed mark
    was lost."""
    message = make_inbound("Hola")
    MessageFactory(conversation=conversation, reply_to=message, text="first answer")

    outcome, callbacks = run(inbound_process, message_id=message.pk)

    assert outcome == "duplicate"
    assert callbacks == []
    assert list(replies_to(message).values_list("text", flat=True)) == ["first answer"]


@pytest.mark.parametrize("status", [ConversationStatus.HUMAN, ConversationStatus.PENDING_HUMAN])
def test_staff_conversation_gets_no_bot_reply(make_inbound, conversation, run, status):
    conversation.status = status
    conversation.save()
    message = make_inbound("¿Sigue ahí?")

    outcome, callbacks = run(lambda: process_inbound.delay(message.pk).get())

    assert outcome == "human"
    assert callbacks == []
    assert not replies_to(message).exists()
    assert Message.objects.filter(direction=Direction.OUTBOUND).count() == 0
    message.refresh_from_db()
    assert message.processed_at is not None


def test_a_claim_while_the_agent_thinks_drops_the_bot_reply(make_inbound, conversation, run, monkeypatch):
    """The status is read again when the reply is written: a receptionist who claimed the conversation meanwhile
    answers alone."""
    from conversations.agent import orchestrator

    real_orchestrate = orchestrator.orchestrate_turn

    def claimed_meanwhile(**kwargs):
        result = real_orchestrate(**kwargs)
        Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.HUMAN)
        return result

    monkeypatch.setattr(orchestrator, "orchestrate_turn", claimed_meanwhile)
    message = make_inbound("Hola")

    outcome, callbacks = run(inbound_process, message_id=message.pk)

    assert outcome == "human"
    assert not replies_to(message).exists()
    assert not [
        c for c in callbacks if getattr(c, "task_name", None) == "channels_gateway.send_outbound"
    ]  # no send enqueued
    message.refresh_from_db()
    assert message.processed_at is not None


def test_flagged_message_is_not_answered(make_inbound, run):
    message = make_inbound("spam", flagged=True, flag_reason="flood")

    outcome, callbacks = run(inbound_process, message_id=message.pk)

    assert outcome == "flagged"
    assert callbacks == []
    assert not replies_to(message).exists()


def test_missing_or_outbound_message_is_a_no_op(make_inbound, conversation, run):
    outbound = MessageFactory(conversation=conversation)

    assert run(inbound_process, message_id=10**9)[0] == "missing"
    assert run(inbound_process, message_id=outbound.pk)[0] == "missing"
    assert Message.objects.count() == 1


def test_processing_holds_the_conversation_lock_and_audits_it(make_inbound, conversation, run):
    message = make_inbound("Hola")

    run(inbound_process, message_id=message.pk)

    audits = list(
        LockAudit.objects.for_tenant(conversation.tenant)
        .filter(resource=f"conversation:{conversation.pk}")
        .order_by("pk")
        .values_list("action", "owner", "held_ms")
    )
    assert [action for action, _, _ in audits] == [LockAction.ACQUIRED, LockAction.RELEASED]
    assert audits[0][1] == audits[1][1]  # one owner
    assert audits[0][2] is None
    assert audits[1][2] is not None


def test_busy_conversation_lock_is_not_processed_and_audited_as_contended(make_inbound, conversation, run, settings):
    settings.CONVERSATION_LOCK_WAIT_SECONDS = 0
    message = make_inbound("Hola")

    with (
        distributed_lock(tenant_id=conversation.tenant_id, resource=f"conversation:{conversation.pk}"),
        pytest.raises(LockNotAcquired),
    ):
        run(inbound_process, message_id=message.pk)

    assert not replies_to(message).exists()
    message.refresh_from_db()
    assert message.processed_at is None
    assert LockAudit.objects.filter(action=LockAction.CONTENDED).count() == 1
    assert run(inbound_process, message_id=message.pk)[0] == "replied"  # once the lock is free


def test_lock_is_released_even_when_the_audit_write_fails(conversation, monkeypatch, settings):
    settings.CONVERSATION_LOCK_WAIT_SECONDS = 0
    resource = f"conversation:{conversation.pk}"

    def failing_audit(**kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(locks, "_audit", failing_audit)
    with pytest.raises(RuntimeError), distributed_lock(tenant_id=conversation.tenant_id, resource=resource):
        pass  # never reached
    monkeypatch.undo()

    with distributed_lock(tenant_id=conversation.tenant_id, resource=resource) as owner:  # free again at once
        assert owner


@pytest.mark.parametrize(
    ("text", "language"),
    [("Hola, buenas tardes", "es"), ("Hello!", "en"), ("Olá, tudo bem?", "pt"), ("Bom dia", "pt"), ("hi", "en")],
)
def test_greeting_is_answered_in_the_guests_language(make_inbound, conversation, run, text, language):
    message = make_inbound(text)

    run(inbound_process, message_id=message.pk)

    expected = translated(
        language,
        "Hello %(name)s! Welcome to %(hotel)s. I can check availability and prices, make or change a booking, "
        "answer questions about the hotel, or put you through to reception. How can I help?",
        name="Ana",
        hotel=conversation.tenant.name,
    )
    assert replies_to(message).get().text == expected
    conversation.refresh_from_db()
    assert conversation.language == language


def test_greetings_differ_per_language(make_inbound, conversation, run):
    texts = {}
    for text in ("Hola", "Hello", "Olá"):
        # a new conversation each time: within one, a one-word message never switches the language
        SessionState.objects.filter(conversation=conversation).delete()
        Conversation.objects.filter(pk=conversation.pk).update(language="")
        Guest.objects.filter(pk=conversation.guest_id).update(language="")
        message = make_inbound(text)
        run(inbound_process, message_id=message.pk)
        texts[text] = replies_to(message).get().text

    assert texts["Hola"].startswith("¡Hola Ana!")
    assert texts["Hello"].startswith("Hello Ana!")
    assert texts["Olá"].startswith("Olá Ana!")


@pytest.mark.parametrize(
    "kind",
    [
        MessageKind.AUDIO,
        MessageKind.IMAGE,
        MessageKind.VIDEO,
        MessageKind.DOCUMENT,
        MessageKind.STICKER,
        MessageKind.LOCATION,
        MessageKind.UNSUPPORTED,
    ],
)
def test_non_text_kinds_get_the_text_only_reply(make_inbound, run, kind):
    message = make_inbound("", kind=kind)

    outcome, _ = run(inbound_process, message_id=message.pk)

    assert outcome == "replied"
    assert replies_to(message).get().text == translated("es", NON_TEXT_REPLY)


def test_empty_text_gets_the_text_only_reply(make_inbound, run):
    message = make_inbound("   ")

    run(inbound_process, message_id=message.pk)

    assert replies_to(message).get().text == translated("es", NON_TEXT_REPLY)


def test_interactive_reply_is_read_as_text(make_inbound, run):
    message = make_inbound("Hello", kind=MessageKind.INTERACTIVE)

    run(inbound_process, message_id=message.pk)

    assert replies_to(message).get().text.startswith("Hello Ana!")


@pytest.mark.parametrize("stored_id", [["late-checkout"], None, {"id": "x"}])
def test_a_tap_stored_with_a_reply_id_that_is_not_a_string_is_still_answered(make_inbound, run, stored_id):
    """Rows stored before the adapter kept only string quick-reply ids made the agent raise on every retry."""
    message = make_inbound("Hello", kind=MessageKind.INTERACTIVE, attachment={"type": "button_reply", "id": stored_id})

    result, _ = run(inbound_process, message_id=message.pk)

    assert result == "replied"
    assert replies_to(message).get().text.startswith("Hello Ana!")

"""Property-based console sessions: random interleavings of guest messages and staff actions on one conversation.

Two front-desk agents and a hotel admin claim, release, resolve, reply and add notes while the guest keeps writing
through the real pipeline (NLU, handlers, escalations). A small model says what each action must do in the state the
conversation is in; after every step the stored conversation must match it:

- claim takes a conversation with the bot or waiting for staff; claiming one's own is a no-op; one held by someone
  else is ``held_by_other``, a closed one ``closed``;
- release hands it back to the bot (its assignee or an admin only) and forgets the agent's pending question;
- resolve closes it (anyone when unassigned; when assigned, the assignee or an admin);
- only the assignee of a ``human`` conversation may reply, each reply is stored once and queued once, and the same
  Idempotency-Key again returns the first reply;
- the bot answers a guest only while the conversation is with the bot, each message at most once; after a close
  the guest's next message opens a new conversation; ``human`` always has an assignee and ``bot`` never has one.

Derandomized in the suite; ``HYPOTHESIS_PROFILE=fuzz`` explores at random (``tests/test_webhook_fuzz.py``).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.console.services import (
    ConsoleActionError,
    conversation_claim,
    conversation_release,
    conversation_resolve,
    note_add_once,
    staff_reply_send,
)
from conversations.models import Conversation, ConversationStatus, Message, Sender, SessionState
from conversations.simulator import Rehearsal
from tenants.models import StaffRole
from tests.conftest import AGENT_TODAY, seeded_hotel
from tests.factories import StaffMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline answers on commit

from tests import test_webhook_fuzz  # noqa: E402, F401  (registers the Hypothesis profiles)

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
BOT, PENDING, HUMAN, CLOSED = (
    ConversationStatus.BOT,
    ConversationStatus.PENDING_HUMAN,
    ConversationStatus.HUMAN,
    ConversationStatus.CLOSED,
)
ACTORS = ("agent_a", "agent_b", "admin")
GUEST_TEXTS = [
    "hola", "quiero reservar", "del 10 al 12 de marzo", "2", "sí", "no", "¿tenéis parking?", "gracias",
    "quiero hablar con una persona", "esto es un desastre, quiero una reclamación", "I want to book a room",
    "quero falar com um atendente", "y", "...",
]  # fmt: skip
REPLY_TEXTS = ["Buenos días, le ayudo yo.", "Hecho.", "Un momento, por favor."]

_steps = st.lists(
    st.one_of(
        st.tuples(st.just("guest"), st.sampled_from(GUEST_TEXTS)),
        st.tuples(st.sampled_from(["claim", "release", "resolve", "note"]), st.sampled_from(ACTORS)),
        st.tuples(st.just("reply"), st.tuples(st.sampled_from(ACTORS), st.sampled_from(REPLY_TEXTS), st.booleans())),
    ),
    min_size=1,
    max_size=14,
)


@pytest.fixture
def desk(agent_clock, monkeypatch):
    hotel = seeded_hotel("console-fuzz")
    users = {}
    for name in ACTORS:
        users[name] = UserFactory(username=f"fuzz-{name}")
        StaffMembershipFactory(
            user=users[name], tenant=hotel, role=StaffRole.ADMIN if name == "admin" else StaffRole.AGENT
        )
    sent: list[int] = []
    monkeypatch.setattr("channels_gateway.tasks.send_outbound.delay", lambda message_id: sent.append(message_id))
    return hotel, users, sent


def _current(rehearsal: Rehearsal) -> Conversation | None:
    return (
        Conversation.objects.for_tenant(rehearsal.tenant)
        .filter(guest__address=rehearsal.guest)
        .order_by("-created_at", "-pk")
        .first()
    )


def _expected_error(action: str, actor: str, status: str, assignee: str | None) -> str | None:
    """What the model says ``action`` by ``actor`` must raise in this state (``None``: it succeeds or is a no-op)."""
    may_override = assignee == actor or actor == "admin"
    if action == "claim":
        if status == CLOSED:
            return "closed"
        return "held_by_other" if status == HUMAN and assignee != actor else None
    if action == "release":
        if status == BOT:
            return None
        if status == CLOSED:
            return "closed"
        return None if may_override else "not_allowed"
    if action == "resolve":
        if status == CLOSED or assignee is None:
            return None
        return None if may_override else "not_allowed"
    if action == "reply":
        return None if status == HUMAN and assignee == actor else "claim_first"
    return None  # notes are allowed in any state


def _after(action: str, actor: str, status: str, assignee: str | None) -> tuple[str, str | None]:
    """The state the model expects once ``action`` succeeded."""
    if action == "claim":
        return HUMAN, actor
    if action == "release":
        return BOT, None
    if action == "resolve":
        return CLOSED, assignee
    return status, assignee


@pytest.mark.timeout(3600 if FUZZING else 600)
@settings(max_examples=2000 if FUZZING else 20)
@given(steps=_steps)
def test_any_interleaving_of_guest_and_staff_keeps_the_conversation_consistent(steps, desk):
    hotel, users, sent = desk
    names = {user.pk: name for name, user in users.items()}
    rehearsal = Rehearsal(tenant=hotel, today=AGENT_TODAY)  # a new guest per example
    status, assignee = None, None  # no conversation yet
    replies: dict[str, int] = {}  # Idempotency-Key -> the staff reply it created
    for step, (action, arg) in enumerate(steps):
        conversation = _current(rehearsal)
        if action == "guest":
            opens = conversation is None or status == CLOSED
            turn = rehearsal.send(arg)
            fresh = _current(rehearsal)
            if opens:
                assert conversation is None or fresh.pk != conversation.pk, (steps, step)
                assert turn.reply is not None, (steps, step)  # a new conversation starts with the bot
                assert fresh.status in (BOT, PENDING), (steps, step)
            elif status == BOT:
                assert turn.reply is not None, (steps, step)
                assert fresh.status in (BOT, PENDING), (steps, step)
            else:  # staff have it, or it waits for them: the bot stays silent and the state is kept
                assert turn.reply is None, (steps, step)
                assert (fresh.status, names.get(fresh.assignee_id)) == (status, assignee), (steps, step)
            status, assignee = fresh.status, names.get(fresh.assignee_id)
            continue
        if conversation is None:
            continue  # nothing for staff to act on before the guest's first message
        if action == "reply":
            actor, text, retry = arg
        else:
            actor, text, retry = arg, "nota interna", False
        user = users[actor]
        expected = _expected_error(action, actor, status, assignee)
        queued_before = len(sent)
        try:
            if action == "claim":
                conversation_claim(conversation=conversation, user=user)
            elif action == "release":
                conversation_release(conversation=conversation, user=user)
            elif action == "resolve":
                conversation_resolve(conversation=conversation, user=user)
            elif action == "note":
                note_add_once(conversation=conversation, user=user, text=text, idempotency_key=uuid.uuid4().hex)
            else:
                key = uuid.uuid4().hex
                first = staff_reply_send(conversation=conversation, user=user, text=text, idempotency_key=key)
                assert first.created and first.message.sender == Sender.STAFF, (steps, step)
                replies[key] = first.message.pk
                if retry:  # a double click: the same key answers with the same message and sends nothing more
                    again = staff_reply_send(conversation=conversation, user=user, text=text, idempotency_key=key)
                    assert (again.created, again.message.pk) == (False, first.message.pk), (steps, step)
                assert sent[queued_before:] == [first.message.pk], (steps, step)
        except ConsoleActionError as exc:
            assert exc.code == expected, (steps, step, action, actor, status, assignee)
            assert len(sent) == queued_before, (steps, step)
        else:
            assert expected is None, (steps, step, action, actor, status, assignee)
            handed_back = action == "release" and status != BOT  # releasing one already with the bot is a no-op
            status, assignee = _after(action, actor, status, assignee)
            if handed_back:
                session = SessionState.objects.filter(conversation_id=conversation.pk).first()
                assert session is None or (session.pending, session.fallback_streak) == ({}, 0), (steps, step)
        stored = Conversation.objects.for_tenant(hotel).get(pk=conversation.pk)
        assert (stored.status, names.get(stored.assignee_id)) == (status, assignee), (steps, step, action, actor)

    conversations = list(Conversation.objects.for_tenant(hotel).filter(guest__address=rehearsal.guest))
    for conversation in conversations:
        if conversation.status == HUMAN:
            assert conversation.assignee_id is not None, steps
        if conversation.status == BOT:
            assert conversation.assignee_id is None, steps
    assert sum(c.status != CLOSED for c in conversations) <= 1, steps  # one open conversation per guest and channel
    messages = list(Message.objects.for_tenant(hotel).filter(conversation_id__in=[c.pk for c in conversations]))
    bot_answers = Counter(m.reply_to_id for m in messages if m.sender == Sender.BOT and m.reply_to_id is not None)
    assert all(count == 1 for count in bot_answers.values()), steps  # never two bot answers to one message
    staff_replies = sorted(m.pk for m in messages if m.sender == Sender.STAFF and not m.is_internal)
    assert staff_replies == sorted(replies.values()), steps
    assert not set(sent) & {m.pk for m in messages if m.is_internal}, steps  # notes are never sent

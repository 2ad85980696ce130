"""Sessions: context carry-over, intent history, expiry and TTL, the ``sessions_active`` gauge; language keeping."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import ngettext, override
from prometheus_client import REGISTRY

from conversations.agent.sessions import MAX_INTENTS, session_load
from conversations.models import AgentSettings, Conversation, SessionState
from conversations.simulator import Rehearsal
from tests.conftest import AGENT_NOW as NOW
from tests.conftest import seeded_hotel
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline answers on commit


@pytest.fixture
def hotel(agent_clock):
    return seeded_hotel("demo-sessions")


def session_of(rehearsal: Rehearsal) -> SessionState:
    return SessionState.objects.get(conversation__guest__address=rehearsal.guest, tenant=rehearsal.tenant)


# --- context -------------------------------------------------------------------------------------------------------
def test_follow_up_keeps_the_dates_of_the_availability_question(rehearsal):
    first = rehearsal.send("¿tenéis habitación del 10 al 12 de marzo?")
    assert first.intent == "check_availability"

    second = rehearsal.send("¿y para 3 personas?")

    context = session_of(rehearsal).context
    assert context["check_in"] == "2026-03-10"
    assert context["check_out"] == "2026-03-12"
    assert context["adults"] == 3
    with override("es"):
        three_adults = ngettext("%(n)d adult", "%(n)d adults", 3) % {"n": 3}
        two_adults = ngettext("%(n)d adult", "%(n)d adults", 2) % {"n": 2}
    assert three_adults in second.reply
    assert two_adults not in second.reply
    assert session_of(rehearsal).pending["action"] == "offer_booking"


def test_last_ten_intents_are_kept(rehearsal):
    for n in range(12):
        rehearsal.send("gracias" if n % 2 else "hola")

    intents = session_of(rehearsal).intents
    assert len(intents) == MAX_INTENTS
    assert [i["intent"] for i in intents] == ["greeting", "thanks"] * 5
    assert all(set(i) == {"intent", "confidence", "at"} for i in intents)


# --- expiry and TTL ------------------------------------------------------------------------------------------------
def test_an_expired_session_starts_over_with_an_empty_context(rehearsal):
    rehearsal.send("¿tenéis habitación del 10 al 12 de marzo?")
    session = session_of(rehearsal)
    assert session.context["check_in"] == "2026-03-10"
    SessionState.objects.filter(pk=session.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    restarted = session_load(conversation=Conversation.objects.get(pk=session.conversation_id))

    assert restarted.pk == session.pk
    assert restarted.context == {}
    assert restarted.pending == {}
    assert restarted.intents == []
    assert restarted.fallback_streak == 0
    assert restarted.expires_at > timezone.now()


def test_a_follow_up_after_expiry_does_not_reuse_old_dates(rehearsal):
    rehearsal.send("¿tenéis habitación del 10 al 12 de marzo?")
    SessionState.objects.filter(pk=session_of(rehearsal).pk).update(expires_at=NOW - dt.timedelta(hours=1))

    rehearsal.send("¿y para 3 personas?")

    context = session_of(rehearsal).context
    assert "check_in" not in context
    assert "check_out" not in context


def test_session_ttl_is_the_global_default(hotel, settings, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    conversation = ConversationFactory(tenant=hotel)

    session = session_load(conversation=conversation)

    assert session.expires_at == NOW + dt.timedelta(hours=settings.SESSION_TTL_HOURS)


def test_session_ttl_per_tenant(hotel, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    AgentSettings.objects.create(tenant=hotel, session_ttl_hours=2)
    conversation = ConversationFactory(tenant=hotel)

    session = session_load(conversation=conversation)

    assert session.expires_at == NOW + dt.timedelta(hours=2)


def test_sessions_active_gauge_counts_live_sessions(hotel):
    first = session_load(conversation=ConversationFactory(tenant=hotel))
    assert REGISTRY.get_sample_value("sessions_active") == 1.0
    SessionState.objects.filter(pk=first.pk).update(expires_at=NOW - dt.timedelta(hours=1))

    session_load(conversation=ConversationFactory(tenant=hotel))
    session_load(conversation=ConversationFactory(tenant=hotel))

    assert REGISTRY.get_sample_value("sessions_active") == 2.0


# --- language ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("short", ["ok", "sí", "10"])
def test_a_spanish_conversation_keeps_spanish_for_short_messages(short, rehearsal):
    rehearsal.send("Hola, buenos días")

    turn = rehearsal.send(short)

    assert turn.language == "es"
    assert session_of(rehearsal).language == "es"
    assert Conversation.objects.get(guest__address=rehearsal.guest).language == "es"


def test_a_clear_switch_changes_the_language(rehearsal, hotel):
    rehearsal.send("Hola, buenos días")

    turn = rehearsal.send("Hi, could you tell me if there is parking at the hotel?")

    assert turn.intent == "hotel_info"
    assert turn.language == "en"
    assert turn.reply == hotel.knowledge_entries.get(topic="parking", language="en").answer
    assert Conversation.objects.get(guest__address=rehearsal.guest).language == "en"

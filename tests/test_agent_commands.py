"""The rehearsal and NLU management commands: ``simulate``, ``chat``, ``nlu classify`` and ``nlu eval``."""

from __future__ import annotations

import builtins
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import seeded_hotel

TURN_KEYS = {"guest", "reply", "intent", "confidence", "language", "conversation_status"}
EVAL_KEYS = {
    "accuracy", "macro_f1", "per_language", "per_intent", "language_accuracy", "entity_exact_match",
    "oos_false_acceptance", "latency_p50_ms", "latency_p99_ms",
}  # fmt: skip


@pytest.fixture
def hotel(agent_clock, transactional_db):
    return seeded_hotel("demo-cmd")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- simulate ------------------------------------------------------------------------------------------------------
def test_simulate_prints_one_json_object_per_turn(hotel, tmp_path):
    script = tmp_path / "guest.txt"
    script.write_text("Hola\n\n¿tenéis habitación del 10 al 12 de marzo?\nquiero hablar con recepción\n", "utf-8")

    lines = run("simulate", "--tenant", hotel.slug, "--today", "2026-03-04", str(script)).splitlines()

    turns = [json.loads(line) for line in lines]
    assert len(turns) == 3  # the blank line is skipped
    assert all(set(turn) == TURN_KEYS for turn in turns)
    assert [t["guest"] for t in turns] == ["Hola", "¿tenéis habitación del 10 al 12 de marzo?",
                                           "quiero hablar con recepción"]  # fmt: skip
    assert [t["intent"] for t in turns] == ["greeting", "check_availability", "human_handoff"]
    assert [t["language"] for t in turns] == ["es", "es", "es"]
    assert [t["conversation_status"] for t in turns] == ["bot", "bot", "pending_human"]
    assert all(isinstance(t["reply"], str) and t["reply"] for t in turns)
    assert all(0.0 <= t["confidence"] <= 1.0 for t in turns)


def test_simulate_same_guest_continues_the_conversation(hotel, tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("quiero hablar con recepción\n", "utf-8")
    second.write_text("¿hola?\n", "utf-8")

    run("simulate", "--tenant", hotel.slug, "--guest", "g1", str(first))
    turn = json.loads(run("simulate", "--tenant", hotel.slug, "--guest", "g1", str(second)))

    assert turn["reply"] is None
    assert turn["conversation_status"] == "pending_human"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope"], 'Unknown hotel "nope".'),
        (["--tenant", "demo-cmd", "--today", "04/03/2026"], "--today must be YYYY-MM-DD, got '04/03/2026'"),
        (["--tenant", "demo-cmd", "--today", "2026-02-30"], "--today must be YYYY-MM-DD, got '2026-02-30'"),
    ],
)
def test_simulate_rejects_bad_arguments(args, message, hotel, tmp_path):
    script = tmp_path / "guest.txt"
    script.write_text("Hola\n", "utf-8")

    with pytest.raises(CommandError) as error:
        run("simulate", *args, str(script))

    assert str(error.value) == message


def test_simulate_rejects_a_missing_file(hotel, tmp_path):
    with pytest.raises(CommandError) as error:
        run("simulate", "--tenant", hotel.slug, str(tmp_path / "missing.txt"))

    assert str(error.value) == f"no such file: {tmp_path / 'missing.txt'}"


# --- chat ----------------------------------------------------------------------------------------------------------
def test_chat_prints_bot_replies_until_end_of_input(hotel, monkeypatch):
    typed = iter(["Hola", "", "quiero hablar con recepción", "¿hola?"])

    def fake_input(prompt=""):
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)

    lines = run("chat", "--tenant", hotel.slug, "--today", "2026-03-04", "--guest", "g-chat").splitlines()

    assert lines[0].startswith(f"Chatting with {hotel.name} as guest g-chat.")
    bot_lines = [line for line in lines if line.startswith("bot> ")]
    assert len(bot_lines) == 2
    assert "(no bot reply: the conversation is pending_human, staff will answer)" in lines


def test_chat_quit_and_reset(hotel, monkeypatch):
    typed = iter(["Hola", "/reset", "/quit", "never read"])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(typed))

    lines = run("chat", "--tenant", hotel.slug, "--guest", "g-reset").splitlines()

    assert "(new conversation)" in lines
    assert next(typed) == "never read"


def test_chat_unknown_tenant(db):
    with pytest.raises(CommandError):
        run("chat", "--tenant", "nope")


# --- nlu -----------------------------------------------------------------------------------------------------------
def test_nlu_classify_prints_intent_language_and_entities(db):
    result = json.loads(run("nlu", "classify", "¿tenéis habitación del 10 al 12 de marzo para 2?", "--today",
                            "2026-03-04"))  # fmt: skip

    assert set(result) == {"intent", "confidence", "language", "entities"}
    assert result["intent"] == "check_availability"
    assert result["language"] == "es"
    assert {"check_in", "check_out", "adults", "children"} <= set(result["entities"])
    assert result["entities"]["check_in"] == "2026-03-10"
    assert result["entities"]["check_out"] == "2026-03-12"


def test_nlu_classify_always_has_the_stay_keys(db):
    result = json.loads(run("nlu", "classify", "hello"))

    assert result["entities"]["check_in"] is None
    assert result["entities"]["check_out"] is None
    assert result["entities"]["adults"] is None
    assert result["entities"]["children"] is None


def test_nlu_eval_json_prints_one_line_with_the_metrics(db, tmp_path):
    data = tmp_path / "eval.jsonl"
    rows = [
        {"text": "hola, buenos días", "intent": "greeting", "language": "es"},
        {"text": "thank you so much!", "intent": "thanks", "language": "en"},
        {"text": "quero cancelar minha reserva", "intent": "cancel_reservation", "language": "pt"},
        {"text": "what's the capital of Australia?", "intent": "out_of_scope", "language": "en"},
        {"text": "habitación del 10 al 12 de marzo", "intent": "check_availability", "language": "es",
         "entities": {"check_in": "2026-03-10", "check_out": "2026-03-12"}},
    ]  # fmt: skip
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")

    output = run("nlu", "eval", str(data), "--json", "--today", "2026-03-04")

    assert len(output.strip().splitlines()) == 1
    report = json.loads(output)
    assert set(report) >= EVAL_KEYS
    assert 0.0 <= report["accuracy"] <= 1.0
    assert set(report["per_language"]) == {"es", "en", "pt"}
    assert all("accuracy" in values for values in report["per_language"].values())


def test_nlu_eval_missing_file(db, tmp_path):
    with pytest.raises(CommandError):
        run("nlu", "eval", str(tmp_path / "missing.jsonl"))

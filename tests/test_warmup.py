"""Process start-up: the NLU model is loaded only where guests are answered, and the start-up heap is frozen so full
garbage collections stop walking it (hotel_agent/warmup.py)."""

from __future__ import annotations

import gc

import pytest

from hotel_agent import warmup


@pytest.fixture
def unfrozen():
    """Leave this test process's collector as it was: whatever a test froze goes back to the oldest generation."""
    before = gc.get_freeze_count()
    yield before
    gc.unfreeze()


def test_freeze_moves_the_startup_heap_out_of_the_collectors_way(unfrozen):
    gc.unfreeze()
    frozen = warmup.freeze_startup_heap(reason="test")
    assert frozen > 0 and gc.get_freeze_count() == frozen
    # What is frozen is no longer tracked in any generation, so a full collection walks only what came later.
    assert len(gc.get_objects(generation=2)) < frozen


def test_freeze_can_be_turned_off(unfrozen, monkeypatch):
    gc.unfreeze()
    monkeypatch.setenv("GC_FREEZE_AFTER_STARTUP", "false")
    assert warmup.freeze_startup_heap(reason="test") == 0
    assert gc.get_freeze_count() == 0


def test_web_worker_with_a_broker_does_not_load_the_model(unfrozen, monkeypatch, settings):
    started: list[str] = []
    monkeypatch.setattr(warmup, "warm_up_in_background", lambda: started.append("model"))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    gc.unfreeze()
    warmup.warm_up_web_worker()
    assert started == [] and gc.get_freeze_count() > 0


def test_web_worker_that_answers_guests_itself_loads_the_model(unfrozen, monkeypatch, settings):
    started: list[str] = []
    monkeypatch.setattr(warmup, "warm_up_in_background", lambda: started.append("model"))
    settings.CELERY_TASK_ALWAYS_EAGER = True
    warmup.warm_up_web_worker()
    assert started == ["model"]


def test_background_warm_up_loads_the_model_then_freezes(unfrozen, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr("conversations.agent.nlu.training.load_models", lambda: calls.append("load"))
    monkeypatch.setattr(warmup, "freeze_startup_heap", lambda *, reason: calls.append(reason) or 0)
    warmup._load_then_freeze()
    assert calls == ["load", "nlu_loaded"]


def test_a_failed_model_load_still_freezes_and_never_raises(unfrozen, monkeypatch):
    calls: list[str] = []

    def broken() -> None:
        raise OSError("model file unreadable")

    monkeypatch.setattr("conversations.agent.nlu.training.load_models", broken)
    monkeypatch.setattr(warmup, "freeze_startup_heap", lambda *, reason: calls.append(reason) or 0)
    warmup._load_then_freeze()
    assert calls == ["nlu_loaded"]

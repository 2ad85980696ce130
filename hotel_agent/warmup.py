"""Load what the first guest message would otherwise wait for (the NLU model) as soon as a server starts."""

from __future__ import annotations

import threading

import structlog

logger = structlog.get_logger(__name__)


def _load() -> None:
    try:
        from conversations.agent.nlu.training import load_models

        load_models()
    except Exception:  # the first message loads it instead; never break start-up
        logger.exception("nlu_warmup_failed")


def warm_up_in_background() -> None:
    threading.Thread(target=_load, name="nlu-warmup", daemon=True).start()

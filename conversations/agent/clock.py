"""The agent's notion of "today", overridable for rehearsals and evaluation (``simulate --today``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_today_override: ContextVar[dt.date | None] = ContextVar("agent_today_override", default=None)


def today_override() -> dt.date | None:
    return _today_override.get()


@contextmanager
def override_today(day: dt.date | None) -> Iterator[None]:
    token = _today_override.set(day)
    try:
        yield
    finally:
        _today_override.reset(token)

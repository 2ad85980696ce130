"""A small per-process memo with a time to live, in front of the shared cache for the hottest reads.

A hit costs a dict lookup instead of a Redis round trip and an unpickle. The price is bounded staleness: another
process's write is seen here once the entry expires (the writer's own process forgets at once through
``discard``/``clear``). Thread-safe for writes; bounded in size (full ⇒ emptied: the entries are cheap to refill).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")  # never None: ``get`` answers None for a miss


class LocalMemo(Generic[V]):
    def __init__(self, *, max_entries: int = 4096, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value stored under ``key`` while fresh, else ``None``."""
        hit = self._entries.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]
        return None

    def put(self, key: Hashable, value: V, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (self.clock() + seconds, value)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

"""Group commit for the webhook's one INSERT, across the threads of one process.

Under a threaded server (gunicorn ``gthread``) many webhook requests of one process wait for their INSERT at the same
moment. Each would otherwise pay its own round trip, its own WAL flush and the two context switches of waiting for
PostgreSQL. Here the first request that finds no statement in flight runs its rows at once; requests that arrive
while a statement is in flight queue up, and when it returns, the oldest of them runs every queued row in one
multi-row statement (one commit) and wakes the others. Nobody waits for a timer: with one thread per process (sync
workers) or a quiet server every request leads its own statement, exactly as without this class.

What each request is told is the truth about its own rows: ``insert`` returns only once the statement that carried
them has committed (their ids), or raises what made it fail. A statement that fails for a reason other than the
connection is re-run one request at a time, so one request's bad row cannot fail the others' webhooks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

# One statement's rows are one row per notification (a webhook body each, up to the upload limit), so a batch is
# capped in rows and in body bytes.
MAX_BATCH_ROWS = 32
MAX_BATCH_BYTES = 4 * 1024 * 1024
# A queued follower waits this long for a statement to take its rows, then withdraws (a 5xx; Meta redelivers). The
# database's own timeouts come first; a follower already taken into a statement waits for that statement's outcome.
FOLLOWER_WAIT_SECONDS = 60.0

Row = Sequence[object]
Execute = Callable[[list[Row]], list[int]]


class GroupInsertTimeout(RuntimeError):
    """The statement carrying these rows did not report back in time (the request answers 5xx; Meta redelivers)."""


class _Slot:
    __slots__ = ("batch", "done", "error", "ids", "rows", "size")

    def __init__(self, rows: list[Row], size: int) -> None:
        self.rows = rows
        self.size = size
        self.ids: list[int] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.batch: list[_Slot] | None = None  # set when this request is promoted to run the next statement


class GroupInsert:
    """``insert(rows, size=bytes)`` → the new rows' ids, their statement shared with concurrent callers."""

    def __init__(
        self,
        execute: Execute,
        *,
        fatal: tuple[type[BaseException], ...] = (),
        max_rows: int = MAX_BATCH_ROWS,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        # ``execute(rows)`` runs one statement for all the rows on the calling thread's connection and returns their
        # ids in order; it is the caller's business to retry a dead connection. ``fatal``: errors that say nothing
        # about the rows (the database is unreachable, the statement timed out), so re-running each request's rows
        # alone would only repeat them: they fail the whole batch at once.
        self._execute = execute
        self._fatal = fatal
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._in_flight = False
        self.statements = 0  # statements run (for tests and the batch-size metric)

    def waiting(self) -> int:
        """Requests queued behind the statement in flight."""
        with self._lock:
            return len(self._queue)

    def insert(self, rows: list[Row], *, size: int = 0) -> list[int]:
        with self._lock:
            if not self._in_flight:
                self._in_flight = True
                slot = None
            else:
                slot = _Slot(rows, size)
                self._queue.append(slot)
        if slot is None:
            # Nothing in flight (always so with one thread per process): run these rows alone, at once, with no
            # slot to signal; whoever queued meanwhile is handed the line afterwards.
            try:
                self.statements += 1
                return self._execute(list(rows))
            finally:
                self._hand_over()
        if not slot.done.wait(FOLLOWER_WAIT_SECONDS):
            with self._lock:
                if slot in self._queue:  # still only queued: withdraw, so no later statement carries or
                    self._queue.remove(slot)  # promotes a request that has already given up
                    raise GroupInsertTimeout("the INSERT carrying this notification did not report back")
            # Taken meanwhile, into a statement under way or as the next leader (signalled right after the
            # lock is released): the outcome comes with that statement's.
            slot.done.wait()
        if slot.batch is None:  # someone else's statement carried these rows
            if slot.error is not None:
                raise slot.error
            return slot.ids
        batch = slot.batch  # promoted: run the queued rows
        try:
            self._run(batch)
        finally:
            self._hand_over()
        if slot.error is not None:
            raise slot.error
        return slot.ids

    def _run(self, batch: list[_Slot]) -> None:
        try:
            self._run_together(batch)
        except BaseException as exc:
            for slot in batch:
                if not slot.ids and slot.error is None:
                    slot.error = exc
        finally:
            for slot in batch:
                if slot.batch is not None:
                    slot.batch = None  # the leader itself (or a promoted one): not waiting on its event
                slot.done.set()

    def _run_together(self, batch: list[_Slot]) -> None:
        rows = [row for slot in batch for row in slot.rows]
        self.statements += 1
        try:
            ids = self._execute(rows)
        except Exception as exc:
            if len(batch) == 1 or isinstance(exc, self._fatal):
                raise
            # Some row of the statement was refused. Run each request's rows alone so only the bad one fails.
            for slot in batch:
                try:
                    self.statements += 1
                    slot.ids = self._execute(list(slot.rows))
                except Exception as exc:
                    slot.error = exc
            return
        start = 0
        for slot in batch:
            slot.ids = ids[start : start + len(slot.rows)]
            start += len(slot.rows)

    def _hand_over(self) -> None:
        """Promote the oldest queued request to run everything queued meanwhile, or mark the line free."""
        with self._lock:
            if not self._queue:
                self._in_flight = False
                return
            batch, rows, size = [], 0, 0
            while self._queue and len(batch) < self._max_rows:
                slot = self._queue[0]
                if batch and (rows + len(slot.rows) > self._max_rows or size + slot.size > self._max_bytes):
                    break
                batch.append(self._queue.pop(0))
                rows += len(slot.rows)
                size += slot.size
            leader = batch[0]
            leader.batch = batch
        leader.done.set()

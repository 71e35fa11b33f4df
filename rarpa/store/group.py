"""Group commit, shared by the SQLite and PostgreSQL recorders: writers that
arrive while a commit is under way are written together in the next one,
so many tablets share one fsync (and, on PostgreSQL, one table lock)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Sequence

from eventsourcing.persistence import IntegrityError, StoredEvent


@dataclass(frozen=True)
class SignedHead:
    position: int
    log_hash: bytes
    signature: bytes


class _Pending:
    __slots__ = ("events", "ids", "error", "done")

    def __init__(self, events: Sequence[StoredEvent]):
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """Mixed into a recorder that implements ``_write_batch(lists)``: write
    each list of stored events in one transaction that also signs the new
    head, and return (the ids of each list, the head)."""

    group_commit = True
    on_signed: Any = None  # called with each SignedHead after its commit

    def _start_group(self) -> None:
        self._cv = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False

    def _write_batch(self, lists: list[Sequence[StoredEvent]]) -> tuple[list[list[int]], SignedHead | None]:
        raise NotImplementedError

    def _announce(self, head: SignedHead | None) -> None:
        if head is not None and self.on_signed is not None:
            self.on_signed(head)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any):
        if not self.group_commit or kwargs.get("tracking") is not None:
            results, head = self._write_batch([stored_events])
            self._announce(head)
            return results[0]
        # Leader/follower: whoever finds no commit under way takes everything
        # queued and writes it in one transaction; the others wait for their result.
        me = _Pending(stored_events)
        with self._cv:
            self._queue.append(me)
            while self._leading and not me.done:
                self._cv.wait()
            if not me.done:
                self._leading = True
                batch, self._queue = self._queue, []
            else:
                batch = []
        if batch:
            try:
                self._commit_batch(batch)
            finally:
                with self._cv:
                    self._leading = False
                    self._cv.notify_all()
        if me.error is not None:
            raise me.error
        return me.ids

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            results, head = self._write_batch([p.events for p in batch])
        except IntegrityError:
            if len(batch) == 1:
                batch[0].error = IntegrityError("conflict")
                batch[0].done = True
                return
            # One writer clashed: commit each alone so only the clash fails.
            for p in batch:
                try:
                    results, head = self._write_batch([p.events])
                    p.ids = results[0]
                    self._announce(head)
                except Exception as e:
                    p.error = e
                p.done = True
            return
        except BaseException as e:
            for p in batch:
                p.error, p.done = e, True
            return
        self._announce(head)
        for p, ids in zip(batch, results):
            p.ids, p.done = ids, True

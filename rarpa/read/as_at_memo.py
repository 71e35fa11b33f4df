"""The record as at an instant, without replaying the learner's whole history
each time: what an as-at view reads and builds is kept in memory, per
learner, so the next one starts from the nearest checkpoint before its
instant instead of from the learner's first event.

Where the time went (cProfile of `rarpa bench`'s five-year learner, 2,000
observations, as it stood a year ago): half in dumping each event through a
marshmallow schema built anew for every event (fixed in events.payload); the
rest in reading and decrypting the whole stream (the year after the instant
too), making an empty read model (25 tables, 20 indexes) and replaying 1,600
events into it. All of it again for every page of an auditor's walk through
the record at one instant.

Kept per learner, in a bounded least-recently-used memo per application
(nothing is written to any file):

- the decoded events of a prefix of the stream, oldest first, each with its
  export JSON (made once and kept marshalled, so every caller gets dicts of
  its own), and the running maximum of their recorded times: the events
  recorded up to an instant (every event before the first one recorded after
  it, exactly as ``takewhile`` on the stream) are then found by bisection,
  even in a stream whose clock once went back. Stored events after the
  instant are read a page at a time and not decrypted;
- the as-at read model of the learner's own rows (no provider or staff
  names: the caller adds those, as ``history.replay`` does) after every
  ``INTERVAL`` events, as serialised SQLite, and the last one asked for.

A view restores the nearest checkpoint at or before its instant and applies
only the events between, through the same ProgressProjection as the live read
model; the derived numbers are recomputed at every multiple of ``INTERVAL``
and at the instant, whatever was kept before, so the answer does not depend on
what the memo held. Batches with the derived numbers recomputed between them
are how the live read model is made, so the rows equal a replay in one go
(tests/test_as_at_memo.py compares every table at many instants).

Never trusted over the events: a memo is used only while the store's chain
link at its last event is still the one it was made with (a link covers the
whole stream up to it; events are only ever appended). Erasure: every view
passes the access check first, which refuses an erased learner and then
drops the memo; ``erase_learner`` drops it at once (``forget``).
"""

from __future__ import annotations

import marshal
import sqlite3
import threading
import uuid
from bisect import bisect_right
from collections import OrderedDict
from datetime import datetime
from typing import Any, Iterable

import sqlite_utils

import events as catalogue
from rarpa.read.projections import ProgressProjection
from rarpa.read.tables import add_measures, in_memory
from rarpa.service.access import NotFound
from rarpa.service.written import Erased
from rarpa.store.cipher import StreamErased

# Events between checkpoints: as often as the Learner aggregate is snapshotted,
# so an as-at view applies no more events than loading the learner does.
INTERVAL = 100
# Bytes kept across all learners of one application (a five-year learner with
# 2,000 observations, viewed as it is now, takes about 24 MB: mostly its 20
# checkpoints); the least recently viewed go first.
BUDGET = 128 * 2**20
EVENT_BYTES = 1500  # about what a decoded event takes in memory, for the budget
PAGE = 100  # stored events read at a time while looking for the instant

_empty: bytes | None = None


def _empty_read_model() -> bytes:
    """An empty read model, serialised: restoring it costs a copy, making it
    costs every table and index again."""
    global _empty
    if _empty is None:
        conn = in_memory()
        conn.commit()
        _empty = conn.serialize()
        conn.close()
    return _empty


def restore(data: bytes) -> sqlite3.Connection:
    """A throw-away read model from serialised bytes, set up as ``tables.in_memory``."""
    conn = sqlite3.connect(":memory:")
    conn.deserialize(data)
    conn.row_factory = sqlite3.Row
    add_measures(conn)
    return conn


class _Memo:
    """What is kept of one learner. Lists only grow, so a view holding ``n``
    reads a part nobody changes; a memo found stale is replaced, never emptied."""

    def __init__(self, key: uuid.UUID):
        self.key = key
        self.lock = threading.Lock()
        self.events: list = []
        self.latest: list[datetime] = []  # running maximum of recorded times
        self.json: list[bytes | None] = []  # each event's export JSON, marshalled
        self.block = INTERVAL
        self.json_blocks: dict[int, bytes] = {}  # block b: the JSON of events b*block.. (b+1)*block, in one
        self.link: str | None = None  # the chain link at the last kept event
        self.checkpoints: dict[int, bytes] = {0: _empty_read_model()}  # (the empty one is shared)
        self.recent: tuple[int, bytes] | None = None
        self.size = 0  # bytes kept, roughly: for the budget

    def keep_checkpoint(self, count: int, data: bytes) -> None:
        if count not in self.checkpoints:
            self.checkpoints[count] = data
            self.size += len(data)

    def keep_recent(self, count: int, data: bytes) -> None:
        self.size += len(data) - (len(self.recent[1]) if self.recent else 0)
        self.recent = (count, data)


class AsAtMemos:
    """The memos of one application's learners, least recently used first."""

    def __init__(self, budget: int = BUDGET):
        self.budget = budget
        self._items: OrderedDict[uuid.UUID, _Memo] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: uuid.UUID) -> _Memo:
        with self._lock:
            memo = self._items.get(key)
            if memo is None:
                memo = self._items[key] = _Memo(key)
            self._items.move_to_end(key)
            return memo

    def replace(self, stale: _Memo) -> _Memo:
        with self._lock:
            memo = _Memo(stale.key)
            if self._items.get(stale.key) in (stale, None):
                self._items[stale.key] = memo
            return memo

    def evict(self, key: uuid.UUID) -> None:
        with self._lock:
            self._items.pop(key, None)

    def trim(self) -> None:
        """Drop the least recently viewed learners while over budget (never the last one viewed)."""
        with self._lock:
            total = sum(m.size for m in self._items.values())
            while total > self.budget and len(self._items) > 1:
                _, memo = self._items.popitem(last=False)
                total -= memo.size

    def __contains__(self, key: uuid.UUID) -> bool:
        return key in self._items


_attach = threading.Lock()


def memos(app) -> AsAtMemos:
    """The application's memos (made on first use; they live and die with it)."""
    found = app.__dict__.get("_as_at_memos")
    if found is None:
        with _attach:
            found = app.__dict__.setdefault("_as_at_memos", AsAtMemos())
    return found


def forget(app, learner_id) -> None:
    """Drop everything kept of a learner (erasure does, at once)."""
    try:
        key = uuid.UUID(str(learner_id))
    except ValueError:
        return
    memos(app).evict(key)


class View:
    """The learner's record as it stood at an instant: the first ``n`` events of the stream."""

    def __init__(self, memo: _Memo, n: int):
        self.memo, self.n = memo, n

    @property
    def learner_id(self) -> str:
        return str(self.memo.key)

    def events(self) -> list:
        """The events recorded up to the instant, oldest first (shared objects: events are frozen)."""
        return self.memo.events[: self.n]

    @property
    def last_version(self) -> int:
        return self.memo.events[self.n - 1].originator_version

    def events_json(self) -> list[dict[str, Any]]:
        """``events.to_json`` of each event, as new dicts and lists for this
        caller (unmarshalled: JSON's own types, exactly, at twice the speed of
        parsing JSON), a block of events at a time."""
        memo, n = self.memo, self.n
        size = memo.block
        out: list[dict[str, Any]] = []
        with memo.lock:
            for block in range(n // size):
                data = memo.json_blocks.get(block)
                if data is None:
                    data = marshal.dumps([marshal.loads(self._json(i)) for i in range(block * size, (block + 1) * size)])
                    memo.json_blocks[block] = data
                    memo.size += len(data)
                out.extend(marshal.loads(data))
            out.extend(marshal.loads(self._json(i)) for i in range(n - n % size, n))
        return out

    def _json(self, i: int) -> bytes:
        memo = self.memo
        data = memo.json[i]
        if data is None:
            data = memo.json[i] = marshal.dumps(catalogue.to_json(memo.events[i]))
            memo.size += len(data)
        return data

    def read_model(self, providers: Iterable[tuple[str, str]] = (), users: Iterable[dict] = ()) -> sqlite3.Connection:
        """A throw-away read model of the record as it stood (with these
        provider and staff names, as ``history.replay``): the nearest
        checkpoint, and the events after it up to the instant applied."""
        memo, n = self.memo, self.n
        with memo.lock:
            if memo.recent is not None and memo.recent[0] == n:
                base, data = n, memo.recent[1]
            else:
                base = max(k for k in memo.checkpoints if k <= n)
                data = memo.checkpoints[base]
        conn = restore(data)
        if base < n:
            self._apply(conn, base)
            data = conn.serialize()
            with memo.lock:
                memo.keep_recent(n, data)
        db = sqlite_utils.Database(conn)
        providers, users = list(providers), list(users)
        if providers:
            db["providers"].insert_all([{"slug": s, "name": name} for s, name in providers], pk="slug")
        if users:
            db["users"].insert_all([dict(u) for u in users], pk="id")
        return conn

    def _apply(self, conn: sqlite3.Connection, base: int) -> None:
        """Apply events ``base+1`` to ``n``, recomputing the derived numbers at
        every multiple of INTERVAL (kept as a checkpoint) and at ``n``."""
        memo, n = self.memo, self.n
        projection = ProgressProjection(sqlite_utils.Database(conn))
        for i in range(base, n):
            event = memo.events[i]
            projection.apply(event, event.originator_version)
            count = i + 1
            if count % INTERVAL == 0 and count < n:
                projection.flush()
                conn.commit()
                if count not in memo.checkpoints:
                    data = conn.serialize()
                    with memo.lock:
                        memo.keep_checkpoint(count, data)
        projection.flush()
        conn.commit()


def recorded_up_to(app, actor, learner_id: str, cutoff: datetime) -> View:
    """The learner's record as it stood at ``cutoff`` (an aware datetime), once
    the rule table lets ``actor`` read it: NotFound when nothing was recorded
    yet, Erased (or NotFound) as ``app.learner``."""
    store = memos(app)
    try:
        learner = app.learner(actor, learner_id)  # access: out of sight, erased
    except Erased:
        forget(app, learner_id)
        raise
    key = learner.id
    memo = store.get(key)
    try:
        with memo.lock:
            if memo.events and app.fingerprint(key, memo.events[-1].originator_version) != memo.link:
                stale = memo
            else:
                stale = None
        if stale is not None:  # the store no longer holds those events (a restored copy, say)
            memo = store.replace(stale)
        with memo.lock:
            n = bisect_right(memo.latest, cutoff)
            if n == len(memo.events):
                n = _read_on(app, memo, cutoff)
    except StreamErased:
        forget(app, key)
        raise
    store.trim()
    if n == 0:
        raise NotFound("learner as at that time")
    return View(memo, n)


def _read_on(app, memo: _Memo, cutoff: datetime) -> int:
    """Read and decode stored events after those kept, a page at a time, up to
    and including the first one recorded after ``cutoff`` (kept too: it was
    decoded); how many events were recorded up to ``cutoff``."""
    while True:
        after = memo.events[-1].originator_version if memo.events else 0
        page = app.recorder.select_events(memo.key, gt=after, limit=PAGE)
        for stored in page:
            event = app.mapper.to_domain_event(stored)
            memo.events.append(event)
            memo.json.append(None)
            memo.size += EVENT_BYTES
            memo.latest.append(max(memo.latest[-1], event.timestamp) if memo.latest else event.timestamp)
            if memo.latest[-1] > cutoff:
                break
        if page:
            memo.link = app.fingerprint(memo.key, memo.events[-1].originator_version)
        if len(page) < PAGE or memo.latest[-1] > cutoff:
            return bisect_right(memo.latest, cutoff)

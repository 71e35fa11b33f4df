"""Projections: the tables people read, built from events into a separate
SQLite file (rarpa.read.tables) with sqlite-utils.

``ProgressProjection`` applies one event to the read model, through the part
that owns its stage (rarpa.read.stages). ``Projector`` keeps the file caught up
with the event store by position: each batch of events is applied and the
position of the last one written in the same transaction, so a crash between
events neither skips nor repeats one.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any, Callable

import sqlite_utils

from rarpa.read.rows import Rows
from rarpa.read.stages import Stage
from rarpa.read.stages.derived import Derived
from rarpa.read.stages.ending import Ending
from rarpa.read.stages.evidence import Evidence
from rarpa.read.stages.family import Family
from rarpa.read.stages.people import People
from rarpa.read.stages.photos import Photos
from rarpa.read.stages.plan import Plan
from rarpa.read.stages.reviews import Reviews
from rarpa.read.tables import SHAPE, TABLES, connect, create_schema, mark_shape, shape_of
from rarpa.store import scrub
from rarpa.store.cipher import StreamErased

log = logging.getLogger("rarpa.read")

PROJECTION = "progress"
BATCH = 500


class ProgressProjection:
    """Applies one event to the read-model tables (no transaction handling);
    ``flush`` then recomputes the derived numbers of what changed."""

    STAGES: tuple[type[Stage], ...] = (People, Plan, Evidence, Photos, Family, Reviews, Ending)

    def __init__(self, db: sqlite_utils.Database):
        db = Rows(db)  # plain SQL for the rows it writes (rebuilds are mostly this)
        self.db = db
        self.derived = Derived(db)
        stages = [stage(db, self.derived) for stage in self.STAGES]
        self._appliers: dict[type, Callable | None] = {
            event_type: getattr(stage, name) for stage in stages for event_type, name in stage.APPLIES.items()
        }

    def apply(self, event: Any, seq: int) -> None:
        """Apply an event; one that changes nothing people read (e.g. an
        observation-id claim) is passed over."""
        applier = self._applier(type(event))
        if applier is not None:
            applier(event, seq)

    def _applier(self, event_type: type) -> Callable | None:
        if event_type not in self._appliers:  # a subclass: applied as its nearest known base
            base = next((b for b in event_type.__mro__ if self._appliers.get(b)), None)
            self._appliers[event_type] = self._appliers[base] if base else None
        return self._appliers[event_type]

    def flush(self) -> None:
        self.derived.flush()


class Projector:
    """Keeps a read-model file caught up with the event store, by position."""

    def __init__(self, path: str, app):
        self.path = path
        self.app = app
        self._lock = threading.Lock()
        self._conn = connect(path)
        scrub.mark_new_file(self._conn)
        self.db = sqlite_utils.Database(self._conn)
        older = shape_of(self._conn) < SHAPE
        create_schema(self.db)
        self._local = threading.local()
        if older and self.position() > 0:
            log.info("the read model %s is of an older shape: rebuilding it from the events", path)
            self.rebuild()
        mark_shape(self._conn)

    # Readers get a connection of their own per thread (SQLite connections are not shared).
    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def position(self, conn: sqlite3.Connection | None = None) -> int:
        row = (conn or self._conn).execute(
            "SELECT position FROM tracking WHERE name=?", [PROJECTION]
        ).fetchone()
        return row[0] if row else 0

    def _decode(self, notification):
        try:
            return self.app.mapper.to_domain_event(notification)
        except StreamErased:
            return None  # an erased learner's event: its content is gone by design

    def _apply_next_batch(self, projection: ProgressProjection, after: int) -> int:
        """Apply the events after a position, and the derived numbers they change;
        the caller owns the transaction. Returns how many there were."""
        batch = self.app.recorder.select_notifications(start=after + 1, limit=BATCH)
        for n in batch:
            event = self._decode(n)
            if event is not None:
                projection.apply(event, n.id)
        projection.flush()
        self._set_position(batch[-1].id if batch else after)
        return len(batch)

    def _set_position(self, position: int) -> None:
        self._conn.execute(
            "INSERT INTO tracking (name, position) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET position=excluded.position",
            [PROJECTION, position],
        )

    def catch_up(self, on_batch: Callable[[int], None] | None = None, until: int | None = None) -> int:
        """Apply every event not yet applied, a batch per transaction (rows and
        position together); returns the new position. With ``until``: return
        at once if another thread caught up that far while this one waited for
        its turn (many writers answered by one catch-up, not one each)."""
        with self._lock:
            if until is not None and (reached := self.position()) >= until:
                return reached
            projection = ProgressProjection(self.db)
            while True:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    count = self._apply_next_batch(projection, self.position())
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                if on_batch and count:
                    on_batch(count)
                if projection.derived.erased:
                    projection.derived.erased = False
                    self._scrub()
                if count < BATCH:
                    return self.position()

    def _scrub(self) -> None:
        """After an erasure is committed: nothing of the learner may stay in
        the file's free space or its WAL."""
        if not scrub.scrub(self._conn):
            raise RuntimeError("the read model's write-ahead log could not be cleared after an erasure: "
                               "another process kept it busy; run `rarpa erase` again to finish")

    def scrub(self) -> None:
        """Clear the read model's free space and WAL now (erasure's last step)."""
        with self._lock:
            self._scrub()

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Drop every row and replay from the first event, in one transaction:
        readers see the old tables until the new ones are complete."""
        with self._lock:
            projection = ProgressProjection(self.db)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for name in TABLES:
                    self._conn.execute(f"DELETE FROM [{name}]")
                self._set_position(0)
                while True:
                    count = self._apply_next_batch(projection, self.position())
                    if on_batch and count:
                        on_batch(count)
                    if count < BATCH:
                        break
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            # Every row was deleted and written again: clear what was deleted.
            self._scrub()
            return self.position()

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table in a fixed order (to compare two read models)."""
        out = {}
        for name, (_, pk) in TABLES.items():
            order = ", ".join(pk) if isinstance(pk, tuple) else pk
            out[name] = [tuple(r) for r in self._conn.execute(f"SELECT * FROM [{name}] ORDER BY {order}")]
        return out

    def close(self) -> None:
        self._conn.close()

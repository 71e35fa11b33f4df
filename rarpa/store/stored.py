"""The stored rows exactly as kept, read in one consistent snapshot, for
`rarpa verify` and `rarpa migrate-store`: the same questions asked of a SQLite
file or a PostgreSQL database. A row's position is its rowid on SQLite and
its notification id on PostgreSQL (the position the read model tracks).
On PostgreSQL the eventsourcing library names the tables after the
application: rarpa_events and rarpa_snapshots."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator

from rarpa.config import is_postgres

PHOTO_TOPIC = "events.learner:PhotoAttached"


class SQLiteStored:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _has(self, table: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", [table]).fetchone() is not None

    def events(self, order: str = "stream") -> Iterator[tuple]:
        """(position, stream id hex, version, topic, state, chain hash, log hash)."""
        by = "originator_id, originator_version" if order == "stream" else "rowid"
        yield from self.conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, CAST(state AS BLOB), "
            f"CAST(chain_hash AS BLOB), CAST(log_hash AS BLOB) FROM stored_events ORDER BY {by}")

    def head(self) -> tuple[int, bytes, bytes] | None:
        if not self._has("store_head"):
            return None
        row = self.conn.execute("SELECT position, CAST(log_hash AS BLOB), CAST(signature AS BLOB) FROM store_head "
                                "WHERE id=1").fetchone()
        return (row[0], bytes(row[1]), bytes(row[2])) if row else None

    def log_hash_at(self, position: int) -> bytes | None:
        row = self.conn.execute("SELECT CAST(log_hash AS BLOB) FROM stored_events WHERE rowid=?", [position]).fetchone()
        return bytes(row[0]) if row and row[0] is not None else (b"" if row else None)

    def after(self, position: int) -> tuple[int, tuple | None]:
        """How many events come after a position, and the first of them."""
        count = self.conn.execute("SELECT COUNT(*) FROM stored_events WHERE rowid>?", [position]).fetchone()[0]
        first = self.conn.execute("SELECT rowid, originator_id, originator_version FROM stored_events WHERE rowid>? "
                                  "ORDER BY rowid LIMIT 1", [position]).fetchone()
        return count, first

    def streams_with(self, *topics: str) -> set[str]:
        marks = ",".join("?" * len(topics))
        return {r[0] for r in self.conn.execute(
            f"SELECT DISTINCT originator_id FROM stored_events WHERE topic IN ({marks})", topics)}

    def kept_photos(self) -> list[tuple[str, str]]:
        if not self._has("photo_files"):
            return []
        return self.conn.execute("SELECT photo_id, learner_id FROM photo_files").fetchall()

    def snapshots(self) -> list[tuple]:
        if not self._has("stored_snapshots"):
            return []
        # CAST: a state rewritten as TEXT behind our back must still be read as bytes.
        return self.conn.execute(
            "SELECT originator_id, originator_version, topic, CAST(state AS BLOB) FROM stored_snapshots").fetchall()


class PostgresStored:
    def __init__(self, conn):
        self.conn = conn

    def _rows(self, sql: str, params=()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def _has(self, table: str) -> bool:
        return bool(self._rows("SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0])

    def events(self, order: str = "stream") -> Iterator[tuple]:
        by = "originator_id, originator_version" if order == "stream" else "notification_id"
        with self.conn.cursor(name=f"rarpa_events_{order}") as c:  # server-side: bounded memory
            c.itersize = 5000
            c.execute("SELECT notification_id, replace(originator_id::text, '-', ''), originator_version, topic, "
                      f"state, chain_hash, log_hash FROM rarpa_events ORDER BY {by}")
            for pos, oid, version, topic, state, chain, log in c:
                yield pos, oid, version, topic, bytes(state), _b(chain), _b(log)

    def head(self) -> tuple[int, bytes, bytes] | None:
        if not self._has("signed_head"):
            return None
        rows = self._rows("SELECT position, log_hash, signature FROM signed_head WHERE id=1")
        return (rows[0][0], bytes(rows[0][1]), bytes(rows[0][2])) if rows else None

    def log_hash_at(self, position: int) -> bytes | None:
        rows = self._rows("SELECT log_hash FROM rarpa_events WHERE notification_id=%s", (position,))
        return (_b(rows[0][0]) or b"") if rows else None

    def after(self, position: int) -> tuple[int, tuple | None]:
        count = self._rows("SELECT COUNT(*) FROM rarpa_events WHERE notification_id>%s", (position,))[0][0]
        first = self._rows("SELECT notification_id, replace(originator_id::text, '-', ''), originator_version "
                           "FROM rarpa_events WHERE notification_id>%s ORDER BY notification_id LIMIT 1", (position,))
        return count, (first[0] if first else None)

    def streams_with(self, *topics: str) -> set[str]:
        return {r[0].hex for r in self._rows(
            "SELECT DISTINCT originator_id FROM rarpa_events WHERE topic = ANY(%s)", (list(topics),))}

    def kept_photos(self) -> list[tuple[str, str]]:
        if not self._has("photo_files"):
            return []
        return self._rows("SELECT photo_id, learner_id FROM photo_files")

    def snapshots(self) -> list[tuple]:
        if not self._has("rarpa_snapshots"):
            return []
        return [(oid.hex, version, topic, bytes(state)) for oid, version, topic, state in
                self._rows("SELECT originator_id, originator_version, topic, state FROM rarpa_snapshots")]


def _b(value) -> bytes | None:
    return bytes(value) if value is not None else None


@contextmanager
def stored(db: str):
    """The store at one instant, read-only, even while the app goes on writing."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(db) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield PostgresStored(conn)
            conn.rollback()
        return
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # start the snapshot now
        yield SQLiteStored(conn)
    finally:
        conn.close()

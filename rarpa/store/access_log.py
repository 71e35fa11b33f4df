"""The access log: one entry each time anyone opens a learner's record
(a page, the evidence, the timeline, the pack, an export...), hash-chained
like the events so an altered or removed entry is found by `rarpa verify`.

Each entry's hash covers the one before it and every field of its own, so
changing any field of any entry, or taking one out of the middle, breaks the
chain at that entry. It lives in the vault's file (so it is backed up with
it) in a table of its own, written durably before the view is shown: if it
cannot be written, the caller refuses the view.

What the chain alone cannot show is the newest entries being cut off the
end; the README says so.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Iterator

import psycopg

GENESIS = b"\x00" * 32
COLUMNS = ("id", "at", "user_id", "role", "action", "learner_id", "address", "detail")


class AccessLogUnavailable(RuntimeError):
    """The entry could not be written, so the view must not be shown."""


def entry_hash(prev: bytes, row: tuple) -> bytes:
    body = json.dumps([str(v) if v is not None else None for v in row], ensure_ascii=False,
                      separators=(",", ":")).encode()
    return hashlib.sha256(b"rarpa-access\x1f" + prev + body).digest()


class AccessLog:
    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self._conn = conn
        self._lock = lock
        self._upgrade()

    def _upgrade(self) -> None:
        """A vault from before the chain: add its columns and chain the
        entries already there, once, in the order they were written."""
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(access_log)")}
        with self._lock:
            if "entry_hash" not in columns:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.execute("ALTER TABLE access_log ADD COLUMN address TEXT")
                    self._conn.execute("ALTER TABLE access_log ADD COLUMN entry_hash BLOB")
                    prev = GENESIS
                    rows = self._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM access_log ORDER BY id").fetchall()
                    for row in rows:
                        prev = entry_hash(prev, row)
                        self._conn.execute("UPDATE access_log SET entry_hash=? WHERE id=?", (prev, row[0]))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def append(self, *, user_id: str, role: str, action: str, learner_id: str | None,
               address: str = "", detail: str = "") -> int:
        """Write one entry, durably; raise AccessLogUnavailable if it cannot be."""
        at = datetime.now(timezone.utc).isoformat()
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    last = self._conn.execute(
                        "SELECT id, entry_hash FROM access_log ORDER BY id DESC LIMIT 1").fetchone()
                    row = ((last[0] + 1) if last else 1, at, user_id, role, action, learner_id, address, detail)
                    link = entry_hash(bytes(last[1]) if last and last[1] is not None else GENESIS, row)
                    self._conn.execute(
                        f"INSERT INTO access_log ({', '.join(COLUMNS)}, entry_hash) VALUES (?,?,?,?,?,?,?,?,?)",
                        (*row, link))
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, psycopg.Error) as e:
                raise AccessLogUnavailable(f"the access log could not be written ({e})") from e
        return row[0]

    def entries(self, learner_id: str | None = None) -> list[dict]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM access_log"
        args: tuple = ()
        if learner_id:
            sql += " WHERE learner_id=?"
            args = (learner_id,)
        return [dict(zip(COLUMNS, r)) for r in self._conn.execute(sql + " ORDER BY id", args)]


def walk(conn: sqlite3.Connection) -> Iterator[tuple[int, bool, str]]:
    """Each entry with whether its link is right: (id, ok, what is wrong)."""
    prev = GENESIS
    expected_id = None
    for *row, stored in conn.execute(f"SELECT {', '.join(COLUMNS)}, entry_hash FROM access_log ORDER BY id"):
        entry_id = row[0]
        if stored is None:
            yield entry_id, False, "has no link (written around the application)"
            prev = GENESIS
            continue
        link = entry_hash(prev, tuple(row))
        if bytes(stored) != link:
            gap = expected_id is not None and entry_id != expected_id
            yield entry_id, False, ("does not follow the entry before it: an entry was removed"
                                    if gap else "was altered after it was written")
        else:
            yield entry_id, True, ""
        prev = bytes(stored)
        expected_id = entry_id + 1

"""Deleting in SQLite so that what was deleted cannot be read back.

SQLite leaves a deleted row's bytes where they were (in the page's free space
or on a free page) and keeps older copies of every changed page in the
write-ahead log until a checkpoint copies them back, and even then the -wal
file keeps its old frames until it is truncated. So the files that can hold a
learner's personal data (the vault, the read model) are written with
``secure_delete`` on, which overwrites what is deleted with zeros, and after
an erasure their WAL is checkpointed and truncated. A file written before
``secure_delete`` was on may still hold old copies in free space: it is
vacuumed (rewritten from its live rows) once, the first time it matters.
"""

from __future__ import annotations

import sqlite3
import time

MARK_TABLE = "scrub_state"


def secure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA secure_delete=ON")


def mark_new_file(conn: sqlite3.Connection) -> None:
    """Called when a file is opened: a file with no tables yet has only ever
    been written with secure_delete on, so it needs no vacuum later."""
    fresh = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name != ?", [MARK_TABLE]).fetchone()[0] == 0
    conn.execute(f"CREATE TABLE IF NOT EXISTS {MARK_TABLE} (id INTEGER PRIMARY KEY CHECK (id=1), clean_since TEXT)")
    if fresh:
        conn.execute(f"INSERT OR IGNORE INTO {MARK_TABLE} (id, clean_since) VALUES (1, 'created')")


def is_clean(conn: sqlite3.Connection) -> bool:
    """Whether every deletion this file has seen overwrote what it deleted."""
    row = conn.execute(f"SELECT clean_since FROM {MARK_TABLE} WHERE id=1").fetchone()
    return bool(row and row[0])


def mark_clean(conn: sqlite3.Connection, why: str) -> None:
    conn.execute(f"INSERT OR REPLACE INTO {MARK_TABLE} (id, clean_since) VALUES (1, ?)", [why])


def truncate_wal(conn: sqlite3.Connection, wait_seconds: float = 15.0) -> bool:
    """Copy the WAL into the database file and truncate it to nothing. A
    reader in the middle of a query holds old frames; wait for it (bounded)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy == 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def scrub(conn: sqlite3.Connection, wait_seconds: float = 15.0) -> bool:
    """After deleting personal data (with secure_delete on): vacuum a file
    that may hold copies from before secure_delete, then clear the WAL.
    Returns False if another process kept the WAL from being cleared."""
    if not is_clean(conn):
        conn.execute("VACUUM")
        mark_clean(conn, "vacuumed")
    return truncate_wal(conn, wait_seconds)

"""The event store's tables opened directly, as an attacker or a broken disk
would, on whichever store the run uses (--store). Tests write SQLite's SQL;
on PostgreSQL it is said in PostgreSQL's words and names:

    stored_events -> rarpa_events, stored_snapshots -> rarpa_snapshots,
    store_head -> signed_head, rowid -> notification_id, ? -> %s

A stream id comes back as its 32 hex digits on both, as SQLite keeps it."""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import contextmanager

NAMES = {"stored_events": "rarpa_events", "stored_snapshots": "rarpa_snapshots", "store_head": "signed_head",
         "rowid": "notification_id"}


def _pg_sql(sql: str) -> str:
    out = sql.replace("%", "%%").replace("?", "%s")
    for sqlite_name, pg_name in NAMES.items():
        out = re.sub(rf"\b{sqlite_name}\b", pg_name, out)
    return out


class _Rows:
    def __init__(self, cursor):
        self._rows = [tuple(v.hex if isinstance(v, uuid.UUID) else v for v in row) for row in cursor.fetchall()] \
            if cursor.description else []
        self.rowcount = cursor.rowcount

    def fetchone(self):
        return self._rows[0] if self._rows else None

    def fetchall(self):
        return list(self._rows)

    def __iter__(self):
        return iter(self._rows)


class PgRaw:
    def __init__(self, url: str, autocommit: bool = False):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=autocommit)

    def execute(self, sql: str, params=()):
        match = re.match(r"\s*PRAGMA\s+table_info\((\w+)\)", sql, re.I)
        if match:
            table = NAMES.get(match.group(1), match.group(1))
            return _Rows(self.conn.execute(
                "SELECT ordinal_position, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position", (table,)))
        return _Rows(self.conn.execute(_pg_sql(sql), tuple(params)))

    def commit(self) -> None:
        self.conn.commit()

    def __enter__(self):  # as sqlite3's: commit (or roll back) at the end of the block, stay open
        return self

    def __exit__(self, kind, *_):
        if kind is None:
            self.conn.commit()
        else:
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def raw(app_or_settings):
    """A connection to the event store (an app's, or the one settings name), outside the application."""
    settings = getattr(app_or_settings, "settings", app_or_settings)
    if settings.on_postgres:
        return PgRaw(settings.db)
    return sqlite3.connect(settings.db)


def raw_vault(settings, autocommit: bool = False):
    """A connection to the vault, outside the application (autocommit: every
    statement committed as it runs)."""
    if settings.on_postgres:
        return PgRaw(settings.vault, autocommit)
    return sqlite3.connect(settings.vault, **({"isolation_level": None} if autocommit else {}))


@contextmanager
def refusing_access_log(settings, message: str = "disk full"):
    """While inside, every new access-log entry is refused by the database
    itself (a trigger), as a full disk would refuse it."""
    conn = raw_vault(settings, autocommit=True)
    if settings.on_postgres:
        conn.execute("CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS "
                     f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$")
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION refuse_entry()")
    else:
        conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON access_log BEGIN SELECT RAISE(ABORT, '{message}'); END")
    try:
        yield
    finally:
        conn.execute("DROP TRIGGER refuse ON access_log" if settings.on_postgres else "DROP TRIGGER refuse")
        if settings.on_postgres:
            conn.execute("DROP FUNCTION refuse_entry()")
        conn.close()

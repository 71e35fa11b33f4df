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
    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url)

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

    def close(self) -> None:
        self.conn.close()


def raw(app):
    """A connection to the app's event store, outside the application."""
    if app.settings.on_postgres:
        return PgRaw(app.settings.db)
    return sqlite3.connect(app.settings.db)


def raw_vault(settings):
    """A connection to the vault, outside the application."""
    if settings.on_postgres:
        return PgRaw(settings.vault)
    return sqlite3.connect(settings.vault)

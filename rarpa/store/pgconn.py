"""The vault and the photo store speak a few dozen short SQL statements in
SQLite's words. On PostgreSQL they run through this connection, which says
the same things in PostgreSQL's words, so each statement is written once:

- ``?`` placeholders become ``%s``; ``INSERT OR IGNORE`` becomes
  ``ON CONFLICT DO NOTHING``; ``BLOB`` becomes ``bytea``;
- ``BEGIN IMMEDIATE`` (SQLite: take the file's write lock now) becomes BEGIN
  plus a transaction-scoped advisory lock, so writers of the vault on every
  node take turns as writers of one file do;
- ``PRAGMA table_info(t)`` asks the catalogue; the other PRAGMAs (journal,
  sync and secure-delete settings of a file) have no meaning here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import psycopg
import psycopg.sql

_VAULT_LOCK = 0x7261727061  # "rarpa": the advisory lock that stands for SQLite's write lock


class _NoRows:
    rowcount = 0
    lastrowid = None

    def fetchone(self):
        return None

    def fetchall(self):
        return []

    def __iter__(self):
        return iter(())


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    out = sql.replace("%", "%%").replace("?", "%s")
    out = re.sub(r"\bBLOB\b", "bytea", out)
    if re.match(r"\s*INSERT OR IGNORE INTO", out, re.I):
        out = re.sub(r"INSERT OR IGNORE INTO", "INSERT INTO", out, count=1, flags=re.I) + " ON CONFLICT DO NOTHING"
    if re.match(r"\s*INSERT OR REPLACE INTO", out, re.I):
        raise ValueError("INSERT OR REPLACE has no PostgreSQL form here: write ON CONFLICT ... DO UPDATE")
    return out


class PgConnection:
    """A psycopg connection (autocommit, like the vault's SQLite connection
    with isolation_level=None) that runs SQLite-worded statements."""

    dialect = "postgresql"

    def __init__(self, url: str):
        from rarpa.store.postgres import schema_of

        self.url = url
        self._conn = psycopg.connect(url, autocommit=True)
        # The vault may be opened before the event store makes the record's schema.
        self._conn.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            psycopg.sql.Identifier(schema_of(url))))

    def execute(self, sql: str, params=()):
        head = sql.lstrip()[:20].upper()
        if head.startswith("PRAGMA"):
            return self._pragma(sql)
        if head.startswith("BEGIN"):
            self._conn.execute("BEGIN")
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_VAULT_LOCK,))
            return _NoRows()
        return self._conn.execute(translate(sql), tuple(params))

    def executescript(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                self.execute(statement)

    def _pragma(self, sql: str):
        match = re.match(r"\s*PRAGMA\s+table_info\((\w+)\)", sql, re.I)
        if match:
            return self._conn.execute(
                "SELECT ordinal_position, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                (match.group(1),))
        return _NoRows()

    def vacuum_full(self, *tables: str) -> None:
        """Rewrite tables from their live rows, so a destroyed key or a deleted
        photo is no longer in them (see README, Erasure on PostgreSQL)."""
        for table in tables:
            self._conn.execute(psycopg.sql.SQL("VACUUM FULL {}").format(psycopg.sql.Identifier(table)))
        try:  # the WAL segments holding the old rows are recycled sooner after a checkpoint
            self._conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass

    def close(self) -> None:
        self._conn.close()

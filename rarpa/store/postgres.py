"""The PostgreSQL recorder: the same record as on SQLite (rarpa.store.sqlite),
for a local authority or a group of colleges that has outgrown one machine.

Every event carries the same two links (``chain_hash`` to the event before it
in its stream, ``log_hash`` to the one recorded before it in the whole
store), computed by the same functions, and every transaction signs the new
head. Writers on every node take the table's EXCLUSIVE lock first (as the
eventsourcing library does, so notification ids are committed in order and
a node reading the log never passes a gap that is filled later); holding it,
a writer reads the previous links, writes its rows and signs. Readers are
never blocked. Each commit NOTIFYs the channel the other nodes listen on.
"""

from __future__ import annotations

import re
from typing import Any, Sequence
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from rarpa.store.group import GroupCommit, SignedHead
from rarpa.store.sqlite import GENESIS, head_message, link_hash, log_link


def schema_of(url: str) -> str:
    """The schema the record lives in: ``public``, or the search_path the URL
    names (``?options=-csearch_path%3Dnorthfield``), so several installations
    can share one database, each in its own schema."""
    from psycopg.conninfo import conninfo_to_dict

    options = str(conninfo_to_dict(url).get("options") or "")
    match = re.search(r"search_path\s*=\s*([A-Za-z_][A-Za-z0-9_]*)", options)
    return match.group(1) if match else "public"


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Stop with one readable line when the server cannot be reached (rather
    than a pool retrying, then a traceback). The vault's connection, opened
    next, makes the record's schema if it is new (rarpa.store.pgconn)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout))).close()
    except psycopg.OperationalError as e:
        parts = conninfo_to_dict(url)
        where = f"{parts.get('host') or '127.0.0.1'}:{parts.get('port') or 5432}"
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        reason = first.rsplit("failed: ", 1)[-1].strip()  # "Connection refused", "password authentication..."
        raise SystemExit(f"RARPA_DB: cannot reach PostgreSQL at {where} ({reason})") from None


def environment(url: str, *, pool_size: int = 2, overflow: int = 40) -> dict[str, str]:
    """The eventsourcing library's settings for a postgresql:// URL."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parts.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(parts.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(parts.get("port") or "5432"),
        "POSTGRES_USER": str(parts.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
        # Two connections kept open; more opened as concurrent requests need them.
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(overflow),
        "POSTGRES_SCHEMA": schema_of(url),
        "POSTGRES_LOCK_TIMEOUT": "30",
        # A connection idle inside a transaction this long is ended by the
        # server: a crashed node never keeps the table locked.
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "rarpa.store.postgres:ChainedPostgresRecorder",
    }


class ChainedPostgresRecorder(GroupCommit, PostgresApplicationRecorder):
    def __init__(self, datastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(self.datastore.schema), Identifier(self.events_table_name)
        self.sql_create_statements[self.create_table_statement_index] = SQL(
            "CREATE TABLE IF NOT EXISTS {}.{} ("
            "originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text, "
            "state bytea, "
            "notification_id bigserial, "
            "chain_hash bytea NOT NULL, "
            "log_hash bytea NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        ).format(*table)
        # (named apart from the vault's store_head, which is in the same database)
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {}.signed_head ("
            "id integer PRIMARY KEY CHECK (id = 1), "
            "position bigint NOT NULL, "
            "log_hash bytea NOT NULL, "
            "signature bytea NOT NULL, "
            "signed_at timestamptz NOT NULL)"
        ).format(Identifier(self.datastore.schema)))
        self._table = SQL("{}.{}").format(*table)
        self._qualified = f"{self.datastore.schema}.{self.events_table_name}"  # for pg_get_serial_sequence
        self._head_table = SQL("{}.signed_head").format(Identifier(self.datastore.schema))
        self._start_group()
        self.signing_key: Ed25519PrivateKey | None = None

    def attach_signer(self, key: Ed25519PrivateKey, on_signed=None) -> None:
        self.signing_key = key
        self.on_signed = on_signed

    # --- writing ----------------------------------------------------------------
    def _write_batch(self, lists: list[Sequence[StoredEvent]]) -> tuple[list[list[int]], SignedHead | None]:
        if self.signing_key is None:
            raise RuntimeError("the recorder has no signing key: open the store through RecordApplication")
        events = [e for events in lists for e in events]
        with self.datastore.get_connection() as conn, conn.pipeline() as pipeline, conn.transaction(), \
                conn.cursor() as c:
            # Two round trips: (lock, previous links, last log link, positions) then
            # (rows, signed head, notify; commit).
            self._lock_table(c)
            wanted = self._wanted_links(events)
            c.execute(SQL(
                "SELECT originator_id, originator_version, chain_hash FROM {t} WHERE (originator_id, originator_version) "
                "IN (SELECT * FROM unnest(%s::uuid[], %s::bigint[])) "
                "UNION ALL (SELECT NULL, -1, log_hash FROM {t} ORDER BY notification_id DESC LIMIT 1) "
                "UNION ALL SELECT NULL, -2, int8send(nextval(pg_get_serial_sequence(%s, 'notification_id'))) "
                "FROM generate_series(1, %s)").format(t=self._table),
                (list(wanted), list(wanted.values()), self._qualified, len(events)))
            prev: dict[tuple[UUID, int], bytes] = {}
            log, positions = GENESIS, []
            for r in c.fetchall():
                if r["originator_version"] == -1:
                    log = bytes(r["chain_hash"])
                elif r["originator_version"] == -2:
                    positions.append(int.from_bytes(bytes(r["chain_hash"]), "big"))
                else:
                    prev[(r["originator_id"], r["originator_version"])] = bytes(r["chain_hash"])
            positions.sort()  # one sequence, the table locked: consecutive, in the order given out
            ids_, versions, topics, states, chains, logs = [], [], [], [], [], []
            for e in events:
                oid = e.originator_id if isinstance(e.originator_id, UUID) else UUID(str(e.originator_id))
                before = prev.get((oid, e.originator_version - 1))
                if before is None:
                    if e.originator_version != 1:  # the event before it is missing (as NOT NULL fails on SQLite)
                        raise IntegrityError(f"event {e.originator_version - 1} of {oid} is not stored")
                    before = GENESIS
                chain = link_hash(before, oid.hex, e.originator_version, e.topic, e.state)
                prev[(oid, e.originator_version)] = chain
                log = log_link(log, chain)
                ids_.append(oid), versions.append(e.originator_version), topics.append(e.topic)
                states.append(e.state), chains.append(chain), logs.append(log)
            c.execute(SQL(
                "INSERT INTO {} (notification_id, originator_id, originator_version, topic, state, chain_hash, "
                "log_hash) SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::text[], %s::bytea[], "
                "%s::bytea[], %s::bytea[])").format(self._table),
                (positions, ids_, versions, topics, states, chains, logs))
            head = self._sign(c, positions[-1], log) if positions else None
            self._notify_channel(c)
            pipeline.sync()  # a clash (the same stream and version) is raised here, inside the transaction
        results, k = [], 0
        for events in lists:
            results.append(positions[k:k + len(events)])
            k += len(events)
        return results, head

    @staticmethod
    def _wanted_links(events: Sequence[StoredEvent]) -> dict[UUID, int]:
        """The version before each stream's first new event (whose stored link the next one follows)."""
        wanted: dict[UUID, int] = {}
        for e in events:
            oid = e.originator_id if isinstance(e.originator_id, UUID) else UUID(str(e.originator_id))
            if e.originator_version > 1:
                wanted.setdefault(oid, e.originator_version - 1)
        return wanted

    def _sign(self, c, position: int, log: bytes) -> SignedHead:
        assert self.signing_key is not None
        head = SignedHead(position, log, self.signing_key.sign(head_message(position, log)))
        c.execute(SQL(
            "INSERT INTO {} (id, position, log_hash, signature, signed_at) VALUES (1, %s, %s, %s, now()) "
            "ON CONFLICT (id) DO UPDATE SET position=excluded.position, log_hash=excluded.log_hash, "
            "signature=excluded.signature, signed_at=excluded.signed_at").format(self._head_table),
            (head.position, head.log_hash, head.signature))
        return head

    # --- reading ----------------------------------------------------------------
    def _one(self, statement, params=()) -> Any:
        with self.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(statement, params)
            return c.fetchone()

    def signed_head(self) -> SignedHead | None:
        row = self._one(SQL("SELECT position, log_hash, signature FROM {} WHERE id=1").format(self._head_table))
        return SignedHead(row["position"], bytes(row["log_hash"]), bytes(row["signature"])) if row else None

    def link_of(self, originator_id: UUID, version: int) -> bytes | None:
        row = self._one(SQL("SELECT chain_hash FROM {} WHERE originator_id=%s AND originator_version=%s")
                        .format(self._table), (originator_id, version))
        return bytes(row["chain_hash"]) if row else None

    def links_of(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        with self.datastore.get_connection() as conn, conn.cursor() as c:
            c.execute(SQL("SELECT originator_version, chain_hash FROM {} WHERE originator_id=%s "
                          "ORDER BY originator_version").format(self._table), (originator_id,))
            return [(r["originator_version"], bytes(r["chain_hash"])) for r in c.fetchall()]

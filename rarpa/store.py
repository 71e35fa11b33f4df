"""Adapters that shape how events are stored, plugged into the eventsourcing
library: a mapper that encrypts each stream with its own key, and an SQLite
recorder that chains every event's hash to the one before it in its stream and
commits concurrent writers together (group commit)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from dataclasses import replace
from typing import Any, Sequence
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from rarpa.vault import Vault

CLEAR = b"\x00"
SEALED = b"\x01"
GENESIS = bytes(32)


class StreamErased(MapperDeserialisationError):
    """The stream's key was destroyed: its personal events can no longer be read."""

    def __init__(self, stream_id: str):
        super().__init__(f"stream {stream_id} was erased")
        self.stream_id = stream_id


class PerStreamCipherMapper(Mapper):
    """Encrypts the state of personal events (and snapshots) with AES-GCM under a
    key belonging to the event's own stream. Stream id, position and topic are
    bound in as associated data, so a sealed state cannot be moved to another row.
    """

    vault: Vault  # set by the application after construction

    @staticmethod
    def _aad(originator_id: Any, version: int, topic: str) -> bytes:
        return f"{originator_id}:{version}:{topic}".encode()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if not getattr(type(domain_event), "personal", True):
            return replace(stored, state=CLEAR + stored.state)
        key = self.vault.key_for(str(stored.originator_id), create=True)
        nonce = os.urandom(12)
        aad = self._aad(stored.originator_id, stored.originator_version, stored.topic)
        sealed = AESGCM(key).encrypt(nonce, stored.state, aad)
        return replace(stored, state=SEALED + nonce + sealed)

    def open_state(self, stored: StoredEvent) -> bytes:
        state = stored.state
        if state[:1] == CLEAR:
            return state[1:]
        if state[:1] != SEALED:
            raise MapperDeserialisationError(
                f"event {stored.originator_id}@{stored.originator_version} has an unknown state format"
            )
        key = self.vault.key_for(str(stored.originator_id), create=False)
        if key is None:
            raise StreamErased(str(stored.originator_id))
        aad = self._aad(stored.originator_id, stored.originator_version, stored.topic)
        try:
            return AESGCM(key).decrypt(state[1:13], state[13:], aad)
        except Exception as e:  # InvalidTag: altered bytes or the wrong key
            raise MapperDeserialisationError(
                f"event {stored.originator_id}@{stored.originator_version} failed its integrity check"
            ) from e

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return super().to_domain_event(replace(stored_event, state=self.open_state(stored_event)))


def link_hash(prev: bytes, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """One link of a stream's chain: covers the stored bytes exactly as kept,
    so it still verifies after a learner's key has been destroyed."""
    h = hashlib.sha256(prev)
    h.update(f"\x1f{originator_id}\x1f{version}\x1f{topic}\x1f".encode())
    h.update(state)
    return h.digest()


def _sql_link_hash(prev, originator_id, version, topic, state):
    if prev is None:
        if version != 1:
            return None  # NOT NULL fails: the previous event is missing
        prev = GENESIS
    return link_hash(bytes(prev), originator_id, version, topic, bytes(state))


class _Pending:
    __slots__ = ("events", "ids", "error", "done")

    def __init__(self, events: Sequence[StoredEvent]):
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.done = False


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """Stored events with a ``chain_hash`` column. The hash is computed inside
    the INSERT itself (an SQL function reading the previous link), so the first
    statement of a write takes the write lock and no other writer can slip
    between reading the previous link and writing the next."""

    group_commit = True

    def __init__(self, datastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        t = self.events_table_name
        self.insert_events_statement = (
            f"INSERT INTO {t} (originator_id, originator_version, topic, state, chain_hash) "
            f"SELECT ?1, ?2, ?3, ?4, rarpa_link("
            f"(SELECT chain_hash FROM {t} WHERE originator_id=?1 AND originator_version=?2-1),"
            f" ?1, ?2, ?3, ?4)"
        )
        self._cv = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "originator_id TEXT, "
            "originator_version INTEGER, "
            "topic TEXT, "
            "state BLOB, "
            "chain_hash BLOB NOT NULL, "
            "PRIMARY KEY (originator_id, originator_version))"
        ]

    def link_of(self, originator_id: UUID, version: int) -> bytes | None:
        """The chain hash stored for one event (the head, for a fingerprint)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT chain_hash FROM {self.events_table_name} "
                "WHERE originator_id=? AND originator_version=?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
        return bytes(row[0]) if row else None

    @staticmethod
    def _prepare(c: SQLiteCursor) -> None:
        # Registered on every write: the pool may hand out a new connection, and
        # registering costs a microsecond or two.
        c.sqlite_cursor.connection.create_function("rarpa_link", 5, _sql_link_hash, deterministic=True)

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any):
        self._prepare(c)
        ids = []
        for s in stored_events:
            oid = s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id
            c.execute(self.insert_events_statement, (oid, s.originator_version, s.topic, s.state))
            ids.append(c.lastrowid)
        return ids

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any):
        if not self.group_commit or kwargs.get("tracking") is not None:
            return super().insert_events(stored_events, **kwargs)
        # Leader/follower group commit: whoever finds no commit under way takes
        # everything queued and writes it in one transaction (one fsync); the
        # others wait for their result.
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
            with self.datastore.transaction(commit=True) as c:
                results = [self._insert_events(c, p.events) for p in batch]
        except IntegrityError:
            if len(batch) == 1:
                batch[0].error = IntegrityError("conflict")
                batch[0].done = True
                return
            # One writer clashed: commit each alone so only the clash fails.
            for p in batch:
                try:
                    with self.datastore.transaction(commit=True) as c:
                        p.ids = self._insert_events(c, p.events)
                except Exception as e:
                    p.error = e
                p.done = True
            return
        except BaseException as e:
            for p in batch:
                p.error, p.done = e, True
            return
        for p, ids in zip(batch, results):
            p.ids, p.done = ids, True


def walk_chains(db_path: str):
    """Yield every stored event in stream order with its recomputed link:
    (originator_id, version, rowid, ok, reason)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, CAST(state AS BLOB), "
            "CAST(chain_hash AS BLOB) "
            "FROM stored_events ORDER BY originator_id, originator_version"
        )
        current, prev, expected_version = None, GENESIS, 1
        for rowid, oid, version, topic, state, stored_hash in rows:
            if oid != current:
                current, prev, expected_version = oid, GENESIS, 1
            if version != expected_version:
                yield oid, version, rowid, False, f"event {expected_version} of the stream is missing"
                prev, expected_version = stored_hash, version + 1
                continue
            computed = link_hash(prev, oid, version, topic, bytes(state))
            if stored_hash is None or bytes(stored_hash) != computed:
                yield oid, version, rowid, False, "its hash does not match its contents and the link before it"
            else:
                yield oid, version, rowid, True, ""
            # Go on from the stored link, so only the altered events are named.
            prev, expected_version = bytes(stored_hash) if stored_hash else computed, version + 1
    finally:
        conn.close()

"""The SQLite recorder plugged into the eventsourcing library: it chains
every event's hash to the one before it in its stream and to the one recorded
before it in the whole store, signs the store's head in the same transaction,
and commits concurrent writers together (group commit). Also the read-only
walks over the stored chains that `rarpa verify` makes."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from rarpa.store.group import GroupCommit, SignedHead

GENESIS = bytes(32)


def link_hash(prev: bytes, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """One link of a stream's chain: covers the stored bytes exactly as kept,
    so it still verifies after a learner's key has been destroyed."""
    h = hashlib.sha256(prev)
    h.update(f"\x1f{originator_id}\x1f{version}\x1f{topic}\x1f".encode())
    h.update(state)
    return h.digest()


def log_link(prev_log: bytes, chain_hash: bytes) -> bytes:
    """One link of the store-wide chain, over every event in recorded order:
    removing an event that ends its own stream still breaks this chain at
    the next event recorded anywhere in the store."""
    return hashlib.sha256(b"rarpa-log\x1f" + prev_log + chain_hash).digest()


def head_message(position: int, log_hash: bytes) -> bytes:
    """What the application signs: the store's last position and its log link."""
    return f"rarpa-store-head/1\x1f{position}\x1f".encode() + log_hash


def _sql_link_hash(prev, originator_id, version, topic, state):
    if prev is None:
        if version != 1:
            return None  # NOT NULL fails: the previous event is missing
        prev = GENESIS
    return link_hash(bytes(prev), originator_id, version, topic, bytes(state))


def _sql_log_link(prev_log, chain_hash):
    if chain_hash is None:
        return None
    return log_link(bytes(prev_log) if prev_log is not None else GENESIS, bytes(chain_hash))


class ChainedSQLiteRecorder(GroupCommit, SQLiteApplicationRecorder):
    """Stored events with two hashes: ``chain_hash`` links each event to the
    one before it in its stream, ``log_hash`` links it to the one recorded
    before it in the whole store. Both are computed inside the INSERT itself
    (SQL functions reading the previous links), so the first statement of a
    write takes the write lock and no other writer can slip between reading
    a link and writing the next. Every transaction ends by signing the new
    head (last position and its log link) with the vault's Ed25519 key, so
    only the application can extend the record: an event appended or
    removed at the end by anyone else no longer matches a signed head."""

    group_commit = True

    def __init__(self, datastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)
        t = self.events_table_name
        self.insert_events_statement = (
            f"WITH new(link) AS (SELECT rarpa_link("
            f"(SELECT chain_hash FROM {t} WHERE originator_id=?1 AND originator_version=?2-1),"
            f" ?1, ?2, ?3, ?4)) "
            f"INSERT INTO {t} (originator_id, originator_version, topic, state, chain_hash, log_hash) "
            f"SELECT ?1, ?2, ?3, ?4, link, "
            f"rarpa_log((SELECT log_hash FROM {t} ORDER BY rowid DESC LIMIT 1), link) FROM new"
        )
        self._start_group()
        self.signing_key: Ed25519PrivateKey | None = None  # set by attach_signer
        self._ids: dict[str, UUID] = {}

    def convert_originator_id(self, originator_id: str):
        """The library makes a UUID anew for every row it reads (a tenth of a
        rebuild): each stream's is made once here and kept."""
        found = self._ids.get(originator_id)
        if found is None:
            found = super().convert_originator_id(originator_id)
            if len(self._ids) < 200_000:  # bounded: a county's learners and staff
                self._ids[originator_id] = found
        return found

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "originator_id TEXT, "
            "originator_version INTEGER, "
            "topic TEXT, "
            "state BLOB, "
            "chain_hash BLOB NOT NULL, "
            "log_hash BLOB, "
            "PRIMARY KEY (originator_id, originator_version))",
            "CREATE TABLE IF NOT EXISTS store_head ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), "
            "position INTEGER NOT NULL, "
            "log_hash BLOB NOT NULL, "
            "signature BLOB NOT NULL, "
            "signed_at TEXT NOT NULL)",
        ]

    def attach_signer(self, key: Ed25519PrivateKey, on_signed=None) -> None:
        """Give the recorder the application's signing key. A store written
        before the store-wide chain existed gets it now, once: its old events
        are linked in recorded order and the head signed. (What happened to
        such a store before this upgrade is vouched for by the stream chains
        alone.)"""
        self.signing_key = key
        self.on_signed = on_signed
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"PRAGMA table_info({self.events_table_name})")
            columns = {row[1] for row in c.fetchall()}
        if "log_hash" not in columns:
            self._upgrade_to_store_chain()

    def _upgrade_to_store_chain(self) -> None:
        t = self.events_table_name
        head = None
        with self.datastore.transaction(commit=True) as c:
            try:  # the first statement takes the write lock
                c.execute(f"ALTER TABLE {t} ADD COLUMN log_hash BLOB")
            except Exception as e:  # another process upgraded it first
                if "duplicate column" in str(e):
                    return
                raise
            c.execute(f"SELECT rowid, chain_hash FROM {t} ORDER BY rowid")
            prev, links = GENESIS, []
            for rowid, chain_hash in c.fetchall():
                prev = log_link(prev, bytes(chain_hash))
                links.append((prev, rowid))
            c.executemany(f"UPDATE {t} SET log_hash=? WHERE rowid=?", links)
            head = self._sign_head(c)
        self._announce(head)

    def signed_head(self) -> SignedHead | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT position, log_hash, signature FROM store_head WHERE id=1")
            row = c.fetchone()
        return SignedHead(row[0], bytes(row[1]), bytes(row[2])) if row else None

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

    def links_of(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        """Every link of one stream's chain, oldest first: (version, chain hash)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, chain_hash FROM {self.events_table_name} "
                "WHERE originator_id=? ORDER BY originator_version",
                (originator_id.hex,),
            )
            return [(row[0], bytes(row[1])) for row in c.fetchall()]

    @staticmethod
    def _prepare(c: SQLiteCursor) -> None:
        # Registered on every write: the pool may hand out a new connection, and
        # registering costs a microsecond or two.
        conn = c.sqlite_cursor.connection
        conn.create_function("rarpa_link", 5, _sql_link_hash, deterministic=True)
        conn.create_function("rarpa_log", 2, _sql_log_link, deterministic=True)

    def _insert_rows(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        self._prepare(c)
        ids = []
        for s in stored_events:
            oid = s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id
            c.execute(self.insert_events_statement, (oid, s.originator_version, s.topic, s.state))
            ids.append(c.lastrowid)
        return ids

    def _sign_head(self, c: SQLiteCursor) -> SignedHead | None:
        """Sign the store's new head, inside the transaction that made it."""
        if self.signing_key is None:
            raise RuntimeError("the recorder has no signing key: open the store through RecordApplication")
        c.execute(f"SELECT rowid, log_hash FROM {self.events_table_name} ORDER BY rowid DESC LIMIT 1")
        row = c.fetchone()
        if row is None:
            return None
        position, log = row[0], bytes(row[1])
        head = SignedHead(position, log, self.signing_key.sign(head_message(position, log)))
        c.execute(
            "INSERT INTO store_head (id, position, log_hash, signature, signed_at) VALUES (1, ?, ?, ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) ON CONFLICT(id) DO UPDATE SET position=excluded.position, "
            "log_hash=excluded.log_hash, signature=excluded.signature, signed_at=excluded.signed_at",
            (head.position, head.log_hash, head.signature),
        )
        return head

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any):
        # Any other path into the library's transaction signs its head too.
        ids = self._insert_rows(c, stored_events)
        self._sign_head(c)
        return ids

    def _write_batch(self, lists):
        with self.datastore.transaction(commit=True) as c:
            results = [self._insert_rows(c, events) for events in lists]
            head = self._sign_head(c)
        return results, head


def walk_chains(rows):
    """Yield every stored event in stream order with its recomputed link:
    (originator_id, version, position, ok, reason). ``rows`` are
    rarpa.store.stored's events(order="stream")."""
    current, prev, expected_version = None, GENESIS, 1
    for rowid, oid, version, topic, state, stored_hash, _ in rows:
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


def walk_log(rows):
    """Yield (position, originator_id, version, ok, log link) for every event in
    recorded order (rows: events(order="recorded")), checking each one's link
    in the store-wide chain."""
    prev = GENESIS
    for rowid, oid, version, _, _, chain_hash, stored_log in rows:
        ok = stored_log is not None and chain_hash is not None and bytes(stored_log) == log_link(prev, bytes(chain_hash))
        yield rowid, oid, version, ok, (bytes(stored_log) if stored_log is not None else None)
        # Go on from the stored link, so one removal is named once.
        prev = bytes(stored_log) if stored_log is not None else prev

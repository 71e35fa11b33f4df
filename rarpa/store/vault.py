"""The vault: secrets kept apart from the events.

- a data key per stream (learner, user): destroying a learner's key erases what
  their events say, while the shape of the history stays countable;
- hashes of API tokens (the tokens themselves are shown once and never stored);
- the access log: every view of a learner's record, hash-chained (access_log.py);
- the key that signs the event store's head, and the last head it signed
  (so a store rolled back behind its vault is noticed).

It is a small SQLite file of its own, committed durably on every write: a key
must be on disk before any event encrypted with it is. Deleted bytes are
overwritten (see ``rarpa.scrub``): a destroyed key is gone from the file and
its WAL, not just unlinked.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from rarpa.config import is_postgres
from rarpa.store import scrub
from rarpa.store.access_log import AccessLog
from rarpa.store.pgconn import PgConnection

# On PostgreSQL a key destroyed on another node is noticed within this many
# seconds (on SQLite, at once: the file's data_version tells).
KEY_RECHECK = 0.5


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _at(moment: datetime) -> str:
    """An instant as text that sorts as time does (UTC, always with microseconds)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


class Vault:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._keys: dict[str, bytes] = {}
        self.on_postgres = is_postgres(path)
        if self.on_postgres:
            # Shared by every node: keys, tokens and the access log in the same
            # database as the events.
            self._conn = PgConnection(path)
            self._checked_at = 0.0
        else:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            scrub.secure(self._conn)
            scrub.mark_new_file(self._conn)
            # Keys are cached in memory; another process (say `rarpa erase`) may
            # destroy one, and data_version tells us the file changed under us.
            self._data_version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS stream_keys (
                stream_id TEXT PRIMARY KEY,
                key BLOB,
                created_at TEXT NOT NULL,
                destroyed_at TEXT,
                destroyed_reason TEXT
            );
            CREATE TABLE IF NOT EXISTS api_tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                label TEXT NOT NULL,
                created_at TEXT NOT NULL,
                revoked_at TEXT
            );
            CREATE TABLE IF NOT EXISTS password_links (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                ended_at TEXT,
                ended_why TEXT
            );
            CREATE INDEX IF NOT EXISTS password_links_user ON password_links (user_id, ended_at);
            CREATE TABLE IF NOT EXISTS secrets (
                name TEXT PRIMARY KEY,
                value BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS key_epoch (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                epoch INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS store_head (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                position INTEGER NOT NULL,
                log_hash BLOB NOT NULL,
                signature BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS access_log (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                user_id TEXT NOT NULL,
                role TEXT NOT NULL,
                action TEXT NOT NULL,
                learner_id TEXT,
                detail TEXT
            );
            """
        )
        # A vault written before secure_delete, holding destroyed keys, may
        # still have their bytes in free space: rewrite it once.
        if not self.on_postgres and not scrub.is_clean(self._conn):
            if self._conn.execute("SELECT 1 FROM stream_keys WHERE key IS NULL LIMIT 1").fetchone():
                scrub.scrub(self._conn)
            else:
                scrub.mark_clean(self._conn, "no key destroyed before secure_delete")
        self._key_epoch = self._epoch()
        self.access = AccessLog(self._conn, self._lock)
        # The signed head is only a hint (the store itself holds the real
        # one, in the same transaction as the events): no fsync for it.
        if self.on_postgres:
            self._head_conn = PgConnection(path)
        else:
            self._head_conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._head_conn.execute("PRAGMA synchronous=NORMAL")
        self._head_lock = threading.Lock()

    def _fresh_keys(self) -> None:
        """Forget cached keys when a key was destroyed through another
        connection (another process, say `rarpa erase`). data_version is a
        cheap way to learn that the file changed at all; the epoch, counted up
        by every destruction, says whether it was a key. On PostgreSQL (several
        nodes) the epoch itself is read, at most every KEY_RECHECK seconds."""
        if self.on_postgres:
            now = time.monotonic()
            if now - self._checked_at < KEY_RECHECK:
                return
            self._checked_at = now
        else:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
            self._data_version = version
        epoch = self._epoch()
        if epoch != self._key_epoch:
            self._key_epoch = epoch
            self._keys.clear()

    def _epoch(self) -> int:
        row = self._conn.execute("SELECT epoch FROM key_epoch WHERE id=1").fetchone()
        return row[0] if row else 0

    # --- stream keys ------------------------------------------------------------
    def key_for(self, stream_id: str, *, create: bool) -> bytes | None:
        """The stream's key; None if it was destroyed (or never made and not asked to)."""
        with self._lock:
            self._fresh_keys()
            key = self._keys.get(stream_id)
            if key is not None:
                return key
            if create:
                # INSERT OR IGNORE: another process may have made it first.
                self._conn.execute(
                    "INSERT OR IGNORE INTO stream_keys (stream_id, key, created_at) VALUES (?,?,?)",
                    (stream_id, os.urandom(32), _now()),
                )
            row = self._conn.execute(
                "SELECT key FROM stream_keys WHERE stream_id=?", (stream_id,)
            ).fetchone()
            if row is None or row[0] is None:
                return None
            self._keys[stream_id] = row[0]
            return row[0]

    def destroy_key(self, stream_id: str, reason: str) -> bool:
        """Overwrite the stream's key with nothing, in the file and its WAL.
        Returns whether a key was there to destroy; raises if the WAL could not
        be cleared (another process kept reading), since the key would then
        still be on disk."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute(
                    "UPDATE stream_keys SET key=NULL, destroyed_at=?, destroyed_reason=? "
                    "WHERE stream_id=? AND key IS NOT NULL",
                    (_now(), reason, stream_id),
                )
                self._conn.execute("INSERT INTO key_epoch (id, epoch) VALUES (1, 1) "
                                   "ON CONFLICT(id) DO UPDATE SET epoch=key_epoch.epoch+1")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._keys.pop(stream_id, None)
            self._key_epoch = self._epoch()
            if self.on_postgres:
                self._conn.vacuum_full("stream_keys")
            elif not scrub.scrub(self._conn):
                raise RuntimeError("the vault's write-ahead log could not be cleared: another process kept it busy; "
                                   "run the erasure again")
            return cur.rowcount == 1

    # --- named secrets (e.g. the key that signs session cookies) ---------------
    def secret(self, name: str) -> bytes:
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, os.urandom(32))
            )
            return self._conn.execute("SELECT value FROM secrets WHERE name=?", (name,)).fetchone()[0]

    # --- the key that signs the event store's head ------------------------
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(bytes(self.secret("store-signing-key")))

    def remember_head(self, position: int, log_hash: bytes, signature: bytes) -> None:
        """Keep the newest head the application signed (never an older one:
        writers in several processes may report out of order)."""
        with self._head_lock:
            self._head_conn.execute(
                "INSERT INTO store_head (id, position, log_hash, signature) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET position=excluded.position, log_hash=excluded.log_hash, "
                "signature=excluded.signature WHERE excluded.position > store_head.position",
                (position, log_hash, signature),
            )

    def remembered_head(self) -> tuple[int, bytes, bytes] | None:
        row = self._conn.execute("SELECT position, log_hash, signature FROM store_head WHERE id=1").fetchone()
        return (row[0], bytes(row[1]), bytes(row[2])) if row else None

    # --- API tokens -------------------------------------------------------------
    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def issue_token(self, user_id: str, label: str = "cli") -> str:
        token = "rr_" + secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute(
                "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES (?,?,?,?)",
                (self._hash(token), user_id, label, _now()),
            )
        return token

    def user_for_token(self, token: str) -> str | None:
        row = self._conn.execute(
            "SELECT user_id FROM api_tokens WHERE token_hash=? AND revoked_at IS NULL",
            (self._hash(token),),
        ).fetchone()
        return row[0] if row else None

    def revoke_tokens(self, user_id: str) -> int:
        """Every API token of this user stops working at once; how many did."""
        with self._lock:
            return self._conn.execute(
                "UPDATE api_tokens SET revoked_at=? WHERE user_id=? AND revoked_at IS NULL", (_now(), user_id)
            ).rowcount

    # --- one-time links that set a password (an invitation, a reset) -------------
    # Only a hash of each link's token is kept. A user has at most one link
    # that works: a new one ends the one before ("replaced"). A link ends when
    # used ("used"), and stops working after ``expires_at`` ("expired").
    def issue_link(self, user_id: str, kind: str, now: datetime, lifetime: timedelta) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("UPDATE password_links SET ended_at=?, ended_why='replaced' "
                                   "WHERE user_id=? AND ended_at IS NULL", (_at(now), user_id))
                self._conn.execute(
                    "INSERT INTO password_links (token_hash, user_id, kind, created_at, expires_at) VALUES (?,?,?,?,?)",
                    (self._hash(token), user_id, kind, _at(now), _at(now + lifetime)))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return token

    def link(self, token: str, now: datetime) -> tuple[str, str | None, str | None]:
        """(state, user id, kind) of a link: state "ok", "used", "replaced",
        "ended" (the account was deactivated), "expired" or "unknown"."""
        row = self._conn.execute(
            "SELECT user_id, kind, expires_at, ended_why FROM password_links WHERE token_hash=?", (self._hash(token),)
        ).fetchone()
        if row is None:
            return "unknown", None, None
        user_id, kind, expires_at, ended_why = row
        if ended_why:
            return ended_why, user_id, kind
        if expires_at <= _at(now):
            return "expired", user_id, kind
        return "ok", user_id, kind

    def use_link(self, token: str, now: datetime) -> bool:
        """Mark a working link used; False if it no longer works (used,
        replaced, ended or expired meanwhile): a link works once."""
        with self._lock:
            return self._conn.execute(
                "UPDATE password_links SET ended_at=?, ended_why='used' "
                "WHERE token_hash=? AND ended_at IS NULL AND expires_at > ?",
                (_at(now), self._hash(token), _at(now))).rowcount == 1

    def end_links(self, user_id: str, why: str, now: datetime) -> int:
        with self._lock:
            return self._conn.execute("UPDATE password_links SET ended_at=?, ended_why=? "
                                      "WHERE user_id=? AND ended_at IS NULL", (_at(now), why, user_id)).rowcount

    def open_link(self, user_id: str, now: datetime) -> dict | None:
        """The user's link that still works: its kind and when it was made and expires."""
        row = self._conn.execute(
            "SELECT kind, created_at, expires_at FROM password_links WHERE user_id=? AND ended_at IS NULL "
            "AND expires_at > ? ORDER BY created_at DESC LIMIT 1", (user_id, _at(now))).fetchone()
        return {"kind": row[0], "created_at": row[1], "expires_at": row[2]} if row else None

    def close(self) -> None:
        self._head_conn.close()
        self._conn.close()

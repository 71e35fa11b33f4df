"""Where the photos' bytes are kept: a table of their own in the event store's
file (``photo_files``), each photo and its thumbnail sealed with AES-GCM under
the learner's own key from the vault, the key their events are sealed with.
Destroying that key (erasure) makes every photo of the learner unreadable, as
it does their events; the rows are deleted too.

Why not in the events: a photo is 100-400 KB, two or three hundred times an
observation. In the learner's stream it would be read, decrypted and decoded
whenever the stream is: loading the aggregate, every rebuild of the read
model (500 events a batch), the record as at an instant, the timeline, the
export. Here it is read only when someone looks at that photo. The event
(``PhotoAttached``) is still the record: it is chained and signed with the
rest, and it pins the bytes by their SHA-256, which is checked on every read,
so a changed or swapped photo is refused, as a changed event would be.

Being in the event store's file, photos go wherever the store goes: ``rarpa
backup`` copies the whole file (one consistent instant), ``restore`` puts it
back. An export (``rarpa export``) carries the PhotoAttached events but not
the bytes (README, Photo evidence).

A photo's bytes are written *before* its event (same key, ``INSERT OR
IGNORE`` by photo id, so a retry writes nothing): an event never names bytes
that are not there. A write refused after its bytes were kept leaves a sealed
row nothing names (``orphans`` lists them).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rarpa.config import is_postgres
from rarpa.store import scrub
from rarpa.store.cipher import StreamErased
from rarpa.store.pgconn import PgConnection
from rarpa.store.vault import Vault

KINDS = ("photo", "thumb")
PHOTO_TOPIC = "events.learner:PhotoAttached"  # the event that names a photo (verify finds its learners by it)
log = logging.getLogger("rarpa.store.photos")


class PhotoDamaged(ValueError):
    """The stored bytes do not open with the learner's key, or do not match
    the digest the record holds: changed on disk, or swapped."""


class PhotoStore:
    def __init__(self, path: str, vault: Vault):
        self.path = path
        self.vault = vault
        self._lock = threading.Lock()
        self.on_postgres = is_postgres(path)
        if self.on_postgres:  # beside the events, in the same database
            self._conn = PgConnection(path)
        else:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # Kept before the event that names it, and as durably.
            self._conn.execute("PRAGMA synchronous=FULL")
            # A removed photo's sealed bytes are overwritten, not just unlinked.
            scrub.secure(self._conn)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS photo_files ("
            "photo_id TEXT PRIMARY KEY, learner_id TEXT NOT NULL, photo BLOB NOT NULL, thumb BLOB NOT NULL, "
            "kept_at TEXT NOT NULL)"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS photo_files_learner ON photo_files (learner_id)")

    @staticmethod
    def _aad(learner_id: str, photo_id: str, kind: str) -> bytes:
        # Bound to its learner, photo and kind: a sealed photo cannot be moved to another row.
        return f"photo:{learner_id}:{photo_id}:{kind}".encode()

    def _key(self, learner_id: str) -> bytes:
        key = self.vault.key_for(str(learner_id), create=False)
        if key is None:
            raise StreamErased(str(learner_id))
        return key

    def put(self, learner_id: str, photo_id: str, *, photo: bytes, thumb: bytes) -> None:
        """Seal and keep a photo and its thumbnail (nothing new if this photo id is kept already)."""
        key = self._key(learner_id)
        sealed = {kind: (nonce := os.urandom(12)) + AESGCM(key).encrypt(nonce, data, self._aad(learner_id, photo_id, kind))
                  for kind, data in (("photo", photo), ("thumb", thumb))}
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO photo_files (photo_id, learner_id, photo, thumb, kept_at) VALUES (?,?,?,?,?)",
                [photo_id, str(learner_id), sealed["photo"], sealed["thumb"], datetime.now(timezone.utc).isoformat()],
            )

    def has(self, photo_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM photo_files WHERE photo_id=?", [photo_id]).fetchone() is not None

    def get(self, learner_id: str, photo_id: str, kind: str, sha256: str) -> bytes | None:
        """The photo (or its thumbnail), opened and checked against the digest
        the record holds; None when it is not kept here (removed, or a record
        imported from another installation). StreamErased when the learner's
        key is gone; PhotoDamaged when the bytes are not the ones recorded."""
        if kind not in KINDS:
            raise ValueError(kind)
        with self._lock:
            row = self._conn.execute(f"SELECT {kind} FROM photo_files WHERE photo_id=? AND learner_id=?",
                                     [photo_id, str(learner_id)]).fetchone()
        if row is None:
            return None
        sealed = bytes(row[0])
        try:
            data = AESGCM(self._key(learner_id)).decrypt(sealed[:12], sealed[12:],
                                                          self._aad(learner_id, photo_id, kind))
        except StreamErased:
            raise
        except Exception as e:  # InvalidTag: altered bytes, or another learner's
            raise PhotoDamaged(f"photo {photo_id} failed its integrity check") from e
        if hashlib.sha256(data).hexdigest() != sha256:
            raise PhotoDamaged(f"photo {photo_id} is not the one recorded")
        return data

    def delete(self, learner_id: str, photo_id: str | None = None) -> int:
        """Delete one photo of a learner, or all of them (erasure), overwriting
        the deleted bytes; then clear the file's write-ahead log so no copy of
        the sealed bytes stays there (bounded wait: a reader keeps it busy).
        Returns how many photos were deleted."""
        with self._lock:
            if photo_id is None:
                cur = self._conn.execute("DELETE FROM photo_files WHERE learner_id=?", [str(learner_id)])
            else:
                cur = self._conn.execute("DELETE FROM photo_files WHERE learner_id=? AND photo_id=?",
                                         [str(learner_id), photo_id])
            if cur.rowcount and self.on_postgres:
                self._conn.vacuum_full("photo_files")
            elif cur.rowcount and not scrub.truncate_wal(self._conn, wait_seconds=5.0):
                log.warning("deleted %d photo(s) of %s; the event store's WAL was busy and keeps their sealed "
                            "copies until its next checkpoint", cur.rowcount, learner_id)
            return cur.rowcount

    def orphans(self, named: set[str]) -> list[str]:
        """Photo ids kept here that no event names (a write refused after its bytes were kept)."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT photo_id FROM photo_files") if r[0] not in named]

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM photo_files").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

"""`rarpa backup DIR` and `rarpa restore DIR`: the three SQLite files of an
installation (event store, vault, read model) copied with SQLite's online
backup API while the server goes on serving and writing, with a manifest of
checksums; and put back, checked, into an empty location.

Why the files are copied in this order (read model, event store, vault):

- the read model before the event store: its position (the last event it
  applied) is then never ahead of the copied store. A read model ahead of its
  store would skip the events written after a restore under the same
  positions. Behind is harmless: the restore catches it up.
- the vault after the event store: every event in the copied store was
  sealed with a key that was on disk before the event was (the vault commits
  durably first), so the later vault copy holds a key for every copied event.
  A vault copied first could miss the key of a learner enrolled a moment
  later, and their events would read as erased. Keys the vault has for events
  the store copy does not reach are harmless.
- the vault's mirror of the signed head (``store_head``: the newest head the
  application signed, which `rarpa verify` uses to notice a store put back
  behind its vault) is then ahead of the copied store whenever anything was
  written between the two copies. In the copy it is set to the copied store's
  own signed head (same key, same signature), which is exactly what the vault
  would have held had the writes stopped there. The manifest names that head.
- a key destroyed (a learner erased) while the copies were being made would
  leave a store without the erasure event beside a vault without the key, and
  a read model still holding the learner's words: the backup starts again
  (the vault's key epoch, counted up by every destruction, tells).
- a read model copied before it applied an erasure that the copied store
  holds still has that learner's words: it is left out of the backup, and the
  restore builds the read model from the events.

What a backup cannot do: a learner erased after it was taken is still in it
(README, "Backup and restore").
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from rarpa.config import Settings

FORMAT = "rarpa-backup/1"
MANIFEST = "manifest.json"
ATTEMPTS = 3  # backups started again because a key was destroyed meanwhile
CHUNK = 1 << 20


@dataclass(frozen=True)
class Part:
    setting: str  # the Settings attribute holding the file's path
    name: str  # the file's fixed name in a backup
    holds: str  # in words


# In the order they are copied (see above).
PARTS = (
    Part("views", "rarpa-views.sqlite3", "read model"),
    Part("db", "rarpa.sqlite3", "event store"),
    Part("vault", "rarpa-vault.sqlite3", "vault"),
)
BY_NAME = {p.name: p for p in PARTS}
BY_SETTING = {p.setting: p for p in PARTS}


class BackupError(Exception):
    """A refusal to tell the operator in one line; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def rarpa_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rarpa-record")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _read_only(path: str) -> sqlite3.Connection:
    return sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=30)


def _online_copy(source: str, target: Path) -> None:
    """SQLite's online backup API in one step: one read transaction, so one
    consistent instant of the file, without stopping writers (WAL). The copy is
    then a single self-contained file (no -wal beside it)."""
    src = _read_only(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def _epoch(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT epoch FROM key_epoch WHERE id=1").fetchone()
    except sqlite3.OperationalError:  # a vault from before key epochs
        return 0
    return row[0] if row else 0


def _store_head(path: Path) -> tuple[int, int, bytes, bytes] | None:
    """The copied store's last event and its signed head: (last rowid, head
    position, head log_hash, signature), or None for an empty store."""
    conn = sqlite3.connect(path)
    try:
        last = conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
        row = conn.execute("SELECT position, CAST(log_hash AS BLOB), CAST(signature AS BLOB) FROM store_head "
                           "WHERE id=1").fetchone()
    except sqlite3.OperationalError:  # no table yet: nothing was ever written
        return None
    finally:
        conn.close()
    if last is None or row is None:
        return None
    return last, row[0], bytes(row[1]), bytes(row[2])


def _align_vault_head(vault_copy: Path, head: tuple[int, int, bytes, bytes] | None) -> None:
    """The vault copy remembers the copied store's signed head, not a newer
    one signed after the store was copied (see the module's docstring)."""
    conn = sqlite3.connect(vault_copy, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("BEGIN IMMEDIATE")
        if head is None:
            conn.execute("DELETE FROM store_head")
        else:
            _, position, log_hash, signature = head
            conn.execute("INSERT OR REPLACE INTO store_head (id, position, log_hash, signature) VALUES (1, ?, ?, ?)",
                         (position, log_hash, signature))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _views_position(path: Path) -> int | None:
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT position FROM tracking WHERE name='progress'").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else 0


def _empty_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BackupError(f"{folder} is a file, not a folder", 2)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new or empty folder", 2)


def _not_on_postgres(settings: Settings, what: str) -> None:
    if settings.on_postgres:
        raise BackupError(f"`rarpa {what}` copies SQLite files; on PostgreSQL the events, the vault and the "
                          "photos are one database: use pg_dump / pg_restore (README, PostgreSQL)")


def backup(settings: Settings, folder: Path, *, echo: Callable[[str], None] = print,
           after_copy: Callable[[Part], None] | None = None) -> dict:
    """Copy the three files into ``folder`` (created; it must be empty) and
    write manifest.json; returns the manifest. ``after_copy`` is called after
    each file is copied (for tests: to write or erase between copies)."""
    _not_on_postgres(settings, "backup")
    folder = Path(folder)
    _empty_folder(folder)
    for part in PARTS:
        if part.setting != "views" and not Path(getattr(settings, part.setting)).exists():
            raise BackupError(f"no {part.holds} at {getattr(settings, part.setting)}: nothing to back up")
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, ATTEMPTS + 1):
        manifest = _attempt(settings, folder, echo, after_copy)
        if manifest is not None:
            return manifest
        for leftover in folder.iterdir():
            leftover.unlink()
        echo(f"a learner was erased while the backup was being taken: starting again ({attempt} of {ATTEMPTS})")
    raise BackupError(f"learners kept being erased during the backup ({ATTEMPTS} attempts): try again later")


def _attempt(settings: Settings, folder: Path, echo, after_copy) -> dict | None:
    """One try; None when a key was destroyed meanwhile (the caller starts again)."""
    started = _now()
    vault_source = _read_only(settings.vault)
    try:
        epoch_before = _epoch(vault_source)
    finally:
        vault_source.close()
    copied: list[Part] = []
    head, views_position, taken_at = None, None, None
    parts = [p for p in PARTS if p.setting != "views" or Path(settings.views).exists()]
    for n, part in enumerate(parts, 1):
        target = folder / part.name
        _online_copy(getattr(settings, part.setting), target)
        copied.append(part)
        if part.setting == "views":
            views_position = _views_position(target)
        elif part.setting == "db":
            taken_at = _now()
            head = _store_head(target)
            if views_position is not None and _erasure_after(target, views_position):
                # The read model had not yet applied an erasure the copied store
                # holds, so it still has that learner's words: left out (the
                # restore builds it from the events).
                (folder / BY_SETTING["views"].name).unlink()
                copied = [p for p in copied if p.setting != "views"]
                views_position = None
                echo("  the read model had not yet applied an erasure: it is left out, "
                     "and the restore rebuilds it from the events")
        elif part.setting == "vault":
            check = sqlite3.connect(target)
            try:
                epoch_after = _epoch(check)
            finally:
                check.close()
            if epoch_after != epoch_before:
                return None
            _align_vault_head(target, head)
        if after_copy is not None:
            after_copy(part)
        echo(f"  {n}/{len(parts)}  {part.holds:<12} {part.name:<22} {size_words(target.stat().st_size):>9}")
    files = []
    for part in copied:  # nothing is trusted unless it was written whole
        path = folder / part.name
        _fsync(path)
        files.append({"name": part.name, "holds": part.holds, "size": path.stat().st_size, "sha256": sha256_of(path)})
    manifest = {
        "format": FORMAT,
        "rarpa_version": rarpa_version(),
        "started_at": started,
        "taken_at": taken_at,  # when the event store was copied: the record is as it stood then
        "finished_at": _now(),
        "last_notification_id": head[0] if head else 0,
        "store_head": {"position": head[1], "log_hash": head[2].hex()} if head else None,
        "read_model_position": views_position,
        "files": files,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync(path)
    _fsync_dir(folder)
    return manifest


def _erasure_after(store_copy: Path, position: int) -> bool:
    """Whether the copied store holds an erasure recorded after ``position``
    (the topic is stored in clear)."""
    conn = sqlite3.connect(store_copy)
    try:
        return conn.execute("SELECT 1 FROM stored_events WHERE rowid > ? AND topic LIKE '%:LearnerDataErased' "
                            "LIMIT 1", [position]).fetchone() is not None
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def size_words(n: float) -> str:
    """1.2 MB"""
    for unit in ("bytes", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- restore -------------------------------------------------------------------------------------
def read_manifest(folder: Path) -> dict:
    """The manifest, each of its files checked against its SHA-256 and size;
    raises BackupError naming the first file that does not match."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"no {MANIFEST} in {folder}: not a rarpa backup")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:
        raise BackupError(f"{MANIFEST} is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not a {FORMAT} manifest")
    files = manifest.get("files")
    names = [f.get("name") for f in files] if isinstance(files, list) and all(isinstance(f, dict) for f in files) else None
    if names is None or len(set(names)) != len(names) or not set(names) <= set(BY_NAME) \
            or not {"rarpa.sqlite3", "rarpa-vault.sqlite3"} <= set(names):
        raise BackupError(f"{MANIFEST} must list the event store and the vault (and may list the read model), "
                          f"by their names: {', '.join(BY_NAME)}")
    for entry in files:
        file = folder / entry["name"]
        if not file.is_file():
            raise BackupError(f"{entry['name']} is listed in {MANIFEST} but missing from {folder}")
        if file.stat().st_size != entry.get("size") or sha256_of(file) != entry.get("sha256"):
            raise BackupError(f"{entry['name']} does not match its SHA-256 in {MANIFEST}: "
                              "the backup was altered or damaged; nothing was restored")
    return manifest


SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _refuse_existing(settings: Settings) -> None:
    for part in PARTS:
        base = getattr(settings, part.setting)
        for suffix in SIDE_FILES:
            if os.path.lexists(base + suffix):
                raise BackupError(f"{base + suffix} already exists: restore only into an empty location "
                                  f"(set RARPA_DB, RARPA_VAULT and RARPA_VIEWS to paths that do not exist yet)", 2)


def restore(folder: Path, settings: Settings, *, echo: Callable[[str], None] = print) -> dict:
    """Put the backup's files where ``settings`` says, after checking that none
    of them exists yet and that every file matches the manifest (nothing is
    written otherwise). Returns the manifest. The caller then opens the store,
    catches the read model up and runs verify."""
    _not_on_postgres(settings, "restore")
    folder = Path(folder)
    _refuse_existing(settings)
    manifest = read_manifest(folder)
    echo(f"checked {len(manifest['files'])} files against {MANIFEST} (SHA-256)")
    settings.ensure_dirs()
    placed: list[Path] = []  # removed again if any file cannot be restored: all or nothing
    try:
        for entry in manifest["files"]:
            part = BY_NAME[entry["name"]]
            target = Path(getattr(settings, part.setting))
            temporary = target.with_name(f".{target.name}.restoring-{os.getpid()}")
            placed.append(temporary)
            if _copy_file(folder / entry["name"], temporary) != entry["sha256"]:  # changed under us, or a bad disk
                raise BackupError(f"{entry['name']} changed while it was being restored: nothing was restored")
            if os.path.lexists(target):
                raise BackupError(f"{target} appeared while restoring: nothing was restored", 2)
            os.replace(temporary, target)
            placed[-1] = target
            _fsync_dir(target.parent)
            echo(f"  {part.holds:<12} {entry['name']:<22} -> {target}")
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    return manifest


def _copy_file(source: Path, target: Path) -> str:
    h = hashlib.sha256()
    with open(source, "rb") as src, open(target, "xb") as dst:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return h.hexdigest()

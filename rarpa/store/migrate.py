"""`rarpa migrate-store TARGET_URL`: move a record from SQLite to PostgreSQL,
once, when a college (or a group of them) outgrows one machine, and prove it
arrived whole.

What is copied, exactly as kept (nothing is decrypted or re-encrypted: the
events and snapshots are sealed with each learner's own key, and the keys go
with them):

- every stored event, in recorded order, with its SQLite rowid as its
  notification id (so positions, and every read-model row that names one,
  stay the same), its ``chain_hash`` and its ``log_hash``: the stream chains
  and the store-wide chain are the same bytes, so every fingerprint printed on
  a pack still matches;
- the snapshots; the photos' sealed bytes (``photo_files``);
- the vault: learners' keys (destroyed ones as destroyed, with when and
  why), API token hashes, password links, the secrets (the key that signs the
  store's head, the one that signs session cookies), the key epoch, and the
  access log with its ids and chained hashes.

The head is signed afresh with the same key (the vault's) for the last
position, in the same transaction as the copy; the notification-id sequence
is set past the last position, so the next event written on PostgreSQL
follows on.

All of it is one PostgreSQL transaction: a copy killed or failing midway
leaves nothing behind (only the empty tables made before it, which a second
run fills), and a node started too early sees nothing until it is whole.
PostgreSQL keeps a big transaction without trouble; the cost is that a run
interrupted near its end starts again from the beginning.

Then it is checked, on PostgreSQL, through the application itself: ``verify``
passes (chains, signed head, snapshots, access log, photos); the head of
every stream (a learner's fingerprint) is the same; the read model rebuilt
from the target equals the one rebuilt from the source, row for row; and the
counts of events, streams, snapshots, keys, tokens, links, access-log entries
and photos are equal.

Refused, with one line and nothing written: a source that is not SQLite, a
target that is not a postgresql:// URL or cannot be reached, a target that
already holds a record, a source that does not verify.
"""

from __future__ import annotations

import dataclasses
import itertools
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator
from uuid import UUID

from rarpa.config import Settings, is_postgres
from rarpa.service.application import RecordApplication
from rarpa.store.migrate_views import ReadModels
from rarpa.store.postgres import check_reachable, schema_of

BATCH = 5000  # events read and sent per step of the progress bar
PHOTO_BATCH = 50  # photos are 100-400 KB each

# The vault's tables, with their columns (the access log's as AccessLog keeps them).
VAULT_TABLES: dict[str, tuple[str, ...]] = {
    "stream_keys": ("stream_id", "key", "created_at", "destroyed_at", "destroyed_reason"),
    "api_tokens": ("token_hash", "user_id", "label", "created_at", "revoked_at"),
    "password_links": ("token_hash", "user_id", "kind", "created_at", "expires_at", "ended_at", "ended_why"),
    "secrets": ("name", "value"),
    "key_epoch": ("id", "epoch"),
    "access_log": ("id", "at", "user_id", "role", "action", "learner_id", "address", "detail", "entry_hash"),
}
# Tables of the target that must be empty (what opening an application on an
# empty schema writes, the signing key among the secrets, is replaced).
MUST_BE_EMPTY = {"rarpa_events": "events", "rarpa_snapshots": "snapshots", "stream_keys": "learners' keys",
                 "api_tokens": "API tokens", "password_links": "password links",
                 "access_log": "access-log entries", "photo_files": "photos"}
REPLACED = ("secrets", "key_epoch", "store_head")
EVENT_COLUMNS = "notification_id, originator_id, originator_version, topic, state, chain_hash, log_hash"
EVENT_TYPES = ["bigint", "uuid", "bigint", "text", "bytea", "bytea", "bytea"]


class Refused(Exception):
    """The migration will not start (or the target holds a record): one line
    to show, perhaps a few lines more (``details``); nothing was written."""

    def __init__(self, line: str, details: list[str] | None = None):
        super().__init__(line)
        self.details = details or []


@dataclass
class Migrated:
    where: str
    counts: dict[str, int] = field(default_factory=dict)
    learners: int = 0
    read_model_rows: int = 0
    copy_seconds: float = 0.0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds each part took
    differences: list[str] = field(default_factory=list)


class _Quiet:
    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    def update(self, n: int) -> None:
        pass


def _no_progress(length: int, label: str):
    return _Quiet()


Progress = Callable[[int, str], object]  # (length, label) -> a context manager with update(n), as click.progressbar


# --- where ---------------------------------------------------------------------------------------
def where(url: str) -> str:
    """The target in words, without its password: schema "x" at host:port/db."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    return (f'schema "{schema_of(url)}" at {parts.get("host") or "127.0.0.1"}:{parts.get("port") or 5432}/'
            f'{parts.get("dbname") or "postgres"}')


def empty_it(url: str) -> str:
    """How the operator empties the target schema to start again."""
    schema = schema_of(url)
    again = "; CREATE SCHEMA public" if schema == "public" else ""
    return f'DROP SCHEMA "{schema}" CASCADE{again}'


# --- refusals before anything is written ----------------------------------------------------------
def check_source(settings: Settings) -> None:
    if settings.on_postgres:
        raise Refused("RARPA_DB is already a PostgreSQL store: migrate-store copies a SQLite store (RARPA_DB, a "
                      "file) into PostgreSQL; nothing was written")
    for what, path in (("RARPA_DB", settings.db), ("the vault (RARPA_VAULT)", settings.vault)):
        if not Path(path).is_file():
            raise Refused(f"{what}: there is no SQLite store at {path}; nothing was written")


def check_target(url: str) -> None:
    if not is_postgres(url):
        shown = url.split("://", 1)[0] + "://..." if "://" in url else repr(url)  # never a password
        raise Refused(f"the target must be a postgresql:// URL (e.g. postgresql://rarpa@db.example.org/rarpa), "
                      f"not {shown}; nothing was written")
    try:
        check_reachable(url)
    except SystemExit as e:  # its own one line, said for the target
        raise Refused(f"{str(e).replace('RARPA_DB: ', 'the target: ')}; nothing was written") from None


def held(conn) -> dict[str, int]:
    """What the target already holds, by table (only tables with rows)."""
    out = {}
    for table in MUST_BE_EMPTY:
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]:
            count = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            if count:
                out[table] = count
    return out


def refuse_unless_empty(url: str, conn=None) -> None:
    import psycopg

    if conn is None:
        with psycopg.connect(url, autocommit=True) as own:
            found = held(own)
    else:
        found = held(conn)
    if found:
        first = next(iter(found))
        what = ", ".join(f"{n:,} {MUST_BE_EMPTY[t]}" for t, n in found.items())
        raise Refused(f"the target ({where(url)}) already holds {what}"
                      f"{'' if first == 'rarpa_events' else ' (a record, or part of one)'}: migrate-store copies "
                      f"into an empty schema only, and nothing was written. If it holds a failed or unwanted copy, "
                      f"empty it with {empty_it(url)}, then run migrate-store again")


# --- the whole run --------------------------------------------------------------------------------
def migrate(settings: Settings, target: str, *, progress: Progress = _no_progress,
            echo: Callable[[str], None] = lambda line: None) -> Migrated:
    """Refuse (Refused), or copy the SQLite store ``settings`` names into the
    empty PostgreSQL schema ``target`` and check the copy: ``differences``
    names anything that is not the same (the copy is then kept, to look at)."""
    started = time.monotonic()
    check_source(settings)
    check_target(target)
    refuse_unless_empty(target)
    out = Migrated(where(target))
    # The read models built to compare hold names: kept beside the store
    # itself (same disk, same protection), never in /tmp.
    with tempfile.TemporaryDirectory(prefix=".rarpa-migrate-", dir=Path(settings.db).resolve().parent) as name:
        folder = Path(name)
        target_settings = dataclasses.replace(settings, db=target, vault=target,
                                              views=str(folder / "target-node-views.sqlite3"))
        read_models = ReadModels(folder)
        try:
            with _timed(out, "verifying the source"):
                verify_source(settings, progress)
            read_models.start("source", settings)  # alongside the copy: it only reads the source
            # The target's tables, made as the application makes them (the
            # photos' table when first asked for).
            made = RecordApplication(target_settings)
            try:
                assert made.photo_store is not None
            finally:
                made.close()
            with _timed(out, "the copy"):
                out.counts = copy(settings, target, progress=progress)
            out.copy_seconds = out.phases["the copy"]
            echo(f"copied in one transaction in {out.copy_seconds:.1f} s; checking the copy on PostgreSQL")
            read_models.start("target", target_settings)
            with _timed(out, "checking the target"):
                out.differences += compare_counts(settings, target)
                out.differences += compare_heads(settings, target)
                out.differences += verify_target(target_settings, out.counts["events"], progress)
            with _timed(out, "comparing the read models"):
                differ, out.read_model_rows, out.learners = read_models.compare(out.counts["events"], progress)
            out.differences += differ
        finally:
            read_models.stop()
    out.seconds = time.monotonic() - started
    return out


@contextmanager
def _timed(out: Migrated, phase: str):
    began = time.monotonic()
    try:
        yield
    finally:
        out.phases[phase] = time.monotonic() - began


def verify_source(settings: Settings, progress: Progress = _no_progress) -> None:
    from rarpa.store.verify import verify

    source = RecordApplication(settings)
    try:
        total = source.recorder.max_notification_id() or 0
        if not total:
            raise Refused(f"the source {settings.db} holds no events: there is nothing to move; nothing was written")
        with progress(total, "Verifying the source   ") as bar:
            try:
                report = verify(source, on_event=_every(bar))
            except Exception as e:  # an event that does not open (altered bytes) stops verify's later checks
                raise Refused(f"the source {settings.db} does not verify ({type(e).__name__}: {e}): nothing "
                              "was copied; `rarpa verify` says more") from None
    finally:
        source.close()
    if not report.ok:
        raise Refused(f"the source {settings.db} does not verify ({len(report.problems)} problem(s)): "
                      "nothing was copied; `rarpa verify` says more", report.problems[:5])


def verify_target(target_settings: Settings, events: int, progress: Progress = _no_progress) -> list[str]:
    from rarpa.store.verify import verify

    copied = RecordApplication(target_settings)
    try:
        with progress(events, "Verifying the target   ") as bar:
            report = verify(copied, on_event=_every(bar))
    except Exception as e:
        return [f"the target does not verify ({type(e).__name__}: {e})"]
    finally:
        copied.close()
    return [f"the target does not verify: {p}" for p in report.problems[:5]]


def _every(bar, n: int = 2000):
    """A verify on_event callback that moves the bar every ``n`` events."""
    count = itertools.count(1)

    def tick() -> None:
        if next(count) % n == 0:
            bar.update(n)
    return tick


# --- the copy -------------------------------------------------------------------------------------
@contextmanager
def _read_only(path: str) -> Iterator[sqlite3.Connection]:
    """A SQLite file at one instant, read-only (a read transaction held open)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot starts now
        yield conn
    finally:
        conn.close()


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [table]).fetchone() is not None


def copy(settings: Settings, target: str, *, progress: Progress = _no_progress) -> dict[str, int]:
    """Copy everything in one transaction; returns how many of each were copied.
    The target's tables must exist (an application opened on it once)."""
    import psycopg
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from rarpa.store.pgconn import _VAULT_LOCK
    from rarpa.store.sqlite import head_message

    counts: dict[str, int] = {}
    with _read_only(settings.db) as src, _read_only(settings.vault) as vault, \
            psycopg.connect(target, autocommit=True) as pg, pg.transaction():
        # Writers of events and of the vault take these too: a node started on
        # the target too early waits (or, already writing, makes us refuse).
        pg.execute("SET LOCAL lock_timeout = '10s'")
        try:
            pg.execute("LOCK TABLE rarpa_events IN EXCLUSIVE MODE")
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (_VAULT_LOCK,))
        except psycopg.errors.LockNotAvailable:
            raise Refused(f"the target ({where(target)}) is in use (a `rarpa serve` node on it?): stop every "
                          "node on it first; nothing was written") from None
        pg.execute("SET LOCAL lock_timeout = 0")
        refuse_unless_empty(target, pg)  # again, holding the locks

        total = src.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        last = None
        with progress(total, "Copying events         ") as bar, pg.cursor() as cur, \
                cur.copy(f"COPY rarpa_events ({EVENT_COLUMNS}) FROM STDIN (FORMAT BINARY)") as out:
            out.set_types(EVENT_TYPES)
            rows = src.execute("SELECT rowid, originator_id, originator_version, topic, CAST(state AS BLOB), "
                               "CAST(chain_hash AS BLOB), CAST(log_hash AS BLOB) FROM stored_events ORDER BY rowid")
            while batch := rows.fetchmany(BATCH):
                for position, oid, version, topic, state, chain, log in batch:
                    out.write_row((position, UUID(oid), version, topic, state, chain, log))
                last = batch[-1]
                bar.update(len(batch))
        counts["events"] = total
        counts["streams"] = src.execute("SELECT COUNT(DISTINCT originator_id) FROM stored_events").fetchone()[0]

        counts["snapshots"] = 0
        if _has(src, "stored_snapshots"):
            with pg.cursor() as cur, cur.copy("COPY rarpa_snapshots (originator_id, originator_version, topic, state) "
                                              "FROM STDIN (FORMAT BINARY)") as out:
                out.set_types(["uuid", "bigint", "text", "bytea"])
                for oid, version, topic, state in src.execute(
                        "SELECT originator_id, originator_version, topic, CAST(state AS BLOB) FROM stored_snapshots"):
                    out.write_row((UUID(oid), version, topic, state))
                    counts["snapshots"] += 1

        # The vault: what opening an application on the empty target wrote (a
        # signing key of its own) is replaced by the source's.
        for table in REPLACED:
            pg.execute(f"DELETE FROM {table}")
        for table, columns in VAULT_TABLES.items():
            counts[table] = 0
            if not _has(vault, table):
                continue
            with pg.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
                for row in vault.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                    out.write_row(row)
                    counts[table] += 1
        counts["destroyed_keys"] = vault.execute("SELECT COUNT(*) FROM stream_keys WHERE key IS NULL").fetchone()[0]

        counts["photos"] = 0
        if _has(src, "photo_files"):
            photos = src.execute("SELECT COUNT(*) FROM photo_files").fetchone()[0]
            with progress(photos, "Copying photos         ") as bar, pg.cursor() as cur, \
                    cur.copy("COPY photo_files (photo_id, learner_id, photo, thumb, kept_at) "
                             "FROM STDIN (FORMAT BINARY)") as out:
                out.set_types(["text", "text", "bytea", "bytea", "text"])
                rows = src.execute("SELECT photo_id, learner_id, CAST(photo AS BLOB), CAST(thumb AS BLOB), kept_at "
                                   "FROM photo_files")
                while batch := rows.fetchmany(PHOTO_BATCH):
                    for row in batch:
                        out.write_row(row)
                    counts["photos"] += len(batch)
                    bar.update(len(batch))

        # The head: the same key signs the last position and its link, in this transaction.
        position, log = last[0], bytes(last[6])
        secret = vault.execute("SELECT CAST(value AS BLOB) FROM secrets WHERE name='store-signing-key'").fetchone()
        signature = Ed25519PrivateKey.from_private_bytes(bytes(secret[0])).sign(head_message(position, log))
        pg.execute("INSERT INTO signed_head (id, position, log_hash, signature, signed_at) "
                   "VALUES (1, %s, %s, %s, now()) ON CONFLICT (id) DO UPDATE SET position=excluded.position, "
                   "log_hash=excluded.log_hash, signature=excluded.signature, signed_at=excluded.signed_at",
                   (position, log, signature))
        pg.execute("INSERT INTO store_head (id, position, log_hash, signature) VALUES (1, %s, %s, %s)",
                   (position, log, signature))
        # The next event written on PostgreSQL follows on from the last position copied.
        pg.execute("SELECT setval(pg_get_serial_sequence('rarpa_events', 'notification_id'), %s)", (position,))
        counts["position"] = position
    return counts


# --- the checks -----------------------------------------------------------------------------------
def _counts_sqlite(settings: Settings) -> dict[str, object]:
    with _read_only(settings.db) as src, _read_only(settings.vault) as vault:
        def one(conn: sqlite3.Connection, sql: str):
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

        out: dict[str, object] = {
            "events": one(src, "SELECT COUNT(*) FROM stored_events"),
            "streams": one(src, "SELECT COUNT(DISTINCT originator_id) FROM stored_events"),
            "last position": one(src, "SELECT MAX(rowid) FROM stored_events"),
            "last link": bytes(one(src, "SELECT CAST(log_hash AS BLOB) FROM stored_events ORDER BY rowid DESC "
                                        "LIMIT 1") or b"").hex(),
            "snapshots": one(src, "SELECT COUNT(*) FROM stored_snapshots") if _has(src, "stored_snapshots") else 0,
            "photos": one(src, "SELECT COUNT(*) FROM photo_files") if _has(src, "photo_files") else 0,
        }
        out.update(_vault_counts(lambda sql: one(vault, sql)))
    return out


def _counts_postgres(url: str) -> dict[str, object]:
    import psycopg

    with psycopg.connect(url) as pg:
        pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        def one(sql: str):
            row = pg.execute(sql).fetchone()
            return row[0] if row else None

        out: dict[str, object] = {
            "events": one("SELECT COUNT(*) FROM rarpa_events"),
            "streams": one("SELECT COUNT(DISTINCT originator_id) FROM rarpa_events"),
            "last position": one("SELECT MAX(notification_id) FROM rarpa_events"),
            "last link": bytes(one("SELECT log_hash FROM rarpa_events ORDER BY notification_id DESC LIMIT 1")
                               or b"").hex(),
            "snapshots": one("SELECT COUNT(*) FROM rarpa_snapshots"),
            "photos": one("SELECT COUNT(*) FROM photo_files"),
        }
        out.update(_vault_counts(one))
        pg.rollback()
    return out


def _vault_counts(one: Callable[[str], object]) -> dict[str, object]:
    last_entry = one("SELECT entry_hash FROM access_log ORDER BY id DESC LIMIT 1")
    return {
        "keys": one("SELECT COUNT(*) FROM stream_keys"),
        "destroyed keys": one("SELECT COUNT(*) FROM stream_keys WHERE key IS NULL"),
        "API tokens": one("SELECT COUNT(*) FROM api_tokens"),
        "password links": one("SELECT COUNT(*) FROM password_links"),
        "secrets": one("SELECT COUNT(*) FROM secrets"),
        "access-log entries": one("SELECT COUNT(*) FROM access_log"),
        "last access-log link": bytes(last_entry or b"").hex(),
    }


def compare_counts(settings: Settings, target: str) -> list[str]:
    ours, theirs = _counts_sqlite(settings), _counts_postgres(target)
    out = [f"{what}: {ours[what]} on the source, {theirs[what]} on the target"
           for what in ours if ours[what] != theirs[what]]
    if out:
        out[-1] += " (was the source written to during the migration? stop every `rarpa serve` on it first)"
    return out


def compare_heads(settings: Settings, target: str) -> list[str]:
    """The head link of every stream, source against target: a learner's
    fingerprint is their stream's head, so every fingerprint is the same."""
    import psycopg

    out: list[str] = []
    with _read_only(settings.db) as src, psycopg.connect(target) as pg:
        ours = ((UUID(oid).hex, version, bytes(chain)) for oid, version, chain in src.execute(
            "SELECT originator_id, MAX(originator_version), CAST(chain_hash AS BLOB) FROM stored_events "
            "GROUP BY originator_id ORDER BY originator_id"))
        with pg.cursor(name="rarpa_migrate_heads") as cur:
            cur.itersize = BATCH
            cur.execute("SELECT DISTINCT ON (originator_id) originator_id, originator_version, chain_hash "
                        "FROM rarpa_events ORDER BY originator_id, originator_version DESC")
            theirs = ((oid.hex, version, bytes(chain)) for oid, version, chain in cur)
            for a, b in itertools.zip_longest(ours, theirs):
                if a != b:
                    stream = UUID((a or b)[0])
                    out.append(f"stream {stream}: its head (fingerprint) is "
                               f"{_head_words(a)} on the source and {_head_words(b)} on the target")
                    if len(out) == 3:
                        break
        pg.rollback()
    return out


def _head_words(head) -> str:
    return f"event {head[1]} {head[2].hex()[:16]}" if head else "missing"


# --- the command ----------------------------------------------------------------------------------
def command(target: str) -> None:
    """`rarpa migrate-store TARGET_URL` (exit 0 when the copy is the same; 1 otherwise)."""
    import sys

    import click

    def bar(length: int, label: str):
        return click.progressbar(length=length, label=label, show_eta=True, show_pos=True)

    try:
        done = migrate(Settings.from_env(), target, progress=bar, echo=click.echo)
    except Refused as e:
        click.secho(f"error: {e}", fg="red", err=True)
        for line in e.details:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    c = done.counts
    rate = c["events"] / done.copy_seconds if done.copy_seconds else 0.0
    click.echo(f"migrated {_n(c['events'], 'event')} in {_n(c['streams'], 'stream')}, "
               f"{_n(c['snapshots'], 'snapshot')}, {_n(c['stream_keys'], 'key')} ({c['destroyed_keys']:,} destroyed), "
               f"{_n(c['photos'], 'photo')}, {_n(c['api_tokens'], 'API token')} and "
               f"{_n(c['access_log'], 'access-log entry', 'access-log entries')} into {done.where} in "
               f"{done.seconds:.1f} s (the copy {done.copy_seconds:.1f} s: {rate:,.0f} events/s)")
    click.echo("time taken: " + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in done.phases.items()))
    if done.differences:
        click.secho(f"error: the copy is not the same as the source: {done.differences[0]}", fg="red", err=True)
        for line in done.differences[1:10]:
            click.echo(f"  also: {line}", err=True)
        click.echo(f"The target keeps the copy, to look at; to try again, empty it with {empty_it(target)}",
                   err=True)
        sys.exit(1)
    click.echo(f"verified on PostgreSQL: chains, signed head, snapshots, access log and photos as recorded; every "
               f"stream's head the same ({done.learners:,} learners' fingerprints among them); the read model the "
               f"same row for row ({done.read_model_rows:,} rows); every count the same")
    click.echo("next: stop using the SQLite store and point every node at the target (RARPA_DB=TARGET_URL); "
               "positions are the same, so a read-model file built from the SQLite store goes on from where it is")


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"

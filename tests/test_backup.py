"""`rarpa backup DIR` and `rarpa restore DIR` (rarpa/store/backup.py).

- A backup taken while a real `rarpa serve` is being written to restores into
  a fresh location to a record that verifies, holds every observation the
  server acknowledged before the backup started, and is a prefix of the
  source: the same events, byte for byte, up to the backup's last event, and
  the same history and progress as the source said as at that point.
- A quiet store restored answers identically (history, read model, verify).
- Writes between the event-store copy and the vault copy (the vault's signed
  head mirror then ahead of the copied store) and an erasure during a backup
  still give a backup that verifies and holds nothing of the erased learner.
- Refusals: a backup into a folder that is not empty, a restore over any
  existing file, a restore of a file that does not match the manifest; each
  exits with a readable line and writes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rarpa.config import Settings
from rarpa.read import queries
from rarpa.read.projections import Projector
from rarpa.read.tables import TABLES
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.store import backup as backups
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.localhost import start_server, stop_server, store_env, three_learners_on_a_caseload, post_json
from tests.test_erasure import traces

pytestmark = pytest.mark.sqlite_file  # `rarpa backup` copies SQLite files; on PostgreSQL it says pg_dump (tests/test_postgres.py)

PASSWORD = "correct horse battery"
FILES = ("rarpa.sqlite3", "rarpa-vault.sqlite3", "rarpa-views.sqlite3")
LIMIT = 60  # seconds: a bound on every wait loop, never a timing check
MAX_POSTS = 600  # the writer's bound
SUBPROCESS_LIMIT = 180


def env_for(folder: Path) -> dict[str, str]:
    return store_env(folder)


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env_for(folder), cwd=folder,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SUBPROCESS_LIMIT)


def assert_refused(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.startswith("error: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def listing(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes (to show nothing was written)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def stored_rows(db: Path, up_to: int | None = None) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sql = ("SELECT rowid, originator_id, originator_version, topic, CAST(state AS BLOB), CAST(chain_hash AS BLOB), "
               "CAST(log_hash AS BLOB) FROM stored_events")
        if up_to is not None:
            sql += f" WHERE rowid <= {int(up_to)}"
        return conn.execute(sql + " ORDER BY rowid").fetchall()
    finally:
        conn.close()


def history(folder: Path, learner_id: str, as_at: str) -> dict:
    result = cli(folder, "history", learner_id, "--as-at", as_at)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def build_record(folder: Path) -> dict:
    """Three learners with a target each on a tutor's caseload, and the tutor's token."""
    targets = three_learners_on_a_caseload(folder, PASSWORD)
    app = RecordApplication(Settings.from_env(env_for(folder)))
    try:
        return {"targets": targets, "token": app.create_token("tutor@example.org")}
    finally:
        app.close()


class Writer(threading.Thread):
    """A tablet POSTing observations round the learners, one after another, until
    told to stop (or MAX_POSTS); remembers each acknowledged id in order."""

    def __init__(self, base: str, token: str, targets: dict[str, str]):
        super().__init__(daemon=True)
        self.base, self.token, self.targets = base, token, list(targets.items())
        self.acked: list[tuple[str, str]] = []  # (learner, observation id), in the order acknowledged
        self.refused: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        ratings = ("not_yet", "emerging", "developing", "secure", "generalised")
        for n in range(MAX_POSTS):
            if self.stop.is_set():
                return
            lid, tid = self.targets[n % len(self.targets)]
            body = {"id": str(uuid.uuid4()), "target_id": tid, "rating": ratings[n % 5], "context": "classroom",
                    "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()}
            status, answer = post_json(f"{self.base}/api/v1/learners/{lid}/observations", self.token, body)
            with self.lock:
                if status == 201:
                    self.acked.append((lid, body["id"]))
                else:
                    self.refused.append((status, answer))

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + LIMIT
        while self.count() < n and self.is_alive():
            assert time.monotonic() < deadline, f"the writer did not reach {n} acknowledgements"
            time.sleep(0.02)
        assert self.count() >= n, f"the writer stopped at {self.count()}: {self.refused[:3]}"


# --- 1. a backup while the server is serving and being written to ---------------------------------
def test_a_backup_taken_during_writes_restores_to_a_record_that_verifies(tmp_path):
    source, folder, target = tmp_path / "source", tmp_path / "backup", tmp_path / "restored"
    source.mkdir()
    record = build_record(source)
    served = start_server(env_for(source), source, tmp_path / "serve.log")
    writer = Writer(served.base, record["token"], record["targets"])
    try:
        writer.start()
        writer.wait_for(20)
        with writer.lock:
            acked_before = list(writer.acked)  # acknowledged before the backup started
        made = cli(source, "backup", str(folder))
        during = writer.count() - len(acked_before)
        writer.wait_for(writer.count() + 10)  # and the server goes on taking writes after it
    finally:
        writer.stop.set()
        writer.join(timeout=LIMIT)
        stop_server(served.proc)
    assert made.returncode == 0, made.stderr
    assert during > 0, "nothing was written while the backup was being taken"
    assert not writer.refused, writer.refused[:3]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(f["name"] for f in manifest["files"]) == sorted(FILES)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES + ("manifest.json",))
    last = manifest["last_notification_id"]
    assert manifest["store_head"]["position"] == last
    assert manifest["read_model_position"] <= last
    assert manifest["rarpa_version"] and manifest["taken_at"]
    for line in ("read model", "event store", "vault", f"up to event {last}"):
        assert line in made.stdout, made.stdout
    # The source went on past the backup: the restore is of an earlier point.
    assert len(stored_rows(source / "rarpa.sqlite3")) > last

    restored = cli(target, "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    assert "verify ok" in restored.stdout
    checked = cli(target, "verify")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"ok: {last} events")

    # Byte for byte the source's events up to the backup's last one, and no more.
    assert stored_rows(target / "rarpa.sqlite3") == stored_rows(source / "rarpa.sqlite3", up_to=last)

    app = RecordApplication(Settings.from_env(env_for(target)))
    projector = Projector(app.settings.views, app)
    try:
        system = system_actor("test")
        kept = {lid: set(app.learner(system, lid).observations) for lid in record["targets"]}
        missing = [(lid, oid) for lid, oid in acked_before if oid not in kept[lid]]
        assert not missing, f"{len(missing)} acknowledged observations missing"
        assert projector.position() == last  # the restore caught the read model up
        for lid in record["targets"]:
            # What the source said as at the restored learner's last event is what the restore says now.
            now = history(target, lid, datetime.now(timezone.utc).isoformat())
            # Just after its last restored event: the source has more events, but later ones.
            last_event = datetime.fromisoformat(now["events"][-1]["recorded_at"])
            instant = (last_event + timedelta(microseconds=1)).isoformat()
            then = history(source, lid, instant)
            assert history(target, lid, instant) == then
            assert then["events"] == now["events"]
            assert queries.progress(projector.reader(), lid) == now["progress"]
    finally:
        projector.close()
        app.close()


# --- 2. a quiet store: restored, it answers identically -------------------------------------------------
@pytest.fixture
def quiet(tmp_path):
    """A store with the shared world's learners and some observations, its read
    model caught up, then closed: (folder, learner ids)."""
    source = tmp_path / "source"
    source.mkdir()
    record = build_record(source)
    app = RecordApplication(Settings.from_env(env_for(source)))
    projector = Projector(app.settings.views, app)
    try:
        system = system_actor("test")
        for i, (lid, tid) in enumerate(record["targets"].items()):
            for rating in ("emerging", "developing", "secure")[: i + 1]:
                app.record_observation(system, lid, **observation(tid, rating=rating, note="Paid with a card"))
        projector.catch_up()
    finally:
        projector.close()
        app.close()
    return source, list(record["targets"])


def dump(folder: Path) -> dict:
    conn = sqlite3.connect(folder / "rarpa-views.sqlite3")
    try:
        return {name: conn.execute(f"SELECT * FROM [{name}] ORDER BY 1, 2").fetchall() for name in TABLES}
    finally:
        conn.close()


def test_a_quiet_store_restored_answers_identically(quiet, tmp_path):
    source, learners = quiet
    folder, target = tmp_path / "backup", tmp_path / "restored"
    assert cli(source, "backup", str(folder)).returncode == 0
    restored = cli(target, "restore", str(folder))
    assert restored.returncode == 0, restored.stderr
    instant = datetime.now(timezone.utc).isoformat()
    for lid in learners:
        assert history(target, lid, instant) == history(source, lid, instant)
    assert dump(target) == dump(source)
    assert cli(target, "verify").stdout == cli(source, "verify").stdout
    # The restored store is a working one: it takes a write and still verifies.
    app = RecordApplication(Settings.from_env(env_for(target)))
    try:
        tid = next(iter(app.learner(system_actor("test"), learners[0]).targets))
        app.record_observation(system_actor("test"), learners[0], **observation(tid, rating="generalised"))
        assert verify(app).ok
    finally:
        app.close()


# --- 3. refusals: nothing written -----------------------------------------------------------------------
def test_backup_refuses_a_folder_that_is_not_empty(quiet, tmp_path):
    source, _ = quiet
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "notes.txt").write_text("last week's backup went elsewhere")
    before = listing(folder)
    assert_refused(cli(source, "backup", str(folder)), 2, "is not empty")
    assert listing(folder) == before
    file = tmp_path / "a-file"
    file.write_text("x")
    refused = cli(source, "backup", str(file))  # click's own usage error: also exit 2, one readable line
    assert refused.returncode == 2 and "is a file" in refused.stderr and "Traceback" not in refused.stderr


def test_restore_refuses_an_existing_file_and_a_manifest_mismatch_writing_nothing(quiet, tmp_path):
    source, _ = quiet
    folder = tmp_path / "backup"
    assert cli(source, "backup", str(folder)).returncode == 0
    # Any one file of the store already there (even a lone -wal): refused, named, nothing written.
    for existing in ("rarpa.sqlite3", "rarpa-vault.sqlite3", "rarpa-views.sqlite3", "rarpa.sqlite3-wal"):
        target = tmp_path / f"over-{existing}"
        target.mkdir()
        (target / existing).write_bytes(b"someone's data")
        before = listing(target)
        assert_refused(cli(target, "restore", str(folder)), 2, str(target / existing), "already exists")
        assert listing(target) == before
    # One byte of a copied file altered: refused, naming that file, nothing written.
    for name in FILES:
        altered = tmp_path / f"altered-{name}"
        altered.mkdir()
        for f in folder.iterdir():
            (altered / f.name).write_bytes(f.read_bytes())
        data = bytearray((altered / name).read_bytes())
        data[len(data) // 2] ^= 0x01
        (altered / name).write_bytes(bytes(data))
        target = tmp_path / f"fresh-{name}"
        assert_refused(cli(target, "restore", str(altered)), 1, name, "does not match its SHA-256")
        assert listing(target) == {}
    # No manifest at all.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "rarpa.sqlite3").write_bytes((folder / "rarpa.sqlite3").read_bytes())
    assert_refused(cli(tmp_path / "fresh-bare", "restore", str(bare)), 1, "manifest.json")
    assert listing(tmp_path / "fresh-bare") == {}
    # The intact backup still restores.
    assert cli(tmp_path / "fresh", "restore", str(folder)).returncode == 0


# --- 4. what happens between the copies ------------------------------------------------------------------
def test_writes_between_the_store_copy_and_the_vault_copy_do_not_make_the_restore_look_behind(
        app, projector, world, system, tmp_path):
    """The vault is copied after the event store, so its mirror of the signed head
    may name an event the copied store does not have; the backup's vault names
    the copied store's own head instead."""
    projector.catch_up()
    amy = world["learners"]["amy"]

    def write_between(part):
        if part.setting == "db":
            app.record_observation(system, amy, **observation(world["amy"]["target"], rating="secure"))

    lines: list[str] = []
    manifest = backups.backup(app.settings, tmp_path / "backup", echo=lines.append, after_copy=write_between)
    last = manifest["last_notification_id"]
    newer = app.vault.remembered_head()
    assert newer[0] > last  # the source's vault saw a head after the copied store's
    vault_copy = sqlite3.connect(tmp_path / "backup" / "rarpa-vault.sqlite3")
    assert vault_copy.execute("SELECT position FROM store_head").fetchone()[0] == last
    vault_copy.close()

    target = Settings.from_env({"RARPA_DB": str(tmp_path / "restored" / "rarpa.sqlite3"),
                                "RARPA_PASSWORD_PROFILE": "cheapest"})
    backups.restore(tmp_path / "backup", target, echo=lines.append)
    restored = RecordApplication(target)
    try:
        report = verify(restored)
        assert report.ok, report.problems
        assert report.signed_head == last
        # The control: with the newer head the source's vault had seen, the same
        # restored store would look put back behind its vault.
        restored.vault.remember_head(*newer)
        assert any("behind the vault" in p for p in verify(restored).problems)
    finally:
        restored.close()


def test_a_learner_erased_during_the_backup_starts_it_again_and_nothing_of_them_is_in_it(
        app, projector, world, system, tmp_path):
    """Erased (as `rarpa erase` does: the event, the key, the read model caught
    up) between the store copy and the vault copy: the first attempt would hold
    a store without the erasure beside a vault without the key, and a read model
    with the learner's words. The backup starts again."""
    amy = world["learners"]["amy"]
    app.record_observation(system, amy, **observation(world["amy"]["target"], note="Amy counted her change"))
    projector.catch_up()
    calls = []

    def erase_between(part):
        calls.append(part.setting)
        if part.setting == "db" and calls.count("db") == 1:
            app.erase_learner(system, amy, "Erasure request of 2026-11-20")
            projector.catch_up()
            projector.scrub()

    lines: list[str] = []
    manifest = backups.backup(app.settings, tmp_path / "backup", echo=lines.append, after_copy=erase_between)
    assert calls == ["views", "db", "views", "db", "vault"]
    assert any("starting again" in line for line in lines), lines
    assert sorted(f["name"] for f in manifest["files"]) == sorted(FILES)
    assert_restores_erased(tmp_path, manifest, amy)


def test_a_read_model_that_has_not_applied_an_erasure_is_left_out(app, projector, world, system, tmp_path):
    """The erasure is in the store, but the read model has not caught up with it
    (it would still name the learner): the backup leaves it out, and the
    restore builds it from the events."""
    amy = world["learners"]["amy"]
    app.record_observation(system, amy, **observation(world["amy"]["target"], note="Amy counted her change"))
    projector.catch_up()
    app.erase_learner(system, amy, "Erasure request of 2026-11-20")  # the read model not told
    assert traces(tmp_path, {"name": b"Amy Jones"})  # still in the live read model
    lines: list[str] = []
    manifest = backups.backup(app.settings, tmp_path / "backup", echo=lines.append)
    assert sorted(f["name"] for f in manifest["files"]) == ["rarpa-vault.sqlite3", "rarpa.sqlite3"]
    assert manifest["read_model_position"] is None
    assert any("left out" in line for line in lines), lines
    assert_restores_erased(tmp_path, manifest, amy)


def assert_restores_erased(tmp_path: Path, manifest: dict, amy: str) -> None:
    """Nothing of Amy in the backup; restored, the record verifies and counts her, unnamed."""
    needles = {"name": b"Amy Jones", "note": b"Amy counted her change"}
    assert traces(tmp_path / "backup", needles) == []
    target = Settings.from_env({"RARPA_DB": str(tmp_path / "restored" / "rarpa.sqlite3"),
                                "RARPA_PASSWORD_PROFILE": "cheapest"})
    backups.restore(tmp_path / "backup", target, echo=lambda line: None)
    restored = RecordApplication(target)
    restored_views = Projector(target.views, restored)
    try:
        restored_views.catch_up()  # as `rarpa restore` does
        assert verify(restored).ok
        assert restored.recorder.max_notification_id() == manifest["last_notification_id"]
        row = restored_views.reader().execute("SELECT name, status FROM learners WHERE id=?", [amy]).fetchone()
        assert tuple(row) == ("(erased)", "erased")
    finally:
        restored_views.close()
        restored.close()
    assert traces(tmp_path / "restored", needles) == []

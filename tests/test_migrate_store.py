"""`rarpa migrate-store TARGET_URL`: a college's SQLite record moved into
PostgreSQL, once, and shown to be the same there through the public surface
(the `rarpa` command, the API on a Services opened on the target).

One SQLite store is built for the module (always SQLite, whatever store the
run uses): four learners with observations, a correction, photos, one
learner erased (and their photo with them), another with enough events for a
snapshot, API tokens (one revoked) and access-log entries from reading
progress through the API. It is migrated once into a schema of the run's
PostgreSQL; the refusals each get a target of their own.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from rarpa.config import Settings
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.store import access_log
from tests.conftest import PASSWORD, observation
from tests.localhost import free_port
from tests.test_photos import noise_jpeg

pytestmark = pytest.mark.postgres_only

RARPA = Path(sys.executable).parent / "rarpa"
LIMIT = 180  # seconds: a safety net against a hung command, not a timing check
API = "/api/v1"


# --- the source: a SQLite store -----------------------------------------------------------------
class Source:
    def __init__(self, folder: Path):
        self.folder = folder
        self.settings = Settings.from_env({"RARPA_DB": str(folder / "rarpa.sqlite3"),
                                           "RARPA_PASSWORD_PROFILE": "cheapest"})
        self.learners: dict[str, dict] = {}
        self.photos: dict[str, tuple[str, str]] = {}  # learner -> (observation id, photo id)
        self.answers: dict[str, tuple[int, object]] = {}  # path -> (status, JSON or bytes), read on the source
        self.token = self.revoked = ""

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
        env.update(RARPA_DB=self.settings.db, RARPA_PASSWORD_PROFILE="cheapest", **extra)
        return env

    def counts(self) -> dict[str, object]:
        with sqlite3.connect(self.settings.db) as db, sqlite3.connect(self.settings.vault) as vault:
            return {
                "events": db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0],
                "last": db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0],
                "snapshots": db.execute("SELECT COUNT(*) FROM stored_snapshots").fetchone()[0],
                "photos": db.execute("SELECT COUNT(*) FROM photo_files").fetchone()[0],
                "access": vault.execute("SELECT id, entry_hash FROM access_log ORDER BY id").fetchall(),
                "keys": vault.execute("SELECT stream_id, key, created_at, destroyed_at, destroyed_reason "
                                      "FROM stream_keys ORDER BY stream_id").fetchall(),
            }


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(RARPA), *args], env=env, capture_output=True, text=True, timeout=LIMIT)


def target_env(url: str, folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(RARPA_DB=url, RARPA_VIEWS=str(folder / f"views-{uuid.uuid4().hex[:6]}.sqlite3"),
               RARPA_PASSWORD_PROFILE="cheapest")
    return env


def target_settings(url: str, folder: Path) -> Settings:
    return Settings.from_env(target_env(url, folder))


def api_client(settings: Settings):
    from web import create_app
    from web.services import Services

    services = Services(settings)
    flask_app = create_app(services=services)
    flask_app.testing = True
    return services, flask_app.test_client()


def tables_in(postgres, schema: str) -> dict[str, int]:
    """Every table of the schema with its row count (nothing: the schema is empty or absent)."""
    with psycopg.connect(postgres.url()) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (schema,))]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{schema}"."{n}"').fetchone()[0] for n in names}


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Source:
    src = Source(tmp_path_factory.mktemp("sqlite-source"))
    app = RecordApplication(src.settings)
    system = system_actor("test")
    try:
        app.register_provider(system, "northfield", "Northfield College")
        app.register_provider(system, "riverside", "Riverside Specialist College")
        for email, role, provider in (("lead@example.org", "send_lead", "northfield"),
                                      ("tutor@example.org", "tutor", "northfield"),
                                      ("lead.riverside@example.org", "send_lead", "riverside")):
            app.add_user(system, email=email, role=role, password=PASSWORD, provider=provider)
        for name in ("Amy Jones", "Ben Smith", "Cara Patel", "Dev Shah"):
            lid = app.enrol_learner(system, name=name, date_of_birth="2007-03-01", provider="northfield").result
            oid = app.record_outcome(system, lid, text="Travel to college on the bus", pfa_area="independent_living",
                                     due="2027-07-01").result
            tid = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                                 outcome_ids=[oid], baseline="emerging", review_by="2027-01-15").result
            first = None
            for minutes, rating in ((300, "emerging"), (200, "developing"), (100, "secure")):
                body = observation(tid, rating, minutes_ago=minutes)
                app.record_observation(system, lid, **body)
                first = first or body["observation_id"]
            src.learners[name.split()[0].lower()] = {"lid": lid, "target": tid, "first": first}
        amy, cara, dev = (src.learners[k] for k in ("amy", "cara", "dev"))
        app.correct_observation(system, amy["lid"], observation_id=amy["first"], rating="developing",
                                reason="Rated against the wrong target on the day")
        for seed, who in enumerate(("amy", "cara"), start=31):
            learner = src.learners[who]
            app.record_consent(system, learner["lid"], consent="photographs", given=True, reason="She said yes")
            body = observation(learner["target"], "secure", minutes_ago=50)
            written = app.record_observation_with_photo(system, learner["lid"], photo=noise_jpeg(seed=seed), **body)
            src.photos[who] = (body["observation_id"], written.result["photo_id"])
        for minutes in range(110):  # more than a snapshot's worth of events
            app.record_observation(system, dev["lid"], **observation(dev["target"], "developing",
                                                                     minutes_ago=2000 + minutes))
        app.erase_learner(system, cara["lid"], "Erasure request received 2026-11-20")
        src.token = app.create_token("lead@example.org", "reports")
        src.revoked = app.create_token("tutor@example.org", "old laptop")
        app.vault.revoke_tokens(str(app.user("tutor@example.org").id))
    finally:
        app.close()
    # Reading through the API writes access-log entries, and gives the source's answers.
    services, client = api_client(src.settings)
    try:
        for path in _paths(src):
            response = client.get(path, headers={"Authorization": f"Bearer {src.token}"})
            src.answers[path] = (response.status_code,
                                 response.get_json() if response.is_json else response.get_data())
    finally:
        services.close()
    return src


def _paths(src: Source) -> list[str]:
    paths = [f"{API}/learners/{v['lid']}/progress" for v in src.learners.values()]
    for who, (observation_id, photo_id) in src.photos.items():
        paths.append(f"{API}/learners/{src.learners[who]['lid']}/observations/{observation_id}/photos/{photo_id}")
    return paths


@pytest.fixture(scope="module")
def moved(source, postgres, tmp_path_factory):
    """The source migrated into a schema of its own: (URL, schema, the source's counts, the command's output)."""
    schema = f"moved_{uuid.uuid4().hex[:8]}"
    url = postgres.schema_url(schema)
    before = source.counts()
    result = run(["migrate-store", url], source.env())
    assert result.returncode == 0, result.stdout + result.stderr
    return {"url": url, "schema": schema, "before": before, "out": result.stdout,
            "folder": tmp_path_factory.mktemp("moved")}


# --- the copy is the same record --------------------------------------------------------------------
def test_the_copy_verifies_through_the_cli_and_says_what_it_moved(moved):
    before = moved["before"]
    assert before["snapshots"] >= 1 and before["photos"] == 1  # Dev's snapshot; Amy's photo (Cara's went)
    assert f"migrated {before['events']:,} events" in moved["out"]
    assert ", 1 photo," in moved["out"] and "(1 destroyed)" in moved["out"]
    assert f"{len(before['access'])} access-log entries" in moved["out"]
    assert "events/s" in moved["out"] and "the read model the same row for row" in moved["out"]
    checked = run(["verify"], target_env(moved["url"], moved["folder"]))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"ok: {before['events']} events")
    assert f"head signed by the application at event {before['last']}," in checked.stdout
    assert "1 photo as recorded" in checked.stdout


def test_every_learner_fingerprint_is_the_same(source, moved):
    old = RecordApplication(source.settings)
    new = RecordApplication(target_settings(moved["url"], moved["folder"]))
    try:
        for who, learner in source.learners.items():
            lid = uuid.UUID(learner["lid"])
            version = len(old.recorder.select_events(lid))
            assert len(new.recorder.select_events(lid)) == version
            assert new.fingerprint(lid, version) == old.fingerprint(lid, version) != "", who
            assert new.recorder.links_of(lid) == old.recorder.links_of(lid)  # the whole chain, not just its head
        amy = source.learners["amy"]["lid"]
        fingerprint = old.fingerprint(uuid.UUID(amy), len(old.recorder.select_events(uuid.UUID(amy))))
    finally:
        old.close()
        new.close()
    # A fingerprint taken from the SQLite record (say, printed on a pack) checks on PostgreSQL.
    checked = run(["verify", "--fingerprint", amy, fingerprint], target_env(moved["url"], moved["folder"]))
    assert checked.returncode == 0, checked.stderr
    assert "is unchanged; nothing recorded after it" in checked.stdout


def test_progress_photos_and_tokens_answer_the_same_on_postgresql(source, moved):
    services, client = api_client(target_settings(moved["url"], moved["folder"]))
    try:
        for path, (status, body) in source.answers.items():
            response = client.get(path, headers={"Authorization": f"Bearer {source.token}"})  # made before the move
            assert response.status_code == status, path
            assert (response.get_json() if response.is_json else response.get_data()) == body, path
        amy = source.learners["amy"]["lid"]
        assert source.answers[f"{API}/learners/{amy}/progress"][0] == 200
        observation_id, photo_id = source.photos["amy"]
        jpeg = source.answers[f"{API}/learners/{amy}/observations/{observation_id}/photos/{photo_id}"][1]
        assert isinstance(jpeg, bytes) and jpeg[:3] == b"\xff\xd8\xff"  # the photo itself, the same bytes
        # The token revoked before the move stays revoked.
        refused = client.get(f"{API}/learners/{amy}/progress", headers={"Authorization": f"Bearer {source.revoked}"})
        assert refused.status_code == 401
    finally:
        services.close()


def test_the_erased_learner_stays_erased_and_their_photo_is_gone(source, moved, postgres):
    cara = source.learners["cara"]["lid"]
    observation_id, photo_id = source.photos["cara"]
    services, client = api_client(target_settings(moved["url"], moved["folder"]))
    try:
        lead = {"Authorization": f"Bearer {source.token}"}
        assert client.get(f"{API}/learners/{cara}/progress", headers=lead).status_code == 410
        photo = client.get(f"{API}/learners/{cara}/observations/{observation_id}/photos/{photo_id}", headers=lead)
        assert photo.status_code in (404, 410)
        assert services.app.vault.key_for(cara, create=False) is None
    finally:
        services.close()
    with psycopg.connect(moved["url"]) as conn:
        assert conn.execute("SELECT COUNT(*) FROM photo_files WHERE learner_id=%s", (cara,)).fetchone()[0] == 0
        keys = conn.execute("SELECT stream_id, key, created_at, destroyed_at, destroyed_reason FROM stream_keys "
                            "ORDER BY stream_id").fetchall()
    # Every key as it was, a destroyed one destroyed, with when and why.
    assert [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in keys] == \
        moved["before"]["keys"]
    assert [row for row in keys if row[0] == cara][0][1] is None


def test_the_access_log_arrives_with_its_chain(source, moved):
    before = moved["before"]["access"]
    # The reads answered on the source were logged there (the erased learner's refused ones are not).
    assert len(before) == sum(1 for status, _ in source.answers.values() if status == 200) > 0
    with psycopg.connect(moved["url"]) as conn:
        copied = [(i, bytes(h)) for i, h in conn.execute("SELECT id, entry_hash FROM access_log ORDER BY id")]
        walked = list(access_log.walk(conn))
    assert copied[:len(before)] == [(i, bytes(h)) for i, h in before]
    assert walked and all(ok for _, ok, _ in walked)


def test_a_copy_that_is_not_the_same_exits_1_naming_what_differs(source, postgres, monkeypatch):
    """Whatever goes wrong between the copy and the checks (here: an
    access-log entry and the photo lost on the way) is named, and the exit
    status says so."""
    from click.testing import CliRunner

    from rarpa.cli import main
    from rarpa.store import migrate

    url = postgres.schema_url(f"lossy_{uuid.uuid4().hex[:8]}")
    real_copy = migrate.copy

    def lossy_copy(settings, target, **kw):
        counts = real_copy(settings, target, **kw)
        with psycopg.connect(target) as conn:
            conn.execute("DELETE FROM access_log WHERE id=(SELECT MAX(id) FROM access_log)")
            conn.execute("DELETE FROM photo_files")
        return counts

    monkeypatch.setattr(migrate, "copy", lossy_copy)
    result = CliRunner().invoke(main, ["migrate-store", url], env=source.env())
    assert result.exit_code == 1, result.output
    entries, photos = len(source.counts()["access"]), source.counts()["photos"]
    assert f"error: the copy is not the same as the source: photos: {photos} on the source, 0 on the target" \
        in result.stderr
    assert f"access-log entries: {entries} on the source, {entries - 1} on the target" in result.stderr
    amy_photo = source.photos["amy"][1]
    assert f"the target does not verify: learner {source.learners['amy']['lid']}: photo {amy_photo} (photo) is " \
        "named by its event but is not kept" in result.stderr
    assert "DROP SCHEMA" in result.stderr


# --- refused, with one line, and nothing written ------------------------------------------------------
def test_a_target_holding_a_record_is_refused_and_left_as_it_was(source, moved):
    with psycopg.connect(moved["url"]) as conn:
        count = conn.execute("SELECT COUNT(*), MAX(notification_id) FROM rarpa_events").fetchone()
    line = one_line(run(["migrate-store", moved["url"]], source.env()))
    assert f"already holds {count[0]:,} events" in line
    assert f'DROP SCHEMA "{moved["schema"]}" CASCADE' in line
    with psycopg.connect(moved["url"]) as conn:
        assert conn.execute("SELECT COUNT(*), MAX(notification_id) FROM rarpa_events").fetchone() == count


def test_a_sqlite_target_is_refused(source, tmp_path):
    target = tmp_path / "bigger.sqlite3"
    line = one_line(run(["migrate-store", str(target)], source.env()))
    assert "must be a postgresql:// URL" in line
    assert not target.exists()


def test_an_unreachable_target_is_refused(source):
    port = free_port()
    line = one_line(run(["migrate-store", f"postgresql://postgres@127.0.0.1:{port}/postgres"], source.env()))
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}" in line and "nothing was written" in line


def test_a_source_already_on_postgresql_is_refused(postgres, tmp_path):
    schema = f"from_{uuid.uuid4().hex[:8]}"
    env = target_env(postgres.schema_url(f"already_{uuid.uuid4().hex[:8]}"), tmp_path)
    line = one_line(run(["migrate-store", postgres.schema_url(schema)], env))
    assert "already a PostgreSQL store" in line
    assert tables_in(postgres, schema) == {}


@pytest.mark.parametrize("who", ["ben", "amy"])  # Amy has a photo: verify replays her record, and it does not open
def test_a_tampered_source_is_refused_and_nothing_is_copied(source, postgres, tmp_path, who):
    for name in ("rarpa.sqlite3", "rarpa-vault.sqlite3"):  # a consistent copy of each file
        with sqlite3.connect(Path(source.settings.db).with_name(name)) as live, \
                sqlite3.connect(tmp_path / name) as copy:
            live.backup(copy)
    with sqlite3.connect(tmp_path / "rarpa.sqlite3") as db:
        rowid, oid, version, state = db.execute(
            "SELECT rowid, originator_id, originator_version, state FROM stored_events "
            "WHERE topic LIKE '%ObservationRecorded%' AND originator_id=? ORDER BY rowid LIMIT 1",
            (uuid.UUID(source.learners[who]["lid"]).hex,)).fetchone()
        db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state[:-1] + bytes([state[-1] ^ 1]), rowid))
    schema = f"tampered_{uuid.uuid4().hex[:8]}"
    env = {**source.env(), "RARPA_DB": str(tmp_path / "rarpa.sqlite3")}
    result = run(["migrate-store", postgres.schema_url(schema)], env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("error: ") and "does not verify" in lines[0] and "nothing was copied" in lines[0]
    # verify's report, its first problems under the line
    assert f"stream {uuid.UUID(oid)} event {version} (row {rowid})" in lines[1]
    if who == "amy":  # and why her photos were not checked
        said = f"stream {uuid.UUID(oid)} event {version}: it fails its integrity check, so learner {uuid.UUID(oid)}'s"
        assert any(said in line and "photos were not checked" in line for line in lines[2:]), lines
    assert sum(tables_in(postgres, schema).values()) == 0  # not a row written


# --- killed midway ---------------------------------------------------------------------------------
def _migration_waiting(postgres) -> int | None:
    """The pid of a migration's server process waiting to copy the photos."""
    with psycopg.connect(postgres.url()) as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type='Lock' "
                           "AND query LIKE 'COPY photo_files%%'").fetchone()
    return row[0] if row else None


def _alive(postgres, pid: int) -> bool:
    with psycopg.connect(postgres.url()) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid=%s", (pid,)).fetchone() is not None


def test_a_copy_killed_midway_leaves_nothing_and_a_second_run_completes(source, postgres, tmp_path):
    schema = f"killed_{uuid.uuid4().hex[:8]}"
    url = postgres.schema_url(schema)
    made = RecordApplication(target_settings(url, tmp_path))  # the empty tables, as migrate-store makes them first
    assert made.photo_store.count() == 0
    made.close()
    # Writers of the photos' table wait while this is held: the copy gets as
    # far as the photos (every event written) and waits there to be killed.
    blocker = psycopg.connect(url)
    blocker.execute("LOCK TABLE photo_files IN SHARE MODE")
    proc = subprocess.Popen([str(RARPA), "migrate-store", url], env=source.env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + LIMIT
        while (pid := _migration_waiting(postgres)) is None:
            assert proc.poll() is None and time.monotonic() < deadline, "the migration never reached the photos"
            time.sleep(0.05)
        with psycopg.connect(url) as conn:  # the events are written, not committed
            assert conn.execute("SELECT pg_relation_size('rarpa_events')").fetchone()[0] > 0
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=LIMIT)
    finally:
        if proc.poll() is None:
            proc.kill()
        blocker.rollback()
        blocker.close()
    deadline = time.monotonic() + LIMIT
    while _alive(postgres, pid):  # its server process finds the client gone and rolls back
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # The read model it was building from the source (names and all) is not left behind either.
    while list(Path(source.settings.db).parent.glob(".rarpa-migrate-*")):
        assert time.monotonic() < deadline, "a killed migration left its read-model folder"
        time.sleep(0.05)
    left = tables_in(postgres, schema)
    assert left["rarpa_events"] == left["stream_keys"] == left["access_log"] == left["photo_files"] == 0
    again = run(["migrate-store", url], source.env())
    assert again.returncode == 0, again.stdout + again.stderr
    # The record goes on there: the next event follows the last one copied.
    app = RecordApplication(target_settings(url, tmp_path))
    try:
        last = app.recorder.max_notification_id()
        assert last == source.counts()["last"]
        assert app.register_provider(system_actor("test"), "eastgate", "Eastgate College").position == last + 1
    finally:
        app.close()
    checked = run(["verify"], target_env(url, tmp_path))
    assert checked.returncode == 0 and f"head signed by the application at event {last + 1}," in checked.stdout

"""The `rarpa` command line, run as a real subprocess against real SQLite files.

Two demo stores are built once per module and never changed:

* ``demo_store``: the full demo (14 learners), loaded without RARPA_DEMO_PASSWORD,
  so the demo generates and prints a password;
* ``small_store``: ``demo --learners 3`` with RARPA_DEMO_PASSWORD set, the
  pristine original for the tamper tests.

Every test that writes (adds users, rebuilds, tampers, serves) works on its own
copy, made with SQLite's backup API so the WAL is copied consistently.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rarpa.cli.demo import demo_learner_id
from rarpa.cli.demo_content import LEARNERS
from tests.localhost import http_get, serving
from tests.localhost import db_env

# The fixtures copy one demo's SQLite files for each test (sqlite3's backup): on PostgreSQL the
# commands are run by tests/test_postgres_nodes.py and tests/test_migrate_store.py instead.
pytestmark = pytest.mark.sqlite_file

RARPA_SCRIPT = Path(sys.executable).parent / "rarpa"
DEMO_PASSWORD = "demo-password-for-tests"
STORE_FILES = ("rarpa.sqlite3", "rarpa-views.sqlite3", "rarpa-vault.sqlite3")
READ_MODEL_TABLES = ("learners", "targets", "outcomes", "observations")
SUBPROCESS_LIMIT = 180  # seconds: a safety net against a hung command, not a timing check

LEARNER_0 = str(demo_learner_id(0))  # Amir, Northfield (dual placement at Riverside)
RIVERSIDE_ONLY = next(str(demo_learner_id(i)) for i, row in enumerate(LEARNERS) if row[3] == "riverside")


# --- helpers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Store:
    """One store on disk: the event store plus the read model and vault beside it."""

    folder: Path

    @property
    def db(self) -> Path:
        return self.folder / "rarpa.sqlite3"

    @property
    def views(self) -> Path:
        return self.folder / "rarpa-views.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        """The caller's environment without any RARPA_* setting, pointed at this store."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
        env.update(db_env(self.db))  # this file, or its own schema with --store=postgres
        env["RARPA_PASSWORD_PROFILE"] = "cheapest"  # real argon2, quicker
        env.update(extra)
        return env


def run_cli(args, env, input: str | None = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m rarpa.cli ARGS`; stdin is never a terminal (empty unless given)."""
    return subprocess.run(
        [sys.executable, "-m", "rarpa.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        cwd=cwd or Path(env.get("RARPA_VIEWS") or env["RARPA_DB"]).parent,
        timeout=SUBPROCESS_LIMIT,
    )


def assert_clean_error(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """A failure the user can read: the exit code, an `error:` line, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for word in words:
        assert word in result.stderr.lower(), result.stderr


def copy_store(source: Store, folder: Path) -> Store:
    folder.mkdir(parents=True, exist_ok=True)
    for name in STORE_FILES:
        src = sqlite3.connect(source.folder / name)
        dst = sqlite3.connect(folder / name)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    return Store(folder)


def query(path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def max_rowid(store: Store) -> int:
    return query(store.db, "SELECT MAX(rowid) FROM stored_events")[0][0]


def dump_read_model(store: Store) -> dict[str, list[tuple]]:
    """Every row of the read-model tables people read, ordered by primary key."""
    return {table: query(store.views, f"SELECT * FROM [{table}] ORDER BY id") for table in READ_MODEL_TABLES}


def history_json(store: Store, learner_id: str, *extra: str) -> dict:
    result = run_cli(["history", learner_id, *extra], store.env())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)




# --- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The full demo, loaded once, without RARPA_DEMO_PASSWORD: (store, first output)."""
    store = Store(tmp_path_factory.mktemp("demo"))
    result = run_cli(["demo"], store.env())
    assert result.returncode == 0, result.stderr
    return store, result.stdout


@pytest.fixture(scope="module")
def demo_store(demo_run) -> Store:
    return demo_run[0]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Three learners, password from RARPA_DEMO_PASSWORD: (store, first output)."""
    store = Store(tmp_path_factory.mktemp("small"))
    result = run_cli(["demo", "--learners", "3"], store.env(RARPA_DEMO_PASSWORD=DEMO_PASSWORD))
    assert result.returncode == 0, result.stderr
    return store, result.stdout


@pytest.fixture(scope="module")
def small_store(small_run) -> Store:
    """The pristine small store: only ever copied, never changed."""
    return small_run[0]


@pytest.fixture
def own_demo(demo_store, tmp_path) -> Store:
    """A private copy of the full demo, for tests that write."""
    return copy_store(demo_store, tmp_path / "own-demo")


@pytest.fixture
def own_small(small_store, tmp_path) -> Store:
    """A private copy of the small demo, for tests that write or tamper."""
    return copy_store(small_store, tmp_path / "own-small")


# --- demo ----------------------------------------------------------------------------------
def test_demo_generates_and_prints_a_password_that_signs_in(demo_run):
    store, output = demo_run
    found = re.findall(r"^Demo password: (\S+)$", output, re.MULTILINE)
    assert len(found) == 1, output
    password = found[0]
    assert not password.startswith("(") and len(password) >= 12

    # The printed password is the one the demo users really have.
    from rarpa.service.application import RecordApplication
    from rarpa.config import Settings

    app = RecordApplication(Settings.from_env(db_env(store.db)))
    try:
        assert app.authenticate("tutor@example.org", password) is not None
        assert app.authenticate("admin@example.org", password) is not None
        assert app.authenticate("tutor@example.org", password + "x") is None
    finally:
        app.close()


def test_demo_loads_at_least_twelve_learners_into_the_read_model(demo_run):
    store, output = demo_run
    match = re.search(r"(\d+) learners \((\d+) new\)", output)
    assert match, output
    assert int(match.group(1)) >= 12 and match.group(1) == match.group(2)
    assert query(store.views, "SELECT COUNT(*) FROM learners")[0][0] == int(match.group(1))
    for user in ("tutor", "support", "lead", "auditor", "admin"):
        assert f"{user}@example.org" in output


def test_demo_again_adds_nothing(own_demo):
    before = max_rowid(own_demo)
    result = run_cli(["demo"], own_demo.env())
    assert result.returncode == 0, result.stderr
    assert "(0 new)" in result.stdout
    assert "Demo password:" not in result.stdout
    assert max_rowid(own_demo) == before


def test_demo_with_password_from_environment_does_not_echo_it(small_run):
    _, output = small_run
    assert "3 learners (3 new)" in output
    assert "Demo password: (from RARPA_DEMO_PASSWORD)" in output
    assert DEMO_PASSWORD not in output


def test_demo_again_with_the_same_password_adds_nothing(own_small):
    # The help text promises "idempotent: running it again adds nothing".
    before = max_rowid(own_small)
    result = run_cli(["demo", "--learners", "3"], own_small.env(RARPA_DEMO_PASSWORD=DEMO_PASSWORD))
    assert result.returncode == 0, result.stderr
    assert "(0 new)" in result.stdout
    assert max_rowid(own_small) == before, "re-running the demo wrote new events"


# --- tokens ------------------------------------------------------------------------------
def test_token_create_prints_the_token_alone(demo_store):
    result = run_cli(["token", "create", "tutor@example.org"], demo_store.env())
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rr_") and " " not in lines[0]
    again = run_cli(["token", "create", "tutor@example.org"], demo_store.env())
    assert again.stdout.strip() != lines[0], "each token must be new"


def test_token_create_for_unknown_email_fails_readably(demo_store):
    result = run_cli(["token", "create", "nobody@example.org"], demo_store.env())
    assert_clean_error(result, 1, "no such user")
    assert result.stdout == ""


# --- users and caseloads -------------------------------------------------------------------
def test_user_add_with_password_on_stdin(own_demo):
    result = run_cli(["user", "add", "new@example.org", "--role", "tutor", "--provider", "northfield"],
                     own_demo.env(), input="a long enough password\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added new@example.org (tutor)")
    # The user now exists: a token can be made, and adding them again is refused.
    assert run_cli(["token", "create", "new@example.org"], own_demo.env()).returncode == 0
    again = run_cli(["user", "add", "new@example.org", "--role", "tutor", "--provider", "northfield"],
                    own_demo.env(), input="a long enough password\n")
    assert_clean_error(again, 1, "already exists")


@pytest.mark.parametrize(
    "email, provider, password, word",
    [
        ("short@example.org", "northfield", "short", "password"),
        ("lost@example.org", "nowhere", "a long enough password", "provider"),
        ("not-an-email", "northfield", "a long enough password", "email"),
    ],
    ids=["short-password", "unknown-provider", "bad-email"],
)
def test_user_add_refuses_bad_input_and_writes_nothing(own_demo, email, provider, password, word):
    before = max_rowid(own_demo)
    result = run_cli(["user", "add", email, "--role", "tutor", "--provider", provider],
                     own_demo.env(), input=password + "\n")
    assert_clean_error(result, 1, word)
    assert max_rowid(own_demo) == before


def test_caseload_add_is_idempotent(own_demo):
    added = run_cli(["user", "add", "carer@example.org", "--role", "support", "--provider", "northfield"],
                    own_demo.env(), input="a long enough password\n")
    assert added.returncode == 0, added.stderr

    first = run_cli(["caseload", "add", "carer@example.org", LEARNER_0], own_demo.env())
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "added"

    before = max_rowid(own_demo)
    second = run_cli(["caseload", "add", "carer@example.org", LEARNER_0], own_demo.env())
    assert second.returncode == 0, second.stderr
    assert "already" in second.stdout
    assert max_rowid(own_demo) == before


def test_caseload_add_refuses_unknown_learner_and_other_provider(demo_store):
    unknown = run_cli(["caseload", "add", "tutor@example.org", str(uuid.uuid4())], demo_store.env())
    assert_clean_error(unknown, 1, "no such learner")
    elsewhere = run_cli(["caseload", "add", "tutor@example.org", RIVERSIDE_ONLY], demo_store.env())
    assert_clean_error(elsewhere, 1, "does not attend")


# --- history -------------------------------------------------------------------------------
def test_history_now_has_the_contract_fields(demo_store):
    history = history_json(demo_store, LEARNER_0)
    assert {"as_at", "events", "progress", "fingerprint"} <= history.keys()
    assert history["events"], "a demo learner has events"
    assert history["events"][0]["type"] == "LearnerEnrolled"
    for event in history["events"]:
        assert {"type", "recorded_at", "recorded_by"} <= event.keys()
    assert {"targets", "outcomes"} <= history["progress"].keys()
    assert history["progress"]["targets"]

    # The fingerprint is the head of the learner's hash chain as stored.
    last = len(history["events"])
    (chain_hash,), = query(demo_store.db,
                           "SELECT chain_hash FROM stored_events WHERE originator_id=? AND originator_version=?",
                           (uuid.UUID(LEARNER_0).hex, last))
    assert history["fingerprint"] == bytes(chain_hash).hex()  # in full: 64 hex digits


def test_history_as_at_mid_year_shows_only_what_was_recorded_then(demo_store):
    now = history_json(demo_store, LEARNER_0)
    moment = datetime.now(timezone.utc) - timedelta(days=182)
    then = history_json(demo_store, LEARNER_0, "--as-at", moment.isoformat())

    assert datetime.fromisoformat(then["as_at"]) == moment
    assert 0 < len(then["events"]) < len(now["events"])
    assert all(datetime.fromisoformat(e["recorded_at"]) <= moment for e in then["events"])
    # ...and it is exactly the start of today's history.
    assert then["events"] == now["events"][: len(then["events"])]


def test_history_as_at_accepts_any_offset(demo_store):
    moment = datetime.now(timezone.utc) - timedelta(days=100)
    in_utc = history_json(demo_store, LEARNER_0, "--as-at", moment.isoformat())
    plus_two = history_json(demo_store, LEARNER_0, "--as-at",
                            moment.astimezone(timezone(timedelta(hours=2))).isoformat())
    assert in_utc == plus_two


def test_history_as_at_before_the_first_event_is_an_error(demo_store):
    result = run_cli(["history", LEARNER_0, "--as-at", "2000-01-01T00:00:00Z"], demo_store.env())
    assert_clean_error(result, 1, "no such learner")
    assert result.stdout == ""


@pytest.mark.parametrize("value, word", [("2026-03-01T17:00:00", "timezone"), ("last tuesday", "iso")])
def test_history_as_at_must_be_an_aware_iso_datetime(demo_store, value, word):
    result = run_cli(["history", LEARNER_0, "--as-at", value], demo_store.env())
    assert_clean_error(result, 2, word)


def test_history_of_unknown_learner_fails_readably(demo_store):
    assert_clean_error(run_cli(["history", str(uuid.uuid4())], demo_store.env()), 1, "no such learner")
    assert_clean_error(run_cli(["history", "not-a-uuid"], demo_store.env()), 1, "no such learner")


# --- export ----------------------------------------------------------------------------------
def test_export_is_json_lines_matching_the_history(demo_store):
    result = run_cli(["export", LEARNER_0], demo_store.env())
    assert result.returncode == 0, result.stderr
    head, *rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert (head["learner_id"], head["events"]) == (LEARNER_0, len(rows))
    assert rows[0]["type"] == "LearnerEnrolled"
    assert len(rows) == len(history_json(demo_store, LEARNER_0)["events"])
    assert [r["position"] for r in rows] == list(range(1, len(rows) + 1))
    assert {r["stream"] for r in rows} == {LEARNER_0}


# --- events catalogue ------------------------------------------------------------------------
def test_events_lists_the_catalogue(demo_store):
    result = run_cli(["events"], demo_store.env())
    assert result.returncode == 0, result.stderr
    lines = {line.split(":", 1)[0]: line for line in result.stdout.splitlines()}
    assert "ObservationRecorded v2" in lines
    for field in ("observation_id", "target_id", "rating", "prompt_level", "observed_at"):
        assert field in lines["ObservationRecorded v2"]
    assert "LearnerEnrolled v1" in lines
    assert "ProviderRegistered v2 (clear)" in lines  # v2: the reason it was added (admin pages)


# --- verify ----------------------------------------------------------------------------------
def test_verify_untouched_store_is_ok(demo_store):
    result = run_cli(["verify"], demo_store.env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")
    total, last = query(demo_store.db, "SELECT COUNT(*), MAX(rowid) FROM stored_events")[0]
    assert f"ok: {total} events" in result.stdout
    assert f"head signed by the application at event {last}" in result.stdout


def _tamper(store: Store, kind: str, version: int) -> None:
    """Alter learner 0's event at `version` behind the application's back."""
    conn = sqlite3.connect(store.db)
    try:
        (rowid, state), = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id=? AND originator_version=?",
            (uuid.UUID(LEARNER_0).hex, version),
        ).fetchall()
        if kind == "flip-state-byte":
            altered = bytearray(state)
            altered[len(altered) // 2] ^= 0x01
            conn.execute("UPDATE stored_events SET state=? WHERE rowid=?", (bytes(altered), rowid))
        elif kind == "delete-event":
            conn.execute("DELETE FROM stored_events WHERE rowid=?", (rowid,))
        elif kind == "change-topic":
            conn.execute("UPDATE stored_events SET topic=topic || 'X' WHERE rowid=?", (rowid,))
        conn.commit()
    finally:
        conn.close()


def _learner_0_positions(store: Store) -> dict[str, int]:
    """An event covered by a snapshot of the stream, and one after its last snapshot."""
    hex_id = uuid.UUID(LEARNER_0).hex
    (last_event,), = query(store.db, "SELECT MAX(originator_version) FROM stored_events WHERE originator_id=?",
                           (hex_id,))
    (last_snapshot,), = query(store.db, "SELECT MAX(originator_version) FROM stored_snapshots "
                              "WHERE originator_id=?", (hex_id,))
    assert last_snapshot and last_event > last_snapshot + 2, "the demo learner should have a snapshot"
    return {"under-snapshot": last_snapshot // 2, "after-snapshot": (last_snapshot + last_event) // 2}


@pytest.mark.parametrize("where", ["after-snapshot", "under-snapshot"])
@pytest.mark.parametrize("kind", ["flip-state-byte", "delete-event", "change-topic"])
def test_verify_names_the_tampered_event(own_small, kind, where):
    version = _learner_0_positions(own_small)[where]
    _tamper(own_small, kind, version)

    result = run_cli(["verify"], own_small.env())
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "TAMPERED" in result.stderr
    if kind == "delete-event":
        # The event after the gap is the one named, saying which one is missing.
        assert f"stream {LEARNER_0} event {version + 1} " in result.stderr
        assert f"event {version} of the stream is missing" in result.stderr
    else:
        assert f"stream {LEARNER_0} event {version} " in result.stderr
        assert "hash does not match" in result.stderr


# --- rebuild ---------------------------------------------------------------------------------
def test_rebuild_gives_the_same_read_model(own_demo):
    before = dump_read_model(own_demo)
    assert all(before.values()), "every table has rows before the rebuild"

    result = run_cli(["rebuild"], own_demo.env())
    assert result.returncode == 0, result.stderr
    match = re.search(r"rebuilt to event (\d+)", result.stdout)
    assert match, result.stdout
    assert int(match.group(1)) == max_rowid(own_demo)

    after = dump_read_model(own_demo)
    for table in READ_MODEL_TABLES:
        assert after[table] == before[table], f"{table} differs after the rebuild"


# --- other environment ---------------------------------------------------------------------
def test_an_unreachable_postgresql_is_said_in_one_readable_line(tmp_path):
    from tests.localhost import free_port

    port = free_port()  # nothing listens there
    env = Store(tmp_path).env(RARPA_DB=f"postgresql://postgres@127.0.0.1:{port}/rarpa")
    result = run_cli(["verify"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"RARPA_DB: cannot reach PostgreSQL at 127.0.0.1:{port}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_vault_file_beside_postgresql_is_refused_readably(tmp_path):
    env = Store(tmp_path).env(RARPA_DB="postgresql://postgres@127.0.0.1:1/rarpa", RARPA_VAULT=str(tmp_path / "v.db"))
    result = run_cli(["verify"], env, cwd=tmp_path)
    assert result.returncode == 1
    assert "RARPA_VAULT" in result.stderr and "Traceback" not in result.stderr


# --- serve -----------------------------------------------------------------------------------
def test_serve_answers_the_api_with_a_cli_token(own_demo, tmp_path):
    token = run_cli(["token", "create", "tutor@example.org"], own_demo.env()).stdout.strip()
    assert token.startswith("rr_")
    with serving(own_demo.env(), own_demo.folder, tmp_path / "serve.log") as served:
        base = served.base
        status, headers, body = http_get(f"{base}/api/v1/learners", token)
        assert status == 200, body
        assert headers.get_content_type() == "application/json"
        assert headers["Server"] == "rarpa"  # waitress, ident="rarpa"
        learners = json.loads(body)["learners"]
        assert LEARNER_0 in {row["id"] for row in learners}  # Amir is on the tutor's caseload
        assert RIVERSIDE_ONLY not in {row["id"] for row in learners}

        unauthenticated, _, _ = http_get(f"{base}/api/v1/learners")
        assert unauthenticated == 401

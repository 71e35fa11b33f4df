"""Erasure that cannot be undone: after `rarpa erase`, nothing of the learner
can be recovered from any file of the store, the vault or the read model
(-wal and -shm included), with the server still running and after it stops;
and the cohort's anonymous counts stay as they were."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rarpa.read import queries
from rarpa.read import cohort
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from tests.conftest import observation
from rarpa.config import Settings
from tests.localhost import http_get, post_json, start_server, stop_server
from tests.rawstore import raw_vault

NAME = "Zofia Wróblewska-Quint"
PREFERRED = "Zosia"
BIRTH = "2006-02-17"
NOTE = "Zosia poured her own drink at the cafe counter without a prompt"
OUTCOME = "Zosia travels to her work placement at the garden centre on her own"


def traces(folder: Path, needles: dict[str, bytes]) -> list[str]:
    """Every (file, what) where a needle's bytes are found in any file of the folder."""
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for what, needle in needles.items():
            if needle in data:
                found.append(f"{path.name}: {what}")
    return found


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(env["RARPA_VIEWS"]).parent)


@pytest.fixture
def served_store(tmp_path, settings):
    """A store with one learner whose every detail is distinctive, then a real
    server on it (the store's files are the folder's only files)."""
    app = RecordApplication(settings)
    system = system_actor("test")
    app.register_provider(system, "northfield", "Northfield College")
    app.add_user(system, email="tutor@example.org", role="tutor", password="correct horse battery",
                 provider="northfield")
    lid = app.enrol_learner(system, name=NAME, preferred_name=PREFERRED, date_of_birth=BIRTH,
                            provider="northfield").result
    other = app.enrol_learner(system, name="Bob Other", date_of_birth="2005-01-01", provider="northfield").result
    oid = app.record_outcome(system, lid, text=OUTCOME, pfa_area="employment", due="2027-07-01").result
    tid = app.set_target(system, lid, text="Pour a drink", success_criteria="On her own", outcome_ids=[oid],
                         baseline="emerging", review_by="2027-01-15").result
    app.add_to_caseload(system, "tutor@example.org", lid)
    app.add_to_caseload(system, "tutor@example.org", other)
    token = app.create_token("tutor@example.org")
    app.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(RARPA_DB=settings.db, RARPA_VIEWS=settings.views, RARPA_PASSWORD_PROFILE="cheapest")
    served = start_server(env, tmp_path, tmp_path.parent / f"{tmp_path.name}-serve.log")
    try:
        yield {"base": served.base, "token": token, "learner": lid, "target": tid, "env": env, "proc": served.proc,
               "folder": tmp_path}
    finally:
        stop_server(served.proc)


def test_erasure_leaves_nothing_recoverable_in_any_file(served_store):
    s = served_store
    base, token, lid = s["base"], s["token"], s["learner"]
    # The server writes the note itself and reads the record back, so the
    # learner is in its WAL, its read model and its caches.
    body = {"id": str(uuid.uuid4()), "target_id": s["target"], "rating": "secure", "context": "community",
            "note": NOTE, "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()}
    assert post_json(f"{base}/api/v1/learners/{lid}/observations", token, body)[0] == 201
    for path in ("", "/progress", "/history", "/events"):
        assert http_get(f"{base}/api/v1/learners/{lid}{path}", token)[0] == 200

    vault = raw_vault(Settings.from_env(s["env"]))
    key = vault.execute("SELECT key FROM stream_keys WHERE stream_id=?", [str(uuid.UUID(lid))]).fetchone()[0]
    vault.close()
    needles = {"name": NAME.encode(), "preferred name": f'"{PREFERRED}"'.encode(), "birth date": BIRTH.encode(),
               "note": NOTE.encode(), "outcome": OUTCOME.encode(), "key": bytes(key)}
    # The needles are there before: the search can find what it looks for.
    assert any("name" in t for t in traces(s["folder"], needles))

    erased = cli(s["env"], "erase", lid, "--reason", "Erasure request of 2026-11-20", "--yes")
    assert erased.returncode == 0, erased.stderr
    assert http_get(f"{base}/api/v1/learners/{lid}", token)[0] == 410
    # The server goes on working for everyone else.
    assert http_get(f"{base}/api/v1/learners", token)[0] == 200
    assert traces(s["folder"], needles) == []

    s["proc"].send_signal(signal.SIGTERM)
    s["proc"].wait(timeout=15)
    assert traces(s["folder"], needles) == []


def test_erasure_keeps_the_anonymous_cohort_counts(app, projector, world, system):
    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    for lid, key in ((amy, "amy"), (ben, "ben")):
        app.record_observation(system, lid, **observation(world[key]["target"], rating="secure"))
        app.record_destination(system, lid, kind="supported_internship", detail="Hospital kitchens",
                               starts_on="2026-01-05")
        extra = app.set_target(system, lid, text="Say hello", success_criteria="To a new person",
                               outcome_ids=[world[key]["outcome"]], baseline="not_yet", review_by="2027-02-01").result
        app.close_target(system, lid, target_id=extra, closed_as="achieved", reason="Done every day now")
    app.confirm_destination_sustained(system, amy, destination_id=_destination(app, amy), confirmed_on="2026-08-01")
    projector.catch_up()
    today = date(2026, 12, 3)
    auditor = world["actors"]["auditor"]
    lead = world["actors"]["send_lead"]

    def counts(actor):
        return {(r["measure"], r["group"]): r["count"]
                for r in cohort.cohort_counts(projector.reader(), actor, today)["rows"]}

    before = {"all": counts(auditor), "lead": counts(lead)}
    assert before["all"][("learners", "all")] == 2
    assert before["lead"][("destinations", "sustained (two terms)")] == 1

    app.erase_learner(system, amy, "Erasure request of 2026-11-20")
    projector.catch_up()
    assert {"all": counts(auditor), "lead": counts(lead)} == before
    projector.rebuild()
    assert {"all": counts(auditor), "lead": counts(lead)} == before
    # Counted, never named: nothing of Amy's words is left in the read model.
    conn = projector.reader()
    assert conn.execute("SELECT name FROM learners WHERE id=?", [amy]).fetchone()[0] == "(erased)"
    for table, column in (("targets", "text"), ("outcomes", "text"), ("destinations", "detail")):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE learner_id=? AND {column} IS NOT NULL",
                            [amy]).fetchone()[0] == 0
    assert [r["id"] for r in queries.visible_learners(conn, auditor)] == [ben]


def _destination(app, lid):
    return next(iter(app.learner(system_actor("test"), lid).destinations))


def test_a_key_destroyed_by_another_process_is_forgotten_by_this_one(settings):
    from rarpa.store.vault import Vault

    serving, erasing = Vault(settings.vault), Vault(settings.vault)
    try:
        stream = str(uuid.uuid4())
        key = serving.key_for(stream, create=True)
        assert erasing.key_for(stream, create=False) == key
        serving.remember_head(1, b"x" * 32, b"s" * 64)  # other writes do not empty the cache...
        assert erasing.destroy_key(stream, "erasure request")
        if serving.on_postgres:  # another node's erasure is read at most KEY_RECHECK seconds later
            from rarpa.store.vault import KEY_RECHECK

            time.sleep(KEY_RECHECK + 0.05)
        assert serving.key_for(stream, create=False) is None  # ...but a destroyed key is forgotten at once
        assert serving.key_for(stream, create=True) is None  # and never made again
    finally:
        serving.close()
        erasing.close()

"""A learner's record moves between installations (issue 11): `rarpa export`
in one, `rarpa import` in another gives the same progress now and as at any
instant, says who imported it from where, and refuses an altered file."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from events.base import clock
from rarpa.cli import main as cli
from rarpa.config import Settings
from rarpa.read import queries
from rarpa.read.history import history
from rarpa.read.projections import Projector
from rarpa.read.timeline import timeline
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.localhost import db_env

T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)


def run(settings: Settings, *args):
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def history_of_amy(app, world, system):
    """Amy's record over three days: observations, a correction, a revision."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    first = observation(target, "secure", observed_at=T0)
    with clock(lambda: T0 + timedelta(hours=1)):
        app.record_observation(system, amy, **first)
    with clock(lambda: T0 + timedelta(hours=20)):
        app.correct_observation(system, amy, observation_id=first["observation_id"], rating="developing",
                                reason="Checked the diary", now=T0 + timedelta(hours=20))
    with clock(lambda: T0 + timedelta(hours=30)):
        app.record_observation(system, amy, **observation(target, "generalised", observed_at=T0 + timedelta(hours=29)))
    with clock(lambda: T0 + timedelta(hours=50)):
        app.revise_target(system, amy, target_id=target, kind="revised", text="Buy a weekly ticket",
                          reason="Ready for more")
    return amy


@pytest.fixture
def other(tmp_path):
    """Another college's installation."""
    settings = Settings.from_env({**db_env(tmp_path / "other" / "rarpa.sqlite3"),
                                  "RARPA_PASSWORD_PROFILE": "cheapest"})
    app = RecordApplication(settings)
    yield settings, app
    app.close()


def _export(app, amy, tmp_path):
    out = tmp_path / "amy.jsonl"
    result = run(app.settings, "export", amy, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def test_import_recreates_the_learner_with_identical_progress_now_and_as_at_any_instant(
        app, projector, history_of_amy, other, tmp_path):
    amy = history_of_amy
    out = _export(app, amy, tmp_path)
    settings, there = other
    with clock(lambda: T0 + timedelta(hours=60)):  # after the last event it brings
        result = run(settings, "import", str(out), "--source", "Northfield College", "--reason", "Moved to Riverside")
    assert result.exit_code == 0, result.stderr
    assert f"imported {amy}" in result.stdout and "Northfield College" in result.stdout

    system = system_actor("test")
    projector.catch_up()
    there_projector = Projector(settings.views, there)
    try:
        there_projector.catch_up()
        assert queries.progress(there_projector.reader(), amy) == queries.progress(projector.reader(), amy)
        assert queries.learner(there_projector.reader(), amy)["name"] == "Amy Jones"
        for hours in (0.5, 1, 19, 21, 31, 51):
            moment = T0 + timedelta(hours=hours)
            here_then, there_then = history(app, system, amy, moment), history(there, system, amy, moment)
            assert here_then["progress"] == there_then["progress"], hours
            assert [e["type"] for e in here_then["events"]] == [e["type"] for e in there_then["events"]]
        # Who imported it, from where, and why: the last event there.
        entries = timeline(there, there_projector.reader(), system, amy, T0 + timedelta(hours=61))
        last = entries[-1]
        assert last["type"] == "LearnerImported" and last["reason"] == "Moved to Riverside"
        assert "Northfield College" in last["what"] and last["recorded_by"].startswith("system:")
        # Providers came with it, so names still read.
        assert entries[0]["provider_name"] == "Northfield College"
        assert verify(there).ok
    finally:
        there_projector.close()


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _refused(settings, path, *expected):
    result = run(settings, "import", str(path))
    assert result.exit_code == 1
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr


def test_an_altered_file_is_refused_naming_the_line(app, history_of_amy, other, tmp_path):
    amy = history_of_amy
    out = _export(app, amy, tmp_path)
    settings, there = other
    lines = _lines(out)

    altered = tmp_path / "altered.jsonl"
    row = json.loads(lines[5])
    row["recorded_by"] = "someone-else"
    altered.write_text("".join(lines[:5] + [json.dumps(row) + "\n"] + lines[6:]), encoding="utf-8")
    _refused(settings, altered, "line 6:", "altered")

    removed = tmp_path / "removed.jsonl"
    removed.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    _refused(settings, removed, "line 4:")

    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-1]), encoding="utf-8")
    _refused(settings, cut, "lines were removed from the end")

    head = json.loads(lines[0])
    head["events"] += 1
    relabelled = tmp_path / "relabelled.jsonl"
    relabelled.write_text("".join([json.dumps(head) + "\n"] + lines[1:]), encoding="utf-8")
    _refused(settings, relabelled, "line 1:", "signature")

    (tmp_path / "noise.jsonl").write_bytes(b"\xff\xfe not text")
    _refused(settings, tmp_path / "noise.jsonl", "not UTF-8")
    assert there.recorder.max_notification_id() in (None, 0)


def test_a_learner_already_there_is_not_imported_twice(app, history_of_amy, other, tmp_path):
    out = _export(app, history_of_amy, tmp_path)
    settings, there = other
    assert run(settings, "import", str(out)).exit_code == 0
    before = there.recorder.max_notification_id()
    result = run(settings, "import", str(out))
    assert result.exit_code == 1 and "already in this record" in result.stderr
    assert there.recorder.max_notification_id() == before


def test_the_export_line_describes_the_file(app, history_of_amy, tmp_path):
    head, *events = [json.loads(line) for line in _lines(_export(app, history_of_amy, tmp_path))]
    assert head["learner_id"] == history_of_amy and head["events"] == len(events)
    assert head["fingerprint"] == app.fingerprint(uuid.UUID(history_of_amy), len(events)) == events[-1]["link"]
    assert head["checksum"].startswith("sha256:") and head["public_key"] and head["signature"]
    assert {"type", "version", "recorded_at", "recorded_by", "role", "provider", "link"} <= set(events[0])

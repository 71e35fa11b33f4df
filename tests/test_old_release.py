"""Data already written always opens: a store written by an earlier release
(tests/stores/, never regenerated) is upgraded in place by opening it, still
verifies, and answers exactly what that release answered."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

import events
from rarpa.read import queries
from rarpa.read import cohort
from rarpa.service.access import system_actor
from rarpa.service.application import Erased, RecordApplication
from rarpa.config import Settings
from rarpa.read.history import history
from rarpa.read.projections import Projector
from rarpa.store.verify import verify

pytestmark = pytest.mark.sqlite_file  # stores written by earlier releases, all SQLite files (PostgreSQL is new in this one)

STORES = Path(__file__).parent / "stores"
RELEASES = sorted(p.name for p in STORES.iterdir() if (p / "expected.json.gz").exists())
# Captures from release f0837a6 on also hold the cohort's counts and a pack.
WITH_PACK = [r for r in RELEASES if "cohort" in json.loads(gzip.decompress((STORES / r / "expected.json.gz").read_bytes()))]


def _open(release: str, tmp_path: Path):
    source = STORES / release
    for name in ("rarpa.sqlite3", "rarpa-views.sqlite3", "rarpa-vault.sqlite3"):
        shutil.copy(source / name, tmp_path / name)
    expected = json.loads(gzip.decompress((source / "expected.json.gz").read_bytes()))
    settings = Settings.from_env({"RARPA_DB": str(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"})
    app = RecordApplication(settings)  # opening it upgrades it in place
    projector = Projector(settings.views, app)
    yield app, projector, expected
    projector.close()
    app.close()


@pytest.fixture(params=RELEASES)
def old(request, tmp_path):
    yield from _open(request.param, tmp_path)


@pytest.fixture(params=WITH_PACK)
def old_with_pack(request, tmp_path):
    yield from _open(request.param, tmp_path)


def test_the_old_store_still_verifies(old):
    app, _, expected = old
    report = verify(app)
    assert report.ok, report.problems
    was = expected["verify"]
    assert (report.events, report.streams, report.snapshots, report.snapshots_skipped) == (
        was["events"], was["streams"], was["snapshots"], was["snapshots_skipped"])


def test_history_and_export_are_what_the_old_release_gave(old):
    app, _, expected = old
    actor = system_actor("test")
    checked = 0
    for lid, was in expected["learners"].items():
        if was.get("erased"):
            with pytest.raises(Erased):
                app.learner_events(actor, lid)
            continue
        assert as_version_1([events.to_json(e) for e in app.learner_events(actor, lid)]) == was["export"]
        now = history(app, actor, lid)
        now.pop("as_at")
        now["events"] = as_version_1(now["events"])
        assert the_fingerprint_in_full(now, was["history_now"]) == was["history_now"]
        then = history(app, actor, lid, datetime.fromisoformat(was["as_at"]))
        then["events"] = as_version_1(then["events"])
        assert the_fingerprint_in_full(then, was["history_as_at"]) == was["history_as_at"]
        checked += 1
    assert checked >= 4


def test_progress_from_the_old_read_model_and_a_rebuilt_one(old):
    app, projector, expected = old
    projector.catch_up()  # nothing new: the old file is already at the end
    for rebuilt in (False, True):
        if rebuilt:
            projector.rebuild()
        conn = projector.reader()
        for lid, was in expected["learners"].items():
            assert queries.progress(conn, lid) == was["progress_read_model"], (lid, rebuilt)
            row = queries.learner(conn, lid)
            assert row["name"] == was["learner_row"]["name"]
            assert row["status"] == was["learner_row"]["status"]


def test_cohort_counts_and_the_pack_are_what_the_old_release_gave(old_with_pack):
    app, projector, expected = old_with_pack
    from datetime import date

    from rarpa.read import annual_review

    conn = projector.reader()
    actor = system_actor("test")
    assert cohort.cohort_counts(conn, actor, date(2026, 12, 3)) == expected["cohort"]
    lid = expected["ids"]["corrected_learner"]
    pack = annual_review.pack(app, conn, actor, lid, start=date(2025, 12, 1), end=date(2026, 11, 30))
    pack = json.loads(json.dumps(pack, sort_keys=True, default=str))
    # Programme aims (issue 10): the ones the old release recorded by the period's end, as it recorded them.
    agreed = [e for e in expected["learners"][lid]["export"] if e["type"] == "ProgrammeAimAgreed"]
    assert agreed and [(a["id"], a["text"], sorted(o["id"] for o in a["outcomes"])) for a in pack.pop("aims")] == [
        (e["aim_id"], e["text"], sorted(e["outcome_ids"])) for e in agreed if e["recorded_at"] < "2026-12-01"]
    set_aside_what_the_pack_gained(pack)
    assert the_fingerprint_in_full(pack, expected["pack"]) == expected["pack"]


def as_version_1(exported: list[dict]) -> list[dict]:
    """Observations were written as version 1; they read as version 2 (issue
    11: what was new to the learner), saying nothing was noted as new. That is
    checked for each, and the rest compared as the old release gave it."""
    out = []
    for row in exported:
        if row["type"] == "ObservationRecorded":
            assert row["version"] == 2 and row["new_to_learner"] == [], row
            row = {k: v for k, v in row.items() if k != "new_to_learner"} | {"version": 1}
        out.append(row)
    return out


def test_every_stored_version_1_observation_reads_as_version_2(old):
    app, projector, expected = old
    upcast = 0
    for lid, was in expected["learners"].items():
        if was.get("erased"):
            continue
        stored = [e for e in was["export"] if e["type"] == "ObservationRecorded"]
        assert stored and all(e["version"] == 1 and "new_to_learner" not in e for e in stored)
        read = [e for e in app.learner_events(system_actor("test"), lid) if type(e).__name__ == "ObservationRecorded"]
        assert [e.observation_id for e in read] == [e["observation_id"] for e in stored]
        assert all(e.new_to_learner == [] for e in read)
        upcast += len(read)
    # The rebuilt read model (the old file is of an older shape) has the new column, empty.
    conn = projector.reader()
    assert conn.execute("SELECT COUNT(*) FROM observations WHERE new_to_learner = ''").fetchone()[0] >= upcast > 0


def the_fingerprint_in_full(now: dict, was: dict) -> dict:
    """Fingerprints were printed as the chain head's first 16 hex digits;
    since issue 11 in full (64). The full one must begin with the old one;
    it is then compared as the old release gave it."""
    assert len(now["fingerprint"]) == 64 and now["fingerprint"].startswith(was["fingerprint"])
    return {**now, "fingerprint": now["fingerprint"][:len(was["fingerprint"])]}


def set_aside_what_the_pack_gained(pack: dict) -> None:
    """Fields the pack gained after the capture: each is checked for what the
    old store must give, then set aside, so all the rest is compared exactly
    as the old release gave it."""
    for outcome in pack["outcomes"]:
        # End-of-programme judgements (issue 10): the old store has none.
        assert outcome.pop("summative_judgement") is None
        # Photos chosen for the pack (issue 12): the old store has none.
        assert outcome.pop("photos") == []
        for target in outcome["targets"]:
            assert target.pop("summative_judgement") is None
    set_aside_the_readable_pack(pack)


def set_aside_the_readable_pack(pack: dict) -> None:
    """The pack a parent can read (issue 13) is written from the rest of the pack:
    it must say what the old store holds (its outcomes, targets, evidence and the
    learner's words, no family views), and is then set aside."""
    assert pack.pop("family_views") == []  # the old store has no family contributions
    summary, views, about = pack.pop("summary"), pack.pop("views"), pack.pop("about")
    words = {v["words"] for v in pack["learner_views"]} | {s["words"] for s in pack["self_assessments"] if s["words"]}
    assert summary["went_well"] and summary["next"] and all(isinstance(s, str) for s in summary["went_well"])
    assert {q["words"] for q in summary["learner_words"]} <= words
    assert {v["words"] for v in views["learner"] if v["words"]} <= words
    assert views["family"] == [] and views["family_none"] == "No views from home were sent for this period."
    assert about["fingerprint"] == pack["fingerprint"] and about["reference"] == pack["learner"]["id"]
    worked_on = pack.pop("worked_on")
    shown = [o for area in worked_on for o in area["outcomes"]]
    assert [o["id"] for o in shown] == [o["id"] for o in pack["outcomes"]]
    for was, now in zip(pack["outcomes"], shown):
        assert [t["id"] for t in now["targets"]] == [t["id"] for t in was["targets"]]
        times = {e["observation_id"] for t in now["targets"] if t["evidence"] for e in t["evidence"]["items"]}
        assert times <= {e["id"] for e in was["evidence"]}
    plan = pack.pop("plan")
    assert sorted(n for line in plan for n in line["outcomes"]) == list(range(1, len(pack["outcomes"]) + 1))
    assert len(pack.pop("nobody_planned")) <= len(pack["unplanned_outcomes"])


def test_the_old_store_takes_new_writes_and_still_verifies(old):
    app, projector, expected = old
    lid = expected["ids"]["corrected_learner"]
    target = next(t for t in expected["learners"][lid]["progress_read_model"]["targets"] if t["status"] == "open")
    from tests.conftest import observation

    app.record_observation(system_actor("test"), lid, **observation(target["id"]))
    projector.catch_up()
    assert verify(app).ok
    conn = projector.reader()
    after = next(t for t in queries.progress(conn, lid)["targets"] if t["id"] == target["id"])
    assert after["observations"] == target["observations"] + 1


def test_a_read_model_of_an_older_shape_is_rebuilt_when_opened(app, projector, world, system, monkeypatch):
    """When a release changes the read model's shape, a file written before is
    rebuilt from the events on opening, so a new table is filled, not empty."""
    from rarpa.read import tables

    projector.catch_up()
    before = projector.dump()
    projector._conn.execute("DELETE FROM observations")  # what a table added by a new release would look like
    monkeypatch.setattr(tables, "SHAPE", tables.SHAPE + 1)
    monkeypatch.setattr("rarpa.read.projections.SHAPE", tables.SHAPE)
    reopened = Projector(app.settings.views, app)
    try:
        assert reopened.dump() == before
        assert tables.shape_of(reopened._conn) == tables.SHAPE
    finally:
        reopened.close()

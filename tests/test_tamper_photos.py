"""`rarpa verify` on a learner with photos whose stored bytes were altered
outside the application: an event, a snapshot, the sealed photo itself. Each
is named as a problem (stream and event, snapshot, or photo), in the words of
the other problems, and verify goes on to check the rest; it never stops on
a traceback. On whichever store the run uses (tests/rawstore.py)."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from rarpa.store.photos import PHOTO_TOPIC
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.rawstore import raw
from tests.test_photos import noise_jpeg


def _photographed(app, system, lid: str, target: str, seed: int) -> str:
    app.record_consent(system, lid, consent="photographs", given=True, reason="They said yes")
    written = app.record_observation_with_photo(system, lid, photo=noise_jpeg(width=320, height=240, seed=seed),
                                                **observation(target, "secure"))
    return written.result["photo_id"]


@pytest.fixture
def photos(app, system, world):
    """Amy and Ben each with one photo (Ben's shows verify goes on past Amy)."""
    return {name: _photographed(app, system, world["learners"][name], world[name]["target"], seed)
            for name, seed in (("amy", 31), ("ben", 32))}


def _flip(conn, table: str, column: str, where: str, params: list, at: int = 20) -> None:
    (state,) = conn.execute(f"SELECT {column} FROM {table} WHERE {where}", params).fetchone()
    altered = bytearray(bytes(state))
    altered[at] ^= 0x01
    conn.execute(f"UPDATE {table} SET {column}=? WHERE {where}", [bytes(altered), *params])
    conn.commit()


def _tamper_event(app, lid: str, which: str) -> tuple[int, int]:
    """Alter one sealed event of the learner: the one naming the photo, or an
    earlier one (their first outcome). Returns (version, row)."""
    conn = raw(app)
    hexid = uuid.UUID(lid).hex
    if which == "photo":
        version, rowid = conn.execute("SELECT originator_version, rowid FROM stored_events "
                                      "WHERE originator_id=? AND topic=?", [hexid, PHOTO_TOPIC]).fetchone()
    else:
        version, rowid = conn.execute("SELECT originator_version, rowid FROM stored_events WHERE originator_id=? "
                                      "AND topic LIKE '%OutcomeRecorded'", [hexid]).fetchone()
    _flip(conn, "stored_events", "state", "rowid=?", [rowid])
    conn.close()
    return version, rowid


def _verified(app):
    """verify on this application (whose cache may hold the learner as it was
    before the bytes changed) and on one newly opened, as `rarpa verify` opens it."""
    reports = [verify(app)]
    fresh = type(app)(app.settings)
    try:
        reports.append(verify(fresh))
    finally:
        fresh.close()
    return reports


@pytest.mark.parametrize("which", ["photo", "earlier"])
def test_a_tampered_event_of_a_learner_with_photos_is_named(app, world, photos, which):
    amy = uuid.UUID(world["learners"]["amy"])
    assert verify(app).ok
    version, rowid = _tamper_event(app, str(amy), which)
    app.cache.evict(amy)  # changed outside the application: what it had cached is not what is stored now
    for report in _verified(app):
        assert not report.ok
        # The chain names it, as for a learner without photos...
        assert report.problems[0].startswith(f"stream {amy} event {version} (row {rowid}): "), report.problems
        # ...and the photo check says, in words, why Amy's photos were not checked.
        assert f"stream {amy} event {version}: it fails its integrity check, so learner {amy}'s photos " \
               "were not checked" in report.problems, report.problems
        # Ben's photo is still checked (and found as recorded); nothing is blamed on him.
        assert report.photos == 1
        assert not any(str(uuid.UUID(world["learners"]["ben"])) in p for p in report.problems), report.problems
        # Amy's sealed photo is not counted as a row no event names: it is just not known.
        assert report.photos_unnamed == 0


def test_a_tampered_snapshot_of_a_learner_with_photos_is_named_and_the_photos_still_checked(app, world, system,
                                                                                           photos):
    amy = world["learners"]["amy"]
    for i in range(100):  # a snapshot on the 100th event of the stream
        app.record_observation(system, amy, **observation(world["amy"]["target"], minutes_ago=300 - i))
    assert verify(app).ok
    conn = raw(app)
    (version,) = conn.execute("SELECT originator_version FROM stored_snapshots WHERE originator_id=?",
                              [uuid.UUID(amy).hex]).fetchone()
    _flip(conn, "stored_snapshots", "state", "originator_id=? AND originator_version=?",
          [uuid.UUID(amy).hex, version], at=40)
    conn.close()
    app.cache.evict(uuid.UUID(amy))
    for report in _verified(app):
        assert f"stream {uuid.UUID(amy)} snapshot at {version}: it fails its integrity check" in report.problems, \
            report.problems
        # The photos are checked from the events, not the snapshot: both are found as recorded.
        assert report.photos == 2
        assert len(report.problems) == 1, report.problems


@pytest.mark.parametrize("kind", ["photo", "thumb"])
def test_a_tampered_sealed_photo_is_named(app, world, photos, kind):
    amy = uuid.UUID(world["learners"]["amy"])
    conn = raw(app)
    _flip(conn, "photo_files", kind, "photo_id=?", [photos["amy"]])
    conn.close()
    for report in _verified(app):
        assert report.problems == [f"learner {amy}: photo {photos['amy']} failed its integrity check"]
        assert report.photos == 2


def test_verify_on_the_command_line_names_a_tampered_event_of_a_learner_with_photos(app, world, photos, settings):
    amy = uuid.UUID(world["learners"]["amy"])
    version, rowid = _tamper_event(app, str(amy), "photo")
    app.cache.evict(amy)
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "rarpa.cli", "verify"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("TAMPERED: ")
    assert lines[1].startswith(f"stream {amy} event {version} (row {rowid}): "), done.stderr
    assert f"stream {amy} event {version}: it fails its integrity check, so learner {amy}'s photos were not " \
           "checked" in done.stderr

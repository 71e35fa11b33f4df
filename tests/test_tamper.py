"""The end of the record is tamper-evident: removing the last events of a
stream or of the whole store, appending a forged event with correctly
recomputed hashes, or rolling the event store back behind the vault are all
caught by `rarpa verify`. Only the application, holding the vault's signing
key, can extend the record."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import uuid

import pytest

from rarpa.store import sqlite as store
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.rawstore import raw


def _columns(conn) -> set[str]:
    return {r[1] for r in conn.execute("PRAGMA table_info(stored_events)")}


def forge_append(app, stored) -> None:
    """Append a stored event as an attacker with the event store file (but
    not the vault) would: every public hash recomputed, no signature."""
    conn = raw(app)
    oid = stored.originator_id.hex
    prev = conn.execute("SELECT chain_hash FROM stored_events WHERE originator_id=? AND originator_version=?",
                        [oid, stored.originator_version - 1]).fetchone()[0]
    link = store.link_hash(bytes(prev), oid, stored.originator_version, stored.topic, stored.state)
    if "log_hash" in _columns(conn):
        (prev_log,) = conn.execute("SELECT log_hash FROM stored_events ORDER BY rowid DESC LIMIT 1").fetchone()
        conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state, chain_hash, "
                     "log_hash) VALUES (?,?,?,?,?,?)",
                     [oid, stored.originator_version, stored.topic, stored.state, link,
                      store.log_link(bytes(prev_log), link)])
    else:
        conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state, chain_hash) "
                     "VALUES (?,?,?,?,?)", [oid, stored.originator_version, stored.topic, stored.state, link])
    conn.commit()
    conn.close()


def delete_event(app, originator_id: str, version: int) -> None:
    conn = raw(app)
    conn.execute("DELETE FROM stored_events WHERE originator_id=? AND originator_version=?",
                 [uuid.UUID(originator_id).hex, version])
    conn.commit()
    conn.close()


def test_an_untouched_store_verifies(app, world, system):
    app.record_observation(system, world["learners"]["amy"], **observation(world["amy"]["target"]))
    report = verify(app)
    assert report.ok, report.problems
    assert report.events > 0


def test_removing_the_last_event_of_a_stream_is_caught(app, world, system):
    amy = world["learners"]["amy"]
    for i in range(3):
        app.record_observation(system, amy, **observation(world["amy"]["target"], minutes_ago=10 + i))
    # Ben is written after Amy, so Amy's last event is not the store's last.
    app.record_observation(system, world["learners"]["ben"], **observation(world["ben"]["target"]))
    last = app.learner(system, amy).version
    delete_event(app, amy, last)
    report = verify(app)
    assert not report.ok
    assert any("missing" in p or "removed" in p for p in report.problems), report.problems


def test_removing_the_last_event_of_the_store_is_caught(app, world, system):
    amy = world["learners"]["amy"]
    app.record_observation(system, amy, **observation(world["amy"]["target"]))
    delete_event(app, amy, app.learner(system, amy).version)
    report = verify(app)
    assert not report.ok
    assert any("missing" in p or "removed" in p for p in report.problems), report.problems


def test_a_forged_erasure_with_recomputed_hashes_is_caught(app, world, system):
    amy = world["learners"]["amy"]
    learner = app.learner(system, amy)
    learner.erase(stamp=system.stamp("northfield"), reason="forged")
    (event,) = learner.collect_events()
    forge_append(app, app.mapper.to_stored_event(event))
    # The forgery works on a reader that trusts the store: Amy now reads as erased...
    fresh = type(app)(app.settings)
    try:
        with pytest.raises(LookupError):
            fresh.learner(system, amy)
    finally:
        fresh.close()
    # ...but verify names it.
    report = verify(app)
    assert not report.ok
    assert any("not signed" in p for p in report.problems), report.problems


def test_a_head_signed_with_another_key_is_caught(app, world, system):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    amy = world["learners"]["amy"]
    app.record_observation(system, amy, **observation(world["amy"]["target"]))
    delete_event(app, amy, app.learner(system, amy).version)
    conn = raw(app)
    position, log = conn.execute("SELECT rowid, log_hash FROM stored_events ORDER BY rowid DESC LIMIT 1").fetchone()
    forged = Ed25519PrivateKey.generate().sign(store.head_message(position, bytes(log)))
    conn.execute("UPDATE store_head SET position=?, log_hash=?, signature=?", [position, log, forged])
    conn.commit()
    conn.close()
    report = verify(app)
    assert any("signature" in p for p in report.problems), report.problems


@pytest.mark.sqlite_file  # on PostgreSQL the vault is in the same database: they cannot part
def test_an_event_store_rolled_back_behind_the_vault_is_caught(app, world, system, tmp_path):
    amy = world["learners"]["amy"]
    copy = tmp_path / "earlier.sqlite3"
    source = raw(app)
    backup = sqlite3.connect(copy)
    source.backup(backup)
    backup.close()
    source.close()
    app.record_observation(system, amy, **observation(world["amy"]["target"]))
    app.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"rarpa.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, app.settings.db)
    reopened = type(app)(app.settings)
    try:
        report = verify(reopened)
    finally:
        reopened.close()
    assert not report.ok
    assert any("vault" in p for p in report.problems), report.problems


def test_verify_on_the_command_line_names_a_forged_append(app, world, system, settings):
    amy = world["learners"]["amy"]
    learner = app.learner(system, amy)
    learner.erase(stamp=system.stamp("northfield"), reason="forged")
    (event,) = learner.collect_events()
    forge_append(app, app.mapper.to_stored_event(event))
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "rarpa.cli", "verify"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "not signed" in done.stderr and str(uuid.UUID(amy)) in done.stderr

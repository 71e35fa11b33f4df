"""`rarpa bench`: how fast the record is, against raw SQLite measured in the same run.

1. Durable observation writes per second through the application (load the
   learner, check the rules, encrypt, chain, commit) against raw `sqlite3`
   single-row durable commits with the same journal and sync settings.
2. The same writes from several threads at once, without and with group commit.
3. Projection rebuild events per second against a raw read of the same rows
   and an insert of them into another SQLite file.

Everything runs in a temporary folder; nothing touches the real store.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.config import Settings
from rarpa.read.projections import Projector
from rarpa.cli.five_years import five_year_learner

LEARNERS = 16


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def _fresh_app(folder: Path, name: str, group_commit: bool = True, db: str | None = None) -> RecordApplication:
    """A new record in ``folder``, or in ``db`` (a PostgreSQL URL of a fresh schema)."""
    env = {"RARPA_DB": db or str(folder / f"{name}.sqlite3"), "RARPA_GROUP_COMMIT": "1" if group_commit else "0"}
    if db:
        env["RARPA_VIEWS"] = str(folder / f"{name}-views.sqlite3")
    return RecordApplication(Settings.from_env(env))


def _seed(app: RecordApplication, learners: int = LEARNERS) -> list[tuple[str, str]]:
    """Providers, learners with an outcome and a target each: (learner, target)."""
    actor = system_actor("bench")
    app.register_provider(actor, "northfield", "Northfield College")
    pairs = []
    for i in range(learners):
        lid = app.enrol_learner(actor, name=f"Bench Learner {i}", date_of_birth="2006-01-01",
                                provider="northfield").result
        oid = app.record_outcome(actor, lid, text="Travel independently", pfa_area="independent_living",
                                 due="2027-07-01").result
        tid = app.set_target(actor, lid, text="Buy a ticket", success_criteria="Without help",
                             outcome_ids=[oid], baseline="emerging", review_by="2027-01-01").result
        pairs.append((lid, tid))
    return pairs


def _write(app, pairs, count: int, offset: int = 0) -> None:
    actor = system_actor("bench")
    base = datetime.now(timezone.utc) - timedelta(days=1)
    for k in range(count):
        lid, tid = pairs[(k + offset) % len(pairs)]
        app.record_observation(
            actor, lid, observation_id=str(uuid.uuid4()), target_id=tid, rating="developing",
            prompt_level="verbal", context="classroom", note="Bought the ticket with one verbal prompt.",
            observed_at=base + timedelta(seconds=k),
        )


def raw_commits(folder: Path, count: int, synchronous: int) -> float:
    conn = sqlite3.connect(folder / "raw.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE t (id TEXT, version INTEGER, topic TEXT, state BLOB, PRIMARY KEY (id, version))")
    payload = os.urandom(400)  # about the size of a sealed observation event
    start = time.perf_counter()
    for k in range(count):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (?,?,?,?)", (uuid.uuid4().hex, k, "events.learner:ObservationRecorded", payload))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return _rate(count, elapsed)


def app_writes(folder: Path, count: int, threads: int, group_commit: bool, name: str,
               db: str | None = None) -> tuple[float, RecordApplication]:
    app = _fresh_app(folder, name, group_commit, db)
    pairs = _seed(app, max(LEARNERS, 2 * threads))  # every thread writes to learners of its own
    _write(app, pairs, 20)  # warm up: first loads, first keys
    per = count // threads
    workers = [threading.Thread(target=_write, args=(app, pairs[t::threads] if threads > 1 else pairs, per, t))
               for t in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return _rate(per * threads, time.perf_counter() - start), app


def raw_read_insert(db: str, folder: Path, batch: int = 10_000) -> tuple[float, int]:
    """The rebuild's baseline: every stored event read (``batch`` rows at a
    time, so a store of gigabytes fits in memory) and inserted into another
    file in one transaction; (rows per second, rows)."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    dst = sqlite3.connect(folder / "raw-copy.sqlite3", isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("CREATE TABLE copy (id TEXT, version INTEGER, topic TEXT, state BLOB)")
    start, n = time.perf_counter(), 0
    rows = src.execute("SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid")
    dst.execute("BEGIN")
    while chunk := rows.fetchmany(batch):
        dst.executemany("INSERT INTO copy VALUES (?,?,?,?)", chunk)
        n += len(chunk)
    dst.execute("COMMIT")
    elapsed = time.perf_counter() - start
    src.close()
    dst.close()
    return _rate(n, elapsed), n


def rebuild_rate(app: RecordApplication) -> tuple[float, int]:
    projector = Projector(app.settings.views, app)
    start = time.perf_counter()
    position = projector.rebuild()
    elapsed = time.perf_counter() - start
    projector.close()
    return _rate(position, elapsed), position


def pack_timing(folder: Path, observations: int, repeats: int = 10) -> tuple[float, float, int]:
    """Seconds to build the annual-review pack for the five-year learner, against
    one raw SELECT of that learner's observation rows from the same read model."""
    from rarpa.read.annual_review import pack

    app = _fresh_app(folder, "five-years")
    app.register_provider(system_actor("bench"), "northfield", "Northfield College")
    lid = five_year_learner(app, observations)
    projector = Projector(app.settings.views, app)
    projector.catch_up()
    conn = projector.reader()
    start = time.perf_counter()
    for _ in range(repeats):
        built = pack(app, conn, system_actor("bench"), lid)
    pack_seconds = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        rows = conn.execute("SELECT * FROM observations WHERE learner_id=?", [lid]).fetchall()
    raw_seconds = (time.perf_counter() - start) / repeats
    assert built["outcomes"] and len(rows) >= observations * 0.99
    as_at = as_at_timing(app, lid, repeats)
    projector.close()
    app.close()
    return pack_seconds, raw_seconds, len(rows), as_at


def as_at_timing(app: RecordApplication, lid: str, repeats: int) -> dict[str, float]:
    """Seconds for the record as it stood about a year ago (its events up to
    then as JSON and its progress: rarpa.read.history.history) against
    loading the learner's current state (the aggregate from its latest
    snapshot and the events after it, with no cache).

    ``as_at_seconds``: views at ``repeats`` different instants, a week apart
    around a year ago, as an auditor moving through the record meets them;
    each starts from the nearest checkpoint kept in memory before its instant
    (rarpa/read/as_at_memo.py), and no two ask for the same instant.
    ``as_at_first_seconds``: the first view since the process started, with
    nothing kept yet (every event up to the instant read, decrypted and
    replayed; best of 3, forgetting between)."""
    from rarpa.read import as_at_memo
    from rarpa.read.history import history

    actor = system_actor("bench")
    moment = datetime.now(timezone.utc) - timedelta(days=365)
    firsts = []
    for _ in range(3):
        as_at_memo.forget(app, lid)
        start = time.perf_counter()
        then = history(app, actor, lid, moment)
        firsts.append(time.perf_counter() - start)
    weeks = [k for k in range(-(repeats // 2), repeats + 1) if k][:repeats]
    start = time.perf_counter()
    for k in weeks:
        other = history(app, actor, lid, moment + timedelta(weeks=k))
    replay_seconds = (time.perf_counter() - start) / len(weeks)
    start = time.perf_counter()
    for _ in range(repeats):
        current = app.repository.get(uuid.UUID(lid))
    load_seconds = (time.perf_counter() - start) / repeats
    assert then["progress"]["targets"] and other["progress"]["targets"] and current.version > len(then["events"])
    return {"as_at_seconds": replay_seconds, "as_at_first_seconds": min(firsts), "load_seconds": load_seconds,
            "as_at_events": len(then["events"])}


def run(writes: int = 2000, threads: int = 8, echo=print) -> dict:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rarpa-bench-") as tmp:
        folder = Path(tmp)
        probe = _fresh_app(folder, "probe")
        with probe.recorder.datastore.transaction(commit=False) as c:
            c.execute("PRAGMA synchronous")
            synchronous = c.fetchone()[0]
        probe.close()
        echo(f"rarpa bench: {writes} writes per measurement, {threads} threads, SQLite {sqlite3.sqlite_version}, "
             f"WAL, synchronous={synchronous} (same for raw and app)")

        results["raw_commits"] = raw_commits(folder, writes, synchronous)
        rate, single = app_writes(folder, writes, 1, True, "single")
        results["app_writes"] = rate
        single.close()
        rate, plain = app_writes(folder, writes, threads, False, "concurrent-plain")
        results["app_writes_concurrent"] = rate
        plain.close()
        rate, grouped = app_writes(folder, writes, threads, True, "concurrent-group")
        results["app_writes_group"] = rate

        # Rebuild a realistic store: the demo year plus the grouped writes above.
        from rarpa.cli.demo import load_demo

        load_demo(grouped, echo=lambda *_: None)
        results["raw_read_insert"], n_raw = raw_read_insert(grouped.settings.db, folder)
        results["rebuild"], n_rebuild = rebuild_rate(grouped)
        grouped.close()

        results["pack_seconds"], results["raw_select_seconds"], n_obs, as_at = pack_timing(folder, 2000)
        results.update(as_at)
        from rarpa.cli import bench_page  # the learner page as the record grows

        results["learner_page"] = bench_page.page_timing(folder)

    echo("")
    echo(f"{'measurement':58} {'per second':>12}  ratio")
    echo(f"{'raw sqlite3: durable single-row commits':58} {results['raw_commits']:12,.0f}  1.00 (baseline)")
    echo(f"{'app: durable observation writes, 1 thread':58} {results['app_writes']:12,.0f}  "
         f"{results['app_writes'] / results['raw_commits']:.2f} of raw")
    echo(f"{f'app: observation writes, {threads} threads, no group commit':58} "
         f"{results['app_writes_concurrent']:12,.0f}  {results['app_writes_concurrent'] / results['raw_commits']:.2f} of raw")
    echo(f"{f'app: observation writes, {threads} threads, group commit':58} "
         f"{results['app_writes_group']:12,.0f}  {results['app_writes_group'] / results['raw_commits']:.2f} of raw, "
         f"x{results['app_writes_group'] / results['app_writes_concurrent']:.2f} vs no group commit")
    echo(f"{f'raw: read {n_raw:,} stored events + insert into another file':58} {results['raw_read_insert']:12,.0f}  1.00 (baseline)")
    echo(f"{f'projection rebuild of {n_rebuild:,} events':58} {results['rebuild']:12,.0f}  "
         f"{results['rebuild'] / results['raw_read_insert']:.3f} of raw")
    echo("")
    echo(f"{'measurement':58} {'ms':>12}  ratio")
    echo(f"{f'raw: one SELECT of a five-year learner ({n_obs:,} observations)':58} "
         f"{results['raw_select_seconds'] * 1000:12,.2f}  1.00 (baseline)")
    echo(f"{'annual-review pack for that learner (12 months)':58} {results['pack_seconds'] * 1000:12,.2f}  "
         f"x{results['pack_seconds'] / results['raw_select_seconds']:.1f} of raw")
    echo(f"{'load its current state (aggregate, latest snapshot, no cache)':58} "
         f"{results['load_seconds'] * 1000:12,.2f}  1.00 (baseline)")
    label = f"as-at replay a year ago ({results['as_at_events']:,.0f} events) and its progress"
    echo(f"{label:58} "
         f"{results['as_at_seconds'] * 1000:12,.2f}  x{results['as_at_seconds'] / results['load_seconds']:.1f} of loading")
    echo("")
    for line in bench_page.lines(results["learner_page"]):
        echo(line)
    return results

"""`rarpa bench --postgres`: the write and rebuild ratios on PostgreSQL, on a
throwaway durable server on this machine (rarpa/store/pg_local.py: fsync on,
synchronous_commit on), against raw psycopg in the same run:

1. raw: single-row durable commits (one INSERT of a 400-byte row per
   transaction) into a table shaped like the event table;
2. the application's durable observation writes, one thread, then several
   without and with group commit;
3. a projection rebuild from PostgreSQL into a node's read-model file,
   against a raw read of the same rows plus an insert into another SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from rarpa.cli.bench import _rate, app_writes, rebuild_rate
from rarpa.store import pg_local


def raw_commits(url: str, count: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw_t (id uuid, version bigint, topic text, state bytea, "
                     "notification_id bigserial, PRIMARY KEY (id, version))")
        payload = os.urandom(400)
        start = time.perf_counter()
        for k in range(count):
            conn.execute("INSERT INTO raw_t (id, version, topic, state) VALUES (%s, %s, %s, %s)",
                         (uuid.uuid4(), k, "events.learner:ObservationRecorded", payload))
        return _rate(count, time.perf_counter() - start)


def raw_read_insert(url: str, folder: Path) -> tuple[float, int]:
    import psycopg

    dst = sqlite3.connect(folder / "raw-copy.sqlite3", isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("CREATE TABLE copy (id TEXT, version INTEGER, topic TEXT, state BLOB)")
    start = time.perf_counter()
    with psycopg.connect(url) as conn:
        rows = [(str(r[0]), r[1], r[2], bytes(r[3])) for r in conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM rarpa_events ORDER BY notification_id")]
    dst.execute("BEGIN")
    dst.executemany("INSERT INTO copy VALUES (?,?,?,?)", rows)
    dst.execute("COMMIT")
    elapsed = time.perf_counter() - start
    dst.close()
    return _rate(len(rows), elapsed), len(rows)


def run(writes: int = 2000, threads: int = 8, echo=print) -> dict:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="rarpa-bench-pg-") as tmp:
        folder = Path(tmp)
        server = pg_local.start(Path(tempfile.mkdtemp(prefix="rarpa-bench-pg-server-")), durable=True)
        try:
            import psycopg

            with psycopg.connect(server.url()) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
                sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
                fsync = conn.execute("SHOW fsync").fetchone()[0]
            echo(f"rarpa bench --postgres: {writes} writes per measurement, {threads} threads, PostgreSQL {version} "
                 f"on 127.0.0.1, fsync={fsync}, synchronous_commit={sync} (same for raw and app)")
            results["raw_commits"] = raw_commits(server.url(), writes)
            for key, n, group, name in (("app_writes", 1, True, "single"),
                                        ("app_writes_concurrent", threads, False, "plain"),
                                        ("app_writes_group", threads, True, "grouped")):
                rate, app = app_writes(folder, writes, n, group, name, db=server.schema_url(name))
                results[key] = rate
                if name != "grouped":
                    app.close()
            from rarpa.cli.demo import load_demo

            load_demo(app, echo=lambda *_: None)
            results["raw_read_insert"], n_raw = raw_read_insert(server.schema_url("grouped"), folder)
            results["rebuild"], n_rebuild = rebuild_rate(app)
            app.close()
        finally:
            server.stop("immediate")
            import shutil

            shutil.rmtree(server.folder, ignore_errors=True)

    raw = results["raw_commits"]
    echo("")
    echo(f"{'measurement (PostgreSQL)':58} {'per second':>12}  ratio")
    echo(f"{'raw psycopg: durable single-row commits':58} {raw:12,.0f}  1.00 (baseline)")
    echo(f"{'app: durable observation writes, 1 thread':58} {results['app_writes']:12,.0f}  "
         f"{results['app_writes'] / raw:.2f} of raw")
    echo(f"{f'app: observation writes, {threads} threads, no group commit':58} "
         f"{results['app_writes_concurrent']:12,.0f}  {results['app_writes_concurrent'] / raw:.2f} of raw")
    echo(f"{f'app: observation writes, {threads} threads, group commit':58} "
         f"{results['app_writes_group']:12,.0f}  {results['app_writes_group'] / raw:.2f} of raw, "
         f"x{results['app_writes_group'] / results['app_writes_concurrent']:.2f} vs no group commit")
    echo(f"{f'raw: read {n_raw:,} stored events + insert into a SQLite file':58} "
         f"{results['raw_read_insert']:12,.0f}  1.00 (baseline)")
    echo(f"{f'projection rebuild of {n_rebuild:,} events into a node file':58} {results['rebuild']:12,.0f}  "
         f"{results['rebuild'] / results['raw_read_insert']:.3f} of raw")
    return results

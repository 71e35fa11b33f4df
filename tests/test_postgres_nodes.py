"""Several `rarpa serve` nodes on one PostgreSQL database: each keeps its own
read model, caught up from the shared notification log.

- a write on one node is read at once on that node (read-your-writes) and on
  the other once it has caught up, without anyone asking it (LISTEN/NOTIFY);
- tablets writing through both nodes at once, to the same learners, with
  retries sent to the other node: every observation stored exactly once, the
  chains and the signed head verify, both read models equal a rebuild;
- an erasure made through one node shuts the learner out on the other.
These run on PostgreSQL whatever --store says: they are about nodes.
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

pytestmark = pytest.mark.postgres_only

from tests.localhost import http_get, post_json, start_server, stop_server, store_env, three_learners_on_a_caseload

PASSWORD = "correct horse battery"
LIMIT = 30  # seconds: a bound on every wait, never a timing check


def cli(env: dict, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env, cwd=folder, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


def post(base: str, token: str, path: str, body: dict) -> tuple[int, dict]:
    return post_json(f"{base}/api/v1{path}", token, body)


def get_json(base: str, token: str, path: str) -> tuple[int, object]:
    status, _, body = http_get(f"{base}/api/v1{path}", token)
    return status, (json.loads(body) if body and status < 500 else None)


def observation(target_id: str, note: str = "") -> dict:
    return {"id": str(uuid.uuid4()), "target_id": target_id, "rating": "developing", "context": "classroom",
            "note": note, "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()}


def read_model_position(views: Path) -> int:
    conn = sqlite3.connect(f"file:{views}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT position FROM tracking WHERE name='progress'").fetchone()
        return row[0] if row else 0
    finally:
        conn.close()


def counts(base: str, token: str, learner_id: str) -> dict[str, int]:
    status, body = get_json(base, token, f"/learners/{learner_id}/progress")
    assert status == 200, body
    return {t["id"]: t["observations"] for t in body["targets"]}


@pytest.fixture
def cluster(postgres, tmp_path):
    """Two nodes (A and B) on one new database, each with its own read-model file."""
    url = postgres.create_database(f"nodes_{uuid.uuid4().hex[:12]}")
    learners = three_learners_on_a_caseload(tmp_path, PASSWORD, db=url)
    env_a, env_b = store_env(tmp_path, url, "a-views.sqlite3"), store_env(tmp_path, url, "b-views.sqlite3")
    made = cli(env_a, tmp_path, "token", "create", "tutor@example.org")
    assert made.returncode == 0, made.stderr
    a = start_server(env_a, tmp_path, tmp_path / "a.log")
    b = start_server(env_b, tmp_path, tmp_path / "b.log")
    yield {"url": url, "learners": learners, "token": made.stdout.strip(), "a": a, "b": b, "env": env_a,
           "folder": tmp_path, "views": {"a": tmp_path / "a-views.sqlite3", "b": tmp_path / "b-views.sqlite3"}}
    stop_server(a.proc)
    stop_server(b.proc)


def test_a_write_on_one_node_is_read_on_the_other_without_asking_it(cluster):
    token, a, b = cluster["token"], cluster["a"].base, cluster["b"].base
    lid, tid = next(iter(cluster["learners"].items()))
    assert counts(b, token, lid) == {tid: 0}
    position_before = read_model_position(cluster["views"]["b"])

    sent = observation(tid, "seen on node A")
    status, body = post(a, token, f"/learners/{lid}/observations", sent)
    assert status == 201, body
    assert counts(a, token, lid) == {tid: 1}  # read-your-writes on the node written to

    # B's read model reaches the write by itself (it LISTENs), before anyone asks B.
    deadline = time.monotonic() + LIMIT
    while read_model_position(cluster["views"]["b"]) <= position_before:
        assert time.monotonic() < deadline, "node B never caught up on its own"
        time.sleep(0.05)
    assert counts(b, token, lid) == {tid: 1}
    status, seen = get_json(b, token, f"/learners/{lid}/observations/{sent['id']}")
    assert status == 200, seen
    assert seen["note"] == "seen on node A"


def test_tablets_on_both_nodes_store_every_observation_exactly_once(cluster):
    token, nodes = cluster["token"], [cluster["a"].base, cluster["b"].base]
    learners = list(cluster["learners"].items())
    sent: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def tablet(k: int) -> None:
        try:
            lid, tid = learners[k % len(learners)]
            for n in range(12):
                body = observation(tid, f"tablet {k} #{n}")
                first = nodes[(k + n) % 2]
                status, answer = post(first, token, f"/learners/{lid}/observations", body)
                # Every third one is sent again to the OTHER node, as a tablet whose
                # answer was lost would after the load balancer moved it.
                again = post(nodes[(k + n + 1) % 2], token, f"/learners/{lid}/observations", body)[0] \
                    if n % 3 == 0 else None
                with lock:
                    sent[body["id"]] = [status] + ([again] if again else [])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=tablet, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(sent) == 72
    assert all(statuses[0] == 201 for statuses in sent.values()), sent
    assert all(statuses[1:] in ([], [200]) for statuses in sent.values()), "a retry on the other node was refused"

    # Each node, once caught up, counts every observation once.
    for base in nodes:
        total = sum(sum(counts(base, token, lid).values()) for lid, _ in learners)
        assert total == 72, base

    verified = cli(cluster["env"], cluster["folder"], "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ok:" in verified.stdout

    # Each node's read model is what a rebuild from the shared log gives.
    from rarpa.config import Settings
    from rarpa.read.projections import Projector
    from rarpa.service.application import RecordApplication

    rebuilt_views = cluster["folder"] / "rebuilt-views.sqlite3"
    app = RecordApplication(Settings.from_env({"RARPA_DB": cluster["url"], "RARPA_VIEWS": str(rebuilt_views)}))
    try:
        fresh = Projector(str(rebuilt_views), app)
        fresh.rebuild()
        expected = fresh.dump()
        fresh.close()
        for node in ("a", "b"):
            live = Projector(str(cluster["views"][node]), app)
            live.catch_up()
            assert live.dump() == expected, f"node {node}'s read model differs from a rebuild"
            live.close()
    finally:
        app.close()


def test_an_erasure_on_one_node_shuts_the_learner_out_on_the_other(cluster):
    token, a, b = cluster["token"], cluster["a"].base, cluster["b"].base
    lid, tid = next(iter(cluster["learners"].items()))
    assert post(b, token, f"/learners/{lid}/observations", observation(tid, "before"))[0] == 201
    assert get_json(b, token, f"/learners/{lid}/progress")[0] == 200

    erased = cli(cluster["env"], cluster["folder"], "erase", lid, "--reason", "Subject access: erasure request 12",
                 "--yes")
    assert erased.returncode == 0, erased.stdout + erased.stderr

    for base in (a, b):
        deadline = time.monotonic() + LIMIT
        while (status := get_json(base, token, f"/learners/{lid}/progress")[0]) == 200:
            assert time.monotonic() < deadline, f"{base} still shows an erased learner"
            time.sleep(0.05)
        assert status in (404, 410), status
    # ...and neither node can record for them.
    for base in (a, b):
        assert post(base, token, f"/learners/{lid}/observations", observation(tid))[0] in (404, 410)

"""The load test's short version (`rarpa load`, rarpa/cli/load.py): the real
servers on 127.0.0.1, a few seconds of saturation against the bare endpoint
and the observation endpoint, then a classroom day with time compressed.

Timings are never asserted (the machine is shared): only what could go wrong
whatever the speed. Every acknowledged observation is found stored exactly
once, counted here through the API independently of the load test's own
check; nothing was refused and no 5xx; the report has its figures, as
numbers; the servers are stopped and the temporary folder gone afterwards.
On --store=postgres it runs on the run's PostgreSQL (one node: four
servers starting at once on two shared cores would double the test's time;
several nodes are tests/test_postgres_nodes.py's subject).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import pytest

from rarpa.cli import load
from tests.localhost import PG_SERVER, http_get


def stored_through_the_api(port: int, token: str, learner_id: str) -> tuple[list[str], int]:
    """(ids of the learner's ObservationRecorded events, observations counted on its targets)."""
    base = f"http://127.0.0.1:{port}/api/v1/learners/{learner_id}"
    status, _, body = http_get(f"{base}/events", token)
    assert status == 200, body[:300]
    head, *rows = [json.loads(line) for line in body.decode().splitlines()]
    assert head["events"] == len(rows)
    status, _, progress = http_get(f"{base}/progress", token)
    assert status == 200, progress[:300]
    counted = sum(t["observations"] for t in json.loads(progress)["targets"])
    return [r["observation_id"] for r in rows if r["type"] == "ObservationRecorded"], counted


def finite(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_a_short_compressed_load_run_loses_and_doubles_nothing():
    on_postgres = os.environ.get(PG_SERVER)
    printed: list[str] = []
    seen: dict = {}

    def look(context: dict) -> None:
        """With the servers still up: count every learner's observations ourselves."""
        seen.update(context)
        stored: Counter[str] = Counter()
        [port] = context["ports"]
        for pair in context["pairs"]:
            ids, counted = stored_through_the_api(port, context["token"], pair.learner)
            assert counted == len(ids), f"the read model counts {counted}, the store has {len(ids)}"
            stored.update(ids)
        seen["stored"] = stored

    report = load.run(seconds=2, warmup=1, clients=8, tablets=200, classroom_seconds=6, compressed=True,
                      learners=8, postgres_url=on_postgres,
                      echo=printed.append, inspect=look)
    print("\n".join(printed))  # the figures, in the test's output

    # Every acknowledged observation stored exactly once; nothing stored that no client sent.
    acked = [oid for _, oid in seen["acked"]]
    sent = {oid for _, oid in seen["sent"]}
    stored = seen["stored"]
    assert len(acked) > 50, "too few observations were written for the count to mean anything"
    assert len(set(acked)) == len(acked), "an id was acknowledged twice"
    assert {oid for oid, n in stored.items() if n > 1} == set(), "stored twice"
    assert set(acked) <= set(stored), f"acknowledged but not stored: {set(acked) - set(stored)}"
    assert set(stored) <= sent, f"stored but never sent: {set(stored) - sent}"
    # The load test's own check says the same.
    check = report["check"]
    assert check["acknowledged"] == len(acked) and check["stored"] == sum(stored.values())
    assert check["stored_twice"] == check["acknowledged_not_stored"] == check["stored_not_sent"] == []
    assert check["read_model_agrees"] is True
    assert load.problems(report) == []

    # Nothing refused, no 5xx: every request of every phase answered 201.
    saturation, classroom = report["saturation"], report["classroom"]
    for r in (saturation["bare"], saturation["observation"], classroom):
        assert r["server_errors"] == 0 and r["errors"] == 0, r
        assert r["failures"] == {} and list(r["statuses"]) == ["201"], r
    assert classroom["ok"] == classroom["scheduled"] > 0

    # The figures are there, as numbers.
    for r in (saturation["bare"], saturation["observation"], classroom):
        for name in ("per_second", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_request",
                     "client_cpu_ms_per_request"):
            assert finite(r[name]), (name, r[name])
        assert r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert finite(classroom["from_sending_p95_ms"]) and classroom["from_sending_p95_ms"] <= classroom["max_ms"]
    assert finite(saturation["ratio"]) and finite(saturation["ratio_median"])
    assert saturation["ratio"] == saturation["observation"]["per_second"] / saturation["bare"]["per_second"]
    if on_postgres:
        assert report["store"].startswith("PostgreSQL")
    text = "\n".join(printed)
    assert "ratio observation / bare" in text and "p95" in text
    assert "TIME COMPRESSED 12x (bursts every 5 s, not 60 s)" in text
    assert classroom["compressed"] is True and classroom["period_seconds"] == 5.0

    # Afterwards: every server stopped, the temporary folder gone.
    for pid in seen["pids"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not seen["folder"].exists()


def test_the_schedule_is_classes_bursting_with_one_to_three_each():
    pairs = [load.Pair(f"learner-{i}", f"target-{i}") for i in range(12)]
    schedule = load.classroom_schedule(pairs, tablets=200, class_size=8, period=60, spread=5, seconds=120)
    assert [s.at for s in schedule] == sorted(s.at for s in schedule)
    assert all(0 <= s.at < 120 for s in schedule)
    per_tablet = Counter(s.tablet for s in schedule)
    assert set(per_tablet) == set(range(200))  # every tablet records
    # Two minutes of bursts every 45-75 s: 1 to 3 bursts, 1-3 observations each.
    assert all(1 <= n <= 9 for n in per_tablet.values()), per_tablet
    # A class's tablets record for that class's learners only.
    learners_of_class = {}
    for s in schedule:
        learners_of_class.setdefault(s.tablet // 8, set()).add(s.pair.learner)
    assert all(len(v) == 1 for v in learners_of_class.values())  # 25 classes share 12 learners: one each
    compressed = load.classroom_schedule(pairs, tablets=200, class_size=8, period=5, spread=1.25, seconds=120)
    assert len(compressed) > 8 * len(schedule)  # twelve times the rate


def test_only_the_loopback_address():
    assert load.loopback(8000) == ("127.0.0.1", 8000)
    assert load.http_request(8000, "GET", "/healthz").startswith(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    for url in ("postgresql://postgres@10.0.0.5:5432/rarpa", "postgresql://postgres@db.example.org/rarpa",
                "postgresql://postgres@localhost:5432/rarpa"):
        with pytest.raises(SystemExit, match="127.0.0.1 only"):
            load._postgres_url_ok(url)
    assert load._postgres_url_ok("postgresql://postgres@127.0.0.1:5432/x") == "postgresql://postgres@127.0.0.1:5432/x"
    with pytest.raises(SystemExit, match="several nodes need PostgreSQL"):
        load.run(nodes=2, echo=lambda *_: None)

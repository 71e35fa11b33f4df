"""kill -9 under load: the real server (`rarpa serve`, waitress) on 127.0.0.1,
several tablets POSTing observations with their own UUIDs, and the server
SIGKILLed mid-load a few times and restarted.

What must hold afterwards:

- every observation the server acknowledged (2xx) is stored, exactly once;
- no observation is stored twice, and nothing is stored that no tablet sent;
- what was sent but not acknowledged (the answer was lost in the kill) is kept
  in the tablet's outbox and sent again, same id and same body, as the PWA's
  outbox does: the retry answers 201 (it was lost) or 200 (it had been stored),
  never a refusal, and ends up stored once;
- `rarpa verify` finds every hash chain and snapshot intact;
- `rarpa rebuild` gives the same progress as the live read model.

With --store=postgres the server is a node on PostgreSQL and the read model is
its own file: the same holds when a node is killed.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.localhost import http_get, start_server, store_env, three_learners_on_a_caseload

RARPA = Path(sys.executable).parent / "rarpa"
PASSWORD = "correct horse battery"
# SIGKILLs under load; the server is restarted after each. `make crash` runs 20
# on each store (RARPA_CRASH_KILLS); the suite's bounded run, 3.
KILLS = int(os.environ.get("RARPA_CRASH_KILLS", "3"))
TABLETS = 6  # client threads: two per learner, so writers also clash on one stream
ACKS_PER_CYCLE = 40  # acknowledgements to wait for before a kill, so it lands mid-load
RATINGS = ("not_yet", "emerging", "developing", "secure", "generalised")
LIMIT = 30 + 15 * KILLS  # seconds: a bound on the whole load (every restart included), never a timing check


# --- processes ---------------------------------------------------------------------------
def env_for(folder: Path) -> dict[str, str]:
    return store_env(folder)


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RARPA), *args], env=env_for(folder), cwd=folder, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


class Servers:
    """Starts `rarpa serve` processes and makes sure none outlives the test."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: list[subprocess.Popen] = []
        self.count = 0

    def start(self) -> tuple[subprocess.Popen, str]:
        self.count += 1
        served = start_server(env_for(self.folder), self.folder, self.folder / f"serve-{self.count}.log")
        self.procs.append(served.proc)
        return served.proc, served.base

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass


@pytest.fixture
def servers(tmp_path):
    s = Servers(tmp_path)
    yield s
    s.close()


# --- the store before the load -------------------------------------------------------------
@pytest.fixture
def record(tmp_path):
    """Three learners with a target each, all on one tutor's caseload; and the tutor's
    token from `rarpa token create`."""
    learners = three_learners_on_a_caseload(tmp_path, PASSWORD)
    made = cli(tmp_path, "token", "create", "tutor@example.org")
    assert made.returncode == 0, made.stderr
    return {"learners": learners, "token": made.stdout.strip()}


# --- the tablets --------------------------------------------------------------------------
class Outbox(threading.Thread):
    """One tablet: makes observations one at a time and sends each until the server
    answers. An observation leaves the outbox only on an answer; a lost connection
    means the same id and body go again (the PWA's outbox)."""

    def __init__(self, fleet: Fleet, learner_id: str, target_id: str):
        super().__init__(daemon=True)
        self.fleet, self.learner_id, self.target_id = fleet, learner_id, target_id
        self.made: dict[str, dict] = {}  # id -> body, everything this tablet made
        self.answers: dict[str, list[int]] = {}  # id -> statuses received, in order
        self.lost: Counter[str] = Counter()  # id -> sends that got no answer
        self.refused: list[tuple[str, int, str]] = []
        self.error: BaseException | None = None

    def new_observation(self) -> dict:
        oid = str(uuid.uuid4())
        body = {"id": oid, "target_id": self.target_id, "rating": random.choice(RATINGS),
                "context": "classroom", "note": f"seen by tablet {self.name}",
                "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()}
        self.made[oid] = body
        return body

    def send(self, body: dict) -> int:
        url = f"{self.fleet.base}/api/v1/learners/{self.learner_id}/observations"
        assert url.startswith("http://127.0.0.1:"), url
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
            "Authorization": f"Bearer {self.fleet.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                response.read()
                return response.status
        except urllib.error.HTTPError as e:
            e.read()
            return e.code

    def run(self) -> None:
        try:
            current = None
            while time.monotonic() < self.fleet.deadline:
                if current is None:
                    if self.fleet.stop.is_set():
                        return
                    current = self.new_observation()
                try:
                    status = self.send(current)
                except (OSError, http.client.HTTPException):
                    # Refused (server down), reset or cut off mid-answer (killed): keep it, send again.
                    self.lost[current["id"]] += 1
                    time.sleep(0.02)
                    continue
                self.answers.setdefault(current["id"], []).append(status)
                if status not in (200, 201):
                    self.refused.append((current["id"], status, ""))
                current = None
                self.fleet.acked()
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e


class Fleet:
    def __init__(self, token: str, learners: dict[str, str]):
        self.token = token
        self.base = ""
        self.stop = threading.Event()
        self.deadline = time.monotonic() + LIMIT
        self._lock = threading.Lock()
        self.acks = 0
        self.tablets = [Outbox(self, lid, tid) for lid, tid in learners.items() for _ in range(TABLETS // len(learners))]

    def acked(self) -> None:
        with self._lock:
            self.acks += 1

    def wait_for_acks(self, n: int) -> None:
        start = self.acks
        deadline = time.monotonic() + 20
        while self.acks < start + n:
            assert time.monotonic() < deadline, f"only {self.acks - start} answers in 20 s"
            assert all(t.is_alive() for t in self.tablets), [t.error for t in self.tablets]
            time.sleep(0.01)

    def finish(self) -> None:
        self.stop.set()
        for t in self.tablets:
            t.join(timeout=max(1.0, self.deadline - time.monotonic()))


@pytest.fixture
def fleet(record):
    f = Fleet(record["token"], record["learners"])
    yield f
    f.stop.set()
    f.deadline = 0  # threads are daemons; this ends any still sending
    for t in f.tablets:
        t.join(timeout=5)


# --- reading the record back -----------------------------------------------------------------
def get_json(base: str, path: str, token: str):
    status, _, body = http_get(f"{base}/api/v1{path}", token)
    assert status == 200, (path, status, body[:500])
    return body


def exported_observations(base: str, token: str, learner_id: str) -> list[dict]:
    body = get_json(base, f"/learners/{learner_id}/events", token)
    head, *rows = [json.loads(line) for line in body.decode().splitlines()]
    assert head["events"] == len(rows)
    return [r for r in rows if r["type"] == "ObservationRecorded"]


def progress(base: str, token: str, learners) -> dict:
    return {lid: json.loads(get_json(base, f"/learners/{lid}/progress", token)) for lid in learners}


# --- the test ---------------------------------------------------------------------------------
def test_kill_9_under_load_loses_and_duplicates_nothing(tmp_path, record, servers, fleet):
    token, learners = record["token"], record["learners"]

    proc, fleet.base = servers.start()
    for t in fleet.tablets:
        t.start()
    for _ in range(KILLS):
        fleet.wait_for_acks(ACKS_PER_CYCLE)
        time.sleep(random.uniform(0, 0.15))
        servers.kill9(proc)  # mid-load: the tablets are sending all the time
        proc, fleet.base = servers.start()  # on another port: the tablets follow
    fleet.wait_for_acks(ACKS_PER_CYCLE)  # the outboxes drain onto the last server
    fleet.finish()

    tablets = fleet.tablets
    print(f"{len(tablets)} tablets, {KILLS} kills: {sum(len(t.made) for t in tablets)} observations made, "
          f"{sum(len(t.lost) for t in tablets)} cut off at least once, "
          f"{sum(t.answers[o] == [200] for t in tablets for o in t.lost)} of those had been stored")
    assert not any(t.is_alive() for t in tablets), "a tablet was still sending at the deadline"
    assert [t.error for t in tablets if t.error] == []
    refused = [r for t in tablets for r in t.refused]
    assert refused == [], f"the server refused observations a tablet had made: {refused}"

    made = {oid: (t, body) for t in tablets for oid, body in t.made.items()}
    answered = {oid for t in tablets for oid in t.answers}
    lost = {oid for t in tablets for oid in t.lost}
    assert len(made) >= (KILLS + 1) * ACKS_PER_CYCLE
    # Each outbox ends empty: everything it made was answered in the end.
    assert answered == set(made), f"never answered: {set(made) - answered}"
    # The kills really cut requests off mid-flight (else this test proves nothing).
    assert lost, "no request was in flight at any kill"
    # A retry of something whose answer was lost is accepted: 201 (it had been lost)
    # or 200 (it had been stored; the repeat writes nothing). One answer each, since
    # an answered observation leaves the outbox.
    for t in tablets:
        for oid, statuses in t.answers.items():
            assert len(statuses) == 1 and statuses[0] in (200, 201), (oid, statuses)
            if oid not in t.lost:
                assert statuses == [201], f"{oid} was sent once and answered {statuses}"

    # Stored exactly once, with the body that was sent, and nothing else stored.
    stored: Counter[str] = Counter()
    for lid in learners:
        for event in exported_observations(fleet.base, token, lid):
            oid = event["observation_id"]
            stored[oid] += 1
            assert oid in made, f"stored an observation no tablet made: {oid}"
            tablet, body = made[oid]
            assert tablet.learner_id == lid and event["target_id"] == body["target_id"]
            assert event["rating"] == body["rating"] and event["note"] == body["note"]
            assert datetime.fromisoformat(event["observed_at"]) == datetime.fromisoformat(body["observed_at"])
    assert {oid for oid, n in stored.items() if n > 1} == set(), "stored twice"
    assert set(stored) == set(made), f"acknowledged but not stored: {set(made) - set(stored)}"

    # The live read model agrees: one observation row each, counted on its target.
    live = progress(fleet.base, token, learners)
    for lid, tid in learners.items():
        [target] = [t for t in live[lid]["targets"] if t["id"] == tid]
        assert target["observations"] == sum(len(t.made) for t in tablets if t.learner_id == lid)
    # An acknowledged observation sent again is an exact repeat: 200, nothing new stored.
    tablet = tablets[0]
    oid, body = next(iter(tablet.made.items()))
    assert tablet.send(body) == 200
    same_learner = sum(len(t.made) for t in tablets if t.learner_id == tablet.learner_id)
    assert len(exported_observations(fleet.base, token, tablet.learner_id)) == same_learner

    # One more crash, then the operator's checks on the files the server left.
    servers.kill9(proc)
    verified = cli(tmp_path, "verify")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok:"), verified.stdout
    rebuilt = cli(tmp_path, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    proc, base = servers.start()
    assert progress(base, token, learners) == live

"""Helpers for tests that talk to a real server: on 127.0.0.1 only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, token: str | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of a GET to 127.0.0.1; HTTP errors are returned, not raised."""
    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def post_json(url: str, token: str, body: dict) -> tuple[int, dict]:
    """(status, JSON body) of a POST of ``body`` to 127.0.0.1 with a bearer token;
    HTTP errors are returned, not raised."""
    import json

    assert url.startswith("http://127.0.0.1:"), url
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@dataclass
class Served:
    """A real `rarpa serve` process on 127.0.0.1 and where its output goes."""

    proc: subprocess.Popen
    base: str
    log: Path

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


def start_server(env: dict, cwd: Path, log: Path, wait_seconds: float = 30) -> Served:
    """Start `rarpa serve` on a free port and return once /healthz answers;
    fail the test with the server's output if it exits or never answers."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rarpa.cli", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if http_get(f"{served.base}/healthz")[0] == 200:
                return served
        except OSError:
            pass  # not listening yet
        time.sleep(0.05)
    stop_server(proc)
    pytest.fail(f"the server did not answer /healthz:\n{log.read_text()}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it does not stop within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def serving(env: dict, cwd: Path, log: Path) -> Iterator[Served]:
    served = start_server(env, cwd, log)
    try:
        yield served
    finally:
        stop_server(served.proc)


PG_SERVER = "RARPA_TEST_PG"  # set by tests/conftest.py for --store=postgres: the run's server


def db_env(db_path: Path | str) -> dict[str, str]:
    """RARPA_DB and RARPA_VIEWS for a record at ``db_path``: that SQLite file,
    or, when the run is on PostgreSQL (--store=postgres), a schema of its own
    named after the path (so every process given the same path meets the same
    record) with the read model beside the path."""
    import hashlib
    import os

    path = Path(db_path)
    views = path.with_name(path.name.replace(".sqlite3", "") + "-views.sqlite3")
    server = os.environ.get(PG_SERVER)
    if not server:
        return {"RARPA_DB": str(path), "RARPA_VIEWS": str(views)}
    schema = "f_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:20]
    return {"RARPA_DB": f"{server}?options=-csearch_path%3D{schema}", "RARPA_VIEWS": str(views)}


def store_env(folder: Path, db: str | None = None, views: str | None = None) -> dict[str, str]:
    """The environment of a `rarpa` process on a store in ``folder``, or on the
    PostgreSQL database ``db`` with its read model in ``folder/views`` (and
    nothing of the caller's own RARPA_ settings)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    if db:
        env["RARPA_DB"] = db
        env["RARPA_VIEWS"] = str(folder / (views or "rarpa-views.sqlite3"))
    else:
        env.update(db_env(folder / "rarpa.sqlite3"))
    env["RARPA_PASSWORD_PROFILE"] = "cheapest"
    return env


def three_learners_on_a_caseload(folder: Path, password: str, db: str | None = None) -> dict[str, str]:
    """A store in ``folder`` (or the PostgreSQL database ``db``): three learners
    with a target each, all on one tutor's caseload (tutor@example.org).
    Returns each learner's target."""
    from rarpa.config import Settings
    from rarpa.service.access import system_actor
    from rarpa.service.application import RecordApplication

    app = RecordApplication(Settings.from_env(store_env(folder, db)))
    system = system_actor("test")
    try:
        app.register_provider(system, "northfield", "Northfield College")
        app.add_user(system, email="tutor@example.org", role="tutor", password=password, provider="northfield")
        targets = {}
        for name in ("Amy Jones", "Ben Smith", "Cara Patel"):
            lid = app.enrol_learner(system, name=name, date_of_birth="2007-03-01", provider="northfield").result
            oid = app.record_outcome(system, lid, text="Travel to college on the bus",
                                     pfa_area="independent_living", due="2027-07-01").result
            targets[lid] = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                                          outcome_ids=[oid], baseline="emerging", review_by="2027-01-15").result
            app.add_to_caseload(system, "tutor@example.org", lid)
        return targets
    finally:
        app.close()

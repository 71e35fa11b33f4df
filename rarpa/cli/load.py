"""`rarpa load` (`make load`): the record-observation endpoint under load over
HTTP, against a bare Flask endpoint on the same server and the same client in
the same run. 127.0.0.1 only (asserted), bounded in time, everything in
temporary folders that are removed, every server stopped (also on Ctrl-C).

Two servers are started, both by ``web.server.serve`` (waitress, the same
threads and channel settings): the real app (`rarpa serve`) on a new store
with ``learners`` new learners for each round and for the classroom, a
target each, all on one tutor's caseload, and the tutor's bearer token (the
service's ``create_token``, as `rarpa token create`); and the baseline,
rarpa/cli/load_bare.py, which parses the same JSON body and answers 201 with
a small JSON body. With ``nodes=2`` (on
PostgreSQL) there are two of each and the client goes round-robin.

1. Saturation: ``clients`` closed-loop clients, each on its own keep-alive
   connection, send as fast as answers come for ``seconds`` (after a warm-up
   that is not counted), first to the baseline, then to the real endpoint:
   requests per second of each, the ratio, p50/p95/p99. ``rounds`` repeats the
   pair, each round on learners of its own (a write costs more as a record
   grows, so a round on the same learners would not repeat the first); the
   best round of each is reported, and the median ratio.
2. A classroom day: ``tablets`` tablets in classes of ``class_size``; each
   class bursts every ``period`` seconds (jittered by +/-25 %, the first burst
   at a random moment), each of its tablets recording 1-3 observations within
   ``spread`` seconds of the burst. Open loop: each request goes at its
   scheduled time whatever earlier answers took, and its latency counts from
   that time (waiting for a free connection included). ``compressed`` uses
   ``period`` 5 s (12 times the real rate) and says so.

The client is the same for both endpoints and sends them the same requests
(the bare endpoint ignores the token): threads, each with one HTTP/1.1
keep-alive connection over a plain socket (a few lines, cheaper than
http.client, so less of the two cores goes to the client); its CPU time per
request is reported, and so is each server's (and PostgreSQL's). The figure
least moved by other work on the machine is the servers' CPU per request:
one `rarpa serve` is one Python process, so at saturation the ratio of the
two throughputs is close to the inverse ratio of their CPU per request.

Afterwards every observation the real endpoint acknowledged (201) is looked
for in the store through the API (each learner's events, and the counts on
its targets in the read model): stored exactly once, and nothing stored that
was not sent.
"""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

LOOPBACK = "127.0.0.1"
PASSWORD = "load test password 4821"  # the tutor's; only the token is used
TUTOR = "tutor@example.org"
RATINGS = ("not_yet", "emerging", "developing", "secure", "generalised")
REQUEST_TIMEOUT = 30.0  # seconds: a bound on every answer
MAX_SECONDS = 900  # no phase runs longer than this, whatever is asked
DRAIN_SECONDS = 30.0  # after the classroom schedule ends, wait at most this for answers
COMPRESSED_PERIOD = 5.0  # seconds between a class's bursts when time is compressed
REAL_PERIOD = 60.0
# Settings that say where things are kept are the load test's own; any other
# RARPA_ setting of the caller (e.g. RARPA_GROUP_COMMIT=0) goes to the servers.
OWN_SETTINGS = ("RARPA_DB", "RARPA_VIEWS", "RARPA_VAULT", "RARPA_RATELIMIT_STORAGE")


def loopback(port: int) -> tuple[str, int]:
    address = (LOOPBACK, int(port))
    assert address[0] == "127.0.0.1", address
    return address


# --- the client: one keep-alive HTTP/1.1 connection over a socket ------------------------------
class HttpError(Exception):
    """An answer that is not HTTP/1.1 as expected (the connection is dropped)."""


class Connection:
    """One keep-alive connection to 127.0.0.1:port; one request at a time."""

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT):
        self.address = loopback(port)
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reconnects = 0

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _connect(self) -> None:
        assert self.address[0] == LOOPBACK
        self.sock = socket.create_connection(self.address, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send a whole request; (status, body). A kept-alive connection the
        server had closed meanwhile (nothing at all came back) is opened again
        and the request sent once more: safe here, as an observation is
        idempotent on its id and the baseline stores nothing."""
        reused = self.sock is not None
        for attempt in (1, 2):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(raw)
                status, headers, body = self._answer()
            except _NothingBack:
                self.close()
                if reused and attempt == 1:
                    self.reconnects += 1
                    continue
                raise ConnectionError("the server closed the connection without answering")
            except BaseException:
                self.close()
                raise
            if headers.get(b"connection", b"").lower() == b"close":
                self.close()
            return status, body
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-answer")
        return chunk

    def _answer(self) -> tuple[int, dict[bytes, bytes], bytes]:
        buf = self.sock.recv(65536)
        if not buf:
            raise _NothingBack()
        while b"\r\n\r\n" not in buf:
            buf += self._recv()
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpError(f"not an HTTP answer: {lines[0][:80]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            size = int(headers[b"content-length"])
            while len(rest) < size:
                rest += self._recv()
            return status, headers, rest[:size]
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            return status, headers, self._chunked(rest)
        raise HttpError("an answer with neither Content-Length nor chunked encoding")

    def _chunked(self, rest: bytes) -> bytes:
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += self._recv()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._recv()
            body, rest = body + rest[:size], rest[size + 2:]
            if size == 0:
                return body


class _NothingBack(Exception):
    pass


def http_request(port: int, method: str, path: str, token: str | None = None, body: bytes = b"",
                 accept_encoding: bool = False) -> bytes:
    """The bytes of one request to 127.0.0.1:port (HTTP/1.1, keep-alive)."""
    host = f"{loopback(port)[0]}:{port}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: application/json",
             "User-Agent: rarpa-load"]
    if accept_encoding:  # as a tablet's browser sends it
        lines.append("Accept-Encoding: gzip, deflate, br")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if method != "GET":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    conn = Connection(port, timeout=60)
    try:
        return conn.request(http_request(port, "GET", path, token))
    finally:
        conn.close()


# --- the record and its observations -------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    learner: str
    target: str


def observation_body(pair: Pair, note: str) -> tuple[str, bytes]:
    oid = str(uuid.uuid4())
    body = {"id": oid, "target_id": pair.target, "rating": random.choice(RATINGS), "context": "classroom",
            "note": note,
            "observed_at": (datetime.now(timezone.utc) - timedelta(seconds=30)).isoformat(timespec="seconds")}
    return oid, json.dumps(body).encode()


def seed_record(env: dict[str, str], learners: int) -> tuple[str, list[Pair]]:
    """A new store: a provider, ``learners`` learners with an outcome and a
    target each, all on the tutor's caseload; the tutor's API token."""
    from rarpa.config import Settings
    from rarpa.service.access import system_actor
    from rarpa.service.application import RecordApplication

    app = RecordApplication(Settings.from_env({**env, "RARPA_PASSWORD_PROFILE": "cheapest"}))
    system = system_actor("load")
    try:
        app.register_provider(system, "northfield", "Northfield College")
        app.add_user(system, email=TUTOR, role="tutor", password=PASSWORD, provider="northfield")
        pairs = []
        for i in range(learners):
            lid = app.enrol_learner(system, name=f"Load Learner {i + 1}", date_of_birth="2007-03-01",
                                    provider="northfield").result
            oid = app.record_outcome(system, lid, text="Travel to college on the bus",
                                     pfa_area="independent_living", due="2027-07-01").result
            tid = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                                 outcome_ids=[oid], baseline="emerging", review_by="2027-01-15").result
            app.add_to_caseload(system, TUTOR, lid)
            pairs.append(Pair(str(lid), str(tid)))
        return app.create_token(TUTOR, "load test"), pairs
    finally:
        app.close()


# --- processes ---------------------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(loopback(0))
        return s.getsockname()[1]


def launch(name: str, argv: list[str], env: dict[str, str], folder: Path) -> Server:
    """Start a server on a free port of 127.0.0.1 (see ``ready``)."""
    port = _free_port()
    log = folder / f"{name}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, *argv, "--port", str(port)], env=env, cwd=folder, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return Server(name, proc, port, log)


def ready(servers: list[Server], wait: float = 60) -> None:
    """Return once every server's /healthz answers 200; stop them all and
    raise, with the log, if one exits or never answers."""
    deadline = time.monotonic() + wait
    waiting = list(servers)
    while waiting and time.monotonic() < deadline:
        server = waiting[0]
        if server.proc.poll() is not None:
            break
        try:
            if get(server.port, "/healthz")[0] == 200:
                waiting.pop(0)
                continue
        except OSError:
            pass  # not listening yet
        time.sleep(0.05)
    if waiting:
        for s in servers:
            stop_server(s)
        raise RuntimeError(f"{waiting[0].name} did not answer /healthz:\n{waiting[0].log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within 10 s."""
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int, children: bool = False) -> float:
    """CPU seconds a process has used (with its reaped children's, if asked)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return ticks / _TICK


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (PostgreSQL's backends are
    the postmaster's children; those that ended are in its children's time)."""
    total = _cpu_of(pid, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                total += _cpu_of(int(entry.name))
    return total


class CpuMeter:
    """CPU seconds used between ``start`` and ``stop`` by this process (the
    client), the given servers and PostgreSQL's processes."""

    def __init__(self, servers: list[Server], postmaster: int | None):
        self.servers, self.postmaster = servers, postmaster

    def read(self) -> dict[str, float]:
        out = {"client": time.process_time(), "server": sum(_cpu_of(s.proc.pid) for s in self.servers)}
        if self.postmaster:
            out["postgres"] = _tree_cpu(self.postmaster)
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {k: after[k] - before[k] for k in before}


# --- one phase's results -------------------------------------------------------------------------
@dataclass
class Tally:
    """What one client thread saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, answered requests (any status)
    lags: list[float] = field(default_factory=list)  # open loop: seconds a request went later than scheduled
    sending: list[float] = field(default_factory=list)  # open loop: seconds from sending to the whole answer
    statuses: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)  # no answer: the exception's name
    acked: list[tuple[str, str]] = field(default_factory=list)  # (learner, observation id) answered 201
    sent: list[tuple[str, str]] = field(default_factory=list)  # every observation sent
    reconnects: int = 0
    first: float = float("inf")
    last: float = 0.0

    def merge(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.lags += other.lags
        self.sending += other.sending
        self.statuses.update(other.statuses)
        self.failures.update(other.failures)
        self.acked += other.acked
        self.sent += other.sent
        self.reconnects += other.reconnects
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def summary(tally: Tally, seconds: float, cpu: dict[str, float]) -> dict:
    ok = sum(n for status, n in tally.statuses.items() if 200 <= status < 300)
    answered = sum(tally.statuses.values())
    ms = [x * 1000 for x in tally.latencies]
    out = {
        "requests": answered + sum(tally.failures.values()),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_errors": sum(n for status, n in tally.statuses.items() if status >= 500),
        "errors": answered - ok + sum(tally.failures.values()),
        "failures": dict(tally.failures),
        "reconnects": tally.reconnects,
        "seconds": seconds,
        "per_second": ok / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }
    for who, spent in cpu.items():
        out[f"{who}_cpu_ms_per_request"] = spent * 1000 / answered if answered else float("nan")
    return out


# --- 1. saturation: closed loop ---------------------------------------------------------------------------
def _closed_loop(conn: Connection, make: Callable[[], tuple[bytes, tuple[str, str] | None]], until: float,
                 tally: Tally) -> None:
    while time.perf_counter() < until:
        raw, sent = make()
        start = time.perf_counter()
        try:
            status, _ = conn.request(raw)
        except (OSError, HttpError, ValueError) as e:
            tally.failures[type(e).__name__] += 1
            time.sleep(0.01)  # bounded by ``until`` like every other pass
            continue
        finally:
            if sent:
                tally.sent.append(sent)
        end = time.perf_counter()
        tally.latencies.append(end - start)
        tally.statuses[status] += 1
        if status == 201 and sent:
            tally.acked.append(sent)
        tally.first, tally.last = min(tally.first, start), end
    tally.reconnects, conn.reconnects = tally.reconnects + conn.reconnects, 0


def _requester(port: int, token: str | None, pair: Pair, note: str):
    path = f"/api/v1/learners/{pair.learner}/observations"

    def make():
        oid, body = observation_body(pair, note)
        return http_request(port, "POST", path, token, body, accept_encoding=True), (pair.learner, oid)
    return make


def saturation(ports: list[int], token: str | None, pairs: list[Pair], clients: int, seconds: float,
               warmup: float, meter: CpuMeter, label: str) -> dict:
    """``clients`` threads on their own connections (round-robin over ``ports``),
    each client writing for one learner (pairs spread over the clients)."""
    seconds = min(seconds, MAX_SECONDS)
    conns = [Connection(ports[c % len(ports)]) for c in range(clients)]
    makers = [_requester(conns[c].port, token, pairs[c % len(pairs)], f"load client {c}")  # the same bytes to both
              for c in range(clients)]
    acked, sent = [], []  # the warm-up's writes too: they are checked afterwards like the rest
    try:
        for stage, length in (("warm-up", warmup), ("measured", seconds)):
            tallies = [Tally() for _ in range(clients)]
            until = time.perf_counter() + length
            before = meter.read()
            threads = [threading.Thread(target=_closed_loop, args=(conns[c], makers[c], until, tallies[c]),
                                        daemon=True, name=f"load-{label}-{c}") for c in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=length + REQUEST_TIMEOUT + 5)
            spent = CpuMeter.spent(before, meter.read())
            assert not any(t.is_alive() for t in threads), "a client was still sending past its bound"
            for t in tallies:
                acked += t.acked
                sent += t.sent
        total = Tally()
        for t in tallies:
            total.merge(t)
        elapsed = (total.last - total.first) if total.latencies else seconds
        out = summary(total, elapsed, spent)
        out["tally"] = total
        out["written"] = (acked, sent)
        return out
    finally:
        for c in conns:
            c.close()


# --- 2. a classroom day: open loop ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Scheduled:
    at: float  # seconds after the start
    tablet: int
    pair: Pair


def classroom_schedule(pairs: list[Pair], tablets: int, class_size: int, period: float, spread: float,
                       seconds: float, seed: int = 14) -> list[Scheduled]:
    """When each tablet records, over ``seconds``: classes of ``class_size``
    tablets; each class's learners are its share of ``pairs``; a class bursts
    every ``period`` (+/-25 %), the first burst at a random moment in the first
    period; in a burst each tablet records 1-3 observations, each at a random
    moment within ``spread`` seconds of the burst, for one of the class's learners."""
    rng = random.Random(seed)
    classes = [list(range(start, min(start + class_size, tablets))) for start in range(0, tablets, class_size)]
    out = []
    for k, members in enumerate(classes):
        learners = pairs[k::len(classes)] or [pairs[k % len(pairs)]]
        burst = rng.uniform(0, period)
        while burst < seconds:
            for tablet in members:
                for _ in range(rng.randint(1, 3)):
                    at = burst + rng.uniform(0, spread)
                    if at < seconds:
                        out.append(Scheduled(at, tablet, rng.choice(learners)))
            burst += period * rng.uniform(0.75, 1.25)
    out.sort(key=lambda s: s.at)
    return out


def classroom(ports: list[int], token: str, pairs: list[Pair], schedule: list[Scheduled], seconds: float,
              connections: int, meter: CpuMeter) -> dict:
    """Send each scheduled observation at its time, on the first free of
    ``connections`` keep-alive connections (round-robin over ``ports``);
    latency from the scheduled time to the whole answer."""
    jobs: queue.Queue = queue.Queue()
    tallies = [Tally() for _ in range(connections)]
    start = time.perf_counter() + 0.2
    give_up = start + min(seconds, MAX_SECONDS) + DRAIN_SECONDS  # nothing is sent after this

    def worker(n: int) -> None:
        conn, tally = Connection(ports[n % len(ports)]), tallies[n]
        path_of = {}
        try:
            while True:
                job = jobs.get(timeout=min(seconds, MAX_SECONDS) + DRAIN_SECONDS + 5)
                if job is None:
                    return
                due = start + job.at
                sent_at = time.perf_counter()
                if sent_at > give_up:
                    tally.failures["not sent: past the drain bound"] += 1
                    continue
                path = path_of.setdefault(job.pair.learner, f"/api/v1/learners/{job.pair.learner}/observations")
                oid, body = observation_body(job.pair, f"load classroom tablet {job.tablet}")
                raw = http_request(conn.port, "POST", path, token, body, accept_encoding=True)
                tally.sent.append((job.pair.learner, oid))
                tally.lags.append(max(0.0, sent_at - due))
                try:
                    status, _ = conn.request(raw)
                except (OSError, HttpError, ValueError) as e:
                    tally.failures[type(e).__name__] += 1
                    continue
                end = time.perf_counter()
                tally.latencies.append(end - due)
                tally.sending.append(end - sent_at)
                tally.statuses[status] += 1
                if status == 201:
                    tally.acked.append((job.pair.learner, oid))
                tally.first, tally.last = min(tally.first, due), end
        except queue.Empty:
            return
        finally:
            tally.reconnects += conn.reconnects
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True, name=f"load-tablets-{n}")
               for n in range(connections)]
    for t in threads:
        t.start()
    before = meter.read()
    for job in schedule:  # the dispatcher: each job on the queue at its time, never later on account of answers
        wait = start + job.at - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        jobs.put(job)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=max(0.0, give_up - time.perf_counter()) + REQUEST_TIMEOUT + 5)
    spent = CpuMeter.spent(before, meter.read())
    assert not any(t.is_alive() for t in threads), "a tablet was still sending past its bound"
    total = Tally()
    for t in tallies:
        total.merge(t)
    out = summary(total, min(seconds, MAX_SECONDS), spent)
    out["per_second"] = out["ok"] / out["seconds"]  # the offered rate, answered
    out["scheduled"] = len(schedule)
    out["lag_p99_ms"] = percentile([x * 1000 for x in total.lags], 99)
    out["lag_max_ms"] = max(total.lags) * 1000 if total.lags else float("nan")
    out["from_sending_p95_ms"] = percentile([x * 1000 for x in total.sending], 95)
    out["tally"] = total
    return out


# --- afterwards: stored exactly once? ----------------------------------------------------------------------
def stored_check(port: int, token: str, pairs: list[Pair], acked: list[tuple[str, str]],
                 sent: list[tuple[str, str]]) -> dict:
    """Read every learner's events and progress through the API: each
    acknowledged observation stored once, nothing stored that was not sent,
    and the read model's count on each target equal to the stored count."""
    stored: Counter[str] = Counter()
    where: dict[str, str] = {}
    read_model_agrees = True
    for pair in pairs:
        status, body = get(port, f"/api/v1/learners/{pair.learner}/events", token)
        if status != 200:
            raise RuntimeError(f"reading {pair.learner}'s events answered {status}: {body[:300]!r}")
        head, *rows = [json.loads(line) for line in body.decode().splitlines()]
        assert head["events"] == len(rows)
        mine = 0
        for row in rows:
            if row["type"] == "ObservationRecorded":
                stored[row["observation_id"]] += 1
                where[row["observation_id"]] = pair.learner
                mine += 1
        status, body = get(port, f"/api/v1/learners/{pair.learner}/progress", token)
        if status != 200:
            raise RuntimeError(f"reading {pair.learner}'s progress answered {status}")
        counted = sum(t["observations"] for t in json.loads(body)["targets"])
        read_model_agrees = read_model_agrees and counted == mine
    acked_ids = {oid for _, oid in acked}
    sent_ids = {oid for _, oid in sent}
    return {
        "acknowledged": len(acked),
        "acknowledged_distinct": len(acked_ids),
        "stored": sum(stored.values()),
        "stored_twice": sorted(oid for oid, n in stored.items() if n > 1),
        "acknowledged_not_stored": sorted(acked_ids - set(stored)),
        "stored_not_sent": sorted(set(stored) - sent_ids),
        "stored_under_another_learner": sorted(oid for lid, oid in acked if where.get(oid, lid) != lid),
        "read_model_agrees": read_model_agrees,
    }


# --- the whole run ---------------------------------------------------------------------------------
def _postgres_url_ok(url: str) -> str:
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise SystemExit(f"the load test runs on 127.0.0.1 only; RARPA_DB names {host!r}")
    return url


def _server_env(db: str, views: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The servers' environment: the caller's, less every RARPA_ location, plus ours;
    and the caller's other RARPA_ settings passed through (reported)."""
    passed = {k: v for k, v in os.environ.items()
              if k.startswith("RARPA_") and k not in OWN_SETTINGS and not k.startswith("RARPA_TEST")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}  # RARPA_TEST_* too: not a setting
    env.update(passed)
    env.update({"RARPA_DB": db, "RARPA_VIEWS": str(views)})
    return env, passed


@contextmanager
def _signals_end_the_run() -> Iterator[None]:
    """SIGTERM (and SIGHUP) end the run as Ctrl-C does, so the cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextmanager
def _store(postgres: bool, postgres_url: str | None, folder: Path, echo) -> Iterator[tuple[str, str, int | None]]:
    """(RARPA_DB, description, postmaster pid) for the run: a SQLite file in
    ``folder``; a throwaway PostgreSQL server (durable: fsync on); or a schema
    of its own on the PostgreSQL server at ``postgres_url``, dropped afterwards."""
    if postgres_url:
        import psycopg
        from psycopg import sql

        _postgres_url_ok(postgres_url)
        schema = f"rarpa_load_{uuid.uuid4().hex[:12]}"
        base = postgres_url.split("?", 1)[0]
        echo(f"PostgreSQL at {urlsplit(base).hostname}:{urlsplit(base).port}, in a schema of its own ({schema}), "
             "dropped afterwards")
        try:
            yield f"{base}?options=-csearch_path%3D{schema}", "PostgreSQL (given)", None
        finally:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        return
    if not postgres:
        yield str(folder / "rarpa.sqlite3"), "SQLite", None
        return
    from rarpa.store import pg_local

    pg_folder = Path(tempfile.mkdtemp(prefix="rarpa-load-pg-"))  # in /tmp: the postgres user must reach it
    try:
        server = pg_local.start(pg_folder, durable=True)
        try:
            url = _postgres_url_ok(server.url())
            pid = int((server.data / "postmaster.pid").read_text().split()[0])
            version = (server.data / "PG_VERSION").read_text().strip()
            yield url, f"PostgreSQL {version} (throwaway, durable: fsync on)", pid
        finally:
            server.stop("fast")
    finally:
        shutil.rmtree(pg_folder, ignore_errors=True)


def run(*, seconds: float = 15, clients: int = 32, warmup: float = 3, rounds: int = 1, tablets: int = 200,
        class_size: int = 8, classroom_seconds: float = 120, compressed: bool = False, connections: int = 64,
        learners: int = 48, postgres: bool = False, postgres_url: str | None = None, nodes: int = 1,
        threads: int = 8, echo: Callable[[str], None] = print,
        inspect: Callable[[dict], None] | None = None) -> dict:
    """Run both phases and return the report (also printed through ``echo``).
    ``inspect``, if given, is called with the servers still running and the
    report so far (for a test to look at the record itself)."""
    if nodes > 1 and not (postgres or postgres_url):
        raise SystemExit("several nodes need PostgreSQL: add --postgres")
    assert 1 <= clients <= 256 and 1 <= connections <= 256 and 1 <= nodes <= 4 and 1 <= rounds <= 10
    period = COMPRESSED_PERIOD if compressed else REAL_PERIOD
    spread = min(5.0, period / 4)
    report: dict = {}
    with ExitStack() as stack:
        stack.enter_context(_signals_end_the_run())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rarpa-load-")))
        db, described, postmaster = stack.enter_context(_store(postgres, postgres_url, folder, echo))
        env, passed = _server_env(db, folder / "seed-views.sqlite3")
        began = time.monotonic()
        steps: dict[str, float] = {}

        def step(name: str) -> None:  # where the run's own time went (seconds)
            steps[name] = round(time.monotonic() - began - sum(steps.values()), 2)
        # Fresh learners for each round and for the classroom: a learner's
        # record grows under load and the cost of a write grows with it, so a
        # later round on the same learners would not be a repeat of the first.
        token, everyone = seed_record(env, learners * (rounds + 1))
        sets = [everyone[k * learners:(k + 1) * learners] for k in range(rounds + 1)]
        step("seed")
        servers: list[Server] = []

        def stop_all():
            for s in servers:
                stop_server(s)
        stack.callback(stop_all)
        real, bare = [], []
        for n in range(nodes):  # all started at once, then waited for
            node_env, _ = _server_env(db, folder / f"node-{n + 1}-views.sqlite3")
            real.append(launch(f"rarpa-serve-{n + 1}", ["-m", "rarpa.cli", "serve", "--host", LOOPBACK,
                                                        "--threads", str(threads)], node_env, folder))
            servers.append(real[-1])
            bare.append(launch(f"bare-{n + 1}", ["-m", "rarpa.cli.load_bare", "--threads", str(threads)],
                               node_env, folder))
            servers.append(bare[-1])
        ready(servers)
        step("start servers")
        report = {
            "store": described, "nodes": nodes, "waitress_threads": threads, "cpus": os.cpu_count(),
            "load_average_before": os.getloadavg()[0], "settings_passed": passed, "learners": learners,
            "python": sys.version.split()[0],
        }
        echo(f"rarpa load: {described}, {nodes} node{'s' if nodes > 1 else ''}, waitress threads={threads}, "
             f"{learners} learners; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run"
             + (f"; passed on: {' '.join(f'{k}={v}' for k, v in passed.items())}" if passed else ""))

        postgres_pid = postmaster
        acked: list[tuple[str, str]] = []
        sent: list[tuple[str, str]] = []
        rounds_out = []
        for r in range(rounds):
            pair = {}
            for label, targets in (("bare", bare), ("observation", real)):
                meter = CpuMeter(targets, postgres_pid if label == "observation" else None)
                # The same requests, token and all (the bare endpoint ignores it), through the same client.
                result = saturation([s.port for s in targets], token, sets[r], clients, seconds, warmup, meter, label)
                result.pop("tally")
                written_acked, written_sent = result.pop("written")
                if label == "observation":
                    acked += written_acked
                    sent += written_sent
                pair[label] = result
            pair["ratio"] = pair["observation"]["per_second"] / pair["bare"]["per_second"] \
                if pair["bare"]["per_second"] else float("nan")
            rounds_out.append(pair)
            echo(f"  round {r + 1}/{rounds}: bare {pair['bare']['per_second']:,.0f}/s, "
                 f"observation {pair['observation']['per_second']:,.0f}/s, ratio {pair['ratio']:.2f}")
        best_bare = max((p["bare"] for p in rounds_out), key=lambda x: x["per_second"])
        best_obs = max((p["observation"] for p in rounds_out), key=lambda x: x["per_second"])
        step("saturation")
        report["saturation"] = {
            "clients": clients, "seconds": seconds, "warmup_seconds": warmup, "rounds": rounds,
            "bare": best_bare, "observation": best_obs,
            "ratio": best_obs["per_second"] / best_bare["per_second"] if best_bare["per_second"] else float("nan"),
            "ratio_median": statistics.median(p["ratio"] for p in rounds_out),
            "each_round": rounds_out,
        }

        schedule = classroom_schedule(sets[-1], tablets, class_size, period, spread, classroom_seconds)
        meter = CpuMeter(real, postgres_pid)
        result = classroom([s.port for s in real], token, sets[-1], schedule, classroom_seconds, connections, meter)
        tally = result.pop("tally")
        acked += tally.acked
        sent += tally.sent
        result.update({"tablets": tablets, "class_size": class_size, "classes": -(-tablets // class_size),
                       "period_seconds": period, "spread_seconds": spread, "compressed": compressed,
                       "connections": connections})
        report["classroom"] = result
        step("classroom")
        report["check"] = stored_check(real[0].port, token, everyone, acked, sent)
        step("check")
        report["steps_seconds"] = steps
        report["load_average_after"] = os.getloadavg()[0]
        if inspect is not None:
            inspect({**report, "ports": [s.port for s in real], "token": token, "pairs": everyone,
                     "acked": list(acked), "sent": list(sent), "folder": folder,
                     "pids": [s.proc.pid for s in servers]})
    for line in lines(report):
        echo(line)
    return report


# --- the printout ---------------------------------------------------------------------------------
def _row(label: str, r: dict, extra: str = "") -> str:
    return (f"{label:34} {r['per_second']:9,.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{r['errors']:6d} {r.get('client_cpu_ms_per_request', float('nan')):7.2f} "
            f"{r.get('server_cpu_ms_per_request', float('nan')):7.2f}{extra}")


def lines(report: dict) -> list[str]:
    s, c, k = report["saturation"], report["classroom"], report["check"]
    head = f"{'':34} {'per s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6} {'cli ms':>7} {'srv ms':>7}"
    pg = lambda r: f"  +{r['postgres_cpu_ms_per_request']:.2f} ms PostgreSQL CPU" \
        if "postgres_cpu_ms_per_request" in r else ""  # noqa: E731
    out = ["", f"Saturation: {s['clients']} closed-loop clients, {s['seconds']:g} s each after {s['warmup_seconds']:g} s "
                f"of warm-up, best of {s['rounds']} round{'s' if s['rounds'] > 1 else ''} "
                f"({report['store']}, {report['nodes']} node{'s' if report['nodes'] > 1 else ''})",
           head,
           _row("bare Flask endpoint (baseline)", s["bare"]),
           _row("POST .../observations", s["observation"], pg(s["observation"])),
           f"ratio observation / bare: {s['ratio']:.2f} (goal >= 0.3); median of rounds {s['ratio_median']:.2f}",
           "",
           f"Classroom: {c['tablets']} tablets in {c['classes']} classes of {c['class_size']}, a burst per class every "
           f"~{c['period_seconds']:g} s (+/-25 %), 1-3 observations per tablet within {c['spread_seconds']:g} s; "
           f"open loop for {c['seconds']:g} s on {c['connections']} connections"
           + (f"; TIME COMPRESSED {REAL_PERIOD / c['period_seconds']:g}x (bursts every {c['period_seconds']:g} s, "
              "not 60 s)" if c["compressed"] else ""),
           head,
           _row(f"{c['scheduled']:,} scheduled observations", c, pg(c)),
           f"p95 {c['p95_ms']:.1f} ms (goal <= 50 ms{', at the real rate' if c['compressed'] else ''}); "
           f"the client sent late by at most {c['lag_max_ms']:.1f} ms (p99 {c['lag_p99_ms']:.1f} ms); "
           f"p95 from the moment each was sent {c['from_sending_p95_ms']:.1f} ms",
           "",
           f"Stored: {k['acknowledged']:,} observations acknowledged, {k['stored']:,} stored; "
           f"stored twice {len(k['stored_twice'])}, acknowledged but not stored {len(k['acknowledged_not_stored'])}, "
           f"stored but never sent {len(k['stored_not_sent'])}; read model agrees: "
           f"{'yes' if k['read_model_agrees'] else 'NO'}",
           "(cli ms / srv ms: CPU milliseconds per request of the client process and of the server process(es); "
           f"load average {report['load_average_before']:.1f} before, {report['load_average_after']:.1f} after, "
           f"on {report['cpus']} CPUs)",
           "seconds: " + ", ".join(f"{k} {v:g}" for k, v in report["steps_seconds"].items())]
    return out


def problems(report: dict) -> list[str]:
    """What went wrong that is not a matter of speed: refusals, server errors,
    lost or doubled observations. (Timings are figures, never failures.)"""
    out = []
    s, c, k = report["saturation"], report["classroom"], report["check"]
    for label, r in (("bare endpoint", s["bare"]), ("observation endpoint", s["observation"]), ("classroom", c)):
        if r["errors"]:
            out.append(f"{label}: {r['errors']} requests failed or were refused {r['statuses']} {r['failures']}")
    for name in ("stored_twice", "acknowledged_not_stored", "stored_not_sent", "stored_under_another_learner"):
        if k[name]:
            out.append(f"{name.replace('_', ' ')}: {len(k[name])} observations, e.g. {k[name][:3]}")
    if not k["read_model_agrees"]:
        out.append("the read model's counts differ from the stored events")
    return out


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, default=str)

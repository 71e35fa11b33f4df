"""`rarpa bench --scale N`, phases 3 and 4 (rarpa/cli/bench_scale.py): a real
`rarpa serve` on the store and a bare Flask endpoint served by the same
``web.server.serve`` (as load_bare.py does: ``python -m rarpa.cli.bench_scale_pages
--port N`` answers GET /bytes/<n> with n bytes), both on free ports of 127.0.0.1,
started and stopped by rarpa/cli/load.py. Signed in (the login form, its CSRF token,
the session cookie) as the biggest provider's SEND lead, its tutor with the biggest
class and the auditor, each on a keep-alive connection: a sample of the provider's
longest-held learners' pages, a tutor's Today and the cohort. Every page is requested
once before it is timed (the learner page's first view is reported as cold), and every
timed request is followed by one to the bare endpoint for the same number of bytes.
Then each server's VmRSS and VmHWM from /proc/<pid>/status."""

from __future__ import annotations

import random
import re
import sqlite3
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

from rarpa.cli import load
from rarpa.cli.scale import DEMO_PASSWORD_ENV, Refused

SAMPLE = 10  # learners whose pages are timed
THREADS = 8  # waitress threads, as `rarpa serve` has by default
# (key, words, who signs in, timed rounds over the sample or the page, what it grows with:
# None for one learner's page, "class" or "provider" for theirs, "all" for every learner's)
PAGES = (("learner", "learner page", "lead", 3, None), ("evidence", "evidence page", "lead", 2, None),
         ("pack", "annual-review pack (HTML)", "lead", 2, None),
         ("pack_pdf", "annual-review pack (PDF)", "lead", 1, None),
         ("as_at", "learner page as at a year ago", "auditor", 2, None),
         ("today", "a tutor's Today", "tutor", 10, "class"),
         ("cohort", "the SEND lead's cohort", "lead", 5, "provider"),
         ("cohort_all", "the auditor's cohort (every learner)", "auditor", 3, "all"))
COLD = ("learner_cold", "learner page, first view (cold)", "lead", 1, None)


# --- 3. and 4. the server: pages over HTTP, then memory -----------------------------------------
class Browser(load.Connection):
    """load.py's keep-alive connection, keeping the session cookie as a browser does."""

    def __init__(self, port: int):
        super().__init__(port, timeout=600)
        self.cookie = ""

    def _answer(self):
        status, headers, body = super()._answer()
        cookie = headers.get(b"set-cookie", b"").decode().split(";")[0]
        if cookie.startswith("rarpa_session="):
            self.cookie = cookie
        return status, headers, body

    def send(self, path: str, form: dict | None = None, gzip: bool = False) -> tuple[int, bytes, float]:
        body = urlencode(form).encode() if form else b""
        lines = [f"{'POST' if form else 'GET'} {path} HTTP/1.1", f"Host: {load.LOOPBACK}:{self.port}",
                 "Accept: text/html", "User-Agent: rarpa-bench-scale"]
        lines += [f"Cookie: {self.cookie}"] if self.cookie else []
        lines += ["Accept-Encoding: gzip"] if gzip else []
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"] if form else []
        start = time.perf_counter()
        status, answer = self.request(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return status, answer, time.perf_counter() - start

    def get(self, path: str, gzip: bool = False) -> tuple[bytes, float]:
        status, body, seconds = self.send(path, gzip=gzip)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        return body, seconds


def sign_in(port: int, email: str, password: str) -> Browser:
    browser = Browser(port)
    page, _ = browser.get("/login")
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    status, _, _ = browser.send("/login", {"email": email, "password": password, "csrf_token": token})
    if status != 302:
        raise Refused(f"signing in as {email} answered {status}: is {DEMO_PASSWORD_ENV} the store's password?")
    return browser


def who_and_what(views: str) -> tuple[dict[str, str], list[tuple[str, datetime]]]:
    """The biggest provider's SEND lead, its tutor with the biggest class, the
    auditor; and a sample of its learners held longest (id, enrolled at)."""
    conn = sqlite3.connect(f"file:{views}?mode=ro", uri=True)
    try:
        (provider,) = conn.execute("SELECT lead_provider FROM learners GROUP BY 1 ORDER BY COUNT(*) DESC, 1").fetchone()
        email = lambda sql, *args: conn.execute(sql, args).fetchone()[0]  # noqa: E731
        users = {"lead": email("SELECT email FROM users WHERE role='send_lead' AND provider=? ORDER BY email", provider),
                 "tutor": email("SELECT u.email FROM users u LEFT JOIN caseload c ON c.user_id=u.id WHERE "
                                "u.role='tutor' AND u.provider=? GROUP BY u.id ORDER BY COUNT(c.learner_id) DESC, "
                                "u.email", provider),
                 "auditor": email("SELECT email FROM users WHERE role='auditor' ORDER BY email")}
        rows = conn.execute("SELECT id, enrolled_at, status FROM learners WHERE lead_provider=? ORDER BY enrolled_at, id",
                            [provider]).fetchall()
    finally:
        conn.close()
    first = datetime.fromisoformat(rows[0][1])
    held = [r for r in rows if datetime.fromisoformat(r[1]) <= first + timedelta(days=60)]
    held = [r for r in held if r[2] == "active"] or held
    sample = sorted(random.Random(1).sample(held, min(SAMPLE, len(held))))
    return users, [(lid, datetime.fromisoformat(enrolled)) for lid, enrolled, _ in sample]


def _instant(enrolled: datetime, k: int) -> str:
    """A year ago (halfway through the record if that is before it began), a week earlier each round."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    base = now - timedelta(days=365) if enrolled < now - timedelta(days=400) else enrolled + (now - enrolled) / 2
    moment = (base - timedelta(days=7 * k)).replace(second=0, microsecond=0)
    return quote(moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"), safe="")


def _paths(key: str, sample: list[tuple[str, datetime]], k: int) -> list[str]:
    where = {"learner": "", "evidence": "/evidence", "pack": "/annual-review", "pack_pdf": "/annual-review.pdf"}
    if key in where:
        return [f"/learners/{lid}{where[key]}" for lid, _ in sample]
    if key == "as_at":  # a different instant each round: none is answered from memory of an earlier one
        return [f"/learners/{lid}?as_at={_instant(enrolled, k)}" for lid, enrolled in sample]
    return ["/" if key == "today" else "/cohort"]


def _figures(times: list[float], sizes: list[int], bare: list[float]) -> dict:
    ms = [t * 1000 for t in times]
    median, bare_median = statistics.median(ms), statistics.median(bare) * 1000
    return {"n": len(ms), "median_ms": median, "p95_ms": load.percentile(ms, 95), "bytes": int(statistics.median(sizes)),
            "bare_median_ms": bare_median, "ratio": median / bare_median}


def pages(real: int, bare_port: int, views: str, password: str, echo) -> dict:
    users, sample = who_and_what(views)
    browsers = {role: sign_in(real, email, password) for role, email in users.items()}
    bare = Browser(bare_port)

    def timed(browser: Browser, path: str, times: list, sizes: list, bare_times: list) -> None:
        body, seconds = browser.get(path)
        times.append(seconds)
        sizes.append(len(body))
        bare_times.append(bare.get(f"/bytes/{len(body)}")[1])  # the same bytes, just handed over

    out: dict = {"sample": [lid for lid, _ in sample], "users": users}
    browsers["lead"].get("/")  # the server's first page (imports, templates): not a learner page's cost
    cold: tuple[list, list, list] = ([], [], [])
    for path in _paths("learner", sample, 0):
        timed(browsers["lead"], path, *cold)
    out["learner_cold"] = _figures(*cold)
    for key, words, role, rounds, _ in PAGES:
        echo(f"  {words}: {rounds} round{'s' if rounds > 1 else ''} over {len(_paths(key, sample, 0))} page(s)")
        for path in _paths(key, sample, 0):
            browsers[role].get(path)  # warmed once (the learner page was, cold, above)
        got: tuple[list, list, list] = ([], [], [])
        for k in range(1, rounds + 1):
            for path in _paths(key, sample, k):
                timed(browsers[role], path, *got)
        out[key] = _figures(*got)
    out["learner"]["gzip_bytes"] = len(browsers["lead"].get(_paths("learner", sample, 0)[0], gzip=True)[0])
    for b in (*browsers.values(), bare):
        b.close()
    return out


def memory_of(pid: int) -> dict:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[key].split()[0]) * 1024 for name, key in (("rss_bytes", "VmRSS"), ("hwm_bytes", "VmHWM"))}


def served(settings, work: Path, password: str, echo) -> tuple[dict, dict]:
    env, _ = load._server_env(settings.db, Path(settings.views))
    env["RARPA_VAULT"] = settings.vault
    servers = [load.launch("rarpa-serve", ["-m", "rarpa.cli", "serve", "--host", load.LOOPBACK, "--threads",
                                           str(THREADS)], env, work),
               load.launch("bare", ["-m", "rarpa.cli.bench_scale_pages", "--threads", str(THREADS)], env, work)]
    try:
        load.ready(servers, wait=900)
        echo(f"Pages: over HTTP from 127.0.0.1:{servers[0].port}, each timed request followed by one to the "
             f"bare endpoint (127.0.0.1:{servers[1].port}) for the same bytes")
        measured = pages(servers[0].port, servers[1].port, settings.views, password, echo)
        memory = {"server": memory_of(servers[0].proc.pid), "bare": memory_of(servers[1].proc.pid)}
    finally:
        for s in servers:
            load.stop_server(s)
    return measured, memory


# --- the baseline server: `python -m rarpa.cli.bench_scale_pages --port N` ---------------------------
def with_bytes(plain):
    """load_bare's app, plus GET /bytes/<n>: n bytes of text/html, nothing else done."""
    from flask import Response

    app, bodies = plain(), {}

    @app.get("/bytes/<int:n>")
    def answer(n: int):
        return Response(bodies.get(n) or bodies.setdefault(n, b"x" * min(n, 100_000_000)),
                        content_type="text/html; charset=utf-8")
    return app


if __name__ == "__main__":  # load_bare's server (web.server.serve, as `rarpa serve`) with this app
    from rarpa.cli import load_bare

    load_bare.bare_app = lambda plain=load_bare.bare_app: with_bytes(plain)
    load_bare.main()


"""`rarpa bench`: the learner page as the record grows (issue 14).

The learner page of a one-year learner and of a five-year one (400
observations a year over 15 targets, as ``bench.five_year_learner`` records
them), through the whole web app (sign-in session, the access log's entry,
the queries, the templates) with Flask's test client: server time and the
bytes sent, raw and gzipped. The goal is a ratio close to 1.0: the page's
charts read a few rows per target and term (rarpa.read.rating_summary), never
every observation.

The baseline, in the same run and through the same test client, is a bare
Flask endpoint answering the five-year page's bytes as they are: what it
costs just to hand over that much HTML, so ``x of bare`` is what the page
costs on top of that. (A raw SELECT of the learner's observations would not
do: it grows with the record by construction.)
"""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

from rarpa.config import Settings
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication

PER_YEAR = 400
YEARS = (1, 5)
PASSWORD = "bench page password 1"
EMAIL = "lead.bench@example.org"


def _seconds(get) -> float:
    start = time.perf_counter()
    get()
    return time.perf_counter() - start


def page_timing(folder: Path, repeats: int = 15) -> dict:
    """Best-of-``repeats`` seconds and bytes of the learner page per size of
    record, and of the bare endpoint. Returns {"pages": {years: {...}}, "bare_seconds": ...}."""
    from flask import Flask

    from rarpa.cli.five_years import five_year_learner
    from web import create_app
    from web.services import Services

    settings = Settings.from_env({"RARPA_DB": str(folder / "page.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"})
    app = RecordApplication(settings)
    actor = system_actor("bench")
    app.register_provider(actor, "northfield", "Northfield College")
    app.add_user(actor, email=EMAIL, role="send_lead", password=PASSWORD, provider="northfield")
    learners = {years: five_year_learner(app, PER_YEAR * years, years) for years in YEARS}
    services = Services(settings)
    client = create_app(services=services).test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}).status_code == 302

    pages = {}
    for years, lid in learners.items():
        raw = client.get(f"/learners/{lid}")
        zipped = client.get(f"/learners/{lid}", headers={"Accept-Encoding": "gzip"})
        assert raw.status_code == 200 and zipped.headers.get("Content-Encoding") == "gzip"
        assert gzip.decompress(zipped.data)[:200] == raw.data[:200]
        pages[years] = {"observations": PER_YEAR * years, "bytes": len(raw.data), "gzip_bytes": len(zipped.data),
                        "body": raw.data}

    bare = Flask("bench_page_bare")
    body = pages[max(YEARS)]["body"]
    bare.add_url_rule("/page", "page", lambda: (body, 200, {"Content-Type": "text/html; charset=utf-8"}))
    bare_client = bare.test_client()
    assert len(bare_client.get("/page").data) == len(body)

    # Interleaved, so that a noisy neighbour on the machine slows each alike.
    best = {years: float("inf") for years in YEARS}
    bare_best = float("inf")
    for _ in range(repeats):
        for years, lid in learners.items():
            best[years] = min(best[years], _seconds(lambda: client.get(f"/learners/{lid}")))
        bare_best = min(bare_best, _seconds(lambda: bare_client.get("/page")))
    for years in YEARS:
        pages[years]["seconds"] = best[years]
        del pages[years]["body"]
    services.close()
    app.close()
    return {"pages": pages, "bare_seconds": bare_best}


def lines(result: dict) -> list[str]:
    """The few lines `rarpa bench` prints."""
    pages, bare = result["pages"], result["bare_seconds"]
    small, large = pages[min(YEARS)], pages[max(YEARS)]
    out = [f"{'measurement':58} {'ms':>12}  ratio",
           f"{'bare Flask endpoint answering the same bytes':58} {bare * 1000:12,.2f}  1.00 (baseline)"]
    for years in YEARS:
        p = pages[years]
        label = (f"learner page, {years} year{'s' if years != 1 else ''} ({p['observations']:,} obs): "
                 f"{p['bytes'] / 1024:,.0f} KB, {p['gzip_bytes'] / 1024:,.1f} KB gzip")
        out.append(f"{label:58} {p['seconds'] * 1000:12,.2f}  x{p['seconds'] / bare:.1f} of bare")
    out.append(f"{f'learner page, {max(YEARS)}-year / {min(YEARS)}-year (goal: close to 1.0)':58} "
               f"{'time':>12}  {large['seconds'] / small['seconds']:.2f}; bytes {large['bytes'] / small['bytes']:.2f}, "
               f"gzip {large['gzip_bytes'] / small['gzip_bytes']:.2f}")
    return out

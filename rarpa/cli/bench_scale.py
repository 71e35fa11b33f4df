"""`rarpa bench --scale N` (or `--scale-store PATH`): the record at a local
authority's scale (issue 14), each figure beside a baseline measured in the same
run, on N learners with years of history generated into a temporary folder
(`rarpa demo --scale`; ``--keep DIR`` keeps them) or on a scale store as it is.

1. Storage: events, observations, learners; the store's bytes split into the
   events' sealed states and the snapshots (SUM(LENGTH(state))), photos and the
   rest; the vault; the read model; bytes per event against the sealed state's.
2. Rebuild (``--no-rebuild`` skips it): the read model replayed into a new file,
   against a raw read of the same rows and an insert into another file (as
   bench.raw_read_insert does, streamed: at 2,000 learners the rows are gigabytes).
3. and 4. Memory per node and the pages over HTTP: rarpa/cli/bench_scale_pages.py.
5. Extrapolation to ``--extrapolate-to`` learners (20,000): ``extrapolate``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import click

from rarpa.cli import scale as scale_demo
from rarpa.cli.bench import raw_read_insert
from rarpa.cli.bench_scale_pages import COLD, PAGES, served
from rarpa.cli.scale import DEMO_PASSWORD_ENV, Refused, size_words, whole_number

def _ro(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _sums(conn: sqlite3.Connection, table: str, columns: str) -> tuple[int, int]:
    """(rows, bytes of ``columns``) of a table; (0, 0) when there is no such table."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [table]).fetchone():
        return 0, 0
    return conn.execute(f"SELECT COUNT(*), COALESCE(SUM({columns}), 0) FROM {table}").fetchone()


# --- 1. storage ------------------------------------------------------------------------------------
def storage(settings) -> dict:
    with contextlib.closing(_ro(settings.db)) as conn, contextlib.closing(_ro(settings.views)) as views:
        events, states = _sums(conn, "stored_events", "LENGTH(state)")
        snapshots, snapshot_bytes = _sums(conn, "stored_snapshots", "LENGTH(state)")
        _, photo_bytes = _sums(conn, "photo_files", "LENGTH(photo) + LENGTH(thumb)")
        (learners, _), (observations, _) = (_sums(views, t, "0") for t in ("learners", "observations"))
    store, read_model = scale_demo._size(settings.db), scale_demo._size(settings.views)
    per = max(events, 1)
    return {"events": events, "observations": observations, "learners": learners, "snapshots": snapshots,
            "store_bytes": store, "event_state_bytes": states, "snapshot_state_bytes": snapshot_bytes,
            "photo_bytes": photo_bytes, "other_store_bytes": store - states - snapshot_bytes - photo_bytes,
            "vault_bytes": scale_demo._size(settings.vault), "read_model_bytes": read_model,
            "state_bytes_per_event": states / per, "store_bytes_per_event": store / per,
            "read_model_bytes_per_event": read_model / per, "events_per_learner": events / max(learners, 1)}


# --- 2. rebuild -----------------------------------------------------------------------------------
def rebuild(settings, work: Path, progressbar) -> dict:
    from rarpa.read.projections import Projector
    from rarpa.service.application import RecordApplication

    raw, rows = raw_read_insert(settings.db, work)  # rarpa.cli.bench's baseline
    app = RecordApplication(settings)
    projector = Projector(str(work / "rebuilt-views.sqlite3"), app)
    try:
        start = time.perf_counter()
        with progressbar(length=rows, label="Rebuild") as bar:
            position = projector.rebuild(on_batch=bar.update)
        seconds = time.perf_counter() - start
    finally:
        projector.close()
        app.close()
    return {"events": position, "seconds": seconds, "events_per_second": position / seconds,
            "raw_rows": rows, "raw_per_second": raw, "ratio": position / seconds / raw}


# --- 5. extrapolation -----------------------------------------------------------------------------------
def extrapolate(r: dict, to: int, smaller: dict | None) -> dict:
    """Storage in proportion to learners, the rebuild at this run's rate; a page
    about one learner flat; memory, and pages about a provider or every learner,
    along the line through a smaller run of learners as long (``smaller``) or
    else flat (the generator keeps classes at about 10 learners, providers at
    about 250) and in proportion (every learner)."""
    s, n = r["storage"], r["storage"]["learners"]
    times = n and to / n
    out = {"learners": to, "method": "storage in proportion to learners", "events": s["events"] * times,
           "observations": s["observations"] * times, "pages_ms": {}, "basis": {}, "vs_smaller": {}}
    for key in ("store_bytes", "snapshot_state_bytes", "event_state_bytes", "read_model_bytes", "vault_bytes"):
        out[key] = s[key] * times
    if r.get("rebuild"):
        out["rebuild_seconds"] = out["events"] / r["rebuild"]["events_per_second"]
    n0 = smaller and smaller["storage"]["learners"]
    if smaller and not (n0 < n and 0.8 < smaller["storage"]["events_per_learner"] / s["events_per_learner"] < 1.25):
        out["method"] += (f"; --compare left out: its {n0:,} learners have {smaller['storage']['events_per_learner']:,.0f}"
                          f" events each, these {n:,} {s['events_per_learner']:,.0f} (compare runs with the same --years)")
        smaller = None

    def line(now: float, then: float | None, otherwise: tuple[float, str]) -> tuple[float, str]:
        if smaller and then:
            return now + max(0.0, (now - then) / (n - n0)) * (to - n), f"line through {n0:,} and {n:,} learners"
        return otherwise

    rss = r["memory"]["server"]["rss_bytes"]
    out["rss_bytes"], out["basis"]["rss"] = line(rss, smaller and smaller["memory"]["server"]["rss_bytes"],
                                                 (rss, "flat"))
    for key, _, _, _, grows in (COLD, *PAGES):
        now, then = r["pages"][key]["median_ms"], smaller and smaller["pages"].get(key, {}).get("median_ms")
        if then:
            out["vs_smaller"][key] = now / then
        otherwise = (now * times, "in proportion") if grows == "all" else (now, f"flat: a {grows} keeps its size")
        out["pages_ms"][key], out["basis"][key] = (now, "flat: one learner's page") if grows is None else line(
            now, then, otherwise)
    return out


# --- the printout ------------------------------------------------------------------------------------
def _row(label: str, figure: str, ratio: str = "") -> str:
    return f"{label:60} {figure:>14}  {ratio}"


def lines(r: dict) -> list[str]:
    s, m, p, e = r["storage"], r["memory"], r["pages"], r["extrapolated"]
    state, size = s["state_bytes_per_event"], size_words
    of_state = lambda key: f"{s[key]:,.0f} bytes/event, x{s[key] / state:.1f} of the sealed state"  # noqa: E731
    out = ["", _row(f"storage ({s['learners']:,} learners, {s['events']:,} events, {s['observations']:,} "
                    "observations)", "bytes", "ratio"),
           _row("events' sealed states (SUM(LENGTH(state)))", size(s["event_state_bytes"]),
                f"{state:,.0f} bytes/event (baseline)"),
           _row("store file", size(s["store_bytes"]), of_state("store_bytes_per_event")),
           _row(f"  of it snapshots ({s['snapshots']:,})", size(s["snapshot_state_bytes"]),
                f"{s['snapshot_state_bytes'] / max(s['store_bytes'], 1):.0%} of the store"),
           _row("  of it photos", size(s["photo_bytes"])),
           _row("  of it the rest: chain hashes, keys, indexes, free pages", size(s["other_store_bytes"])),
           _row("vault", size(s["vault_bytes"])),
           _row("read model", size(s["read_model_bytes"]), of_state("read_model_bytes_per_event"))]
    if b := r.get("rebuild"):
        out += ["", _row("rebuild", "per second", "ratio"),
                _row(f"raw: read {b['raw_rows']:,} stored events + insert into another file",
                     f"{b['raw_per_second']:,.0f}", "1.00 (baseline)"),
                _row(f"projection rebuild into a new file ({b['seconds']:,.1f} s)", f"{b['events_per_second']:,.0f}",
                     f"{b['ratio']:.3f} of raw")]
    out += ["", _row("memory per node (after the pages below)", "VmRSS", "ratio"),
            _row("bare Flask endpoint, same waitress setup", size(m["bare"]["rss_bytes"]), "1.00 (baseline)"),
            _row(f"rarpa serve on this store (peak {size(m['server']['hwm_bytes'])})", size(m["server"]["rss_bytes"]),
                 f"x{m['server']['rss_bytes'] / m['bare']['rss_bytes']:.1f} of bare"),
            "", _row(f"pages over HTTP ({len(p['sample'])} learners; median, p95)", "median ms", "ratio")]
    named = [(key, words) for key, words, *_ in (COLD, *PAGES)]
    for key, words in named:
        f = p[key]
        kb = f"{f['bytes'] / 1024:,.0f} KB" + (f", {f['gzip_bytes'] / 1024:,.1f} KB gzip" if "gzip_bytes" in f else "")
        out.append(_row(f"{words}: {kb}, p95 {f['p95_ms']:,.0f} ms", f"{f['median_ms']:,.1f}",
                        f"x{f['ratio']:.1f} of bare, same bytes ({f['bare_median_ms']:,.2f} ms)"))
    out += ["", f"EXTRAPOLATED to {e['learners']:,} learners, not measured ({e['method']}):",
            _row("extrapolated: events", f"{e['events']:,.0f}", f"{e['observations']:,.0f} observations"),
            _row("extrapolated: store", size(e["store_bytes"]), f"of it snapshots {size(e['snapshot_state_bytes'])}"),
            _row("extrapolated: read model per node", size(e["read_model_bytes"])),
            _row("extrapolated: memory per node (VmRSS)", size(e["rss_bytes"]), e["basis"]["rss"])]
    if "rebuild_seconds" in e:
        out.append(_row("extrapolated: rebuild at this run's events per second", f"{e['rebuild_seconds'] / 60:,.0f} min"))
    return out + [_row(f"extrapolated: {words}", f"{e['pages_ms'][key]:,.1f} ms", e["basis"][key] + (
                       f"; x{e['vs_smaller'][key]:.2f} of the run compared" if key in e["vs_smaller"] else ""))
                  for key, words in named]


# --- the command -------------------------------------------------------------------------------------------
def run(scale=None, store=None, *, years=None, seed=None, today=None, keep=None, no_rebuild=False,
        extrapolate_to=None, compare=None, json_out=None, echo=click.echo, progressbar=click.progressbar) -> dict:
    """Checks first (nothing made when refused: Refused, one line), then the phases."""
    from rarpa.config import Settings, is_postgres
    from rarpa.read.projections import Projector
    from rarpa.service.application import RecordApplication

    if (scale is None) == (store is None):
        raise Refused("give --scale N (generate N learners) or --scale-store PATH (an existing scale store), not "
                      + ("both" if scale is not None else "neither"))
    to = whole_number(extrapolate_to if extrapolate_to is not None else 20_000, "--extrapolate-to", 1, 10_000_000)
    smaller = None
    if compare:
        try:
            smaller = json.loads(Path(compare).read_text())
            smaller["storage"]["learners"], smaller["memory"]["server"]["rss_bytes"], smaller["pages"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise Refused(f"--compare {compare}: not the --json of a `rarpa bench --scale` run ({e})") from None
    env = {k: v for k, v in os.environ.items() if k not in ("RARPA_DB", "RARPA_VIEWS", "RARPA_VAULT")}
    if store is not None:
        if any(v is not None for v in (years, seed, today, keep)):
            raise Refused("--years, --seed, --today and --keep go with --scale N, not --scale-store")
        if is_postgres(store) or not os.path.isfile(store):
            raise Refused(f"--scale-store {store}: no such SQLite store (give the path RARPA_DB names)")
        if not os.environ.get(DEMO_PASSWORD_ENV):
            raise Refused(f"{DEMO_PASSWORD_ENV} is not set: set it to the scale store's password to sign in to its pages")
        settings = Settings.from_env({**os.environ, "RARPA_DB": store})
    else:
        n, y, s, day = scale_demo.parse_options(scale, years, seed, today, datetime.now(timezone.utc).date())
        if keep and os.path.exists(keep) and os.listdir(keep):
            raise Refused(f"--keep {keep}: the folder is not empty; name a new or empty one")
    if json_out and not Path(json_out).parent.is_dir():
        raise Refused(f"--json {json_out}: no such folder to write it in")
    password = os.environ.get(DEMO_PASSWORD_ENV) or secrets.token_urlsafe(18)
    work = Path(tempfile.mkdtemp(prefix="rarpa-bench-scale-"))
    results: dict = {"folder": str(work)}
    try:
        if store is None:
            folder = Path(keep) if keep else work / "store"
            folder.mkdir(parents=True, exist_ok=True)
            settings = Settings.from_env({**env, "RARPA_DB": str(folder / "rarpa.sqlite3")})
            echo(f"Generating {n:,} learners, {y} year{'s' if y != 1 else ''} each, into {folder}"
                 + ("" if keep else " (removed afterwards; --keep DIR keeps it)"))
            if keep and password != os.environ.get(DEMO_PASSWORD_ENV):
                echo(f"Every account's password in {folder}: {password}")
            os.environ[DEMO_PASSWORD_ENV] = password  # the generator's, for every account
            made = scale_demo.command(n, years=y, seed=s, today=day.isoformat(), learners_given=False, echo=echo,
                                      progressbar=progressbar, open_app=lambda: RecordApplication(settings),
                                      projector=lambda app: Projector(settings.views, app))
            results["generation"] = {k: v for k, v in made.items() if k not in ("world", "counts")}
        settings = replace(settings, **{k: os.path.abspath(getattr(settings, k)) for k in ("db", "views", "vault")})
        results.update(store=settings.db, learners_asked=scale, years=y if store is None else None)
        echo(f"Storage: counting the rows and bytes of {settings.db}")
        results["storage"] = storage(settings)
        if no_rebuild:
            echo("Rebuild: skipped (--no-rebuild)")
        else:
            echo(f"Rebuild: a raw read+insert of {results['storage']['events']:,} events, then the read model "
                 "replayed into a new file")
            results["rebuild"] = rebuild(settings, work, progressbar)
        echo("Servers: rarpa serve on the store and the bare Flask endpoint, on 127.0.0.1")
        results["pages"], results["memory"] = served(settings, work, password, echo)
        echo(f"Extrapolating to {to:,} learners")
        results["extrapolated"] = extrapolate(results, to, smaller)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for line in lines(results):
        echo(line)
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2, default=str))
    return results


def run_command(**options) -> None:
    """The glue to `rarpa bench` (rarpa/cli/__init__.py): refusals in one line, exit status 1."""
    from rarpa.cli import _fail

    try:
        run(**options)
    except Refused as e:
        _fail(str(e))

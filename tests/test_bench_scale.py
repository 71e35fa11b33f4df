"""`rarpa bench --scale N` (rarpa/cli/bench_scale.py), run through the CLI as a
real subprocess on a tiny store (3 learners, a year each): the JSON has every
figure, each positive and of a sane size (timings are never compared: the
machine is shared); the printout has each phase and marks the extrapolation;
the temporary folder is removed; bad options are refused in one line and make
nothing. SQLite only: the bench generates and measures SQLite files."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rarpa.cli.bench_scale_pages import COLD, PAGES

pytestmark = pytest.mark.sqlite_file

SUBPROCESS_LIMIT = 300  # seconds: a safety net against a hung command, not a timing check
PAGE_KEYS = [key for key, *_ in (COLD, *PAGES)]


def bench(folder: Path, *args: str, password: str | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    """`rarpa bench ARGS` with its own TMPDIR (to see what it leaves there) and no RARPA_ settings of ours."""
    temp = folder / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update({"RARPA_PASSWORD_PROFILE": "cheapest", "TMPDIR": str(temp)})
    if password:
        env["RARPA_DEMO_PASSWORD"] = password
    result = subprocess.run([sys.executable, "-m", "rarpa.cli", "bench", *args], env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=SUBPROCESS_LIMIT, cwd=folder)
    return result, temp


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-scale")
    result, temp = bench(folder, "--scale", "3", "--years", "1", "--json", str(folder / "out.json"))
    print(result.stdout)  # the figures, in the test's output
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    return json.loads((folder / "out.json").read_text()), result, temp


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_storage_figures_are_there_and_sane(tiny):
    r, _, _ = tiny
    s = r["storage"]
    assert s["learners"] == 3
    for key in ("events", "observations", "snapshots", "store_bytes", "event_state_bytes", "snapshot_state_bytes",
                "other_store_bytes", "vault_bytes", "read_model_bytes", "events_per_learner"):
        assert positive(s[key]), (key, s[key])
    assert s["photo_bytes"] == 0  # the generator attaches no photos
    assert s["observations"] < s["events"]
    assert s["event_state_bytes"] + s["snapshot_state_bytes"] + s["other_store_bytes"] == s["store_bytes"]
    for key in ("state_bytes_per_event", "store_bytes_per_event", "read_model_bytes_per_event"):
        assert 100 <= s[key] <= 100_000, (key, s[key])
    assert s["store_bytes_per_event"] == pytest.approx(s["store_bytes"] / s["events"])


def test_rebuild_replays_every_event_and_has_its_baseline(tiny):
    r, _, _ = tiny
    b = r["rebuild"]
    assert b["events"] == b["raw_rows"] == r["storage"]["events"]
    for key in ("seconds", "events_per_second", "raw_per_second", "ratio"):
        assert positive(b[key]), (key, b[key])
    assert b["ratio"] == pytest.approx(b["events_per_second"] / b["raw_per_second"])


def test_memory_of_both_servers_is_read(tiny):
    r, _, _ = tiny
    for who in ("server", "bare"):
        m = r["memory"][who]
        assert m["rss_bytes"] > 10 * 1024 * 1024 and m["hwm_bytes"] >= m["rss_bytes"], (who, m)
    assert r["memory"]["server"]["rss_bytes"] > r["memory"]["bare"]["rss_bytes"]  # a store, caches, templates


def test_every_page_was_timed_against_the_bare_endpoint(tiny):
    r, _, _ = tiny
    p = r["pages"]
    assert 1 <= len(p["sample"]) <= 10 and set(p["users"]) == {"lead", "tutor", "auditor"}
    assert p["users"]["lead"].startswith("lead@") and p["users"]["auditor"] == "auditor@scale.example.org"
    for key in PAGE_KEYS:
        f = p[key]
        for name in ("n", "median_ms", "p95_ms", "bytes", "bare_median_ms", "ratio"):
            assert positive(f[name]), (key, name, f[name])
        assert f["p95_ms"] >= f["median_ms"], key
    assert p["learner"]["bytes"] > 5_000 and 0 < p["learner"]["gzip_bytes"] < p["learner"]["bytes"]
    assert p["pack_pdf"]["bytes"] > 5_000 and p["pack_pdf"]["n"] == len(p["sample"])
    assert p["learner"]["n"] == 3 * len(p["sample"]) and p["today"]["n"] == 10


def test_the_extrapolation_scales_from_this_run(tiny):
    r, _, _ = tiny
    e, s = r["extrapolated"], r["storage"]
    assert e["learners"] == 20_000
    assert e["events"] == pytest.approx(s["events"] * 20_000 / 3)
    assert e["store_bytes"] == pytest.approx(s["store_bytes"] * 20_000 / 3)
    assert e["rebuild_seconds"] == pytest.approx(e["events"] / r["rebuild"]["events_per_second"])
    assert positive(e["rss_bytes"]) and positive(e["read_model_bytes"]) and positive(e["snapshot_state_bytes"])
    assert set(e["pages_ms"]) == set(PAGE_KEYS) and all(positive(v) for v in e["pages_ms"].values())
    assert e["pages_ms"]["learner"] == r["pages"]["learner"]["median_ms"]  # about one learner: flat
    assert e["pages_ms"]["today"] == r["pages"]["today"]["median_ms"]  # a class: flat without --compare
    assert e["pages_ms"]["cohort_all"] == pytest.approx(r["pages"]["cohort_all"]["median_ms"] * 20_000 / 3)


def test_compare_extrapolates_along_the_line_through_a_smaller_run(tiny):
    """--compare FILE: what grows with a provider or every learner, and memory,
    along the line through the two runs; one learner's pages stay flat; a
    smaller run whose learners' records are not as long is left out, saying why."""
    from rarpa.cli.bench_scale import extrapolate

    r, _, _ = tiny
    smaller = json.loads(json.dumps(r))  # the same run, as if of 1 learner, everything 1 ms or 1 MB less
    smaller["storage"].update(learners=1)
    smaller["memory"]["server"]["rss_bytes"] -= 2 ** 20
    for f in smaller["pages"].values():
        if isinstance(f, dict) and "median_ms" in f:
            f["median_ms"] -= 1.0
    e = extrapolate(r, 20_003, smaller)  # 20,000 learners more than this run's 3: a slope of 1/2 per learner
    assert e["rss_bytes"] == pytest.approx(r["memory"]["server"]["rss_bytes"] + 10_000 * 2 ** 20)
    for key in ("today", "cohort", "cohort_all"):
        assert e["pages_ms"][key] == pytest.approx(r["pages"][key]["median_ms"] + 10_000), key
        assert e["basis"][key] == "line through 1 and 3 learners"
    assert e["pages_ms"]["pack"] == r["pages"]["pack"]["median_ms"] and e["basis"]["pack"].startswith("flat")
    assert e["vs_smaller"]["learner"] == pytest.approx(
        r["pages"]["learner"]["median_ms"] / (r["pages"]["learner"]["median_ms"] - 1))

    smaller["storage"]["events_per_learner"] *= 2  # records twice as long: not comparable
    e = extrapolate(r, 20_003, smaller)
    assert "--compare left out" in e["method"] and e["vs_smaller"] == {}
    assert e["pages_ms"]["cohort_all"] == pytest.approx(r["pages"]["cohort_all"]["median_ms"] * 20_003 / 3)


def test_the_printout_shows_each_phase_and_marks_the_extrapolation(tiny):
    _, result, _ = tiny
    out = result.stdout
    for phase in ("Generating 3 learners, 1 year each", "Storage:", "Rebuild:", "Servers:", "Pages:",
                  "Extrapolating to 20,000 learners"):
        assert phase in out, phase
    for row in ("store file", "projection rebuild", "rarpa serve on this store", "annual-review pack (PDF)"):
        assert row in out, row
    extrapolated = [line for line in out.splitlines() if "xtrapolated" in line or "EXTRAPOLATED" in line]
    assert len(extrapolated) >= 5 + len(PAGE_KEYS)
    assert "of bare" in out and "(baseline)" in out


def test_the_temporary_folder_is_removed(tiny):
    r, _, temp = tiny
    assert not Path(r["folder"]).exists()
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("bad", ["0", "abc"])
def test_a_bad_number_of_learners_is_refused_in_one_line(tmp_path, bad):
    result, temp = bench(tmp_path, "--scale", bad)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --scale (how many learners) must be a whole number")
    assert result.stdout == "" and list(temp.iterdir()) == []


@pytest.mark.parametrize("args, password, says", [
    (["--scale-store", "store.sqlite3"], None, "error: RARPA_DEMO_PASSWORD is not set"),
    (["--scale-store", "missing.sqlite3"], "a password", "error: --scale-store missing.sqlite3: no such SQLite store"),
    (["--scale", "2", "--scale-store", "store.sqlite3"], "a password", "error: give --scale N"),
    (["--scale", "2", "--extrapolate-to", "many"], None, "error: --extrapolate-to must be a whole number"),
    (["--json", "out.json"], None, "error: give --scale N"),
])
def test_other_bad_options_are_refused_in_one_line(tmp_path, args, password, says):
    (tmp_path / "store.sqlite3").write_bytes(b"")
    result, temp = bench(tmp_path, *args, password=password)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(says), lines
    assert result.stdout == "" and list(temp.iterdir()) == [] and not (tmp_path / "out.json").exists()

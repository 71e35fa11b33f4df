"""`rarpa demo --scale N`, run as a real subprocess on the run's store (--store):
generated learners with years of history at the demo's rates, the same record
for the same seed and day, recorded times across the years asked, a store that
verifies with its read model caught up, pages and the pack that open for a
generated learner, and refusals in one line that write nothing."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from markupsafe import escape

from rarpa.cli.scale import DEMO_RATES, SCALE_DOMAIN, scale_learner_id
from tests.localhost import db_env
from tests.rawstore import raw

PASSWORD = "scale-password-for-tests"
SUBPROCESS_LIMIT = 300  # seconds: a safety net against a hung command, not a timing check
YEARS = 2
LEARNERS = 3
SEED = "11"
DAY = date.today() - timedelta(days=3)  # the history ends here in the runs compared


def env_for(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update({**db_env(folder / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest",
                "RARPA_DEMO_PASSWORD": PASSWORD})
    return env


def settings_of(folder: Path):
    from rarpa.config import Settings

    return Settings.from_env(env_for(folder))


def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env_for(folder), capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=SUBPROCESS_LIMIT, cwd=folder.parent)


def query(path: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def topics(folder: Path) -> dict[str, int]:
    """How many events of each kind (the topic is kept in clear)."""
    conn = raw(settings_of(folder))
    try:
        rows = conn.execute("SELECT topic, COUNT(*) FROM stored_events GROUP BY topic").fetchall()
    finally:
        conn.close()
    return {topic.split(":")[1]: n for topic, n in rows}


def names(folder: Path) -> list[str]:
    return [r[0] for r in query(folder / "rarpa-views.sqlite3", "SELECT name FROM learners ORDER BY id")]


def generated(tmp_path_factory, label: str, *args: str) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp(label) / "store"
    folder.mkdir()
    result = run_cli(folder, "demo", "--scale", str(LEARNERS), *args)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return folder, result


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return generated(tmp_path_factory, "scale-a", "--years", str(YEARS), "--seed", SEED, "--today", DAY.isoformat())


@pytest.fixture(scope="module")
def again(tmp_path_factory):
    return generated(tmp_path_factory, "scale-b", "--years", str(YEARS), "--seed", SEED, "--today", DAY.isoformat())


@pytest.fixture(scope="module")
def other_seed(tmp_path_factory):
    """Another seed, ending today (the default), a year of history."""
    return generated(tmp_path_factory, "scale-c", "--years", "1", "--seed", "12")


@pytest.fixture(scope="module")
def app_of(first):
    from rarpa.config import Settings
    from rarpa.service.application import RecordApplication

    folder, _ = first
    app = RecordApplication(Settings.from_env(env_for(folder)))
    yield app
    app.close()


# --- what is generated -------------------------------------------------------------------------
def test_counts_are_at_the_demo_s_rates(first):
    folder, _ = first
    n = topics(folder)
    learner_years = LEARNERS * YEARS
    assert n["LearnerEnrolled"] == LEARNERS
    observations = n["ObservationRecorded"]
    assert 0.6 * DEMO_RATES["observations"] <= observations / learner_years <= 1.3 * DEMO_RATES["observations"]
    assert n["ObservationIdClaimed"] == observations  # every observation id claimed, in the same transactions
    assert n["TargetSet"] == n["BaselineRecorded"]  # every target with its baseline
    assert 6 * LEARNERS <= n["TargetSet"] <= 30 * LEARNERS
    assert 3 * LEARNERS <= n["EHCPOutcomeRecorded"] <= 8 * LEARNERS
    assert 2 <= n["ProgressReviewHeld"] / learner_years <= 4  # termly
    assert LEARNERS <= n["AnnualReviewHeld"] <= YEARS * LEARNERS  # about once a year each
    assert n["SelfAssessmentRecorded"] >= LEARNERS
    assert n.get("ObservationCorrected", 0) + n.get("ObservationWithdrawn", 0) <= 0.05 * observations
    assert n["ProviderRegistered"] == 2  # a general FE college and a specialist college
    assert n["UserRegistered"] >= 8  # a SEND lead, tutor and support assistant at each, an auditor, an admin
    assert n["CaseloadLearnerAdded"] >= LEARNERS  # everyone is on a tutor's caseload


def test_the_rates_still_describe_the_demo(tmp_path):
    """DEMO_RATES were measured on `rarpa demo`: they must still be its rates."""
    folder = tmp_path / "demo"
    folder.mkdir()
    result = run_cli(folder, "demo")
    assert result.returncode == 0, result.stderr
    n = topics(folder)
    learners = n["LearnerEnrolled"]
    measured = {
        "observations": n["ObservationRecorded"] / learners,
        "targets_at_start": n["TargetSet"] / learners,
        "outcomes_at_start": n["EHCPOutcomeRecorded"] / learners,
        "progress_reviews": n["ProgressReviewHeld"] / learners,
        "revisions": n["TargetRevised"] / learners,
        "self_assessments": n["SelfAssessmentRecorded"] / learners,
        "corrections": n["ObservationCorrected"] / learners,
        "withdrawals": n["ObservationWithdrawn"] / learners,
        "consents": n["ConsentRecorded"] / learners,
        "unplanned": n["UnplannedOutcomeRecognised"] / learners,
    }
    for what, rate in DEMO_RATES.items():
        assert rate * 0.85 <= measured[what] <= rate * 1.15, (what, measured[what], rate)


def test_same_seed_and_day_give_the_same_record(first, again, other_seed):
    (a, out_a), (b, out_b), (c, _) = first, again, other_seed
    assert topics(a) == topics(b)
    assert names(a) == names(b) and len(set(names(a))) == LEARNERS
    assert names(c) != names(a)  # another seed, other learners
    # The same people and words, though the encrypted bytes differ.
    assert query(a / "rarpa-views.sqlite3", "SELECT id, target_id, rating, context, observed_at FROM observations "
                 "ORDER BY id") == query(b / "rarpa-views.sqlite3", "SELECT id, target_id, rating, context, "
                                         "observed_at FROM observations ORDER BY id")
    # The last line says what was made, how fast, and how big the files are.
    last = out_a.stdout.splitlines()[-1]
    assert last.split(" in ")[0] == out_b.stdout.splitlines()[-1].split(" in ")[0]  # the same counts
    assert last.startswith(f"Scale demo: {LEARNERS} learners, {YEARS} years each to {DAY.isoformat()} (seed {SEED})")
    events = int(re.search(r": ([\d,]+) events", last).group(1).replace(",", ""))
    assert events == sum(topics(a).values())
    assert re.search(r"in [\d.,]+ s \(writing [\d.,]+ s, [\d,]+ events/s; read model [\d.,]+ s", last)
    assert re.search(r"store [\d.,]+ (KB|MB)[^;]*, read model [\d.,]+ (KB|MB)", last) and last.endswith(".")


def test_recorded_times_span_the_years_asked(first, app_of):
    start = datetime.combine(DAY - timedelta(days=365 * YEARS), datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(DAY, datetime.max.time(), tzinfo=timezone.utc)
    firsts, lasts = [], []
    for i in range(LEARNERS):
        events = list(app_of.events.get(scale_learner_id(SEED, i)))
        stamps = [e.timestamp for e in events]
        assert stamps == sorted(stamps)  # recorded in order, as time went forward
        # Enrolled on the first day of term after the start (weeks later in a summer holiday).
        assert start <= stamps[0] <= start + timedelta(days=70)
        assert stamps[-1] <= end
        if not any(type(e).__name__ == "DestinationRecorded" for e in events):  # still here, not a leaver
            assert stamps[-1] >= end - timedelta(days=60)  # recorded lately (or before the holiday)
        observed = [e.observed_at for e in events if type(e).__name__ == "ObservationRecorded"]
        assert observed and all(o.weekday() < 5 for o in observed)  # in term, on weekdays
        assert not any(o.month == 8 for o in observed)  # never in the summer holiday
        firsts.append(stamps[0])
        lasts.append(stamps[-1])
    assert max(lasts) - min(firsts) >= timedelta(days=365 * YEARS - 120)


def test_nothing_is_recorded_after_now(other_seed):
    from rarpa.config import Settings
    from rarpa.service.application import RecordApplication

    folder, _ = other_seed
    app = RecordApplication(Settings.from_env(env_for(folder)))
    try:
        now = datetime.now(timezone.utc)
        latest = max(e.timestamp for i in range(LEARNERS) for e in app.events.get(scale_learner_id("12", i)))
        assert now - timedelta(days=60) <= latest <= now  # lately (or before a holiday), never ahead
    finally:
        app.close()


def test_the_store_verifies_and_the_read_model_is_caught_up(first, app_of):
    folder, _ = first
    result = run_cli(folder, "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ") and "snapshots checked" in result.stdout
    position = query(folder / "rarpa-views.sqlite3", "SELECT position FROM tracking")[0][0]
    assert position == app_of.recorder.max_notification_id()
    assert len(names(folder)) == LEARNERS


# --- the pages of a generated learner --------------------------------------------------------------
@pytest.fixture
def client(first):
    from rarpa.config import Settings
    from web import create_app
    from web.services import Services

    folder, _ = first
    services = Services(Settings.from_env(env_for(folder)))
    yield create_app(services=services).test_client()
    services.close()


def csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf(page)})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_learner_page_and_pack_open_for_a_generated_learner(client, app_of):
    learners = [app_of.repository.get(scale_learner_id(SEED, i)) for i in range(LEARNERS)]
    learner = next(x for x in learners if any(t.status == "open" for t in x.targets.values()))
    sign_in(client, f"lead@{learner.lead_provider}.{SCALE_DOMAIN}")
    page = client.get(f"/learners/{learner.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"<title>{learner.preferred_name} {learner.name.split()[-1][0]}." in html
    open_targets = [t.text for t in learner.targets.values() if t.status == "open"]
    assert all(escape(text) in html for text in open_targets)
    pack = client.get(f"/learners/{learner.id}/annual-review")
    assert pack.status_code == 200 and escape(learner.name) in pack.get_data(as_text=True)
    pdf = client.get(f"/learners/{learner.id}/annual-review.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_a_tutor_sees_this_year_s_class_on_today(first, client, app_of):
    folder, _ = first
    tutors = [u for email, in query(folder / "rarpa-views.sqlite3", "SELECT email FROM users WHERE role='tutor'")
              if (u := app_of.user(email)).caseload]
    assert tutors  # each learner is in a tutor's class this year
    for tutor in tutors:
        assert len(tutor.caseload) <= 12  # a class, not the college
        sign_in(client, tutor.email)
        today = client.get("/").get_data(as_text=True)
        for lid in tutor.caseload:
            assert escape(app_of.repository.get(uuid.UUID(lid)).preferred_name) in today
        client.post("/logout", data={"csrf_token": csrf(today)})


# --- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["0", "-3", "abc", "2.5", ""])
def test_a_bad_number_of_learners_is_refused_in_one_line_and_writes_nothing(tmp_path, bad):
    folder = tmp_path / "store"  # not made yet: nothing may create it
    result = run_cli(folder, "demo", "--scale", bad)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --scale (how many learners) must be a whole number")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not folder.exists()


@pytest.mark.parametrize("args, says", [
    (["--scale", "2", "--years", "0"], "error: --years must be a whole number from 1 to 9, not 0"),
    (["--scale", "2", "--years", "many"], "error: --years must be a whole number from 1 to 9, not 'many'"),
    (["--scale", "2", "--today", "yesterday"], "error: --today must be a date as YYYY-MM-DD"),
    (["--scale", "2", "--today", (date.today() + timedelta(days=2)).isoformat()],
     "error: --today cannot be in the future"),
    (["--scale", "2", "--learners", "5"], "error: --learners is for the demo of 14"),
    (["--years", "2"], "error: --years, --seed and --today go with --scale N"),
])
def test_other_bad_options_are_refused_in_one_line_and_write_nothing(tmp_path, args, says):
    folder = tmp_path / "store"
    result = run_cli(folder, "demo", *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(says), lines
    assert not folder.exists()


def test_a_store_that_is_not_empty_is_refused(first, app_of):
    folder, _ = first
    before = app_of.recorder.max_notification_id()
    result = run_cli(folder, "demo", "--scale", "2")
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the ")
    assert f" already holds {before:,} events; --scale writes only into an empty store, so nothing was written" \
        in lines[0]
    assert "://" not in lines[0]  # a PostgreSQL URL (and any password in it) is not printed
    assert app_of.recorder.max_notification_id() == before

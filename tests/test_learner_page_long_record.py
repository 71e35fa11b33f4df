"""The learner page stays the same size however long the record (issue 14),
through Flask's test client: a target's chart draws its last RECENT ratings
one by one and every older term as one summary (how many, lowest, highest,
the judgement at its end), an outcome's chart the mean at each term's end
and then day by day; beyond MOST_PERIODS terms, academic years. The
summaries come from the read model's rating_terms, kept by the projection
through corrections and withdrawals and the same after a rebuild."""

from __future__ import annotations

import html as htmllib
import re
import uuid
from datetime import datetime

import pytest

from rarpa.read.projections import Projector
from rarpa.read.rating_summary import MOST_PERIODS, RECENT, periods
from tests.test_evidence_pages import figure
from tests.test_web import sign_in, token_of

ROWS2 = re.compile(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>")
ROWS3 = re.compile(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "T10:00:00+00:00")


def observe(app, actor, lid, target, when: str, rating: str) -> str:
    oid = str(uuid.uuid4())
    app.record_observation(actor, lid, observation_id=oid, target_id=target, rating=rating, observed_at=at(when))
    return oid


def rows(chart: str, pattern=ROWS2) -> list[tuple[str, ...]]:
    return [tuple(htmllib.unescape(c) for c in r) for r in pattern.findall(chart)]


def svg_of(chart: str) -> str:
    return chart[:chart.index("</svg>")]


# A rating a week from 1 September, secure and generalised by turns.
AUTUMN = [(day, "secure" if k % 2 == 0 else "generalised") for k, day in enumerate(
    ["2025-09-01", "2025-09-08", "2025-09-15", "2025-09-22", "2025-09-29", "2025-10-06", "2025-10-13", "2025-10-20",
     "2025-10-27", "2025-11-03", "2025-11-10", "2025-11-17"])]


@pytest.fixture
def long_record(app, system, world):
    """Amy's bus-ticket target with three terms of ratings, one of them
    corrected into the next term, one withdrawn and one sent late; a second
    target on the same outcome, observed twice."""
    lid, first, outcome = world["learners"]["amy"], world["amy"]["target"], world["amy"]["outcome"]
    for when, rating in [("2025-01-10", "emerging"), ("2025-01-20", "emerging"), ("2025-02-10", "developing")]:
        observe(app, system, lid, first, when, rating)
    moved = observe(app, system, lid, first, "2025-03-10", "developing")
    for when, rating in [("2025-03-25", "developing"), ("2025-04-10", "developing"), ("2025-05-10", "secure"),
                         ("2025-06-10", "developing"), ("2025-07-10", "secure")]:
        observe(app, system, lid, first, when, rating)
    autumn = [observe(app, system, lid, first, when, rating) for when, rating in AUTUMN]
    # Sent late from a tablet: recorded after everything else, but it happened in February:
    # spring's highest, never its last judgement (that is March's, observed later).
    observe(app, system, lid, first, "2025-02-15", "secure")
    projector = Projector(app.settings.views, app)  # the read model takes all that in, in a batch of its own
    projector.catch_up()
    projector.close()
    app.correct_observation(system, lid, observation_id=moved, observed_at=at("2025-04-01"), reason="Wrong date")
    app.withdraw_observation(system, lid, observation_id=autumn[-1], reason="Wrong learner")
    second = app.set_target(system, lid, text="Check the bus times", success_criteria="Three times",
                            outcome_ids=[outcome], baseline="not_yet", review_by="2027-01-15").result
    observe(app, system, lid, second, "2025-05-01", "not_yet")
    observe(app, system, lid, second, "2025-10-01", "developing")
    return {"lid": lid, "first": first, "second": second, "outcome": outcome}


def test_a_long_targets_chart_has_its_last_ratings_and_each_term_summarised(web, long_record):
    assert sign_in(web).status_code == 302
    lid, first = long_record["lid"], long_record["first"]
    html = web.get(f"/learners/{lid}").get_data(as_text=True)
    chart = figure(html, f"t-{first}-chart")
    svg = svg_of(chart)
    assert svg.count("<circle") == RECENT  # the last ten, one by one
    assert svg.count('class="term-end"') == 3 and svg.count('class="term-range"') == 3  # a square and a bar a term
    assert ">Each term</text>" in svg and f">Last {RECENT}</text>" in svg
    assert rows(chart)[:3] == [
        ("Spring 2025 (5 observations)", "developing at the end; lowest emerging, highest secure"),
        ("Summer 2025 (5 observations)", "secure at the end; lowest developing, highest secure"),
        ("Autumn 2025 (11 observations)", "secure at the end; lowest secure, highest generalised"),
    ]
    # Then the last ten that count (the withdrawn one, the latest, is not among them), oldest first.
    expected = [(f"{int(d[8:])} {datetime.fromisoformat(d):%b} 2025, 10:00", rating) for d, rating in AUTUMN[1:11]]
    assert rows(chart)[3:] == expected
    assert "style=" not in chart and 'role="img"' in svg
    # The card still says the latest judgement and how many there are in all.
    card = html[html.index(f'id="t-{first}"'):]
    assert "Latest evidence (21 in all)" in card[:card.index("</article>")]


def test_an_outcomes_chart_has_the_mean_at_each_terms_end_then_the_latest_days(web, long_record):
    assert sign_in(web).status_code == 302
    html = web.get(f"/learners/{long_record['lid']}").get_data(as_text=True)
    chart = figure(html, f"o-{long_record['outcome']}-chart")
    table = rows(chart, ROWS3)
    means = [(when, mean.split(":")[0], n) for when, mean, n in table]
    # At each term's end: spring, the first target alone at developing; summer, secure
    # with the second at not yet; autumn, secure and developing.
    assert means[:3] == [("Spring 2025", "2.0", "1"), ("Summer 2025", "1.5", "2"), ("Autumn 2025", "2.5", "2")]
    # Then day by day, from the first rating before the first target's last ten: every
    # target's judgement is known from there on (the second's, not yet, from May).
    assert means[3:] == [
        ("1 Sep 2025", "1.5", "2"), ("8 Sep 2025", "2.0", "2"), ("15 Sep 2025", "1.5", "2"), ("22 Sep 2025", "2.0", "2"),
        ("29 Sep 2025", "1.5", "2"), ("1 Oct 2025", "2.5", "2"), ("6 Oct 2025", "3.0", "2"), ("13 Oct 2025", "2.5", "2"),
        ("20 Oct 2025", "3.0", "2"), ("27 Oct 2025", "2.5", "2"), ("3 Nov 2025", "3.0", "2"), ("10 Nov 2025", "2.5", "2"),
    ]
    assert "The chart as a table (3 terms and 12 days)" in chart
    assert svg_of(chart).count('class="term-end"') == 3


def test_a_record_longer_than_five_years_of_terms_goes_by_academic_year(web, app, system, world):
    """Twenty terms of one target: seven academic years, each one summary, and the chart no bigger."""
    lid, target = world["learners"]["amy"], world["amy"]["target"]
    ratings = ["not_yet", "emerging", "developing", "secure", "generalised"]
    for t in range(20):  # spring 2019 to summer 2025
        year, n = divmod(t, 3)
        observe(app, system, lid, target, f"{2019 + year}-{('02', '06', '10')[n]}-01", ratings[t * 5 // 20])
    assert sign_in(web).status_code == 302
    chart = figure(web.get(f"/learners/{lid}").get_data(as_text=True), f"t-{target}-chart")
    years = rows(chart)[:-RECENT]
    assert len(years) == 7 <= MOST_PERIODS
    assert years[0] == ("2018/19 (2 observations)", "not yet at the end; every rating not yet")
    assert years[-2] == ("2023/24 (3 observations)", "generalised at the end; lowest secure, highest generalised")
    assert years[-1] == ("2024/25 (3 observations)", "generalised at the end; every rating generalised")
    assert [label.split(" ")[0] for label, _ in years] == [f"{y}/{(y + 1) % 100:02d}" for y in range(2018, 2025)]
    svg = svg_of(chart)
    assert ">Each year</text>" in svg and svg.count("<circle") == RECENT and svg.count('class="term-end"') == 7


def test_recording_answers_with_the_card_whose_chart_ends_with_the_new_rating(web, long_record):
    lid, first = long_record["lid"], long_record["first"]
    assert sign_in(web).status_code == 302
    token = token_of(web.get(f"/learners/{lid}").get_data(as_text=True))
    fields = {"id": str(uuid.uuid4()), "target_id": first, "rating": "emerging",
              "observed_at": "2025-12-01T10:00:00+00:00"}
    response = web.post(f"/learners/{lid}/observations", data=fields,
                        headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 201
    chart = figure(response.get_data(as_text=True), f"t-{first}-chart")
    assert svg_of(chart).count("<circle") == RECENT
    table = rows(chart)
    assert table[2] == ("Autumn 2025 (12 observations)", "emerging at the end; lowest emerging, highest generalised")
    assert table[-2:] == [("10 Nov 2025, 10:00", "secure"), ("1 Dec 2025, 10:00", "emerging")]
    assert len(table) == 3 + RECENT


def test_the_evidence_page_draws_the_same_summary_and_still_lists_every_observation(web, long_record):
    lid, first = long_record["lid"], long_record["first"]
    assert sign_in(web).status_code == 302
    html = web.get(f"/learners/{lid}/evidence?target={first}").get_data(as_text=True)
    chart = figure(html, "evidence-chart")
    assert chart.count("<svg") == 2 and all(s.count("<circle") == RECENT for s in chart.split("<svg")[1:])
    assert "The chart as a table (3 terms and the last 10 observations)" in chart
    assert rows(chart)[2] == ("Autumn 2025 (11 observations)", "secure at the end; lowest secure, highest generalised")
    assert re.search(r"<strong>22</strong>\s*observations match", html)  # the withdrawn one is listed too


def test_the_term_summaries_are_the_same_after_a_rebuild(app, long_record):
    projector = Projector(app.settings.views, app)
    try:
        projector.catch_up()
        kept = projector.dump()["rating_terms"]
        projector.rebuild()
        assert projector.dump()["rating_terms"] == kept
        assert [(r[1] % 3, r[3], r[4], r[5], r[6]) for r in kept if r[0] == long_record["first"]] == [
            (0, 5, "emerging", "secure", "developing"), (1, 5, "developing", "secure", "secure"),
            (2, 11, "secure", "generalised", "secure")]
    finally:
        projector.close()


def test_erasing_the_learner_leaves_no_term_summaries(app, system, long_record):
    app.erase_learner(system, long_record["lid"], reason="Erasure request")
    projector = Projector(app.settings.views, app)
    try:
        projector.catch_up()
        assert projector.reader().execute("SELECT COUNT(*) FROM rating_terms WHERE learner_id=?",
                                          [long_record["lid"]]).fetchone()[0] == 0
    finally:
        projector.close()


def test_more_than_fifteen_academic_years_go_by_runs_of_years_each_summarised_whole():
    """Never reached by a 16-25 record, but the chart stays bounded all the same."""
    ratings = ["not_yet", "emerging", "developing", "secure", "generalised"]
    rows = [{"term": (2000 + y) * 3 + 2, "observations": 2, "lowest": ratings[y % 5], "highest": ratings[y % 5],
             "latest": ratings[y % 5], "first_at": f"{2000 + y}-10-01", "last_at": f"{2000 + y}-11-01"}
            for y in range(20)]  # each autumn from 2000 to 2019
    got = periods(rows)
    assert (got["unit"], got["width"], got["slots"]) == ("years", 2, 10)
    first, last = got["periods"][0], got["periods"][-1]
    assert first["label"] == "2000/01 to 2001/02" and last["label"] == "2018/19 to 2019/20"
    assert (first["observations"], first["lowest"], first["highest"], first["latest"]) == (
        4, "not_yet", "emerging", "emerging")
    assert (last["lowest"], last["highest"], last["latest"], last["last_at"]) == (
        "secure", "generalised", "generalised", "2019-11-01")

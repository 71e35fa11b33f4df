"""A learner with five years of observations in a real browser (Chromium at
tablet and phone size, through Playwright, against a real `rarpa serve` on a
store of its own): the learner page's charts are the bounded kind (each term
summarised, the last ratings one by one; rarpa/read/rating_summary.py), their
tables open, and axe-core finds nothing, with no CSP violation (the watch
from tests/test_browser.py is autouse here too).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rarpa.cli.five_years import five_year_learner
from rarpa.config import Settings
from rarpa.read.rating_summary import RECENT
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from tests.localhost import serving
from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    PASSWORD,
    PHONE,
    ROOT,
    SHOTS,
    TUTOR,
    Server,
    _env,
    _new_page,
    axe,
    browser,
    context_page,
    no_csp_violations,
    page,
    shot,
    sign_in,
)

OBSERVATIONS = 600  # over five years and 15 targets: 40 each, well past RECENT, in every term


@pytest.fixture(scope="module")
def long_record(tmp_path_factory):
    """A `rarpa serve` on a store with one five-year learner on the tutor's caseload: (server, learner id)."""
    folder = tmp_path_factory.mktemp("long-record-store")
    env = _env(folder / "rarpa.sqlite3")
    app = RecordApplication(Settings.from_env({"RARPA_DB": env["RARPA_DB"], "RARPA_VIEWS": env["RARPA_VIEWS"],
                                               "RARPA_PASSWORD_PROFILE": "cheapest"}))
    system = system_actor("test")
    app.register_provider(system, "northfield", "Northfield College")
    app.add_user(system, email=TUTOR, role="tutor", password=PASSWORD, provider="northfield")
    lid = five_year_learner(app, OBSERVATIONS)
    app.add_to_caseload(system, TUTOR, lid)
    app.close()
    with serving(env, ROOT, folder / "serve.log") as served:
        yield Server(served.base, ""), lid


def test_the_long_record_learner_page_draws_bounded_charts_and_passes_axe(page, long_record):
    server, lid = long_record
    sign_in(page, server)
    page.goto(server.url(f"/learners/{lid}"))
    cards = page.locator("article.target")
    expect(cards).to_have_count(15)
    for k in range(cards.count()):
        chart = cards.nth(k).locator("figure.chart svg")
        assert chart.locator("circle").count() == RECENT  # the last ratings, one by one
        assert chart.locator("rect.term-end").count() >= 5  # a square per period: five years of them
    outcome = page.locator(".outcome > figure.chart").first
    expect(outcome.locator("svg text", has_text="Latest days")).to_have_count(1)
    outcome.locator("details.chart-data > summary").click()
    table = outcome.locator("table")
    expect(table).to_be_visible()
    # periods, then days of its three targets: each target's last RECENT ratings and the one before them
    assert table.locator("tbody tr").count() <= 15 + (RECENT + 1) * 3
    axe(page, "a five-year learner's page, an outcome's chart table open")
    outcome.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tablet-long-record-outcome.png"))
    cards.first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "tablet-long-record-card.png"))
    shot(page, "tablet-long-record-learner")


def test_the_long_record_charts_on_a_phone_and_on_the_evidence_page(browser, long_record):
    server, lid = long_record
    context, page = _new_page(browser, PHONE)
    try:
        sign_in(page, server)
        page.goto(server.url(f"/learners/{lid}"))
        first = page.locator("article.target").first
        expect(first.locator("figure.chart svg")).to_be_visible()
        assert first.locator("figure.chart svg").bounding_box()["width"] <= PHONE["width"]
        axe(page, "a five-year learner's page on a phone")
        target = first.get_attribute("id").removeprefix("t-")
        page.goto(server.url(f"/learners/{lid}/evidence?target={target}"))
        expect(page.locator("#evidence-chart svg.chart-narrow")).to_be_visible()  # the card's drawing on a phone
        page.locator("#evidence-chart-data > summary").click()
        expect(page.locator("#evidence-chart-data table")).to_be_visible()
        axe(page, "a five-year target's evidence on a phone, its chart's table open")
        page.screenshot(path=str(SHOTS / "phone-long-record-evidence.png"))
    finally:
        context.close()

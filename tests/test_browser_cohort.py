"""The cohort in a real browser (Chromium at tablet size, a real `rarpa serve` on
the demo store; fixtures, the axe check and the CSP watch from tests/test_browser.py):
from Today to the cohort, from a count to the learners behind it, and on to a learner."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import test_browser as shared
from tests.test_browser import LEARNER_COUNT, axe, shot, sign_in

# The shared fixtures, found by pytest under these names in this module: the server
# (its own demo store), the browser, a tablet-size page, and the CSP watch (autouse).
browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

LEAD = "lead@example.org"


def test_the_lead_opens_the_cohort_follows_a_count_and_reaches_a_learner(page, server):
    sign_in(page, server, LEAD)
    page.get_by_role("link", name="Cohort counts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cohort: Northfield College")
    expect(page.locator(".suppression")).to_contain_text("“<5”")
    chart = page.locator("svg.cohort-chart")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    assert chart.bounding_box()["width"] <= 820
    axe(page, "cohort")
    shot(page, "tablet-cohort")

    # "All learners": the demo's Northfield learners, each a link to their page.
    cell = page.locator('td[data-key="learners"]')
    expect(cell).to_have_attribute("data-count", str(LEARNER_COUNT))
    link = cell.get_by_role("link")
    box = link.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # a touch target
    link.click()
    expect(page).to_have_url(re.compile(r"/cohort/learners$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("All learners")
    cards = page.locator("ul.cohort-learners a.learner-card")
    expect(cards).to_have_count(LEARNER_COUNT)
    axe(page, "cohort drill-down")
    shot(page, "tablet-cohort-learners")

    first = cards.first
    name = first.locator(".card-title").inner_text()
    first.click()
    expect(page).to_have_url(re.compile(r"/learners/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)

    # Back, and a count of targets: its list says how many of them are each learner's.
    page.goto(server.url("/cohort"))
    page.locator('td[data-key="targets-open"]').get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open")
    total = int(re.match(r"(\d+)", page.locator(".lede").inner_text()).group(1))
    chips = page.locator("ul.cohort-learners .chip").all_inner_texts()
    assert sum(int(c.split()[0]) for c in chips) == total
    axe(page, "cohort drill-down of targets")


def test_the_cohort_fits_a_phone_with_big_targets(browser, server):
    """At 390 px wide: no sideways scrolling of the page (the wide table scrolls in
    its own box), and every link and button at least 44x44 CSS px."""
    context, page = shared._new_page(browser, shared.PHONE)
    try:
        sign_in(page, server, LEAD)
        page.goto(server.url("/cohort"))
        expect(page.locator("svg.cohort-chart")).to_be_visible()
        shared.assert_fits(page, "the cohort")
        axe(page, "the cohort on a phone")  # the chart and the wide table scroll in their own boxes
        page.locator('td[data-key="targets-open"]').get_by_role("link").click()
        expect(page.locator("ul.cohort-learners a.learner-card").first).to_be_visible()
        shared.assert_fits(page, "a cohort drill-down")
    finally:
        context.close()

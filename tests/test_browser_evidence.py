"""All the evidence in a real browser (Chromium at tablet size, through
Playwright, against a real `rarpa serve` on a demo store of its own): from a
learner's page to their evidence, filtered by a target, "Show more" appending
in place (htmx) and as a plain link (scripts off), a withdrawn observation
marked and struck through, and axe-core finding nothing on any of it.

What the page shows is checked against the API's events (the tutor's token),
never against the page alone. The fixtures, the CSP watch (autouse: any
violation fails the test) and axe come from tests/test_browser.py.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from datetime import datetime, timezone

from playwright.sync_api import expect

from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    LEARNER_COUNT,
    TABLET,
    _new_page,
    axe,
    browser,
    context_page,
    learner_events,
    learner_id,
    no_csp_violations,
    page,
    server,
    shot,
    sign_in,
)

CHUNK = 25


def _post_observation(server, lid: str, target_id: str) -> None:
    """Records one observation now, through the API as the tutor."""
    body = json.dumps({"id": str(uuid.uuid4()), "target_id": target_id, "rating": "secure", "context": "classroom",
                       "observed_at": datetime.now(timezone.utc).isoformat()}).encode()
    request = urllib.request.Request(server.url(f"/api/v1/learners/{lid}/observations"), data=body, method="POST",
                                     headers={"Authorization": f"Bearer {server.token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


def withdrawn_beyond_the_first_chunk(server) -> tuple[str, str, str, list[str]]:
    """A demo learner, an open target of theirs and a withdrawn observation on it
    that comes after the first chunk of that target's evidence, newest first
    (observations are recorded through the API when too few are newer). Returns
    (learner id, target id, withdrawn id, the target's observation ids newest first)."""
    best = None
    for i in range(LEARNER_COUNT):
        lid = learner_id(i)
        events = learner_events(server, lid)
        recorded = {e["observation_id"]: e for e in events if e["type"] == "ObservationRecorded"}
        closed = {e["target_id"] for e in events if e["type"] == "TargetClosed"}
        for e in events:
            if e["type"] != "ObservationWithdrawn" or recorded[e["observation_id"]]["target_id"] in closed:
                continue
            w = recorded[e["observation_id"]]
            newer = sum(1 for r in recorded.values()
                        if r["target_id"] == w["target_id"] and r["observed_at"] > w["observed_at"])
            if best is None or newer > best[3]:
                best = (lid, w["target_id"], w["observation_id"], newer)
    assert best, "the demo has no withdrawn observation on an open target"
    lid, target, withdrawn, newer = best
    for _ in range(CHUNK - newer):
        _post_observation(server, lid, target)
    events = learner_events(server, lid)
    mine = [(e["observed_at"], e["position"], e["observation_id"]) for e in events
            if e["type"] == "ObservationRecorded" and e["target_id"] == target]
    order = [oid for _, _, oid in sorted(mine, reverse=True)]
    assert order.index(withdrawn) >= CHUNK
    return lid, target, withdrawn, order


def rows(page) -> list[str]:
    """The observation ids listed, in order (read through locators, which work with scripts off)."""
    items = page.locator("#evidence-rows > li")
    return [items.nth(k).get_attribute("id").removeprefix("o-") for k in range(items.count())]


def test_filter_by_a_target_show_more_in_place_and_a_withdrawn_one_marked(page, server):
    lid, target, withdrawn, order = withdrawn_beyond_the_first_chunk(server)
    sign_in(page, server)
    page.goto(server.url(f"/learners/{lid}"))
    page.get_by_role("link", name="All the evidence", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("All the evidence for")
    all_of_them = sum(1 for e in learner_events(server, lid) if e["type"] == "ObservationRecorded")
    expect(page.locator(".evidence-count")).to_have_text(f"{all_of_them} observations in all")
    assert len(rows(page)) == CHUNK
    axe(page, "all the evidence")
    shot(page, "tablet-evidence")

    page.get_by_label("Target").select_option(target)
    page.get_by_role("button", name="Show the evidence").click()
    expect(page).to_have_url(server.url(f"/learners/{lid}/evidence?target={target}&context=&rating=&by="))
    expect(page.locator(".evidence-count")).to_have_text(f"{len(order)} observations match")
    expect(page.locator("#evidence-shown")).to_have_text(f"Showing 1 to {CHUNK} of {len(order)}, newest first.")
    assert rows(page) == order[:CHUNK]
    expect(page.locator("#evidence-chart svg.chart-wide")).to_be_visible()  # the target's chart, wide
    page.locator("#evidence-chart-data > summary").click()
    expect(page.locator("#evidence-chart-data table")).to_be_visible()
    axe(page, "the evidence of one target, its chart's table open")
    shot(page, "tablet-evidence-target")

    url = page.url
    page.get_by_role("link", name="more observations").click()  # "Show N more observations"
    expect(page.locator("#evidence-rows > li")).to_have_count(len(order))
    assert page.url == url  # appended in place, not a new page
    assert rows(page) == order  # every one once, newest first
    expect(page.locator("#evidence-shown")).to_have_text(f"Showing 1 to {len(order)} of {len(order)}, newest first.")
    assert page.evaluate("document.activeElement.id") == f"o-{order[CHUNK]}"  # focus on the first new one
    expect(page.locator("#evidence-more a")).to_have_count(0)  # the end

    row = page.locator(f"#o-{withdrawn}")
    expect(row).to_have_class("obs obs-withdrawn")
    expect(row.locator(".chip")).to_have_text("Withdrawn: does not count")
    assert "line-through" in row.locator(".obs-body").evaluate("e => getComputedStyle(e).textDecorationLine")
    assert "line-through" not in row.locator(".chip").evaluate("e => getComputedStyle(e).textDecorationLine")
    row.scroll_into_view_if_needed()
    axe(page, "the evidence of one target, all of it shown")
    shot(page, "tablet-evidence-more")

    row.get_by_role("link", name="Why withdrawn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Observation")
    expect(page.locator("#history")).to_contain_text("Withdrawn")


def test_show_more_is_a_plain_link_when_scripts_are_off(browser, server):
    lid, target, withdrawn, order = withdrawn_beyond_the_first_chunk(server)
    context, page = _new_page(browser, TABLET, java_script_enabled=False)
    try:
        sign_in(page, server)
        page.goto(server.url(f"/learners/{lid}/evidence?target={target}"))
        assert rows(page) == order[:CHUNK]
        page.get_by_role("link", name="more observations").click()
        expect(page).to_have_url(re.compile(rf"/learners/{lid}/evidence\?target={target}&after=[^&]+$"))
        expect(page.locator("#evidence-shown")).to_have_text(
            f"Showing {CHUNK + 1} to {len(order)} of {len(order)}, newest first.")
        assert rows(page) == order[CHUNK:]
        expect(page.locator(f"#o-{withdrawn} .chip")).to_have_text("Withdrawn: does not count")
        later = page.url
        page.get_by_role("link", name="Back to the newest").click()
        expect(page.locator("#evidence-shown")).to_have_text(f"Showing 1 to {CHUNK} of {len(order)}, newest first.")
        assert rows(page) == order[:CHUNK]
    finally:
        context.close()
    # axe needs scripts: the same later chunk, as a page of its own, in a browser with them on.
    context, page = _new_page(browser, TABLET)
    try:
        sign_in(page, server)
        page.goto(later)
        expect(page.get_by_role("link", name="Back to the newest")).to_be_visible()
        axe(page, "a later chunk as a page of its own")
    finally:
        context.close()


def test_the_learner_page_charts_and_jump_links_are_accessible(page, server):
    sign_in(page, server)
    lid = learner_id(1)
    page.goto(server.url(f"/learners/{lid}"))
    jump = page.get_by_role("navigation", name="Preparing for Adulthood areas on this page")
    links = jump.get_by_role("link")
    assert links.count() >= 2
    first = links.first
    area = first.get_attribute("href")
    first.click()
    expect(page).to_have_url(server.url(f"/learners/{lid}{area}"))
    assert page.locator(area).evaluate("e => e.getBoundingClientRect().top >= 60")  # not under the sticky bar
    chart = page.locator("figure.chart").first
    expect(chart.locator("svg text", has_text="generalised")).to_have_count(1)
    outcome = page.locator(".outcome > figure.chart").first
    outcome.locator("details.chart-data > summary").click()
    expect(outcome.locator("table")).to_be_visible()
    axe(page, "the learner page with an outcome's chart table open")
    outcome.scroll_into_view_if_needed()
    shot(page, "tablet-learner-charts")

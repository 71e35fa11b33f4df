"""The auditor's workspace in a real browser (Chromium at tablet size, a real
`rarpa serve` on a demo store of its own; fixtures, the axe check and the CSP
watch from tests/test_browser.py): the timeline reached from a learner's page
and filtered, the as-at picker carried from the learner page to the pack and
its PDF, comparing two times, the access log and checking a fingerprint.

What the pages show is checked against the API's events (the tutor's token),
never against the page alone. The demo records each learner over a year, so
an instant months ago falls in the middle of their record.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect
from pypdf import PdfReader

from tests import test_browser as shared
from tests.test_browser import axe, learner_events, learner_id, shot, sign_in, wait_for_controller
from web.as_at import from_local, in_words, local_value

browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

AUDITOR = "auditor@example.org"


def events_of(server, lid: str) -> list[dict]:
    """The learner's events from the API's export (its first line describes the file)."""
    return [e for e in learner_events(server, lid) if "type" in e and "position" in e]


def shown_entries(page) -> list[int]:
    return [int(i.removeprefix("e-")) for i in page.locator("article.tl-entry").evaluate_all("els => els.map(e => e.id)")]


def test_the_auditor_reaches_the_timeline_and_filters_it(page, server):
    sign_in(page, server, AUDITOR)
    lid = learner_id(0)
    events = events_of(server, lid)
    page.goto(server.url(f"/learners/{lid}"))
    page.get_by_role("link", name="Timeline: every entry").click()
    expect(page).to_have_url(server.url(f"/learners/{lid}/timeline"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Timeline: ")
    expect(page.locator(".tl-count")).to_contain_text(f"{len(events)} entries, oldest first")
    first_page = shown_entries(page)
    assert first_page[:3] == [1, 2, 3] and len(set(first_page)) == len(first_page)
    axe(page, "the timeline")
    shot(page, "tablet-timeline")

    # One kind of entry: the corrections, each shown with the observation it corrected.
    corrected = [e for e in events if e["type"] == "ObservationCorrected"]
    assert corrected, "the demo has no correction"
    page.get_by_label("What happened").select_option(label="Observation corrected")
    page.get_by_role("button", name="Show the entries").click()
    expect(page).to_have_url(re.compile(r"kind=ObservationCorrected"))
    expect(page.locator("article.tl-ObservationCorrected")).to_have_count(len(corrected))
    originals = page.locator(".tl-changed > article.tl-entry")
    expect(originals).to_have_count(len({e["observation_id"] for e in corrected}))
    nested = page.locator(".tl-replacements article.tl-ObservationCorrected")
    expect(nested).to_have_count(len(corrected))  # every one beside what it replaced
    expect(nested.first.locator(".tl-was")).to_contain_text("Was:")
    axe(page, "the timeline filtered to corrections")
    shot(page, "tablet-timeline-corrections")

    # And a person, on top: only what they recorded (and what their corrections replaced).
    person = page.get_by_label("Recorded by")
    choice = person.locator("option").nth(1)
    who, label = choice.get_attribute("value"), choice.inner_text()
    person.select_option(value=who)
    page.get_by_label("What happened").select_option(label="Everything")
    page.get_by_role("button", name="Show the entries").click()
    theirs = [e["position"] for e in events if e["recorded_by"] == who]
    expect(page.locator(".tl-count")).to_contain_text(f"{len(theirs)} of {len(events)} entries match")
    shown = set(shown_entries(page))
    assert set(theirs[:len(shown)]) <= shown
    expect(page.get_by_label("Recorded by")).to_have_value(who)  # the filter is kept
    axe(page, f"the timeline filtered to {label}")


def test_the_as_at_picker_is_carried_to_the_pack_and_its_pdf(page, server):
    sign_in(page, server, AUDITOR)
    wait_for_controller(page)  # the pages from here on are served through the tablet's service worker
    lid = learner_id(2)
    events = events_of(server, lid)
    page.goto(server.url(f"/learners/{lid}"))
    expect(page.locator("article.target").first).to_be_visible()
    # Halfway through the learner's year, on the UK's clock.
    first, last = (datetime.fromisoformat(events[i]["recorded_at"]) for i in (0, -1))
    picked = local_value(first + (last - first) / 2)
    instant = from_local(picked)
    then = [e for e in events if datetime.fromisoformat(e["recorded_at"]) <= instant]
    assert 3 < len(then) < len(events)

    page.get_by_text("See the record as it stood at an earlier time").click()
    page.get_by_label("Date and time").fill(picked)
    page.get_by_role("button", name="Show the record then").click()
    banner = page.locator(".as-at-banner")
    expect(banner).to_contain_text(f"You are looking at the record as it stood at {in_words(instant)}")
    expect(page.locator("button[name=rating]")).to_have_count(0)  # nothing to record with
    z = instant.isoformat().replace("+00:00", "Z")
    assert parse_qs(urlsplit(page.url).query)["as_at"] == [z]
    axe(page, "the learner page as at an instant")
    shot(page, "tablet-learner-as-at")

    page.get_by_role("link", name="Annual-review pack").click()
    expect(page).to_have_url(re.compile(r"/annual-review\?as_at="))
    expect(page.locator(".as-at-banner")).to_contain_text(in_words(instant))
    expect(page.get_by_role("button", name="Record the annual review")).to_have_count(0)
    axe(page, "the pack as at an instant")
    shot(page, "tablet-pack-as-at")
    page.get_by_role("button", name="Show this period").click()
    expect(page.locator(".as-at-banner")).to_contain_text(in_words(instant))  # the period keeps the instant
    pdf = page.get_by_role("link", name="Download PDF").get_attribute("href")
    assert parse_qs(urlsplit(pdf).query)["as_at"] == [z]
    answer = page.request.get(server.url(pdf))
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages).split())
    assert f"This pack shows the record as it stood at {in_words(instant)}" in text
    fingerprint = page.locator("code.fingerprint-hex").inner_text()
    assert len(fingerprint) == 64 and fingerprint in text.replace(" ", "")

    page.get_by_role("link", name="Back to now").click()
    expect(page.locator(".as-at-banner")).to_have_count(0)
    assert "as_at" not in page.url

    # One view, one entry: the page as at the instant was not fetched again as it is now (to keep offline).
    page.goto(server.url(f"/learners/{lid}/access-log"))
    newest = page.locator("table.access-log tbody tr", has_text="Learner page").first
    expect(newest).to_contain_text(f"as at {in_words(instant)}")


def test_compare_two_times_then_the_access_log_and_a_fingerprint(page, server):
    sign_in(page, server, AUDITOR)
    lid = learner_id(1)
    events = events_of(server, lid)
    page.goto(server.url(f"/learners/{lid}/timeline"))
    page.get_by_role("link", name="Compare two times").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("What changed")
    axe(page, "compare, empty")
    now = datetime.now(timezone.utc)
    start, end = local_value(now - timedelta(days=120)), local_value(now - timedelta(days=30))
    page.get_by_label("From").fill(start)
    page.get_by_label("To", exact=True).fill(end)
    page.get_by_role("button", name="Show what changed").click()
    after, up_to = from_local(start), from_local(end)
    between = [e for e in events if after < datetime.fromisoformat(e["recorded_at"]) <= up_to]
    assert between, "nothing recorded in the demo's window"
    expect(page.locator("article.tl-entry")).to_have_count(len(between))
    assert sorted(shown_entries(page)) == sorted(e["position"] for e in between)
    expect(page.locator(".compare-result")).to_contain_text(f"{len(between)} entries were recorded")
    axe(page, "compare")
    shot(page, "tablet-compare")
    # A later time before the earlier one: said beside the field.
    page.get_by_label("To", exact=True).fill(local_value(now - timedelta(days=200)))
    page.get_by_role("button", name="Show what changed").click()
    expect(page.locator("#to_when-error")).to_contain_text("must be later than the time to compare from")
    expect(page.locator(".error-summary a[href='#to_when']")).to_be_visible()
    axe(page, "compare with an error")

    page.goto(server.url(f"/learners/{lid}/access-log"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Who has opened")
    rows = page.locator("table.access-log tbody tr")
    # Newest first: this view of the log itself (logged before it is shown), then the comparison just made.
    expect(rows.first).to_contain_text("Access log")
    expect(rows.nth(1)).to_contain_text("Changes")
    expect(rows.nth(1)).to_contain_text("Alex Morgan")
    axe(page, "the access log")
    shot(page, "tablet-access-log")

    # The fingerprint printed on the pack, checked in one step.
    page.goto(server.url(f"/learners/{lid}/annual-review"))
    fingerprint = page.locator("code.fingerprint-hex").inner_text()
    page.goto(server.url("/fingerprint"))
    axe(page, "check a fingerprint, empty")
    page.get_by_label("The learner's record reference").fill(lid)
    page.get_by_label("Fingerprint").fill(" ".join(fingerprint[i:i + 8] for i in range(0, 24, 8)))
    page.get_by_role("button", name="Check the fingerprint").click()
    answer = page.locator(".fingerprint-answer")
    expect(answer).to_contain_text("It matches")
    expect(answer).to_contain_text(f"up to event {len(events_of(server, lid))}")
    axe(page, "check a fingerprint, matched")
    shot(page, "tablet-fingerprint")
    page.get_by_label("Fingerprint").fill("not a fingerprint")
    page.get_by_role("button", name="Check the fingerprint").click()
    expect(page.locator("#fingerprint-error")).to_contain_text("made of the digits 0-9 and letters a-f")
    axe(page, "check a fingerprint, refused")
    shot(page, "tablet-fingerprint-error")

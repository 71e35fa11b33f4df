"""Stage 5 and consent in a real browser (Chromium driven by Playwright), on a
demo store served by a real `rarpa serve` (the fixtures of tests/test_browser.py).

A SEND lead records a summative judgement for a target and for an EHCP
outcome, records a destination (one starting now, which cannot be confirmed
yet, and one that began two terms ago, which is then confirmed), and the
annual-review pack shows all of it. Every new page is checked with axe-core
at tablet size, and any Content-Security-Policy violation fails the test.
What the browser did is checked against the API, never the page alone.
Screenshots for people go to /tmp/rarpa-shots/stage5-*.png.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from rarpa.record import measures
from tests import test_browser as shared
from tests.test_browser import PHONE, ZOOM_200, _new_page, assert_fits, axe, learner_events, learner_id, shot, sign_in

# The shared fixtures, found by pytest under these names in this module: the server
# (its own demo store), the browser, a tablet-size page, and the CSP watch (autouse).
browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

LEAD = "lead@example.org"
LEARNER = 4  # a Northfield learner, on no other test's path in this module


def today() -> date:
    return datetime.now(timezone.utc).date()


def long_day(d: date) -> str:
    return f"{d.day} {d.strftime('%B %Y')}"


def open_form(item) -> None:
    """A target or outcome already judged keeps its form folded away under
    "Record a new judgement"; one not yet judged shows it open."""
    if item.locator("details.eop-form[open]").count() == 0:
        item.locator("details.eop-form > summary").click()


def test_a_send_lead_records_the_end_of_programme_and_the_pack_shows_it(page, server):
    sign_in(page, server, LEAD)
    lid = learner_id(LEARNER)
    page.goto(server.url(f"/learners/{lid}"))
    sections = page.locator("section.stage5")
    expect(sections.get_by_role("heading", name="End of programme")).to_be_visible()
    expect(sections.get_by_role("heading", name="Consent")).to_be_visible()
    axe(page, "the learner page with its end-of-programme and consent sections")
    sections.first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/rarpa-shots/stage5-learner-sections.png")
    sections.get_by_role("link", name="End of programme").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("End of programme")
    axe(page, "the end-of-programme page")
    assert_fits(page, "the end-of-programme page")
    shot(page, "stage5-end-of-programme")

    # A target: refused first (no judgement chosen), then saved.
    target = page.locator("article.eop-item[id^='t-']").first
    target_id = target.get_attribute("id").removeprefix("t-")
    target_text = target.get_by_role("heading", level=3).inner_text()
    open_form(target)
    target.get_by_label("What the learner can do now").fill("Plans the bus route on her own with the app.")
    target.get_by_role("button", name="Save the judgement").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Choose a judgement")
    expect(page.locator(f"#rating-{target_id}-error")).to_contain_text("Choose a judgement")
    axe(page, "the end-of-programme page with a refusal")
    shot(page, "stage5-end-of-programme-refused")
    target = page.locator(f"#t-{target_id}")
    expect(target.get_by_label("What the learner can do now")).to_have_value("Plans the bus route on her own with the app.")
    target.locator("label.chip-choice", has_text="secure").click()
    target.get_by_role("button", name="Save the judgement").click()
    expect(page.locator(".flash")).to_have_text("The judgement is saved.")
    expect(page.locator(f"#t-{target_id} .eop-judged")).to_contain_text("Judged secure")

    # An EHCP outcome.
    outcome = page.locator("article.eop-item[id^='o-']").first
    outcome_id = outcome.get_attribute("id").removeprefix("o-")
    open_form(outcome)
    outcome.locator("label.chip-choice", has_text="Partly achieved").click()
    outcome.get_by_label("Why: the evidence in a sentence or two").fill("Travels to college with a buddy most days.")
    outcome.get_by_role("button", name="Save the judgement").click()
    expect(page.locator(f"#o-{outcome_id} .eop-judged")).to_contain_text("Partly achieved")

    # A destination starting today: the page says when it can be confirmed, and offers no button.
    page.get_by_role("link", name="Record a destination").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Record a destination")
    axe(page, "the destination form")
    shot(page, "stage5-destination")
    page.get_by_role("button", name="Save the destination").click()
    expect(page.locator("#kind-error")).to_contain_text("Choose where the learner goes next")
    axe(page, "the destination form with refusals")
    page.locator("label.chip-choice", has_text="supported internship").click()
    page.get_by_label("Details (optional)").fill("City hospital, portering team")
    page.get_by_label("Starts on").fill(today().isoformat())
    page.get_by_role("button", name="Save the destination").click()
    follow_up = date.fromisoformat(measures.destination_follow_up(today().isoformat()))
    destinations = page.locator("ul.eop-destinations")
    expect(destinations).to_contain_text(f"You can confirm this from {long_day(follow_up)}.")
    expect(destinations.get_by_role("link", name="Confirm it was sustained")).to_have_count(0)

    # A destination that began two terms ago can be confirmed.
    page.get_by_role("link", name="Record a destination").click()
    page.locator("label.chip-choice", has_text="further learning").click()
    page.get_by_label("Starts on").fill((today() - timedelta(days=200)).isoformat())
    page.get_by_role("button", name="Save the destination").click()
    destinations.get_by_role("link", name="Confirm it was sustained").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Was the destination sustained?")
    axe(page, "confirming a destination was sustained")
    shot(page, "stage5-sustained")
    page.get_by_label("How you know (optional)").fill("Spoke to the course tutor.")
    page.get_by_role("button", name="Confirm it was sustained").click()
    expect(page.locator("ul.eop-destinations")).to_contain_text("Sustained: confirmed")

    # What the record holds, by the API.
    kinds = [(e["type"], e.get("role")) for e in learner_events(server, lid)]
    for kind in ("SummativeAssessmentRecorded", "OutcomeSummativeRecorded", "DestinationRecorded",
                 "DestinationSustained"):
        assert (kind, "send_lead") in kinds, kind
    events = learner_events(server, lid)
    judged = [e for e in events if e["type"] == "OutcomeSummativeRecorded"][-1]
    assert (judged["outcome_id"], judged["judgement"]) == (outcome_id, "partly_achieved")
    assert [e for e in events if e["type"] == "SummativeAssessmentRecorded"][-1]["target_id"] == target_id

    # The annual-review pack shows all of it.
    page.goto(server.url(f"/learners/{lid}/annual-review"))
    pack = page.locator("div.pack")
    # Issue 13: the judgement is a labelled fact of the outcome ("At the end of the programme (date)": "Partly achieved").
    facts = pack.locator(".pack-outcome > .pack-facts", has_text="At the end of the programme")
    expect(facts.first).to_contain_text("Partly achieved")
    expect(pack).to_contain_text("Travels to college with a buddy most days.")
    expect(pack.locator(".pack-target", has_text=target_text)).to_contain_text(
        "At the end of the programme")
    expect(pack.locator(".pack-target", has_text=target_text)).to_contain_text(
        "Plans the bus route on her own with the app.")
    expect(pack).to_contain_text("Destination: supported internship, City hospital, portering team")
    expect(pack).to_contain_text("Destination: further learning")
    expect(pack).to_contain_text("it lasted two terms (confirmed")  # sustained, in plain words (issue 13)
    axe(page, "the annual-review pack with end-of-programme judgements")
    shot(page, "stage5-annual-review")


def test_the_other_stage5_forms_and_consent_are_accessible(page, server):
    sign_in(page, server, LEAD)
    lid = learner_id(LEARNER + 1)
    page.goto(server.url(f"/learners/{lid}/end-of-programme"))

    page.get_by_role("link", name="Something nobody planned").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Something nobody planned")
    axe(page, "the unplanned-outcome form")
    shot(page, "stage5-unplanned")
    page.get_by_role("button", name="Record it").click()
    expect(page.locator("#text-error")).to_contain_text("Enter what the learner achieved")
    axe(page, "the unplanned-outcome form with a refusal")
    page.get_by_label("What the learner achieved").fill("Showed a visitor round the college garden.")
    page.locator("label.chip-choice", has_text="Friends, relationships and community").click()
    page.get_by_role("button", name="Record it").click()
    expect(page.locator("#unplanned + ul")).to_contain_text("Showed a visitor round the college garden.")

    page.get_by_role("link", name="Agree a next step").click()
    axe(page, "the next-step form")
    shot(page, "stage5-next-step")
    page.get_by_label("The next step").fill("Visit the supported internship open day.")
    page.get_by_role("button", name="Save the next step").click()
    expect(page.locator("#next-steps + ul")).to_contain_text("Visit the supported internship open day.")

    # Consent: from the learner page, refused without an answer, then saved with who and when.
    page.goto(server.url(f"/learners/{lid}"))
    page.get_by_role("link", name="Record or change consent").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consent")
    axe(page, "the consent page")
    page.locator("label.chip-choice", has_text="Sharing with family").click()
    page.get_by_role("button", name="Save the consent").click()
    expect(page.locator("#given-error")).to_contain_text("Choose whether consent is given")
    axe(page, "the consent page with a refusal")
    page.locator("label.chip-choice", has_text="Yes, given").click()
    page.get_by_label("Who gave the answer, and how (optional)").fill("Said yes at the review.")
    page.get_by_role("button", name="Save the consent").click()
    expect(page.locator(".flash")).to_contain_text("Saved: Sharing with family.")
    expect(page.locator("dl.consents")).to_contain_text("Given")
    expect(page.locator("#consent-history + ul")).to_contain_text("Said yes at the review.")
    shot(page, "stage5-consents")
    saved = [e for e in learner_events(server, lid) if e["type"] == "ConsentRecorded"][-1]
    assert (saved["consent"], saved["given"], saved["role"]) == ("sharing_with_family", True, "send_lead")

    # Today shows none of it.
    page.goto(server.url("/"))
    text = page.locator("main").inner_text().lower()
    for word in ("consent", "sharing", "photograph", "given"):
        assert word not in text, word


@pytest.mark.parametrize("viewport, scale", [(PHONE, 1), (ZOOM_200, 2)], ids=["phone-390x844", "zoom200-410x590"])
def test_the_new_pages_fit_small_screens_with_big_targets(browser, server, viewport, scale):
    context, page = _new_page(browser, viewport, device_scale_factor=scale)
    try:
        sign_in(page, server, LEAD)
        lid = learner_id(LEARNER)
        for path, label in ((f"/learners/{lid}", "the learner page"),
                            (f"/learners/{lid}/end-of-programme", "the end-of-programme page"),
                            (f"/learners/{lid}/consents", "the consent page"),
                            (f"/learners/{lid}/destinations/new", "the destination form")):
            page.goto(server.url(path))
            assert_fits(page, label)
    finally:
        context.close()

"""The annual-review pack a parent can read (issue 13) in a real browser
(Chromium driven by Playwright), on the demo store served by a real `rarpa
serve` (the fixtures of tests/test_browser.py): the summary first, "About this
record" with the fingerprint last, axe-core clean at tablet size and on a
phone, no sideways scrolling, and the page's summary the same as the API's.
Screenshots for people go to /tmp/rarpa-shots/pack-readable-*.png.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests import test_browser as shared
from tests.test_browser import PHONE, SHOTS, _new_page, api_get, assert_fits, axe, learner_id, shot, sign_in

# The shared fixtures, found by pytest under these names in this module.
browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

LEAD = "lead@example.org"
LEARNER = 0  # Amir: a dual placement, with a year of evidence, reviews and self-assessments


def test_the_pack_page_reads_summary_first_and_about_this_record_last(page, server):
    sign_in(page, server, LEAD)
    lid = learner_id(LEARNER)
    page.goto(server.url(f"/learners/{lid}/annual-review"))
    pack = page.locator("div.pack")
    headings = pack.locator("h2").all_inner_texts()
    assert headings[0] == "Amir's year: a summary" and headings[-1] == "About this record", headings
    assert headings.index("What Amir says") < headings.index("What Amir's family says") < headings.index(
        "Recommendations for the plan")
    summary = pack.locator("section.pack-summary")
    expect(summary.locator("h3")).to_have_text(["What went well", "What is next", "In Amir's own words"])
    expect(summary.locator(".went-well li").first).to_be_visible()
    expect(summary.locator(".what-next li").first).to_be_visible()
    expect(summary.locator(".quotes .quote").first).to_contain_text("“")
    text = summary.inner_text()
    assert "fingerprint" not in text.lower() and " steps" not in text.lower()
    # The fingerprint is under "About this record", at the end; the family's section says none was sent.
    fingerprint = pack.locator("section.pack-about code.fingerprint-hex")
    expect(fingerprint).to_have_count(1)
    expect(pack.locator("code.fingerprint-hex")).to_have_count(1)
    expect(pack.locator("section.pack-views", has_text="What Amir's family says")).to_contain_text(
        "No views from home were sent for this period.")
    # The page says what the API says (the tutor's token: Amir is on the tutor's caseload).
    body = api_get(server, f"/learners/{lid}/annual-review")
    assert summary.locator(".went-well li").all_inner_texts() == body["summary"]["went_well"]
    assert summary.locator(".what-next li").all_inner_texts() == body["summary"]["next"]
    assert [q.strip("“”") for q in summary.locator(".quotes .quote").all_inner_texts()] == [
        w["words"] for w in body["summary"]["learner_words"]]
    assert fingerprint.inner_text() == body["about"]["fingerprint"] == body["fingerprint"]

    axe(page, "the annual-review pack a parent can read")
    assert_fits(page, "the annual-review pack")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "pack-readable-tablet-top.png"))  # what a parent sees first, at 820x1180
    shot(page, "pack-readable-tablet")
    pack.locator("section.pack-about").evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(SHOTS / "pack-readable-tablet-about.png"))


def test_the_pack_page_on_a_phone(browser, server):
    context, phone = _new_page(browser, PHONE)
    try:
        sign_in(phone, server, LEAD)
        phone.goto(server.url(f"/learners/{learner_id(LEARNER)}/annual-review"))
        expect(phone.locator("section.pack-summary h2")).to_have_text("Amir's year: a summary")
        axe(phone, "the annual-review pack on a phone")
        assert_fits(phone, "the annual-review pack on a phone")
        phone.screenshot(path=str(SHOTS / "pack-readable-phone-top.png"))
    finally:
        context.close()

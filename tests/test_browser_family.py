"""The family's voice in Chromium (axe-checked, CSP watched): the SEND lead
records consent to share with family and lets Mum in with a one-time link;
Mum, on her phone, sets a password, sees the easy-read summary (also at 200%
zoom), and sends what she saw at home with a photo; the tutor adds it to the
record from "From home", and it is in the annual-review pack; a second one is
declined and Mum sees why; consent withdrawn, Mum sees nothing."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import test_browser as shared
from tests.test_browser import axe, learner_id, shot, sign_in
from tests.test_photos import noise_jpeg

browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

MUM_PASSWORD = "kitchen table sunday 77"


def record_consent(lead, server, lid: str, given: str, consent: str = "sharing_with_family") -> None:
    lead.goto(server.url(f"/learners/{lid}/consents"))
    lead.locator(f"label[for=consent-{consent}]").click()
    lead.locator(f"label[for=given-{given}]").click()
    lead.get_by_role("button", name="Save the consent").click()
    expect(lead.get_by_role("status")).to_contain_text("Saved:")


def test_a_family_member_sends_from_home_and_staff_decide(browser, server, tmp_path):
    lid = learner_id(1)
    lead_context, lead = shared._new_page(browser, shared.TABLET)
    mum_context, mum = shared._new_page(browser, shared.PHONE)
    tutor_context, tutor = shared._new_page(browser, shared.TABLET)
    try:
        sign_in(lead, server, "lead@example.org")
        record_consent(lead, server, lid, "yes")
        record_consent(lead, server, lid, "yes", consent="photographs")
        lead.goto(server.url(f"/learners/{lid}"))
        lead.get_by_role("link", name=re.compile("Who in the family can see")).click()
        expect(lead.get_by_role("heading", level=1)).to_contain_text("family")
        lead.get_by_role("button", name="Let them in and make a link").click()
        expect(lead.locator("#display_name-error")).to_contain_text("Enter their name")
        axe(lead, "family members: refused")
        lead.get_by_label("Their name").fill("Jane Parent")
        lead.get_by_label("Who they are to the learner").fill("Mum")
        lead.get_by_label("Their email address").fill("jane.parent@example.org")
        lead.get_by_label("Why").fill("To hear from home before the annual review")
        lead.get_by_role("button", name="Let them in and make a link").click()
        link = lead.get_by_label(re.compile("Link for Jane Parent")).input_value()
        assert "/invite/" in link
        axe(lead, "family members: the link")
        shot(lead, "tablet-family-members")

        mum.goto(link)
        mum.get_by_label("New password", exact=True).fill(MUM_PASSWORD)
        mum.get_by_label("Type the new password again").fill(MUM_PASSWORD)
        mum.get_by_role("button", name="Set my password and sign in").click()
        expect(mum.get_by_role("heading", level=1)).to_contain_text("is doing")
        axe(mum, "family summary (phone)")
        shot(mum, "phone-family-summary")
        mum.set_viewport_size(shared.ZOOM_200)
        axe(mum, "family summary (200% zoom)")
        mum.set_viewport_size(shared.PHONE)

        mum.get_by_role("link", name="Tell us what you saw at home").click()
        mum.get_by_role("button", name="Send it").click()
        expect(mum.locator("#words-error")).to_contain_text("Enter what you saw")
        axe(mum, "sending from home: refused")
        mum.get_by_label("What did you see?").fill("She laid the table for four and counted the forks")
        photo = tmp_path / "home.jpg"
        photo.write_bytes(noise_jpeg(seed=41))
        mum.locator("input[type=file]").set_input_files(str(photo))
        expect(mum.locator("[data-photo-preview]")).to_be_visible()
        shot(mum, "phone-family-send")
        mum.get_by_role("button", name="Send it").click()
        expect(mum.get_by_role("status")).to_contain_text("Staff will look at what you sent")
        expect(mum.get_by_text("Waiting for staff to look at it")).to_be_visible()

        sign_in(tutor, server, "tutor@example.org")
        tutor.get_by_role("link", name=re.compile("From home: 1 to look at")).click()
        tutor.get_by_role("link", name=re.compile("from Mum")).click()
        expect(tutor.get_by_text("She laid the table for four")).to_be_visible()
        expect(tutor.locator("img.family-photo")).to_be_visible()
        axe(tutor, "a contribution to decide")
        shot(tutor, "tablet-contribution")
        first_target = tutor.locator("input[name=targets]").first
        target_id = first_target.get_attribute("value")
        tutor.locator(f"label[for=target-{target_id}]").click()
        tutor.locator(f"label[for=rating-{target_id}-secure]").click()
        tutor.get_by_role("button", name="Add as evidence from home").click()
        expect(tutor.get_by_role("status")).to_contain_text("Added to the record")

        lead.goto(server.url(f"/learners/{lid}/annual-review"))
        expect(lead.get_by_text("She laid the table for four and counted the forks").first).to_be_visible()

        mum.reload()
        expect(mum.get_by_text("Added to the record")).to_be_visible()
        mum.get_by_role("link", name="Tell us what you saw at home").click()
        mum.get_by_label("What did you see?").fill("Watched television")
        mum.get_by_role("button", name="Send it").click()
        tutor.goto(server.url("/contributions"))
        tutor.get_by_role("link", name=re.compile("from Mum")).click()
        tutor.get_by_label("Why it is not added").fill("This does not show one of the targets; thank you for sending it")
        tutor.get_by_role("button", name="Do not add it").click()
        mum.reload()
        expect(mum.get_by_text("This does not show one of the targets")).to_be_visible()
        axe(mum, "family summary with a declined one")

        record_consent(lead, server, lid, "no")
        assert mum.goto(server.url(f"/family/{lid}")).status == 404
    finally:
        lead_context.close()
        mum_context.close()
        tutor_context.close()

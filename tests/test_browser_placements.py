"""The SEND lead ends a dual placement in Chromium (axe-checked, CSP watched):
from the plan to the providers page, a refusal beside the field, then the
provider leaves and its SEND lead's next request for the learner is a 404."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import test_browser as shared
from tests.test_browser import axe, learner_id, shot, sign_in

browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)


def test_the_lead_ends_a_dual_placement_and_the_partners_lead_loses_sight(browser, server):
    lid = learner_id(0)  # Northfield, with a dual placement at Riverside
    context, partner = shared._new_page(browser, shared.TABLET)
    try:
        sign_in(partner, server, "lead.riverside@example.org")
        assert partner.goto(server.url(f"/learners/{lid}")).status == 200

        lead_context, lead = shared._new_page(browser, shared.TABLET)
        try:
            sign_in(lead, server, "lead@example.org")
            lead.goto(server.url(f"/learners/{lid}/plan"))
            lead.get_by_role("link", name="Providers (dual placement)").click()
            expect(lead.get_by_role("heading", level=1)).to_contain_text("Providers working with")
            axe(lead, "providers")
            shot(lead, "tablet-providers")
            lead.get_by_role("link", name="This provider leaves").click()
            lead.get_by_role("button", name="Riverside Specialist College leaves").click()
            expect(lead.locator("#reason-error")).to_contain_text("reason")
            axe(lead, "providers: a leaving without a reason")
            lead.get_by_label("Why it ends").fill("The placement ended at the end of term")
            lead.get_by_role("button", name="Riverside Specialist College leaves").click()
            expect(lead.get_by_role("status")).to_contain_text("Its staff no longer see this record")
            expect(lead.locator("#history")).to_be_visible()
            expect(lead.get_by_text("The placement ended at the end of term")).to_be_visible()
            shot(lead, "tablet-providers-left")
        finally:
            lead_context.close()

        assert partner.goto(server.url(f"/learners/{lid}")).status == 404
    finally:
        context.close()

"""Erasure by an administrator in a real browser (Chromium at tablet size, a real
`rarpa serve` on the demo store; fixtures, the axe check and the CSP watch from
tests/test_browser.py): the SEND lead reads the record reference on the
learner's page, the administrator goes from Today to the erasure form, is
refused a wrong name beside the field, then erases; the API then answers 410."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from rarpa.cli.demo_content import LEARNERS
from tests import test_browser as shared
from tests.test_browser import axe, learner_id, shot, sign_in
from tests.localhost import http_get

# The shared fixtures, found by pytest under these names in this module: the server
# (its own demo store), the browser, a tablet-size page, and the CSP watch (autouse).
browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

LEAD = "lead@example.org"
ADMIN = "admin@example.org"
AMIR = LEARNERS[0][0]  # Northfield, with a dual placement at Riverside


def test_an_admin_erases_a_learner_by_reference_with_a_typed_confirmation(browser, server):
    lid = learner_id(0)
    assert http_get(server.url(f"/api/v1/learners/{lid}"), server.token)[0] == 200

    # The SEND lead reads the reference on the learner's page.
    context, lead = shared._new_page(browser, shared.TABLET)
    try:
        sign_in(lead, server, LEAD)
        lead.goto(server.url(f"/learners/{lid}"))
        reference = lead.locator(".record-reference").inner_text()
        assert reference == f"Record reference: {lid}"
        shot(lead, "tablet-learner-record-reference")
    finally:
        context.close()

    context, page = shared._new_page(browser, shared.TABLET)
    try:
        sign_in(page, server, ADMIN)
        axe(page, "Today, for an administrator")
        page.get_by_role("link", name="Erase a learner's personal data").click()
        expect(page).to_have_url(server.url("/admin/erasure"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Erase a learner's personal data")
        axe(page, "erasure: the record reference")
        shot(page, "tablet-erasure-find")

        page.get_by_label("Record reference").fill(reference.split(": ", 1)[1])
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check it is the right person")
        expect(page.locator(".erasure-name")).to_have_text(AMIR)
        expect(page.locator(".erasure-subject")).to_contain_text("Northfield College (lead provider)")
        expect(page.locator(".erasure-subject")).to_contain_text("Riverside")
        assert LEARNERS[0][2] not in page.content()  # the date of birth: the record is not shown
        axe(page, "erasure: check and confirm")
        shot(page, "tablet-erasure-confirm")

        # A name that is not quite theirs: refused beside the field, the reason kept.
        page.get_by_label("Type the learner's full name").fill(AMIR.upper())
        page.get_by_label("Reason for the erasure").fill("Erasure request received 20 November 2026")
        page.get_by_role("button", name="Erase this learner's personal data").click()
        expect(page.locator("#typed_name-error")).to_contain_text("not the learner's full name")
        expect(page.locator(".error-summary a[href='#typed_name']")).to_be_visible()
        expect(page.get_by_label("Reason for the erasure")).to_have_value("Erasure request received 20 November 2026")
        axe(page, "erasure: a wrong name")
        shot(page, "tablet-erasure-wrong-name")
        assert http_get(server.url(f"/api/v1/learners/{lid}"), server.token)[0] == 200  # nothing erased

        page.get_by_label("Type the learner's full name").fill(AMIR)
        page.get_by_role("button", name="Erase this learner's personal data").click()
        expect(page).to_have_url(re.compile(r"/admin/erasure/done\?reference="))
        expect(page.get_by_role("heading", level=1)).to_have_text("Personal data erased")
        expect(page.locator("main")).to_contain_text("Backups taken before the erasure")
        assert AMIR not in page.content()
        axe(page, "erasure: done")
        shot(page, "tablet-erasure-done")
    finally:
        context.close()

    status, _, body = http_get(server.url(f"/api/v1/learners/{lid}"), server.token)
    assert status == 410, body[:300]

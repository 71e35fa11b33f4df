"""Administration in a real browser (Chromium at tablet size, a real `rarpa
serve` on the demo store; fixtures, the axe check and the CSP watch from
tests/test_browser.py). The administrator invites a tutor; the tutor opens
the one-time link in a browser of their own, chooses a password and is
signed in; the administrator gives them a caseload, which they see at once;
then deactivates them, and the tutor's next page is the sign-in page. Every
admin page is checked with axe and photographed for people to look at."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from rarpa.cli.demo_content import LEARNERS
from tests import test_browser as shared
from tests.test_browser import axe, learner_id, shot, sign_in

# The shared fixtures, found by pytest under these names in this module.
browser, context_page, page, server, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.server, shared.no_csp_violations)

ADMIN = "admin@example.org"
NADIA = ("Nadia Brook", "nadia.brook@example.org")
HER_PASSWORD = "window meadow copper"
BETH, CALLUM, DANI = LEARNERS[1], LEARNERS[2], LEARNERS[3]


def short(learner) -> str:
    return f"{learner[1]} {learner[0].split()[-1][0]}."


def look(page, label: str, name: str) -> None:
    axe(page, label)
    shot(page, f"tablet-admin-{name}")


def test_invite_set_password_caseload_and_deactivate(browser, server):
    admin_context, admin = shared._new_page(browser, shared.TABLET)
    her_context, her = shared._new_page(browser, shared.TABLET)
    try:
        sign_in(admin, server, ADMIN)
        admin.get_by_role("link", name="Administration: users, caseloads, providers").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text("Administration")
        look(admin, "the admin home", "home")

        admin.get_by_role("link", name="Providers").click()
        expect(admin.get_by_role("cell", name="Northfield College")).to_be_visible()
        look(admin, "providers", "providers")
        admin.get_by_role("link", name="Add a provider").click()
        look(admin, "add a provider", "provider-new")

        admin.goto(server.url("/admin/users"))
        expect(admin.get_by_role("link", name="Sam Taylor")).to_be_visible()
        look(admin, "users", "users")

        # Invite: refused beside each field first, then done.
        admin.get_by_role("link", name="Invite a user").click()
        look(admin, "invite a user", "invite")
        admin.get_by_label("Full name").fill(NADIA[0])
        admin.get_by_role("button", name="Invite and make the link").click()
        expect(admin.locator("#email-error")).to_contain_text("Enter an email address")
        expect(admin.locator("#role-error")).to_contain_text("Choose a role")
        expect(admin.locator("#reason-error")).to_contain_text("Enter why they need an account")
        expect(admin.locator(".error-summary a[href='#reason']")).to_be_visible()
        expect(admin.get_by_label("Full name")).to_have_value(NADIA[0])
        look(admin, "invite a user, refused", "invite-refused")
        admin.get_by_label("Email address").fill(NADIA[1])
        admin.locator("label[for='role-tutor']").click()
        admin.get_by_label("Provider").select_option("northfield")
        admin.get_by_label("Why they need an account").fill("New tutor for the independent living group")
        admin.get_by_role("button", name="Invite and make the link").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(f"Give {NADIA[0]} this link to join")
        link = admin.get_by_label(f"Link for {NADIA[0]}").input_value()
        assert re.fullmatch(re.escape(server.url("/invite/")) + r"[A-Za-z0-9_-]{40,}", link), link
        expect(admin.get_by_role("button", name="Copy the link")).to_be_visible()  # shown by admin.js
        look(admin, "the one-time link", "link")

        # In her own browser: the link, a mismatch refused, then her password; signed in.
        her.goto(link)
        expect(her.get_by_role("heading", level=1)).to_have_text("Choose your password")
        expect(her.locator("main")).to_contain_text(NADIA[1])
        look(her, "choose your password", "set-password")
        her.get_by_label("New password", exact=True).fill(HER_PASSWORD)
        her.get_by_label("Type the new password again").fill("window meadow")
        her.get_by_role("button", name="Set my password and sign in").click()
        expect(her.locator("#confirm-error")).to_contain_text("The two passwords are not the same")
        expect(her.get_by_label("New password", exact=True)).to_have_value("")
        look(her, "choose your password, refused", "set-password-refused")
        her.get_by_label("New password", exact=True).fill(HER_PASSWORD)
        her.get_by_label("Type the new password again").fill(HER_PASSWORD)
        her.get_by_role("button", name="Set my password and sign in").click()
        expect(her).to_have_url(server.url("/"))
        expect(her.locator(".flash")).to_contain_text("Your password is set and you are signed in")
        expect(her.locator("main")).to_contain_text("No learners on your caseload yet")

        # Her caseload: two learners ticked, with a reason.
        admin.get_by_role("link", name=f"Done: back to {NADIA[0]}").click()
        expect(admin.locator("#user")).to_contain_text("Active")
        look(admin, "a user's page", "user")
        admin.get_by_role("link", name="Change the caseload").click()
        expect(admin.get_by_role("heading", level=1)).to_have_text(f"{NADIA[0]}'s caseload")
        look(admin, "a caseload", "caseload")
        admin.get_by_label(BETH[0]).check()
        admin.get_by_label(CALLUM[0]).check()
        admin.get_by_label("Reason for the change").fill("Independent living group, spring term")
        admin.get_by_role("button", name="Save the caseload").click()
        expect(admin.locator(".flash")).to_contain_text("2 added, 0 removed")

        her.reload()
        cards = her.get_by_role("list", name="Your learners")
        expect(cards).to_contain_text(short(BETH))
        expect(cards).to_contain_text(short(CALLUM))
        expect(cards).not_to_contain_text(short(DANI))
        her.goto(server.url(f"/learners/{learner_id(1)}"))
        expect(her.get_by_role("heading", level=1)).to_contain_text(BETH[1])

        admin.goto(server.url("/admin/caseloads"))
        look(admin, "caseloads", "caseloads")
        admin.goto(server.url("/admin/users"))
        admin.get_by_role("link", name=NADIA[0]).click()
        admin.get_by_role("link", name="Change the role or provider").click()
        look(admin, "change the role", "role")
        admin.get_by_role("link", name=NADIA[0]).click()
        admin.get_by_role("link", name="Reset the password").click()
        look(admin, "reset the password", "reset")

        # Deactivate: the reason is needed; then her very next page is the sign-in page.
        admin.get_by_role("link", name=NADIA[0]).click()
        admin.get_by_role("link", name="Deactivate the account").click()
        admin.get_by_role("button", name="Deactivate this account").click()
        expect(admin.locator("#reason-error")).to_contain_text("Enter why the account is deactivated")
        look(admin, "deactivate, refused", "deactivate")
        admin.get_by_label("Why the account is deactivated").fill("Left the college on 31 March")
        admin.get_by_role("button", name="Deactivate this account").click()
        expect(admin.locator(".flash")).to_contain_text(f"{NADIA[0]} is deactivated")
        expect(admin.locator("#user")).to_contain_text("Deactivated")

        her.goto(server.url(f"/learners/{learner_id(2)}"))
        expect(her).to_have_url(re.compile(r"/login"))
        expect(her.get_by_role("heading", level=1)).to_have_text("Sign in")
        assert CALLUM[0] not in her.content()

        admin.goto(server.url("/admin/audit"))
        rows = admin.locator("table.admin-audit tbody tr")
        expect(rows.nth(0)).to_contain_text("Deactivated")
        expect(rows.nth(0)).to_contain_text("Left the college on 31 March")
        added = sorted(rows.nth(i).inner_text() for i in (1, 2))
        assert [f"Added to caseload: {short(BETH)}" in added[0], f"Added to caseload: {short(CALLUM)}" in added[1]] \
            == [True, True], added
        assert all("Independent living group, spring term" in row for row in added), added
        expect(admin.locator("table.admin-audit")).to_contain_text("Invitation accepted: password set")
        expect(admin.locator("table.admin-audit")).to_contain_text("New tutor for the independent living group")
        look(admin, "the admin audit list", "audit")

        # The link is spent: said plainly, in her browser.
        her.goto(link)
        expect(her.get_by_role("heading", level=1)).to_have_text("This link has already been used")
        look(her, "a used link", "link-used")
    finally:
        her_context.close()
        admin_context.close()

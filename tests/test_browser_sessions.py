"""Sessions and passwords in a real browser (Chromium at tablet size, a real
`rarpa serve` on a demo store of its own; the browser, the axe check and the
CSP watch from tests/test_browser.py):

- a tablet left unused: the next tap finds the session ended; an observation
  recorded then stays in the outbox (401), the sign-in page says why, the
  offline copy of learners' pages is dropped, and after signing in the tutor is
  back on the learner's page and the observation is sent, once;
- "Confirm it's you" before the transfer pack: a wrong password refused beside
  the field, the right one back to the learner's page with "press the button
  again", and the ZIP then downloads.

Time passes the way the server sees it: the test rewrites the session cookie
as it would be hours later, signed with the installation's own key (read from
the vault file), so nothing waits.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from playwright.sync_api import expect

from tests import test_browser as shared
from tests.localhost import serving
from rarpa.config import Settings
from tests.rawstore import raw_vault
from tests.test_browser import (PASSWORD, ROOT, TUTOR, Server, axe, learner_id, observation_counts, outbox_items,
                                record, shot, sign_in, target_id_of, wait_for_controller, wait_until)

# The shared fixtures, found by pytest under these names in this module (the server is this module's own).
browser, context_page, page, no_csp_violations = (
    shared.browser, shared.context_page, shared.page, shared.no_csp_violations)

LEAD = "lead@example.org"
HOURS = 3600


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sessions-store")
    env = shared._env(folder / "rarpa.sqlite3")
    shared._cli(["demo", "--learners", "3"], env, folder)
    token = shared._cli(["token", "create", TUTOR], env, folder).strip()
    with serving(env, ROOT, folder / "serve.log") as served:
        yield Server(served.base, token), Settings.from_env(env)


@pytest.fixture(scope="module")
def server(store):
    return store[0]


def signing_key(settings: Settings) -> bytes:
    """The key the server signs session cookies with, read from its vault (either store)."""
    with raw_vault(settings) as conn:
        return bytes(conn.execute("SELECT value FROM secrets WHERE name = 'session-signing-key'").fetchone()[0])


def as_if_earlier(context, server: Server, vault: Settings, **seconds_ago: int) -> None:
    """Rewrite the browser's session cookie so that its moments (web/sessions.py:
    seen, password_at, signed_in_at) lie that many seconds further in the past."""
    app = Flask("cookie")
    app.secret_key = signing_key(vault)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = next(c for c in context.cookies(server.base) if c["name"] == "rarpa_session")
    data = serializer.loads(cookie["value"])
    for key, ago in seconds_ago.items():
        data[key] -= ago
    context.add_cookies([{**cookie, "value": serializer.dumps(data)}])


def test_a_tablet_left_unused_signs_out_keeps_the_outbox_and_comes_back(context_page, store):
    server, vault = store
    context, page = context_page
    sign_in(page, server)
    lid = learner_id(1)
    page.goto(server.url(f"/learners/{lid}"))
    wait_for_controller(page)
    page.reload()  # through the service worker: the page is kept for offline use
    wait_until(lambda: page.evaluate(
        "async () => !!(await (await caches.open('rarpa-pages')).match(location.pathname))"),
        "the learner page in the service worker's cache")
    before = observation_counts(server, lid)

    # Three hours on the side of the classroom (the limit is two), then a tap.
    as_if_earlier(context, server, vault, seen=3 * HOURS, signed_in_at=3 * HOURS, password_at=3 * HOURS)
    card = page.locator("article.target:has(details.record)").first
    tid = target_id_of(card)
    with page.expect_response(lambda r: r.request.method == "POST" and "/observations" in r.url) as answer:
        record(card, "Secure")
    assert answer.value.status == 401
    expect(page.locator("#outbox-status")).to_contain_text("Sign in again to send what is waiting")
    assert [i["state"] for i in outbox_items(page)] == ["waiting"]
    assert observation_counts(server, lid) == before

    # The next page: the sign-in page says why, and drops the offline copy of learners' pages.
    page.goto(server.url(f"/learners/{lid}"))
    expect(page).to_have_url(re.compile(r"/login\?next=.*&ended=idle"))
    expect(page.locator(".session-ended")).to_have_text(
        "You were signed out after 2 hours without use. Sign in again to carry on.")
    wait_until(lambda: not page.evaluate("async () => await caches.has('rarpa-pages')"),
               "the offline copy of learners' pages to be dropped")
    axe(page, "the sign-in page after a session ended")
    shot(page, "tablet-signed-out-after-idle")

    # Signing in again: back on the learner's page, and the outbox sends what it kept, once.
    page.get_by_label("Email").fill(TUTOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url(f"/learners/{lid}"))
    wait_until(lambda: outbox_items(page) == [], "the outbox to send what it kept")
    after = observation_counts(server, lid)
    assert after[tid] == before[tid] + 1
    assert sum(after.values()) == sum(before.values()) + 1


def test_confirm_it_is_you_before_the_transfer_pack(context_page, store):
    server, vault = store
    context, page = context_page
    sign_in(page, server, LEAD)
    lid = learner_id(0)
    page.goto(server.url(f"/learners/{lid}"))
    # Every request the page makes refreshes the session cookie: let them finish
    # first, or a late answer puts back the cookie rewritten below.
    page.wait_for_load_state("networkidle")
    as_if_earlier(context, server, vault, password_at=10 * 60)  # the password typed ten minutes ago

    page.get_by_role("button", name="Transfer pack (ZIP)").click()
    expect(page).to_have_url(re.compile(r"/confirm\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
    expect(page.locator(".confirm-who")).to_have_text(LEAD)
    axe(page, "Confirm it's you")
    shot(page, "tablet-confirm-it-is-you")

    page.get_by_label("Password").fill("not my password")
    with page.expect_response(lambda r: r.request.method == "POST" and "/confirm" in r.url) as answer:
        page.get_by_role("button", name="Confirm").click()
    assert answer.value.status == 401
    expect(page.locator("#password-error")).to_contain_text("That is not your password")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary a[href='#password']")).to_be_visible()
    axe(page, "Confirm it's you, with a wrong password")
    shot(page, "tablet-confirm-it-is-you-wrong")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(server.url(f"/learners/{lid}#bundles-h"))
    note = page.locator(".bundles .confirmed-note")
    expect(note).to_have_text("Confirmed. Now press the button again.")
    expect(note).to_be_in_viewport()  # beside the buttons, where the page has scrolled to
    axe(page, "the learner page after confirming")
    page.screenshot(path=str(shared.SHOTS / "tablet-confirmed-press-again.png"))  # the screen as seen, not the page

    with page.expect_download() as got:
        page.get_by_role("button", name="Transfer pack (ZIP)").click()
    assert re.fullmatch(r"transfer-pack-.+-\d{4}-\d{2}-\d{2}\.zip", got.value.suggested_filename)

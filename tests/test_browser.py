"""The tablet web app in a real browser (Chromium driven by Playwright).

One demo store (6 learners) and one real `rarpa serve` process for the module;
a fresh browser context (cookies, IndexedDB, service worker) for every test.
What the browser does is checked against the API with a bearer token, so a
test never trusts the page alone.

Only ever talks to 127.0.0.1. Every wait is bounded (a few seconds); no timing
is asserted. Screenshots for people to look at go to /tmp/rarpa-shots/.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import playwright.sync_api as playwright_api  # a missing install must fail loudly, never skip
import pytest
from playwright.sync_api import expect, sync_playwright

from rarpa.cli.demo import demo_learner_id
from rarpa.cli.demo_content import LEARNERS
from tests.localhost import http_get, serving, db_env

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path("/tmp/rarpa-shots")

PASSWORD = "tablet-pass-2468"  # 16 characters
TUTOR = "tutor@example.org"
LEARNER_COUNT = 6  # all of them Northfield, all on the tutor's caseload

TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}
ZOOM_200 = {"width": 410, "height": 590}  # the tablet at 200% zoom, in CSS pixels

WAIT_MS = 10_000  # Playwright's bound on any one wait (a bound, not a timing check: CPUs are shared)
SUBPROCESS_LIMIT = 120  # seconds: a safety net against a hung command
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SENSITIVE_WORDS = ["ehcp", "diagnos", "date of birth", "photograph"]

expect.set_options(timeout=WAIT_MS)


# --- the server ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    base: str
    token: str

    def url(self, path: str) -> str:
        return self.base + path


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(db_env(db))
    env.update(RARPA_DEMO_PASSWORD=PASSWORD, RARPA_PASSWORD_PROFILE="cheapest",
               # Every test signs in from 127.0.0.1: more than a staff room's tablets would.
               RARPA_LOGIN_LIMIT_PER_ADDRESS="600 per minute")
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env, cwd=cwd, input="",
                            capture_output=True, text=True, timeout=SUBPROCESS_LIMIT)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-store")
    env = _env(folder / "rarpa.sqlite3")
    _cli(["demo", "--learners", str(LEARNER_COUNT)], env, folder)
    token = _cli(["token", "create", TUTOR], env, folder).strip()
    with serving(env, ROOT, folder / "serve.log") as served:
        yield Server(served.base, token)


def api_get(server: Server, path: str):
    """The API's answer to GET /api/v1<path>, as the tutor's token sees it."""
    status, headers, body = http_get(server.url("/api/v1" + path), server.token)
    assert status == 200, (path, status, body[:500])
    if "ndjson" in headers.get("Content-Type", ""):
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    return json.loads(body)


def observation_counts(server: Server, learner_id: str) -> dict[str, int]:
    """Observations that count, per target id (withdrawn ones do not)."""
    return {t["id"]: t["observations"] for t in api_get(server, f"/learners/{learner_id}/progress")["targets"]}


def learner_events(server: Server, learner_id: str) -> list[dict]:
    return api_get(server, f"/learners/{learner_id}/events")[1:]  # the first line describes the file


# --- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


# Every page of every test is watched for Content-Security-Policy violations: the
# page's own securitypolicyviolation event (reported on the console with a marker)
# and Chromium's console message about a refusal. The autouse fixture below fails
# the test on any.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
                + ` at ${e.sourceFile || location.href}:${e.lineNumber} (${(e.sample || "").slice(0, 80)})`);
}, true);
"""
csp_violations: list[str] = []


def _watch_console(message) -> None:
    text = message.text
    if text.startswith("CSP violation:") or "Content Security Policy" in text:
        csp_violations.append(f"{message.page.url if message.page else '?'}: {text}")


@pytest.fixture(autouse=True)
def no_csp_violations():
    """Fails any test during which a page reported a CSP violation."""
    csp_violations.clear()
    yield
    assert csp_violations == [], "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


def _new_page(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    context.on("console", _watch_console)
    return context, context.new_page()


@pytest.fixture
def context_page(browser):
    """A fresh context at tablet size: (context, page)."""
    context, page = _new_page(browser, TABLET)
    yield context, page
    context.close()


@pytest.fixture
def page(context_page):
    return context_page[1]


def sign_in(page, server: Server, email: str = TUTOR, password: str = PASSWORD) -> None:
    page.goto(server.url("/login"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url("/"))


def learner_id(i: int) -> str:
    return str(demo_learner_id(i))


def open_learner(page, server: Server, i: int) -> str:
    """Go straight to learner i's page; returns the learner's id."""
    lid = learner_id(i)
    page.goto(server.url(f"/learners/{lid}"))
    expect(page.locator("article.target").first).to_be_visible()
    return lid


def target_id_of(card) -> str:
    return card.get_attribute("id").removeprefix("t-")


def record(card, rating_label: str) -> None:
    """Open a target card's record form and tap a rating."""
    card.locator("details.record > summary").click()
    card.get_by_role("button", name=rating_label, exact=True).click()


def outbox_items(page) -> list[dict]:
    return page.evaluate("async () => await window.rarpaOutbox.all()")


PUT_IN_OUTBOX = """async (item) => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("rarpa", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("outbox", { keyPath: "id" });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put(item);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""


def put_in_outbox(page, item: dict) -> None:
    page.evaluate(PUT_IN_OUTBOX, item)


def wait_until(check, what: str, tries: int = 50, pause: float = 0.1):
    """Poll check() until it returns something truthy (bounded)."""
    for _ in range(tries):
        value = check()
        if value:
            return value
        time.sleep(pause)
    pytest.fail(f"gave up waiting for {what}")


def wait_for_controller(page) -> None:
    """Wait until a service worker controls the page; one reload if the first
    registration has not claimed it."""
    for attempt in range(2):
        try:
            page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
            return
        except playwright_api.TimeoutError:
            if attempt == 0:
                page.reload()
    pytest.fail("no service worker controls the page")


def axe(page, label: str) -> None:
    """axe-core (WCAG 2.0-2.2 A/AA rules) finds nothing on the page as it is now."""
    # From the server (/static/vendor/axe.min.js, AXE on disk), not inline: the CSP allows 'self' only.
    page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    assert result["passes"], "axe checked nothing"
    lines = []
    for v in result["violations"]:
        lines.append(f"[{v['id']}] {v['help']} ({v['impact']}) {v['helpUrl']}")
        for node in v["nodes"]:
            why = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {why[:240]}")
    assert result["violations"] == [], f"axe on {label}:\n" + "\n".join(lines)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=3 * WAIT_MS)


# --- 1. signing in -------------------------------------------------------------------------
def test_sign_in_errors_then_today_shows_caseload_without_sensitive_details(page, server):
    page.goto(server.url("/login"))
    axe(page, "the sign-in page")

    page.get_by_label("Email").fill(TUTOR)
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST" and "/login" in r.url) as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    # Still the sign-in page, the email kept, the message beside the email field.
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_label("Email")).to_have_value(TUTOR)
    expect(page.get_by_label("Password")).to_have_value("")
    email_field = page.locator(".field", has=page.locator("#email"))
    expect(email_field.locator(".field-error")).to_contain_text("do not match")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "email-error")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary a[href='#email']")).to_be_visible()
    axe(page, "the sign-in page with its error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Today")
    expect(page.locator(".learner-card")).to_have_count(LEARNER_COUNT)
    axe(page, "Today")

    text = page.locator("body").inner_text()
    for word in SENSITIVE_WORDS:
        assert word not in text.lower(), f"Today shows {word!r}"
    for full_name, preferred, *_ in LEARNERS[:LEARNER_COUNT]:
        surname = full_name.split()[-1]
        assert surname not in text, f"Today shows the surname {surname!r}"
        assert f"{preferred} {surname[0]}." in text
    assert "Amir H." in text and "Hussain" not in text
    # Nor hidden in the markup (attributes, scripts): no surname, no date of birth.
    html = page.content()
    for full_name, _, born, _ in LEARNERS[:LEARNER_COUNT]:
        assert full_name.split()[-1].split("'")[-1] not in html
        assert born not in html


# --- 2. three taps -----------------------------------------------------------------------------
COUNT_TAPS = """
addEventListener("click", (e) => {
  if (e.isTrusted) sessionStorage.setItem("taps", String(Number(sessionStorage.getItem("taps") || 0) + 1));
}, true);
"""


def test_three_taps_from_today_record_an_observation(page, server):
    page.add_init_script(COUNT_TAPS)  # counts real clicks, across page loads in this tab
    sign_in(page, server)
    page.evaluate("sessionStorage.setItem('taps', '0')")
    taps = 0

    # Tap 1: a learner.
    learner_card = page.locator(".learner-card").first
    lid = learner_card.get_attribute("href").rsplit("/", 1)[-1]
    before = observation_counts(server, lid)
    learner_card.click()
    taps += 1
    expect(page).to_have_url(server.url(f"/learners/{lid}"))
    axe(page, "the learner page")

    # Tap 2: "Record" on the first target.
    card = page.locator("article.target").first
    tid = target_id_of(card)
    card.locator("details.record > summary").click()
    taps += 1
    expect(card.locator("form.record-form")).to_be_visible()
    axe(page, "the learner page with a record form open")

    # Tap 3: the rating.
    card.get_by_role("button", name="Secure", exact=True).click()
    taps += 1

    card = page.locator(f"#t-{tid}")
    expect(card.locator(".flash")).to_contain_text("Recorded")
    expect(card.locator(".flash")).to_contain_text("secure")
    assert taps == 3
    assert page.evaluate("sessionStorage.getItem('taps')") == "3"

    after = observation_counts(server, lid)
    assert after[tid] == before[tid] + 1
    assert {k: v for k, v in after.items() if k != tid} == {k: v for k, v in before.items() if k != tid}
    wait_until(lambda: outbox_items(page) == [], "the outbox to empty")
    expect(page.locator("#outbox-status")).to_be_hidden()
    axe(page, "the learner page after recording")


# --- 3. undo -------------------------------------------------------------------------------------
def test_undo_withdraws_and_keeps_the_history(page, server):
    sign_in(page, server)
    lid = open_learner(page, server, 1)
    card = page.locator("article.target").first
    tid = target_id_of(card)
    before = observation_counts(server, lid)[tid]

    record(card, "Developing")
    card = page.locator(f"#t-{tid}")
    undo = card.locator(".flash").get_by_role("button", name="Undo")
    expect(undo).to_be_visible()
    oid = re.search(r"/observations/([0-9a-f-]{36})/undo", undo.get_attribute("hx-post")).group(1)
    assert observation_counts(server, lid)[tid] == before + 1

    undo.click()
    expect(page.locator(f"#t-{tid} .flash")).to_contain_text("Undone")
    assert observation_counts(server, lid)[tid] == before

    mine = [e for e in learner_events(server, lid) if e.get("observation_id") == oid]
    assert [e["type"] for e in mine] == ["ObservationRecorded", "ObservationWithdrawn"]
    assert mine[0]["rating"] == "developing"


# --- 4. correcting an observation ----------------------------------------------------------------
RATING_WORDS = {"not_yet": "not yet", "emerging": "emerging", "developing": "developing",
                "secure": "secure", "generalised": "generalised"}


def test_correction_needs_a_reason_then_shows_in_the_history(page, server):
    sign_in(page, server)
    open_learner(page, server, 2)
    card = page.locator("article.target", has=page.locator("details.recent")).first
    card.locator("details.recent > summary").click()
    untouched = card.locator("ul.evidence li:not(.withdrawn):not(:has(em))").first  # not withdrawn or corrected
    untouched.get_by_role("link", name=re.compile(r"^Details")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Observation")
    observation_url = page.url

    current = page.locator("input[name=rating]:checked").get_attribute("value")
    new = next(r for r in RATING_WORDS if r != current)
    page.locator(f"label[for=c-rating-{new}]").click()
    page.get_by_label("Note").fill("Typed before the reason was given")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Save the correction").click()
    assert answer.value.status == 422

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    link = summary.locator("a[href='#f-reason']")
    expect(link).to_contain_text("Reason")
    assert page.locator("#f-reason").count() == 1
    expect(page.locator("#f-reason")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Note")).to_have_value("Typed before the reason was given")
    expect(page.locator(f"#c-rating-{new}")).to_be_checked()
    axe(page, "the observation page with an error")
    link.click()
    expect(page.locator("#f-reason")).to_be_focused()

    page.locator("#f-reason").fill("Wrong rating tapped")
    page.get_by_role("button", name="Save the correction").click()
    expect(page).to_have_url(re.compile(r"done=correct"))
    assert page.url.split("?")[0] == observation_url.split("?")[0]
    expect(page.locator(".flash")).to_contain_text("Corrected")
    rating = page.locator("dl.facts dt:text-is('Rating') + dd")
    expect(rating).to_contain_text(RATING_WORDS[new])
    expect(rating).to_contain_text("(corrected)")

    page.get_by_text("History of this observation").click()
    entries = page.locator("#history ol.history > li")
    expect(entries).to_have_count(2)
    expect(entries.nth(0).locator("strong")).to_have_text("Recorded")
    expect(entries.nth(1).locator("strong")).to_have_text("Corrected")
    expect(entries.nth(1)).to_contain_text("Wrong rating tapped")
    expect(entries.nth(1)).to_contain_text(f"Rating {RATING_WORDS[new]}")
    axe(page, "the observation page after a correction, with its history")


# --- 5. offline ----------------------------------------------------------------------------------
def test_offline_recordings_survive_a_reload_and_are_sent_once(context_page, server):
    context, page = context_page
    sign_in(page, server)
    lid = open_learner(page, server, 3)
    wait_for_controller(page)
    page.reload()  # now through the service worker, so the page is kept in its cache
    wait_until(lambda: page.evaluate(
        "async () => !!(await (await caches.open('rarpa-pages')).match(location.pathname))"),
        "the learner page to be in the service worker's cache")
    cards = page.locator("article.target:has(details.record)")
    targets = [target_id_of(cards.nth(i)) for i in range(3)]
    before = observation_counts(server, lid)

    context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    for tid, rating in zip(targets, ["Emerging", "Developing", "Secure"]):
        record(page.locator(f"#t-{tid}"), rating)
    expect(page.locator("#outbox-status")).to_have_text("3 waiting to send")
    for tid in targets:
        expect(page.locator(f"#t-{tid} .pending")).to_contain_text("Saved on this tablet")
    waiting = outbox_items(page)
    assert len(waiting) == 3 and {i["state"] for i in waiting} == {"waiting"}
    assert sorted(i["targetId"] for i in waiting) == sorted(targets)
    ids = [i["id"] for i in waiting]
    assert observation_counts(server, lid) == before  # nothing reached the server

    reloaded = page.reload()  # still offline: the service worker's copy, the same outbox
    assert reloaded is not None and reloaded.ok and reloaded.from_service_worker
    expect(page.locator("h1")).to_have_text(re.compile(r"\w+ \w\."))
    expect(page.locator("#outbox-status")).to_have_text("3 waiting to send")
    expect(page.locator("#offline-banner")).to_be_visible()
    for tid in targets:
        expect(page.locator(f"#t-{tid} .pending")).to_contain_text("Saved on this tablet")

    page.evaluate("window.__online = 0; addEventListener('online', () => window.__online++)")
    context.set_offline(False)
    page.wait_for_function("() => navigator.onLine")
    if page.evaluate("window.__online") == 0:  # Playwright did not fire it: do what the browser would
        page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(lambda: outbox_items(page) == [], "the outbox to empty", tries=60)
    expect(page.locator("#outbox-status")).to_be_hidden()
    expect(page.locator("#outbox-status")).to_have_text("")
    expect(page.locator("#offline-banner")).to_be_hidden()

    after = observation_counts(server, lid)
    assert {t: after[t] - before[t] for t in targets} == {t: 1 for t in targets}
    sent = [e for e in learner_events(server, lid) if e.get("observation_id") in ids]
    assert sorted(e["observation_id"] for e in sent) == sorted(ids)  # each exactly once
    assert {e["type"] for e in sent} == {"ObservationRecorded"}

    # Sending again (after a reload, and even the very same items again) adds nothing.
    page.reload()
    page.evaluate("async () => await window.rarpaOutbox.flush()")
    for item in waiting:
        put_in_outbox(page, item)
    page.evaluate("async () => await window.rarpaOutbox.flush()")
    assert outbox_items(page) == []
    expect(page.locator(f"#t-{targets[0]} .flash")).to_contain_text("Already recorded")
    assert observation_counts(server, lid) == after
    assert sorted(e["observation_id"] for e in learner_events(server, lid) if e.get("observation_id") in ids) \
        == sorted(ids)


# --- 6. a conflict is kept and shown --------------------------------------------------------------
def test_a_conflict_stays_in_the_outbox_and_is_shown(page, server):
    sign_in(page, server)
    lid = open_learner(page, server, 4)
    on_page = {target_id_of(c) for c in page.locator("article.target").all()}
    stored = [e for e in learner_events(server, lid)
              if e["type"] == "ObservationRecorded" and e["target_id"] in on_page][-1]
    other = next(r for r in RATING_WORDS if r != stored["rating"])
    fields = {"id": stored["observation_id"], "target_id": stored["target_id"], "rating": other,
              "context": stored["context"] or "classroom", "prompt_level": "", "note": "",
              "observed_at": stored["observed_at"]}
    put_in_outbox(page, {"id": fields["id"], "url": f"/learners/{lid}/observations", "fields": fields,
                         "targetId": fields["target_id"], "createdAt": int(time.time() * 1000),
                         "state": "waiting", "message": ""})
    before = learner_events(server, lid)

    page.evaluate("async () => await window.rarpaOutbox.flush()")
    items = outbox_items(page)
    assert len(items) == 1, items  # kept, not dropped
    item = items[0]
    assert item["state"] == "problem"
    assert item["status"] == 409
    assert item["message"]

    panel = page.locator("#outbox-problems")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading")).to_contain_text("Not saved")
    expect(panel.locator("li")).to_contain_text(item["message"])
    expect(page.locator("#outbox-status")).to_have_text("1 needs attention")
    expect(page.locator(f"#t-{fields['target_id']} .pending")).to_contain_text("Not saved")
    assert learner_events(server, lid) == before  # nothing written
    axe(page, "the learner page with a problem shown")


# --- 7. manifest and service worker ---------------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_manifest_icons_and_service_worker(page, server):
    status, headers, body = http_get(server.url("/manifest.webmanifest"))
    assert status == 200
    manifest = json.loads(body)
    assert manifest["name"] == "RARPA Record"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        status, headers, data = http_get(server.url(icon["src"]))
        assert status == 200, icon
        assert headers.get_content_type() == "image/png", icon
        assert "x".join(map(str, _png_size(data))) == icon["sizes"], icon

    status, headers, body = http_get(server.url("/sw.js"))
    assert status == 200
    assert headers.get_content_type() in ("text/javascript", "application/javascript")
    assert b"addEventListener(\"fetch\"" in body

    sign_in(page, server)
    wait_for_controller(page)
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == server.url("/sw.js")
    # The shell was cached at install: the offline page comes from it.
    assert page.evaluate("async () => !!(await caches.match('/offline'))")


# --- 8. small screens and zoom -------------------------------------------------------------------
TOO_SMALL = """() => {
  const small = [];
  let checked = 0;
  for (const el of document.querySelectorAll("main button, main a, main summary, main label.chip-choice")) {
    if (!el.checkVisibility({visibilityProperty: true})) continue;  // not shown (e.g. inside a closed details)
    const box = el.getBoundingClientRect();
    const prose = el.closest("p:not(.crumbs)");  // a link inside a sentence: exempt (WCAG 2.5.8 "inline")
    if (el.tagName === "A" && prose && prose.textContent.trim() !== el.textContent.trim()) continue;
    checked++;
    if (box.width < 44 || box.height < 44) {
      const name = `${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}"`;
      small.push(`${name} ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  return {checked, small};
}"""


def assert_fits(page, label: str) -> None:
    """No sideways scrolling, and every control in main at least 44x44 CSS px."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner + 1, f"{label} scrolls sideways: {width} > {inner}"
    targets = page.evaluate(TOO_SMALL)
    assert targets["checked"] > 0, f"no controls found on {label}"
    assert targets["small"] == [], f"small touch targets on {label}"


@pytest.mark.parametrize("viewport, scale", [(PHONE, 1), (ZOOM_200, 2)], ids=["phone-390x844", "zoom200-410x590"])
def test_small_screens_do_not_scroll_sideways_and_keep_big_targets(browser, server, viewport, scale):
    context, page = _new_page(browser, viewport, device_scale_factor=scale)
    try:
        sign_in(page, server)
        assert_fits(page, "Today")

        open_learner(page, server, 0)
        card = page.locator("article.target", has=page.locator("details.recent")).first
        card.locator("details.record > summary").click()
        card.locator("details.recent > summary").click()
        expect(card.locator("ul.evidence a").first).to_be_visible()
        assert_fits(page, "the learner page, record form and evidence open")

        card.locator("ul.evidence a").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Observation")
        assert_fits(page, "the observation page")
    finally:
        context.close()


# --- 9. screenshots for people ---------------------------------------------------------------------
@pytest.mark.parametrize("name, viewport", [("tablet", TABLET), ("phone", PHONE)], ids=["tablet", "phone"])
def test_screenshots(browser, server, name, viewport):
    context, page = _new_page(browser, viewport)
    try:
        sign_in(page, server)
        shot(page, f"{name}-today")
        open_learner(page, server, 5)
        shot(page, f"{name}-learner")
        card = page.locator("article.target", has=page.locator("details.recent")).first
        card.locator("details.record > summary").click()
        card.scroll_into_view_if_needed()
        shot(page, f"{name}-record-form")
        card.locator("details.recent > summary").click()
        card.locator("ul.evidence a").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Observation")
        shot(page, f"{name}-observation")
        for part in ("today", "learner", "record-form", "observation"):
            assert (SHOTS / f"{name}-{part}.png").stat().st_size > 0
    finally:
        context.close()


# --- 10. reviews: self-assessment, progress review, the pack, the cohort -------------
def test_a_learner_self_assesses_with_taps_only(page, server):
    """At tablet size, with no typing: learner card, "How am I doing?", an answer."""
    sign_in(page, server)
    lid = learner_id(2)
    before = [e for e in learner_events(server, lid) if e["type"] == "SelfAssessmentRecorded"]
    page.locator(f'a.learner-card[href="/learners/{lid}"]').click()
    page.get_by_role("link", name="How am I doing? (self-assessment)").click()
    expect(page.get_by_role("heading", name="How am I doing?")).to_be_visible()
    axe(page, "self-assessment")
    item = page.locator("article.self-item").first
    item.get_by_role("button", name="I can do this on my own").click()
    expect(page.locator("article.self-item").first).to_contain_text("You said: I can do this on my own")
    axe(page, "self-assessment after an answer")
    shot(page, "tablet-self-assessment")
    after = [e for e in learner_events(server, lid) if e["type"] == "SelfAssessmentRecorded"]
    assert len(after) == len(before) + 1 and after[-1]["answer"] == "on_my_own"
    assert after[-1]["role"] == "tutor"


def test_review_pack_and_cohort_pages_are_accessible(page, server):
    sign_in(page, server, "lead@example.org")
    lid = learner_id(3)
    page.goto(server.url(f"/learners/{lid}/reviews/new"))
    axe(page, "progress review")
    card = page.locator("fieldset.decision").first
    card.locator("label.chip-choice", has_text="Revise").click()
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator(".error-summary")).to_be_visible()
    axe(page, "progress review with errors")
    page.goto(server.url(f"/learners/{lid}/annual-review"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("annual review")
    axe(page, "annual-review pack")
    shot(page, "tablet-annual-review")
    page.goto(server.url("/cohort"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cohort")
    axe(page, "cohort")
    text = page.locator("main").inner_text()
    assert not any(first.split()[0] in text for first, *_ in LEARNERS[:LEARNER_COUNT])  # counts, no names


# --- 11. the Content-Security-Policy ------------------------------------------------------
PUT_INLINE_CODE_IN = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__inlineRan = true";
  document.head.append(script);
  document.body.setAttribute("style", "outline: 3px solid red");
}"""


def test_the_csp_refuses_inline_code_and_the_watch_reports_it(page, server):
    """The header is on and enforced, and the check every test ends with would see a
    violation: an inline script and a style attribute put into a page are refused."""
    response = page.goto(server.url("/login"))
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe" not in policy, policy
    page.evaluate(PUT_INLINE_CODE_IN)
    assert page.evaluate("window.__inlineRan") is None
    assert page.evaluate("getComputedStyle(document.body).outlineStyle") != "solid"

    def reported():
        page.wait_for_timeout(100)  # lets Playwright deliver the console messages
        return [v for v in csp_violations if v.split(": ", 1)[1].startswith("CSP violation")] \
            if len(csp_violations) >= 2 else None

    seen = wait_until(reported, "the violations to be reported")
    assert any("script-src" in v for v in seen) and any("style-src" in v for v in seen), csp_violations
    csp_violations.clear()  # expected in this test only


# --- Today tells the truth ------------------------------------------------------------------
def test_today_orders_by_attention_and_a_review_clears_its_flag(page, server):
    """The demo's learner 3 missed her last progress review and her annual
    review: Today says both, each in its own words. Holding a progress review
    that keeps every target clears the target flag, and only it; the order is
    by who needs attention (longest since an observation first)."""
    sign_in(page, server)
    card = page.locator(f'a.learner-card[href="/learners/{learner_id(3)}"]')
    expect(card).to_contain_text("Target review overdue since")
    expect(card).to_contain_text("Annual review overdue since")
    axe(page, "Today")
    days = [None if "Not observed yet" in text else
            (0 if "Observed today" in text else int(re.search(r"Not observed for (\d+) days", text).group(1))
             if "Not observed for" in text else 1)
            for text in page.locator("a.learner-card").all_inner_texts()]
    ordered = [d if d is not None else 10**6 for d in days]
    assert ordered == sorted(ordered, reverse=True), days  # never observed, then longest ago, first

    page.goto(server.url(f"/learners/{learner_id(3)}/reviews/new"))
    page.get_by_label("Who took part (one per line)").fill("Dani\nTutor")
    page.get_by_role("button", name="Save the review").click()
    expect(page).to_have_url(re.compile(rf"/learners/{learner_id(3)}"))
    page.goto(server.url("/"))
    card = page.locator(f'a.learner-card[href="/learners/{learner_id(3)}"]')
    expect(card).not_to_contain_text("Target review")
    expect(card).to_contain_text("Annual review overdue since")  # a progress review is not the annual review
    axe(page, "Today after a review")

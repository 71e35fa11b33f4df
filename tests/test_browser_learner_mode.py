"""Learner mode and the learner's own pages in a real browser (Chromium through
Playwright, against a real `rarpa serve` on a demo store of its own).

The tutor hands the tablet to a learner: "My progress", a target's screen, the
self-assessment with a symbol button and dictated words, the answer shown back.
Typing another learner's address, or Today's, lands on the learner's own pages,
online and OFFLINE (the service worker holds the lock too, although it keeps
the other learner's page). The tutor's password unlocks it, after which the
worker serves the tutor's kept pages again. axe-core finds nothing on the
easy-read pages at tablet size, at 200% zoom and on a phone, nothing scrolls
sideways, and no Content-Security-Policy violation happens. Screenshots at
820x1180 and 390x844 go to /tmp/rarpa-shots/learner-mode-*.png.

What the page shows is checked against the API (the tutor's token), never
against the page alone. Demo learner 3 has consent to photographs."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    PASSWORD,
    PHONE,
    SHOTS,
    TABLET,
    ZOOM_200,
    _new_page,
    api_get,
    assert_fits,
    axe,
    browser,
    learner_events,
    learner_id,
    no_csp_violations,
    server,
    shot,
    sign_in,
    wait_for_controller,
    wait_until,
)
from tests.test_photos import noise_jpeg

LEARNER, OTHER = 3, 1  # 3 has consent to photographs; both on the tutor's caseload
# The target in the learner's own words, fitting its symbol (the Preparing for Adulthood area).
WORDS_BY_AREA = {"independent_living": "Get the bus to college on my own", "health": "Take my tablets on time",
                 "employment": "Get to work on time", "community": "Say hello to new people"}
DICTATED = "I showed my pass to the driver"

# A stand-in for the browser's speech recognition: it "hears" DICTATED when started. Headless
# Chromium has no microphone; this checks what the page does with what is heard.
FAKE_RECOGNITION = """
window.webkitSpeechRecognition = window.SpeechRecognition = class {
  start() {
    setTimeout(() => {
      const result = [{ transcript: %r }];
      if (this.onresult) this.onresult({ results: [result] });
      if (this.onend) this.onend();
    }, 50);
  }
  stop() { if (this.onend) this.onend(); }
};
""" % DICTATED


def _api_post(page, server, path: str, **kwargs):
    response = page.request.post(server.url("/api/v1" + path),
                                 headers={"Authorization": f"Bearer {server.token}"}, **kwargs)
    assert response.ok, (path, response.status, response.text()[:300])
    return response.json()


def _prepare(page, server) -> tuple[str, str, str, str]:
    """The learner's first open target written in their own words, and an observation
    of it today (on their own, at work, a new place) with a photo: (learner, target, photo, words)."""
    lid = learner_id(LEARNER)
    progress = api_get(server, f"/learners/{lid}/progress")
    areas: dict[str, set] = {}
    for o in progress["outcomes"]:
        for tid in o["targets"]:
            areas.setdefault(tid, set()).add(o["pfa_area"])
    # An open target of one area only, so the words fit its symbol.
    target = next(t for t in progress["targets"] if t["status"] == "open" and len(areas.get(t["id"], ())) == 1)
    words = WORDS_BY_AREA[next(iter(areas[target["id"]]))]
    _api_post(page, server, f"/learners/{lid}/targets/{target['id']}/learner-words", data={"words": words})
    observation = str(uuid.uuid4())
    _api_post(page, server, f"/learners/{lid}/observations", data={
        "id": observation, "target_id": target["id"], "rating": "secure", "prompt_level": "independent",
        "context": "work_placement", "new_to_learner": ["place"],
        "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=20)).isoformat()})
    photo = _api_post(page, server, f"/learners/{lid}/observations/{observation}/photos",
                      multipart={"photo": {"name": "photo.jpg", "mimeType": "image/jpeg",
                                           "buffer": noise_jpeg(640, 480, seed=11)}})
    return lid, target["id"], photo["id"], words


def _hand_over(page, server, lid: str) -> None:
    page.goto(server.url(f"/learners/{lid}"))
    first = page.locator("h1").inner_text().split()[0]
    page.get_by_role("button", name=f"Hand to {first}").click()
    expect(page).to_have_url(server.url(f"/learners/{lid}/me"))
    expect(page.get_by_role("heading", level=1)).to_have_text("How I am doing")


def _at_my_progress(page, server, lid: str) -> None:
    expect(page).to_have_url(server.url(f"/learners/{lid}/me"))
    expect(page.get_by_role("heading", level=1)).to_have_text("How I am doing")


def test_handed_over_the_learner_sees_and_says_how_they_are_doing_and_nothing_else(browser, server):
    context, page = _new_page(browser, TABLET)
    context.add_init_script(FAKE_RECOGNITION)
    try:
        sign_in(page, server)
        lid, tid, photo, words = _prepare(page, server)
        other = learner_id(OTHER)
        # The tutor opens another learner's page through the service worker: kept for offline use.
        page.goto(server.url(f"/learners/{other}"))
        wait_for_controller(page)
        page.reload()
        other_name = page.locator("h1").inner_text()
        wait_until(lambda: page.evaluate(
            f"async () => !!(await (await caches.open('rarpa-pages')).match('/learners/{other}'))"),
            "the other learner's page to be kept for offline use")

        # Before handing over: the tutor looks at the learner's own pages as the learner will, and at
        # the form for a target in the learner's own words (the staff's pages).
        page.goto(server.url(f"/learners/{lid}/me"))
        expect(page.get_by_role("complementary", name="For staff")).to_contain_text("Staff view")
        axe(page, "My progress, the staff's view")
        page.goto(server.url(f"/learners/{lid}/targets/{tid}/learner-words"))
        expect(page.get_by_role("textbox")).to_have_value(words)
        axe(page, "the form for a target in the learner's own words")
        shot(page, "learner-mode-words-form-tablet")

        _hand_over(page, server, lid)
        main = page.locator("main")
        expect(page.get_by_text("Sign out")).to_have_count(0)
        expect(page.get_by_text("Back to")).to_have_count(0)
        expect(main).to_contain_text(words)
        axe(page, "My progress (handed over)")
        shot(page, "learner-mode-my-progress-tablet")

        # One target, one screen: their words, where they are as a picture, what they did, the photo.
        page.get_by_role("link", name=words).click()
        expect(page).to_have_url(server.url(f"/learners/{lid}/me/targets/{tid}"))
        expect(page.get_by_role("heading", level=1)).to_have_text(words)
        expect(page.get_by_role("img", name="You started here. You are here now.")).to_be_visible()
        latest = page.locator(".er-moment").first
        for sentence in ("Today you did this at work.", "You did it on your own.", "It was a new place."):
            expect(latest.get_by_text(sentence, exact=True)).to_be_visible()
        thumb = latest.get_by_role("img", name="A photo of you, today")
        expect(thumb).to_be_visible()
        assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
        assert photo in thumb.get_attribute("src")
        # "Read it to me": shown where the browser can speak; it reads the page's words and picture.
        read = page.get_by_role("button", name="Read it to me")
        if page.evaluate("'speechSynthesis' in window"):
            page.evaluate("() => { window.__said = []; speechSynthesis.speak = (u) => { window.__said.push(u.text); }; }")
            read.click()
            said = " ".join(page.evaluate("window.__said"))
            assert words in said and "You started here. You are here now." in said
            assert "You did it on your own." in said
        else:
            expect(read).to_be_hidden()
        axe(page, "a target's screen (handed over)")
        shot(page, "learner-mode-target-tablet")

        # Their self-assessment: words said, then a big symbol button; the answer shown back.
        page.get_by_role("link", name="How did it go? Tell us").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("How did it go?")
        axe(page, "the self-assessment (handed over)")
        page.get_by_role("button", name="Speak").click()
        expect(page.get_by_label("Your words (you do not have to)")).to_have_value(DICTATED)
        before = [e for e in learner_events(server, lid) if e["type"] == "SelfAssessmentRecorded"]
        page.get_by_role("button", name="On my own").click()
        expect(page.get_by_role("status").filter(has_text="Thank you")).to_be_visible()
        expect(page.locator(".er-said")).to_contain_text(f"Today you said: on my own. Your words: “{DICTATED}”")
        after = [e for e in learner_events(server, lid) if e["type"] == "SelfAssessmentRecorded"]
        assert len(after) == len(before) + 1
        assert (after[-1]["target_id"], after[-1]["answer"], after[-1]["words"]) == (tid, "on_my_own", DICTATED)
        axe(page, "the self-assessment with the answer shown back")
        shot(page, "learner-mode-self-assessment-tablet")

        # Another learner's address, Today's, a staff page: back to their own pages.
        for path in (f"/learners/{other}", "/", f"/learners/{lid}", f"/learners/{lid}/evidence", "/group"):
            page.goto(server.url(path))
            _at_my_progress(page, server, lid)
            expect(page.locator("body")).not_to_contain_text(other_name)
        # Back through the history does not reach the staff page either.
        page.go_back()
        expect(page.locator("body")).not_to_contain_text("Sign out")

        # Offline the service worker keeps the lock: the other learner's page, although kept, is not shown.
        assert page.evaluate(f"async () => !!(await (await caches.open('rarpa-pages')).match('/learners/{other}'))")
        context.set_offline(True)
        for path in (f"/learners/{other}", "/", f"/learners/{lid}"):
            page.goto(server.url(path))
            _at_my_progress(page, server, lid)
            expect(page.locator("body")).not_to_contain_text(other_name)
        page.goto(server.url(f"/learners/{lid}/me/targets/{tid}"))  # their own pages still open offline
        expect(page.get_by_role("heading", level=1)).to_have_text(words)
        context.set_offline(False)

        # A page of theirs that is not there: the easy-read page, with only the way back.
        page.goto(server.url(f"/learners/{lid}/me/targets/{uuid.uuid4()}"))
        expect(page.get_by_role("heading", level=1)).to_have_text("This page is not here")
        expect(page.locator("body")).not_to_contain_text("Sign out")
        axe(page, "a page that is not there (handed over)")
        shot(page, "learner-mode-not-here-tablet")

        # The tutor's password unlocks it (a wrong one does not).
        page.goto(server.url(f"/learners/{lid}/me"))
        page.get_by_role("link", name="For staff: unlock").click()
        axe(page, "the unlock screen")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Unlock").click()
        expect(page.locator(".field-error")).to_contain_text("That is not the password")
        axe(page, "the unlock screen with a wrong password")
        shot(page, "learner-mode-unlock-tablet")
        page.goto(server.url("/"))
        _at_my_progress(page, server, lid)
        page.get_by_role("link", name="For staff: unlock").click()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Unlock").click()
        expect(page).to_have_url(server.url(f"/learners/{lid}"))
        expect(page.get_by_role("status").filter(has_text="Unlocked")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile(r"^Hand to "))).to_be_visible()  # to hand it over again
        page.screenshot(path=str(SHOTS / "learner-mode-unlocked-learner-page-tablet.png"))  # the top: where "Hand to" is
        page.goto(server.url("/"))
        expect(page).to_have_url(server.url("/"))
        # ...and offline the worker serves the tutor's kept pages again.
        context.set_offline(True)
        page.goto(server.url(f"/learners/{other}"))
        expect(page.locator("h1")).to_have_text(other_name)
        context.set_offline(False)
    finally:
        context.close()


def _easy_read_pages(page, server, label: str, name: str, fits: bool) -> None:
    lid = learner_id(LEARNER)
    tid = next(t for t in api_get(server, f"/learners/{lid}/progress")["targets"] if t["status"] == "open")["id"]
    for path, what, shot_name in ((f"/learners/{lid}/me", "My progress", "my-progress"),
                                  (f"/learners/{lid}/me/targets/{tid}", "a target's screen", "target"),
                                  (f"/learners/{lid}/me/targets/{tid}/how-did-it-go", "the self-assessment",
                                   "self-assessment")):
        page.goto(server.url(path))
        axe(page, f"{what} {label}")
        if fits:
            assert_fits(page, f"{what} {label}")
        if name:
            shot(page, f"learner-mode-{shot_name}-{name}")


def test_the_easy_read_pages_on_a_phone_and_at_200_percent_zoom(browser, server):
    for viewport, scale, label, name in ((PHONE, 1, "on a phone (390x844)", "phone"),
                                         (ZOOM_200, 2, "at 200% zoom (410x590 CSS px)", "zoom200")):
        context, page = _new_page(browser, viewport, device_scale_factor=scale)
        try:
            sign_in(page, server)
            _hand_over(page, server, learner_id(LEARNER))
            # Large text for easy read: the body at 22px or more.
            assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 22
            _easy_read_pages(page, server, label, name, fits=True)
        finally:
            context.close()
    # And the tablet zoomed to 200% by the page's own zoom (as a browser's zoom would), not by the viewport.
    context, page = _new_page(browser, TABLET)
    try:
        sign_in(page, server)
        _hand_over(page, server, learner_id(LEARNER))
        page.add_init_script("document.addEventListener('DOMContentLoaded', () => "
                             "{ document.documentElement.style.zoom = '200%'; })")
        _easy_read_pages(page, server, "at CSS zoom 200% on the tablet", "", fits=False)
    finally:
        context.close()


def test_the_send_lead_writes_a_target_in_the_learners_words_on_the_plan(browser, server):
    context, page = _new_page(browser, TABLET)
    try:
        sign_in(page, server, "lead@example.org")
        lid = learner_id(OTHER)
        page.goto(server.url(f"/learners/{lid}/plan"))
        first = page.locator(".learner-words-form").first
        name = first.locator("label").inner_text().removeprefix("In ").removesuffix("’s own words")
        expect(first).to_contain_text(f"Write it with {name}. Short words, one idea.")
        axe(page, "the plan with a box for each target's own words")
        first.get_by_role("textbox").fill("Make my own lunch")
        first.get_by_role("button").click()
        expect(page.get_by_role("status")).to_have_text(f"The target is saved in {name}’s own words.")
        expect(page.locator(".learner-words-form").first.get_by_role("textbox")).to_have_value("Make my own lunch")
        shot(page, "learner-mode-plan-words-tablet")
        words = [e for e in learner_events(server, lid) if e["type"] == "TargetWordedForLearner"]
        assert [w["words"] for w in words] == ["Make my own lunch"]
        # A refusal comes back on the form's own page, by its field, and writes nothing.
        page.locator(".learner-words-form").first.get_by_role("textbox").fill("   ")
        page.locator(".learner-words-form").first.get_by_role("button").click()
        expect(page.locator(".error-summary")).to_contain_text(f"Enter {name}’s own words")
        axe(page, "the words form refused")
        assert len([e for e in learner_events(server, lid) if e["type"] == "TargetWordedForLearner"]) == 1
    finally:
        context.close()

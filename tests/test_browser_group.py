"""Recording for a group in a real browser (Chromium at tablet size, against a
real `rarpa serve` on the demo store; the fixtures are tests/test_browser.py's).

What the page does is checked against the API with the tutor's token: each
learner's observations, by id, so "exactly three" means three new
ObservationRecorded events, one per learner, none twice. Every page state
shown is run through axe-core, and any Content-Security-Policy violation
fails the test (the autouse watch imported below).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from rarpa.cli.demo_content import LEARNERS
from tests.test_browser import (  # noqa: F401  (fixtures: browser, server, context_page, page, the CSP watch)
    SHOTS, TABLET, _new_page, assert_fits, axe, browser, context_page, learner_events, learner_id, no_csp_violations, open_learner,
    outbox_items, page, put_in_outbox, server, shot, sign_in, target_id_of, wait_for_controller, wait_until,
)

RATINGS = ["Emerging", "Developing", "Secure"]


def short_name(i: int) -> str:
    full, preferred, *_ = LEARNERS[i]
    return f"{preferred} {full.split()[-1][0]}."


def recorded(server, lid: str) -> dict[str, dict]:
    """The learner's ObservationRecorded events, by observation id."""
    return {e["observation_id"]: e for e in learner_events(server, lid) if e["type"] == "ObservationRecorded"}


def open_group_page(page) -> None:
    page.get_by_role("link", name="Record for a group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record for a group")


def choose(page, learners: list[int]) -> list[str]:
    """Tap each learner's tile, then Next; returns their ids."""
    for i in learners:
        page.locator("label.pick-tile", has_text=short_name(i)).click()
    page.get_by_role("button", name="Next: record for them").click()
    lids = [learner_id(i) for i in learners]
    for lid in lids:
        expect(page.locator(f"#learner-{lid}")).to_be_visible()
    expect(page.locator("section.group-learner:visible")).to_have_count(len(lids))
    return lids


def rate(page, lid: str, rating: str) -> None:
    page.locator(f"#learner-{lid} .group-ratings").get_by_text(rating, exact=True).click()


def chosen_target(page, lid: str) -> str:
    return page.locator(f'input[name="target-{lid}"]:checked').get_attribute("value")


def come_online(context, page) -> None:
    page.evaluate("window.__online = 0; addEventListener('online', () => window.__online++)")
    context.set_offline(False)
    page.wait_for_function("() => navigator.onLine")
    if page.evaluate("window.__online") == 0:  # Playwright did not fire it: do what the browser would
        page.evaluate("window.dispatchEvent(new Event('online'))")


# --- online: three learners, three observations -----------------------------------------------
def test_recording_for_three_learners_stores_exactly_three_observations(page, server):
    sign_in(page, server)
    open_group_page(page)
    axe(page, "the group page: who is in the group")
    shot(page, "tablet-group-pick")
    lids = choose(page, [0, 1, 2])
    before = {lid: recorded(server, lid) for lid in lids}
    targets = {lid: chosen_target(page, lid) for lid in lids}
    assert all(targets.values()), "every learner starts with a target chosen"

    page.locator("#group-record").get_by_text("Community", exact=True).click()  # where, once for all
    page.get_by_label("Note for everyone (optional)").fill("Café trip")
    for lid, rating in zip(lids, RATINGS):
        rate(page, lid, rating)
    page.locator(f'label[for="prompt-{lids[1]}-verbal"]').click()  # a prompt chip, by tap
    page.get_by_label(f"Note for {short_name(2)} (optional)").fill("Paid by card")
    axe(page, "the group page: recording for three")
    assert_fits(page, "the group page")
    shot(page, "tablet-group-record")

    page.get_by_role("button", name="Save for everyone").click()
    results = page.locator("#group-results li")
    expect(results).to_have_count(3)
    expect(page.locator("#group-results li.result-saved")).to_have_count(3)
    for i, rating in zip([0, 1, 2], RATINGS):
        expect(results.nth(i)).to_have_text(f"{short_name(i)} · {rating} · Saved")
    ids = [results.nth(i).get_attribute("data-observation") for i in range(3)]
    assert len(set(ids)) == 3
    wait_until(lambda: outbox_items(page) == [], "the outbox to empty")
    axe(page, "the group page after saving")
    shot(page, "tablet-group-saved")

    for lid, oid, rating in zip(lids, ids, RATINGS):
        new = {k: v for k, v in recorded(server, lid).items() if k not in before[lid]}
        assert list(new) == [oid], (lid, new)  # exactly one, the one the page sent
        e = new[oid]
        assert (e["target_id"], e["rating"], e["context"]) == (targets[lid], rating.lower(), "community")
    notes = {lid: recorded(server, lid)[oid]["note"] for lid, oid in zip(lids, ids)}
    assert notes == {lids[0]: "Café trip", lids[1]: "Café trip", lids[2]: "Café trip\nPaid by card"}
    assert recorded(server, lids[1])[ids[1]]["prompt_level"] == "verbal"
    assert recorded(server, lids[0])[ids[0]]["prompt_level"] is None

    # Ready for the next activity: the same group and targets, ratings cleared.
    expect(page.locator("section.group-learner:visible")).to_have_count(3)
    assert page.locator('#group-record input[name^="rating-"]:checked').count() == 0
    assert {lid: chosen_target(page, lid) for lid in lids} == targets

    # Signing out forgets the group and the list on this tablet (a shared tablet).
    assert page.evaluate("sessionStorage.getItem('rarpa-group')") is not None
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    assert page.evaluate("sessionStorage.getItem('rarpa-group')") is None


def test_a_missing_rating_keeps_everything_on_the_page_and_says_where(page, server):
    sign_in(page, server)
    open_group_page(page)
    lids = choose(page, [3, 4])
    before = {lid: recorded(server, lid) for lid in lids}
    rate(page, lids[0], "Secure")
    page.get_by_role("button", name="Save for everyone").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link")).to_have_text([f"Choose a rating for {short_name(4)}"])
    expect(summary.get_by_role("link")).to_have_attribute("href", f"#rating-{lids[1]}")
    expect(page.locator(f"#rating-{lids[1]} .field-error")).to_have_text(f"Error: Choose a rating for {short_name(4)}")
    assert outbox_items(page) == []  # nothing kept, nothing sent: all or nothing, as without scripts
    assert {lid: recorded(server, lid) for lid in lids} == before
    axe(page, "the group page with a problem")
    shot(page, "tablet-group-error")

    rate(page, lids[1], "Emerging")
    page.get_by_role("button", name="Save for everyone").click()
    expect(page.locator("#group-results li.result-saved")).to_have_count(2)
    expect(page.locator(".error-summary")).to_have_count(0)
    assert {lid: len(recorded(server, lid)) - len(before[lid]) for lid in lids} == {lid: 1 for lid in lids}


def test_each_learner_follows_the_first_target_tapped_when_they_have_it(page, server):
    sign_in(page, server)
    open_group_page(page)
    lids = choose(page, list(range(6)))
    activities = page.evaluate("""(lids) => Object.fromEntries(lids.map((lid) => [lid,
        [...document.querySelectorAll(`input[name="target-${lid}"]`)].map((r) => r.dataset.activity)]))""", lids)
    # An activity of one learner's that another learner also has but does not start at.
    pair = next(((lead, a, other) for lead in lids for a in activities[lead] for other in lids
                 if other != lead and a in activities[other]
                 and page.locator(f'input[name="target-{other}"]:checked').get_attribute("data-activity") != a), None)
    assert pair, "the demo caseload has no shared target wording to test with"
    lead, activity, other = pair
    page.locator(f'input[name="target-{lead}"][data-activity="{activity}"] + label').click()
    for lid in lids:
        if lid != lead and activity in activities[lid]:
            expect(page.locator(f'input[name="target-{lid}"][data-activity="{activity}"]')).to_be_checked()
    # A learner tapped by hand keeps their own choice when the lead changes.
    mine = page.locator(f'input[name="target-{other}"]:not(:checked) + label').first
    mine_value = mine.evaluate("(l) => l.previousElementSibling.value")
    mine.click()
    lead_other = page.locator(f'input[name="target-{lead}"]:not(:checked) + label').first
    lead_other.click()  # the lead learner changes: the others follow it, but not one tapped by hand
    now = lead_other.evaluate("(l) => l.previousElementSibling.dataset.activity")
    for lid in lids:
        if lid not in (lead, other) and now in activities[lid]:
            expect(page.locator(f'input[name="target-{lid}"][data-activity="{now}"]')).to_be_checked()
    assert chosen_target(page, other) == mine_value


# --- offline: kept on the tablet, sent once when the connection returns ------------------------------
def test_offline_group_recording_survives_a_reload_and_stores_exactly_three(context_page, server):
    context, page = context_page
    sign_in(page, server)
    open_group_page(page)
    wait_for_controller(page)
    page.reload()
    wait_until(lambda: page.evaluate(
        "async () => !!(await (await caches.open('rarpa-pages')).match('/group'))"),
        "the group page to be in the service worker's cache")
    lids_before = [learner_id(i) for i in (3, 4, 5)]
    before = {lid: recorded(server, lid) for lid in lids_before}

    context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    lids = choose(page, [3, 4, 5])
    assert lids == lids_before
    for lid, rating in zip(lids, RATINGS):
        rate(page, lid, rating)
    page.get_by_role("button", name="Save for everyone").click()
    expect(page.locator("#group-results li.result-waiting")).to_have_count(3)
    expect(page.locator("#outbox-status")).to_have_text("3 waiting to send")
    waiting = outbox_items(page)
    assert len(waiting) == 3 and {i["state"] for i in waiting} == {"waiting"}
    assert sorted(i["learnerId"] for i in waiting) == sorted(lids)
    assert sorted(i["url"] for i in waiting) == sorted(f"/learners/{lid}/observations" for lid in lids)
    ids = {i["learnerId"]: i["id"] for i in waiting}
    assert len(set(ids.values())) == 3  # a separate entry, with its own id, per learner
    assert {lid: recorded(server, lid) for lid in lids} == before  # nothing reached the server

    reloaded = page.reload()  # still offline: the service worker's copy, the same outbox, the same group
    assert reloaded is not None and reloaded.ok and reloaded.from_service_worker
    expect(page.locator("section.group-learner:visible")).to_have_count(3)
    expect(page.locator("#group-results li.result-waiting")).to_have_count(3)
    expect(page.locator("#outbox-status")).to_have_text("3 waiting to send")
    shot(page, "tablet-group-offline")

    come_online(context, page)
    wait_until(lambda: outbox_items(page) == [], "the outbox to empty", tries=60)
    expect(page.locator("#group-results li.result-saved")).to_have_count(3)
    expect(page.locator("#outbox-status")).to_be_hidden()
    axe(page, "the group page after the waiting ones were sent")
    for lid, rating in zip(lids, RATINGS):
        new = {k: v for k, v in recorded(server, lid).items() if k not in before[lid]}
        assert list(new) == [ids[lid]], (lid, new)  # exactly one each, the one kept on the tablet
        assert new[ids[lid]]["rating"] == rating.lower()

    # Sent again (a reload, and the very same entries put back): nothing new.
    page.reload()
    expect(page.locator("#group-results li.result-saved")).to_have_count(3)
    for item in waiting:
        put_in_outbox(page, item)
    page.evaluate("async () => await window.rarpaOutbox.flush()")
    wait_until(lambda: outbox_items(page) == [], "the repeats to be answered")
    for lid in lids:
        assert [k for k in recorded(server, lid) if k not in before[lid]] == [ids[lid]]


# --- the prompt level as tap chips on a target card ----------------------------------------------------
def test_prompt_level_chips_on_the_target_card_record_by_tap(page, server):
    sign_in(page, server)
    lid = open_learner(page, server, 1)
    card = page.locator("article.target:has(details.record)").first
    tid = target_id_of(card)
    before = recorded(server, lid)
    card.locator("details.record > summary").click()
    not_noted = card.locator('input[name="prompt_level"][value=""]')
    expect(not_noted).to_be_checked()
    card.get_by_text("Gestural", exact=True).click()
    expect(card.locator('input[name="prompt_level"][value="gestural"]')).to_be_checked()
    assert_fits(page, "the learner page with a record form open")
    axe(page, "a record form with prompt chips")
    SHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SHOTS / "tablet-record-form-prompt-chips.png"))
    card.get_by_role("button", name="Developing", exact=True).click()
    expect(page.locator(f"#t-{tid} .flash")).to_contain_text("Recorded")
    new = [e for k, e in recorded(server, lid).items() if k not in before]
    assert len(new) == 1 and (new[0]["target_id"], new[0]["prompt_level"], new[0]["rating"]) == (
        tid, "gestural", "developing")
    # The next one starts at "Not noted" again.
    page.locator(f"#t-{tid} details.record > summary").click()
    expect(page.locator(f'#t-{tid} input[name="prompt_level"][value=""]')).to_be_checked()


# --- without scripts: the same page as plain forms ------------------------------------------------------
def test_without_javascript_the_plain_forms_record_exactly_three(browser, server):
    context, page = _new_page(browser, TABLET, java_script_enabled=False)
    try:
        sign_in(page, server)
        open_group_page(page)
        for i in (0, 4, 5):
            page.locator("label.pick-tile", has_text=short_name(i)).click()
        page.get_by_role("button", name="Next: record for them").click()
        expect(page).to_have_url(re.compile(r"/group\?step=record&learner="))
        lids = [learner_id(i) for i in (0, 4, 5)]
        expect(page.locator("section.group-learner:visible")).to_have_count(3)
        before = {lid: recorded(server, lid) for lid in lids}
        ids = {lid: page.locator(f'input[name="id-{lid}"]').get_attribute("value") for lid in lids}
        for lid, rating in zip(lids, RATINGS):
            rate(page, lid, rating)
        page.get_by_role("button", name="Save for everyone").click()
        expect(page).to_have_url(re.compile(r"/group\?learner=.*&saved="))
        expect(page.locator("#group-results li.result-saved")).to_have_count(3)
        for lid, rating in zip(lids, RATINGS):
            new = {k: v for k, v in recorded(server, lid).items() if k not in before[lid]}
            assert list(new) == [ids[lid]] and new[ids[lid]]["rating"] == rating.lower(), (lid, new)
    finally:
        context.close()

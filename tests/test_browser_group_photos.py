"""Photos on the group page in a real browser (Chromium at tablet size, through
Playwright, against a real `rarpa serve` on a demo store of its own; the
fixtures are tests/test_browser.py's, the helpers tests/test_browser_group.py's
and tests/test_browser_photos.py's).

A group of three: demo learner 3 has said yes to photographs, learner 1 says
yes at the start of the test (the SEND lead records it on the Consent page),
learner 0 has never been asked. The camera is offered for 1 and 3 only, and
nothing on the page says anything about the other. A photo is taken for
learner 3 OFFLINE (the file input, as the camera fills it), resized and
re-encoded on the tablet, kept in learner 3's outbox entry and no other, and
sent exactly once, with learner 3's observation, when the connection comes
back; sent a second time, nothing new. Learner 3's evidence then shows it as
a thumbnail. Checked against the API with the tutor's token; axe-core finds
nothing on any state of the page at 820x1180, and the autouse watch fails the
test on any Content-Security-Policy violation. Screenshots (the viewport, as a
tutor sees it) go to /tmp/rarpa-shots/group-photos-*.png.
"""

from __future__ import annotations

from playwright.sync_api import expect

from rarpa.cli.demo_content import LEARNERS
from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    TABLET,
    _new_page,
    axe,
    browser,
    context_page,
    learner_events,
    learner_id,
    no_csp_violations,
    outbox_items,
    server,
    sign_in,
    wait_until,
)
from tests.test_browser_group import choose, come_online, open_group_page, rate, short_name
from tests.test_browser_photos import OUTBOX_PHOTOS, PUT_THE_COPY_BACK, photo_events, view
from tests.test_photos import noise_jpeg

WITH_CONSENT, ASKED_NOW, NEVER_ASKED = 3, 1, 0
LEAD = "lead@example.org"

# A copy of one outbox entry, photo and all, kept in the page (PUT_THE_COPY_BACK sends it again).
KEEP_THE_ENTRY = """async (id) => {
  window.__copy = (await window.rarpaOutbox.all()).find((i) => i.id === id);
  return Boolean(window.__copy && window.__copy.photo);
}"""


def preferred(i: int) -> str:
    return LEARNERS[i][1]


def recorded(server, lid: str) -> list[str]:
    return [e["observation_id"] for e in learner_events(server, lid) if e["type"] == "ObservationRecorded"]


def give_consent(browser, server, i: int) -> None:
    """The SEND lead records learner i's yes to photographs on their Consent page."""
    context, lead = _new_page(browser, TABLET)
    try:
        sign_in(lead, server, LEAD)
        lead.goto(server.url(f"/learners/{learner_id(i)}/consents"))
        lead.locator('label[for="consent-photographs"]').click()
        lead.locator('label[for="given-yes"]').click()
        lead.get_by_label("Who gave the answer, and how (optional)").fill("Said yes at the review")
        lead.get_by_role("button", name="Save the consent").click()
        expect(lead.locator(".flash")).to_contain_text("Saved")
    finally:
        context.close()
    answers = [e["given"] for e in learner_events(server, learner_id(i))
               if e["type"] == "ConsentRecorded" and e["consent"] == "photographs"]
    assert answers[-1:] == [True]


def test_a_photo_per_learner_only_with_consent_kept_offline_and_sent_once_with_theirs(browser, context_page, server):
    give_consent(browser, server, ASKED_NOW)
    context, page = context_page
    sign_in(page, server)
    open_group_page(page)
    group = [NEVER_ASKED, ASKED_NOW, WITH_CONSENT]
    lids = choose(page, group)
    never, asked, consented = lids
    before = {lid: (recorded(server, lid), len(photo_events(server, lid))) for lid in lids}

    # The camera: for the two who agreed, each saying only they may be in it; nothing at all for the other.
    expect(page.locator("#group-record input[type=file]:not([disabled])")).to_have_count(2)
    for i, lid in ((ASKED_NOW, asked), (WITH_CONSENT, consented)):
        row = page.locator(f"#learner-{lid}")
        camera = row.locator("input[type=file]")
        expect(camera).to_have_attribute("accept", "image/*")
        expect(camera).to_have_attribute("capture", "environment")
        expect(camera).to_have_attribute("name", f"photo-{lid}")
        expect(row.locator(".photo-field .hint")).to_have_text(f"Only {preferred(i)} in the photo. Optional; its location is removed.")
        add = row.locator("label.photo-add")
        expect(add).to_be_visible()
        box = add.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
        expect(page.get_by_label(f"Add a photo of {preferred(i)} (optional)")).to_have_count(1)
    no_camera = page.locator(f"#learner-{never}")
    expect(no_camera.locator("input[type=file]")).to_have_count(0)
    assert "photo" not in no_camera.inner_text().lower()
    assert "agreed" not in page.locator("#group").inner_text().lower()
    for lid, rating in zip(lids, ["Emerging", "Developing", "Secure"]):
        rate(page, lid, rating)
    axe(page, "the group page with photo controls")
    view(page, "group-photos-record", page.locator(f"#learner-{asked} .photo-field"))

    # Offline: a photo of learner 3 only, made on the tablet, kept in learner 3's own entry.
    context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    taken = noise_jpeg(2000, 1500, seed=77)
    page.locator(f"#learner-{consented} input[type=file]").set_input_files(
        {"name": "IMG_0107.jpg", "mimeType": "image/jpeg", "buffer": taken})
    field = page.locator(f"#learner-{consented} .photo-field")
    expect(field.locator("[data-photo-preview] img")).to_be_visible()
    expect(field.locator("[data-photo-status]")).to_contain_text("Photo ready")
    expect(field.get_by_role("button", name=f"Remove photo of {preferred(WITH_CONSENT)}")).to_be_visible()
    expect(page.locator(f"#learner-{asked} [data-photo-preview]")).to_be_hidden()  # the other camera is untouched
    axe(page, "the group page with a photo ready")
    view(page, "group-photos-ready", field)

    page.get_by_role("button", name="Save for everyone").click()
    expect(page.locator("#group-results li.result-waiting")).to_have_count(3)
    expect(page.locator("#outbox-status")).to_have_text("3 waiting to send")
    expect(page.locator("#group-results li", has_text=short_name(WITH_CONSENT))).to_contain_text("Secure with a photo")
    expect(page.locator("#group-results li", has_text=short_name(ASKED_NOW))).not_to_contain_text("with a photo")
    items = {i["learnerId"]: i for i in outbox_items(page)}
    assert sorted(items) == sorted(lids)
    described = {d["id"]: d for d in page.evaluate(OUTBOX_PHOTOS)}
    assert [lid for lid in lids if described[items[lid]["id"]]["photo"]] == [consented]  # in that learner's entry only
    kept = described[items[consented]["id"]]["photo"]
    assert kept["type"] == "image/jpeg" and kept["jpeg"]
    assert (kept["width"], kept["height"]) == (1600, 1200)  # resized on the tablet
    assert not kept["exif"] and not kept["camera"]  # re-encoded through a canvas: no EXIF, no GPS
    # Ready for the next activity: the photo field is empty again.
    expect(field.locator("[data-photo-preview]")).to_be_hidden()
    assert field.locator("input[type=file]").evaluate("i => i.files.length") == 0
    assert page.evaluate(KEEP_THE_ENTRY, items[consented]["id"])  # to send it a second time, below
    assert {lid: (recorded(server, lid), len(photo_events(server, lid))) for lid in lids} == before  # nothing sent yet
    axe(page, "the group page saved offline")
    view(page, "group-photos-waiting", page.locator("#group-results"))

    # Back online: each observation once, and the photo once, with learner 3's.
    come_online(context, page)
    wait_until(lambda: outbox_items(page) == [], "the outbox to empty", tries=80)
    expect(page.locator("#group-results li.result-saved")).to_have_count(3)
    for lid in lids:
        new = [oid for oid in recorded(server, lid) if oid not in before[lid][0]]
        assert new == [items[lid]["id"]], (lid, new)
    assert [len(photo_events(server, lid)) - before[lid][1] for lid in lids] == [0, 0, 1]
    sent = photo_events(server, consented)[-1]
    assert sent["observation_id"] == items[consented]["id"]
    assert (sent["width"], sent["height"]) == (1600, 1200)

    # The very same entry, photo and all, sent a second time: nothing new.
    assert page.evaluate(PUT_THE_COPY_BACK) == 0
    assert [len(photo_events(server, lid)) - before[lid][1] for lid in lids] == [0, 0, 1]
    assert [oid for oid in recorded(server, consented) if oid not in before[consented][0]] == [items[consented]["id"]]

    # Learner 3's evidence shows it as a thumbnail, beside that observation.
    page.goto(server.url(f"/learners/{consented}/evidence"))
    thumb = page.locator(f"#o-{items[consented]['id']} .obs-thumbs img")
    expect(thumb).to_be_visible()
    wait_until(lambda: thumb.evaluate("img => img.complete && img.naturalWidth > 0"), "the thumbnail to load")
    assert thumb.evaluate("img => img.naturalWidth") == 320
    expect(page.locator(f"#o-{items[consented]['id']} .obs-thumbs a")).to_have_attribute(
        "href", f"/learners/{consented}/observations/{items[consented]['id']}/photos/{sent['photo_id']}")
    axe(page, "learner 3's evidence with the group's photo")
    view(page, "group-photos-evidence", page.locator(f"#o-{items[consented]['id']}"))

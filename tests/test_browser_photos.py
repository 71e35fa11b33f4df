"""Photo evidence in a real browser (Chromium at tablet size, through Playwright,
against a real `rarpa serve` on a demo store of its own).

A tutor takes a photo OFFLINE on the record form (the file input, as the
tablet's camera would fill it): it is resized and re-encoded on the tablet
(no EXIF in what the outbox keeps), waits in the outbox with its observation,
and is sent once when the connection returns, and not again when the same
item is sent a second time. The tutor sees it as a thumbnail in the evidence
and on the observation, the SEND lead chooses it for the annual-review pack,
another provider's tutor gets a 404, and where the learner has not agreed to
photographs there is no camera at all. axe-core finds nothing on any page;
screenshots at 820x1180 go to /tmp/rarpa-shots/photos-*.png.

Demo learners: 3 has consent to photographs (given), 2 "no photographs" (not
given), 0 never asked (not given). What the page shows is checked against
the API (the tutor's token), never against the page alone.
"""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

from tests.test_browser import (  # noqa: F401  (fixtures, used by name)
    PHONE,
    _new_page,
    assert_fits,
    axe,
    browser,
    context_page,
    learner_events,
    SHOTS,
    no_csp_violations,
    open_learner,
    page,
    server,
    shot,
    sign_in,
    target_id_of,
    wait_for_controller,
    wait_until,
)
from tests.test_photos import GPS, photo_like

WITH_CONSENT, NO_PHOTOGRAPHS, NEVER_ASKED = 3, 2, 0
LEAD = "lead@example.org"
OTHER_PROVIDER_TUTOR = "tutor.riverside@example.org"

# What the outbox holds, with the photo described rather than its bytes (which do not
# cross into Python): its type, size, whether the bytes hold EXIF or the camera's name,
# and its pixel size as the browser decodes it.
OUTBOX_PHOTOS = """async () => Promise.all((await window.rarpaOutbox.all()).map(async (i) => {
  if (!i.photo) return {id: i.id, state: i.state, photo: null};
  const bytes = new Uint8Array(i.photo.bytes);
  const text = Array.from(bytes, (b) => String.fromCharCode(b)).join("");
  const bitmap = await createImageBitmap(new Blob([bytes], {type: i.photo.type}));
  return {id: i.id, state: i.state, photo: {type: i.photo.type, size: bytes.length, exif: text.includes("Exif"),
          camera: text.includes("SecretCamCo"), width: bitmap.width, height: bitmap.height,
          jpeg: bytes[0] === 0xff && bytes[1] === 0xd8}};
}))"""

# Keep a copy of the first outbox item (photo and all) in the page, and put it back later:
# the very same observation and photo, sent a second time.
KEEP_A_COPY = "async () => { window.__copy = (await window.rarpaOutbox.all())[0]; return !!window.__copy.photo; }"
PUT_THE_COPY_BACK = """async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("rarpa", 1);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put(window.__copy);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
  await window.rarpaOutbox.flush();
  return (await window.rarpaOutbox.all()).length;
}"""


CAMERA = photo_like(2400, 1800, seed=99)


def camera_photo() -> dict:
    """What the tablet's camera hands the file input: a 2400 x 1800 JPEG that says
    where it was taken (EXIF GPS) and with which camera."""
    data = CAMERA
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(0x8825) == GPS
    return {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": data}


def view(page, name: str, element=None) -> None:
    """A screenshot of what a tutor sees at tablet size (the viewport, not the whole
    page), with ``element`` scrolled to the middle."""
    if element is not None:
        element.evaluate("el => el.scrollIntoView({block: 'center'})")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def photo_events(server, lid: str) -> list[dict]:
    return [e for e in learner_events(server, lid) if e["type"] == "PhotoAttached"]


def go_online(context, page) -> None:
    page.evaluate("window.__online = 0; addEventListener('online', () => window.__online++)")
    context.set_offline(False)
    page.wait_for_function("() => navigator.onLine")
    if page.evaluate("window.__online") == 0:  # Playwright did not fire it: do what the browser would
        page.evaluate("window.dispatchEvent(new Event('online'))")


def test_a_photo_taken_offline_is_sent_once_and_seen_by_the_tutor_and_the_lead(browser, context_page, server):
    context, page = context_page
    sign_in(page, server)
    lid = open_learner(page, server, WITH_CONSENT)
    wait_for_controller(page)
    page.reload()  # through the service worker now, so the page is kept for offline use
    card = page.locator("article.target:has(details.record)").first
    tid = target_id_of(card)
    card.locator("details.record > summary").click()
    add = card.locator("label.photo-add")
    expect(add).to_be_visible()
    expect(add).to_have_text("Add a photo (optional)")  # the words after "photo" are for screen readers
    box = add.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    file_input = card.locator("input[type=file]")
    expect(file_input).to_have_attribute("accept", "image/*")
    expect(file_input).to_have_attribute("capture", "environment")
    axe(page, "the record form with its photo control")
    view(page, "photos-record-form", card.locator(".photo-field"))
    before = len(photo_events(server, lid))

    # Offline: the photo is made on the tablet and kept with the observation.
    context.set_offline(True)
    expect(page.locator("#offline-banner")).to_be_visible()
    file_input.set_input_files(camera_photo())
    expect(card.locator("[data-photo-preview] img")).to_be_visible()
    expect(card.locator("[data-photo-status]")).to_contain_text("Photo ready")
    expect(card.get_by_role("button", name="Remove photo")).to_be_visible()
    expect(card.locator(".photo-add")).to_have_text(re.compile("Change photo"))
    axe(page, "the record form with a photo ready")
    view(page, "photos-ready-offline", card.locator(".photo-field"))
    card.get_by_role("button", name="Secure", exact=True).click()

    expect(page.locator("#outbox-status")).to_have_text("1 waiting to send")
    expect(page.locator(f"#t-{tid} .pending")).to_contain_text("with a photo, waiting to send")
    [item] = page.evaluate(OUTBOX_PHOTOS)
    kept = item["photo"]
    assert item["state"] == "waiting" and kept["type"] == "image/jpeg" and kept["jpeg"]
    assert (kept["width"], kept["height"]) == (1600, 1200)  # resized on the tablet
    assert not kept["exif"] and not kept["camera"]  # re-encoded through a canvas: no EXIF, no GPS
    assert 0 < kept["size"] < len(camera_photo()["buffer"])
    print(f"\nphoto: {len(camera_photo()['buffer'])} bytes from the camera, {kept['size']} kept in the outbox")
    assert page.evaluate(KEEP_A_COPY)
    assert len(photo_events(server, lid)) == before  # nothing reached the server

    # Back online: sent once, with its observation.
    go_online(context, page)
    wait_until(lambda: page.evaluate("async () => (await window.rarpaOutbox.all()).length") == 0,
               "the outbox to empty", tries=80)
    expect(page.locator("#outbox-status")).to_be_hidden()
    events = photo_events(server, lid)
    assert len(events) == before + 1
    sent = events[-1]
    assert sent["observation_id"] == item["id"]
    print(f"photo: kept on the server as {sent['size']} bytes, {sent['width']} x {sent['height']}")
    recorded = [e for e in learner_events(server, lid) if e.get("observation_id") == item["id"]]
    assert [e["type"] for e in recorded] == ["ObservationRecorded", "PhotoAttached"]

    # The very same item sent again: "Already recorded", nothing new.
    assert page.evaluate(PUT_THE_COPY_BACK) == 0
    expect(page.locator(f"#t-{tid} .flash")).to_contain_text("Already recorded")
    assert len(photo_events(server, lid)) == before + 1

    # The tutor sees it: a thumbnail in the evidence, the photo on the observation.
    page.goto(server.url(f"/learners/{lid}/evidence?target={tid}"))
    thumb = page.locator(f"#o-{item['id']} .obs-thumbs img")
    expect(thumb).to_be_visible()
    wait_until(lambda: thumb.evaluate("img => img.complete && img.naturalWidth > 0"), "the thumbnail to load")
    assert thumb.evaluate("img => img.naturalWidth") == 320
    axe(page, "the evidence with a photo")
    view(page, "photos-evidence", page.locator(f"#o-{item['id']}"))
    photo_url = f"/learners/{lid}/observations/{item['id']}/photos/{sent['photo_id']}"
    served = page.request.get(server.url(photo_url))
    assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "private, no-store"
    with Image.open(io.BytesIO(served.body())) as image:
        assert image.getexif().get_ifd(0x8825) == {} and image.size == (1600, 1200)
    # Opened on its own (sandboxed: no script, no storage), the photo is not kept by the
    # service worker for offline use.
    opened = page.goto(server.url(photo_url))
    assert opened.ok and opened.headers["content-type"] == "image/jpeg"
    page.goto(server.url(f"/learners/{lid}/observations/{item['id']}"))
    kept_pages = "async (path) => !!(await (await caches.open('rarpa-pages')).match(path))"
    wait_until(lambda: page.evaluate(kept_pages, f"/learners/{lid}/observations/{item['id']}"),
               "the observation page to be kept (the service worker keeps pages it serves)")
    assert not page.evaluate(kept_pages, photo_url)
    expect(page.locator(".obs-photos img")).to_be_visible()
    expect(page.get_by_role("link", name="Remove this photo")).to_be_visible()
    axe(page, "the observation with its photo")
    shot(page, "photos-observation")

    # Removing it: its own page, a reason asked for in words.
    page.get_by_role("link", name="Remove this photo").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Remove a photo")
    axe(page, "the photo removal page")
    shot(page, "photos-removal")
    page.get_by_role("button", name="Remove the photo").click()
    expect(page.locator("#reason-error")).to_contain_text("Enter a reason for removing the photo")
    axe(page, "the photo removal page with a refusal")
    assert len(photo_events(server, lid)) == before + 1  # (and nothing removed)

    # Another provider's tutor: not there.
    other_context, other = _new_page(browser, {"width": 820, "height": 1180})
    try:
        sign_in(other, server, OTHER_PROVIDER_TUTOR)
        assert other.request.get(server.url(photo_url)).status == 404
        assert other.request.get(server.url(photo_url + "/thumbnail")).status == 404
    finally:
        other_context.close()

    # The SEND lead: sees it, chooses it for the pack, and the pack shows it.
    lead_context, lead = _new_page(browser, {"width": 820, "height": 1180})
    try:
        sign_in(lead, server, LEAD)
        lead.goto(server.url(f"/learners/{lid}/observations/{item['id']}"))
        lead.get_by_role("button", name="Use in the annual-review pack").click()
        expect(lead.locator(".obs-photos")).to_contain_text("Used in the annual-review pack")
        lead.goto(server.url(f"/learners/{lid}/annual-review"))
        pack_photo = lead.locator(".pack .pack-photos img")
        expect(pack_photo).to_have_count(1)
        wait_until(lambda: pack_photo.evaluate("img => img.complete && img.naturalWidth > 0"), "the pack photo to load")
        expect(lead.locator("#pack-photos")).to_contain_text("In the pack")
        axe(lead, "the annual-review page with a chosen photo")
        view(lead, "photos-pack", lead.locator(".pack .pack-photos"))
        view(lead, "photos-pack-choice", lead.locator("#pack-photos"))
        chosen = [e for e in learner_events(server, lid) if e["type"] == "PhotoChosenForPack"]
        assert [(e["photo_id"], e["chosen"], e["role"]) for e in chosen] == [(sent["photo_id"], True, "send_lead")]
    finally:
        lead_context.close()


def test_no_camera_where_the_learner_has_not_agreed(page, server):
    sign_in(page, server)
    for i, said in ((NO_PHOTOGRAPHS, [False]), (NEVER_ASKED, [])):
        lid = open_learner(page, server, i)
        answers = [e["given"] for e in learner_events(server, lid)
                   if e["type"] == "ConsentRecorded" and e["consent"] == "photographs"]
        assert answers == said
        card = page.locator("article.target:has(details.record)").first
        card.locator("details.record > summary").click()
        expect(card.get_by_role("button", name="Secure", exact=True)).to_be_visible()  # the form is open
        expect(page.locator("input[type=file]")).to_have_count(0)
        expect(page.get_by_text("Add a photo")).to_have_count(0)
        expect(page.locator("script[src*='photos.js']")).to_have_count(0)


def test_a_file_that_is_not_a_photo_is_refused_on_the_tablet(page, server):
    sign_in(page, server)
    lid = open_learner(page, server, WITH_CONSENT)
    card = page.locator("article.target:has(details.record)").first
    card.locator("details.record > summary").click()
    card.locator("input[type=file]").set_input_files(
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"<!doctype html><script>alert(1)</script>"})
    expect(card.locator("[data-photo-status]")).to_contain_text("This file is not a photo we can keep")
    expect(card.locator("[data-photo-preview]")).to_be_hidden()
    axe(page, "the record form refusing a file")
    before = len(photo_events(server, lid))
    card.get_by_role("button", name="Developing", exact=True).click()
    wait_until(lambda: page.evaluate("async () => (await window.rarpaOutbox.all()).length") == 0, "the outbox to empty")
    assert len(photo_events(server, lid)) == before  # recorded, without a photo


def test_the_photo_control_fits_a_phone(browser, server):
    context, page = _new_page(browser, PHONE)
    try:
        sign_in(page, server)
        open_learner(page, server, WITH_CONSENT)
        card = page.locator("article.target:has(details.record)").first
        card.locator("details.record > summary").click()
        expect(card.locator("label.photo-add")).to_be_visible()
        assert_fits(page, "the record form with its photo control, on a phone")
    finally:
        context.close()

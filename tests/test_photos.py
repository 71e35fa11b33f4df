"""Photo evidence: a photo taken on the tablet, kept with its observation.

Through the record form and the API; checked by its content (Pillow opens it
as JPEG, PNG or WebP, or it is refused in words and nothing is written);
re-encoded without its metadata (the GPS position of the upload is not in
what is served); only with the learner's consent (no camera control, and the
server refuses); served only to those who may see the learner, never cached
or sniffed; stored once however often it is sent; chosen for the pack by the
SEND lead; removed for good with a reason; and gone from every file after
erasure.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import random
import re
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFilter

from rarpa.record import RuleBroken
from rarpa.record.photos import NO_CONSENT
from rarpa.service import images
from rarpa.service.access import NotFound
from rarpa.store.cipher import StreamErased
from tests.conftest import PASSWORD, observation
from tests.test_web import sign_in, token_of

NOT_A_PHOTO = "This file is not a photo we can keep (JPEG, PNG or WebP)"
GPS = {1: "N", 2: (51.0, 30.0, 12.34), 3: "W", 4: (0.0, 7.0, 39.0)}


# --- photos to send ------------------------------------------------------------------------------
def noise_jpeg(width=1200, height=900, *, gps=True, seed=7, orientation=None, quality=90) -> bytes:
    """A photo-like JPEG (random pixels, so its bytes are its own), with EXIF
    that says where it was taken and with which camera, and a comment."""
    image = Image.frombytes("RGB", (width, height), _noise(width * height * 3, seed))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamCo"  # Make
    exif[0x0110] = "PocketPhone 9"  # Model
    if gps:
        exif[ExifTags.IFD.GPSInfo] = GPS
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken-at-the-garden-centre", quality=quality)
    return out.getvalue()


def photo_like(width=2400, height=1800, *, seed=1, quality=90) -> bytes:
    """A JPEG that compresses like a photo (a lit scene of soft shapes with a little
    sensor noise), with the same EXIF as noise_jpeg: place, camera, a comment."""
    rng = random.Random(seed)
    light = Image.radial_gradient("L").resize((width, height)).point(lambda v: 255 - v // 2)
    sky = Image.linear_gradient("L").resize((width, height))
    scene = Image.merge("RGB", (sky.point(lambda v: 120 + v // 3), light, light.point(lambda v: v * 3 // 4)))
    draw = ImageDraw.Draw(scene)
    for _ in range(24):
        x, y, size = rng.randrange(width), rng.randrange(height), rng.randrange(width // 20, width // 4)
        draw.ellipse((x, y, x + size, y + size * 2 // 3), fill=tuple(rng.randrange(40, 230) for _ in range(3)))
    scene = Image.blend(scene.filter(ImageFilter.GaussianBlur(4)), Image.effect_noise((width, height), 30).convert("RGB"), 0.05)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[ExifTags.IFD.GPSInfo] = "SecretCamCo", "PocketPhone 9", GPS
    out = io.BytesIO()
    scene.save(out, "JPEG", exif=exif, comment=b"taken-at-the-garden-centre", quality=quality)
    return out.getvalue()


def _noise(n: int, seed: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(f"noise-{seed}".encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((20, 90, 200, 255), (50, 50, 250, 150))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(out, "WEBP")
    return out.getvalue()


def not_photos() -> dict[str, bytes]:
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    return {
        "html.jpg": b"<!doctype html><html><script>alert(document.cookie)</script></html>",
        "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>',
        "letter.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "random.jpg": _noise(5000, 3),
        "cut-short.jpg": noise_jpeg(200, 150)[:700],  # a JPEG whose pixels stop half way
        "animation.gif": gif.getvalue(),  # a real image, but not one of ours
    }


def bomb_png() -> bytes:
    """A tiny file that claims 20000 x 20000 pixels (400 megapixels)."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


def exif_of(jpeg: bytes) -> dict:
    with Image.open(io.BytesIO(jpeg)) as image:
        return {"exif": dict(image.getexif()), "gps": image.getexif().get_ifd(ExifTags.IFD.GPSInfo),
                "info": {k for k in image.info if k not in ("jfif", "jfif_version", "jfif_unit", "jfif_density")},
                "format": image.format, "size": image.size}


# --- the world: Amy at Northfield with consent to photographs --------------------------------------
@pytest.fixture
def amy(app, world, system):
    lid = world["learners"]["amy"]
    app.record_consent(system, lid, consent="photographs", given=True, reason="Amy and her mum said yes")
    return {"lid": lid, "target": world["amy"]["target"], "outcome": world["amy"]["outcome"]}


@pytest.fixture
def tutor(web):
    assert sign_in(web, "tutor@example.org").status_code == 302
    return web


def csrf(client) -> str:
    return token_of(client.get("/").get_data(as_text=True))


def post_record(client, lid: str, target: str, photo: bytes | None, *, name="photo.jpg", again: dict | None = None):
    """The record form as the outbox sends it (multipart with a photo); ``again``: the
    very same fields once more (a retry after a lost answer). Returns (answer, fields)."""
    fields = again or {"id": str(uuid.uuid4()), "target_id": target, "rating": "secure", "context": "community",
                       "note": "Paid for her ticket",
                       "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()}
    body = {"csrf_token": csrf(client), **fields}
    if photo is not None:
        body["photo"] = (io.BytesIO(photo), name)
    response = client.post(f"/learners/{lid}/observations", data=body, content_type="multipart/form-data",
                           headers={"X-Outbox": "1"})
    return response, fields


def photo_events(app, system, lid) -> list:
    return [e for e in app.learner_events(system, lid) if type(e).__name__ == "PhotoAttached"]


def photo_path(lid, oid, pid, thumb=False) -> str:
    return f"/learners/{lid}/observations/{oid}/photos/{pid}" + ("/thumbnail" if thumb else "")


# --- what is kept --------------------------------------------------------------------------------
def test_a_photo_is_kept_by_its_content_upright_without_its_metadata():
    sent = noise_jpeg(2400, 1800, orientation=6)
    assert exif_of(sent)["gps"] == GPS  # the upload says where it was taken
    kept = images.keep(sent)
    seen = exif_of(kept.jpeg)
    assert seen["format"] == "JPEG" and seen["exif"] == {} and seen["gps"] == {} and seen["info"] == set()
    # Turned as the camera meant (orientation 6: a quarter turn), at most 1600 a side.
    assert seen["size"] == (kept.width, kept.height) == (1200, 1600)
    for needle in (b"SecretCamCo", b"PocketPhone", b"garden-centre", b"Exif"):
        assert needle not in kept.jpeg and needle not in kept.thumb
    assert max(exif_of(kept.thumb)["size"]) == images.THUMB_SIDE
    assert kept.sha256 == hashlib.sha256(kept.jpeg).hexdigest()
    assert kept.received_sha256 == hashlib.sha256(sent).hexdigest()
    # PNG (transparent parts on white) and WebP are kept too, as JPEG.
    for data, size in ((png_with_alpha(), (300, 200)), (webp(), (320, 240))):
        other = images.keep(data)
        assert exif_of(other.jpeg)["format"] == "JPEG" and (other.width, other.height) == size
    corner = Image.open(io.BytesIO(images.keep(png_with_alpha()).jpeg)).getpixel((5, 5))
    assert min(corner) > 240  # white, not black


@pytest.mark.parametrize("name", list(not_photos()))
def test_what_is_not_a_photo_is_refused_in_words(name):
    with pytest.raises(RuleBroken) as refused:
        images.keep(not_photos()[name])
    assert (refused.value.field, refused.value.message, refused.value.status) == ("photo", NOT_A_PHOTO, 422)


def test_a_decompression_bomb_and_an_oversized_file_are_refused_before_decoding():
    bomb = bomb_png()
    assert len(bomb) < 100_000
    with pytest.raises(RuleBroken) as refused:
        images.keep(bomb)
    assert "too many pixels" in refused.value.message
    with pytest.raises(RuleBroken) as refused:
        images.keep(b"\xff\xd8" + b"0" * images.MAX_UPLOAD_BYTES)
    assert "too big" in refused.value.message


# --- the record form ------------------------------------------------------------------------------
def test_recording_with_a_photo_through_the_form_serves_it_without_its_gps(app, system, amy, tutor, projector):
    sent = noise_jpeg()
    response, fields = post_record(tutor, amy["lid"], amy["target"], sent)
    oid = fields["id"]
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "Recorded" in response.get_data(as_text=True)
    [event] = photo_events(app, system, amy["lid"])
    assert (event.observation_id, event.content_type) == (oid, "image/jpeg")
    assert event.received_sha256 == hashlib.sha256(sent).hexdigest()

    served = tutor.get(photo_path(amy["lid"], oid, event.photo_id))
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.headers["Cache-Control"] == "private, no-store"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    assert served.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    disposition = served.headers["Content-Disposition"]
    assert re.fullmatch(r'inline; filename="photo-\d{4}-\d\d-\d\d-[0-9a-f]{8}\.jpg"; filename\*=UTF-8\'\'photo-[-0-9a-f]+\.jpg',
                        disposition), disposition
    body = served.get_data()
    assert hashlib.sha256(body).hexdigest() == event.sha256
    seen = exif_of(body)
    assert seen["gps"] == {} and seen["exif"] == {} and seen["info"] == set()
    assert b"SecretCamCo" not in body and b"garden-centre" not in body
    thumb = tutor.get(photo_path(amy["lid"], oid, event.photo_id, thumb=True))
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert hashlib.sha256(thumb.get_data()).hexdigest() == event.thumb_sha256
    assert thumb.headers["Cache-Control"] == "private, no-store"
    # Each look is in the access log.
    actions = [e["action"] for e in app.vault.access.entries(amy["lid"])]
    assert actions[-2:] == ["photo", "photo thumbnail"]

    # The evidence list and the observation page show the thumbnail and link to the photo.
    evidence = tutor.get(f"/learners/{amy['lid']}/evidence").get_data(as_text=True)
    assert f'src="{photo_path(amy["lid"], oid, event.photo_id, thumb=True)}"' in evidence
    assert f'href="{photo_path(amy["lid"], oid, event.photo_id)}"' in evidence
    page = tutor.get(f"/learners/{amy['lid']}/observations/{oid}").get_data(as_text=True)
    assert f'src="{photo_path(amy["lid"], oid, event.photo_id, thumb=True)}"' in page
    assert "Remove this photo" in page and "Use in the annual-review pack" not in page  # a tutor does not choose


def test_a_retry_after_a_lost_answer_stores_the_photo_once(app, system, amy, tutor):
    sent = noise_jpeg(seed=11)
    first, fields = post_record(tutor, amy["lid"], amy["target"], sent)
    oid = fields["id"]
    kept = app.photo_store.count()
    position = app.recorder.max_notification_id()
    again, _ = post_record(tutor, amy["lid"], amy["target"], sent, again=fields)
    body = again.get_data(as_text=True)
    assert (first.status_code, again.status_code) == (201, 200)
    assert "Already recorded" in body
    assert app.recorder.max_notification_id() == position
    assert app.photo_store.count() == kept == 1
    assert len(photo_events(app, system, amy["lid"])) == 1
    assert len([e for e in app.learner_events(system, amy["lid"]) if type(e).__name__ == "ObservationRecorded"
                and e.observation_id == oid]) == 1


@pytest.mark.parametrize("name", list(not_photos()))
def test_the_form_refuses_what_is_not_a_photo_and_writes_nothing(app, amy, tutor, name):
    position, kept = app.recorder.max_notification_id(), app.photo_store.count()
    response, _ = post_record(tutor, amy["lid"], amy["target"], not_photos()[name], name=name)
    assert response.status_code == 422
    assert NOT_A_PHOTO in response.get_data(as_text=True)
    assert "Photo:" in response.get_data(as_text=True)  # the refusal names its field
    assert app.recorder.max_notification_id() == position  # not the observation either
    assert app.photo_store.count() == kept


def test_an_upload_over_the_limit_is_refused_in_words(app, amy, tutor):
    position = app.recorder.max_notification_id()
    response, _ = post_record(tutor, amy["lid"], amy["target"], b"\xff\xd8" + b"0" * (images.MAX_UPLOAD_BYTES + 300_000))
    assert response.status_code == 413
    assert "too big" in response.get_data(as_text=True)
    assert app.recorder.max_notification_id() == position
    # Other forms keep the 1 MB limit.
    big = tutor.post(f"/learners/{amy['lid']}/consents", data={"csrf_token": csrf(tutor), "reason": "x" * 1_100_000})
    assert big.status_code == 413


# --- consent ---------------------------------------------------------------------------------------
def test_without_consent_there_is_no_camera_and_the_server_refuses(app, system, world, web, projector):
    lid, target = world["learners"]["amy"], world["amy"]["target"]
    assert sign_in(web, "tutor@example.org").status_code == 302

    def camera_offered() -> bool:
        text = web.get(f"/learners/{lid}").get_data(as_text=True)
        assert "Tap a rating to save" in text  # the record form is there
        return 'type="file"' in text and "Add a photo" in text and "photos.js" in text

    def refused() -> None:
        position, kept = app.recorder.max_notification_id(), app.photo_store.count()
        response, _ = post_record(web, lid, target, noise_jpeg(seed=5))
        assert response.status_code == 422
        assert NO_CONSENT in html.unescape(response.get_data(as_text=True))
        assert (app.recorder.max_notification_id(), app.photo_store.count()) == (position, kept)

    # Never recorded: not given.
    assert not camera_offered()
    refused()
    app.record_consent(system, lid, consent="photographs", given=False, reason="No photographs, please")
    assert not camera_offered()
    refused()
    app.record_consent(system, lid, consent="photographs", given=True, reason="Asked again: yes")
    assert camera_offered()
    response, _ = post_record(web, lid, target, noise_jpeg(seed=5))
    assert response.status_code == 201
    # Withdrawn again: the camera goes, a new photo is refused; the one kept stays until removed.
    app.record_consent(system, lid, consent="photographs", given=False, reason="Changed her mind")
    assert not camera_offered()
    refused()
    # Today, which may be on a classroom screen, never says anything about it.
    assert "photo" not in web.get("/").get_data(as_text=True).lower()


# --- who sees a photo -------------------------------------------------------------------------------
@pytest.fixture
def photographed(app, system, amy):
    body = observation(amy["target"], "secure")
    written = app.record_observation_with_photo(system, amy["lid"], photo=noise_jpeg(seed=21), **body)
    return {**amy, "oid": body["observation_id"], "pid": written.result["photo_id"]}


@pytest.mark.parametrize("email, status", [
    ("tutor@example.org", 200),  # Amy is on the caseload
    ("lead@example.org", 200),  # Northfield's SEND lead
    ("auditor@example.org", 200),  # reads every record (and is logged)
    ("tutor2@example.org", 404),  # a Northfield tutor without Amy on the caseload
    ("lead.riverside@example.org", 404),  # another provider's SEND lead
    ("admin@example.org", 404),  # no learner data at all
])
def test_a_photo_is_served_only_to_those_who_see_the_learner(app, system, web, photographed, email, status):
    if email == "tutor2@example.org":
        assert app.actor_for(app.user(email)).provider == "northfield"
    assert sign_in(web, email).status_code == 302
    p = photographed
    for path in (photo_path(p["lid"], p["oid"], p["pid"]), photo_path(p["lid"], p["oid"], p["pid"], thumb=True)):
        response = web.get(path)
        assert response.status_code == status, (email, path)
        if status == 200:
            assert response.mimetype == "image/jpeg"
            assert response.headers["Cache-Control"] == "private, no-store"
        else:
            assert response.mimetype == "text/html" and b"\xff\xd8" not in response.get_data()
            assert "Amy" not in response.get_data(as_text=True)


def test_another_providers_tutor_and_a_photo_through_another_observation_get_404(app, system, web, photographed, world):
    p = photographed
    app.add_user(system, email="tutor.riverside@example.org", role="tutor", password=PASSWORD, provider="riverside")
    app.add_to_caseload(system, "tutor.riverside@example.org", world["learners"]["ben"])
    assert sign_in(web, "tutor.riverside@example.org").status_code == 302
    assert web.get(photo_path(p["lid"], p["oid"], p["pid"])).status_code == 404
    # The photo's own learner, in sight, but named through another observation or learner: not there.
    assert sign_in(web, "tutor@example.org").status_code == 302
    other = observation(p["target"], "emerging")
    app.record_observation(system, p["lid"], **other)
    assert web.get(photo_path(p["lid"], other["observation_id"], p["pid"])).status_code == 404
    assert web.get(photo_path(world["learners"]["ben"], p["oid"], p["pid"])).status_code == 404
    assert web.get(photo_path(p["lid"], p["oid"], str(uuid.uuid4()))).status_code == 404
    with pytest.raises(NotFound):
        app.photo_file(app.actor_for(app.user("tutor2@example.org")), p["lid"], observation_id=p["oid"],
                       photo_id=p["pid"])


def test_a_photo_changed_on_disk_is_refused_not_served(app, system, photographed):
    p = photographed
    conn = app.photo_store._conn
    [sealed] = conn.execute("SELECT photo FROM photo_files WHERE photo_id=?", [p["pid"]]).fetchone()
    flipped = bytes(sealed[:40]) + bytes([sealed[40] ^ 1]) + bytes(sealed[41:])
    conn.execute("UPDATE photo_files SET photo=? WHERE photo_id=?", [flipped, p["pid"]])
    from rarpa.store.photos import PhotoDamaged
    with pytest.raises(PhotoDamaged):
        app.photo_file(system, p["lid"], observation_id=p["oid"], photo_id=p["pid"])


# --- the API ------------------------------------------------------------------------------------------
def test_the_api_adds_a_photo_once_lists_it_and_serves_it(app, system, web, amy):
    token = app.create_token("tutor@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    body = observation(amy["target"], "secure")
    app.record_observation(system, amy["lid"], **body)
    url = f"/api/v1/learners/{amy['lid']}/observations/{body['observation_id']}/photos"
    sent = noise_jpeg(seed=31)

    def post(data: bytes, name="p.jpg"):
        return web.post(url, headers=headers, data={"photo": (io.BytesIO(data), name)}, content_type="multipart/form-data")

    first = post(sent)
    assert first.status_code == 201, first.get_data(as_text=True)
    described = first.get_json()
    assert described["content_type"] == "image/jpeg" and described["chosen_for_pack"] is False
    assert first.headers["Location"] == described["href"]
    again = post(sent)
    assert again.status_code == 200 and again.get_json() == described
    assert len(photo_events(app, system, amy["lid"])) == 1

    listed = web.get(url, headers=headers).get_json()["photos"]
    assert [p["id"] for p in listed] == [described["id"]]
    image = web.get(described["href"], headers=headers)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert image.headers["Cache-Control"] == "private, no-store"
    assert exif_of(image.get_data())["gps"] == {}
    thumb = web.get(described["thumbnail_href"], headers=headers)
    assert max(exif_of(thumb.get_data())["size"]) == images.THUMB_SIDE

    position = app.recorder.max_notification_id()
    for name, data in not_photos().items():
        refused = post(data, name)
        assert refused.status_code == 422 and NOT_A_PHOTO in refused.get_json()["detail"], name
    as_json = web.post(url, headers=headers, json={"photo": "aGVsbG8="})
    assert as_json.status_code == 415
    empty = web.post(url, headers=headers, data={"note": "no file"}, content_type="multipart/form-data")
    assert empty.status_code == 422 and empty.get_json()["errors"] == {"photo": ["is required"]}
    assert app.recorder.max_notification_id() == position
    # Another provider's SEND lead: not there.
    other = {"Authorization": f"Bearer {app.create_token('lead.riverside@example.org')}"}
    assert web.get(described["href"], headers=other).status_code == 404
    assert post(sent).status_code == 200  # (the tutor still may)


def test_the_api_refuses_a_photo_without_consent(app, system, web, world):
    lid = world["learners"]["amy"]
    body = observation(world["amy"]["target"], "secure")
    app.record_observation(system, lid, **body)
    position = app.recorder.max_notification_id()
    response = web.post(f"/api/v1/learners/{lid}/observations/{body['observation_id']}/photos",
                        headers={"Authorization": f"Bearer {app.create_token('tutor@example.org')}"},
                        data={"photo": (io.BytesIO(noise_jpeg()), "p.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert NO_CONSENT in response.get_json()["detail"]
    assert app.recorder.max_notification_id() == position and app.photo_store.count() == 0


# --- the annual-review pack -------------------------------------------------------------------------
def pdf_pictures(pdf: bytes) -> dict[str, tuple[int, int]]:
    """Each distinct picture in a PDF (pages may share one), by its data's digest: its size."""
    from pypdf import PdfReader

    return {hashlib.sha256(image.data).hexdigest(): image.image.size
            for page in PdfReader(io.BytesIO(pdf)).pages for image in page.images}


def test_the_send_lead_chooses_photos_for_the_pack_page_and_pdf(app, system, web, photographed, projector):
    p = photographed
    pack_url = f"/learners/{p['lid']}/annual-review"
    assert sign_in(web, "tutor@example.org").status_code == 302
    refused = web.post(photo_path(p["lid"], p["oid"], p["pid"]) + "/pack", data={"csrf_token": csrf(web), "chosen": "yes"})
    assert refused.status_code == 403
    assert "Photos for the pack" not in web.get(pack_url).get_data(as_text=True)  # the tutor does not choose

    assert sign_in(web, "lead@example.org").status_code == 302
    page = web.get(pack_url).get_data(as_text=True)
    assert "Photos for the pack" in page and "Use in the pack" in page
    assert 'class="pack-photos"' not in page  # none chosen yet
    before = datetime.now(timezone.utc)
    chosen = web.post(photo_path(p["lid"], p["oid"], p["pid"]) + "/pack",
                      data={"csrf_token": csrf(web), "chosen": "yes", "back": "review",
                            "from": "2020-01-01", "to": "not a date"})
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith(f"{pack_url}?from=2020-01-01#p-{p['pid']}")
    page = web.get(pack_url).get_data(as_text=True)
    pack_part = page.split('<div class="pack">', 1)[1].split('id="pack-photos"', 1)[0]
    assert f'src="{photo_path(p["lid"], p["oid"], p["pid"])}"' in pack_part
    assert "Take it out of the pack" in page

    pdf = web.get(pack_url + ".pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    pictures = pdf_pictures(pdf.get_data())
    assert len(pictures) == 1
    assert list(pictures.values())[0] == (1200, 900)  # the photo itself, as kept

    # As at an instant before it was chosen: not in that pack.
    earlier = web.get(pack_url, query_string={"as_at": before.isoformat()})
    assert earlier.status_code == 200
    assert 'class="pack-photos"' not in earlier.get_data(as_text=True)
    # Taken out again: the PDF has no picture.
    web.post(photo_path(p["lid"], p["oid"], p["pid"]) + "/pack", data={"csrf_token": csrf(web), "chosen": "no"})
    assert pdf_pictures(web.get(pack_url + ".pdf").get_data()) == {}
    kinds = [type(e).__name__ for e in app.learner_events(system, p["lid"])]
    assert kinds[-2:] == ["PhotoChosenForPack", "PhotoChosenForPack"]


def test_the_pdf_fetcher_takes_only_the_files_it_is_handed():
    from web.pdf import BASE_URL, STATIC_URL, StaticFilesOnly, FetchRefused, render_pdf
    from web.photos import PDF_PHOTO

    url = PDF_PHOTO.format(id="abc")
    assert url.startswith(BASE_URL) and not url.startswith(STATIC_URL)
    fetch = StaticFilesOnly(given={url: (b"\xff\xd8jpeg", "image/jpeg")})
    handed = fetch(url)
    assert (handed.read(), handed.content_type) == (b"\xff\xd8jpeg", "image/jpeg")
    for other in (PDF_PHOTO.format(id="abd"), "data:image/jpeg;base64,/9j/", "file:///etc/passwd"):
        with pytest.raises(FetchRefused):
            fetch(other)
    with pytest.raises(ValueError):
        render_pdf("<p>x</p>", {"file:///etc/passwd": (b"", "image/jpeg")})


# --- removing a photo ----------------------------------------------------------------------------------
def test_removing_a_photo_needs_a_reason_then_deletes_it_for_good(app, system, web, photographed, projector):
    p = photographed
    assert sign_in(web, "tutor@example.org").status_code == 302
    url = photo_path(p["lid"], p["oid"], p["pid"]) + "/removal"
    page = web.get(url)
    assert page.status_code == 200 and "deleted for good" in page.get_data(as_text=True)
    position = app.recorder.max_notification_id()
    refused = web.post(url, data={"csrf_token": csrf(web), "reason": "  "})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Enter a reason for removing the photo" in text and 'href="#reason"' in text
    assert app.recorder.max_notification_id() == position and app.photo_store.count() == 1

    done = web.post(url, data={"csrf_token": csrf(web), "reason": "Another learner is in it"})
    assert done.status_code == 302
    assert app.photo_store.count() == 0
    assert web.get(photo_path(p["lid"], p["oid"], p["pid"])).status_code == 404
    observation_page = web.get(done.headers["Location"]).get_data(as_text=True)
    assert "The photo was removed and deleted" in observation_page
    assert "Why: Another learner is in it" in observation_page
    [removed] = [e for e in app.learner_events(system, p["lid"]) if type(e).__name__ == "PhotoRemoved"]
    assert (removed.photo_id, removed.reason) == (p["pid"], "Another learner is in it")
    assert web.get(url).status_code == 404  # nothing left to remove
    # The evidence list shows no thumbnail for it any more.
    assert p["pid"] not in web.get(f"/learners/{p['lid']}/evidence").get_data(as_text=True)


# --- the timeline -----------------------------------------------------------------------------------------
def test_the_timeline_says_a_photo_was_kept_and_a_correction_still_replaces_the_observation(app, system, photographed):
    from rarpa.read import timeline

    p = photographed
    app.correct_observation(system, p["lid"], observation_id=p["oid"], reason="Wrong rating", rating="developing")
    entries = timeline.entries(app.learner_events(system, p["lid"]))
    recorded = next(e for e in entries if e["type"] == "ObservationRecorded" and e["observation_id"] == p["oid"])
    photo = next(e for e in entries if e["type"] == "PhotoAttached")
    corrected = next(e for e in entries if e["type"] == "ObservationCorrected")
    assert corrected["replaces"] == recorded["position"]
    assert photo["kind"] == "Photo" and "a photo" in photo["what"] and photo["replaced_by"] is None


# --- erasure -------------------------------------------------------------------------------------------
@pytest.mark.sqlite_file  # on PostgreSQL: tests/test_postgres.py (the photo table's files)
def test_after_erasure_the_photo_is_in_no_file_and_cannot_be_opened(app, system, photographed, projector, settings):
    p = photographed
    served = app.photo_file(system, p["lid"], observation_id=p["oid"], photo_id=p["pid"])
    thumb = app.photo_file(system, p["lid"], observation_id=p["oid"], photo_id=p["pid"], kind="thumb")
    [sealed] = app.photo_store._conn.execute("SELECT photo FROM photo_files WHERE photo_id=?", [p["pid"]]).fetchone()
    key = app.vault.key_for(p["lid"], create=False)
    projector.catch_up()
    folder = Path(settings.db).parent
    needles = {"photo": served[len(served) // 2:len(served) // 2 + 48], "thumbnail": thumb[len(thumb) // 2:][:48],
               "sealed photo": bytes(sealed)[2000:2048], "learner key": key}
    # Before: only the sealed photo (and the key in the vault) are in the files; the photo never is.
    before = traces(folder, needles)
    assert any(t.endswith(": sealed photo") for t in before) and any(t.endswith(": learner key") for t in before)
    assert not [t for t in before if t.endswith((": photo", ": thumbnail"))], before

    app.erase_learner(system, p["lid"], reason="Erasure request")
    projector.catch_up()
    assert traces(folder, needles) == []
    assert app.photo_store.count() == 0
    with pytest.raises(StreamErased):
        app.photo_store.put(p["lid"], str(uuid.uuid4()), photo=b"x", thumb=b"y")  # no key to seal with
    assert projector.reader().execute("SELECT COUNT(*) FROM photos WHERE learner_id=?", [p["lid"]]).fetchone()[0] == 0


def traces(folder: Path, needles: dict[str, bytes]) -> list[str]:
    found = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {what}" for what, needle in needles.items() if needle in data]
    return found


# --- the read model --------------------------------------------------------------------------------------
def test_the_read_model_holds_what_a_photo_is_never_its_bytes(app, system, photographed, projector, settings):
    projector.catch_up()
    served = app.photo_file(system, photographed["lid"], observation_id=photographed["oid"],
                            photo_id=photographed["pid"])
    row = dict(projector.reader().execute("SELECT * FROM photos").fetchone())
    assert row["id"] == photographed["pid"] and row["status"] == "kept" and row["width"] == 1200
    views = Path(settings.views).read_bytes() + (Path(settings.views + "-wal").read_bytes()
                                                  if os.path.exists(settings.views + "-wal") else b"")
    assert served[1000:1048] not in views
    before = projector.dump()
    projector.rebuild()
    assert projector.dump() == before


# --- the aggregate: a snapshot keeps what it knows of photos ------------------------------------------
def test_a_snapshot_keeps_the_photos_and_their_choice(app, system, photographed):
    p = photographed
    app.choose_photo_for_pack(system, p["lid"], photo_id=p["pid"], chosen=True)
    app.take_snapshot(uuid.UUID(p["lid"]))
    app.cache.evict(uuid.UUID(p["lid"]))
    learner = app.learner(system, p["lid"])
    photo = learner.photo(p["pid"])
    assert (photo.observation_id, photo.chosen, photo.removed) == (p["oid"], True, False)
    # The same file again for the same observation is still a repeat after the snapshot.
    again = app.attach_photo(system, p["lid"], observation_id=p["oid"], photo=noise_jpeg(seed=21))
    assert again.created is False and again.result["photo_id"] == p["pid"]


def test_as_at_an_instant_before_it_was_kept_the_evidence_shows_no_photo(app, system, amy, web):
    body = observation(amy["target"], "secure")
    app.record_observation(system, amy["lid"], **body)
    between = datetime.now(timezone.utc)
    pid = app.attach_photo(system, amy["lid"], observation_id=body["observation_id"], photo=noise_jpeg(seed=41)).result["photo_id"]
    assert sign_in(web, "tutor@example.org").status_code == 302
    url = f"/learners/{amy['lid']}/evidence"
    thumb = photo_path(amy["lid"], body["observation_id"], pid, thumb=True)
    assert thumb in web.get(url).get_data(as_text=True)
    then = web.get(url, query_string={"as_at": between.isoformat()}).get_data(as_text=True)
    assert f'id="o-{body["observation_id"]}"' in then and thumb not in then
    observation_then = web.get(f"/learners/{amy['lid']}/observations/{body['observation_id']}",
                               query_string={"as_at": between.isoformat()}).get_data(as_text=True)
    assert thumb not in observation_then and "Remove this photo" not in observation_then

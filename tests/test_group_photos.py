"""Photos on the group page without scripts (web/group.py), through Flask's
test client: a photo control per learner who has agreed to photographs and
none at all for the others; the plain form post is multipart, with a
``photo-<learner id>`` file per learner, every photo checked (its content
and consent) with the rest of the form before anything is written; a
refused photo is named beside that learner's photo field in plain words and
nothing is written; a repeat of the same form stores nothing new.

The group (tests/test_group_pages.py's fixture): Amy and Cara have said yes
to photographs, Dan has never been asked (which counts as no)."""

from __future__ import annotations

import hashlib
import io
import re
from html import unescape

import pytest

from tests.test_group_pages import group, messages_of, position, the_form  # noqa: F401  (group: a fixture)
from tests.test_photos import exif_of, noise_jpeg, not_photos
from tests.test_web import page, sign_in, token_of
from web import photos as web_photos


@pytest.fixture
def photographed_group(app, system, group):  # noqa: F811
    ids = group["ids"]
    for key in ("amy", "cara"):
        app.record_consent(system, ids[key], consent="photographs", given=True, reason="Said yes to photos")
    return group


def ready_form(client, ids: dict, who=("amy", "cara", "dan")) -> tuple[str, dict]:
    """The form for the group, as a browser would post it, with a rating each."""
    html, fields = the_form(client, [ids[k] for k in who])
    for k in who:
        fields[f"rating-{ids[k]}"] = "developing"
    return html, fields


def post(client, fields: dict, photos: dict[str, bytes]):
    """The form as multipart, with ``photos`` as files by learner id (a file input
    left empty posts an empty part, as a browser does)."""
    token = token_of(page(client, "/")[1])
    body = {"csrf_token": token, **fields}
    for lid in fields["learner"]:
        data = photos.get(lid)
        body[f"photo-{lid}"] = (io.BytesIO(data or b""), "IMG_0042.jpg" if data else "")
    return client.post("/group", data=body, content_type="multipart/form-data")


def photo_events(app, system, lid: str) -> list:
    return [e for e in app.learner_events(system, lid) if type(e).__name__ == "PhotoAttached"]


def section(html: str, lid: str) -> str:
    """One learner's part of the page."""
    start = html.index(f'id="learner-{lid}"')
    return html[start:html.index("</section>", start)]


def written_nothing(app, before: tuple) -> bool:
    return (position(app), app.photo_store.count()) == before


# --- the camera ------------------------------------------------------------------------------
def test_a_camera_for_each_learner_who_agreed_and_none_at_all_for_the_others(web, app, system, photographed_group):
    ids = photographed_group["ids"]
    app.record_consent(system, ids["dan"], consent="photographs", given=False, reason="No photos, please")
    sign_in(web)
    for path in ("/group?" + "&".join(f"learner={ids[k]}" for k in ("amy", "cara", "dan")), "/group"):
        html = page(web, path)[1]
        form = html[html.index('id="group-record"') - 200:]
        assert 'enctype="multipart/form-data"' in form[:400]
        for key, name in (("amy", "Amy"), ("cara", "Cara")):
            part = section(html, ids[key])
            [tag] = re.findall(r'<input type="file"[^>]*>', part)
            assert f'name="photo-{ids[key]}"' in tag and f'id="photo-{ids[key]}"' in tag
            assert 'accept="image/*"' in tag and 'capture="environment"' in tag
            assert f"Only {name} in the photo" in part
            assert f'<label for="photo-{ids[key]}" class="btn photo-add">Add a photo' in part
        dan = section(html, ids["dan"])
        assert 'type="file"' not in dan
        assert "photo" not in dan.lower()  # nothing says why, either
        assert "photos.js" in html
        assert "consent" not in html.lower() and "agreed" not in html.lower()
    # Nobody in sight has agreed: no camera, and the photo script is not even loaded.
    for key in ("amy", "cara"):
        app.record_consent(system, ids[key], consent="photographs", given=False, reason="Changed their minds")
    html = page(web, "/group")[1]
    assert 'type="file"' not in html and "photos.js" not in html


# --- the plain form post ----------------------------------------------------------------------
def test_photos_are_stored_for_the_right_learners_only_and_the_same_post_again_stores_nothing(
        web, app, system, photographed_group):
    ids = photographed_group["ids"]
    sign_in(web)
    _, fields = ready_form(web, ids)
    sent = {ids["amy"]: noise_jpeg(seed=31), ids["cara"]: noise_jpeg(seed=32)}
    assert sum(map(len, sent.values())) > 1024 * 1024  # more than other forms may post
    before = position(app), app.photo_store.count()

    response = post(web, fields, sent)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert app.photo_store.count() == before[1] + 2
    for key in ("amy", "cara"):
        lid = ids[key]
        [event] = photo_events(app, system, lid)
        assert event.observation_id == fields[f"id-{lid}"]  # with this learner's own observation
        assert event.received_sha256 == hashlib.sha256(sent[lid]).hexdigest()  # and this learner's own photo
        kept = app.photo_file(system, lid, observation_id=event.observation_id, photo_id=event.photo_id)
        assert exif_of(kept)["gps"] == {} and b"SecretCamCo" not in kept
    assert photo_events(app, system, ids["dan"]) == []
    assert fields[f"id-{ids['dan']}"] in app.learner(system, ids["dan"]).observations  # recorded, without a photo

    # The evidence shows each photo's thumbnail on that learner's page.
    for key in ("amy", "cara"):
        lid = ids[key]
        [event] = photo_events(app, system, lid)
        evidence = page(web, f"/learners/{lid}/evidence")[1]
        assert (f'src="/learners/{lid}/observations/{event.observation_id}/photos/{event.photo_id}/thumbnail"'
                in evidence)

    # The very same form again (a double tap, a resubmit): nothing new.
    after = position(app), app.photo_store.count()
    again = post(web, fields, sent)
    assert again.status_code == 303
    assert (position(app), app.photo_store.count()) == after
    assert [len(photo_events(app, system, ids[k])) for k in ("amy", "cara", "dan")] == [1, 1, 0]


def test_a_photo_for_a_learner_without_consent_is_refused_beside_it_and_nothing_is_written(
        web, app, system, photographed_group):
    ids = photographed_group["ids"]
    sign_in(web)
    _, fields = ready_form(web, ids)
    before = position(app), app.photo_store.count()
    # Dan has no camera on the page; a post with a photo of him anyway (an old page, a crafted post).
    response = post(web, fields, {ids["amy"]: noise_jpeg(seed=41), ids["dan"]: noise_jpeg(seed=42)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    said = "A photo of Dan O. cannot be kept: Dan O. has not agreed to photos. Save again without it"
    assert messages_of(html) == {f"photo-{ids['dan']}": said}
    dan = unescape(section(html, ids["dan"]))
    assert f'id="photo-{ids["dan"]}"' in dan and said in dan  # beside his part of the form
    assert 'type="file"' not in dan  # and still no camera for him
    amy = section(html, ids["amy"])
    assert "The photo you chose was not saved with the form: add it again." in amy  # a file cannot be kept
    assert written_nothing(app, before)  # not Amy's photo, nor anyone's observation


def test_consent_withdrawn_after_the_page_was_shown_refuses_that_photo_and_writes_nothing(
        web, app, system, photographed_group):
    ids = photographed_group["ids"]
    sign_in(web)
    html, fields = ready_form(web, ids)
    assert f'name="photo-{ids["cara"]}"' in html
    app.record_consent(system, ids["cara"], consent="photographs", given=False, reason="Cara changed her mind")
    before = position(app), app.photo_store.count()
    response = post(web, fields, {ids["amy"]: noise_jpeg(seed=43), ids["cara"]: noise_jpeg(seed=44)})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert messages_of(html) == {
        f"photo-{ids['cara']}": "A photo of Cara P. cannot be kept: Cara P. has not agreed to photos. Save again without it"}
    assert 'type="file"' not in section(html, ids["cara"])  # her camera has gone
    assert written_nothing(app, before)
    # Saved again without her photo (and Amy's chosen again): everyone is recorded.
    response = post(web, fields, {ids["amy"]: noise_jpeg(seed=43)})
    assert response.status_code == 303
    assert [len(photo_events(app, system, ids[k])) for k in ("amy", "cara", "dan")] == [1, 0, 0]


@pytest.mark.parametrize("name, rated", [("html.jpg", True), ("random.jpg", True), ("cut-short.jpg", True),
                                         ("html.jpg", False)])
def test_what_is_not_a_photo_is_refused_beside_that_learners_photo_and_nothing_is_written(
        web, app, system, photographed_group, name, rated):
    ids = photographed_group["ids"]
    sign_in(web)
    _, fields = ready_form(web, ids)
    if not rated:
        del fields[f"rating-{ids['cara']}"]  # and Cara has no rating: both are said at once
    before = position(app), app.photo_store.count()
    response = post(web, fields, {ids["amy"]: noise_jpeg(seed=51), ids["cara"]: not_photos()[name]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    said = ("The file chosen for Cara P. is not a photo we can keep (JPEG, PNG or WebP). "
            "Choose another photo, or save without one")
    expected = {f"photo-{ids['cara']}": said}
    if not rated:
        expected = {f"rating-{ids['cara']}": "Choose a rating for Cara P.", **expected}
    assert messages_of(html) == expected
    cara = unescape(section(html, ids["cara"]))
    error = re.search(rf'<p class="field-error" id="photo-{ids["cara"]}-error">(.*?)</p>', cara, re.S)
    assert error and said in error.group(1)  # beside her photo field
    assert f'aria-describedby="photo-{ids["cara"]}-hint photo-{ids["cara"]}-error"' in cara
    assert written_nothing(app, before)


def test_photos_too_big_together_are_refused_in_words_and_nothing_is_written(
        web, app, photographed_group, monkeypatch):
    ids = photographed_group["ids"]
    sign_in(web)
    _, fields = ready_form(web, ids)
    sent = {ids["amy"]: noise_jpeg(seed=61), ids["cara"]: noise_jpeg(seed=62)}
    limit = len(sent[ids["amy"]]) + 64 * 1024  # one photo fits, two do not
    monkeypatch.setitem(web_photos.UPLOAD_LIMITS, "group.save", (limit, web_photos.GROUP_TOO_BIG))
    before = position(app), app.photo_store.count()
    response = post(web, fields, sent)
    assert response.status_code == 413
    assert "These photos are too big together" in unescape(response.get_data(as_text=True))
    assert written_nothing(app, before)

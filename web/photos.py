"""Photo evidence on the web: serving a photo and its thumbnail to those who
may see the learner, choosing photos for the annual-review pack, removing a
photo, and the JSON API's photo routes. Taking a photo is part of recording
(web/pages.py ``record``: the record form posts the photo with its
observation); the photo itself is checked and kept by rarpa/service/photos.py.

A photo is only ever sent as ``image/jpeg`` (every photo is re-encoded when
kept), with ``nosniff``, ``Cache-Control: private, no-store``, a sandboxing
Content-Security-Policy, ``Cross-Origin-Resource-Policy: same-origin`` and an
inline disposition whose name holds nothing about the learner: never as a
page, never from a shared cache, never embedded by another site.
"""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

from flask import Blueprint, Request, Response, abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from rarpa.read import photos as photo_reads
from rarpa.read import queries
from rarpa.service import access, images
from rarpa.service.access import NotFound
from rarpa.service.schemas import PhotoChoiceIn, PhotoRemovalIn
from web.auth import login_required
from web.common import learner_in_sight, learner_opened, services, submit
from web.downloads import content_disposition
from web.forms import Field, Form

photos = Blueprint("photos", __name__)

PHOTO = "/learners/<learner_id>/observations/<observation_id>/photos/<photo_id>"
IMAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

# The routes a photo is posted to (the record form; the API; the group form without scripts,
# a photo per learner), how big such a request may be, and what a bigger one is told.
UPLOAD_LIMIT = images.MAX_UPLOAD_BYTES + 256 * 1024  # the photo and the observation's own fields
GROUP_PHOTOS = 6  # the group form's photos (without scripts, as the camera made them) add up to 6 photos' worth
GROUP_UPLOAD_LIMIT = GROUP_PHOTOS * images.MAX_UPLOAD_BYTES + 1024 * 1024
GROUP_TOO_BIG = (f"These photos are too big together: at most {GROUP_UPLOAD_LIMIT // (1024 * 1024)} MB. Go back, "
                 "and save with fewer photos")
UPLOAD_LIMITS = {"pages.record": (UPLOAD_LIMIT, images.TOO_BIG), "api.add_photo": (UPLOAD_LIMIT, images.TOO_BIG),
                 "group.save": (GROUP_UPLOAD_LIMIT, GROUP_TOO_BIG), "family.send": (UPLOAD_LIMIT, images.TOO_BIG)}
UPLOAD_ENDPOINTS = frozenset(UPLOAD_LIMITS)

REMOVAL = Form(
    Field("reason", "Why is it being removed?", "a reason for removing the photo",
          hint="For example: another learner is in it, or the learner no longer agrees to photographs."),
)


class UploadsInMemory(Request):
    """Requests as Flask makes them, but: a request posting a photo may be up
    to its UPLOAD_LIMITS (everything else keeps MAX_CONTENT_LENGTH), one that is
    bigger is refused in words, and an uploaded file is held in memory, never
    spooled to a temporary file (a photo of a learner must not be left in
    /tmp's free blocks)."""

    def _posts_a_photo(self) -> bool:
        return self.method == "POST" and self.endpoint in UPLOAD_ENDPOINTS

    @property
    def max_content_length(self) -> int | None:
        if self._posts_a_photo() and getattr(self, "_max_content_length", None) is None:
            return UPLOAD_LIMITS[self.endpoint][0]
        return Request.max_content_length.fget(self)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()  # bounded by max_content_length

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except RequestEntityTooLarge:
            if self._posts_a_photo():
                raise RequestEntityTooLarge(UPLOAD_LIMITS[self.endpoint][1]) from None
            raise


def posted_photo(name: str = "photo") -> bytes | None:
    """The photo posted as the form's ``photo`` file (or ``name``: the group
    form's ``photo-<learner id>``), or None when none was chosen (a form with
    no file chosen posts an empty part)."""
    upload = request.files.get(name)
    return (upload.read() or None) if upload is not None else None


# --- looking at a photo ---------------------------------------------------------------
def _image(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = content_disposition("inline", name, ascii_filename=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, it is an image and nothing else: no script, no plugin, no fetch, and a
    # sandbox. (The browser's own image viewer styles the page inline: allowed, as harmless.)
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _serve(learner_id: str, observation_id: str, photo_id: str, kind: str):
    lid = learner_opened(learner_id, "photo" if kind == "photo" else "photo thumbnail")
    data = services().app.photo_file(g.actor, lid, observation_id=observation_id, photo_id=photo_id, kind=kind)
    row = photo_reads.one(services().fresh(), lid, observation_id, photo_id)
    day = (row["recorded_at"] if row else datetime.now(timezone.utc).isoformat())[:10]
    suffix = "" if kind == "photo" else "-small"
    return _image(data, f"photo-{day}-{photo_id[:8]}{suffix}.jpg")


@photos.get(PHOTO)
@login_required
def photo(learner_id, observation_id, photo_id):
    return _serve(learner_id, observation_id, photo_id, "photo")


@photos.get(PHOTO + "/thumbnail")
@login_required
def thumbnail(learner_id, observation_id, photo_id):
    return _serve(learner_id, observation_id, photo_id, "thumb")


def _photo_row(lid: str, observation_id: str, photo_id: str) -> dict:
    row = photo_reads.one(services().fresh(), lid, observation_id, photo_id)
    if row is None or row["status"] != "kept":
        raise NotFound("photo")
    return row


# --- the annual-review pack -------------------------------------------------------------
@photos.post(PHOTO + "/pack")
@login_required
def choose(learner_id, observation_id, photo_id):
    """Use this photo in the annual-review pack, or stop using it (SEND lead)."""
    lid = learner_in_sight(learner_id, access.PLAN)
    _photo_row(lid, observation_id, photo_id)
    body = {"chosen": request.form.get("chosen", ""), "reason": request.form.get("reason", "")}
    done = submit(PhotoChoiceIn, body, lambda data: services().app.choose_photo_for_pack(
        g.actor, lid, photo_id=photo_id, **data))
    if done.errors:
        abort(done.status, done.text)
    if request.form.get("back") == "review":
        period = {k: v for k in ("from", "to") if _is_day(v := request.form.get(k, ""))}
        return redirect(url_for("reviews.annual_review_page", learner_id=lid, **period) + f"#p-{photo_id}")
    return redirect(url_for("pages.observation", learner_id=lid, observation_id=observation_id) + f"#p-{photo_id}")


def _is_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def photos_to_choose(lid: str, pack: dict) -> list[dict] | None:
    """For the annual-review page: every photo of the pack's period, for a
    SEND lead to choose from (None for anyone else, and as at an instant)."""
    if pack.get("as_at") or not g.actor.may(access.PLAN):
        return None
    return photo_reads.of_pack_period(services().fresh(), lid, pack["from"], pack["to"])


PDF_PHOTO = "https://rarpa-record.invalid/photos/{id}.jpg"  # under web/pdf.py's fictitious BASE_URL


def pack_photo_files(pack: dict) -> tuple[dict[str, tuple[bytes, str]], dict[str, str]]:
    """The pack's chosen photos for its PDF, each opened through the service
    (as the person asking may see them): the files to hand to the renderer by
    URL, and each photo's URL by id. A photo that cannot be opened (removed
    since, as at an instant) is left out of the PDF."""
    given: dict[str, tuple[bytes, str]] = {}
    urls: dict[str, str] = {}
    lid = pack["learner"]["id"]
    for outcome in pack["outcomes"]:
        for p in outcome.get("photos", []):
            if p["id"] in urls:
                continue
            try:
                data = services().app.photo_file(g.actor, lid, observation_id=p["observation_id"], photo_id=p["id"])
            except NotFound:
                continue
            urls[p["id"]] = PDF_PHOTO.format(id=p["id"])
            given[urls[p["id"]]] = (data, "image/jpeg")
    return given, urls


# --- taking a photo away ------------------------------------------------------------------
@photos.route(PHOTO + "/removal", methods=["GET", "POST"])
@login_required
def remove(learner_id, observation_id, photo_id):
    """A page of its own: the photo, what removing means (deleted for good),
    and why; the reason is kept with who and when."""
    lid = (learner_opened(learner_id, "photo", access.RECORD) if request.method == "GET"
           else learner_in_sight(learner_id, access.RECORD))
    row = _photo_row(lid, observation_id, photo_id)
    errors: dict[str, list[str]] = {}
    values = {}
    status = 200
    if request.method == "POST":
        values = {"reason": request.form.get("reason", "")}
        done = submit(PhotoRemovalIn, values, lambda data: services().app.remove_photo(
            g.actor, lid, photo_id=photo_id, **data))
        if not done.errors:
            return redirect(url_for("pages.observation", learner_id=lid, observation_id=observation_id,
                                    done="photo-removed"))
        errors, status = REMOVAL.plain(done.errors), done.status
    conn = services().fresh()
    return render_template("photo_removal.html", lid=lid, photo=row, form=REMOVAL, values=values, errors=errors,
                           obs=queries.observation(conn, lid, observation_id),
                           name=queries.learner_name(conn, lid)), status


# --- what pages show ---------------------------------------------------------------------
def install(app) -> None:
    """Every template may link to a photo and its thumbnail."""

    @app.context_processor
    def photo_links() -> dict:
        def photo_url(lid: str, p: dict, kind: str = "photo") -> str:
            endpoint = "photos.photo" if kind == "photo" else "photos.thumbnail"
            return url_for(endpoint, learner_id=lid, observation_id=p["observation_id"], photo_id=p["id"])

        return {"photo_url": photo_url}

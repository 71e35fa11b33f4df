"""The transfer pack and the subject-access bundle as ZIP downloads: for the
SEND lead on the learner page, and rendered for the CLI too (`rarpa
transfer-pack`, `rarpa subject-access`), which calls ``make`` with its own
services.

- Transfer pack, for the learner's next provider: ``annual-review-pack.pdf``
  (the last 12 months), ``export.jsonl`` (every event), ``summary.html`` (the
  learner, their plan, where each target started and is now, recent
  evidence, next steps; readable offline) and, while consent to photographs
  is recorded as given, every photo kept (``photo-<id>.jpg`` and its
  ``-small`` thumbnail). `rarpa import transfer-pack.zip` takes the record and
  its photos in.
- Subject-access bundle, for the learner: ``index.html`` (everything held about
  them in plain words, including who has looked at their record, with their
  photos), ``record.json`` (the same as JSON), ``export.jsonl`` and every
  photo kept: it is theirs, whatever the consent says now.
- Both end with ``manifest.json`` (rarpa/read/bundles.py).

The HTML files stand alone: their CSS is inside them (``_bundle.css``), there
is no script and nothing is fetched, so they open from the ZIP on any
computer. Downloads are POST forms (with the CSRF token): a service worker
never keeps a POST's answer, and a link cannot be followed, prefetched or
cached by accident; each is written to the access log before it is made.
Each asks for the password again when it was not typed in the last few
minutes (web/sessions.py ``recent_sign_in_required``).
"""

from __future__ import annotations

import base64
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, g, has_request_context, render_template, url_for

from rarpa.read import annual_review, bundles as parts, queries
from rarpa.read import photos as photo_reads  # photos leave with a transfer pack only while consent is given
from rarpa.service import access
from web.auth import login_required, recent_sign_in_required
from web.common import learner_opened, services
from web.downloads import ascii_slug, content_disposition

bundles = Blueprint("bundles", __name__)

PACK_DAYS = 365  # the annual-review pack in a transfer pack: the last 12 months
FILE_WORDS = {parts.TRANSFER: "transfer-pack", parts.SUBJECT_ACCESS: "subject-access"}


# Where the PDF says a fingerprint can be checked, when it is made at the command
# line (no request, so no address of this installation to give).
OFFLINE_CHECK = "the sending college's RARPA Record"


@contextmanager
def _rendering(svc):
    """Templates need the app's context (its filters, words and url_for): a
    request's when there is one, else (the CLI) the app made on ``svc``.
    Yields whether it is offline (no real request)."""
    if has_request_context():
        yield False
        return
    from web import create_app

    with create_app(services=svc).test_request_context("/"):
        yield True


def _pack_pdf(pack: dict, made_at: datetime, offline: bool) -> bytes:
    """The annual-review pack's PDF, as its own route makes it (web/reviews.py)."""
    from web import reviews
    from web.pdf import render_pdf  # loaded on first use: WeasyPrint is large

    fingerprinted = reviews._fingerprinted(pack)  # what the pack says about its fingerprint
    fingerprinted["taken"] = made_at  # read then, with the rest of the bundle
    if offline:
        fingerprinted["check_url"] = OFFLINE_CHECK
    return render_pdf(render_template("annual_review_pdf.html", pack=pack, made=made_at, pdf=True, **fingerprinted))


def _inline(photos: dict[str, tuple[bytes, bytes]]) -> dict[str, str]:
    """Each thumbnail as a data: address, inside the page that shows it."""
    return {pid: "data:image/jpeg;base64," + base64.b64encode(thumb).decode() for pid, (_, thumb) in photos.items()}


def _made_by(conn, actor) -> tuple[str, str]:
    return actor.user_id, parts.person(actor.user_id, queries.user_names(conn))


def transfer_pack(svc, actor, learner_id: str) -> parts.Bundle:
    """The transfer pack's ZIP. The caller has written the view to the access log."""
    app = svc.app

    def read(conn, fingerprint):
        made_at = datetime.now(timezone.utc)
        end = made_at.date()
        record = parts.transfer_record(app, conn, actor, learner_id)
        photos = app.photo_files(actor, learner_id) if photo_reads.may_photograph(conn, record["learner"]["id"]) else {}
        record["photos_in_pack"] = parts.with_photos(record["recent_evidence"], conn, record["learner"]["id"],
                                                     queries.user_names(conn), photos)
        return {
            "made_at": made_at, "fingerprint": fingerprint, "made_by": _made_by(conn, actor), "record": record,
            "pack": annual_review.pack(app, conn, actor, learner_id, start=end - timedelta(days=PACK_DAYS), end=end),
            "export": parts.export_text(app, conn, actor, learner_id), "photos": photos,
        }

    got = parts.steady(app, actor, learner_id, svc.fresh, read)
    _same_fingerprint(got, got["pack"]["fingerprint"])
    with _rendering(svc) as offline:
        pdf = _pack_pdf(got["pack"], got["made_at"], offline)
        summary = render_template("bundle_summary.html", r=got["record"], fingerprint=got["fingerprint"],
                                  made_at=got["made_at"], made_by=got["made_by"][1], thumbs=_inline(got["photos"]))
    files = [("annual-review-pack.pdf", pdf), ("export.jsonl", got["export"].encode()),
             ("summary.html", summary.encode()), *parts.photo_parts(got["photos"])]
    return parts.bundle(app, parts.TRANSFER, files, learner=got["record"]["learner"], fingerprint=got["fingerprint"],
                        made_at=got["made_at"], made_by=got["made_by"][0], made_by_name=got["made_by"][1])


def subject_access(svc, actor, learner_id: str) -> parts.Bundle:
    """The subject-access bundle's ZIP. The caller has written the view to the access log."""
    app = svc.app

    def read(conn, fingerprint):
        record = parts.subject_access_record(app, conn, actor, learner_id)
        photos = app.photo_files(actor, learner_id)
        record["photo_files"] = parts.with_photos(record["observations"], conn, record["learner"]["id"],
                                                  queries.user_names(conn), photos)
        return {
            "made_at": datetime.now(timezone.utc), "fingerprint": fingerprint, "made_by": _made_by(conn, actor),
            "record": record, "export": parts.export_text(app, conn, actor, learner_id), "photos": photos,
        }

    got = parts.steady(app, actor, learner_id, svc.fresh, read)
    _same_fingerprint(got)
    record = {**got["record"], "made_at": got["made_at"].isoformat(), "made_by": got["made_by"][1],
              "fingerprint": got["fingerprint"]}
    with _rendering(svc):
        index = render_template("bundle_subject_access.html", r=record, made_at=got["made_at"],
                                made_by=got["made_by"][1], fingerprint=got["fingerprint"], thumbs=_inline(got["photos"]))
    files = [("index.html", index.encode()), ("record.json", parts.to_json(record)),
             ("export.jsonl", got["export"].encode()), *parts.photo_parts(got["photos"])]
    return parts.bundle(app, parts.SUBJECT_ACCESS, files, learner=record["learner"], fingerprint=got["fingerprint"],
                        made_at=got["made_at"], made_by=got["made_by"][0], made_by_name=got["made_by"][1])


MAKERS = {parts.TRANSFER: transfer_pack, parts.SUBJECT_ACCESS: subject_access}


def make(svc, actor, learner_id: str, kind: str) -> parts.Bundle:
    return MAKERS[kind](svc, actor, learner_id)


def _same_fingerprint(got: dict, *others: str) -> None:
    """Every part was read from the same state of the record (``steady``
    makes it so; this says so loudly if that ever stops being true)."""
    seen = {got["fingerprint"], parts.export_fingerprint(got["export"]), *others}
    if len(seen) != 1:
        raise RuntimeError(f"the parts of the bundle came from different states of the record: {sorted(seen)}")


def filename(bundle: parts.Bundle) -> tuple[str, str]:
    """The download's name as written, and its plain ASCII fallback."""
    day = bundle.made_at.date().isoformat()
    stem = FILE_WORDS[bundle.kind]
    name = bundle.name[:60]
    return f"{stem}-{name}-{day}.zip", f"{stem}-{ascii_slug(name, 'learner')}-{day}.zip"


def _download(kind: str, learner_id: str) -> Response:
    lid = learner_opened(learner_id, kind, action=access.SHARE)  # logged before it is made
    made = make(services(), g.actor, lid, kind)
    wanted, plain = filename(made)
    return Response(made.data, mimetype="application/zip", headers={
        "Content-Disposition": content_disposition("attachment", wanted, ascii_filename=plain),
        "Cache-Control": "private, no-store"})


def _learner_page(learner_id: str) -> str:
    """Where the download buttons are: back there after "Confirm it's you"."""
    return url_for("pages.learner", learner_id=learner_id) + "#bundles-h"


# The whole record leaves the college: the password again if not typed in the last few minutes.
@bundles.post("/learners/<learner_id>/transfer-pack.zip")
@login_required
@recent_sign_in_required(back=_learner_page)
def transfer_pack_zip(learner_id):
    return _download(parts.TRANSFER, learner_id)


@bundles.post("/learners/<learner_id>/subject-access.zip")
@login_required
@recent_sign_in_required(back=_learner_page)
def subject_access_zip(learner_id):
    return _download(parts.SUBJECT_ACCESS, learner_id)

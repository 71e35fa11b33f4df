"""The JSON API's photo routes (imported by web/api.py, whose route table and
authentication they share).

A photo is added to an observation already recorded, as ``multipart/form-data``
with one file field, ``photo``: ``POST /api/v1/learners/{id}/observations/{oid}/photos``.
201 with the photo's description when new; 200 and the same description when
the same file is sent again for the same observation (idempotent, as
recording an observation is); 422 when it is not a photo we keep or the
learner has not agreed to photographs; 413 above 8 MB.
"""

from __future__ import annotations

from flask import g, request, url_for

from rarpa.read import photos as photo_reads
from rarpa.service import schemas as S
from rarpa.service.access import NotFound
from web.api import answer, route
from web.common import learner_opened, services
from web.photos import _image, posted_photo
from web.problems import Problem

PHOTOS = "/learners/<learner_id>/observations/<observation_id>/photos"


def _described(lid: str, row: dict) -> dict:
    ids = {"learner_id": lid, "observation_id": row["observation_id"], "photo_id": row["id"]}
    return {"id": row["id"], "observation_id": row["observation_id"], "content_type": "image/jpeg",
            "width": row["width"], "height": row["height"], "size": row["size"], "recorded_at": row["recorded_at"],
            "recorded_by": row["recorded_by"], "provider": row["provider"], "chosen_for_pack": bool(row["chosen"]),
            "href": url_for("api.get_photo", **ids), "thumbnail_href": url_for("api.get_photo", **ids, size="thumbnail")}


@route(PHOTOS, "POST", summary="Add a photo to an observation: multipart/form-data with one file field, photo "
                              "(JPEG, PNG or WebP, at most 8 MB; kept as a JPEG without metadata). Idempotent: "
                              "the same file again for the same observation is 200",
       returns=S.PhotoOut, status=201)
def add_photo(learner_id, observation_id):
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "Send the photo as multipart/form-data, in a file field named photo.",
                      {"photo": ["is required"]})
    data = posted_photo()
    if data is None:
        raise Problem(422, "Choose a photo to send: a file field named photo.", {"photo": ["is required"]})
    s = services()
    written = s.app.attach_photo(g.actor, learner_id, observation_id=observation_id, photo=data)
    lid = written.learner_id
    row = photo_reads.one(s.wait_for(written), lid, observation_id, written.result["photo_id"])
    body = _described(lid, row)
    return answer(body, 201 if written.created else 200, body["href"])


@route(PHOTOS, summary="The photos kept with an observation (what they are; href fetches each)",
       returns=S.PhotosOut)
def list_photos(learner_id, observation_id):
    lid = learner_opened(learner_id, "observation")
    conn = services().fresh()
    if not photo_reads.observation_exists(conn, lid, observation_id):
        raise NotFound("observation")
    rows = photo_reads.of_observations(conn, lid, [observation_id]).get(observation_id, [])
    return answer({"photos": [_described(lid, r) for r in rows]})


@route(PHOTOS + "/<photo_id>", summary="A photo (image/jpeg); ?size=thumbnail for the small copy",
       query={"size": "thumbnail for the small copy"})
def get_photo(learner_id, observation_id, photo_id):
    kind = "thumb" if request.args.get("size") == "thumbnail" else "photo"
    lid = learner_opened(learner_id, "photo" if kind == "photo" else "photo thumbnail")
    data = services().app.photo_file(g.actor, lid, observation_id=observation_id, photo_id=photo_id, kind=kind)
    return _image(data, f"photo-{photo_id[:8]}{'' if kind == 'photo' else '-small'}.jpg")

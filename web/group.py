"""Recording for a group: a tutor runs one activity for several learners and
records how each of them got on, in one go.

One page, ``/group``: first who is in the group (big tiles, from the learners
this person may record for), then for each of them a target, a rating, and
optionally the prompt needed and a note; where it happened and a note for
everyone are given once. The evidence still belongs to each learner's own
target, so the target is chosen per learner: each starts at the target whose
wording matches the first learner's (the same activity), else at the one
observed least recently.

With scripts (static/group.js), choosing the group happens on the page itself
(so ``/group`` is one address the service worker keeps and it opens offline),
and saving puts ONE outbox entry per learner, each with its own id, into the
same outbox the target cards use (static/app.js); each is then sent to
``POST /learners/<id>/observations`` like any other observation, and the page
shows, learner by learner, saved, waiting or refused.

Without scripts, choosing is a GET form (``/group?learner=…``) and saving is
one plain form post here, with an id per learner generated into the form. It
is all or nothing: every learner's observation is checked (input, access and
the record's rules, by ``check_observation``, which writes nothing) before
any is written; one refusal refuses the form, every message beside its field.
Posting the same form again stores nothing new (the ids, and the time, are
the form's own).

Photos: each learner whose photographs consent is given has a photo control
of their own (one photo, of them alone); the others have none, and nothing
on the page says why. With scripts the photo is resized on the tablet
(static/photos.js) and kept in that learner's outbox entry. Without scripts
the form is multipart, with a ``photo-<learner id>`` file per learner; each
photo is checked with the rest (its content and consent, by
``check_observation_with_photo``) before anything is written, and each
observation is written with its photo by ``record_observation_with_photo``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

from flask import Blueprint, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from events import vocabulary
from rarpa.read import photos as photo_reads
from rarpa.read import queries
from rarpa.record import RuleBroken
from rarpa.record.photos import NO_CONSENT
from rarpa.service import images
from rarpa.service.access import NotFound
from rarpa.service.schemas import ObservationIn
from rarpa.service.written import Erased
from web.auth import login_required
from web.common import schema_of, services
from web.forms import Field, Form
from web.photos import posted_photo
from web.problems import flatten

group = Blueprint("group", __name__)

NOTE_LIMIT = 4000  # as ObservationIn's note
NOT_RECORDABLE = ("A learner in this form is not one you can record for, so nothing was saved. They have been "
                  "taken out of the group: check the others and save again")


def _everyone(conn) -> list[dict]:
    """Who may be in a group: the learners this person sees and records for
    (a caseload for tutors and support staff), by name."""
    return [{"id": r["id"], "name": queries.short_name(r["preferred_name"], r["name"]),
             "preferred": r["preferred_name"], "initials": queries.initials(r["name"])}
            for r in queries.visible_learners(conn, g.actor)]


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in ids if i))


def same_activity(text: str) -> str:
    """Target wordings compared as people would: case and spacing aside."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def _least_recent(targets: list[dict]) -> str | None:
    """The open target observed longest ago (never observed first; then as set)."""
    if not targets:
        return None
    return min(enumerate(targets), key=lambda it: (it[1]["last_observed_at"] is not None,
                                                   it[1]["last_observed_at"] or "", it[0]))[1]["id"]


def _rows(conn, people: list[dict], values, chosen: bool, photos_again=frozenset()) -> list[dict]:
    """Each learner's part of the form: open targets (one pre-selected), the
    values to show, and whether a photo may be taken (consent given; for
    ``photos_again``, one was chosen for a form that was refused). For a
    chosen group the targets follow the first learner's target by wording;
    on the whole-caseload page the script does it."""
    targets = queries.open_targets_of(conn, [p["id"] for p in people])
    rows, anchor = [], None
    for p in people:
        ts = targets[p["id"]]
        default = _least_recent(ts)
        picked = values.get(f"target-{p['id']}")
        if not picked and chosen and anchor is not None:
            picked = next((t["id"] for t in ts if same_activity(t["text"]) == anchor), None)
        picked = picked or default
        if chosen and anchor is None:
            anchor = next((same_activity(t["text"]) for t in ts if t["id"] == picked), None)
        for t in ts:
            t["activity"] = same_activity(t["text"])
        rows.append({**p, "targets": ts, "default": default, "picked": picked,
                     "new_id": values.get(f"id-{p['id']}") or str(uuid.uuid4()),
                     "may_photograph": photo_reads.may_photograph(conn, p["id"]),
                     "photo_again": p["id"] in photos_again})
    return rows


def _form(rows: list[dict], shown: bool = False) -> Form:
    """The fields by name. ``shown``: the labels on the page, optional ones
    marked so; otherwise the labels messages use ("Note for Amir H. must be…")."""
    opt = " (optional)" if shown else ""
    fields = [Field("learner", "Who is in the group", "at least one learner", kind="choices"),
              Field("context", "Where", "where it happened", kind="choice"),
              Field("shared_note", f"Note for everyone{opt}", "a note for everyone",
                    hint="Added to each learner's observation." if shown else ""),
              Field("group-record", "Time", "the time it happened", kind="date")]
    for r in rows:
        lid, n = r["id"], r["name"]
        fields += [Field(f"target-{lid}", f"Target for {n}", f"a target for {n}", kind="choice"),
                   Field(f"rating-{lid}", f"How did {n} get on?" if shown else f"Rating for {n}",
                         f"a rating for {n}", kind="choice"),
                   Field(f"prompt-{lid}", f"Prompt {n} needed{opt}", f"the prompt {n} needed, or Not noted",
                         kind="choice"),
                   Field(f"note-{lid}", f"Note for {n}{opt}", f"a note for {n}"),
                   Field(f"photo-{lid}", f"Photo of {n}{opt}", f"a photo of {n}")]
    return Form(*fields)


def _saved(conn, pairs: list[str], names: dict[str, str]) -> list[dict]:
    """``learner:observation`` pairs from the address after a plain post, as
    the read model has them (only learners in sight; unknown pairs are left out)."""
    out = []
    for pair in _unique(pairs):
        lid, _, oid = pair.partition(":")
        if lid in names:
            obs = queries.observation(conn, lid, oid)
            if obs is not None:
                out.append({"name": names[lid], "rating": obs["rating"], "state": "saved"})
    return out


def _options(words: dict, values, blank: str | None = None) -> list[tuple[str, str]]:
    out = [("", blank)] if blank else []
    return out + [(v, words[v][:1].upper() + words[v][1:]) for v in values]


def _render(conn, everyone: list[dict], chosen: list[str], *, values, errors=None, saved=(), picking=False,
            photos_again=frozenset(), status=200):
    """The page. ``record`` mode (a group chosen, no scripts needed): the form
    for them. ``pick`` and ``change`` modes: who is in the group, with every
    learner's part of the form on the page, hidden, for the script to show."""
    mode = "change" if chosen and picking else ("record" if chosen else "pick")
    by_id = {p["id"]: p for p in everyone}
    people = [by_id[lid] for lid in chosen] if mode == "record" else everyone
    rows = _rows(conn, people, values, chosen=mode == "record", photos_again=photos_again)
    fields = _form(rows, shown=True)
    errors = _form(rows).plain(errors or {})
    context = values.get("context") or queries.last_context(conn, g.actor.user_id) or "classroom"
    return render_template(
        "group.html", mode=mode, everyone=everyone, rows=rows, chosen=chosen, ticked=set(chosen), errors=errors,
        values=values, context=context, saved=saved, fields=fields,
        contexts=_options(vocabulary.WORDS["contexts"], [c for c in vocabulary.CONTEXTS if c != "other"]),
        ratings=_options(vocabulary.WORDS["ratings"], vocabulary.RATINGS),
        prompts=_options(vocabulary.WORDS["prompts"], vocabulary.PROMPT_LEVELS, blank="Not noted"),
        observed_at=values.get("observed_at") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
    ), status


@group.get("/group")
@login_required
def page():
    """Who is in the group (no group yet, or ``change``), then the recording
    form for them. A learner in the address who is not in sight: 404."""
    conn = services().fresh()
    everyone = _everyone(conn)
    known = {p["id"] for p in everyone}
    chosen = _unique(request.args.getlist("learner"))
    if any(lid not in known for lid in chosen):
        raise NotFound("learner")
    errors = {}
    if request.args.get("step") == "record" and not chosen:
        errors["learner"] = ["Choose at least one learner"]
    saved = _saved(conn, request.args.getlist("saved"), {p["id"]: p["name"] for p in everyone})
    return _render(conn, everyone, chosen, values={}, errors=errors, saved=saved,
                   picking=bool(request.args.get("change")))


@group.post("/group")
@login_required
def save():
    """The plain form post (no scripts): all or nothing. Refused: the form
    again with every message beside its field, nothing written (404 when a
    learner in it may not be recorded for, 409 when it clashes with the
    record, 422 otherwise). Done: to the page again (303), showing what was
    saved, ready for the group's next activity."""
    form = request.form
    conn = services().fresh()
    everyone = _everyone(conn)
    names = {p["id"]: p["name"] for p in everyone}
    asked = _unique(form.getlist("learner"))
    chosen = [lid for lid in asked if lid in names]
    refusal = Refusal()
    if len(chosen) < len(asked):
        refusal.add("learner", [NOT_RECORDABLE], 404)
    elif not chosen:
        refusal.add("learner", ["Choose at least one learner"])
    shared = form.get("shared_note", "").strip()
    if len(shared) > NOTE_LIMIT:
        refusal.add("shared_note", [f"longer than maximum length {NOTE_LIMIT}"])
    values = form.to_dict()
    photos = {lid: photo for lid in chosen if (photo := posted_photo(f"photo-{lid}")) is not None}
    entries = [entry for lid in chosen if (entry := _check(lid, names[lid], form, shared, photos.get(lid), refusal))]
    for lid in chosen:
        if f"id-{lid}" in refusal.errors:
            values[f"id-{lid}"] = ""  # saved before with other answers: a new id, if they save again
    if refusal.errors:
        # A file cannot be handed back to the browser: each photo chosen is asked for again.
        return _render(conn, everyone, chosen, values=values, errors=refusal.shown(), photos_again=set(photos),
                       status=refusal.status)

    written, late = [], Refusal()
    for lid, oid, data in entries:
        try:
            if lid in photos:
                written.append(services().app.record_observation_with_photo(
                    g.actor, lid, photo=photos[lid], observation_id=oid, **data))
                continue
            written.append(services().app.record_observation(g.actor, lid, observation_id=oid, **data))
        except RuleBroken as e:  # the record changed since the check a moment ago: this learner only
            late.rule(lid, names[lid], e)
        except (NotFound, Erased):
            late.add("learner", [NOT_RECORDABLE], 404)
    if written:
        conn = services().wait_for(max(written, key=lambda w: w.position or 0))
    saved = [f"{w.learner_id}:{w.result['id']}" for w in written]
    if late.errors:
        return _render(conn, everyone, chosen, values=values, errors=late.shown(), saved=_saved(conn, saved, names),
                       photos_again={lid for lid in photos if lid in late.learners}, status=late.status)
    return redirect(url_for("group.page", learner=chosen, saved=saved), 303)


class Refusal:
    """Messages by the form's field names, and the status to answer with:
    the gravest of 404 (a learner not to be recorded for), 409 (a clash with
    the record) and 422 (the input)."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}
        self.status = 422
        self.learners: set[str] = set()  # refused by a rule of the record (see ``rule``)

    def add(self, key: str, messages: list[str], status: int = 422) -> None:
        self.errors.setdefault(key, [])
        self.errors[key].extend(m for m in messages if m not in self.errors[key])
        gravity = (422, 409, 404)
        self.status = max(self.status, status, key=gravity.index)

    def rule(self, lid: str, name: str, e: RuleBroken) -> None:
        """A rule of the record, in words for this form."""
        self.learners.add(lid)
        if e.field == "id":
            message = (f"{name}'s observation from this form was already saved, with other answers. Save again "
                       f"to add this one as a new observation, or correct the saved one from {name}'s page")
        elif e.field == "target_id" and e.status == 409:
            message = f"The target chosen for {name} has been closed: choose another"
        elif e.field == "target_id":
            message = f"Choose a target for {name}"
        elif e.field == "learner_id":  # lost races for too long (503): nothing kept for this learner
            self.add(f"id-{lid}", [f"{name}'s record is busy: save again in a moment"])
            return
        elif e.field == "photo":
            message = photo_words(name, e.message)
        else:
            message = e.message
        self.add(_field(lid, e.field), [message], 409 if e.status == 409 else 422)

    def shown(self) -> dict[str, list[str]]:
        """Messages about a hidden field go to what people can see: an id to
        the learner's part of the form, the time to the form."""
        out: dict[str, list[str]] = {}
        for key, messages in self.errors.items():
            where = "learner-" + key[3:] if key.startswith("id-") else ("group-record" if key == "observed_at" else key)
            out.setdefault(where, []).extend(messages)
        return out


def _check(lid: str, name: str, form, shared: str, photo: bytes | None, refusal: Refusal) -> tuple | None:
    """One learner's observation (and photo) from the form, checked as
    recording would check it, writing nothing: (learner, id, fields), or None
    and the refusal noted."""
    own = form.get(f"note-{lid}", "").strip()
    body = {"id": form.get(f"id-{lid}", ""), "target_id": form.get(f"target-{lid}", ""),
            "rating": form.get(f"rating-{lid}", ""), "prompt_level": form.get(f"prompt-{lid}", ""),
            "context": form.get("context", ""), "note": "\n".join(n for n in (shared, own) if n),
            "observed_at": form.get("observed_at", "")}
    try:
        data = schema_of(ObservationIn).load({k: v for k, v in body.items() if v != ""})
    except ValidationError as e:
        for key, messages in flatten(e.messages).items():
            if key == "note" and shared and len(own) <= NOTE_LIMIT:
                messages = [f"together with the note for everyone must be {NOTE_LIMIT} characters or fewer"]
            refusal.add(_field(lid, key), messages)
        if photo is not None:  # what is wrong with the photo too, in the same answer
            try:
                images.keep(photo)
            except RuleBroken as e:
                refusal.rule(lid, name, e)
        return None
    oid = str(data.pop("id"))
    data["target_id"] = str(data["target_id"])
    try:
        if photo is not None:
            services().app.check_observation_with_photo(g.actor, lid, photo=photo, observation_id=oid, **data)
        else:
            services().app.check_observation(g.actor, lid, observation_id=oid, **data)
    except RuleBroken as e:
        refusal.rule(lid, name, e)
        return None
    except (NotFound, Erased):
        refusal.add("learner", [NOT_RECORDABLE], 404)
        return None
    return lid, oid, data


def _field(lid: str, key: str) -> str:
    """The form's name for one of ObservationIn's fields."""
    return {"id": f"id-{lid}", "target_id": f"target-{lid}", "rating": f"rating-{lid}",
            "prompt_level": f"prompt-{lid}", "note": f"note-{lid}", "photo": f"photo-{lid}"}.get(key, key)


def photo_words(name: str, message: str) -> str:
    """Why a learner's photo is not kept, said of that learner (the form has a
    photo per learner): images.keep's refusals, and consent."""
    if message == NO_CONSENT:
        return f"A photo of {name} cannot be kept: {name} has not agreed to photos. Save again without it"
    if message.startswith("This file"):
        said = message.removeprefix("This file")
        return f"The file chosen for {name}{said}. Choose another photo, or save without one"
    if message.startswith("This photo"):
        return f"The photo of {name}" + message.removeprefix("This photo")
    return f"Photo of {name}: {message}"

"""The family's voice on the web (rarpa/service/family.py does the work).

- The SEND lead: ``/learners/<id>/family``: who in the family can see how the
  learner is doing, letting one in (a one-time link, shown once, that sets
  their password: no mail server is assumed), and ending one's access.
- Staff who may moderate (the learner's tutors, the SEND lead): the queue
  ``/contributions`` and each contribution, accepted as evidence from home
  against the targets they choose, or declined with a reason the family
  member will see.
- A family member: ``/family`` (their learner, or a choice of them), an
  easy-read summary of how the learner is doing, what they sent and where it
  stands (with the reason when it was declined), and a form to send what they
  saw at home, with a photo when consent to photographs is given.

Every view of a learner's record here is written to the access log first.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from events.vocabulary import FAMILY_ROLE, RATINGS, WORDS
from rarpa.read import family as family_reads
from rarpa.read import photos as photo_reads
from rarpa.read import queries
from rarpa.service import access
from rarpa.service.access import NotFound
from rarpa.service.schemas import ContributionDeclineIn, ContributionIn, FamilyEndIn, FamilyInviteIn
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.forms import Field, Form
from web.photos import _image, posted_photo

family = Blueprint("family", __name__)

INVITE = Form(
    Field("display_name", "Their name", "their name"),
    Field("relationship", "Who they are to the learner", "who they are to the learner",
          hint="For example: Mum, Grandad, foster carer."),
    Field("email", "Their email address", "their email address",
          hint="They sign in with it. Nothing is sent to it: you give them the link yourself."),
    Field("reason", "Why", "a reason", hint="For example: to send what they see at home before the annual review."),
)
END = Form(Field("reason", "Why their access ends", "a reason"))
SEND = Form(
    Field("words", "What did you see?", "what you saw",
          hint="Say what they did, and how. For example: She made toast on her own this morning."),
    Field("happened_on", "When was it?", "the day it happened", kind="date"),
    Field("photo", "A photo", "a photo"),
)
DECLINE = Form(Field("reason", "Why it is not added", "a reason the family member will see",
                     hint="They will see this. Be kind and clear: for example, we could not tell which target it is about."))
ACCEPT = Form(Field("targets", "Which targets is this evidence for?", "at least one target", kind="choices"),
              Field("note", "A note for the record (optional)", "a note"))


# --- the SEND lead: letting family members in ------------------------------------------------------
@family.route("/learners/<learner_id>/family", methods=["GET", "POST"])
@login_required
def members(learner_id):
    lid = (learner_opened(learner_id, "family members", access.SHARE) if request.method == "GET"
           else learner_in_sight(learner_id, access.SHARE))
    values, errors, status, invited = {}, {}, 200, None
    if request.method == "POST":
        values = form_fields(keep_empty=True)
        body = {k: v.strip() for k, v in values.items() if k in INVITE.fields and v.strip() != ""}
        done = submit(FamilyInviteIn, body, lambda data: services().app.invite_family_member(g.actor, lid, **data))
        if not done.errors:
            invited = {**done.written.result, "display_name": body["display_name"], "email": body["email"].lower(),
                       "relationship": body["relationship"]}
            values = {}
        else:
            errors, status = INVITE.plain(done.errors), done.status
    return _members_page(lid, values, errors, status, invited=invited)


@family.post("/learners/<learner_id>/family/<user_id>/end")
@login_required
def end(learner_id, user_id):
    lid = learner_in_sight(learner_id, access.SHARE)
    values = form_fields(keep_empty=True)
    done = submit(FamilyEndIn, {k: v for k, v in values.items() if k == "reason" and v.strip()},
                  lambda data: services().app.end_family_access(g.actor, lid, family_user_id=user_id, **data))
    if not done.errors:
        return redirect(url_for("family.members", learner_id=lid, done="ended"))
    return _members_page(lid, {}, {}, done.status, ending=user_id, end_errors=END.plain(done.errors),
                         end_values=values)


def _members_page(lid: str, values: dict, errors: dict, status: int, **extra):
    conn = services().fresh()
    consents = {c["consent"]: c["given"] for c in queries.consents(conn, lid)}
    return render_template(
        "family_members.html", lid=lid, name=queries.learner_name(conn, lid), members=family_reads.members(conn, lid),
        shares=bool(consents.get("sharing_with_family")), form=INVITE, values=values, errors=errors,
        end_form=END, done=request.args.get("done"),
        invite_url=(url_for("invitation.set_password", token=extra["invited"]["token"], _external=True)
                    if extra.get("invited") and extra["invited"].get("token") else None),
        **{"invited": None, "ending": request.args.get("end"), "end_errors": {}, "end_values": {}, **extra},
    ), status


# --- staff: what the family sent ---------------------------------------------------------------------
@family.get("/contributions")
@login_required
def queue():
    rows = family_reads.waiting(services().fresh(), g.actor)
    if rows:  # a list naming learners: logged as a view of each, before it is shown
        for learner_id in dict.fromkeys(r["learner_id"] for r in rows):
            learner_opened(learner_id, "contribution", access.MODERATE)
    return render_template("contributions.html", rows=rows)


@family.route("/learners/<learner_id>/contributions/<contribution_id>", methods=["GET", "POST"])
@login_required
def decide(learner_id, contribution_id):
    lid = (learner_opened(learner_id, "contribution", access.MODERATE) if request.method == "GET"
           else learner_in_sight(learner_id, access.MODERATE))
    conn = services().fresh()
    sent = family_reads.contribution(conn, lid, contribution_id)
    if sent is None:
        abort(404)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = {"targets": request.form.getlist("targets"), **form_fields("targets", keep_empty=True)}
        errors, status = _decision(lid, contribution_id, values)
        if not errors:
            return redirect(url_for("family.queue", done=values.get("decision") or "accept"))
    targets = [t for t in queries.progress(conn, lid)["targets"] if t["status"] == "open"]
    return render_template("contribution.html", lid=lid, name=queries.learner_name(conn, lid), c=sent,
                           targets=targets, values=values, errors=errors, accept_form=ACCEPT, decline_form=DECLINE,
                           ratings=[(r, WORDS["ratings"][r]) for r in RATINGS]), status


def _decision(lid: str, contribution_id: str, values: dict) -> tuple[dict[str, list[str]], int]:
    """Accept or decline, as posted: no messages once done; otherwise the
    messages by field and the status to answer with."""
    app = services().app
    if values.get("decision") == "decline":
        reason = values.get("reason", "").strip()
        done = submit(ContributionDeclineIn, {"reason": reason} if reason else {},
                      lambda data: app.decline_family_contribution(g.actor, lid, contribution_id=contribution_id,
                                                                   **data))
        return DECLINE.plain(done.errors), done.status
    ratings, missing = _ratings(values)
    if missing:
        return missing, 422
    done = submit(None, {}, lambda _: app.accept_family_contribution(
        g.actor, lid, contribution_id=contribution_id, ratings=ratings, note=values.get("note", "")))
    return ACCEPT.plain(done.errors), done.status


def _ratings(values: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The targets ticked, each with the rating chosen for it; messages by field otherwise."""
    chosen = values.get("targets") or []
    if not chosen:
        return {}, {"targets": ["Choose at least one target this is evidence for"]}
    ratings, missing = {}, {}
    for target_id in chosen:
        rating = values.get(f"rating-{target_id}", "")
        if rating not in RATINGS:
            missing[f"rating-{target_id}"] = ["Choose how well they did it, as the family describe it"]
        ratings[target_id] = rating
    return ratings, missing


@family.get("/learners/<learner_id>/contributions/<contribution_id>/photo")
@login_required
def contribution_photo(learner_id, contribution_id):
    lid = learner_opened(learner_id, "contribution photo", access.MODERATE)
    kind = "thumb" if request.args.get("size") == "thumbnail" else "photo"
    try:
        data = services().app.contribution_photo(g.actor, lid, contribution_id=contribution_id, kind=kind)
    except NotFound:
        abort(404)
    return _image(data, f"from-home-{date.today().isoformat()}.jpg")


# --- the family member ---------------------------------------------------------------------------------
@family.get("/family")
@login_required
def home():
    if g.actor.role != FAMILY_ROLE:
        abort(404)
    learners = family_reads.learners_of(services().fresh(), g.actor.user_id)
    if len(learners) == 1:
        return redirect(url_for("family.summary", learner_id=learners[0]["id"]))
    return render_template("family_home.html", learners=learners)


@family.get("/family/<learner_id>")
@login_required
def summary(learner_id):
    lid = learner_opened(learner_id, "family summary", access.FAMILY_VIEW)
    conn = services().fresh()
    return render_template("family_summary.html", lid=lid, s=family_reads.summary(conn, lid),
                           sent=family_reads.contributions(conn, lid, sent_by=g.actor.user_id),
                           done=request.args.get("done"))


@family.route("/family/<learner_id>/send", methods=["GET", "POST"])
@login_required
def send(learner_id):
    lid = learner_in_sight(learner_id, access.CONTRIBUTE)
    conn = services().fresh()
    values = {"happened_on": datetime.now(timezone.utc).date().isoformat(), "contribution_id": str(uuid.uuid4())}
    errors, status = {}, 200
    if request.method == "POST":
        values = {**values, **form_fields(keep_empty=True)}
        photo = posted_photo()
        body = {k: values[k].strip() for k in ("words", "happened_on") if values.get(k, "").strip()}
        done = submit(ContributionIn, body, lambda data: services().app.send_family_contribution(
            g.actor, lid, contribution_id=values["contribution_id"], words=data["words"],
            happened_on=data["happened_on"].isoformat(), photo=photo))
        if not done.errors:
            return redirect(url_for("family.summary", learner_id=lid, done="sent"))
        errors, status = SEND.plain(done.errors), done.status
    about = queries.learner(conn, lid)
    return render_template("family_send.html", lid=lid, about=about, form=SEND, values=values, errors=errors,
                           may_photograph=photo_reads.may_photograph(conn, lid)), status

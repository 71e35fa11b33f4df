"""Who works with a learner: the providers of a dual placement joining and
leaving, each with who, when and why, for the SEND lead. A provider that
leaves takes its staff's sight of the learner with it (rarpa/service/access.py);
what they recorded stays, labelled with their provider."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from rarpa.read import queries, timeline
from rarpa.service import access
from rarpa.service.schemas import ProviderJoinIn, ProviderLeaveIn
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.forms import Field, Form

placements = Blueprint("placements", __name__)

JOIN = Form(
    Field("provider", "Provider", "the provider that joins", kind="choice"),
    Field("reason", "Why", "a reason", hint="For example: a work placement agreed at the annual review."),
)
LEAVE = Form(Field("reason", "Why it ends", "a reason"))
EVENTS = ("LearnerEnrolled", "ProviderJoined", "ProviderLeft")


@placements.route("/learners/<learner_id>/providers", methods=["GET", "POST"])
@login_required
def page(learner_id):
    """The providers now, their history, and a form for one to join."""
    lid = (learner_opened(learner_id, "providers", access.ENROL) if request.method == "GET"
           else learner_in_sight(learner_id, access.ENROL))
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values = form_fields(keep_empty=True)
        body = {k: v for k, v in values.items() if k in ("provider", "reason") and v != ""}
        done = submit(ProviderJoinIn, body, lambda data: services().app.join_provider(
            g.actor, lid, provider=data["provider"], lead=False, reason=data["reason"]))
        if not done.errors:
            return redirect(url_for("placements.page", learner_id=lid, done="joined"))
        errors, status = JOIN.plain(_plain(done.errors)), done.status
    return _page(lid, values, errors, status)


@placements.post("/learners/<learner_id>/providers/<provider>/leave")
@login_required
def leave(learner_id, provider):
    lid = learner_in_sight(learner_id, access.ENROL)
    values = form_fields(keep_empty=True)
    done = submit(ProviderLeaveIn, {k: v for k, v in values.items() if k == "reason" and v != ""},
                  lambda data: services().app.leave_provider(g.actor, lid, provider=provider, reason=data["reason"]))
    if not done.errors:
        return redirect(url_for("placements.page", learner_id=lid, done="left"))
    return _page(lid, {}, {}, done.status, leaving=provider,
                 leave_errors=LEAVE.plain(_plain(done.errors)), leave_values=values)


def _plain(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The record's refusals about the provider, in the page's words."""
    words = {"already works with this learner": "This provider already works with the learner",
             "make another provider the lead before the lead leaves": "The lead provider cannot leave: "
             "make another provider the lead first"}
    return {key: [next((w for k, w in words.items() if k in m), m) for m in messages]
            for key, messages in errors.items()}


def _page(lid: str, values: dict, errors: dict, status: int, **extra):
    conn = services().fresh()
    about = queries.learner(conn, lid)
    names = timeline.provider_names(conn)
    attending = {p["provider"] for p in about["providers"]}
    history = [e for e in timeline.timeline(services().app, conn, g.actor, lid) if e["type"] in EVENTS]
    return render_template(
        "placements.html", lid=lid, name=queries.learner_name(conn, lid), about=about, names=names,
        history=list(reversed(history)), form=JOIN, leave_form=LEAVE, values=values, errors=errors,
        choices=[(p["slug"], p["name"]) for p in queries.providers(conn) if p["slug"] not in attending],
        done=request.args.get("done"), **{"leaving": None, "leave_errors": {}, "leave_values": {}, **extra},
    ), status

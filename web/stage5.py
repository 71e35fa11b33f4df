"""RARPA stage 5 on the web, and consents: the end-of-programme page (a
summative judgement for each open target and each EHCP outcome), outcomes
nobody planned, next steps, destinations and confirming one was sustained,
and the learner's consents with who recorded each and when.

Who may do what is the service's to say (rarpa/service/learners.py): a
summative judgement, a destination, its follow-up and a consent need
``access.PLAN`` (the SEND lead); an unplanned outcome ``RECORD``; a next step
``REVIEW``. Anyone who may see the learner may read these pages; each form is
offered only to those who may use it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from events.vocabulary import CONSENTS, CONTEXTS, DESTINATIONS, OUTCOME_JUDGEMENTS, PFA_AREAS, RATINGS, WORDS
from rarpa.read import queries
from rarpa.service import access
from rarpa.service.schemas import (
    ConsentIn,
    DestinationIn,
    NextStepIn,
    OutcomeSummativeIn,
    SummativeIn,
    SustainedIn,
    UnplannedOutcomeIn,
)
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.dates import long_day
from web.forms import Field, Form

stage5 = Blueprint("stage5", __name__)


# --- the forms' fields ------------------------------------------------------------------------
def target_form(target_id: str) -> Form:
    """A target's summative judgement; names carry the target's id, as the page
    holds one form per target."""
    return Form(
        Field(f"rating-{target_id}", "Judgement at the end of the programme", "a judgement", kind="choice"),
        Field(f"summary-{target_id}", "What the learner can do now", "a summary of what the learner can do now",
              hint="In plain words, to and about the learner."),
        Field(f"assessed_on-{target_id}", "Date of the judgement", "the date of the judgement", kind="date"),
    )


def outcome_form(outcome_id: str) -> Form:
    return Form(
        Field(f"judgement-{outcome_id}", "Was the outcome met?", "whether the outcome was met", kind="choice"),
        Field(f"summary-{outcome_id}", "Why: the evidence in a sentence or two", "why, in a sentence or two"),
        Field(f"assessed_on-{outcome_id}", "Date of the judgement", "the date of the judgement", kind="date"),
    )


UNPLANNED = Form(
    Field("text", "What the learner achieved", "what the learner achieved",
          hint="Something nobody planned, in plain words: for example, helped a new student find their way."),
    Field("recognised_on", "When it was recognised", "the date it was recognised", kind="date"),
    Field("pfa_area", "Preparing for Adulthood area (optional)", "a Preparing for Adulthood area", kind="choice"),
    Field("context", "Where it happened (optional)", "where it happened", kind="choice"),
)
NEXT_STEP = Form(
    Field("text", "The next step", "the next step", hint="For example: apply for a supported internship."),
    Field("agreed_on", "Date agreed", "the date it was agreed", kind="date"),
)
DESTINATION = Form(
    Field("kind", "Where the learner goes next", "where the learner goes next", kind="choice"),
    Field("detail", "Details (optional)", "the details", hint="For example: the employer, course or home."),
    Field("starts_on", "Starts on", "the date it starts", kind="date"),
)
SUSTAINED = Form(
    Field("confirmed_on", "Date confirmed", "the date it was confirmed", kind="date"),
    Field("note", "How you know (optional)", "how you know", hint="For example: spoke to the job coach."),
)
CONSENT = Form(
    Field("consent", "Which consent", "which consent", kind="choice"),
    Field("given", "Is consent given?", "whether consent is given", kind="choice"),
    Field("reason", "Who gave the answer, and how (optional)", "who gave the answer",
          hint="For example: said yes at the review; the signed form is on file."),
)
ANSWERS = (("yes", "Yes, given"), ("no", "No: not given, or withdrawn"))


def _options(values, words: dict) -> list[tuple[str, str]]:
    return [(v, words[v]) for v in values]


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def confirm_from(follow_up_on: str) -> str:
    """When a destination can be confirmed as sustained, said as a sentence
    (rarpa.record.measures.destination_follow_up gave the day)."""
    return f"You can confirm this from {long_day(follow_up_on)}"


@stage5.app_context_processor
def _helpers() -> dict:
    return {"stage5_for": stage5_for, "confirm_from": confirm_from}


def stage5_for(learner_id: str) -> dict:
    """What the learner page's "End of programme" and "Consent" sections and the
    annual-review page's sharing note show. Only called for a learner the
    page has already checked is in sight. From the page's own read model
    when it has one (the record as at an instant, web/as_at.py)."""
    conn = g.get("record_conn") or services().fresh()
    today = g.as_at.date().isoformat() if g.get("as_at") else _today()
    return {"end": queries.end_of_programme(conn, learner_id), "consents": queries.consents(conn, learner_id),
            "today": today}


# --- the end-of-programme page ----------------------------------------------------------------
@stage5.get("/learners/<learner_id>/end-of-programme")
@login_required
def end_of_programme(learner_id):
    lid = learner_opened(learner_id, "end of programme")
    return _end_page(lid)


def _end_page(lid: str, errors: dict | None = None, values: dict | None = None, status: int = 200):
    conn = services().fresh()
    end = queries.end_of_programme(conn, lid)
    today = _today()
    shown = dict(values or {})
    for t in end["targets"]:
        shown.setdefault(f"assessed_on-{t['id']}", today)
    for o in end["outcomes"]:
        shown.setdefault(f"assessed_on-{o['id']}", today)
    return render_template(
        "end_of_programme.html", lid=lid, name=queries.learner_name(conn, lid), end=end, today=today,
        open_targets=[t for t in end["targets"] if t["status"] == "open"],
        closed_targets=[t for t in end["targets"] if t["status"] != "open"],
        target_forms={t["id"]: target_form(t["id"]) for t in end["targets"]},
        outcome_forms={o["id"]: outcome_form(o["id"]) for o in end["outcomes"]},
        rating_options=_options(RATINGS, WORDS["ratings"]),
        judgement_options=_options(OUTCOME_JUDGEMENTS, WORDS["outcome_judgements"]),
        errors=errors or {}, values=shown, saved=request.args.get("saved"), names=queries.user_names(conn),
    ), status


@stage5.post("/learners/<learner_id>/end-of-programme/targets/<target_id>")
@login_required
def target_summative(learner_id, target_id):
    lid = learner_in_sight(learner_id, access.PLAN)
    s = services()
    if queries.target(s.fresh(), lid, target_id) is None:
        abort(404)
    form = target_form(target_id)
    raw = form_fields()
    body = {"target_id": target_id, **{name: raw[f"{name}-{target_id}"] for name in ("rating", "summary", "assessed_on")
                                       if f"{name}-{target_id}" in raw}}
    done = submit(SummativeIn, body, lambda data: s.app.record_summative_assessment(
        g.actor, lid, target_id=str(data["target_id"]), rating=data["rating"], summary=data["summary"],
        assessed_on=data["assessed_on"]))
    if done.errors:
        return _end_page(lid, form.plain({f"{k}-{target_id}": v for k, v in done.errors.items()}),
                         request.form, done.status)
    return redirect(url_for("stage5.end_of_programme", learner_id=lid, saved=f"t-{target_id}") + f"#t-{target_id}")


@stage5.post("/learners/<learner_id>/end-of-programme/outcomes/<outcome_id>")
@login_required
def outcome_summative(learner_id, outcome_id):
    lid = learner_in_sight(learner_id, access.PLAN)
    s = services()
    if queries.outcome(s.fresh(), lid, outcome_id) is None:
        abort(404)
    form = outcome_form(outcome_id)
    raw = form_fields()
    body = {"outcome_id": outcome_id, **{name: raw[f"{name}-{outcome_id}"]
                                         for name in ("judgement", "summary", "assessed_on")
                                         if f"{name}-{outcome_id}" in raw}}
    done = submit(OutcomeSummativeIn, body, lambda data: s.app.record_outcome_summative(
        g.actor, lid, outcome_id=str(data["outcome_id"]), judgement=data["judgement"], summary=data["summary"],
        assessed_on=data["assessed_on"]))
    if done.errors:
        return _end_page(lid, form.plain({f"{k}-{outcome_id}": v for k, v in done.errors.items()}),
                         request.form, done.status)
    return redirect(url_for("stage5.end_of_programme", learner_id=lid, saved=f"o-{outcome_id}") + f"#o-{outcome_id}")


# --- one thing at a time: unplanned outcome, next step, destination, sustained ------------------
def _simple_form(lid: str, form: Form, schema, command, template: str, saved: str, defaults: dict | None = None,
                 **context):
    """A page with one form: GET shows it, POST records it and goes back to the
    end-of-programme page (at the section ``saved``), or shows it again with
    each refusal by its field and what was typed kept."""
    s = services()
    errors: dict = {}
    values: dict = dict(defaults or {})
    status = 200
    if request.method == "POST":
        values = dict(request.form)
        done = submit(schema, form_fields(), lambda data: command(s.app, data))
        if not done.errors:
            return redirect(url_for("stage5.end_of_programme", learner_id=lid, saved=saved) + f"#{saved}")
        errors, status = form.plain(done.errors), done.status
    conn = s.fresh()
    return render_template(template, lid=lid, name=queries.learner_name(conn, lid), form=form, errors=errors, values=values,
                           today=_today(), **context), status


@stage5.route("/learners/<learner_id>/unplanned-outcomes/new", methods=["GET", "POST"])
@login_required
def unplanned_outcome(learner_id):
    lid = learner_in_sight(learner_id, access.RECORD)
    return _simple_form(
        lid, UNPLANNED, UnplannedOutcomeIn,
        lambda app, data: app.recognise_unplanned_outcome(g.actor, lid, **data),
        "unplanned_outcome.html", "unplanned", defaults={"recognised_on": _today()},
        area_options=[*_options(PFA_AREAS, WORDS["areas"]), ("", "Not said")], context_options=_options(CONTEXTS, WORDS["contexts"]))


@stage5.route("/learners/<learner_id>/next-steps/new", methods=["GET", "POST"])
@login_required
def next_step(learner_id):
    lid = learner_in_sight(learner_id, access.REVIEW)
    return _simple_form(
        lid, NEXT_STEP, NextStepIn, lambda app, data: app.agree_next_step(g.actor, lid, **data),
        "next_step.html", "next-steps", defaults={"agreed_on": _today()})


@stage5.route("/learners/<learner_id>/destinations/new", methods=["GET", "POST"])
@login_required
def destination(learner_id):
    lid = learner_in_sight(learner_id, access.PLAN)
    return _simple_form(
        lid, DESTINATION, DestinationIn,
        lambda app, data: app.record_destination(g.actor, lid, **data),
        "destination.html", "destinations", kind_options=_options(DESTINATIONS, WORDS["destinations"]))


@stage5.route("/learners/<learner_id>/destinations/<destination_id>/sustained", methods=["GET", "POST"])
@login_required
def destination_sustained(learner_id, destination_id):
    """Two terms after it began, confirm the learner is still there. Before
    then the page says from when (no button); refused anyway, the same
    sentence stands by the date."""
    lid = (learner_opened(learner_id, "end of programme", access.PLAN) if request.method == "GET"
           else learner_in_sight(learner_id, access.PLAN))
    s = services()
    conn = s.fresh()
    where = queries.destination(conn, lid, destination_id)
    if where is None:
        abort(404)
    errors: dict = {}
    values: dict = {"confirmed_on": _today()}
    status = 200
    if request.method == "POST":
        values = dict(request.form)
        done = submit(SustainedIn, form_fields(), lambda data: s.app.confirm_destination_sustained(
            g.actor, lid, destination_id=destination_id, **data))
        if not done.errors:
            return redirect(url_for("stage5.end_of_programme", learner_id=lid, saved="sustained") + "#destinations")
        errors, status = _sustained_errors(done.errors, where), done.status
    return render_template("destination_sustained.html", lid=lid, name=queries.learner_name(conn, lid), where=where,
                           form=SUSTAINED, errors=errors, values=values, today=_today(),
                           too_early=_today() < where["follow_up_on"]), status


def _sustained_errors(errors: dict, where: dict) -> dict:
    """The record's refusals said by the date field: too early is "You can
    confirm this from 6 July 2026"; already confirmed says so."""
    out = {}
    for key, messages in errors.items():
        if key == "destination_id":
            out["confirmed_on"] = [f"This destination was already confirmed as sustained on "
                                   f"{long_day(where['sustained_on'])}" if where["sustained_on"] else messages[0]]
        elif key == "confirmed_on" and any("after two terms" in m for m in messages):
            out["confirmed_on"] = [confirm_from(where["follow_up_on"])]
        else:
            out[key] = messages
    return SUSTAINED.plain(out)


# --- consents ---------------------------------------------------------------------------------
@stage5.route("/learners/<learner_id>/consents", methods=["GET", "POST"])
@login_required
def consents(learner_id):
    """Anyone who may see the learner sees the consents and their history; a
    SEND lead records or changes them (access.PLAN)."""
    lid = (learner_in_sight(learner_id, access.PLAN) if request.method == "POST"
           else learner_opened(learner_id, "consents"))
    s = services()
    errors: dict = {}
    values: dict = {}
    status = 200
    if request.method == "POST":
        values = dict(request.form)
        body = form_fields()
        if body.get("given") in ("yes", "no"):
            body["given"] = body["given"] == "yes"
        else:
            body.pop("given", None)  # missing, or not an answer: "Choose whether consent is given"
        done = submit(ConsentIn, body, lambda data: s.app.record_consent(g.actor, lid, **data))
        if not done.errors:
            return redirect(url_for("stage5.consents", learner_id=lid, saved=done.data["consent"]))
        errors, status = CONSENT.plain(done.errors), done.status
    conn = s.fresh()
    return render_template(
        "consents.html", lid=lid, name=queries.learner_name(conn, lid), current=queries.consents(conn, lid),
        history=queries.consent_history(conn, lid), form=CONSENT, errors=errors, values=values,
        consent_options=_options(CONSENTS, WORDS["consents"]), answers=ANSWERS,
        may_change=g.actor.may(access.PLAN), saved=request.args.get("saved"),
    ), status

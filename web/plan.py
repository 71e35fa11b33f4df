"""Enrol and plan, on the web: the SEND lead enrols a learner (with a second
provider for a dual placement), then sets up their plan: EHCP Section E
outcomes, programme aims and targets, and changes them outside a review
(amend an outcome, revise or renegotiate a target, close one), each change
with its reason.

Every form is a page of its own that works as a plain form post; the record
refuses, the form comes back with the answers kept and each refusal in plain
words by its field (web/forms.py), and nothing is written."""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from marshmallow import Schema, fields, validate

from events.vocabulary import PFA_AREAS, RATINGS, REVISION_KINDS, TARGET_CLOSED_AS, WORDS
from rarpa.read import my_progress, queries
from rarpa.service import access
from rarpa.service.schemas import (
    PROVIDER_CODE,
    AimIn,
    ClosureIn,
    Day,
    Line,
    LearnerIn,
    OutcomeAmendIn,
    OutcomeIn,
    TargetIn,
    choice,
    words,
)
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.forms import Field, Form

plan = Blueprint("plan", __name__)

# The reason written with the second provider of a dual placement agreed when
# the learner is enrolled: the fact itself is the reason, so it is not asked for.
DUAL_PLACEMENT_REASON = "Dual placement agreed at enrolment"


# --- what the forms take in (the service's schemas, with what a page adds) ---------------------------
class EnrolmentIn(LearnerIn):
    """A learner, and optionally the second provider of a dual placement."""

    partner = Line(validate=PROVIDER_CODE, load_default=None)


class RevisionFormIn(Schema):
    """The target as it will be from now on: the page shows every part filled
    in with what it is now, so each is required (the API's RevisionIn leaves
    out what does not change)."""

    kind = choice(REVISION_KINDS, required=True)
    text = words(required=True)
    success_criteria = words(required=True)
    outcome_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1))
    review_by = Day(required=True)
    reason = words(required=True)


# --- the forms' fields, as people read them ------------------------------------------------------------
ENROL = Form(
    Field("name", "Full name", "the learner's full name"),
    Field("preferred_name", "Preferred name (optional)", "a preferred name",
          hint="What they like to be called. Leave it empty to use their first name."),
    Field("date_of_birth", "Date of birth", "the date of birth", kind="date"),
    Field("provider", "Lead provider", "the lead provider", kind="choice"),
    Field("partner", "Second provider (optional)", "a second provider", kind="choice",
          hint="Only for a dual placement: part of the week at another college. The lead provider stays "
               f"the lead, and the record gives the reason “{DUAL_PLACEMENT_REASON}”."),
)
_OUTCOME_FIELDS = (
    Field("text", "Outcome", "the outcome's wording", hint="As worded in Section E of the EHCP."),
    Field("pfa_area", "Preparing for Adulthood area", "a Preparing for Adulthood area", kind="choice"),
    Field("due", "Due by", "the date it is due by", kind="date"),
)
OUTCOME = Form(*_OUTCOME_FIELDS)
AMEND = Form(*_OUTCOME_FIELDS, Field("reason", "Why it changed", "a reason for the change",
                                     hint="For example: amended by the local authority after the annual review."))
AIM = Form(
    Field("text", "Programme aim", "the aim's wording",
          hint="What the programme is for, in words agreed with the learner."),
    Field("outcome_ids", "EHCP outcomes it serves (optional)", "the outcomes it serves", kind="choices"),
)
_TARGET_TEXT = Field("text", "Target", "the target's wording",
                     hint="Specific and measurable: what the learner will do, and by when.")
_CRITERIA = Field("success_criteria", "What success looks like", "what success looks like")
_SERVES = Field("outcome_ids", "EHCP outcomes it serves", "at least one outcome it serves", kind="choices",
                hint="Choose one or more.")
_REVIEW_BY = Field("review_by", "Review by", "the date to review it by", kind="date")
TARGET = Form(
    _TARGET_TEXT, _CRITERIA, _SERVES,
    Field("baseline", "Where the learner is now (baseline)", "a baseline rating", kind="choice"),
    Field("baseline_note", "How the baseline was judged (optional)", "a note on the baseline"),
    _REVIEW_BY,
)
REVISE = Form(
    Field("kind", "What kind of change", "renegotiated or revised", kind="choice",
          hint="Renegotiated: agreed afresh with the learner as they moved on. "
               "Revised: adjusted, for example clearer wording or a new review date."),
    _TARGET_TEXT, _CRITERIA, _SERVES, _REVIEW_BY,
    Field("reason", "Why it changed", "a reason for the change"),
)
CLOSE = Form(
    Field("closed_as", "Closed as", "how the target ends", kind="choice"),
    Field("reason", "Why it is closed now", "a reason for closing it"),
)


# --- the record's refusals, in plain words --------------------------------------------------------------
def _said(form: Form, errors: dict[str, list[str]], provider_names: dict[str, str] | None = None) -> dict:
    """The record's own refusals as sentences, then every message in plain
    words by its field (Form.plain)."""
    names = provider_names or {}

    def one(key: str, message: str) -> str:
        if message.startswith("you can enrol learners at "):
            mine = g.actor.provider or ""
            return f"You can enrol learners at {names.get(mine, mine)} only"
        if message.startswith("no provider with the short code") and key in form.fields:
            return f"Choose {form[key].what}"
        if key == "partner" and message.startswith("must be another provider"):
            return "The second provider must not be the lead provider"
        if message.startswith("no such EHCP outcome"):
            return "Choose outcomes from this learner's plan"
        return message

    plain = form.plain({key: [one(key, m) for m in messages] for key, messages in errors.items()})
    # "Preferred name must be...", not "Preferred name (optional) must be...".
    return {key: [m.replace(" (optional)", "") for m in messages] for key, messages in plain.items()}


def _posted(form: Form) -> tuple[dict, dict]:
    """What was posted (kept to show again) and the body for the schema: the
    form's own fields, lists as lists, an empty answer as no answer."""
    values: dict[str, Any] = form_fields(keep_empty=True)
    for name, field in form.fields.items():
        if field.kind == "choices":
            values[name] = request.form.getlist(name)
    body = {k: v for k, v in values.items() if k in form.fields and v not in ("", [])}
    return values, body


def _run(form: Form, schema: type[Schema], command: Callable[[dict], Any],
         provider_names: dict[str, str] | None = None) -> tuple[dict, dict, int, Any]:
    """Take the posted form through its schema to the service: (values,
    errors, status, what was written or None)."""
    values, body = _posted(form)
    done = submit(schema, body, command)
    if done.errors:
        if "target_id" in done.errors:  # closed meanwhile: there is nothing left to change
            abort(409, "This target is closed, so it cannot be changed any more.")
        return values, _said(form, done.errors, provider_names), done.status, None
    return values, {}, 200, done.written


def _ids(data: dict) -> dict:
    if data.get("outcome_ids") is not None:
        data["outcome_ids"] = [str(o) for o in data["outcome_ids"]]
    return data


# --- enrolling a learner ----------------------------------------------------------------------------------
@plan.route("/learners/new", methods=["GET", "POST"])
@login_required
def enrol():
    s = services()
    providers = queries.providers(s.fresh())
    names = {p["slug"]: p["name"] for p in providers}
    # A SEND lead enrols at their own provider (the service refuses any other).
    leads = [p for p in providers if g.actor.role != "send_lead" or p["slug"] == g.actor.provider]
    values: dict = {"provider": g.actor.provider or ""}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        def enrol_one(data: dict):
            partner = data.pop("partner", None)
            return s.app.enrol_learner(g.actor, **data, partner=partner,
                                       partner_reason=DUAL_PLACEMENT_REASON if partner else "")

        values, errors, status, written = _run(ENROL, EnrolmentIn, enrol_one, provider_names=names)
        if written is not None:
            return redirect(url_for("pages.learner", learner_id=written.result, enrolled=1))
    return render_template("enrol.html", form=ENROL, values=values, errors=errors,
                           leads=[(p["slug"], p["name"]) for p in leads],
                           # The second provider is another one than a lead that cannot be changed.
                           partners=[(p["slug"], p["name"]) for p in providers if [p] != leads]), status


# --- the plan ---------------------------------------------------------------------------------------------
def _learner(learner_id: str) -> tuple[str, Any, str]:
    """The learner's id (a 404 out of sight, a 403 for a role that may not
    plan), a fresh read connection and the name to show."""
    lid = (learner_opened(learner_id, "plan", access.PLAN) if request.method == "GET"
           else learner_in_sight(learner_id, access.PLAN))
    conn = services().fresh()
    return lid, conn, queries.learner_name(conn, lid)


@plan.get("/learners/<learner_id>/plan")
@login_required
def overview(learner_id):
    lid, conn, name = _learner(learner_id)
    return render_template("plan.html", lid=lid, name=name, plan=queries.plan(conn, lid),
                           done=request.args.get("done"),
                           # Each target in the learner's own words (web/my_progress.py), and whose.
                           first=my_progress.preferred_name(conn, lid), learner_words=my_progress.learner_words(conn, lid))


def _done(lid: str, what: str, anchor: str):
    return redirect(url_for("plan.overview", learner_id=lid, done=what) + "#" + anchor)


def _outcome_options(conn, lid: str) -> list[tuple[str, str]]:
    return [(o["id"], f"{WORDS['areas'][o['pfa_area']]}: {o['text']}")
            for o in queries.plan(conn, lid)["outcomes"]]


def _form_page(template: str, form: Form, lid: str, name: str, values: dict, errors: dict, status: int, **extra):
    return render_template(template, form=form, lid=lid, name=name, values=values, errors=errors,
                           areas=[(a, WORDS["areas"][a]) for a in PFA_AREAS],
                           ratings=[(r, WORDS["ratings"][r].capitalize()) for r in RATINGS],
                           kinds=[(k, WORDS["changes"][k]) for k in REVISION_KINDS],
                           closings=[(c, WORDS["closed_as"][c].capitalize()) for c in TARGET_CLOSED_AS],
                           **extra), status


@plan.route("/learners/<learner_id>/plan/outcomes/new", methods=["GET", "POST"])
@login_required
def add_outcome(learner_id):
    lid, conn, name = _learner(learner_id)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(
            OUTCOME, OutcomeIn, lambda data: services().app.record_outcome(g.actor, lid, **data))
        if written is not None:
            return _done(lid, "outcome", f"o-{written.result}")
    return _form_page("plan_outcome.html", OUTCOME, lid, name, values, errors, status, outcome=None)


@plan.route("/learners/<learner_id>/plan/outcomes/<outcome_id>/amend", methods=["GET", "POST"])
@login_required
def amend_outcome(learner_id, outcome_id):
    lid, conn, name = _learner(learner_id)
    outcome = queries.outcome(conn, lid, outcome_id)
    if outcome is None:
        abort(404)
    values, errors, status = {k: outcome[k] for k in ("text", "pfa_area", "due")}, {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(AMEND, OutcomeAmendIn, lambda data: services().app.amend_outcome(
            g.actor, lid, outcome_id=outcome["id"], **data))
        if written is not None:
            return _done(lid, "amended", f"o-{outcome['id']}")
    return _form_page("plan_outcome.html", AMEND, lid, name, values, errors, status, outcome=outcome)


@plan.route("/learners/<learner_id>/plan/aims/new", methods=["GET", "POST"])
@login_required
def agree_aim(learner_id):
    lid, conn, name = _learner(learner_id)
    values, errors, status = {"outcome_ids": []}, {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(
            AIM, AimIn, lambda data: services().app.agree_aim(g.actor, lid, **_ids(data)))
        if written is not None:
            return _done(lid, "aim", f"a-{written.result}")
    return _form_page("plan_aim.html", AIM, lid, name, values, errors, status,
                      outcomes=_outcome_options(conn, lid))


@plan.route("/learners/<learner_id>/plan/targets/new", methods=["GET", "POST"])
@login_required
def set_target(learner_id):
    lid, conn, name = _learner(learner_id)
    values, errors, status = {"outcome_ids": request.args.getlist("outcome")}, {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(
            TARGET, TargetIn, lambda data: services().app.set_target(g.actor, lid, **_ids(data)))
        if written is not None:
            return _done(lid, "target", f"t-{written.result}")
    return _form_page("plan_target.html", TARGET, lid, name, values, errors, status,
                      outcomes=_outcome_options(conn, lid))


def _open_target(conn, lid: str, target_id: str) -> dict:
    target = queries.target(conn, lid, target_id)
    if target is None:
        abort(404)
    if target["status"] != "open":
        abort(409, f"This target was closed ({WORDS['closed_as'][target['closed_as']]}), "
                   "so it cannot be changed any more.")
    return target


@plan.route("/learners/<learner_id>/plan/targets/<target_id>/revise", methods=["GET", "POST"])
@login_required
def revise_target(learner_id, target_id):
    lid, conn, name = _learner(learner_id)
    target = _open_target(conn, lid, target_id)
    values = {k: target[k] for k in ("text", "success_criteria", "outcome_ids", "review_by")}
    errors, status = {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(REVISE, RevisionFormIn, lambda data: services().app.revise_target(
            g.actor, lid, target_id=target["id"], **_ids(data)))
        if written is not None:
            return _done(lid, "revised", f"t-{target['id']}")
    return _form_page("plan_revise.html", REVISE, lid, name, values, errors, status, target=target,
                      outcomes=_outcome_options(conn, lid))


@plan.route("/learners/<learner_id>/plan/targets/<target_id>/close", methods=["GET", "POST"])
@login_required
def close_target(learner_id, target_id):
    lid, conn, name = _learner(learner_id)
    target = _open_target(conn, lid, target_id)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        values, errors, status, written = _run(CLOSE, ClosureIn, lambda data: services().app.close_target(
            g.actor, lid, target_id=target["id"], **data))
        if written is not None:
            return _done(lid, "closed", f"t-{target['id']}")
    return _form_page("plan_close.html", CLOSE, lid, name, values, errors, status, target=target)

"""The JSON API under /api/v1 (its contract: the schemas in
rarpa/service/schemas.py, published as /api/v1/openapi.json).

Each view: authenticate (bearer token), validate the body with its marshmallow
schema, call the service, wait for the read model (read-your-writes), answer
from the read model. Routes are declared with ``@route`` so the OpenAPI
document is generated from the same schemas that validate requests.
"""

from __future__ import annotations

import json as std_json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from rarpa.read import annual_review, my_progress, queries
from rarpa.read import history as history_mod
from rarpa.read import timeline
from rarpa.service import portable
from rarpa.service import schemas as S
from rarpa.service.access import NotFound
from web import rules
from web.auth import signin
from web.common import client_address, learner_in_sight, learner_opened, schema_of, services
from web.openapi import spec_for
from web.problems import TITLES, Problem

api = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclass
class RouteDoc:
    rule: str
    method: str
    summary: str
    body: type | None
    returns: type | None
    status: int
    query: dict[str, str]
    public: bool = False
    endpoint: str = ""  # the view's name: its rule in web/rules.py is "api.<endpoint>"


ROUTES: list[RouteDoc] = []


def route(rule, method="GET", *, summary, body=None, returns=None, status=200, query=None, public=False):
    def register(fn):
        ROUTES.append(RouteDoc(rule, method, summary, body, returns, status, query or {}, public, fn.__name__))
        api.add_url_rule(rule, endpoint=fn.__name__, view_func=fn, methods=[method])
        return fn

    return register


# No body of ours nests deeper than 4 (a review's new targets' outcome ids).
MAX_DEPTH = 16


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")


def _parse_body() -> Any:
    """The body as strict JSON (RFC 8259): properly encoded (a UTF-8 encoded
    surrogate is refused, not let through as a lone surrogate), no NaN or
    Infinity, and not nested so deeply that the parser runs out of stack."""
    raw = request.get_data(cache=True)
    try:
        return std_json.loads(raw.decode(std_json.detect_encoding(raw)), parse_constant=_not_json)
    except RecursionError:
        raise Problem(400, f"The body is nested too deeply (at most {MAX_DEPTH} levels).",
                      {"body": ["is nested too deeply"]}) from None
    except ValueError:  # includes UnicodeDecodeError and ints too long to read
        raise Problem(400, "The body is not valid JSON.", {"body": ["is not valid JSON"]}) from None


def _too_deep(data: dict) -> str | None:
    """The top-level field under which the body nests deeper than MAX_DEPTH, or
    None. Iterative, so no depth can exhaust the stack here."""
    stack = [(value, 2, key) for key, value in data.items()]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                return field
            stack.extend((v, depth + 1, field) for v in (value.values() if isinstance(value, dict) else value))
    return None


def load(schema_cls) -> dict:
    if not request.is_json:
        raise Problem(415, "Send the body as JSON with Content-Type: application/json.")
    data = _parse_body()
    if not isinstance(data, dict):
        raise Problem(400, "The body must be a JSON object.", {"body": ["must be a JSON object"]})
    field = _too_deep(data)
    if field is not None:
        raise Problem(400, f"The body is nested too deeply under {field} (at most {MAX_DEPTH} levels).",
                      {field: ["is nested too deeply"]})
    return schema_of(schema_cls).load(data)


def answer(data: Any, status: int = 200, location: str | None = None) -> Response:
    response = jsonify(data)
    response.status_code = status
    if location:
        response.headers["Location"] = location
    return response


# --- authentication ------------------------------------------------
@api.before_request
def authenticate():
    endpoint = request.endpoint or ""
    if endpoint.endswith(("openapi", "problems")):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Send a bearer token: Authorization: Bearer <token from `rarpa token create`>.",
                      headers={"WWW-Authenticate": 'Bearer realm="rarpa"'})
    actor = services().app.actor_for_token(token.strip())
    if actor is None:
        # Tokens are random and looked up by digest, so guessing is hopeless and
        # cheap to refuse; still, an address sending many invalid ones is told to
        # stop. A valid token is never refused, whatever its address did.
        wait = signin().invalid_token_wait(client_address())
        if wait:
            raise Problem(429, f"Too many invalid tokens from this address. Try again in {wait} seconds.",
                          headers={"Retry-After": str(wait)})
        raise Problem(401, "This token is not valid (unknown or revoked).",
                      headers={"WWW-Authenticate": 'Bearer realm="rarpa", error="invalid_token"'})
    g.actor = actor
    rules.gate()  # the rule table's answer for a learner's route, before the view
    return None


# --- learners -----------------------------------------------------------------------
@route("/me", summary="Who the token belongs to", returns=None)
def me():
    a = g.actor
    return answer({"id": a.user_id, "email": a.email, "role": a.role, "provider": a.provider,
                   "caseload": sorted(a.caseload)})


@route("/learners", summary="Learners you can see (caseload, provider or all, by role)", returns=S.LearnerList)
def list_learners():
    return answer({"learners": queries.visible_learners(services().fresh(), g.actor)})


@route("/learners", "POST", summary="Enrol a learner", body=S.LearnerIn, returns=S.LearnerOut, status=201)
def enrol_learner():
    data = load(S.LearnerIn)
    s = services()
    written = s.app.enrol_learner(g.actor, **data)
    learner = queries.learner(s.wait_for(written), written.result)
    return answer(learner, 201, f"/api/v1/learners/{written.result}")


@route("/learners/<learner_id>", summary="One learner", returns=S.LearnerOut)
def get_learner(learner_id):
    lid = learner_opened(learner_id, "learner page")
    conn = services().fresh()
    learner = queries.learner(conn, lid)
    learner["reviews_due"] = queries.reviews_due(conn, lid)
    return answer(learner)


@route("/learners/<learner_id>/providers", "POST", summary="A provider joins (dual placement)",
       body=S.ProviderJoinIn, returns=S.LearnerOut, status=201)
def join_provider(learner_id):
    data = load(S.ProviderJoinIn)
    s = services()
    written = s.app.join_provider(g.actor, learner_id, **data)
    return answer(queries.learner(s.wait_for(written), written.learner_id), 201)


@route("/learners/<learner_id>/providers/<provider>/leave", "POST",
       summary="A provider leaves (the end of a dual placement; its staff lose sight at once)",
       body=S.ProviderLeaveIn, returns=S.LearnerOut, status=201)
def leave_provider(learner_id, provider):
    data = load(S.ProviderLeaveIn)
    s = services()
    written = s.app.leave_provider(g.actor, learner_id, provider=provider, **data)
    return answer(queries.learner(s.wait_for(written), written.learner_id), 201)


@route("/learners/<learner_id>/consents", "POST", summary="Record consent (photographs, sharing)",
       body=S.ConsentIn, returns=S.Created, status=201)
def record_consent(learner_id):
    data = load(S.ConsentIn)
    s = services()
    s.wait_for(s.app.record_consent(g.actor, learner_id, **data))
    return answer({"consent": data["consent"], "given": data["given"]}, 201)


# --- stage 1-3: outcomes, aims, targets ------------------------------------------------------
def _outcome_row(conn, learner_id, outcome_id):
    outcome = queries.outcome(conn, learner_id, outcome_id)
    if outcome is None:
        raise NotFound("outcome")
    return outcome


@route("/learners/<learner_id>/outcomes", "POST", summary="Record an EHCP Section E outcome",
       body=S.OutcomeIn, returns=S.OutcomeProgress, status=201)
def record_outcome(learner_id):
    data = load(S.OutcomeIn)
    s = services()
    written = s.app.record_outcome(g.actor, learner_id, **data)
    return answer(_outcome_row(s.wait_for(written), written.learner_id, written.result), 201)


@route("/learners/<learner_id>/outcomes/<outcome_id>/amendments", "POST", summary="Amend an outcome",
       body=S.OutcomeAmendIn, returns=S.OutcomeProgress, status=201)
def amend_outcome(learner_id, outcome_id):
    data = load(S.OutcomeAmendIn)
    s = services()
    written = s.app.amend_outcome(g.actor, learner_id, outcome_id=outcome_id, **data)
    return answer(_outcome_row(s.wait_for(written), written.learner_id, outcome_id), 201)


@route("/learners/<learner_id>/aims", "POST", summary="Agree a programme aim", body=S.AimIn,
       returns=S.Created, status=201)
def agree_aim(learner_id):
    data = load(S.AimIn)
    written = services().app.agree_aim(g.actor, learner_id, text=data["text"],
                                        outcome_ids=[str(o) for o in data["outcome_ids"]])
    services().wait_for(written)
    return answer({"id": written.result}, 201)


def _target_row(conn, learner_id, target_id):
    target = queries.target(conn, learner_id, target_id)
    if target is None:
        raise NotFound("target")
    return target


@route("/learners/<learner_id>/targets", "POST", summary="Set a target with its baseline",
       body=S.TargetIn, returns=S.TargetProgress, status=201)
def set_target(learner_id):
    data = load(S.TargetIn)
    data["outcome_ids"] = [str(o) for o in data["outcome_ids"]]
    s = services()
    written = s.app.set_target(g.actor, learner_id, **data)
    return answer(_target_row(s.wait_for(written), written.learner_id, written.result), 201)


@route("/learners/<learner_id>/targets/<target_id>/revisions", "POST",
       summary="Renegotiate or revise a target (with a reason)", body=S.RevisionIn,
       returns=S.TargetProgress, status=201)
def revise_target(learner_id, target_id):
    data = load(S.RevisionIn)
    if data.get("outcome_ids") is not None:
        data["outcome_ids"] = [str(o) for o in data["outcome_ids"]]
    s = services()
    written = s.app.revise_target(g.actor, learner_id, target_id=target_id, **data)
    return answer(_target_row(s.wait_for(written), written.learner_id, target_id), 201)


@route("/learners/<learner_id>/targets/<target_id>/closures", "POST", summary="Close a target",
       body=S.ClosureIn, returns=S.TargetProgress, status=201)
def close_target(learner_id, target_id):
    data = load(S.ClosureIn)
    s = services()
    written = s.app.close_target(g.actor, learner_id, target_id=target_id, **data)
    return answer(_target_row(s.wait_for(written), written.learner_id, target_id), 201)


@route("/learners/<learner_id>/targets/<target_id>/learner-words", "POST",
       summary="Write a target in the learner's own words (shown to them instead of the staff wording)",
       body=S.LearnerWordsIn, returns=S.TargetWordsOut, status=201)
def word_target_for_learner(learner_id, target_id):
    data = load(S.LearnerWordsIn)
    s = services()
    written = s.app.word_target_for_learner(g.actor, learner_id, target_id=target_id, **data)
    conn = s.wait_for(written)
    return answer({**_target_row(conn, written.learner_id, target_id),
                   "learner_words": my_progress.target(conn, written.learner_id, target_id)["learner_words"]}, 201)


# --- stage 4: observations --------------------------------------------------------------------
def _observation(conn, learner_id, observation_id):
    out = queries.observation(conn, learner_id, observation_id)
    if out is None:
        raise NotFound("observation")
    out["target"] = _target_row(conn, learner_id, out["target_id"])
    return out


@route("/learners/<learner_id>/observations", "POST",
       summary="Record an observation (idempotent on its client-made id)", body=S.ObservationIn,
       returns=S.ObservationOut, status=201)
def record_observation(learner_id):
    data = load(S.ObservationIn)
    s = services()
    written = s.app.record_observation(
        g.actor, learner_id, observation_id=str(data.pop("id")),
        target_id=str(data.pop("target_id")), **data,
    )
    lid = written.learner_id
    body = _observation(s.wait_for(written), lid, written.result["id"])
    return answer(body, 201 if written.created else 200, f"/api/v1/learners/{lid}/observations/{body['id']}")


@route("/learners/<learner_id>/observations/<observation_id>", summary="One observation",
       returns=S.ObservationOut)
def get_observation(learner_id, observation_id):
    lid = learner_opened(learner_id, "observation")
    return answer(_observation(services().fresh(), lid, observation_id))


@route("/learners/<learner_id>/observations/<observation_id>/corrections", "POST",
       summary="Correct an observation (the original stays in history)", body=S.CorrectionIn,
       returns=S.ObservationOut, status=201)
def correct_observation(learner_id, observation_id):
    data = load(S.CorrectionIn)
    s = services()
    written = s.app.correct_observation(g.actor, learner_id, observation_id=observation_id, **data)
    return answer(_observation(s.wait_for(written), written.learner_id, observation_id), 201)


@route("/learners/<learner_id>/observations/<observation_id>/withdrawals", "POST",
       summary="Withdraw an observation (e.g. undo); it stays in history", body=S.WithdrawalIn,
       returns=S.ObservationOut, status=201)
def withdraw_observation(learner_id, observation_id):
    data = load(S.WithdrawalIn)
    s = services()
    written = s.app.withdraw_observation(g.actor, learner_id, observation_id=observation_id, **data)
    return answer(_observation(s.wait_for(written), written.learner_id, observation_id), 201)


@route("/learners/<learner_id>/self-assessments", "POST", summary="The learner's own view of a target",
       body=S.SelfAssessmentIn, returns=S.Created, status=201)
def record_self_assessment(learner_id):
    data = load(S.SelfAssessmentIn)
    data["target_id"] = str(data["target_id"])
    written = services().app.record_self_assessment(g.actor, learner_id, **data)
    services().wait_for(written)
    return answer({"id": written.result}, 201)


# --- reviews and stage 5 -------------------------------------------------------------------------
@route("/learners/<learner_id>/reviews", "POST", summary="Hold a progress review",
       body=S.ReviewIn, returns=S.Created, status=201)
def hold_review(learner_id):
    data = load(S.ReviewIn)
    for t in data["new_targets"]:
        t["outcome_ids"] = [str(o) for o in t["outcome_ids"]]
    written = services().app.hold_progress_review(g.actor, learner_id, **data)
    services().wait_for(written)
    return answer({"id": written.result}, 201)


def _simple(command, schema):
    def view(learner_id):
        data = load(schema)
        for k, v in list(data.items()):
            if k.endswith("_id") and v is not None:
                data[k] = str(v)
        written = getattr(services().app, command)(g.actor, learner_id, **data)
        services().wait_for(written)
        return answer({"id": written.result}, 201)

    view.__name__ = command
    return view


for _path, _command, _schema, _summary in (
    ("summative-assessments", "record_summative_assessment", S.SummativeIn, "Summative assessment of a target"),
    ("outcome-summatives", "record_outcome_summative", S.OutcomeSummativeIn,
     "Summative judgement of an EHCP outcome at the end of the programme"),
    ("unplanned-outcomes", "recognise_unplanned_outcome", S.UnplannedOutcomeIn, "An outcome nobody planned"),
    ("next-steps", "agree_next_step", S.NextStepIn, "Agree a next step"),
    ("destinations", "record_destination", S.DestinationIn, "Where the learner goes next"),
):
    route(f"/learners/<learner_id>/{_path}", "POST", summary=_summary, body=_schema,
          returns=S.Created, status=201)(_simple(_command, _schema))


@route("/learners/<learner_id>/annual-reviews", "POST", summary="Record the EHCP annual review",
       body=S.AnnualReviewIn, returns=S.Created, status=201)
def hold_annual_review(learner_id):
    data = load(S.AnnualReviewIn)
    for r in data["recommendations"]:
        r["outcome_id"] = str(r["outcome_id"])
    written = services().app.hold_annual_review(g.actor, learner_id, **data)
    services().wait_for(written)
    return answer({"id": written.result}, 201)


@route("/learners/<learner_id>/destinations/<destination_id>/sustained", "POST",
       summary="Confirm a destination was sustained (two terms on)", body=S.SustainedIn,
       returns=S.Created, status=201)
def destination_sustained(learner_id, destination_id):
    data = load(S.SustainedIn)
    written = services().app.confirm_destination_sustained(g.actor, learner_id, destination_id=destination_id, **data)
    services().wait_for(written)
    return answer({"id": destination_id}, 201)


@route("/learners/<learner_id>/annual-review", summary="The annual-review pack as JSON",
       returns=S.AnnualReviewOut,
       query={"from": "YYYY-MM-DD; default: the last annual review, at most 12 months back",
              "to": "YYYY-MM-DD; default today", "as_at": "ISO date-time: the pack as the record stood then"})
def annual_review_pack(learner_id):
    as_at = _as_at(request.args.get("as_at"))
    learner_id = learner_opened(learner_id, "annual-review pack")
    try:
        start, end = annual_review.parse_period(request.args.get("from"), request.args.get("to"),
                                                (as_at or datetime.now(timezone.utc)).date())
        return answer(annual_review.pack(services().app, services().fresh(), g.actor, learner_id,
                                         start=start, end=end, as_at=as_at))
    except annual_review.PeriodError as e:
        raise Problem(400, f"{e.field}: {e.message}", {e.field: [e.message]}) from None


# --- reading progress and history -------------------------------------------------------------
@route("/learners/<learner_id>/progress", summary="Progress per target and per EHCP outcome",
       returns=S.ProgressOut)
def get_progress(learner_id):
    lid = learner_opened(learner_id, "progress")
    return answer(queries.progress(services().fresh(), lid))


def _as_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return history_mod.parse_instant(value)
    except ValueError as e:
        raise Problem(400, f"as_at {e}.", {"as_at": [str(e)]}) from None


@route("/learners/<learner_id>/history", summary="Events and progress as the record stood at as_at",
       returns=S.HistoryOut, query={"as_at": "ISO date-time with offset (a recorded time); default now"})
def get_history(learner_id):
    as_at = _as_at(request.args.get("as_at"))
    lid = learner_opened(learner_id, "history")
    return answer(history_mod.history(services().app, g.actor, lid, as_at))


@route("/learners/<learner_id>/events", summary="Export: a line describing the file, then every event as JSON lines")
def export_events(learner_id):
    lid = learner_opened(learner_id, "export")
    conn = services().fresh()
    text = portable.export_text(services().app, g.actor, lid, user_names=queries.user_names(conn),
                                provider_names=timeline.provider_names(conn))
    return Response(text, mimetype="application/x-ndjson",
                    headers={"Cache-Control": "private, no-store"})


@route("/learners/<learner_id>/changes", summary="What was recorded after one instant and up to another",
       returns=S.ChangesOut, query={"from": "ISO date-time with offset (T1, not included)",
                                    "to": "ISO date-time with offset (T2, included); default now"})
def get_changes(learner_id):
    after, up_to = _window(request.args.get("from"), request.args.get("to"))
    lid = learner_opened(learner_id, "changes")
    found = timeline.changes(services().app, services().fresh(), g.actor, lid, after, up_to)
    return answer({"from": after.isoformat(), "to": up_to.isoformat(), "changes": found})


def _window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """From T1 (not included; default: the start of the record) to T2 (default now)."""
    try:
        after = history_mod.parse_instant(start) if start else datetime(1900, 1, 1, tzinfo=timezone.utc)
    except ValueError as e:
        raise Problem(400, f"from {e}.", {"from": [str(e)]}) from None
    up_to = _as_at(end) if end else datetime.now(timezone.utc)
    if up_to < after:
        raise Problem(400, "to: must not be before from.", {"to": ["must not be before from"]})
    return after, up_to


@route("/learners/<learner_id>/access-log", summary="Who has opened this learner's record (auditors, SEND lead)",
       returns=S.AccessLogOut)
def get_access_log(learner_id):
    entries = services().app.access_entries(g.actor, learner_id, address=client_address(), detail=request.path)
    conn = services().fresh()
    emails, names = queries.user_emails(conn), queries.user_names(conn)
    return answer({"entries": [{"at": e["at"], "user": emails.get(e["user_id"], e["user_id"]),
                                "user_id": e["user_id"], "name": names.get(e["user_id"], e["user_id"]),
                                "role": e["role"], "action": e["action"], "address": e["address"]}
                               for e in entries]})


@route("/learners/<learner_id>/fingerprints/<fingerprint>",
       summary="Whether a fingerprint (at least 16 hex characters) is one of this learner's record",
       returns=S.FingerprintOut)
def check_fingerprint(learner_id, fingerprint):
    lid = learner_in_sight(learner_id)  # like every route: a learner out of sight is a 404
    found = services().app.check_fingerprint(g.actor, lid, fingerprint)
    return answer({"matches": found.matches, "position": found.position, "recorded_at": found.recorded_at,
                   "events_after": found.events_after})


@route("/problems/<int:status>", summary="What a problem type means", public=True)
def problems(status):
    return answer({"status": status, "title": TITLES.get(status, "Error")})


@route("/openapi.json", summary="This document", public=True)
def openapi():
    return answer(_spec())


@lru_cache(maxsize=1)
def _spec() -> dict:
    """Built once: the route table is complete when this module has been imported."""
    return spec_for(ROUTES)


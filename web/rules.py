"""Which action of the rule table (rarpa/service/access.py RULES) each route
about a learner needs, and the gate that applies it before the view runs.

Every page, fragment and API route whose address names a learner is listed
here, by endpoint (and by method where GET shows and POST changes). The gate
refuses a learner out of sight (404), an action the person may not do (403;
404 for a hidden one) and, loudly, a route nobody gave a rule: a new route
cannot leak by being forgotten. The views still ask the service, which
checks again; this is where the answer is decided first, in one place.
"""

from __future__ import annotations

import logging

from flask import g, request

from rarpa.service.access import AUDIT, ENROL, PLAN, READ, RECORD, REVIEW, SHARE
from web.common import services

log = logging.getLogger("rarpa.web.rules")

ROUTE_ACTIONS: dict[str, str | dict[str, str]] = {
    # The tablet app.
    "pages.learner": READ,
    "pages.observation": {"GET": READ, "POST": RECORD},
    "pages.record": RECORD,
    "pages.undo": RECORD,
    "evidence.evidence_page": READ,
    # Photo evidence (web/photos.py, web/photo_api.py).
    "photos.photo": READ,
    "photos.thumbnail": READ,
    "photos.choose": PLAN,
    "photos.remove": RECORD,
    "api.add_photo": RECORD,
    "api.list_photos": READ,
    "api.get_photo": READ,
    # Reviews, the learner's voice, the pack.
    "reviews.annual_review_page": {"GET": READ, "POST": REVIEW},
    "reviews.annual_review_pdf": READ,
    "reviews.self_assessment": RECORD,
    "reviews.progress_review": REVIEW,
    # The plan (stages 1-3).
    "plan.overview": PLAN,
    "plan.add_outcome": PLAN,
    "plan.amend_outcome": PLAN,
    "plan.agree_aim": PLAN,
    "plan.set_target": PLAN,
    "plan.revise_target": PLAN,
    "plan.close_target": PLAN,
    "placements.page": ENROL,
    "placements.leave": ENROL,
    # The end of the programme (stage 5) and consent.
    "stage5.end_of_programme": READ,
    "stage5.consents": {"GET": READ, "POST": PLAN},
    "stage5.unplanned_outcome": RECORD,
    "stage5.next_step": REVIEW,
    "stage5.destination": PLAN,
    "stage5.destination_sustained": PLAN,
    "stage5.target_summative": PLAN,
    "stage5.outcome_summative": PLAN,
    # The auditor's workspace.
    "workspace.timeline_page": AUDIT,
    "workspace.compare_page": AUDIT,
    "workspace.access_log_page": AUDIT,
    # Handing the whole record over.
    "bundles.transfer_pack_zip": SHARE,
    "bundles.subject_access_zip": SHARE,
    # The JSON API.
    "api.get_learner": READ,
    "api.get_progress": READ,
    "api.get_history": READ,
    "api.get_changes": READ,
    "api.export_events": READ,
    "api.get_observation": READ,
    "api.annual_review_pack": READ,
    "api.check_fingerprint": READ,
    "api.get_access_log": AUDIT,
    "api.join_provider": ENROL,
    "api.record_consent": PLAN,
    "api.record_outcome": PLAN,
    "api.amend_outcome": PLAN,
    "api.agree_aim": PLAN,
    "api.set_target": PLAN,
    "api.revise_target": PLAN,
    "api.close_target": PLAN,
    "api.record_observation": RECORD,
    "api.correct_observation": RECORD,
    "api.withdraw_observation": RECORD,
    "api.record_self_assessment": RECORD,
    "api.recognise_unplanned_outcome": RECORD,
    "api.hold_review": REVIEW,
    "api.agree_next_step": REVIEW,
    "api.hold_annual_review": REVIEW,
    "api.record_summative_assessment": PLAN,
    "api.record_outcome_summative": PLAN,
    "api.record_destination": PLAN,
    "api.destination_sustained": PLAN,
}


class NoRule(RuntimeError):
    """A route about a learner that the table does not name: refused (500)."""


def action_for(endpoint: str, method: str) -> str:
    rule = ROUTE_ACTIONS.get(endpoint)
    if rule is None:
        raise NoRule(f"no access rule for {endpoint}: add it to web/rules.py ROUTE_ACTIONS")
    if isinstance(rule, dict):
        return rule.get(method) or rule["GET"]
    return rule


def gate() -> None:
    """Before a view about a learner: the rule table's answer for this person."""
    learner_id = (request.view_args or {}).get("learner_id")
    if learner_id is None or not g.get("actor"):
        return
    try:
        action = action_for(request.endpoint or "", request.method)
    except NoRule:
        log.error("refused %s %s: the route has no access rule", request.method, request.path)
        raise
    services().app.check(g.actor, learner_id, action)

"""Which action of the rule table (rarpa/service/access.py RULES) each route
needs, and the gate that applies it before the view runs.

Every route of the app is listed here, by endpoint (and by method where GET
shows and POST changes): pages, fragments, the API, the administration, the
app shell. A route whose address names a learner is checked against that
learner (404 out of sight, 403 for an action the person may not do, 404 for
a hidden one); any other route against the role (403 when the role may not
do the action to anyone). Two words are not actions: ``PUBLIC`` (no sign-in:
the sign-in page, a one-time invitation link, the app shell and static
files) and ``SIGNED_IN`` (anyone signed in: their own Today, which lists only
whom they may READ, their own details, signing out).

A route nobody gave a rule cannot run: ``create_app`` refuses to start
(``check_table``), and the gate refuses it (500) if one is added later.
The views still ask the service, which checks again; this is where the
answer is decided first, in one place.
"""

from __future__ import annotations

import logging

from flask import g, request

from rarpa.service.access import (ADMINISTER, AUDIT, COHORT, CONTRIBUTE, ENROL, ERASE, FAMILY_VIEW, MODERATE, PLAN,
                                  READ, RECORD, REVIEW, RULES, SHARE, Forbidden)
from web.common import services

log = logging.getLogger("rarpa.web.rules")

PUBLIC = "public"  # no sign-in needed
SIGNED_IN = "signed in"  # anyone signed in; what they are shown is scoped by READ

ROUTE_ACTIONS: dict[str, str | dict[str, str]] = {
    # Open to all: signing in, an invitation's one-time link, the installable shell.
    "auth.login": PUBLIC,
    "invitation.set_password": PUBLIC,
    "shell.manifest": PUBLIC,
    "shell.offline": PUBLIC,
    "shell.service_worker": PUBLIC,
    "shell.vendor": PUBLIC,
    "shell.hashed": PUBLIC,
    "static": PUBLIC,
    "healthz": PUBLIC,
    "api.openapi": PUBLIC,
    "api.problems": PUBLIC,
    # Anyone signed in: about themselves, or lists scoped to whom they may read.
    "auth.logout": SIGNED_IN,
    "auth.confirm": SIGNED_IN,
    "learner_mode.unlock": SIGNED_IN,  # the signed-in person's own password ends learner mode
    "pages.today": SIGNED_IN,
    "api.me": SIGNED_IN,
    "api.list_learners": SIGNED_IN,
    "family.home": SIGNED_IN,  # a family member's learners (anyone else: 404)
    # Not about one learner: the role must be allowed the action at all.
    "group.page": RECORD,
    "group.save": RECORD,
    "plan.enrol": ENROL,
    "api.enrol_learner": ENROL,
    "cohort.cohort_page": COHORT,
    "cohort.cohort_csv": COHORT,
    "cohort.cohort_learners": COHORT,
    "workspace.fingerprint_page": READ,
    "family.queue": MODERATE,
    "erasure.find": ERASE,
    "erasure.confirm": ERASE,
    "erasure.done": ERASE,
    "admin.home": ADMINISTER,
    "admin.providers": ADMINISTER,
    "admin.add_provider": ADMINISTER,
    "admin.users": ADMINISTER,
    "admin.invite": ADMINISTER,
    "admin.user": ADMINISTER,
    "admin.change_role": ADMINISTER,
    "admin.deactivate": ADMINISTER,
    "admin.reactivate": ADMINISTER,
    "admin.password_link": ADMINISTER,
    "admin.caseloads": ADMINISTER,
    "admin.caseload": ADMINISTER,
    "admin.audit": ADMINISTER,
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
    # The family's voice (web/family.py): letting them in, moderating, and their own pages.
    "family.members": SHARE,
    "family.end": SHARE,
    "family.decide": MODERATE,
    "family.contribution_photo": MODERATE,
    "family.summary": FAMILY_VIEW,
    "family.send": CONTRIBUTE,
    # The learner's own pages, in easy read (web/my_progress.py), and handing them the tablet (web/learner_mode.py).
    "my_progress.overview": READ,
    "my_progress.target": READ,
    "my_progress.how_did_it_go": RECORD,
    "my_progress.target_words": RECORD,
    "learner_mode.hand_over": RECORD,
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
    "api.leave_provider": ENROL,
    "api.record_consent": PLAN,
    "api.record_outcome": PLAN,
    "api.amend_outcome": PLAN,
    "api.agree_aim": PLAN,
    "api.set_target": PLAN,
    "api.revise_target": PLAN,
    "api.close_target": PLAN,
    "api.word_target_for_learner": RECORD,
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
    """A route the table does not name: the app does not start (``check_table``), or it is refused (500)."""


WORDS = {PUBLIC, SIGNED_IN}


def action_for(endpoint: str, method: str) -> str:
    rule = ROUTE_ACTIONS.get(endpoint)
    if rule is None:
        raise NoRule(f"no access rule for {endpoint}: add it to web/rules.py ROUTE_ACTIONS")
    if isinstance(rule, dict):
        return rule.get(method) or rule["GET"]
    return rule


def check_table(flask_app) -> None:
    """Every route of the app has a rule, and every rule names an action of
    the table (or PUBLIC / SIGNED_IN) and a route that exists."""
    endpoints = {r.endpoint for r in flask_app.url_map.iter_rules()}
    missing = sorted(endpoints - set(ROUTE_ACTIONS))
    if missing:
        raise NoRule(f"routes with no access rule in web/rules.py ROUTE_ACTIONS: {', '.join(missing)}")
    for endpoint, rule in ROUTE_ACTIONS.items():
        for action in (rule.values() if isinstance(rule, dict) else [rule]):
            if action not in RULES and action not in WORDS:
                raise NoRule(f"{endpoint}: {action!r} is not an action of the rule table")


def known() -> None:
    """Before every request: a route with no rule is refused, whoever asks."""
    if request.endpoint is not None:
        action_for(request.endpoint, request.method)


def gate() -> None:
    """Before a signed-in view: the rule table's answer for this person (and
    this learner, when the address names one)."""
    if not g.get("actor"):
        return
    try:
        action = action_for(request.endpoint or "", request.method)
    except NoRule:
        log.error("refused %s %s: the route has no access rule", request.method, request.path)
        raise
    if action in WORDS:
        return
    learner_id = (request.view_args or {}).get("learner_id")
    if learner_id is None:
        if not g.actor.may(action):
            raise Forbidden(f"a {g.actor.role} cannot {action}")
        return
    services().app.check(g.actor, learner_id, action)

"""When things fall due, in their one home (rarpa/record/measures.py), as the
read model keeps them, the API answers them and Today shows them."""

from __future__ import annotations

from datetime import date

import pytest

from rarpa.read import queries
from rarpa.record import measures
from tests.conftest import observation
from tests.test_web import page, sign_in


# --- the rules -------------------------------------------------------------------------
def test_a_target_looked_at_in_a_review_is_next_due_as_agreed_or_a_term_later():
    assert measures.next_target_review("2026-03-02") == "2026-06-01"
    assert measures.next_target_review("2026-03-02", "2026-04-20") == "2026-04-20"


@pytest.mark.parametrize("last, due", [("2025-09-01", "2026-09-01"), ("2024-02-29", "2025-02-28")])
def test_the_annual_review_is_due_twelve_months_on(last, due):
    assert measures.annual_review_due(last) == due


def test_a_destination_is_followed_up_two_terms_on():
    assert measures.destination_follow_up("2026-01-05") == "2026-07-06"


# --- the read model and the API -----------------------------------------------------------
def _due(projector, lid, kind="target"):
    projector.catch_up()
    return {r["ref_id"]: r["due_on"] for r in queries.reviews_due(projector.reader(), lid) if r["kind"] == kind}


def _review(app, system, lid, held_on, decisions):
    return app.hold_progress_review(system, lid, held_on=held_on, attendees=["Amy", "Tutor"], learner_views="",
                                    decisions=decisions)


@pytest.fixture
def overdue(app, projector, world, system):
    """Amy with two targets whose review date has passed."""
    amy, outcome = world["learners"]["amy"], world["amy"]["outcome"]
    second = app.set_target(system, amy, text="Ask for help", success_criteria="Unprompted", outcome_ids=[outcome],
                            baseline="emerging", review_by="2026-01-10").result
    app.revise_target(system, amy, target_id=world["amy"]["target"], kind="revised", reason="Earlier review",
                      review_by="2026-01-05")
    assert _due(projector, amy) == {world["amy"]["target"]: "2026-01-05", second: "2026-01-10"}
    return amy, world["amy"]["target"], second


@pytest.mark.parametrize("decision", ["keep", "revise"])
def test_a_review_that_keeps_or_revises_a_target_clears_its_due_flag(app, projector, system, overdue, decision):
    amy, first, second = overdue
    extra = {"text": "Buy a return ticket", "reason": "Single tickets are secure now"} if decision == "revise" else {}
    _review(app, system, amy, "2026-03-02", [{"target_id": first, "decision": decision, **extra}])
    assert _due(projector, amy) == {first: "2026-06-01", second: "2026-01-10"}  # the other is still overdue


def test_a_date_agreed_at_the_review_is_kept(app, projector, system, overdue):
    amy, first, _ = overdue
    _review(app, system, amy, "2026-03-02", [{"target_id": first, "decision": "revise", "text": "Buy a return ticket",
                                             "reason": "Next step", "review_by": "2026-04-20"}])
    assert _due(projector, amy)[first] == "2026-04-20"


def test_a_review_that_closes_a_target_takes_it_off_the_list(app, projector, system, overdue):
    amy, first, second = overdue
    _review(app, system, amy, "2026-03-02", [{"target_id": first, "decision": "close", "closed_as": "achieved",
                                             "reason": "Done"}])
    assert _due(projector, amy) == {second: "2026-01-10"}


def test_rebuilt_due_dates_are_the_same(app, projector, system, overdue):
    amy, first, _ = overdue
    _review(app, system, amy, "2026-03-02", [{"target_id": first, "decision": "revise", "text": "x", "reason": "y"}])
    projector.catch_up()
    live = projector.dump()["reviews_due"]
    projector.rebuild()
    assert projector.dump()["reviews_due"] == live


def test_the_api_names_each_kind_of_review_and_its_date(web, app, system, overdue):
    amy, first, second = overdue
    _review(app, system, amy, "2026-03-02", [{"target_id": first, "decision": "keep"}])
    token = app.create_token("lead@example.org")
    body = web.get(f"/api/v1/learners/{amy}", headers={"Authorization": f"Bearer {token}"}).get_json()
    due = {(r["kind"], r["ref_id"]): r["due_on"] for r in body["reviews_due"]}
    assert due[("target", first)] == "2026-06-01" and due[("target", second)] == "2026-01-10"
    assert ("annual", amy) in due


# --- Today ------------------------------------------------------------------------------------
def test_today_flags_only_what_is_due_each_kind_in_its_own_words(web, app, projector, system, world, overdue):
    amy, first, second = overdue
    sign_in(web)
    _, html = page(web, "/")
    assert "Target review overdue since 5 Jan 2026 (2 targets)" in html
    assert "Annual review" not in html  # enrolled today: due in a year
    _review(app, system, amy, date.today().isoformat(), [{"target_id": first, "decision": "keep"},
                                                         {"target_id": second, "decision": "keep"}])
    _, html = page(web, "/")
    assert "Target review" not in html and "overdue" not in html


def test_today_puts_who_needs_attention_first(web, app, system, world):
    """Never observed first, then the longest since an observation."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    outcome = world["amy"]["outcome"]
    names = {}
    for name, days_ago in (("Cara Long", 20), ("Dev Recent", 0), ("Eve Never", None)):
        lid = app.enrol_learner(system, name=name, date_of_birth="2007-01-01", provider="northfield").result
        app.add_to_caseload(system, "tutor@example.org", lid)
        tid = app.set_target(system, lid, text="Greet", success_criteria="Unprompted",
                             outcome_ids=[app.record_outcome(system, lid, text="Talk", pfa_area="community",
                                                             due="2027-07-01").result],
                             baseline="emerging", review_by="2027-07-01").result
        if days_ago is not None:
            app.record_observation(system, lid, **observation(tid, minutes_ago=days_ago * 1440 + 5))
        names[name] = lid
    app.record_observation(system, amy, **observation(target, minutes_ago=3 * 1440))
    sign_in(web)
    _, html = page(web, "/")
    order = [html.index(n) for n in ("Eve N.", "Cara L.", "Amy J.", "Dev R.")]
    assert order == sorted(order)
    assert "Not observed yet" in html and "Not observed for 20 days" in html and "Observed today" in html
    assert outcome  # Amy's plan is untouched


def test_the_learner_page_marks_each_target_whose_review_is_due(web, app, system, overdue):
    amy, first, second = overdue
    sign_in(web)
    _, html = page(web, f"/learners/{amy}")
    assert html.count("Review overdue since") == 2

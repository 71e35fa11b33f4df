"""Enrol and plan, on the web (web/plan.py), through Flask's test client: the
SEND lead enrols a learner (with a dual placement) and sets up the plan
(outcomes, programme aims, targets) and changes it outside a review. Every
form's happy path is checked against the read model; every refusal names its
field in plain words, in the summary and by the field, keeps the answer and
writes nothing; other roles get 403, and learners out of sight 404."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from markupsafe import escape

from rarpa.read import annual_review, queries
from tests.test_web import page, sign_in, token_of

LEAD = "lead@example.org"
TODAY = datetime.now(timezone.utc).date()


# --- helpers ------------------------------------------------------------------------------------------
def signed_in(web, email=LEAD):
    """A client of its own, signed in as ``email``."""
    client = web.application.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, path: str, data: dict):
    """Post a form as a browser would: with the CSRF token of the page it came from."""
    token = token_of(client.get("/").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def refused(response, field: str, message: str, *, status: int = 422) -> str:
    """The form came back (not a redirect) with ``message`` in the error summary,
    linking to the field, and beside the field itself."""
    html = response.get_data(as_text=True)
    said = str(escape(message))
    assert response.status_code == status, (response.status_code, html[:300])
    assert f'<a href="#{field}">{said}</a>' in html, f"summary lacks {message!r} for {field}"
    assert re.search(rf'id="{field}-error"><span class="visually-hidden">Error: </span>{re.escape(said)}</p>', html), \
        f"no {message!r} beside {field}"
    return html


def kept(html: str, field: str, value: str) -> bool:
    """The answer is kept: an input's value, a textarea's text, a ticked box or a chosen chip."""
    v = str(escape(value))
    return (f'name="{field}" type="text" value="{v}"' in html or f'name="{field}" type="date" value="{v}"' in html
            or re.search(rf'name="{field}" rows="\d+"[^>]*>{re.escape(v)}</textarea>', html) is not None
            or re.search(rf'name="{field}" value="{re.escape(v)}" checked', html) is not None)


def followed(client, response) -> str:
    """The page a form's redirect leads to."""
    assert response.status_code == 302
    return page(client, response.headers["Location"])[1]


def plan_of(web, lid: str) -> str:
    response, html = page(web, f"/learners/{lid}/plan")
    assert response.status_code == 200
    return html


@pytest.fixture
def lead(web):
    return signed_in(web)


@pytest.fixture
def read(app):
    """A read connection caught up with every write so far (call it after writing)."""
    from rarpa.read.projections import Projector

    projector = Projector(app.settings.views, app)

    def fresh():
        projector.catch_up()
        return projector.reader()

    yield fresh
    projector.close()


ENROLMENT = {"name": "Zainab Hussain", "preferred_name": "Zee", "date_of_birth": "2008-02-14",
             "provider": "northfield", "partner": ""}


# --- enrolling ------------------------------------------------------------------------------------------
def test_today_offers_enrolment_to_send_leads_only(web, world):
    for email, offered in ((LEAD, True), ("tutor@example.org", False), ("support@example.org", False),
                           ("auditor@example.org", False), ("admin@example.org", False)):
        client = signed_in(web, email)
        html = page(client, "/")[1]
        assert ("Enrol a learner" in html) == offered, email
        assert (client.get("/learners/new").status_code == 200) == offered, email


def test_enrolling_with_a_dual_placement_writes_both_providers_at_once(lead, app, read, system):
    before = position(app)
    response = post(lead, "/learners/new", {**ENROLMENT, "partner": "riverside"})
    assert response.status_code == 302
    lid = re.fullmatch(r"/learners/([0-9a-f-]{36})\?enrolled=1", response.headers["Location"]).group(1)
    about = queries.learner(read(), lid)
    assert (about["name"], about["preferred_name"], about["date_of_birth"]) == ("Zainab Hussain", "Zee", "2008-02-14")
    assert about["providers"] == [{"provider": "northfield", "lead": True}, {"provider": "riverside", "lead": False}]
    events = app.learner_events(system, lid)
    assert [type(e).__name__ for e in events] == ["LearnerEnrolled", "ProviderJoined"]
    assert events[1].reason == "Dual placement agreed at enrolment" and events[1].lead is False
    assert position(app) == before + 2
    html = page(lead, response.headers["Location"])[1]
    assert "Zee H." in html and "is enrolled" in html and "Plan: outcomes, aims and targets" in html
    # Riverside's SEND lead now sees the learner too (the other half of the placement).
    assert lid in {row["id"] for row in queries.visible_learners(read(), app.actor_for(app.user("lead.riverside@example.org")))}


def test_enrolling_at_one_provider_only(lead, app, read, system):
    response = post(lead, "/learners/new", ENROLMENT)
    lid = response.headers["Location"].split("/")[2].split("?")[0]
    assert queries.learner(read(), lid)["providers"] == [{"provider": "northfield", "lead": True}]
    assert [type(e).__name__ for e in app.learner_events(system, lid)] == ["LearnerEnrolled"]


@pytest.mark.parametrize("change, field, message", [
    ({"name": ""}, "name", "Enter the learner's full name"),
    ({"date_of_birth": ""}, "date_of_birth", "Enter the date of birth"),
    ({"date_of_birth": "2008-02-30"}, "date_of_birth", "Date of birth must be a real date, like 27 3 2026"),
    ({"date_of_birth": str(TODAY + timedelta(days=1))}, "date_of_birth", "Date of birth must be in the past"),
    ({"provider": "riverside"}, "provider", "You can enrol learners at Northfield College only"),
    ({"partner": "northfield"}, "partner", "The second provider must not be the lead provider"),
    ({"partner": "nowhere"}, "partner", "Choose a second provider"),
    ({"preferred_name": "Z" * 101}, "preferred_name", "Preferred name must be 100 characters or fewer"),
])
def test_enrolment_refusals_name_their_field_and_write_nothing(lead, app, change, field, message):
    before = position(app)
    html = refused(post(lead, "/learners/new", {**ENROLMENT, **change}), field, message)
    assert position(app) == before
    assert kept(html, "name", change.get("name", ENROLMENT["name"])) or field == "name"
    assert f'value="{change.get("date_of_birth", "2008-02-14")}"' in html  # the date typed stays too


def test_only_a_send_lead_may_enrol(web, app):
    for email in ("tutor@example.org", "support@example.org", "auditor@example.org", "admin@example.org"):
        client = signed_in(web, email)
        before = position(app)
        assert client.get("/learners/new").status_code == 403, email
        assert post(client, "/learners/new", ENROLMENT).status_code == 403, email
        assert position(app) == before, email


# --- the plan page and who may use it -----------------------------------------------------------------------
def test_the_plan_lists_outcomes_by_area_aims_and_targets(lead, world, app, system):
    amy = world["learners"]["amy"]
    app.agree_aim(system, amy, text="Get about town on my own", outcome_ids=[world["amy"]["outcome"]])
    html = plan_of(lead, amy)
    assert "Plan: Amy J." in html
    outcomes = html.index('id="plan-outcomes"')
    assert html.index("Independent living", outcomes) < html.index("Travel to college on the bus", outcomes)
    aims = html.index('id="plan-aims"')
    assert html.index("Get about town on my own", aims) > aims
    assert re.search(r'Serves:</p>\s*<ul class="serves"><li>Travel to college on the bus</li></ul>', html[aims:])
    targets = html.index('id="plan-targets"')
    assert html.index("Buy a bus ticket", targets) > targets and "Baseline emerging" in html
    for link in ("/plan/outcomes/new", "/plan/aims/new", "/plan/targets/new",
                 f"/plan/outcomes/{world['amy']['outcome']}/amend",
                 f"/plan/targets/{world['amy']['target']}/revise", f"/plan/targets/{world['amy']['target']}/close"):
        assert f'href="/learners/{amy}{link}' in html, link
    # The learner page links to it for those who may plan, and shows the aims.
    learner = page(lead, f"/learners/{amy}")[1]
    assert f'href="/learners/{amy}/plan"' in learner and "Programme aims" in learner
    assert "Get about town on my own" in learner


PLAN_PAGES = ["/plan", "/plan/outcomes/new", "/plan/outcomes/{oid}/amend", "/plan/aims/new", "/plan/targets/new",
              "/plan/targets/{tid}/revise", "/plan/targets/{tid}/close"]


@pytest.mark.parametrize("email, status", [
    ("tutor@example.org", 403),  # amy is on the tutor's caseload, but a tutor does not plan
    ("support@example.org", 403),
    ("auditor@example.org", 403),
    ("tutor2@example.org", 404),  # not on this tutor's caseload
    ("lead.riverside@example.org", 404),  # amy is at Northfield only
    ("admin@example.org", 404),
])
def test_other_roles_may_not_plan(web, world, app, email, status):
    client = signed_in(web, email)
    amy, ids = world["learners"]["amy"], world["amy"]
    body = {"text": "x", "pfa_area": "health", "due": "2027-01-01", "reason": "r", "kind": "revised",
            "success_criteria": "x", "outcome_ids": [ids["outcome"]], "baseline": "emerging",
            "review_by": "2027-01-01", "closed_as": "achieved"}
    for path in PLAN_PAGES:
        path = f"/learners/{amy}" + path.format(oid=ids["outcome"], tid=ids["target"])
        assert client.get(path).status_code == status, path
        before = position(app)
        if path.endswith("/plan"):
            continue
        assert post(client, path, body).status_code == status, path
        assert position(app) == before, path
    if email == "tutor@example.org":
        assert "Plan: outcomes, aims and targets" not in page(client, f"/learners/{amy}")[1]


def test_unknown_outcomes_and_targets_are_not_found(lead, world):
    amy = world["learners"]["amy"]
    for path in (f"/plan/outcomes/{uuid.uuid4()}/amend", f"/plan/targets/{uuid.uuid4()}/revise",
                 f"/plan/targets/{uuid.uuid4()}/close", f"/plan/targets/{world['ben']['target']}/revise",
                 f"/plan/outcomes/{world['ben']['outcome']}/amend"):  # another learner's
        assert lead.get(f"/learners/{amy}{path}").status_code == 404, path


# --- outcomes -------------------------------------------------------------------------------------------------
OUTCOME = {"text": "Make and keep a friend at college", "pfa_area": "community", "due": "2027-07-01"}


def test_adding_an_outcome(lead, world, app, read):
    amy = world["learners"]["amy"]
    response = post(lead, f"/learners/{amy}/plan/outcomes/new", OUTCOME)
    assert response.status_code == 302 and "done=outcome#o-" in response.headers["Location"]
    oid = response.headers["Location"].rsplit("#o-", 1)[1]
    assert queries.outcome(read(), amy, oid) | {"targets": None} == {
        "id": oid, "text": OUTCOME["text"], "pfa_area": "community", "due": "2027-07-01", "distance": 0.0,
        "targets": None}
    html = followed(lead, response)
    assert "The outcome is added." in html
    assert html.index("Friends, relationships and community") < html.index(OUTCOME["text"])


@pytest.mark.parametrize("change, field, message", [
    ({"text": ""}, "text", "Enter the outcome's wording"),
    ({"text": "   "}, "text", "Enter the outcome's wording"),
    ({"pfa_area": ""}, "pfa_area", "Choose a Preparing for Adulthood area"),
    ({"pfa_area": "leisure"}, "pfa_area", "Choose a Preparing for Adulthood area"),
    ({"due": ""}, "due", "Enter the date it is due by"),
    ({"due": "2027-02-30"}, "due", "Due by must be a real date, like 27 3 2026"),
])
def test_outcome_refusals(lead, world, app, change, field, message):
    amy = world["learners"]["amy"]
    before = position(app)
    html = refused(post(lead, f"/learners/{amy}/plan/outcomes/new", {**OUTCOME, **change}), field, message)
    assert position(app) == before
    if field != "text":
        assert kept(html, "text", OUTCOME["text"])
    if field != "pfa_area":
        assert kept(html, "pfa_area", "community")


def test_amending_an_outcome_needs_a_reason(lead, world, app, read):
    amy, oid = world["learners"]["amy"], world["amy"]["outcome"]
    path = f"/learners/{amy}/plan/outcomes/{oid}/amend"
    form = page(lead, path)[1]
    assert kept(form, "text", "Travel to college on the bus") and kept(form, "due", "2027-07-01")
    assert kept(form, "pfa_area", "independent_living")
    amended = {"text": "Travel to college and back on the bus", "pfa_area": "independent_living", "due": "2027-09-01"}
    before = position(app)
    html = refused(post(lead, path, {**amended, "reason": ""}), "reason", "Enter a reason for the change")
    assert position(app) == before and kept(html, "text", amended["text"]) and kept(html, "due", "2027-09-01")
    response = post(lead, path, {**amended, "reason": "Amended by the LA after the annual review"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"done=amended#o-{oid}")
    now = queries.outcome(read(), amy, oid)
    assert (now["text"], now["due"]) == (amended["text"], "2027-09-01")
    html = followed(lead, response)
    assert "The outcome is amended." in html and f"Amended {TODAY.day} {TODAY.strftime('%b %Y')}" in html


# --- programme aims ----------------------------------------------------------------------------------------------
def test_agreeing_aims_with_no_outcome_and_with_two(lead, world, app, read):
    amy, first = world["learners"]["amy"], world["amy"]["outcome"]
    second = app.record_outcome(app.actor_for(app.user(LEAD)), amy, **OUTCOME).result
    form = page(lead, f"/learners/{amy}/plan/aims/new")[1]
    assert form.count('type="checkbox" ') == 2 and "Friends, relationships and community: Make and keep" in form
    assert post(lead, f"/learners/{amy}/plan/aims/new", {"text": "Learn to cook"}).status_code == 302
    response = post(lead, f"/learners/{amy}/plan/aims/new",
                    {"text": "Be part of college life", "outcome_ids": [first, second]})
    assert response.status_code == 302 and "done=aim#a-" in response.headers["Location"]
    aims = queries.aims(read(), amy)
    assert [(a["text"], [o["id"] for o in a["outcomes"]]) for a in aims] == [
        ("Learn to cook", []), ("Be part of college life", [first, second])]
    html = followed(lead, response)
    assert "Not linked to an EHCP outcome." in html and "The programme aim is agreed." in html
    assert "(serves 2 EHCP outcomes)" in page(lead, f"/learners/{amy}")[1]


@pytest.mark.parametrize("change, field, message", [
    ({"text": ""}, "text", "Enter the aim's wording"),
    ({"outcome_ids": [str(uuid.uuid4())]}, "outcome_ids", "Choose outcomes from this learner's plan"),
    ({"outcome_ids": ["not-an-id"]}, "outcome_ids", "Choose the outcomes it serves"),
])
def test_aim_refusals(lead, world, app, change, field, message):
    amy = world["learners"]["amy"]
    before = position(app)
    html = refused(post(lead, f"/learners/{amy}/plan/aims/new", {"text": "Learn to cook", **change}), field, message)
    assert position(app) == before
    if field != "text":
        assert kept(html, "text", "Learn to cook")


# --- targets ------------------------------------------------------------------------------------------------------
def target_form(*outcome_ids):
    return {"text": "Say hello to a classmate", "success_criteria": "Every day for a week, unprompted",
            "outcome_ids": list(outcome_ids), "baseline": "not_yet", "baseline_note": "Seen in the first week",
            "review_by": "2027-01-15"}


def test_setting_a_target_serving_two_outcomes(lead, world, app, read):
    amy, first = world["learners"]["amy"], world["amy"]["outcome"]
    second = app.record_outcome(app.actor_for(app.user(LEAD)), amy, **OUTCOME).result
    form = page(lead, f"/learners/{amy}/plan/targets/new?outcome={second}")[1]
    assert kept(form, "outcome_ids", second) and not kept(form, "outcome_ids", first)  # from "Set a target for it"
    assert form.count('class="chip-choice"') == 5  # the baseline as tap chips
    response = post(lead, f"/learners/{amy}/plan/targets/new", target_form(first, second))
    assert response.status_code == 302 and "done=target#t-" in response.headers["Location"]
    tid = response.headers["Location"].rsplit("#t-", 1)[1]
    target = queries.target(read(), amy, tid)
    assert (target["text"], target["baseline"], target["review_by"], target["status"]) == (
        "Say hello to a classmate", "not_yet", "2027-01-15", "open")
    assert target["outcome_ids"] == sorted([first, second])
    assert "The target is set." in followed(lead, response)


@pytest.mark.parametrize("change, field, message", [
    ({"text": ""}, "text", "Enter the target's wording"),
    ({"success_criteria": ""}, "success_criteria", "Enter what success looks like"),
    ({"outcome_ids": []}, "outcome_ids", "Choose at least one outcome it serves"),
    ({"outcome_ids": [str(uuid.uuid4())]}, "outcome_ids", "Choose outcomes from this learner's plan"),
    ({"baseline": ""}, "baseline", "Choose a baseline rating"),
    ({"baseline": "brilliant"}, "baseline", "Choose a baseline rating"),
    ({"review_by": ""}, "review_by", "Enter the date to review it by"),
    ({"review_by": "2300-01-01"}, "review_by",
     "Review by is too far ahead to be right: dates must be between 1900-01-01 and 2100-12-31"),
])
def test_target_refusals(lead, world, app, change, field, message):
    amy, oid = world["learners"]["amy"], world["amy"]["outcome"]
    before = position(app)
    html = refused(post(lead, f"/learners/{amy}/plan/targets/new", {**target_form(oid), **change}), field, message)
    assert position(app) == before
    for name, value in (("text", "Say hello to a classmate"), ("baseline", "not_yet"), ("outcome_ids", oid)):
        if name != field:
            assert kept(html, name, value), name


def test_a_target_needs_an_outcome_to_serve(lead, app, read):
    response = post(lead, "/learners/new", ENROLMENT)
    lid = response.headers["Location"].split("/")[2].split("?")[0]
    html = page(lead, f"/learners/{lid}/plan/targets/new")[1]
    assert "Add an EHCP outcome first" in html and 'name="text"' not in html
    assert "Set a target</a>" not in plan_of(lead, lid)


# --- revising and closing a target --------------------------------------------------------------------------------
def revision(oid):
    return {"kind": "renegotiated", "text": "Buy a return ticket", "success_criteria": "Without help, twice",
            "outcome_ids": [oid], "review_by": "2027-03-01", "reason": "Buys a single ticket on her own now"}


def test_revising_a_target(lead, world, app, read):
    amy, oid, tid = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    path = f"/learners/{amy}/plan/targets/{tid}/revise"
    form = page(lead, path)[1]
    assert kept(form, "text", "Buy a bus ticket") and kept(form, "outcome_ids", oid)
    assert kept(form, "review_by", "2027-01-15") and not re.search(r'name="kind" value="\w+" checked', form)
    response = post(lead, path, revision(oid))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"done=revised#t-{tid}")
    target = queries.target(read(), amy, tid)
    assert (target["text"], target["review_by"], target["revisions"]) == ("Buy a return ticket", "2027-03-01", 1)
    html = followed(lead, response)
    assert "The target is changed." in html and f"Renegotiated {TODAY.day} {TODAY.strftime('%b %Y')}" in html
    assert "Why it last changed: Buys a single ticket on her own now" in html


@pytest.mark.parametrize("change, field, message", [
    ({"reason": ""}, "reason", "Enter a reason for the change"),
    ({"kind": ""}, "kind", "Choose renegotiated or revised"),
    ({"text": ""}, "text", "Enter the target's wording"),
    ({"outcome_ids": []}, "outcome_ids", "Choose at least one outcome it serves"),
    ({"review_by": "2027-13-01"}, "review_by", "Review by must be a real date, like 27 3 2026"),
])
def test_revision_refusals(lead, world, app, change, field, message):
    amy, oid, tid = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    before = position(app)
    html = refused(post(lead, f"/learners/{amy}/plan/targets/{tid}/revise", {**revision(oid), **change}), field, message)
    assert position(app) == before
    if field != "text":
        assert kept(html, "text", "Buy a return ticket")  # what was typed, not what is stored
    if field != "kind":
        assert kept(html, "kind", "renegotiated")


def test_closing_a_target(lead, world, app, read):
    amy, tid = world["learners"]["amy"], world["amy"]["target"]
    path = f"/learners/{amy}/plan/targets/{tid}/close"
    before = position(app)
    html = refused(post(lead, path, {"closed_as": "achieved", "reason": ""}), "reason", "Enter a reason for closing it")
    assert kept(html, "closed_as", "achieved")
    html = refused(post(lead, path, {"closed_as": "", "reason": "Does it every day"}), "closed_as",
                   "Choose how the target ends")
    assert kept(html, "reason", "Does it every day") and position(app) == before
    response = post(lead, path, {"closed_as": "achieved", "reason": "Does it every day"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"done=closed#t-{tid}")
    assert queries.target(read(), amy, tid)["status"] == "closed"
    html = followed(lead, response)
    assert "The target is closed." in html and "Closed: achieved" in html and "Why it was closed: Does it every day" in html
    assert f"/plan/targets/{tid}/revise" not in html and f"/plan/targets/{tid}/close" not in html
    # A closed target cannot be changed any more: said plainly, and nothing written.
    before = position(app)
    for action in ("revise", "close"):
        response = lead.get(f"/learners/{amy}/plan/targets/{tid}/{action}")
        assert response.status_code == 409 and "This target was closed (achieved)" in response.get_data(as_text=True)
        assert post(lead, f"/learners/{amy}/plan/targets/{tid}/{action}",
                    {"closed_as": "withdrawn", "reason": "again"}).status_code == 409
    assert position(app) == before


# --- aims in the read model and the annual-review pack -----------------------------------------------------------
def test_aims_are_rebuilt_the_same_and_erased_with_the_learner(app, projector, world, system):
    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    app.agree_aim(system, amy, text="Travel on my own", outcome_ids=[world["amy"]["outcome"]] * 2)
    app.agree_aim(system, ben, text="Work in a café", outcome_ids=[])
    projector.catch_up()
    before = projector.dump()
    amy_aim = next(row[0] for row in before["aims"] if row[1] == amy)
    # The outcome named twice is served once.
    assert before["aim_outcomes"] == [(amy_aim, world["amy"]["outcome"], amy)]
    projector.rebuild()
    assert projector.dump() == before
    app.erase_learner(system, amy, reason="Erasure request")
    projector.catch_up()
    conn = projector.reader()
    assert queries.aims(conn, amy) == [] and conn.execute("SELECT COUNT(*) FROM aim_outcomes").fetchone()[0] == 0
    assert [a["text"] for a in queries.aims(conn, ben)] == ["Work in a café"]


def test_the_pack_lists_the_aims_agreed_by_the_end_of_its_period(lead, world, app, system, read):
    amy = world["learners"]["amy"]
    app.agree_aim(system, amy, text="Get about town on my own", outcome_ids=[world["amy"]["outcome"]])
    now = annual_review.pack(app, read(), system, amy, start=TODAY - timedelta(days=30), end=TODAY)
    assert [(a["text"], [o["text"] for o in a["outcomes"]]) for a in now["aims"]] == [
        ("Get about town on my own", ["Travel to college on the bus"])]
    earlier = annual_review.pack(app, read(), system, amy, start=TODAY - timedelta(days=60),
                                 end=TODAY - timedelta(days=1))
    assert earlier["aims"] == []
    html = page(lead, f"/learners/{amy}/annual-review")[1]
    assert "Amy's programme aims" in html
    assert "Get about town on my own (agreed" in html and "towards the outcomes in Independent living" in html

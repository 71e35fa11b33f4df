"""The one rule table (rarpa/service/access.py RULES): action × role × how
the person stands to the learner; and a provider leaving a dual placement."""

from __future__ import annotations

from click.testing import CliRunner

from rarpa.cli import main as cli
from rarpa.read import queries
from rarpa.service import access
from rarpa.service.access import ANY, CASELOAD, PROVIDER, RULES, Actor
from tests.conftest import observation
from tests.test_api import BASE, Api, amy, api, client, obs_body, record  # noqa: F401 (fixtures)


def test_every_action_has_a_rule_and_every_rule_a_known_role_and_relation():
    roles = {"tutor", "support", "send_lead", "auditor", "admin", "family", "system"}
    assert set(RULES) == {access.READ, access.RECORD, access.PLAN, access.REVIEW, access.ENROL, access.SHARE,
                          access.AUDIT, access.COHORT, access.ERASE, access.ADMINISTER, access.FAMILY_VIEW,
                          access.CONTRIBUTE, access.MODERATE}
    for action, by_role in RULES.items():
        assert set(by_role) <= roles, action
        assert set(by_role.values()) <= {CASELOAD, PROVIDER, ANY, access.BY_REFERENCE, access.NONE,
                                         access.FAMILY}, action
        # A family member is let in by the record itself, to the family's actions only.
        assert (by_role.get("family") == access.FAMILY) == (action in (access.FAMILY_VIEW, access.CONTRIBUTE)), action
        # Whoever may do something to a learner may see them (or does it by reference only).
        for role, relation in by_role.items():
            if relation in (CASELOAD, PROVIDER, ANY):
                assert RULES[access.READ].get(role) in (relation, ANY) or role == "system", (action, role)


def test_how_a_person_stands_decides_each_action():
    tutor = Actor("t", "tutor", "northfield", frozenset({"L1"}))
    lead = Actor("s", "send_lead", "northfield")
    auditor = Actor("a", "auditor")
    # On the caseload, at the tutor's provider: read, record, review; never plan.
    assert [access.allows(tutor, a, "L1", {"northfield": True}) for a in ("read", "record", "review", "plan")] == [
        True, True, True, False]
    # On the caseload, but the provider has left the learner: nothing at all.
    assert not any(access.allows(tutor, a, "L1", {"riverside": True}) for a in RULES)
    # Not on the caseload: nothing, even at the same provider.
    assert not access.allows(tutor, "read", "L2", {"northfield": True})
    assert access.allows(lead, "plan", "L2", {"northfield": True, "riverside": False})
    assert not access.allows(lead, "read", "L2", {"riverside": True})
    assert access.allows(auditor, "audit", "L9", {}) and not access.allows(auditor, "record", "L9", {})


def test_a_family_member_stands_by_the_record_alone():
    """Only the family members the learner's record lets in now (``family``),
    and only for the family's actions: not by caseload, provider or role."""
    mum = Actor("m", "family", None, frozenset({"L1"}))  # a caseload means nothing to a family member
    assert not any(access.allows(mum, a, "L1", {"northfield": True}) for a in RULES)
    assert [access.allows(mum, a, "L1", {}, family=frozenset({"m"})) for a in
            ("see as family", "contribute", "read", "moderate")] == [True, True, False, False]
    tutor = Actor("t", "tutor", "northfield", frozenset({"L1"}))
    assert not access.allows(tutor, "see as family", "L1", {"northfield": True}, family=frozenset({"t"}))


def test_a_provider_leaving_ends_its_staffs_access_and_keeps_what_they_recorded(app, world, system, projector):
    """Amy attends Northfield; Riverside joins for a placement, a Riverside
    tutor records for her, then Riverside leaves."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    app.join_provider(system, amy, provider="riverside", lead=False, reason="Work placement")
    app.add_user(system, email="placement@example.org", role="tutor", password="a long password here",
                 provider="riverside")
    app.add_to_caseload(system, "placement@example.org", amy)
    placement = app.actor_for(app.user("placement@example.org"))
    seen = observation(target, "secure")
    app.record_observation(placement, amy, **seen)
    assert access.can_see(placement, amy, app.learner(system, amy).providers)

    result = CliRunner().invoke(cli, ["provider", "leave", amy, "riverside", "--reason", "Placement ended"],
                                env={"RARPA_DB": app.settings.db, "RARPA_VIEWS": app.settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"})
    assert result.exit_code == 0, result.output
    placement = app.actor_for(app.user("placement@example.org"))  # still has Amy on the caseload
    assert amy in placement.caseload
    for action in (access.READ, access.RECORD):
        try:
            app.learner(placement, amy, action)
            raise AssertionError("still in sight")
        except access.NotFound:
            pass
    projector.catch_up()
    conn = projector.reader()
    assert [row["id"] for row in queries.visible_learners(conn, placement)] == []
    # What they recorded stays, labelled with their provider, for those who still see Amy.
    [kept] = [o for o in queries.progress(conn, amy)["targets"] if o["id"] == target]
    assert kept["observations"] >= 1
    stored = [e for e in app.learner_events(system, amy) if getattr(e, "observation_id", None) == seen["observation_id"]]
    assert [(e.recorded_by, e.provider) for e in stored] == [(placement.user_id, "riverside")]
    left = app.learner_events(system, amy)[-1]
    assert (type(left).__name__, left.left, left.reason) == ("ProviderLeft", "riverside", "Placement ended")


def test_a_caseload_tutor_of_a_provider_that_left_gets_404_over_the_api(api, app, world, amy, system):
    app.join_provider(system, amy, provider="riverside", lead=False, reason="Work placement")
    app.add_user(system, email="placement@example.org", role="tutor", password="a long password here",
                 provider="riverside")
    app.add_to_caseload(system, "placement@example.org", amy)
    world["users"]["placement"] = "placement@example.org"
    assert api.get("placement", f"/learners/{amy}/progress").status_code == 200
    app.leave_provider(system, amy, provider="riverside", reason="Placement ended")
    for path in ("", "/progress", "/history", "/events"):
        assert api.get("placement", f"/learners/{amy}{path}").status_code == 404, path
    response = api.post("placement", f"/learners/{amy}/observations", obs_body(world["amy"]["target"]))
    assert response.status_code == 404
    assert api.get("placement", "/learners").get_json()["learners"] == []


def test_the_gate_decides_before_the_view_and_refuses_a_route_without_a_rule(web, world, monkeypatch):
    """The view of the learner page only asks for READ; the rule table's answer
    comes first: made stricter, the tutor is refused; taken away, nobody is
    shown the page."""
    from web import rules
    from tests.test_web import sign_in

    amy = world["learners"]["amy"]
    sign_in(web, "tutor@example.org")
    assert web.get(f"/learners/{amy}").status_code == 200
    monkeypatch.setitem(rules.ROUTE_ACTIONS, "pages.learner", access.PLAN)
    refused = web.get(f"/learners/{amy}")
    assert refused.status_code == 403 and "Amy" not in refused.get_data(as_text=True)
    monkeypatch.delitem(rules.ROUTE_ACTIONS, "pages.learner")
    missing = web.get(f"/learners/{amy}")
    assert missing.status_code == 500 and "Amy" not in missing.get_data(as_text=True)

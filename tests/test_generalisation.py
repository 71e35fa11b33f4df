"""ObservationRecorded version 2 (issue 11's schema evolution, for real): an
observation can say what was new to the learner — people, a place,
materials — the evidence that a skill is generalised. Stored version-1
observations read as version 2 with nothing new (tests/test_old_release.py)."""

from __future__ import annotations

import events
from tests.test_api import BASE, Api, amy, api, client, obs_body, record  # noqa: F401 (fixtures)
from tests.test_web import page, sign_in, token_of


def test_an_observation_says_what_was_new_and_reads_back_as_version_2(api, app, world, amy):
    body = obs_body(world["amy"]["target"], "generalised", new_to_learner=["place", "people"])
    record(api, amy, body)
    last = api.events(amy)[-1]
    assert (last["type"], last["version"]) == ("ObservationRecorded", 2)
    assert last["new_to_learner"] == ["people", "place"]  # in the vocabulary's order
    assert events.version_of(events.learner.ObservationRecorded) == 2
    # The same observation sent again is a repeat; with something else new it is another observation.
    again = api.post("tutor", f"/learners/{amy}/observations", body)
    assert again.status_code == 200
    other = api.post("tutor", f"/learners/{amy}/observations", {**body, "new_to_learner": ["materials"]})
    assert other.status_code == 409


def test_an_unknown_kind_of_new_is_refused_and_nothing_written(api, world, amy):
    before = api.stored(amy)
    response = api.post("tutor", f"/learners/{amy}/observations",
                        obs_body(world["amy"]["target"], new_to_learner=["weather"]))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"new_to_learner.0": ["Must be one of: people, place, materials."]}
    assert api.stored(amy) == before


def test_the_tablet_form_sends_what_was_new_and_the_evidence_page_says_it(web, world, app):
    sign_in(web, "tutor@example.org")
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    response, html = page(web, f"/learners/{amy}")
    assert 'name="new_people"' in html and "New for them" in html
    sent = web.post(f"/learners/{amy}/observations", headers={"X-Outbox": "1"}, data={
        "csrf_token": token_of(html), "target_id": target, "rating": "secure", "context": "community",
        "new_people": "1", "new_materials": "1"})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    [recorded] = [e for e in app.learner_events(world["actors"]["tutor"], amy)
                  if type(e).__name__ == "ObservationRecorded"]
    assert recorded.new_to_learner == ["people", "materials"]
    _, evidence = page(web, f"/learners/{amy}/evidence")
    assert "New for them: <strong>new people, new materials</strong>" in evidence

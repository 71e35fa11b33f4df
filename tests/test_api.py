"""The JSON API under /api/v1, exercised through Flask's test client.

The `world` fixture (conftest) writes with its own RecordApplication; the API
runs on a second RecordApplication over the same SQLite files, as another
process would. Every rejected write is checked to have stored nothing, by
counting the learner's stored events (in the event store itself) before and
after; the export endpoint is checked against that same count on its own.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from web import create_app
from web.services import Services

BASE = "/api/v1"
PROBLEM = "application/problem+json"
RATINGS = ["not_yet", "emerging", "developing", "secure", "generalised"]


# --- fixtures and helpers -------------------------------------------------------------
@pytest.fixture
def client(settings):
    services = Services(settings)
    flask_app = create_app(services=services)
    flask_app.testing = True
    yield flask_app.test_client()
    services.close()


class Api:
    """Calls the API as one of the world's users, by their key in world["users"]."""

    def __init__(self, client, app, world):
        self.client, self.app, self.world = client, app, world
        self._tokens: dict[str, str] = {}

    def headers(self, who: str) -> dict:
        if who not in self._tokens:
            self._tokens[who] = self.app.create_token(self.world["users"][who])
        return {"Authorization": f"Bearer {self._tokens[who]}"}

    def get(self, who: str, path: str, **kw):
        return self.client.get(BASE + path, headers=self.headers(who), **kw)

    def post(self, who: str, path: str, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.client.post(BASE + path, headers=self.headers(who), **kw)

    # Reading the record back.
    def stored(self, learner_id: str) -> int:
        """How many events the learner's stream holds, read from the store."""
        return len(self.app.recorder.select_events(uuid.UUID(learner_id)))

    def stored_types(self, learner_id: str) -> list[str]:
        """The class names of the learner's stored events, oldest first."""
        return [e.topic.rsplit(":", 1)[-1] for e in self.app.recorder.select_events(uuid.UUID(learner_id))]

    def events(self, learner_id: str, who: str = "send_lead") -> list[dict]:
        response = self.get(who, f"/learners/{learner_id}/events")
        assert response.status_code == 200
        assert response.mimetype == "application/x-ndjson"
        # The first line describes the file; the events follow.
        return [json.loads(line) for line in response.get_data(as_text=True).splitlines()][1:]

    def progress(self, learner_id: str, who: str = "send_lead") -> dict:
        response = self.get(who, f"/learners/{learner_id}/progress")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    def target(self, learner_id: str, target_id: str, who: str = "send_lead") -> dict:
        [row] = [t for t in self.progress(learner_id, who)["targets"] if t["id"] == target_id]
        return row


@pytest.fixture
def api(client, app, world):
    return Api(client, app, world)


@pytest.fixture
def amy(world):
    return world["learners"]["amy"]


@pytest.fixture
def ben(world):
    return world["learners"]["ben"]


def ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


def obs_body(target_id: str, rating: str = "developing", **extra) -> dict:
    """A complete observation as a tablet would send it, made five minutes ago."""
    body = {
        "id": str(uuid.uuid4()),
        "target_id": target_id,
        "rating": rating,
        "prompt_level": "verbal",
        "context": "classroom",
        "note": "Paid with the right coins",
        "observed_at": ago(minutes=5),
    }
    body.update(extra)
    return body


def target_body(outcome_id: str, baseline: str = "emerging", text: str = "Cross the road safely") -> dict:
    return {
        "text": text,
        "success_criteria": "Stops and looks both ways, three times in a row",
        "outcome_ids": [outcome_id],
        "baseline": baseline,
        "review_by": "2027-02-01",
    }


def assert_problem(response, status: int, field: str | None = None) -> dict:
    """A problem document (RFC 9457) with this status, naming `field` if given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] == f"{BASE}/problems/{status}"
    assert body["title"] and body["detail"]
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def record(api, learner_id, body, who="tutor"):
    response = api.post(who, f"/learners/{learner_id}/observations", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- 1. authentication ------------------------------------------------------------------
def test_no_token_is_401_problem_with_challenge(client, world, amy):
    response = client.get(f"{BASE}/learners/{amy}/progress")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer "])
def test_bad_token_is_401(client, world, header):
    response = client.get(f"{BASE}/learners", headers={"Authorization": header})
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_openapi_document_is_public(client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"


def test_me_names_the_token_holder(api, world):
    response = api.get("tutor", "/me")
    assert response.status_code == 200
    me = response.get_json()
    assert me["email"] == "tutor@example.org"
    assert me["role"] == "tutor"
    assert me["caseload"] == [world["learners"]["amy"]]


# --- 2. learners -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "who, expected",
    [
        ("tutor", ["amy"]),
        ("support", ["amy"]),
        ("send_lead", ["amy"]),
        ("riverside_lead", ["ben"]),
        ("auditor", ["amy", "ben"]),
        ("admin", []),
        ("other_tutor", []),
    ],
)
def test_learner_list_by_role(api, world, who, expected):
    response = api.get(who, "/learners")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    ids = [learner["id"] for learner in response.get_json()["learners"]]
    assert ids == [world["learners"][name] for name in expected]


def test_send_lead_enrols_a_learner(api):
    body = {"name": "Cara Patel", "date_of_birth": "2008-01-20", "provider": "northfield"}
    response = api.post("send_lead", "/learners", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    learner = response.get_json()
    assert set(learner) >= {"id", "name", "provider"}
    assert learner["name"] == "Cara Patel"
    assert learner["provider"] == "northfield"
    assert response.headers["Location"] == f"{BASE}/learners/{learner['id']}"
    # It is now in the lead's list and can be read back.
    listed = [x["id"] for x in api.get("send_lead", "/learners").get_json()["learners"]]
    assert learner["id"] in listed
    assert api.get("send_lead", f"/learners/{learner['id']}").status_code == 200


def test_tutor_cannot_enrol(api):
    body = {"name": "Cara Patel", "date_of_birth": "2008-01-20", "provider": "northfield"}
    assert_problem(api.post("tutor", "/learners", body), 403)
    assert len(api.get("auditor", "/learners").get_json()["learners"]) == 2


@pytest.mark.parametrize("provider", ["nowhere-college", "riverside"])
def test_enrolling_at_an_unknown_or_other_provider_is_422(api, provider):
    body = {"name": "Cara Patel", "date_of_birth": "2008-01-20", "provider": provider}
    assert_problem(api.post("send_lead", "/learners", body), 422, "provider")
    assert len(api.get("auditor", "/learners").get_json()["learners"]) == 2


def test_enrolling_with_missing_fields_names_them(api):
    body = assert_problem(api.post("send_lead", "/learners", {"name": "Cara"}), 422)
    assert set(body["errors"]) == {"date_of_birth", "provider"}


def test_enrolling_with_a_future_birth_date_is_422(api):
    body = {"name": "Cara Patel", "date_of_birth": "2099-01-20", "provider": "northfield"}
    assert_problem(api.post("send_lead", "/learners", body), 422, "date_of_birth")


def test_dual_placement_lets_the_second_provider_see_the_learner(api, amy):
    assert_problem(api.get("riverside_lead", f"/learners/{amy}"), 404)
    body = {"provider": "riverside", "reason": "Two days a week at Riverside"}
    response = api.post("send_lead", f"/learners/{amy}/providers", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["providers"] == [
        {"provider": "northfield", "lead": True}, {"provider": "riverside", "lead": False},
    ]
    assert api.get("riverside_lead", f"/learners/{amy}").status_code == 200


def test_get_learner(api, amy):
    response = api.get("tutor", f"/learners/{amy}")
    assert response.status_code == 200
    learner = response.get_json()
    assert learner["id"] == amy
    assert learner["name"] == "Amy Jones"
    assert learner["provider"] == "northfield"
    assert "reviews_due" in learner


@pytest.mark.parametrize("learner", ["ben", "unknown", "malformed"])
def test_learner_out_of_sight_is_404(api, world, learner):
    learner_id = {
        "ben": world["learners"]["ben"],
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-uuid",
    }[learner]
    assert_problem(api.get("tutor", f"/learners/{learner_id}"), 404)
    assert_problem(api.get("tutor", f"/learners/{learner_id}/progress"), 404)


def test_send_lead_cannot_see_another_providers_learner(api, ben):
    assert_problem(api.get("send_lead", f"/learners/{ben}"), 404)
    assert api.get("riverside_lead", f"/learners/{ben}").status_code == 200


# --- 3. outcomes, targets, revisions, closures -----------------------------------------------------
def test_record_outcome(api, amy):
    body = {"text": "Make a friend at college", "pfa_area": "community", "due": "2027-07-01"}
    response = api.post("send_lead", f"/learners/{amy}/outcomes", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    outcome = response.get_json()
    assert outcome["id"]
    assert (outcome["text"], outcome["pfa_area"], outcome["distance"]) == (body["text"], "community", 0)
    assert outcome["id"] in [o["id"] for o in api.progress(amy)["outcomes"]]


def test_outcome_answers_use_the_progress_shape(api, amy):
    # `targets` is a list of target ids in progress (contract) and in the
    # documented OutcomeProgress schema; POST answers must not make it a count.
    body = {"text": "Make a friend at college", "pfa_area": "community", "due": "2027-07-01"}
    created = api.post("send_lead", f"/learners/{amy}/outcomes", body).get_json()
    assert created["targets"] == []
    tid = api.post("send_lead", f"/learners/{amy}/targets", target_body(created["id"])).get_json()["id"]
    amended = api.post("send_lead", f"/learners/{amy}/outcomes/{created['id']}/amendments",
                       {**body, "text": "Make two friends", "reason": "Agreed at review"})
    assert amended.status_code == 201, amended.get_data(as_text=True)
    assert amended.get_json()["text"] == "Make two friends"
    assert amended.get_json()["targets"] == [tid]
    [in_progress] = [o for o in api.progress(amy)["outcomes"] if o["id"] == created["id"]]
    assert in_progress["targets"] == [tid]


def test_bad_pfa_area_is_422(api, amy):
    before = api.stored(amy)
    body = {"text": "Make a friend", "pfa_area": "happiness", "due": "2027-07-01"}
    assert_problem(api.post("send_lead", f"/learners/{amy}/outcomes", body), 422, "pfa_area")
    assert api.stored(amy) == before


def test_set_target_starts_with_no_progress(api, world, amy):
    response = api.post("send_lead", f"/learners/{amy}/targets", target_body(world["amy"]["outcome"]))
    assert response.status_code == 201, response.get_data(as_text=True)
    target = response.get_json()
    assert target["id"]
    assert target["baseline"] == "emerging"
    assert target["latest"] is None
    assert target["distance"] == 0
    assert target["observations"] == 0
    assert target["status"] == "open"
    assert target["outcome_ids"] == [world["amy"]["outcome"]]


def test_target_linked_to_another_learners_outcome_is_422(api, world, amy):
    before = api.stored(amy)
    body = target_body(world["ben"]["outcome"])
    assert_problem(api.post("send_lead", f"/learners/{amy}/targets", body), 422, "outcome_ids.0")
    assert api.stored(amy) == before


def test_target_with_bad_baseline_is_422(api, world, amy):
    body = target_body(world["amy"]["outcome"], baseline="amazing")
    assert_problem(api.post("send_lead", f"/learners/{amy}/targets", body), 422, "baseline")


def test_tutor_cannot_set_targets(api, world, amy):
    before = api.stored(amy)
    body = target_body(world["amy"]["outcome"])
    assert_problem(api.post("tutor", f"/learners/{amy}/targets", body), 403)
    assert api.stored(amy) == before


def test_revision_changes_the_text(api, world, amy):
    tid = world["amy"]["target"]
    body = {"reason": "Too big a step", "text": "Buy a bus ticket with a card"}
    response = api.post("send_lead", f"/learners/{amy}/targets/{tid}/revisions", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["text"] == "Buy a bus ticket with a card"
    assert api.target(amy, tid)["text"] == "Buy a bus ticket with a card"
    assert api.stored_types(amy)[-1] == "TargetRevised"


def test_revision_needs_a_reason(api, world, amy):
    tid = world["amy"]["target"]
    before = api.stored(amy)
    response = api.post("send_lead", f"/learners/{amy}/targets/{tid}/revisions", {"text": "New words"})
    assert_problem(response, 422, "reason")
    assert api.stored(amy) == before
    assert api.target(amy, tid)["text"] == "Buy a bus ticket"


def test_revision_of_unknown_target_is_422(api, amy):
    path = f"/learners/{amy}/targets/{uuid.uuid4()}/revisions"
    assert_problem(api.post("send_lead", path, {"reason": "x", "text": "y"}), 422, "target_id")


def test_close_target(api, world, amy):
    tid = world["amy"]["target"]
    body = {"closed_as": "achieved", "reason": "Did it five times"}
    response = api.post("send_lead", f"/learners/{amy}/targets/{tid}/closures", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "closed"
    # A closed target takes no more evidence, and cannot be closed again.
    before = api.stored(amy)
    assert_problem(api.post("tutor", f"/learners/{amy}/observations", obs_body(tid)), 409, "target_id")
    assert_problem(api.post("send_lead", f"/learners/{amy}/targets/{tid}/closures", body), 409)
    assert api.stored(amy) == before


# --- 4. observations -----------------------------------------------------------------------------
OBSERVATION_FIELDS = {
    "id", "target_id", "rating", "prompt_level", "context", "note",
    "observed_at", "recorded_at", "recorded_by", "status",
}


def test_record_observation(api, world, amy):
    tid = world["amy"]["target"]
    body = obs_body(tid, "secure")
    response = api.post("tutor", f"/learners/{amy}/observations", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    obs = response.get_json()
    assert set(obs) >= OBSERVATION_FIELDS
    assert obs["id"] == body["id"]
    assert obs["target_id"] == tid
    assert (obs["rating"], obs["prompt_level"], obs["context"]) == ("secure", "verbal", "classroom")
    assert obs["note"] == "Paid with the right coins"
    assert datetime.fromisoformat(obs["observed_at"]) == datetime.fromisoformat(body["observed_at"])
    assert obs["recorded_by"] == world["actors"]["tutor"].user_id
    assert obs["status"] == "active"
    assert obs["target"]["id"] == tid
    assert obs["target"]["latest"] == "secure"
    assert obs["target"]["distance"] == 2
    assert obs["target"]["observations"] == 1
    assert response.headers["Location"] == f"{BASE}/learners/{amy}/observations/{body['id']}"
    # It can be read back by its id.
    again = api.get("tutor", f"/learners/{amy}/observations/{body['id']}")
    assert again.status_code == 200
    assert again.get_json()["rating"] == "secure"


def test_optional_observation_fields_may_be_left_out(api, world, amy):
    tid = world["amy"]["target"]
    body = {"id": str(uuid.uuid4()), "target_id": tid, "rating": "emerging", "observed_at": ago(minutes=1)}
    obs = record(api, amy, body)
    assert (obs["prompt_level"], obs["context"], obs["note"]) == (None, None, "")


def test_exact_repeat_is_200_and_stores_nothing(api, world, amy):
    tid = world["amy"]["target"]
    body = obs_body(tid)
    first = record(api, amy, body)
    before = api.stored(amy)

    repeat = api.post("tutor", f"/learners/{amy}/observations", body)
    assert repeat.status_code == 200, repeat.get_data(as_text=True)
    assert repeat.get_json()["id"] == first["id"]
    assert repeat.get_json()["recorded_at"] == first["recorded_at"]
    assert api.target(amy, tid)["observations"] == 1
    assert api.stored(amy) == before


def test_repeat_with_the_same_instant_in_another_offset_is_still_a_repeat(api, world, amy):
    body = obs_body(world["amy"]["target"])
    record(api, amy, body)
    moment = datetime.fromisoformat(body["observed_at"])
    body_bst = {**body, "observed_at": moment.astimezone(timezone(timedelta(hours=1))).isoformat()}
    assert api.post("tutor", f"/learners/{amy}/observations", body_bst).status_code == 200


def test_same_id_with_another_body_is_409(api, world, amy):
    body = obs_body(world["amy"]["target"], "developing")
    record(api, amy, body)
    before = api.stored(amy)
    changed = {**body, "rating": "secure"}
    assert_problem(api.post("tutor", f"/learners/{amy}/observations", changed), 409, "id")
    assert api.stored(amy) == before
    assert api.target(amy, world["amy"]["target"])["latest"] == "developing"


def test_same_id_for_another_learner_is_409(api, app, system, world, amy):
    # A second northfield learner on the tutor's caseload.
    enrol = {"name": "Cara Patel", "date_of_birth": "2008-01-20", "provider": "northfield"}
    cara = api.post("send_lead", "/learners", enrol).get_json()["id"]
    outcome = api.post("send_lead", f"/learners/{cara}/outcomes",
                       {"text": "Cook a meal", "pfa_area": "independent_living", "due": "2027-07-01"})
    target = api.post("send_lead", f"/learners/{cara}/targets", target_body(outcome.get_json()["id"]))
    cara_target = target.get_json()["id"]
    app.add_to_caseload(system, "tutor@example.org", cara)

    body = obs_body(world["amy"]["target"])
    record(api, amy, body)
    before = api.stored(cara)
    reused = {**body, "target_id": cara_target}
    assert_problem(api.post("tutor", f"/learners/{cara}/observations", reused), 409, "id")
    assert api.stored(cara) == before
    assert api.target(cara, cara_target)["observations"] == 0


@pytest.mark.parametrize("stream", ["another learner", "the same learner", "a user"])
def test_observation_id_that_is_another_streams_id_is_409_not_500(api, world, amy, stream):
    # The id is the client's; one that happens to be some other stream's id
    # (a learner's, a user's) must be refused cleanly as a clash, never crash.
    clashing = {
        "another learner": world["learners"]["ben"],
        "the same learner": amy,
        "a user": world["actors"]["other_tutor"].user_id,
    }[stream]
    before = api.stored(amy)
    body = obs_body(world["amy"]["target"], id=clashing)
    assert_problem(api.post("tutor", f"/learners/{amy}/observations", body), 409, "id")
    assert api.stored(amy) == before


def test_empty_observation_names_every_required_field(api, amy):
    problem = assert_problem(api.post("tutor", f"/learners/{amy}/observations", {}), 422)
    assert set(problem["errors"]) == {"id", "target_id", "rating", "observed_at"}


def test_observation_is_read_only_through_its_own_learner(api, world, amy, ben):
    obs = record(api, amy, obs_body(world["amy"]["target"]))
    assert api.get("tutor", f"/learners/{amy}/observations/{obs['id']}").status_code == 200
    assert_problem(api.get("riverside_lead", f"/learners/{ben}/observations/{obs['id']}"), 404)
    assert_problem(api.get("tutor", f"/learners/{amy}/observations/{uuid.uuid4()}"), 404)


def test_oversized_body_is_413_problem(api, amy):
    data = json.dumps({"note": "x" * (2 * 1024 * 1024)})
    response = api.post("tutor", f"/learners/{amy}/observations", data=data, content_type="application/json")
    assert_problem(response, 413)


REJECTED_OBSERVATIONS = [
    # (case, change to a valid body, status, field named in errors)
    ("unknown field", lambda b, w: {**b, "mood": "happy"}, 422, "mood"),
    ("rating is a number", lambda b, w: {**b, "rating": 5}, 422, "rating"),
    ("note is a number", lambda b, w: {**b, "note": 123}, 422, "note"),
    ("rating not on the scale", lambda b, w: {**b, "rating": "brilliant"}, 422, "rating"),
    ("bad prompt level", lambda b, w: {**b, "prompt_level": "shouted"}, 422, "prompt_level"),
    ("bad context", lambda b, w: {**b, "context": "moon"}, 422, "context"),
    ("observed tomorrow", lambda b, w: {**b, "observed_at": ago(days=-1)}, 422, "observed_at"),
    ("observed_at without offset", lambda b, w: {**b, "observed_at": "2026-01-10T10:15:00"}, 422, "observed_at"),
    ("observed_at not a time", lambda b, w: {**b, "observed_at": "last Tuesday"}, 422, "observed_at"),
    ("id not a uuid", lambda b, w: {**b, "id": "obs-1"}, 422, "id"),
    ("id missing", lambda b, w: {k: v for k, v in b.items() if k != "id"}, 422, "id"),
    ("rating missing", lambda b, w: {k: v for k, v in b.items() if k != "rating"}, 422, "rating"),
    ("another learner's target", lambda b, w: {**b, "target_id": w["ben"]["target"]}, 422, "target_id"),
    ("unknown target", lambda b, w: {**b, "target_id": str(uuid.uuid4())}, 422, "target_id"),
]


@pytest.mark.parametrize(
    "change, status, field", [c[1:] for c in REJECTED_OBSERVATIONS], ids=[c[0] for c in REJECTED_OBSERVATIONS]
)
def test_rejected_observation_stores_nothing(api, world, amy, change, status, field):
    before = api.stored(amy)
    body = change(obs_body(world["amy"]["target"]), world)
    assert_problem(api.post("tutor", f"/learners/{amy}/observations", body), status, field)
    assert api.stored(amy) == before
    assert api.target(amy, world["amy"]["target"])["observations"] == 0


def test_unknown_field_message(api, world, amy):
    body = {**obs_body(world["amy"]["target"]), "mood": "happy"}
    problem = assert_problem(api.post("tutor", f"/learners/{amy}/observations", body), 422)
    assert problem["errors"]["mood"] == ["Unknown field."]


def test_observation_a_few_minutes_ahead_is_allowed(api, world, amy):
    # Tablet clocks drift: up to five minutes ahead is not "the future".
    record(api, amy, obs_body(world["amy"]["target"], observed_at=ago(minutes=-2)))


def test_observation_for_unknown_learner_is_404(api, world):
    path = f"/learners/{uuid.uuid4()}/observations"
    assert_problem(api.post("tutor", path, obs_body(world["amy"]["target"])), 404)


def test_observation_for_learner_off_caseload_is_404(api, world, ben):
    before = api.stored(ben)
    assert_problem(api.post("tutor", f"/learners/{ben}/observations", obs_body(world["ben"]["target"])), 404)
    assert api.stored(ben) == before


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        ("rating=secure", "application/x-www-form-urlencoded", 415),
        ('{"rating": "secure"}', "text/plain", 415),
        ('{"rating": ', "application/json", 400),
        ("[]", "application/json", 400),
        ('"secure"', "application/json", 400),
    ],
    ids=["form", "text", "invalid json", "array", "string"],
)
def test_body_must_be_a_json_object(api, amy, data, content_type, status):
    before = api.stored(amy)
    response = api.post("tutor", f"/learners/{amy}/observations", data=data, content_type=content_type)
    assert_problem(response, status)
    assert api.stored(amy) == before


# --- 5. corrections and withdrawals ----------------------------------------------------------
def test_correction(api, world, amy):
    tid = world["amy"]["target"]
    obs = record(api, amy, obs_body(tid, "developing"))
    path = f"/learners/{amy}/observations/{obs['id']}/corrections"
    response = api.post("tutor", path, {"reason": "Tapped the wrong rating", "rating": "not_yet"})
    assert response.status_code == 201, response.get_data(as_text=True)
    corrected = response.get_json()
    assert corrected["id"] == obs["id"]
    assert corrected["status"] == "active"
    assert corrected["rating"] == "not_yet"
    assert corrected["corrections"] == 1
    assert corrected["prompt_level"] == "verbal"  # not given, so kept
    assert corrected["target"]["latest"] == "not_yet"
    assert corrected["target"]["distance"] == -1
    assert api.target(amy, tid)["observations"] == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"rating": "secure"}, "reason"),
        ({"reason": "   ", "rating": "secure"}, "reason"),
        ({"reason": "Nothing to change"}, "rating"),
        ({"reason": "Bad rating", "rating": "brilliant"}, "rating"),
        ({"reason": "Typo", "rating": "secure", "colour": "red"}, "colour"),
    ],
    ids=["no reason", "blank reason", "nothing changed", "bad rating", "unknown field"],
)
def test_rejected_correction_stores_nothing(api, world, amy, body, field):
    obs = record(api, amy, obs_body(world["amy"]["target"], "developing"))
    before = api.stored(amy)
    path = f"/learners/{amy}/observations/{obs['id']}/corrections"
    assert_problem(api.post("tutor", path, body), 422, field)
    assert api.stored(amy) == before
    assert api.target(amy, world["amy"]["target"])["latest"] == "developing"


def test_correction_that_changes_nothing_is_422(api, world, amy):
    # Restating the current values puts nothing right; recording it would also
    # make a retried correction (e.g. from the offline outbox) count twice.
    obs = record(api, amy, obs_body(world["amy"]["target"], "developing"))
    before = api.stored(amy)
    path = f"/learners/{amy}/observations/{obs['id']}/corrections"
    same = {"reason": "Checked it", "rating": "developing", "prompt_level": "verbal"}
    assert_problem(api.post("tutor", path, same), 422)
    assert api.stored(amy) == before
    assert api.get("tutor", f"/learners/{amy}/observations/{obs['id']}").get_json()["corrections"] == 0


def test_correction_into_the_future_is_422(api, world, amy):
    obs = record(api, amy, obs_body(world["amy"]["target"]))
    before = api.stored(amy)
    body = {"reason": "Wrong time", "observed_at": ago(days=-1)}
    path = f"/learners/{amy}/observations/{obs['id']}/corrections"
    assert_problem(api.post("tutor", path, body), 422, "observed_at")
    assert api.stored(amy) == before


def test_correcting_unknown_observation_is_422(api, amy):
    path = f"/learners/{amy}/observations/{uuid.uuid4()}/corrections"
    assert_problem(api.post("tutor", path, {"reason": "x", "rating": "secure"}), 422, "observation_id")


def test_withdrawal(api, world, amy):
    tid = world["amy"]["target"]
    keep = record(api, amy, obs_body(tid, "developing", observed_at=ago(minutes=30)))
    undo = record(api, amy, obs_body(tid, "secure", observed_at=ago(minutes=5)))
    assert api.target(amy, tid)["observations"] == 2
    assert api.target(amy, tid)["latest"] == "secure"

    path = f"/learners/{amy}/observations/{undo['id']}/withdrawals"
    response = api.post("tutor", path, {"reason": "Wrong learner"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "withdrawn"
    target = api.target(amy, tid)
    assert target["observations"] == 1
    assert target["latest"] == keep["rating"]
    assert target["distance"] == 1

    # Withdrawing again clashes with what is recorded; nothing is written.
    before = api.stored(amy)
    assert_problem(api.post("tutor", path, {"reason": "Again"}), 409, "observation_id")
    # A withdrawn observation cannot be corrected either.
    correction = {"reason": "x", "rating": "not_yet"}
    assert_problem(api.post("tutor", f"/learners/{amy}/observations/{undo['id']}/corrections", correction), 409)
    assert api.stored(amy) == before


def test_withdrawal_needs_a_reason(api, world, amy):
    obs = record(api, amy, obs_body(world["amy"]["target"]))
    before = api.stored(amy)
    assert_problem(api.post("tutor", f"/learners/{amy}/observations/{obs['id']}/withdrawals", {}), 422, "reason")
    assert api.stored(amy) == before


def test_history_keeps_every_version_of_an_observation(api, world, amy):
    obs = record(api, amy, obs_body(world["amy"]["target"], "developing"))
    base = f"/learners/{amy}/observations/{obs['id']}"
    assert api.post("tutor", f"{base}/corrections", {"reason": "Typo", "rating": "secure"}).status_code == 201
    assert api.post("tutor", f"{base}/withdrawals", {"reason": "Wrong target"}).status_code == 201

    exported = [e for e in api.events(amy) if e.get("observation_id") == obs["id"]]
    assert [e["type"] for e in exported] == [
        "ObservationRecorded", "ObservationCorrected", "ObservationWithdrawn",
    ]
    assert exported[0]["rating"] == "developing"
    assert exported[1]["rating"] == "secure"
    assert exported[1]["reason"] == "Typo"

    history = api.get("send_lead", f"/learners/{amy}/history").get_json()
    types = [e["type"] for e in history["events"]]
    for kind in ("ObservationRecorded", "ObservationCorrected", "ObservationWithdrawn"):
        assert kind in types


# --- the export (JSON lines) -----------------------------------------------------------------------
def test_event_export_is_one_json_line_per_stored_event(api, world, amy):
    record(api, amy, obs_body(world["amy"]["target"], "secure"))
    response = api.get("tutor", f"/learners/{amy}/events")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    head, *exported = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert head["format"] == "rarpa-learner-export/1" and head["learner_id"] == amy
    assert head["events"] == len(exported) == api.stored(amy)
    assert head["fingerprint"] == exported[-1]["link"] and len(head["fingerprint"]) == 64
    assert [e["prev_link"] for e in exported[1:]] == [e["link"] for e in exported[:-1]]
    assert all({"version", "position", "seal"} <= set(e) for e in exported)
    assert [e["type"] for e in exported] == api.stored_types(amy)
    assert exported[0]["type"] == "LearnerEnrolled"
    assert exported[0]["date_of_birth"] == "2007-03-01"
    assert exported[-1]["type"] == "ObservationRecorded"
    assert exported[-1]["rating"] == "secure"
    assert all({"type", "recorded_at", "recorded_by"} <= set(e) for e in exported)


# --- 6. progress ---------------------------------------------------------------------------------
def test_progress_shape(api, world, amy):
    progress = api.progress(amy, who="tutor")
    assert set(progress) >= {"targets", "outcomes"}
    [target] = progress["targets"]
    assert set(target) >= {"id", "baseline", "latest", "distance", "observations"}
    assert (target["id"], target["baseline"], target["latest"]) == (world["amy"]["target"], "emerging", None)
    assert (target["distance"], target["observations"]) == (0, 0)
    [outcome] = progress["outcomes"]
    assert set(outcome) >= {"id", "pfa_area", "targets", "distance"}
    assert outcome["id"] == world["amy"]["outcome"]
    assert outcome["pfa_area"] == "independent_living"
    assert outcome["targets"] == [world["amy"]["target"]]
    assert outcome["distance"] == 0


@pytest.mark.parametrize("rating, distance", [("not_yet", -1), ("emerging", 0), ("developing", 1),
                                              ("secure", 2), ("generalised", 3)])
def test_distance_is_signed_steps_from_baseline(api, world, amy, rating, distance):
    tid = world["amy"]["target"]  # baseline: emerging
    record(api, amy, obs_body(tid, rating))
    target = api.target(amy, tid)
    assert (target["latest"], target["distance"], target["observations"]) == (rating, distance, 1)


def test_latest_is_the_most_recently_observed(api, world, amy):
    tid = world["amy"]["target"]
    record(api, amy, obs_body(tid, "secure", observed_at=ago(minutes=5)))
    # Made offline earlier, sent later: it does not become the latest.
    record(api, amy, obs_body(tid, "not_yet", observed_at=ago(hours=2)))
    target = api.target(amy, tid)
    assert (target["latest"], target["distance"], target["observations"]) == ("secure", 2, 2)


def test_outcome_distance_is_the_mean_of_its_targets(api, world, amy):
    outcome_id = world["amy"]["outcome"]
    first = world["amy"]["target"]  # baseline emerging
    second = api.post("send_lead", f"/learners/{amy}/targets", target_body(outcome_id, "emerging")).get_json()["id"]
    record(api, amy, obs_body(first, "secure"))      # +2
    record(api, amy, obs_body(second, "not_yet"))    # -1
    progress = api.progress(amy)
    [outcome] = [o for o in progress["outcomes"] if o["id"] == outcome_id]
    assert sorted(outcome["targets"]) == sorted([first, second])
    assert outcome["distance"] == pytest.approx(0.5)
    distances = {t["id"]: t["distance"] for t in progress["targets"]}
    assert distances == {first: 2, second: -1}


# --- 7. history as at a recorded instant --------------------------------------------------------
def test_history_as_at(api, world, amy):
    tid = world["amy"]["target"]
    a = record(api, amy, obs_body(tid, "developing", observed_at=ago(minutes=20)))
    moment = datetime.now(timezone.utc)
    time.sleep(0.05)
    base = f"/learners/{amy}/observations/{a['id']}"
    assert api.post("tutor", f"{base}/corrections", {"reason": "Typo", "rating": "secure"}).status_code == 201
    b = record(api, amy, obs_body(tid, "generalised", observed_at=ago(minutes=10)))

    then = api.get("tutor", f"/learners/{amy}/history", query_string={"as_at": moment.isoformat()})
    assert then.status_code == 200, then.get_data(as_text=True)
    then = then.get_json()
    assert set(then) >= {"as_at", "events", "progress"}
    assert datetime.fromisoformat(then["as_at"]) == moment
    assert all(set(e) >= {"type", "recorded_at", "recorded_by"} for e in then["events"])
    assert all(datetime.fromisoformat(e["recorded_at"]) <= moment for e in then["events"])
    types = [e["type"] for e in then["events"]]
    assert "ObservationCorrected" not in types
    assert [e["observation_id"] for e in then["events"] if e["type"] == "ObservationRecorded"] == [a["id"]]
    [target] = then["progress"]["targets"]
    assert (target["latest"], target["distance"], target["observations"]) == ("developing", 1, 1)

    now = api.get("tutor", f"/learners/{amy}/history").get_json()
    types = [e["type"] for e in now["events"]]
    assert "ObservationCorrected" in types
    assert {e["observation_id"] for e in now["events"] if e["type"] == "ObservationRecorded"} == {a["id"], b["id"]}
    [target] = now["progress"]["targets"]
    assert (target["latest"], target["observations"]) == ("generalised", 2)
    assert len(now["events"]) == api.stored(amy)


def test_history_as_at_with_z_suffix(api, amy):
    moment = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    response = api.get("tutor", f"/learners/{amy}/history", query_string={"as_at": moment})
    assert response.status_code == 200


@pytest.mark.parametrize("as_at", ["yesterday", "2026-13-45T00:00:00+00:00", "2026-03-01T17:00:00"],
                         ids=["words", "impossible date", "no offset"])
def test_bad_as_at_is_400(api, amy, as_at):
    response = api.get("tutor", f"/learners/{amy}/history", query_string={"as_at": as_at})
    assert_problem(response, 400, "as_at")


def test_as_at_before_the_learner_existed_is_404(api, amy):
    response = api.get("tutor", f"/learners/{amy}/history", query_string={"as_at": "2001-01-01T00:00:00+00:00"})
    assert_problem(response, 404)


def test_history_of_learner_off_caseload_is_404(api, ben):
    assert_problem(api.get("tutor", f"/learners/{ben}/history"), 404)
    assert_problem(api.get("tutor", f"/learners/{ben}/events"), 404)


# --- 8. self-assessments and reviews ------------------------------------------------------------
def test_self_assessment(api, world, amy):
    body = {"target_id": world["amy"]["target"], "answer": "on_my_own", "words": "I did it by myself"}
    response = api.post("tutor", f"/learners/{amy}/self-assessments", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["id"]
    assert api.stored_types(amy)[-1] == "SelfAssessmentRecorded"


@pytest.mark.parametrize("change, field", [
    ({"answer": "brilliant"}, "answer"),
    ({"answer": None}, "answer"),
    ({"target_id": "not-a-uuid"}, "target_id"),
    ({"assessed_at": "2026-03-01T10:00:00"}, "assessed_at"),
])
def test_bad_self_assessment_is_422(api, world, amy, change, field):
    before = api.stored(amy)
    body = {"target_id": world["amy"]["target"], "answer": "on_my_own", **change}
    assert_problem(api.post("tutor", f"/learners/{amy}/self-assessments", body), 422, field)
    assert api.stored(amy) == before


def test_self_assessment_of_another_learners_target_is_422(api, world, amy):
    body = {"target_id": world["ben"]["target"], "answer": "with_help"}
    assert_problem(api.post("tutor", f"/learners/{amy}/self-assessments", body), 422, "target_id")


@pytest.fixture
def three_targets(api, world, amy):
    """Amy's target from the world plus two more on the same outcome."""
    outcome_id = world["amy"]["outcome"]
    extra = [
        api.post("send_lead", f"/learners/{amy}/targets", target_body(outcome_id, text=text)).get_json()["id"]
        for text in ("Cross the road safely", "Ask for help in a shop")
    ]
    return [world["amy"]["target"], *extra]


def review_body(decisions):
    return {
        "held_on": datetime.now(timezone.utc).date().isoformat(),
        "attendees": ["Amy", "Tutor", "Parent"],
        "learner_views": "I like the bus now",
        "decisions": decisions,
    }


def test_progress_review_keep_revise_close(api, amy, three_targets):
    keep, revise, close = three_targets
    body = review_body([
        {"target_id": keep, "decision": "keep"},
        {"target_id": revise, "decision": "revise", "text": "Cross at the lights", "reason": "Safer"},
        {"target_id": close, "decision": "close", "closed_as": "achieved", "reason": "Did it"},
    ])
    response = api.post("tutor", f"/learners/{amy}/reviews", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["id"]

    targets = {t["id"]: t for t in api.progress(amy)["targets"]}
    assert (targets[keep]["text"], targets[keep]["status"]) == ("Buy a bus ticket", "open")
    assert (targets[revise]["text"], targets[revise]["status"]) == ("Cross at the lights", "open")
    assert targets[close]["status"] == "closed"
    types = api.stored_types(amy)[-3:]
    assert types == ["ProgressReviewHeld", "TargetRevised", "TargetClosed"]


@pytest.mark.parametrize("decision, field", [
    ({"decision": "revise", "text": "New words"}, "decisions.0.reason"),
    ({"decision": "close"}, "decisions.0.closed_as"),
    ({"decision": "postpone"}, "decisions.0.decision"),
    ({"decision": "keep", "target_id": "unknown"}, "decisions.0.target_id"),
], ids=["revise without reason", "close without closed_as", "unknown decision", "unknown target"])
def test_rejected_review_stores_nothing(api, world, amy, decision, field):
    before = api.stored(amy)
    target_id = world["amy"]["target"] if decision.get("target_id") != "unknown" else str(uuid.uuid4())
    body = review_body([{**decision, "target_id": target_id}])
    assert_problem(api.post("tutor", f"/learners/{amy}/reviews", body), 422, field)
    assert api.stored(amy) == before
    assert api.target(amy, world["amy"]["target"])["text"] == "Buy a bus ticket"


def test_review_needs_attendees(api, amy):
    body = {**review_body([]), "attendees": []}
    assert_problem(api.post("tutor", f"/learners/{amy}/reviews", body), 422, "attendees")


def test_review_in_the_future_is_422(api, amy):
    body = {**review_body([]), "held_on": "2099-01-01"}
    assert_problem(api.post("tutor", f"/learners/{amy}/reviews", body), 422, "held_on")


def test_support_cannot_hold_a_review(api, amy):
    assert_problem(api.post("support", f"/learners/{amy}/reviews", review_body([])), 403)


# --- 9. roles -----------------------------------------------------------------------------------
def test_support_records_but_does_not_plan(api, world, amy):
    obs = record(api, amy, obs_body(world["amy"]["target"]), who="support")
    assert obs["recorded_by"] == world["actors"]["support"].user_id
    before = api.stored(amy)
    assert_problem(api.post("support", f"/learners/{amy}/targets", target_body(world["amy"]["outcome"])), 403)
    body = {"text": "Make a friend", "pfa_area": "community", "due": "2027-07-01"}
    assert_problem(api.post("support", f"/learners/{amy}/outcomes", body), 403)
    assert api.stored(amy) == before


def test_admin_sees_no_learner_data(api, amy):
    assert_problem(api.get("admin", f"/learners/{amy}"), 404)
    assert_problem(api.get("admin", f"/learners/{amy}/progress"), 404)


def test_auditor_reads_everything_writes_nothing(api, app, world, amy, ben):
    before = api.stored(amy)
    response = api.post("auditor", f"/learners/{amy}/observations", obs_body(world["amy"]["target"]))
    assert_problem(response, 403)
    assert api.stored(amy) == before
    assert_problem(api.post("auditor", f"/learners/{amy}/targets", target_body(world["amy"]["outcome"])), 403)

    for path in ("", "/progress", "/history", "/events"):
        assert api.get("auditor", f"/learners/{amy}{path}").status_code == 200
    assert api.get("auditor", f"/learners/{ben}/progress").status_code == 200

    logged = app.vault.access.entries(amy)
    assert [e["action"] for e in logged] == ["learner page", "progress", "history", "export"]
    assert {(e["role"], e["user_id"]) for e in logged} == {("auditor", str(app.user(world["users"]["auditor"]).id))}
    assert [e["action"] for e in app.vault.access.entries(ben)] == ["progress"]


def test_every_roles_views_are_logged_and_a_refused_write_is_not_a_view(api, app, amy):
    api.get("tutor", f"/learners/{amy}/progress")
    api.post("tutor", f"/learners/{amy}/observations", {"rating": "nonsense"})
    [entry] = app.vault.access.entries(amy)
    assert (entry["role"], entry["action"], entry["address"]) == ("tutor", "progress", "127.0.0.1")
    assert entry["detail"] == f"{BASE}/learners/{amy}/progress"


# --- 10. the OpenAPI document -------------------------------------------------------------------
def _resolve(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix)
    return spec["components"]["schemas"][ref[len(prefix):]]


def test_openapi_describes_observations(client):
    spec = client.get(f"{BASE}/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    post = spec["paths"][f"{BASE}/learners/{{learner_id}}/observations"]["post"]
    schema = _resolve(spec, post["requestBody"]["content"]["application/json"]["schema"])
    props = schema["properties"]
    assert set(props) >= {"id", "target_id", "rating", "prompt_level", "context", "note", "observed_at"}
    assert props["rating"]["enum"] == RATINGS
    assert set(schema.get("required", [])) >= {"id", "target_id", "rating", "observed_at"}
    assert {"201", "200", "401", "422", "409"} <= set(post["responses"])


def test_openapi_lists_the_contract_paths(client):
    paths = client.get(f"{BASE}/openapi.json").get_json()["paths"]
    for path, method in [
        ("/learners", "get"), ("/learners", "post"), ("/learners/{learner_id}", "get"),
        ("/learners/{learner_id}/outcomes", "post"), ("/learners/{learner_id}/targets", "post"),
        ("/learners/{learner_id}/targets/{target_id}/revisions", "post"),
        ("/learners/{learner_id}/observations/{observation_id}/corrections", "post"),
        ("/learners/{learner_id}/reviews", "post"), ("/learners/{learner_id}/self-assessments", "post"),
        ("/learners/{learner_id}/progress", "get"), ("/learners/{learner_id}/history", "get"),
        ("/learners/{learner_id}/events", "get"),
    ]:
        assert method in paths[BASE + path], path


# --- 11. errors outside the routes ----------------------------------------------------------
def test_unknown_route_is_problem_404(client, api):
    assert_problem(client.get(f"{BASE}/nothing"), 404)
    assert_problem(api.get("tutor", "/nothing"), 404)


def test_wrong_method_is_problem_405(api, amy):
    assert_problem(api.client.delete(f"{BASE}/learners/{amy}", headers=api.headers("send_lead")), 405)
    assert_problem(api.get("tutor", f"/learners/{amy}/observations"), 405)


def test_problem_types_are_documented(client):
    response = client.get(f"{BASE}/problems/409")
    assert response.status_code == 200
    assert response.get_json()["status"] == 409

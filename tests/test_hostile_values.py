"""Hostile values: text that cannot be stored, dates and
instants outside any sensible range, bodies nested too deeply, JSON that is not
quite JSON. Each must be a 4xx naming the field (problem+json on the API, a
readable page on the web, one line and exit 2 on the CLI), never a 500, and
nothing may be written: the event store's last notification id is unchanged.
"""

from __future__ import annotations

import copy
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from tests.conftest import PASSWORD
from tests.test_web import sign_in, token_of
from tests.localhost import db_env

BASE = "/api/v1"
PROBLEM = "application/problem+json"
TODAY = datetime.now(timezone.utc).date()
EARLIEST_INSTANT = "0001-01-01T00:00:00+14:00"  # before year 1 in UTC
LATEST_INSTANT = "9999-12-31T23:59:59-14:00"  # after year 9999 in UTC


# --- fixtures and helpers -------------------------------------------------------------
class Api:
    """The API as the Northfield SEND lead (who may do every write on Amy's
    record), with a check that a refused request wrote nothing."""

    def __init__(self, client, app, ids):
        self.client, self.app, self.ids = client, app, ids
        self.headers = {"Authorization": f"Bearer {app.create_token('lead@example.org')}"}

    def written(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def get(self, path: str):
        return self.client.get(BASE + path.format(**self.ids), headers=self.headers)

    def post(self, path: str, body=None, *, data=None):
        kw = {"json": body} if data is None else {"data": data, "content_type": "application/json"}
        return self.client.post(BASE + path.format(**self.ids), headers=self.headers, **kw)

    def refused(self, response, status: int | tuple, field: str, before: int) -> dict:
        """A problem document naming `field`, and nothing written."""
        text = response.get_data(as_text=True)
        statuses = status if isinstance(status, tuple) else (status,)
        assert response.status_code in statuses, text
        assert response.mimetype == PROBLEM, text
        body = response.get_json()
        assert body["status"] == response.status_code and body["title"] and body["detail"]
        assert field in body.get("errors", {}), body
        assert self.written() == before, "a refused request wrote something"
        return body


def build(folder) -> tuple:
    """A store with two providers, the SEND lead, Amy with an outcome, a target,
    an observation and a destination, and the app's test client over it."""
    from rarpa.service.access import system_actor
    from rarpa.service.application import RecordApplication
    from rarpa.config import Settings
    from web import create_app
    from web.services import Services

    settings = Settings.from_env({**db_env(folder / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"})
    app, system = RecordApplication(settings), system_actor("test")
    app.register_provider(system, "northfield", "Northfield College")
    app.register_provider(system, "riverside", "Riverside Specialist College")
    app.add_user(system, email="lead@example.org", role="send_lead", password=PASSWORD, provider="northfield")
    app.add_user(system, email="auditor@example.org", role="auditor", password=PASSWORD)
    amy = app.enrol_learner(system, name="Amy Jones", date_of_birth="2007-03-01", provider="northfield").result
    outcome = app.record_outcome(system, amy, text="Travel to college on the bus", pfa_area="independent_living",
                                 due="2027-07-01").result
    target = app.set_target(system, amy, text="Buy a bus ticket", success_criteria="Without help",
                            outcome_ids=[outcome], baseline="emerging", review_by="2027-01-15").result
    seen = app.record_observation(system, amy, observation_id=str(uuid.uuid4()), target_id=target,
                                  rating="developing", observed_at=datetime.now(timezone.utc) - timedelta(hours=1))
    destination = app.record_destination(system, amy, kind="employment", detail="Cafe", starts_on="2024-01-08").result
    services = Services(settings)
    client = create_app(services=services).test_client()
    ids = {"lid": amy, "oid": outcome, "tid": target, "obsid": seen.result["id"], "did": destination}
    return Api(client, app, ids), settings, services


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One store for every test that expects a refusal: a refusal writes nothing
    (each test checks), so they can share it, which keeps this module quick."""
    api, settings, services = build(tmp_path_factory.mktemp("hostile"))
    yield api, settings
    services.close()
    api.app.close()


@pytest.fixture
def api(shared):
    return shared[0]


@pytest.fixture
def fresh(tmp_path):
    """A store of its own, for the tests whose requests are accepted."""
    api, _, services = build(tmp_path)
    yield api
    services.close()
    api.app.close()


def valid_bodies(ids: dict) -> dict[str, dict]:
    """A body each write endpoint accepts (checked by the first test)."""
    today = TODAY.isoformat()
    return {
        "/learners": {"name": "Cara Lee", "preferred_name": "Cara", "date_of_birth": "2007-01-01",
                      "provider": "northfield"},
        "/learners/{lid}/outcomes": {"text": "Cook a meal", "pfa_area": "independent_living", "due": "2027-07-01"},
        "/learners/{lid}/outcomes/{oid}/amendments": {"text": "Cook two meals", "pfa_area": "independent_living",
                                                      "due": "2027-07-01", "reason": "Agreed at review"},
        "/learners/{lid}/aims": {"text": "Travel independently", "outcome_ids": [ids["oid"]]},
        "/learners/{lid}/targets": {"text": "Read the timetable", "success_criteria": "Three times",
                                    "outcome_ids": [ids["oid"]], "baseline": "emerging",
                                    "baseline_note": "Needs help", "review_by": "2027-02-01"},
        "/learners/{lid}/targets/{tid}/revisions": {"kind": "revised", "reason": "Too easy", "text": "Buy a return",
                                                    "success_criteria": "Twice", "review_by": "2027-03-01"},
        "/learners/{lid}/targets/{tid}/closures": {"closed_as": "achieved", "reason": "Done"},
        "/learners/{lid}/observations": {"id": str(uuid.uuid4()), "target_id": ids["tid"], "rating": "secure",
                                         "note": "Paid with coins",
                                         "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()},
        "/learners/{lid}/observations/{obsid}/corrections": {"reason": "Wrong rating", "rating": "secure",
                                                             "note": "Paid"},
        "/learners/{lid}/observations/{obsid}/withdrawals": {"reason": "Wrong learner"},
        "/learners/{lid}/self-assessments": {"target_id": ids["tid"], "answer": "with_help", "words": "I can do it"},
        "/learners/{lid}/reviews": {"held_on": today, "attendees": ["Amy", "Mum"], "learner_views": "Going well",
                                    "decisions": [{"target_id": ids["tid"], "decision": "keep"}]},
        "/learners/{lid}/summative-assessments": {"target_id": ids["tid"], "rating": "secure", "summary": "Well done",
                                                  "assessed_on": today},
        "/learners/{lid}/outcome-summatives": {"outcome_id": ids["oid"], "judgement": "partly_achieved",
                                               "summary": "With a buddy", "assessed_on": today},
        "/learners/{lid}/unplanned-outcomes": {"text": "Made a friend", "recognised_on": today},
        "/learners/{lid}/next-steps": {"text": "Supported internship", "agreed_on": today},
        "/learners/{lid}/destinations": {"kind": "employment", "detail": "Cafe", "starts_on": today},
        "/learners/{lid}/annual-reviews": {"held_on": today, "period_from": (TODAY - timedelta(days=300)).isoformat(),
                                           "period_to": today, "attendees": ["Amy"], "learner_views": "Good year",
                                           "recommendations": [{"outcome_id": ids["oid"], "recommendation": "continue",
                                                                "note": "More practice"}]},
        "/learners/{lid}/destinations/{did}/sustained": {"confirmed_on": today, "note": "Still there"},
        "/learners/{lid}/providers": {"provider": "riverside", "lead": False, "reason": "Dual placement"},
        "/learners/{lid}/consents": {"consent": "photographs", "given": True, "reason": "Asked"},
    }


WRITES = list(valid_bodies({"oid": "", "tid": ""}))


def with_value(body: dict, path: str, value) -> dict:
    """A copy of the body with the field at a dotted path (e.g. attendees.0) set."""
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


# Every free-text field of every write, by endpoint.
TEXT_FIELDS = [
    ("/learners", "name"), ("/learners", "preferred_name"), ("/learners", "provider"),
    ("/learners/{lid}/outcomes", "text"),
    ("/learners/{lid}/outcomes/{oid}/amendments", "reason"),
    ("/learners/{lid}/aims", "text"),
    ("/learners/{lid}/targets", "text"), ("/learners/{lid}/targets", "success_criteria"),
    ("/learners/{lid}/targets", "baseline_note"),
    ("/learners/{lid}/targets/{tid}/revisions", "reason"), ("/learners/{lid}/targets/{tid}/revisions", "text"),
    ("/learners/{lid}/targets/{tid}/revisions", "success_criteria"),
    ("/learners/{lid}/targets/{tid}/closures", "reason"),
    ("/learners/{lid}/observations", "note"),
    ("/learners/{lid}/observations/{obsid}/corrections", "reason"),
    ("/learners/{lid}/observations/{obsid}/corrections", "note"),
    ("/learners/{lid}/observations/{obsid}/withdrawals", "reason"),
    ("/learners/{lid}/self-assessments", "words"),
    ("/learners/{lid}/reviews", "attendees.1"), ("/learners/{lid}/reviews", "learner_views"),
    ("/learners/{lid}/summative-assessments", "summary"),
    ("/learners/{lid}/outcome-summatives", "summary"),
    ("/learners/{lid}/unplanned-outcomes", "text"),
    ("/learners/{lid}/next-steps", "text"),
    ("/learners/{lid}/destinations", "detail"),
    ("/learners/{lid}/annual-reviews", "attendees.0"), ("/learners/{lid}/annual-reviews", "learner_views"),
    ("/learners/{lid}/annual-reviews", "recommendations.0.note"),
    ("/learners/{lid}/destinations/{did}/sustained", "note"),
    ("/learners/{lid}/providers", "provider"), ("/learners/{lid}/providers", "reason"),
    ("/learners/{lid}/consents", "reason"),
]

# Every date field of every write, by endpoint.
DATE_FIELDS = [
    ("/learners", "date_of_birth"),
    ("/learners/{lid}/outcomes", "due"),
    ("/learners/{lid}/outcomes/{oid}/amendments", "due"),
    ("/learners/{lid}/targets", "review_by"),
    ("/learners/{lid}/targets/{tid}/revisions", "review_by"),
    ("/learners/{lid}/reviews", "held_on"),
    ("/learners/{lid}/summative-assessments", "assessed_on"),
    ("/learners/{lid}/outcome-summatives", "assessed_on"),
    ("/learners/{lid}/unplanned-outcomes", "recognised_on"),
    ("/learners/{lid}/next-steps", "agreed_on"),
    ("/learners/{lid}/destinations", "starts_on"),
    ("/learners/{lid}/annual-reviews", "held_on"),
    ("/learners/{lid}/annual-reviews", "period_from"),
    ("/learners/{lid}/annual-reviews", "period_to"),
    ("/learners/{lid}/destinations/{did}/sustained", "confirmed_on"),
]

INSTANT_FIELDS = [
    ("/learners/{lid}/observations", "observed_at"),
    ("/learners/{lid}/observations/{obsid}/corrections", "observed_at"),
    ("/learners/{lid}/self-assessments", "assessed_at"),
]


# --- the bodies are good, so each refusal below is down to the one field ---------------
@pytest.mark.parametrize("path", WRITES)
def test_the_valid_bodies_are_accepted(fresh, path):
    api = fresh
    response = api.post(path, valid_bodies(api.ids)[path])
    assert response.status_code == 201, response.get_data(as_text=True)


# --- text that cannot be stored -----------------------------------------------------------
@pytest.mark.parametrize("path, field", TEXT_FIELDS)
@pytest.mark.parametrize("value", ["\ud800", "Amy \udfff Jones", "a\x00b"], ids=["lone-high", "lone-low", "nul"])
def test_text_that_cannot_be_stored_is_refused(api, path, field, value):
    before = api.written()
    body = with_value(valid_bodies(api.ids)[path], field, value)
    problem = api.refused(api.post(path, body), 422, field, before)
    if field != "provider":  # a provider's code has its own message
        assert "cannot be stored" in " ".join(problem["errors"][field])


@pytest.mark.parametrize("value", ["Amy\x1bJones", "Amy\x7f", "Amy\x85", "Amy\nJones", "Amy\tJones"])
def test_control_characters_are_refused_in_names(api, value):
    before = api.written()
    body = with_value(valid_bodies(api.ids)["/learners"], "name", value)
    api.refused(api.post("/learners", body), 422, "name", before)


def test_line_breaks_and_tabs_are_kept_in_long_text_but_not_other_controls(fresh):
    api = fresh
    body = with_value(valid_bodies(api.ids)["/learners/{lid}/observations"], "note", "Line one\r\nLine two\tend")
    assert api.post("/learners/{lid}/observations", body).status_code == 201
    body = with_value(valid_bodies(api.ids)["/learners/{lid}/observations"], "note", "bell \x07")
    api.refused(api.post("/learners/{lid}/observations", body), 422, "note", api.written())


def test_text_outside_the_basic_plane_is_fine(fresh):
    api = fresh
    body = with_value(valid_bodies(api.ids)["/learners/{lid}/observations"], "note", "Great work 👍 — Zoë")
    assert api.post("/learners/{lid}/observations", body).status_code == 201


# --- dates and instants out of range -----------------------------------------------------
@pytest.mark.parametrize("path, field", DATE_FIELDS)
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01"])
def test_dates_out_of_range_are_refused(api, path, field, value):
    before = api.written()
    body = with_value(valid_bodies(api.ids)[path], field, value)
    problem = api.refused(api.post(path, body), 422, field, before)
    assert "1900" in " ".join(problem["errors"][field])


def test_a_destination_starting_at_the_end_of_time_is_refused(api):
    before = api.written()
    body = {"kind": "employment", "detail": "", "starts_on": "9999-12-31"}
    problem = api.refused(api.post("/learners/{lid}/destinations", body), 422, "starts_on", before)
    assert "starts_on" in problem["detail"]


@pytest.mark.parametrize("path, field", INSTANT_FIELDS)
@pytest.mark.parametrize("value", [EARLIEST_INSTANT, LATEST_INSTANT, "0001-01-01T00:00:00Z",
                                   "1899-12-31T23:59:59+00:00", "9999-12-31T23:59:59Z"])
def test_instants_out_of_range_are_refused(api, path, field, value):
    before = api.written()
    body = with_value(valid_bodies(api.ids)[path], field, value)
    api.refused(api.post(path, body), 422, field, before)


@pytest.mark.parametrize("query", [f"as_at={EARLIEST_INSTANT}", f"as_at={LATEST_INSTANT}",
                                   "as_at=0001-01-01T00:00:00Z", "as_at=9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("path", ["/learners/{lid}/history", "/learners/{lid}/annual-review"])
def test_as_at_out_of_range_is_refused(api, path, query):
    before = api.written()
    response = api.get(f"{path}?{query.replace('+', '%2B')}")
    problem = api.refused(response, 400, "as_at", before)
    assert "1900" in problem["detail"]


@pytest.mark.parametrize("query, field", [
    ("to=0001-01-01", "to"), ("from=0001-01-01", "from"), ("to=9999-12-31", "to"),
    ("from=9999-12-31", "from"), ("from=0001-01-01&to=0001-01-31", "from"), ("from=9999-12-01&to=9999-12-31", "from"),
])
def test_annual_review_period_out_of_range_is_refused(api, query, field):
    before = api.written()
    problem = api.refused(api.get(f"/learners/{{lid}}/annual-review?{query}"), 400, field, before)
    assert "1900" in problem["detail"]


# --- bodies that are not plain JSON objects -------------------------------------------------
@pytest.mark.parametrize("raw", [
    "[" * 10_000 + "]" * 10_000,
    "{\"a\":" * 10_000 + "1" + "}" * 10_000,
], ids=["arrays", "objects"])
def test_a_body_nested_too_deeply_is_refused(api, raw):
    before = api.written()
    problem = api.refused(api.post("/learners/{lid}/observations", data=raw), 400, "body", before)
    assert "nested too deeply" in problem["detail"]


@pytest.mark.parametrize("depth", [10_000, 900, 40])
def test_a_deeply_nested_value_inside_a_good_body_is_refused(api, depth):
    before = api.written()
    body = valid_bodies(api.ids)["/learners/{lid}/reviews"]
    raw = api.client.application.json.dumps(body)[:-1] + ', "new_targets": ' + "[" * depth + "]" * depth + "}"
    response = api.post("/learners/{lid}/reviews", data=raw)
    # Too deep for the JSON parser (the body) or caught after parsing (the field).
    field = {10_000: "body", 40: "new_targets"}.get(depth)
    if field is None:
        assert response.status_code == 400 and set(response.get_json()["errors"]) <= {"body", "new_targets"}
        field = next(iter(response.get_json()["errors"]))
    problem = api.refused(response, 400, field, before)
    assert "nested too deeply" in problem["detail"]


@pytest.mark.parametrize("raw, field", [
    ('{"consent": "photographs", "given": NaN, "reason": "x"}', "body"),
    ('{"consent": "photographs", "given": Infinity, "reason": "x"}', "body"),
    ('{"consent": "photographs", "given": -Infinity, "reason": "x"}', "body"),
    ('{"consent": "photographs", "given": true, "reason": 1e999}', "reason"),
    ('{"consent": "photographs", "given": true, "reason": ' + "9" * 5000 + "}", "body"),
    ('{"consent": "photographs", "given": ' + "9" * 4000 + ', "reason": "x"}', "given"),
    ('{"consent": "photographs", "given": true, "reason": 1.5}', "reason"),
    ('{"consent": "photographs", "given": [[]], "reason": "x"}', "given"),
    ('{"consent": "photographs", "given": {"a": 1}, "reason": "x"}', "given"),
    ('{"consent": "photographs", "given": true, "reason": "x", "\\ud800": 1}', "\ud800"),
    ('{"consent": "photographs", "given": true, "reason": "\\ud800"}', "reason"),
    ('{"consent": "photographs", "given": true, "reason": "x"} trailing', "body"),
    (b'{"consent": "photographs", "given": true, "reason": "\xed\xa0\x80"}', "body"),
    (b'{"consent": "photographs", "given": true, "reason": "\xff"}', "body"),
], ids=["nan", "inf", "-inf", "1e999", "huge-int-string", "huge-int-bool", "float-string", "list-bool",
        "dict-bool", "surrogate-key", "surrogate-value", "trailing", "utf8-surrogate", "bad-utf8"])
def test_json_that_is_not_quite_json_is_refused(api, raw, field):
    before = api.written()
    api.refused(api.post("/learners/{lid}/consents", data=raw), (400, 422), field, before)


@pytest.mark.parametrize("path", [
    "/learners/not-a-uuid/observations", "/learners/{lid}/observations/not-a-uuid/corrections",
    "/learners/{lid}/targets/%00/closures", "/learners/{lid}/destinations/" + "9" * 5000 + "/sustained",
    "/learners/%ED%A0%80/consents",
])
def test_path_parameters_that_are_not_ids_are_refused(api, path):
    before = api.written()
    response = api.post(path, {"reason": "x", "closed_as": "achieved", "confirmed_on": TODAY.isoformat(),
                               "consent": "photographs", "given": True})
    assert response.status_code in (404, 422), response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert api.written() == before


@pytest.mark.parametrize("who", ["lead@example.org", "auditor@example.org"])
@pytest.mark.parametrize("path", ["/learners/{lid}/progress", "/learners/{lid}/history", "/learners/{lid}/annual-review"])
def test_a_query_string_that_is_not_utf8_is_refused(api, who, path):
    """A client may send raw bytes in the query string (every auditor request
    is logged with it, too)."""
    token = api.app.create_token(who)
    before = api.written()
    response = api.client.get(BASE + path.format(**api.ids), headers={"Authorization": f"Bearer {token}"},
                              environ_overrides={"QUERY_STRING": "as_at=\xff\xfe"})
    if path.endswith("/progress"):  # it reads no query: nothing to refuse
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        api.refused(response, 400, "query", before)


# --- the same on the web pages ------------------------------------------------------------
@pytest.fixture(scope="module")
def lead(shared):
    """The SEND lead signed in to the pages (a client of its own)."""
    api = shared[0]
    client = api.client.application.test_client()
    assert sign_in(client, "lead@example.org").status_code == 302
    return client


@pytest.mark.parametrize("query, field", [
    ("to=0001-01-01", "to"), ("from=0001-01-01", "from"), ("to=9999-12-31", "to"),
    (f"as_at={EARLIEST_INSTANT.replace('+', '%2B')}", "as_at"), (f"as_at={LATEST_INSTANT}", "as_at"),
])
def test_the_annual_review_page_refuses_a_period_out_of_range(lead, api, query, field):
    app, amy = api.app, api.ids["lid"]
    before = app.recorder.max_notification_id()
    response = lead.get(f"/learners/{amy}/annual-review?{query}")
    assert response.status_code == 400, response.status_code
    html = response.get_data(as_text=True)
    assert f"<p>{field}" in html and "1900" in html, html  # names the field, in words
    assert app.recorder.max_notification_id() == before


def test_the_annual_review_page_refuses_a_query_string_that_is_not_utf8(lead, api):
    response = lead.get(f"/learners/{api.ids['lid']}/annual-review", environ_overrides={"QUERY_STRING": "to=\xff"})
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)


@pytest.mark.parametrize("field, value", [("observed_at", EARLIEST_INSTANT), ("observed_at", LATEST_INSTANT),
                                          ("note", "a\x00b"), ("note", "\x1b[31m")])
def test_the_record_form_refuses_what_cannot_be_stored(lead, api, field, value):
    app, amy = api.app, api.ids["lid"]
    token = token_of(lead.get("/").get_data(as_text=True))
    before = app.recorder.max_notification_id()
    form = {"csrf_token": token, "id": str(uuid.uuid4()), "target_id": api.ids["tid"], "rating": "secure",
            field: value}
    response = lead.post(f"/learners/{amy}/observations", data=form, headers={"X-Outbox": "1"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("field, value", [("held_on", "0001-01-01"), ("held_on", "9999-12-31"),
                                          ("learner_views", "a\x00b"), ("attendees", "Amy\nMum\x00")])
def test_the_review_form_refuses_what_cannot_be_stored(lead, api, field, value):
    app, amy = api.app, api.ids["lid"]
    html = lead.get(f"/learners/{amy}/reviews/new").get_data(as_text=True)
    before = app.recorder.max_notification_id()
    form = {"csrf_token": token_of(html), "held_on": TODAY.isoformat(), "attendees": "Amy", field: value}
    response = lead.post(f"/learners/{amy}/reviews/new", data=form)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert app.recorder.max_notification_id() == before


# --- the command line -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [EARLIEST_INSTANT, LATEST_INSTANT, "0001-01-01T00:00:00Z"])
def test_cli_history_as_at_out_of_range_is_one_line_and_exit_2(shared, value):
    from rarpa.cli import main

    api, settings = shared
    before = api.written()
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"}
    result = CliRunner().invoke(main, ["history", api.ids["lid"], "--as-at", value], env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--as-at" in lines[0] and "1900" in lines[0], result.output
    assert "Traceback" not in result.output
    assert api.written() == before


# --- the parsers themselves ----------------------------------------------------------------------
@pytest.mark.parametrize("value", [EARLIEST_INSTANT, LATEST_INSTANT, "1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z"])
def test_parse_instant_refuses_instants_out_of_range(value):
    from rarpa.read.history import parse_instant

    with pytest.raises(ValueError, match="1900"):
        parse_instant(value)


@pytest.mark.parametrize("start, end, field", [("0001-01-01", None, "from"), (None, "9999-12-31", "to"),
                                               ("2026-01-01", "2101-01-01", "to")])
def test_parse_period_refuses_dates_out_of_range(start, end, field):
    from rarpa.read.annual_review import PeriodError, parse_period

    with pytest.raises(PeriodError) as caught:
        parse_period(start, end, date(2026, 6, 1))
    assert caught.value.field == field

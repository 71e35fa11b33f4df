"""Schemathesis generates requests from our own OpenAPI document, valid and
invalid, and sends them to the app: none may end in a server error."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hsettings
from schemathesis.checks import not_a_server_error

from tests.conftest import observation
from web import create_app
from web.services import Services


@pytest.fixture
def fuzz(settings, app, world, system):
    services = Services(settings)
    flask_app = create_app(services=services)
    amy = world["learners"]["amy"]
    body = observation(world["amy"]["target"])
    app.record_observation(system, amy, **body)
    records = {
        "learner_id": amy,
        "target_id": world["amy"]["target"],
        "outcome_id": world["amy"]["outcome"],
        "observation_id": body["observation_id"],
        "status": "422",
    }
    token = app.create_token("lead@example.org")
    yield flask_app, records, token
    services.close()


def test_no_request_makes_a_server_error(fuzz):
    flask_app, records, token = fuzz
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", flask_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    sent: dict[int, int] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @hsettings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            # Half the time, point path parameters at real records, so generated
            # bodies reach the domain's rules rather than stop at "no such learner".
            if case.path_parameters and hash(repr(case.body)) % 2 == 0:
                case.path_parameters = {k: records.get(k, v) for k, v in case.path_parameters.items()}
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error]
            )
            sent[response.status_code] = sent.get(response.status_code, 0) + 1

        check()
    print("responses by status:", dict(sorted(sent.items())))
    # It really exercised the API: many requests, refused and accepted ones.
    assert sum(sent.values()) >= 200
    assert any(code >= 400 for code in sent) and any(code < 300 for code in sent)


# --- hostile values: what schemathesis does not generate --------------------------------
# Schemathesis keeps to what the OpenAPI document allows a string, date or date-time
# to look like. These strategies go further: lone surrogates and control
# characters in text, dates and offset date-times across years 1..9999 (offsets
# up to ±14:00, where a conversion to UTC overflows), bodies nested thousands
# deep, NaN, Infinity and numbers too long to read. None may make a 5xx, and a
# refusal must store nothing.
import copy  # noqa: E402
import json  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402
from urllib.parse import quote  # noqa: E402

from hypothesis import strategies as st  # noqa: E402

from tests.test_web import sign_in  # noqa: E402

HOSTILE_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),  # any code point, surrogates too
    st.text(st.sampled_from(list("ab \n\t\r\x00\x01\x1b\x7f\x85\u2028\ufeff\ufffe\ud800\udbff\udc00\udfffé👍")),
            max_size=8),
    st.sampled_from(["\ud800", "Amy \udfff", "a\x00b", "\x1b[31m", "northfield", "secure", "Zoë 👍"]),
)
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
EXTREME_INSTANTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
                    "9999-12-31T23:59:59.999999Z", "1899-12-31T23:59:59Z", "1900-01-01T00:00:00+00:01",
                    "2100-12-31T23:59:59-00:01", "2101-01-01T00:00:00Z"]
HOSTILE_INSTANT = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59),
                 timezones=OFFSETS).map(lambda d: d.isoformat()),
    st.sampled_from(EXTREME_INSTANTS),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset
    HOSTILE_TEXT,
)
HOSTILE_DATE = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01", "9999-12-31", "1899-12-31", "1900-01-01", "2100-12-31", "2101-01-01"]),
    HOSTILE_TEXT,
)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
)
RAW_FRAGMENTS = st.one_of(
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, '"\\ud800"', '"\\udfff\\ud800"']),
)
KINDS = {"text": HOSTILE_TEXT, "date": HOSTILE_DATE, "instant": HOSTILE_INSTANT}


def _templates(ids: dict) -> dict[str, tuple[dict, dict[str, str]]]:
    """For each endpoint: a body it accepts, and the kind of each field to spoil."""
    recent = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    today = datetime.now(timezone.utc).date().isoformat()
    return {
        "/learners": (
            {"name": "Cara Lee", "preferred_name": "Cara", "date_of_birth": "2007-01-01", "provider": "northfield"},
            {"name": "text", "preferred_name": "text", "date_of_birth": "date", "provider": "text"}),
        "/learners/{lid}/observations": (
            {"id": str(uuid.uuid4()), "target_id": ids["tid"], "rating": "secure", "note": "Paid",
             "observed_at": recent},
            {"id": "text", "target_id": "text", "rating": "text", "note": "text", "observed_at": "instant"}),
        "/learners/{lid}/observations/{obsid}/corrections": (
            {"reason": "Wrong", "note": "Paid", "observed_at": recent},
            {"reason": "text", "note": "text", "observed_at": "instant"}),
        "/learners/{lid}/self-assessments": (
            {"target_id": ids["tid"], "answer": "with_help", "words": "I can", "assessed_at": recent},
            {"words": "text", "assessed_at": "instant", "answer": "text"}),
        "/learners/{lid}/destinations": (
            {"kind": "employment", "detail": "Cafe", "starts_on": today},
            {"kind": "text", "detail": "text", "starts_on": "date"}),
        "/learners/{lid}/destinations/{did}/sustained": (
            {"confirmed_on": today, "note": "Still there"}, {"confirmed_on": "date", "note": "text"}),
        "/learners/{lid}/reviews": (
            {"held_on": today, "attendees": ["Amy"], "learner_views": "Good",
             "decisions": [{"target_id": ids["tid"], "decision": "keep", "review_by": "2027-01-01"}],
             "new_targets": [{"text": "Cook", "success_criteria": "Twice", "outcome_ids": [ids["oid"]],
                              "baseline": "emerging", "review_by": "2027-02-01"}]},
            {"held_on": "date", "attendees.0": "text", "learner_views": "text", "decisions.0.review_by": "date",
             "new_targets.0.text": "text", "new_targets.0.review_by": "date"}),
        "/learners/{lid}/annual-reviews": (
            {"held_on": today, "period_from": (datetime.now(timezone.utc) - timedelta(days=300)).date().isoformat(),
             "period_to": today, "attendees": ["Amy"], "learner_views": "Good", "recommendations": []},
            {"held_on": "date", "period_from": "date", "period_to": "date", "attendees.0": "text",
             "learner_views": "text"}),
    }


def _set(body: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value


@st.composite
def hostile_bodies(draw, templates):
    path = draw(st.sampled_from(sorted(templates)))
    good, kinds = templates[path]
    body = copy.deepcopy(good)
    for field in draw(st.lists(st.sampled_from(sorted(kinds)), unique=True, min_size=1, max_size=3)):
        value = draw(st.one_of(KINDS[kinds[field]], ANY_JSON) if draw(st.integers(0, 4)) == 0 else KINDS[kinds[field]])
        _set(body, field, value)
    if draw(st.integers(0, 3)) == 0:  # splice in JSON no serialiser would write
        _set(body, draw(st.sampled_from(sorted(kinds))), "@@RAW@@")
        return path, json.dumps(body).replace('"@@RAW@@"', draw(RAW_FRAGMENTS), 1)
    return path, json.dumps(body)  # ensure_ascii: a lone surrogate goes as the JSON text "\ud800"


def _query_value(draw_value: str) -> str:
    return quote(draw_value, safe="", errors="surrogatepass")


@pytest.fixture
def hostile(settings, app, world, system):
    services = Services(settings)
    flask_app = create_app(services=services)
    amy = world["learners"]["amy"]
    body = observation(world["amy"]["target"], minutes_ago=60)
    app.record_observation(system, amy, **body)
    did = app.record_destination(system, amy, kind="employment", detail="", starts_on="2024-01-08").result
    ids = {"lid": amy, "tid": world["amy"]["target"], "oid": world["amy"]["outcome"],
           "obsid": body["observation_id"], "did": did}
    headers = {"Authorization": f"Bearer {app.create_token('lead@example.org')}"}
    pages = flask_app.test_client()
    sign_in(pages, "lead@example.org")
    yield flask_app.test_client(), pages, app, ids, headers
    services.close()


def test_hostile_bodies_never_make_a_server_error_nor_a_partial_write(hostile):
    client, _, app, ids, headers = hostile
    templates = _templates(ids)
    sent: dict[int, int] = {}

    @given(request=hostile_bodies(templates))
    @hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(request):
        path, raw = request
        before = app.recorder.max_notification_id()
        response = client.post("/api/v1" + path.format(**ids), data=raw.encode("utf-8", "surrogatepass"),
                               content_type="application/json", headers=headers)
        sent[response.status_code] = sent.get(response.status_code, 0) + 1
        assert response.status_code < 500, (path, raw[:300], response.get_data(as_text=True))
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json"
            assert app.recorder.max_notification_id() == before, (path, raw[:300])
            if response.status_code in (400, 422):
                assert response.get_json().get("errors"), response.get_json()

    check()
    print("hostile bodies, responses by status:", dict(sorted(sent.items())))
    assert any(code < 300 for code in sent) and sent.get(422) and sent.get(400)


QUERY_VALUE = st.one_of(HOSTILE_INSTANT, HOSTILE_DATE, st.none())


def test_hostile_query_parameters_never_make_a_server_error(hostile):
    client, pages, app, ids, headers = hostile
    sent: dict[int, int] = {}

    @given(path=st.sampled_from(["/api/v1/learners/{lid}/history", "/api/v1/learners/{lid}/annual-review",
                                 "/learners/{lid}/annual-review"]),
           as_at=QUERY_VALUE, start=QUERY_VALUE, end=QUERY_VALUE)
    @hsettings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(path, as_at, start, end):
        query = "&".join(f"{k}={_query_value(v)}" for k, v in (("as_at", as_at), ("from", start), ("to", end))
                         if v is not None)
        before = app.recorder.max_notification_id()
        url = path.format(**ids) + "?" + query
        response = (pages.get(url) if path.startswith("/learners") else client.get(url, headers=headers))
        sent[response.status_code] = sent.get(response.status_code, 0) + 1
        assert response.status_code < 500, (url, response.get_data(as_text=True)[:500])
        assert app.recorder.max_notification_id() == before

    check()
    print("hostile queries, responses by status:", dict(sorted(sent.items())))
    assert sent.get(200) and sent.get(400)

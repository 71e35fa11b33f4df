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

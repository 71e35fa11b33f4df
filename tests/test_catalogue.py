"""The event catalogue: every event type has a schema and a stable topic, and
every event the demo writes is valid against its schema."""

import json

from marshmallow import EXCLUDE

import events
from events.schemas import SCHEMAS
from rarpa.service.access import system_actor
from rarpa.cli.demo import demo_learner_id, load_demo


def test_every_event_type_has_a_schema_version_and_stable_topic():
    rows = events.catalogue()
    assert len(rows) == len(events.ALL_EVENTS) == len(SCHEMAS)
    for row in rows:
        assert row["topic"] in (f"events.learner:{row['type']}", f"events.staff:{row['type']}")
        assert row["version"] >= 1
        assert {"recorded_by", "role", "provider"} <= set(row["fields"])
    clear = {r["type"] for r in rows if not r["personal"]}
    assert clear == {"ProviderRegistered", "ObservationIdClaimed", "LearnerDataErased"}


def test_every_demo_event_round_trips_through_its_schema(app):
    load_demo(app, learners=3, echo=lambda *_: None)
    seen = set()
    for i in range(3):
        for event in app.learner_events(system_actor(), str(demo_learner_id(i))):
            body = events.to_json(event)
            json.dumps(body)  # JSON-ready
            schema = SCHEMAS[type(event)]()
            errors = schema.validate(events.payload(event))
            assert errors == {}, (type(event).__name__, errors)
            assert body["recorded_at"] == event.timestamp.isoformat()
            seen.add(type(event).__name__)
    # The demo exercises every stage of RARPA.
    assert {"LearnerEnrolled", "EHCPOutcomeRecorded", "ProgrammeAimAgreed", "TargetSet", "BaselineRecorded",
            "ObservationRecorded", "ObservationCorrected", "ObservationWithdrawn", "TargetRevised",
            "ProgressReviewHeld", "SelfAssessmentRecorded", "ProviderJoined"} <= seen


def test_password_hashes_never_leave_in_an_export(app, world):
    user = app.user("tutor@example.org")
    registered = next(iter(app.events.get(user.id)))
    assert "password_hash" not in events.to_json(registered)
    assert SCHEMAS[type(registered)]().load(
        {**events.payload(registered), "password_hash": "x"}, unknown=EXCLUDE)["password_hash"] == "x"

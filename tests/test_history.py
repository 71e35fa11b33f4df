"""As-at replay: the record exactly as it stood at a recorded instant."""

from datetime import datetime, timedelta, timezone

import pytest

from events.base import clock
from rarpa.service.access import NotFound
from rarpa.read.history import history
from tests.conftest import observation

# Later than the world fixture's (real-time) set-up, so the stream's clock only moves forward.
T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)


def at(hours):
    moment = T0 + timedelta(hours=hours)
    return clock(lambda: moment)


def test_a_later_correction_does_not_change_what_the_record_said(app, world, system):
    amy, t1 = world["learners"]["amy"], world["amy"]["target"]
    first = observation(t1, "secure", observed_at=T0)
    with at(1):
        app.record_observation(system, amy, **first)
    with at(30):  # a day later: put right
        app.correct_observation(system, amy, observation_id=first["observation_id"], rating="developing",
                                reason="Checked the diary", now=T0 + timedelta(hours=30))
    # An observation made offline before the instant, but recorded after it.
    with at(40):
        app.record_observation(system, amy, **observation(t1, "generalised", observed_at=T0 + timedelta(hours=2)))

    then = history(app, system, amy, T0 + timedelta(hours=5))
    kinds = [e["type"] for e in then["events"]]
    assert "ObservationCorrected" not in kinds and kinds.count("ObservationRecorded") == 1
    assert all(e["recorded_at"] <= then["as_at"] for e in then["events"])
    (target,) = then["progress"]["targets"]
    assert (target["latest"], target["distance"], target["observations"]) == ("secure", 2, 1)

    now = history(app, system, amy, T0 + timedelta(hours=50))
    (target,) = now["progress"]["targets"]
    # The offline observation (made at +2h) is the latest that happened.
    assert (target["latest"], target["observations"]) == ("generalised", 2)
    assert now["fingerprint"] != then["fingerprint"] and len(then["fingerprint"]) == 64


def test_history_before_the_learner_existed_is_not_found(app, world, system):
    with pytest.raises(NotFound):
        history(app, system, world["learners"]["amy"], datetime(2000, 1, 1, tzinfo=timezone.utc))


def test_history_respects_access(app, world):
    with pytest.raises(NotFound):
        history(app, world["actors"]["other_tutor"], world["learners"]["amy"])
    assert history(app, world["actors"]["tutor"], world["learners"]["amy"])["events"]

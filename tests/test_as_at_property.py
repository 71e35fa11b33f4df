"""The record as at any instant, checked against what the record actually
said at the time (issue 11). For random histories (observations, late
offline ones, corrections, withdrawals, revisions, self-assessments, at
random intervals) the live read model's progress is written down after each
step; later, the as-at view at any instant T must equal what was written down
at the last step recorded up to T, and changes(T1, T2) must be exactly the
steps recorded after T1 and up to T2."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from events.base import clock
from rarpa.read import queries
from rarpa.record import RuleBroken
from rarpa.read.history import history
from rarpa.read.timeline import changes
from tests.conftest import observation

# Each example's history starts on a day of its own, after anything already recorded.
START = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
_days = itertools.count()

RATINGS = st.sampled_from(["not_yet", "emerging", "developing", "secure", "generalised"])
STEP = st.one_of(
    st.tuples(st.just("observe"), RATINGS, st.integers(0, 600)),  # minutes before it is recorded it happened
    st.tuples(st.just("correct"), RATINGS, st.integers(0, 50)),
    st.tuples(st.just("withdraw"), st.just(""), st.integers(0, 50)),
    st.tuples(st.just("revise"), st.just(""), st.integers(0, 0)),
    st.tuples(st.just("self"), st.sampled_from(["not_yet", "with_help", "on_my_own"]), st.integers(0, 0)),
)
EVENT_OF = {"observe": "ObservationRecorded", "correct": "ObservationCorrected",
            "withdraw": "ObservationWithdrawn", "revise": "TargetRevised", "self": "SelfAssessmentRecorded"}


def _apply(app, system, lid, target, step, when, live: list[str]) -> str | None:
    """Run one step at ``when``; the event type it wrote (None if it could not apply)."""
    kind, value, n = step
    if kind == "observe":
        body = observation(target, value, observed_at=when - timedelta(minutes=n))
        app.record_observation(system, lid, now=when, **body)
        live.append(body["observation_id"])
    elif kind in ("correct", "withdraw"):
        if not live:
            return None
        oid = live[n % len(live)]
        if kind == "correct":
            try:
                app.correct_observation(system, lid, observation_id=oid, rating=value, reason="Checked", now=when)
            except RuleBroken:  # the same rating as recorded: nothing to correct, nothing written
                return None
        else:
            app.withdraw_observation(system, lid, observation_id=oid, reason="Wrong learner")
            live.remove(oid)
    elif kind == "revise":
        app.revise_target(system, lid, target_id=target, kind="revised", text=f"Revised at {when:%H:%M}",
                          reason="Ready for more")
    else:
        app.record_self_assessment(system, lid, target_id=target, answer=value, assessed_at=when, now=when)
    return EVENT_OF[kind]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(STEP, st.integers(1, 600)), min_size=1, max_size=10), data=st.data())
def test_as_at_equals_what_the_record_said_then_and_changes_are_exactly_the_steps_between(
        app, projector, world, system, steps, data):
    base = START + timedelta(days=next(_days))
    with clock(lambda: base):
        lid = app.enrol_learner(system, name="Dee Example", date_of_birth="2007-01-01", provider="northfield").result
        outcome = app.record_outcome(system, lid, text="Travel alone", pfa_area="independent_living",
                                     due="2027-07-01").result
        target = app.set_target(system, lid, text="Buy a ticket", success_criteria="Alone", outcome_ids=[outcome],
                                baseline="emerging", review_by="2027-01-15").result
    projector.catch_up()
    said = [(base, queries.progress(projector.reader(), lid))]  # (recorded at, progress as the record said)
    written: list[tuple[datetime, str]] = []
    live: list[str] = []
    when = base
    for step, gap in steps:
        when = when + timedelta(minutes=gap)
        with clock(lambda moment=when: moment):
            kind = _apply(app, system, lid, target, step, when, live)
        if kind is None:
            continue
        projector.catch_up()
        said.append((when, queries.progress(projector.reader(), lid)))
        written.append((when, kind))

    # Any instant from the set-up to after the last step.
    span = int((when - base).total_seconds()) + 60
    for _ in range(3):
        moment = base + timedelta(seconds=data.draw(st.integers(0, span)))
        expected = [progress for recorded, progress in said if recorded <= moment][-1]
        assert history(app, system, lid, moment)["progress"] == expected, moment

    t1 = base + timedelta(seconds=data.draw(st.integers(0, span)))
    t2 = t1 + timedelta(seconds=data.draw(st.integers(0, span)))
    found = changes(app, projector.reader(), system, lid, t1, t2)
    assert [c["type"] for c in found] == [kind for recorded, kind in written if t1 < recorded <= t2]

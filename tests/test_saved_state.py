"""A write keeps the learner it saved as the cached learner, and takes the
snapshot due from it, rather than reading back and replaying what it wrote
(issue 14: the write path's CPU). Both rest on one claim, tested here: the
learner a command leaves is the learner a replay of its stored events gives,
value for value and type for type."""

from __future__ import annotations

import uuid

from rarpa.cli.demo import demo_learner_id, load_demo
from rarpa.record import Learner
from rarpa.service.application import RecordApplication
from rarpa.service.cache import replay
from tests.saved_state import _replayed, _state, _typed
from tests.conftest import observation


def test_the_learner_a_write_leaves_is_the_replayed_learner(app, monkeypatch):
    """Every learner of the demo, each built by a year of commands in memory
    and saved, equals the learner replayed from what was stored."""
    in_hand: dict = {}
    save = app.save

    def keeping(*aggregates, **kwargs):
        recordings = save(*aggregates, **kwargs)
        in_hand.update({a.id: a for a in aggregates if isinstance(a, Learner)})
        return recordings

    monkeypatch.setattr(app, "save", keeping)
    load_demo(app, echo=lambda *_: None)
    kinds = set()
    for i in range(14):
        lid = demo_learner_id(i)
        stored = list(app.events.get(lid))
        kinds |= {type(e).__name__ for e in stored}
        held = in_hand[lid]
        assert held.version == len(stored)
        assert _typed(_state(held)) == _typed(_state(_replayed(app, lid))), i
        cached = app.cached_aggregate(lid)  # saved through the service's commands
        if cached is not None:
            assert _typed(_state(cached)) == _typed(_state(_replayed(app, lid))), i
    # The demo's history covers the record's everyday events.
    assert {"LearnerEnrolled", "ObservationRecorded", "TargetSet", "ProgressReviewHeld"} <= kinds, sorted(kinds)
    assert len(kinds) >= 15, sorted(kinds)


def test_a_snapshot_taken_from_the_saved_learner_equals_one_from_a_replay(app, world, system):
    lid, tid = world["learners"]["amy"], world["amy"]["target"]
    for i in range(230):  # two snapshots: at 100 and 200
        app.record_observation(system, lid, **observation(tid, minutes_ago=300 - i, note=f"try {i}"))
    stored = list(app.snapshots.get(uuid.UUID(lid)))
    assert [s.originator_version for s in stored] == [100, 200]
    for snapshot in stored:
        from_replay = Learner.Snapshot.take(app.repository.get(uuid.UUID(lid), version=snapshot.originator_version,
                                                               projector_func=replay))
        assert _typed(snapshot.state) == _typed(from_replay.state)
    # And a fresh process (no cache) loads through the snapshot to the same learner.
    fresh = RecordApplication(app.settings)
    try:
        assert _typed(_state(fresh.repository.get(uuid.UUID(lid)))) == _typed(_state(app.cached_aggregate(uuid.UUID(lid))))
    finally:
        fresh.close()


def test_the_next_write_does_not_read_back_the_last(app, world, system):
    """The cached learner after a write is the one saved: its version is the
    stream's, with no read of the store needed to get there."""
    lid, tid = world["learners"]["amy"], world["amy"]["target"]
    app.record_observation(system, lid, **observation(tid))
    before = app.cached_aggregate(uuid.UUID(lid))
    app.record_observation(system, lid, **observation(tid))
    after = app.cached_aggregate(uuid.UUID(lid))
    assert after is not before and after.version == before.version + 1
    assert before.version + 1 == len(list(app.events.get(uuid.UUID(lid))))
    # What was cached before stays as it was (a copy was changed, not it).
    assert len(after.observations) == len(before.observations) + 1


# --- the first try on the cached learner, as another process sees it ---------------------------
def _other_process(app):
    """A second application on the same store, as another `rarpa serve` would be."""
    return RecordApplication(app.settings)


def test_a_write_on_a_stale_cache_is_decided_on_the_fresh_learner(app, world, system):
    lid, tid = world["learners"]["amy"], world["amy"]["target"]
    app.record_observation(system, lid, **observation(tid))  # amy is cached here
    other = _other_process(app)
    try:
        outcome = other.record_outcome(system, lid, text="Cook a meal", pfa_area="independent_living",
                                       due="2027-07-01").result
        new_target = other.set_target(system, lid, text="Chop safely", success_criteria="Both hands",
                                      outcome_ids=[outcome], baseline="emerging", review_by="2027-01-15").result
        same = observation(tid)
        other.record_observation(system, lid, **same)
    finally:
        other.close()
    # The cached copy has no such target: the write is decided again on the fresh learner.
    written = app.record_observation(system, lid, **observation(new_target))
    assert written.created and written.position is not None
    # The same observation sent again here, first stored by the other process: stored once.
    again = app.record_observation(system, lid, **same)
    assert again.created is False
    stored = [e for e in app.events.get(uuid.UUID(lid)) if type(e).__name__ == "ObservationRecorded"]
    assert [e.observation_id for e in stored].count(same["observation_id"]) == 1
    assert app.cached_aggregate(uuid.UUID(lid)).version == len(list(app.events.get(uuid.UUID(lid))))


def test_a_learner_erased_by_another_process_is_not_written_to_from_a_stale_cache(app, world, system):
    from rarpa.service.written import Erased
    import pytest

    lid, tid = world["learners"]["amy"], world["amy"]["target"]
    app.record_observation(system, lid, **observation(tid))
    other = _other_process(app)
    try:
        other.erase_learner(system, lid, "Requested by the learner at 18")
    finally:
        other.close()
    before = app.recorder.max_notification_id()
    with pytest.raises(Erased):
        app.record_observation(system, lid, **observation(tid))
    assert app.recorder.max_notification_id() == before

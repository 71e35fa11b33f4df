"""Unit tests of the domain model: commands raise the events they name and
refuse what would break the record's rules."""

from datetime import datetime, timedelta, timezone

import pytest

from events import learner as ev
from rarpa.record import Learner, RuleBroken, User

STAMP = {"recorded_by": "u1", "role": "send_lead", "provider": "northfield"}
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def enrolled():
    learner = Learner.enrol(stamp=STAMP, name="Amy Jones", date_of_birth="2007-03-01", lead_provider="northfield")
    oid = learner.record_outcome(stamp=STAMP, text="Travel alone", pfa_area="independent_living", due="2027-07-01")
    tid = learner.set_target(stamp=STAMP, text="Buy a ticket", success_criteria="No help", outcome_ids=[oid],
                             baseline="emerging", review_by="2027-01-01")
    return learner, oid, tid


def types(learner):
    return [type(e).__name__ for e in learner.collect_events()]


def test_enrol_and_set_target_raise_named_events():
    learner, oid, tid = enrolled()
    assert types(learner) == ["LearnerEnrolled", "EHCPOutcomeRecorded", "TargetSet", "BaselineRecorded"]
    assert learner.preferred_name == "Amy"
    assert learner.targets[tid].baseline == "emerging"
    assert learner.targets[tid].outcome_ids == (oid,)


@pytest.mark.parametrize("dob, message", [("2099-01-01", "past"), ("1850-01-01", "too long"), ("31/01/2007", "YYYY")])
def test_enrolment_refuses_bad_dates_of_birth(dob, message):
    with pytest.raises(RuleBroken) as e:
        Learner.enrol(stamp=STAMP, name="A B", date_of_birth=dob, lead_provider="northfield")
    assert e.value.field == "date_of_birth" and message in e.value.message


def test_target_must_serve_an_outcome_of_this_learner():
    learner, oid, _ = enrolled()
    with pytest.raises(RuleBroken) as e:
        learner.set_target(stamp=STAMP, text="x", success_criteria="y", outcome_ids=[],
                           baseline="emerging", review_by="2027-01-01")
    assert e.value.field == "outcome_ids"
    with pytest.raises(RuleBroken) as e:
        learner.set_target(stamp=STAMP, text="x", success_criteria="y", outcome_ids=[oid, "nope"],
                           baseline="emerging", review_by="2027-01-01")
    assert e.value.field == "outcome_ids.1"


def test_observation_is_idempotent_on_its_id_and_conflicts_on_a_different_body():
    learner, _, tid = enrolled()
    body = dict(observation_id="0b7c5c8e-1c4f-4d0e-9a51-0d5f8e3b7a11", target_id=tid, rating="secure",
                observed_at=NOW - timedelta(hours=1), context="classroom", note="Bought it")
    assert learner.record_observation(stamp=STAMP, now=NOW, **body) is True
    assert learner.record_observation(stamp=STAMP, now=NOW, **body) is False
    assert types(learner).count("ObservationRecorded") == 1
    with pytest.raises(RuleBroken) as e:
        learner.record_observation(stamp=STAMP, now=NOW, **{**body, "rating": "emerging"})
    assert e.value.status == 409 and e.value.field == "id"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"rating": "great"}, "rating"),
        ({"prompt_level": "shouted"}, "prompt_level"),
        ({"context": "moon"}, "context"),
        ({"observed_at": NOW + timedelta(hours=2)}, "observed_at"),
        ({"observed_at": datetime(2026, 11, 1, 10, 0)}, "observed_at"),  # no timezone
        ({"target_id": "not-a-target"}, "target_id"),
    ],
)
def test_observation_rules(change, field):
    learner, _, tid = enrolled()
    body = dict(observation_id="5d1d3a52-26d6-4a55-8a3c-9e8f3f1d2c10", target_id=tid, rating="secure",
                observed_at=NOW - timedelta(hours=1))
    body.update(change)
    with pytest.raises(RuleBroken) as e:
        learner.record_observation(stamp=STAMP, now=NOW, **body)
    assert e.value.field == field


def test_a_small_clock_drift_is_not_the_future():
    learner, _, tid = enrolled()
    assert learner.record_observation(stamp=STAMP, now=NOW, observation_id="a3f1c2d4-0000-4000-8000-000000000001",
                                      target_id=tid, rating="secure", observed_at=NOW + timedelta(minutes=3))


def test_correction_keeps_unchanged_values_and_withdrawal_is_final():
    learner, _, tid = enrolled()
    oid = "7e9d2c1b-3a4f-4b5c-8d6e-0f1a2b3c4d5e"
    learner.record_observation(stamp=STAMP, now=NOW, observation_id=oid, target_id=tid, rating="secure",
                               prompt_level="verbal", context="community", note="On the 42 bus",
                               observed_at=NOW - timedelta(days=1))
    learner.correct_observation(stamp=STAMP, now=NOW, observation_id=oid, reason="Wrong button", rating="developing")
    corrected = [e for e in learner.collect_events() if isinstance(e, ev.ObservationCorrected)][0]
    assert (corrected.rating, corrected.prompt_level, corrected.context, corrected.note) == (
        "developing", "verbal", "community", "On the 42 bus")
    with pytest.raises(RuleBroken) as e:
        learner.correct_observation(stamp=STAMP, observation_id=oid, reason="", rating="secure")
    assert e.value.field == "reason"
    learner.withdraw_observation(stamp=STAMP, observation_id=oid, reason="Wrong learner")
    with pytest.raises(RuleBroken) as e:
        learner.withdraw_observation(stamp=STAMP, observation_id=oid, reason="again")
    assert e.value.status == 409


def test_closed_targets_take_no_more_evidence_or_revisions():
    learner, _, tid = enrolled()
    learner.close_target(stamp=STAMP, target_id=tid, closed_as="achieved", reason="Met the criteria")
    with pytest.raises(RuleBroken) as e:
        learner.record_observation(stamp=STAMP, now=NOW, observation_id="1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5",
                                   target_id=tid, rating="secure", observed_at=NOW)
    assert e.value.status == 409
    with pytest.raises(RuleBroken):
        learner.revise_target(stamp=STAMP, target_id=tid, kind="revised", reason="x", text="y")


def test_review_records_decisions_as_their_own_events():
    learner, oid, tid = enrolled()
    tid2 = learner.set_target(stamp=STAMP, text="Plan a route", success_criteria="Alone", outcome_ids=[oid],
                              baseline="not_yet", review_by="2027-01-01")
    learner.collect_events()
    learner.hold_progress_review(
        stamp=STAMP, held_on="2026-11-20", attendees=["Amy", "Mum"], learner_views="I like the bus",
        decisions=[{"target_id": tid, "decision": "close", "closed_as": "achieved", "reason": "Done"},
                   {"target_id": tid2, "decision": "revise", "text": "Plan a new route", "reason": "Next step"}],
    )
    assert types(learner) == ["ProgressReviewHeld", "TargetClosed", "TargetRevised"]
    assert learner.targets[tid].status == "closed"
    assert learner.targets[tid2].text == "Plan a new route"


def test_review_refuses_a_revision_without_a_reason_and_writes_nothing():
    learner, _, tid = enrolled()
    learner.collect_events()
    with pytest.raises(RuleBroken) as e:
        learner.hold_progress_review(stamp=STAMP, held_on="2026-11-20", attendees=["Amy"], learner_views="",
                                     decisions=[{"target_id": tid, "decision": "revise", "text": "New"}])
    assert e.value.field == "decisions.0.reason"
    assert learner.collect_events() == []


def test_dual_placement_moves_the_lead():
    learner, _, _ = enrolled()
    learner.join_provider(stamp=STAMP, provider="riverside", lead=False, reason="Two days a week")
    assert learner.providers == {"northfield": True, "riverside": False}
    learner.join_provider(stamp=STAMP, provider="riverside", lead=True, reason="Moved most days")
    assert learner.lead_provider == "riverside" and learner.providers["northfield"] is False


def test_user_roles_and_caseload():
    with pytest.raises(RuleBroken) as e:
        User.register(stamp=STAMP, email="t@example.org", display_name="T", role="tutor", provider=None,
                      password_hash="x")
    assert e.value.field == "provider"
    user = User.register(stamp=STAMP, email="T@Example.org ", display_name="", role="tutor",
                         provider="northfield", password_hash="x")
    assert user.email == "t@example.org"
    assert user.add_to_caseload(stamp=STAMP, learner_id="L1") is True
    assert user.add_to_caseload(stamp=STAMP, learner_id="L1") is False


def test_a_copied_learner_is_independent_of_the_original():
    """The repository hands commands a copy of the cached learner: changing
    the copy must never change the cache."""
    import copy

    learner, oid, tid = enrolled()
    obs = "9c8b7a65-4321-4fed-8cba-987654321000"
    learner.record_observation(stamp=STAMP, now=NOW, observation_id=obs, target_id=tid, rating="secure",
                               observed_at=NOW - timedelta(hours=1))
    learner.collect_events()
    clone = copy.deepcopy(learner)
    clone.withdraw_observation(stamp=STAMP, observation_id=obs, reason="undo")
    clone.revise_target(stamp=STAMP, target_id=tid, kind="revised", reason="why", text="New words")
    clone.record_outcome(stamp=STAMP, text="Another", pfa_area="health", due="2027-07-01")
    assert learner.observation(obs).withdrawn is False
    assert learner.targets[tid].text == "Buy a ticket"
    assert list(learner.outcomes) == [oid]
    assert learner.pending_events == [] and len(clone.pending_events) == 3


def test_a_copy_shares_the_records_it_has_not_changed():
    """Records are replaced, never changed in place: the cache's copies stay cheap."""
    import copy

    learner, _, tid = enrolled()
    clone = copy.deepcopy(learner)
    assert clone.targets is not learner.targets and clone.targets[tid] is learner.targets[tid]
    clone.close_target(stamp=STAMP, target_id=tid, closed_as="achieved", reason="Met the criteria")
    assert (learner.targets[tid].status, clone.targets[tid].status) == ("open", "closed")


def test_an_event_without_a_handler_is_named_and_a_second_handler_is_refused():
    from events import staff as st
    from rarpa.record.dispatch import applies

    learner, _, _ = enrolled()
    stray = st.PasswordChanged(originator_id=learner.id, originator_version=learner.version + 1, timestamp=NOW,
                               password_hash="x", reason="x", **STAMP)
    with pytest.raises(NotImplementedError, match="Learner has no handler for PasswordChanged"):
        learner.when(stray)

    class Twice:
        @applies(ev.ConsentRecorded)
        def _again(self, e):
            pass

    with pytest.raises(TypeError, match="two handlers for ConsentRecorded"):
        type("Doubled", (Twice, Learner), {})


def _full_record():
    """A learner with one of everything a snapshot holds."""
    learner, oid, tid = enrolled()
    learner.agree_aim(stamp=STAMP, text="Independence", outcome_ids=[oid])
    tid2 = learner.set_target(stamp=STAMP, text="Plan a route", success_criteria="Alone", outcome_ids=[oid],
                              baseline="not_yet", review_by="2027-01-01")
    for n, rating in enumerate(("developing", "secure")):
        learner.record_observation(stamp=STAMP, now=NOW, observation_id=f"00000000-0000-4000-8000-00000000000{n}",
                                   target_id=tid, rating=rating, prompt_level="verbal", context="community",
                                   note="On the bus", observed_at=NOW - timedelta(days=2 - n))
    learner.correct_observation(stamp=STAMP, now=NOW, observation_id="00000000-0000-4000-8000-000000000000",
                                reason="Wrong button", rating="generalised")
    learner.withdraw_observation(stamp=STAMP, observation_id="00000000-0000-4000-8000-000000000001",
                                 reason="Wrong learner")
    learner.revise_target(stamp=STAMP, target_id=tid2, kind="revised", reason="Next step", text="Plan a new route")
    learner.close_target(stamp=STAMP, target_id=tid, closed_as="partly_achieved", reason="Moved on")
    did = learner.record_destination(stamp=STAMP, kind="employment", detail="Cafe", starts_on="2020-01-06")
    learner.confirm_destination_sustained(stamp=STAMP, destination_id=did, confirmed_on="2020-08-01")
    learner.record_destination(stamp=STAMP, kind="further_learning", detail="", starts_on="2021-09-01")
    learner.record_consent(stamp=STAMP, consent="photographs", given=False, reason="")
    learner.collect_events()
    return learner


def _mapper():
    from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

    from rarpa.record import records

    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    records.register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def test_a_snapshot_stores_the_typed_records_and_gives_back_the_same_learner():
    learner = _full_record()
    mapper = _mapper()
    stored = mapper.to_stored_event(Learner.Snapshot.take(learner))
    assert b'"_type_":"rarpa.record.Observation"' in stored.state
    restored = mapper.to_domain_event(stored).mutate(None)
    assert restored.__dict__ == learner.__dict__
    assert restored.targets == learner.targets and type(next(iter(restored.aims.values())).outcome_ids) is tuple


def test_a_snapshot_of_version_1_is_upcast_to_the_typed_records():
    """Snapshots written before the records were typed held dicts and lists
    (tests/stores/ holds real ones; this one has destinations too)."""
    from dataclasses import asdict

    learner = _full_record()
    mapper = _mapper()
    snapshot = Learner.Snapshot.take(learner)
    state = dict(snapshot.state)
    del state["class_version"]
    for held in ("outcomes", "aims", "targets"):
        state[held] = {k: {f: list(v) if isinstance(v, tuple) else v for f, v in asdict(r).items()}
                       for k, r in state[held].items()}
    state["observations"] = {k: list(asdict(o).values()) for k, o in state["observations"].items()}
    state["destinations"] = {k: {"kind": d.kind, "starts_on": d.starts_on, "follow_up_on": d.follow_up_on,
                                 "sustained_on": d.sustained_on} for k, d in state["destinations"].items()}
    old = Learner.Snapshot(originator_id=snapshot.originator_id, originator_version=snapshot.originator_version,
                           timestamp=snapshot.timestamp, topic="rarpa.domain:Learner", state=state)
    restored = mapper.to_domain_event(mapper.to_stored_event(old)).mutate(None)
    assert restored.__dict__ == learner.__dict__


def test_erasure_keeps_the_anonymous_shape_measured_as_the_read_model_does():
    learner = _full_record()
    learner.erase(stamp=STAMP, reason="Request")
    (erased,) = learner.collect_events()
    assert erased.summary == {
        "providers": {"northfield": True},
        "outcomes": [{"pfa_area": "independent_living"}],
        "targets": [{"status": "closed", "closed_as": "partly_achieved", "distance": 3, "outcomes": [0]},
                    {"status": "open", "closed_as": None, "distance": 0, "outcomes": [0]}],
        "destinations": [{"kind": "employment", "sustained": True}, {"kind": "further_learning", "sustained": False}],
    }
    assert learner.erased and learner.observations == {} and learner.targets == {}

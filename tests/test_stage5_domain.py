"""Stage 5 and consents in the record and the read model: the summative
judgement of an EHCP outcome (OutcomeSummativeRecorded), consents with who
and when, and the read-model tables they are projected into."""

import uuid
from datetime import datetime, timedelta

import pytest

import events
from events import learner as ev
from events.base import now as clock_now
from events.schemas import SCHEMAS
from events.vocabulary import CONSENTS, OUTCOME_JUDGEMENTS, PACK_WORDS, WORDS
from rarpa.read import queries
from rarpa.read.projections import ProgressProjection
from rarpa.record import Learner, RuleBroken
from tests.test_domain import STAMP, enrolled, types


# --- the command ---------------------------------------------------------------------------
def test_an_outcome_summative_raises_its_event_with_what_was_judged():
    learner, oid, _ = enrolled()
    learner.collect_events()
    learner.record_outcome_summative(stamp=STAMP, outcome_id=oid, judgement="partly_achieved",
                                     summary="  Travels with a buddy, not yet alone. ", assessed_on="2026-07-03")
    (event,) = learner.collect_events()
    assert isinstance(event, ev.OutcomeSummativeRecorded)
    assert (event.outcome_id, event.judgement, event.summary, event.assessed_on) == (
        oid, "partly_achieved", "Travels with a buddy, not yet alone.", "2026-07-03")
    assert (event.recorded_by, event.role, event.provider) == ("u1", "send_lead", "northfield")


@pytest.mark.parametrize("change, field, message", [
    ({"outcome_id": "0b7c5c8e-1c4f-4d0e-9a51-0d5f8e3b7a11"}, "outcome_id", "no such EHCP outcome"),
    ({"judgement": "continue"}, "judgement", "must be one of: achieved, partly_achieved, not_achieved"),
    ({"judgement": "withdrawn"}, "judgement", "must be one of"),
    ({"summary": "   "}, "summary", "A summary is required"),
    ({"assessed_on": "3/7/2026"}, "assessed_on", "YYYY-MM-DD"),
    ({"assessed_on": "2999-01-01"}, "assessed_on", "too far ahead"),
])
def test_an_outcome_summative_refuses_what_breaks_a_rule_and_raises_nothing(change, field, message):
    learner, oid, _ = enrolled()
    learner.collect_events()
    body = {"outcome_id": oid, "judgement": "achieved", "summary": "Travels alone", "assessed_on": "2026-07-03",
            **change}
    with pytest.raises(RuleBroken) as e:
        learner.record_outcome_summative(stamp=STAMP, **body)
    assert e.value.field == field and message in e.value.message
    assert learner.collect_events() == []


def test_an_outcome_summative_cannot_be_dated_in_the_future():
    learner, oid, _ = enrolled()
    tomorrow = (clock_now().date() + timedelta(days=1)).isoformat()
    with pytest.raises(RuleBroken) as e:
        learner.record_outcome_summative(stamp=STAMP, outcome_id=oid, judgement="achieved", summary="Done",
                                         assessed_on=tomorrow)
    assert (e.value.field, e.value.message) == ("assessed_on", "cannot be in the future")


def test_an_outcome_may_be_judged_again_and_both_stay():
    learner, oid, _ = enrolled()
    for judgement in ("not_achieved", "achieved"):
        learner.record_outcome_summative(stamp=STAMP, outcome_id=oid, judgement=judgement, summary="x",
                                         assessed_on="2026-07-03")
    assert types(learner).count("OutcomeSummativeRecorded") == 2


def test_the_event_is_in_the_catalogue_with_a_schema_that_checks_its_judgement():
    learner, oid, _ = enrolled()
    learner.record_outcome_summative(stamp=STAMP, outcome_id=oid, judgement="achieved", summary="Done",
                                     assessed_on="2026-07-03")
    event = learner.collect_events()[-1]
    schema = SCHEMAS[ev.OutcomeSummativeRecorded]()
    assert schema.validate(events.payload(event)) == {}
    assert "judgement" in schema.validate({**events.payload(event), "judgement": "continue"})
    assert ev.OutcomeSummativeRecorded in ev.LEARNER_EVENTS
    row = next(r for r in events.catalogue() if r["type"] == "OutcomeSummativeRecorded")
    assert row["topic"] == "events.learner:OutcomeSummativeRecorded" and row["personal"] is True


# --- consents --------------------------------------------------------------------------------
def test_consent_to_sharing_with_family_can_be_recorded_and_an_unknown_consent_cannot():
    learner, _, _ = enrolled()
    learner.record_consent(stamp=STAMP, consent="sharing_with_family", given=True, reason="Amy said yes")
    assert learner.consents == {"sharing_with_family": True}
    with pytest.raises(RuleBroken) as e:
        learner.record_consent(stamp=STAMP, consent="sharing_with_everyone", given=True, reason="")
    assert e.value.field == "consent"


def test_every_consent_and_judgement_has_words_and_old_codes_are_kept():
    # Values are only ever added: events written earlier keep their codes.
    assert CONSENTS[:2] == ("photographs", "sharing_with_partners") and "sharing_with_family" in CONSENTS
    assert set(WORDS["consents"]) == set(CONSENTS)
    assert set(WORDS["outcome_judgements"]) == set(PACK_WORDS["outcome_judgements"]) == set(OUTCOME_JUDGEMENTS)


# --- the read model ----------------------------------------------------------------------------
def test_each_event_is_applied_by_one_part_of_the_projection_only():
    """ProgressProjection keeps one applier per event type: a second part
    applying the same event would silently replace the first."""
    seen: dict[type, str] = {}
    for stage in ProgressProjection.STAGES:
        for event_type in stage.APPLIES:
            assert event_type not in seen, (event_type.__name__, seen.get(event_type), stage.__name__)
            seen[event_type] = stage.__name__
    assert seen[ev.OutcomeSummativeRecorded] == seen[ev.ConsentRecorded] == "Ending"


def test_consents_keep_the_current_answer_with_who_and_when_and_every_answer(app, projector, world, system):
    amy = world["learners"]["amy"]
    lead = world["actors"]["send_lead"]
    app.record_consent(system, amy, consent="photographs", given=True, reason="Signed form")
    app.record_consent(lead, amy, consent="photographs", given=False, reason="Amy changed her mind")
    app.record_consent(lead, amy, consent="sharing_with_family", given=True, reason="")
    projector.catch_up()
    conn = projector.reader()
    current = {c["consent"]: c for c in queries.consents(conn, amy)}
    assert list(current) == list(CONSENTS)  # every consent, in the vocabulary's order
    photos = current["photographs"]
    assert (photos["given"], photos["reason"], photos["recorded_by"], photos["role"]) == (
        False, "Amy changed her mind", lead.user_id, "send_lead")
    assert photos["by"] == "lead"  # the display name, for the page
    assert abs(datetime.fromisoformat(photos["recorded_at"]) - clock_now()) < timedelta(minutes=5)
    assert current["sharing_with_partners"]["given"] is None  # nobody asked yet
    assert current["sharing_with_family"]["given"] is True
    history = queries.consent_history(conn, amy)
    assert [(h["consent"], h["given"]) for h in history] == [
        ("sharing_with_family", True), ("photographs", False), ("photographs", True)]  # newest first
    # Ben's record is his own.
    assert all(c["given"] is None for c in queries.consents(conn, world["learners"]["ben"]))


def test_summatives_stand_by_the_last_recorded_and_as_at_a_day(app, projector, world, system):
    amy, oid, tid = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    app.record_summative_assessment(system, amy, target_id=tid, rating="secure", summary="Buys it alone",
                                    assessed_on="2026-07-01")
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="partly_achieved",
                                 summary="With a buddy", assessed_on="2026-07-01")
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="achieved",
                                 summary="Alone since June", assessed_on="2026-07-10")
    projector.catch_up()
    conn = projector.reader()
    judged = queries.summatives(conn, amy)
    assert judged["target"][tid]["judgement"] == "secure"
    assert (judged["outcome"][oid]["judgement"], judged["outcome"][oid]["summary"]) == ("achieved", "Alone since June")
    assert queries.summatives(conn, amy, until="2026-07-05")["outcome"][oid]["judgement"] == "partly_achieved"
    assert queries.summatives(conn, amy, until="2026-06-30") == {"target": {}, "outcome": {}}
    end = queries.end_of_programme(conn, amy)
    assert end["outcomes"][0]["judgement"]["judgement"] == "achieved"
    assert end["targets"][0]["judgement"]["summary"] == "Buys it alone"
    assert queries.summatives(conn, world["learners"]["ben"]) == {"target": {}, "outcome": {}}


def test_the_pack_gives_the_judgements_that_stood_when_its_period_ended(app, projector, world, system):
    from datetime import date

    from rarpa.read import annual_review

    amy, oid, tid = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    today = clock_now().date()
    app.record_summative_assessment(system, amy, target_id=tid, rating="secure", summary="Buys it alone",
                                    assessed_on=today.isoformat())
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="partly_achieved", summary="With a buddy",
                                 assessed_on=today.isoformat())
    projector.catch_up()
    conn = projector.reader()
    pack = annual_review.pack(app, conn, system, amy, start=today - timedelta(days=300), end=today)
    (outcome,) = pack["outcomes"]
    assert outcome["summative_judgement"] == {"judgement": "partly_achieved", "summary": "With a buddy",
                                              "assessed_on": today.isoformat()}
    assert outcome["targets"][0]["summative_judgement"] == {"judgement": "secure", "summary": "Buys it alone",
                                                            "assessed_on": today.isoformat()}
    earlier = annual_review.pack(app, conn, system, amy, start=today - timedelta(days=300),
                                 end=today - timedelta(days=1))
    assert earlier["outcomes"][0]["summative_judgement"] is None  # judged after that period
    assert isinstance(earlier["to"], str) and date.fromisoformat(earlier["to"]) < today


def test_erasure_leaves_no_judgement_or_consent_behind(app, projector, world, system):
    amy, oid = world["learners"]["amy"], world["amy"]["outcome"]
    app.record_consent(system, amy, consent="photographs", given=False, reason="Never photograph Amy")
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="achieved", summary="Travels alone",
                                 assessed_on="2026-07-01")
    projector.catch_up()
    app.erase_learner(system, amy, reason="Erasure request")
    projector.catch_up()
    conn = projector.reader()
    for table in ("summatives", "consents", "consent_history"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE learner_id=?", [amy]).fetchone()[0] == 0, table


def test_incremental_equals_rebuilt_with_judgements_and_consents(app, projector, world, system):
    amy, oid, tid = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    projector.catch_up()
    app.record_consent(system, amy, consent="photographs", given=True, reason="Signed")
    app.record_summative_assessment(system, amy, target_id=tid, rating="developing", summary="Nearly",
                                    assessed_on="2026-07-01")
    projector.catch_up()  # some applied now, the rest in a later batch
    app.record_consent(system, amy, consent="photographs", given=False, reason="Withdrawn")
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="not_achieved", summary="Not yet",
                                 assessed_on="2026-07-01")
    projector.catch_up()
    live = projector.dump()
    assert len(live["summatives"]) == 2 and len(live["consent_history"]) == 2 and len(live["consents"]) == 1
    projector.rebuild()
    assert projector.dump() == live


def test_learner_replays_the_new_event_from_its_stream(app, world, system):
    """A learner whose stream holds the new event loads (its handler is the no-op
    one beside the command): the next command still works."""
    amy, oid = world["learners"]["amy"], world["amy"]["outcome"]
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="achieved", summary="x",
                                 assessed_on="2026-07-01")
    app.cache.evict(uuid.UUID(amy))
    learner = app.learner(system, amy)
    assert isinstance(learner, Learner) and oid in learner.outcomes
    assert [type(e).__name__ for e in app.learner_events(system, amy)][-1] == "OutcomeSummativeRecorded"

"""The record as at an instant from kept checkpoints (rarpa/read/as_at_memo.py)
is exactly the record replayed from the learner's first event, as
rarpa/read/history.py did before: the same events (every event before the
first one recorded after the instant), the same export JSON, the same
progress, the same fingerprint and the same read-model rows, row for row, at
every instant around every event; whatever the memo held before; and what it
keeps is dropped on erasure and never trusted over the store."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from itertools import takewhile

import pytest

import events
from events.base import clock
from rarpa.read import annual_review, as_at_memo, history as history_mod, timeline
from rarpa.read.history import events_as_at, history, progress_from, record_as_at, replay
from rarpa.read.tables import TABLES
from rarpa.service.access import NotFound
from rarpa.service.written import Erased
from tests.conftest import observation
from tests.test_photos import noise_jpeg

T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
TINY = timedelta(microseconds=1)


def dump(conn) -> dict[str, list[tuple]]:
    """Every row of every table, by primary key (as Projector.dump compares read models)."""
    out = {}
    for name, (_, pk) in TABLES.items():
        order = ", ".join(pk) if isinstance(pk, tuple) else pk
        out[name] = [tuple(r) for r in conn.execute(f"SELECT * FROM [{name}] ORDER BY {order}")]
    return out


def reference(app, actor, lid, cutoff) -> list:
    """The events recorded up to ``cutoff`` as history.py chose them before:
    the whole stream, read and decoded, taken while recorded up to it."""
    return list(takewhile(lambda e: e.timestamp <= cutoff, app.learner_events(actor, lid)))


def names(live):
    providers = [(r[0], r[1]) for r in live.execute("SELECT slug, name FROM providers")]
    users = [dict(zip(history_mod.USER_COLUMNS, r))
             for r in live.execute(f"SELECT {', '.join(history_mod.USER_COLUMNS)} FROM users")]
    return providers, users


def assert_same_as_full_replay(app, live, actor, lid, cutoff) -> int:
    """The fast views at ``cutoff`` against the full replay; how many events were kept."""
    kept = reference(app, actor, lid, cutoff)
    if not kept:
        for view in (lambda: history(app, actor, lid, cutoff), lambda: events_as_at(app, actor, lid, cutoff),
                     lambda: record_as_at(app, live, actor, lid, cutoff)):
            with pytest.raises(NotFound):
                view()
        return 0
    then = history(app, actor, lid, cutoff)
    assert then["learner_id"] == str(kept[0].originator_id)
    assert then["events"] == [events.to_json(e) for e in kept], cutoff
    assert then["progress"] == progress_from(kept), cutoff
    assert then["fingerprint"] == app.fingerprint(kept[-1].originator_id, kept[-1].originator_version)
    assert [vars(e) for e in events_as_at(app, actor, lid, cutoff)] == [vars(e) for e in kept]
    providers, users = names(live)
    conn, with_events = record_as_at(app, live, actor, lid, cutoff)
    assert [e.originator_version for e in with_events] == [e.originator_version for e in kept]
    assert dump(conn) == dump(replay(kept, providers, users)), cutoff
    return len(kept)


@pytest.fixture
def rich(app, projector, world, system, monkeypatch):
    """Amy's record with a bit of everything an as-at view must get right,
    over several checkpoints (one every 4 events here): corrections, a
    withdrawal, revisions and a closed target, a self-assessment, a review,
    a photo chosen for the pack and then taken away, an observation made
    offline and sent late, two events recorded in the same instant, and one
    recorded after the clock went back a little."""
    monkeypatch.setattr(as_at_memo, "INTERVAL", 4)
    lid, target, outcome = world["learners"]["amy"], world["amy"]["target"], world["amy"]["outcome"]
    minutes = iter(range(10, 10_000, 10))

    def at(when=None):
        moment = when or T0 + timedelta(minutes=next(minutes))
        return moment, clock(lambda: moment)

    when, c = at()
    with c:
        app.record_consent(system, lid, consent="photographs", given=True, reason="Amy said yes")
    when, c = at()
    with c:
        second = app.set_target(system, lid, text="Pay for a coffee", success_criteria="With the right money",
                                outcome_ids=[outcome], baseline="not_yet", review_by="2027-02-01").result
    recorded = []
    for k, rating in enumerate(["emerging", "developing", "developing", "secure", "emerging", "secure"]):
        when, c = at()
        body = observation(target if k % 2 == 0 else second, rating, observed_at=when - timedelta(minutes=3))
        with c:
            app.record_observation(system, lid, now=when, **body)
        recorded.append(body["observation_id"])
    when, c = at()
    with c:
        app.correct_observation(system, lid, observation_id=recorded[1], rating="secure", reason="Checked", now=when)
    when, c = at()
    with c:
        app.withdraw_observation(system, lid, observation_id=recorded[2], reason="Wrong learner")
    when, c = at()
    with c:
        app.revise_target(system, lid, target_id=target, kind="revised", text="Buy a return ticket",
                          reason="Ready for more")
    when, c = at()
    with c:
        app.record_self_assessment(system, lid, target_id=second, answer="with_help", assessed_at=when, now=when)
    when, c = at()
    with c:
        photo = app.record_observation_with_photo(
            system, lid, photo=noise_jpeg(320, 240), now=when,
            **observation(target, "generalised", observed_at=when - timedelta(minutes=1))).result["photo_id"]
    when, c = at()
    with c:
        app.choose_photo_for_pack(system, lid, photo_id=photo, chosen=True)
    when, c = at()
    with c:
        app.remove_photo(system, lid, photo_id=photo, reason="Another learner is in it")
    same, c = at()
    with c:  # two events recorded in the same instant
        app.record_observation(system, lid, now=same, **observation(second, "developing", observed_at=same))
        app.record_observation(system, lid, now=same, **observation(target, "secure", observed_at=same))
    when, c = at()
    with c:  # made offline a day before, sent now
        app.record_observation(system, lid, now=when,
                               **observation(target, "emerging", observed_at=when - timedelta(days=1)))
    when, c = at()
    with c:
        app.hold_progress_review(system, lid, held_on=when.date(), attendees=["Amy", "Tutor"],
                                 learner_views="I can buy a ticket", decisions=[
                                     {"target_id": second, "decision": "revise", "text": "Pay by card",
                                      "reason": "Cash is rare now"}])
    back, c = at(when - timedelta(minutes=5))
    with c:  # the server's clock went back five minutes
        app.record_observation(system, lid, now=back, **observation(second, "secure", observed_at=back))
    when, c = at()
    with c:
        app.close_target(system, lid, target_id=second, closed_as="achieved", reason="Done")
    when, c = at()
    with c:
        app.correct_observation(system, lid, observation_id=recorded[0], reason="Note added", note="With a friend",
                                now=when)
    projector.catch_up()
    stream = app.learner_events(system, lid)
    assert len(stream) > 6 * as_at_memo.INTERVAL
    assert any(b.timestamp < a.timestamp for a, b in zip(stream, stream[1:]))  # the clock did go back
    return {"lid": lid, "stream": stream, "live": projector.reader()}


def instants(stream) -> list[datetime]:
    """Before the first event, at, just before and just after every event, after the last."""
    out = [stream[0].timestamp - timedelta(days=1), stream[0].timestamp - TINY, T0 + timedelta(days=400)]
    for e in stream:
        out += [e.timestamp - TINY, e.timestamp, e.timestamp + TINY]
    return out


def test_every_instant_from_the_memo_equals_a_full_replay_whatever_it_held(app, system, rich):
    lid, stream, live = rich["lid"], rich["stream"], rich["live"]
    moments = instants(stream)
    rng = random.Random(14)
    rng.shuffle(moments)
    kept_counts = set()
    for k, moment in enumerate(moments):
        if k % 17 == 0:  # now and then start again from nothing, as after a restart
            as_at_memo.forget(app, lid)
        kept_counts.add(assert_same_as_full_replay(app, live, system, lid, moment))
    # Nothing (before the first event), the whole stream, and every prefix an instant can
    # end: all but those whose next event was recorded no later than one of theirs (events
    # written together, two recorded in one instant, the one after the clock went back).
    stamps = [e.timestamp for e in stream]
    ends = {i for i in range(1, len(stream)) if max(stamps[:i]) < stamps[i]}
    assert kept_counts == {0, len(stream)} | ends and len(ends) > len(stream) * 2 // 3
    # No instant: now (the fixture's events are recorded days ahead, so only the first few).
    now = reference(app, system, lid, datetime.now(timezone.utc))
    assert history(app, system, lid)["events"] == [events.to_json(e) for e in now] and 0 < len(now) < len(stream)


def test_an_instant_between_events_recorded_out_of_order_keeps_only_what_came_before(app, system, rich):
    lid, stream = rich["lid"], rich["stream"]
    k = next(i for i in range(1, len(stream)) if stream[i].timestamp < stream[i - 1].timestamp)
    moment = stream[k].timestamp  # after event k, but before event k-1 (recorded just before it)
    kept = events_as_at(app, system, lid, moment)
    # Event k was recorded before the instant but after one that was not: as before, the
    # record as it stood then ends before the first event recorded after the instant.
    assert len(kept) < k and all(e.timestamp <= moment for e in kept)
    assert [e.originator_version for e in kept] == [e.originator_version for e in reference(app, system, lid, moment)]


def test_checkpoints_are_kept_and_used_and_answers_do_not_depend_on_them(app, system, rich):
    lid, stream, live = rich["lid"], rich["stream"], rich["live"]
    as_at_memo.forget(app, lid)
    last = stream[-1].timestamp + TINY
    assert_same_as_full_replay(app, live, system, lid, last)
    memo = as_at_memo.memos(app).get(uuid.UUID(lid))
    interval = as_at_memo.INTERVAL
    # Built on the way: a checkpoint at every multiple of the interval.
    assert set(memo.checkpoints) == set(range(0, len(stream), interval))
    # A view in the middle now starts from the checkpoint before it: spoil every later
    # checkpoint, and the answer is still right (they are not read) ...
    middle = stream[2 * interval + 1].timestamp
    for count in [c for c in memo.checkpoints if c > 2 * interval]:
        memo.checkpoints[count] = memo.checkpoints[0]
    memo.recent = None
    assert_same_as_full_replay(app, live, system, lid, middle)
    # ... while spoiling the one it starts from shows that it is the one used.
    memo.checkpoints[2 * interval] = memo.checkpoints[0]
    memo.recent = None
    try:
        spoiled = history(app, system, lid, middle)["progress"]
    except Exception:  # events applied to a read model that lacks what they change
        spoiled = None
    assert spoiled != progress_from(reference(app, system, lid, middle))


def test_the_default_interval_over_hundreds_of_events(app, projector, world, system):
    """The real spacing (as Learner snapshots): instants at and around the
    first and second checkpoints and after the last event."""
    lid, target = world["learners"]["amy"], world["amy"]["target"]
    last = None
    for k in range(2 * as_at_memo.INTERVAL + 30):
        moment = T0 + timedelta(minutes=k)
        with clock(lambda moment=moment: moment):
            if k % 25 == 24:
                app.correct_observation(system, lid, observation_id=last, rating="secure", reason="Checked", now=moment)
            else:
                body = observation(target, ["emerging", "developing"][k % 2], observed_at=moment)
                app.record_observation(system, lid, now=moment, **body)
                last = body["observation_id"]
    projector.catch_up()
    live, stream = projector.reader(), app.learner_events(system, lid)
    interval = as_at_memo.INTERVAL
    picks = [interval - 1, interval, interval + 1, 2 * interval - 1, 2 * interval, 2 * interval + 7, len(stream)]
    for count in picks:
        moment = stream[count - 1].timestamp
        assert assert_same_as_full_replay(app, live, system, lid, moment) == count
        assert assert_same_as_full_replay(app, live, system, lid, moment - TINY) == count - 1


def test_the_pack_and_the_timeline_as_at_an_instant_are_as_from_a_full_replay(app, system, rich, monkeypatch):
    lid, stream, live = rich["lid"], rich["stream"], rich["live"]
    moments = [stream[len(stream) // 2].timestamp, stream[-3].timestamp, stream[-1].timestamp]
    fast = [(annual_review.pack(app, live, system, lid, as_at=m), timeline.timeline(app, live, system, lid, m))
            for m in moments]

    def full_replay(app, actor, learner_id, as_at, providers=(), users=()):
        kept = reference(app, actor, learner_id, as_at)
        return replay(kept, providers, users), kept

    monkeypatch.setattr(history_mod, "read_model_as_at", full_replay)
    monkeypatch.setattr(history_mod, "events_as_at", lambda app, actor, lid, as_at: reference(app, actor, lid, as_at))
    slow = [(annual_review.pack(app, live, system, lid, as_at=m), timeline.timeline(app, live, system, lid, m))
            for m in moments]
    assert fast == slow
    assert all(t for _, t in fast) and fast[0] != fast[-1]


def test_a_memo_is_not_trusted_over_the_store(app, system, world, rich):
    lid, live = rich["lid"], rich["live"]
    moment = rich["stream"][-1].timestamp
    right = history(app, system, lid, moment)
    memo = as_at_memo.memos(app).get(uuid.UUID(lid))
    # What is kept no longer matches the store's chain (a store restored from a copy,
    # say): here every kept event is another learner's and every checkpoint empty.
    other = app.learner_events(system, world["learners"]["ben"])
    memo.events[:] = [other[0]] * len(memo.events)
    memo.json[:] = ["{}"] * len(memo.json)
    memo.checkpoints = {0: memo.checkpoints[0]}
    memo.recent = None
    memo.link = "0" * 64
    assert history(app, system, lid, moment) == right
    assert as_at_memo.memos(app).get(uuid.UUID(lid)) is not memo
    assert_same_as_full_replay(app, live, system, lid, moment)


def test_erasure_drops_what_was_kept_here_and_in_another_process(app, settings, projector, world, system):
    from rarpa.service.application import RecordApplication

    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    for lid in (amy, ben):
        assert history(app, system, lid)["events"]
    kept = as_at_memo.memos(app)
    assert uuid.UUID(amy) in kept and uuid.UUID(ben) in kept
    app.erase_learner(system, amy, reason="Erasure request")
    assert uuid.UUID(amy) not in kept and uuid.UUID(ben) in kept
    with pytest.raises(Erased):
        history(app, system, amy)

    # Ben is erased by another process (`rarpa erase`): the next view here is refused and drops him.
    other = RecordApplication(settings)
    try:
        other.erase_learner(system, ben, reason="Erasure request")
    finally:
        other.close()
    assert uuid.UUID(ben) in kept
    with pytest.raises(Erased):
        history(app, system, ben, T0)
    assert uuid.UUID(ben) not in kept


def test_what_is_kept_stays_within_its_budget(app, projector, world, system):
    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    kept = as_at_memo.memos(app)
    kept.budget = 1  # smaller than any learner: only the last one viewed stays
    history(app, system, amy)
    assert uuid.UUID(amy) in kept
    history(app, system, ben)
    assert uuid.UUID(ben) in kept and uuid.UUID(amy) not in kept
    projector.catch_up()
    assert_same_as_full_replay(app, projector.reader(), system, amy, datetime.now(timezone.utc))


def test_views_respect_access_before_anything_is_kept(app, world):
    amy = world["learners"]["amy"]
    with pytest.raises(NotFound):
        history(app, world["actors"]["other_tutor"], amy)
    assert uuid.UUID(amy) not in as_at_memo.memos(app)


def test_views_from_several_threads_at_once_are_each_right(app, system, rich):
    """Requests in several threads, for instants all over the record, from a cold start."""
    from concurrent.futures import ThreadPoolExecutor

    lid, stream = rich["lid"], rich["stream"]
    moments = [e.timestamp for e in stream[3:]] + [stream[-1].timestamp + TINY]
    expected = {}
    for m in moments:
        kept = reference(app, system, lid, m)
        expected[m] = ([events.to_json(e) for e in kept], progress_from(kept),
                       app.fingerprint(kept[-1].originator_id, kept[-1].originator_version))
    as_at_memo.forget(app, lid)

    def look(seed: int) -> list[bool]:
        order = random.Random(seed).sample(moments, len(moments))
        out = []
        for m in order:
            then = history(app, system, lid, m)
            out.append((then["events"], then["progress"], then["fingerprint"]) == expected[m])
        return out

    with ThreadPoolExecutor(6) as pool:
        answers = [ok for oks in pool.map(look, range(6)) for ok in oks]
    assert len(answers) == 6 * len(moments) and all(answers)

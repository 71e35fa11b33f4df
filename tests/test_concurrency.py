"""Writers racing each other: a retry that races its own first send, many
writers on one learner, another process writing between load and save, and
the aggregate cache under all of them."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone


from rarpa.service.application import RecordApplication
from rarpa.record import Learner
from tests.conftest import observation


def test_the_same_observation_sent_twice_at_once_answers_200_to_the_second(web, app, world):
    """An outbox retry racing the first send: both answers carry the stored
    observation (one 201, one 200), never a 404."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    headers = {"Authorization": f"Bearer {app.create_token('tutor@example.org')}"}
    flask_app = web.application
    answers = []
    for i in range(30):
        body = {"id": str(uuid.uuid4()), "target_id": target, "rating": "developing", "note": f"pair {i}",
                "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=i + 1)).isoformat()}
        start = threading.Barrier(2)
        pair = []

        def send():
            client = flask_app.test_client()
            start.wait()
            r = client.post(f"/api/v1/learners/{amy}/observations", json=body, headers=headers)
            pair.append((r.status_code, (r.get_json() or {}).get("id")))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        answers.append(sorted(pair))
    assert all(pair == [(200, pair[0][1]), (201, pair[0][1])] for pair in answers), answers
    assert len(app.learner(world["actors"]["tutor"], amy).observations) == 30


def test_eight_writers_on_one_learner_all_succeed(app, world, system):
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    errors = []

    def writer(k):
        for i in range(25):
            try:
                app.record_observation(system, amy, **observation(target, minutes_ago=k * 100 + i + 1))
            except Exception as e:  # collected and asserted below
                errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(app.learner(system, amy).observations) == 200


def test_a_write_that_keeps_losing_races_to_another_process_is_retried_until_it_succeeds(
    app, world, system, settings, monkeypatch
):
    """Another process (a second application on the same files) writes to the
    learner between this writer's load and its save, 40 times over: each lost
    race is retried; only a real conflict may answer 409."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    other = RecordApplication(settings)
    original = Learner.record_observation
    interference = {"left": 40}

    def racing(self, **kw):
        if interference["left"] and kw.get("note") == "mine":
            interference["left"] -= 1
            other.record_observation(system, amy, **observation(target, minutes_ago=500 + interference["left"]))
        return original(self, **kw)

    monkeypatch.setattr(Learner, "record_observation", racing)
    try:
        written = app.record_observation(system, amy, **observation(target, note="mine"))
    finally:
        other.close()
    assert written.created
    assert interference["left"] == 0
    assert len(app.learner(system, amy).observations) == 41


def test_the_cache_never_changes_a_learner_it_has_handed_out(app, world, system):
    """Fast-forwarding a cached learner works on a copy: what a thread is
    copying or reading is never changed under it by another thread."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    first = app.learner(system, amy)
    held = {k: (dict(v) if isinstance(v, dict) else v) for k, v in vars(first).items()}
    cached_before = _cached(app, amy)
    snapshot_of_cached = dict(vars(cached_before))
    snapshot_observations = dict(cached_before.observations)
    app.record_observation(system, amy, **observation(target))
    second = app.learner(system, amy)
    assert len(second.observations) == len(first.observations) + 1
    # Neither the copy handed out earlier nor the object the cache held was changed.
    assert {k: (dict(v) if isinstance(v, dict) else v) for k, v in vars(first).items()} == held
    assert vars(cached_before) == snapshot_of_cached
    assert cached_before.observations == snapshot_observations


def _cached(app, learner_id):
    """The object the application's aggregate cache holds for a learner."""
    cached = app.cached_aggregate(uuid.UUID(learner_id))
    assert cached is not None, "the learner should be in the cache after loading it"
    return cached

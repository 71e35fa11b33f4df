"""A learner with years of records, made quickly (the aggregate built with the
record's own commands under the record's clock, saved an observation at a
time): what `rarpa bench` and the long-record tests measure against."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication


def five_year_learner(app: RecordApplication, observations: int = 2000, years: float = 5) -> str:
    """A learner with five years of records (or ``years``): 5 outcomes, 15 targets,
    reviews each term, and about ``observations`` observations, recorded over the years."""
    import random

    from events.base import clock
    from events.vocabulary import CONTEXTS, PFA_AREAS, RATINGS
    from rarpa.record import Learner, ObservationIdClaim

    rng = random.Random(5)
    actor = system_actor("bench")
    stamp = actor.stamp("northfield")
    begin = datetime.now(timezone.utc) - timedelta(days=years * 365)
    moment = [begin]
    with clock(lambda: moment[0]):
        learner = Learner.enrol(stamp=stamp, name="Five Year Learner", date_of_birth="2003-01-01",
                                lead_provider="northfield")
        targets = []
        for k in range(5):
            oid = learner.record_outcome(stamp=stamp, text=f"Outcome {k}", pfa_area=PFA_AREAS[k % 4], due="2031-07-01")
            for j in range(3):
                targets.append(learner.set_target(stamp=stamp, text=f"Target {k}.{j}", success_criteria="criteria",
                                                  outcome_ids=[oid], baseline="not_yet", review_by="2031-07-01"))
        app.save(learner)
        step = (years * 365 * 24 * 3600) / observations
        for n in range(observations):
            moment[0] = begin + timedelta(seconds=step * (n + 1))
            learner = app.repository.get(learner.id)
            oid = str(uuid.uuid4())
            learner.record_observation(stamp=stamp, observation_id=oid, target_id=targets[n % len(targets)],
                                       rating=RATINGS[min(4, n * 5 // observations + rng.randint(-1, 0))],
                                       context=rng.choice(CONTEXTS[:5]), observed_at=moment[0] - timedelta(minutes=5),
                                       note="Bench observation", now=moment[0])
            if n % 150 == 149:
                learner.hold_progress_review(stamp=stamp, held_on=moment[0].date(), attendees=["Learner"],
                                             learner_views="It went well", decisions=[])
            app.save(learner, ObservationIdClaim.claim(stamp=stamp, observation_id=oid, learner_id=str(learner.id)))
    return str(learner.id)

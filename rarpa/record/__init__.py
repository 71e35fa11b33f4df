"""The record itself: the aggregates (a learner's record, staff, providers)
and the rules a change must keep. No framework, no storage, no access rules:
a command checks only the record's own rules and raises ``RuleBroken``."""

from eventsourcing.utils import register_topic

from rarpa.record.learner import (
    NAMESPACE,
    Learner,
    ObservationIdClaim,
    Provider,
    RuleBroken,
    User,
    follow_up_date,
    id_source,
    new_id,
    provider_id,
    user_id,
)

# Stores written before the record had a package of its own name the
# aggregates by their old topics (in snapshots and in each stream's first
# event): those topics must keep loading.
for _old, _cls in (("rarpa.domain:Learner", Learner), ("rarpa.domain:User", User),
                   ("rarpa.domain:Provider", Provider), ("rarpa.domain:ObservationIdClaim", ObservationIdClaim)):
    register_topic(_old, _cls)

__all__ = ["NAMESPACE", "Learner", "ObservationIdClaim", "Provider", "RuleBroken", "User", "follow_up_date",
           "id_source", "new_id", "provider_id", "user_id"]

"""The record itself: the aggregates (a learner's record, staff, providers)
and the rules a change must keep. No framework, no storage, no access rules:
a command checks only the record's own rules and raises ``RuleBroken``.

``rules.py`` holds what every command shares (refusals, input checks, ids);
``learner.py`` the learner's aggregate, made of the stages in ``plan.py``,
``evidence.py`` and ``review.py``; ``staff.py`` providers, staff and
observation-id claims; ``records.py`` the typed records a learner holds;
``dispatch.py`` how an event finds its handler; ``measures.py`` how progress
is measured and when things fall due; ``limits.py`` what input can be held.
"""

from eventsourcing.utils import register_topic

from rarpa.record.learner import Learner
from rarpa.record.rules import NAMESPACE, RuleBroken, id_source, new_id, provider_id, user_id
from rarpa.record.staff import ObservationIdClaim, Provider, User

# Each stream's first event and each snapshot name the aggregate's class by its
# topic, so every place a class has lived must keep loading: ``rarpa.domain``
# (stores written before the record had a package of its own), then
# ``rarpa.record.learner`` for the staff's aggregates (before staff.py).
for _old, _cls in (
    ("rarpa.domain:Learner", Learner),
    ("rarpa.domain:User", User),
    ("rarpa.domain:Provider", Provider),
    ("rarpa.domain:ObservationIdClaim", ObservationIdClaim),
    ("rarpa.record.learner:User", User),
    ("rarpa.record.learner:Provider", Provider),
    ("rarpa.record.learner:ObservationIdClaim", ObservationIdClaim),
):
    register_topic(_old, _cls)

__all__ = ["NAMESPACE", "Learner", "ObservationIdClaim", "Provider", "RuleBroken", "User", "id_source", "new_id",
           "provider_id", "user_id"]

"""The family's voice: family members let in, what they sent from home, and
what staff decided (accepted as evidence, or declined with a reason)."""

from __future__ import annotations

import json

from events import learner as ev
from rarpa.read.stages import Stage, applies


class Family(Stage):
    @applies(ev.FamilyMemberInvited)
    def family_invited(self, e: ev.FamilyMemberInvited, seq: int) -> None:
        self.db["family_members"].insert(
            {"learner_id": str(e.originator_id), "user_id": e.family_user_id, "relationship": e.relationship,
             "invited_at": e.timestamp.isoformat(), "invited_by": e.recorded_by, "reason": e.reason,
             "ended_at": None, "ended_by": None, "ended_reason": None},
            replace=True,  # let in again after their access ended: a fresh start
        )

    @applies(ev.FamilyAccessEnded)
    def family_ended(self, e: ev.FamilyAccessEnded, seq: int) -> None:
        self.x("UPDATE family_members SET ended_at=?, ended_by=?, ended_reason=? WHERE learner_id=? AND user_id=?",
               [e.timestamp.isoformat(), e.recorded_by, e.reason, str(e.originator_id), e.family_user_id])

    @applies(ev.FamilyContributionSent)
    def contribution_sent(self, e: ev.FamilyContributionSent, seq: int) -> None:
        self.db["family_contributions"].insert(
            {"id": e.contribution_id, "seq": seq, "learner_id": str(e.originator_id), "sent_by": e.recorded_by,
             "sent_at": e.timestamp.isoformat(), "words": e.words, "happened_on": e.happened_on,
             "has_photo": int(bool(e.photo_sha256)), "status": "waiting"},
            replace=True,
        )

    def _decided(self, e, status: str, reason: str, **more) -> None:
        self.x("UPDATE family_contributions SET status=?, decided_at=?, decided_by=?, decided_role=?, reason=?, "
               "observations=?, photo_id=? WHERE id=?",
               [status, e.timestamp.isoformat(), e.recorded_by, e.role, reason, more.get("observations"),
                more.get("photo_id"), e.contribution_id])

    @applies(ev.FamilyContributionAccepted)
    def contribution_accepted(self, e: ev.FamilyContributionAccepted, seq: int) -> None:
        self._decided(e, "accepted", e.note, observations=json.dumps(e.observations), photo_id=e.photo_id or None)
        self.derived.write_observations()  # the observations made of it, recorded just before
        for observation_id in e.observations.values():
            self.x("UPDATE observations SET contribution_id=? WHERE id=?", [e.contribution_id, observation_id])

    @applies(ev.FamilyContributionDeclined)
    def contribution_declined(self, e: ev.FamilyContributionDeclined, seq: int) -> None:
        self._decided(e, "declined", e.reason)

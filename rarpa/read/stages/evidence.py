"""The evidence: observations as recorded, corrected and withdrawn (a
withdrawn one stays, marked, so its history can still be read)."""

from __future__ import annotations

from events import learner as ev
from rarpa.read.stages import Stage, applies


class Evidence(Stage):
    @applies(ev.ObservationRecorded)
    def observation_recorded(self, e: ev.ObservationRecorded, seq: int) -> None:
        self.derived.new_observations.append(
            {"id": e.observation_id, "seq": seq, "learner_id": str(e.originator_id),
             "target_id": e.target_id, "rating": e.rating, "prompt_level": e.prompt_level,
             "context": e.context, "note": e.note, "observed_at": e.observed_at.isoformat(),
             "new_to_learner": ",".join(e.new_to_learner),
             "recorded_at": e.timestamp.isoformat(), "recorded_by": e.recorded_by,
             "provider": e.provider, "status": "active", "corrections": 0}
        )
        self.derived.refresh_target(e.target_id, e.observed_at.isoformat())

    @applies(ev.ObservationCorrected)
    def observation_corrected(self, e: ev.ObservationCorrected, seq: int) -> None:
        self.derived.write_observations()
        self.derived.refresh_observed(e.observation_id)  # the term it was in (the new one, below)
        self.x(
            "UPDATE observations SET rating=?, prompt_level=?, context=?, note=?, observed_at=?, "
            "corrections=corrections+1 WHERE id=?",
            [e.rating, e.prompt_level, e.context, e.note, e.observed_at.isoformat(), e.observation_id],
        )
        self.derived.refresh_observed(e.observation_id)

    @applies(ev.ObservationWithdrawn)
    def observation_withdrawn(self, e: ev.ObservationWithdrawn, seq: int) -> None:
        self.derived.write_observations()
        self.x("UPDATE observations SET status='withdrawn' WHERE id=?", [e.observation_id])
        self.derived.refresh_observed(e.observation_id)

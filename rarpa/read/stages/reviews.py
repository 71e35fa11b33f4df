"""Reviews, the learner's voice and stage 5: progress and annual reviews
(and when the next ones fall due), self-assessments, outcomes nobody planned,
next steps and destinations."""

from __future__ import annotations

import json

from events import learner as ev
from rarpa.read.stages import Stage, applies
from rarpa.record import measures


class Reviews(Stage):
    @applies(ev.ProgressReviewHeld)
    def progress_review_held(self, e: ev.ProgressReviewHeld, seq: int) -> None:
        self._review(e, "progress", None, None, "")
        # Looking at a target in a review clears its due flag: kept or revised,
        # it is next due as agreed there (a closed one is due no more).
        for d in e.decisions:
            if d["decision"] in ("keep", "revise"):
                due = measures.next_target_review(e.held_on, d.get("review_by"))
                self.derived.due("target", d["target_id"], str(e.originator_id), due)

    @applies(ev.AnnualReviewHeld)
    def annual_review_held(self, e: ev.AnnualReviewHeld, seq: int) -> None:
        lid = str(e.originator_id)
        self._review(e, "annual", e.period_from, e.period_to, e.fingerprint)
        for r in e.recommendations:
            self.db["recommendations"].insert(
                {"review_id": e.review_id, "outcome_id": r["outcome_id"], "learner_id": lid,
                 "recommendation": r["recommendation"], "note": r.get("note") or ""}
            )
        latest = self.x("SELECT MAX(held_on) FROM reviews WHERE learner_id=? AND kind='annual'", [lid]).fetchone()[0]
        due = measures.annual_review_due(latest)
        self.x("UPDATE learners SET annual_review_due=? WHERE id=?", [due, lid])
        self.derived.due("annual", lid, lid, due)

    def _review(self, e, kind: str, period_from, period_to, fingerprint: str) -> None:
        self.db["reviews"].insert(
            {"id": e.review_id, "learner_id": str(e.originator_id), "kind": kind, "held_on": e.held_on,
             "attendees": json.dumps(e.attendees), "learner_views": e.learner_views,
             "period_from": period_from, "period_to": period_to, "fingerprint": fingerprint,
             "recorded_by": e.recorded_by, "recorded_at": e.timestamp.isoformat()}
        )

    @applies(ev.SelfAssessmentRecorded)
    def self_assessment_recorded(self, e: ev.SelfAssessmentRecorded, seq: int) -> None:
        self.db["self_assessments"].insert(
            {"id": e.self_assessment_id, "seq": seq, "learner_id": str(e.originator_id), "target_id": e.target_id,
             "answer": e.answer, "words": e.words, "assessed_at": e.assessed_at.isoformat(),
             "recorded_by": e.recorded_by}
        )

    @applies(ev.UnplannedOutcomeRecognised)
    def unplanned_outcome_recognised(self, e: ev.UnplannedOutcomeRecognised, seq: int) -> None:
        self.db["unplanned_outcomes"].insert(
            {"id": e.unplanned_id, "learner_id": str(e.originator_id), "text": e.text, "pfa_area": e.pfa_area,
             "context": e.context, "recognised_on": e.recognised_on, "provider": e.provider}
        )

    @applies(ev.NextStepAgreed)
    def next_step_agreed(self, e: ev.NextStepAgreed, seq: int) -> None:
        self.db["next_steps"].insert(
            {"id": e.next_step_id, "learner_id": str(e.originator_id), "text": e.text, "agreed_on": e.agreed_on}
        )

    @applies(ev.DestinationRecorded)
    def destination_recorded(self, e: ev.DestinationRecorded, seq: int) -> None:
        lid = str(e.originator_id)
        follow_up = measures.destination_follow_up(e.starts_on)
        self.db["destinations"].insert(
            {"id": e.destination_id, "learner_id": lid, "kind": e.kind, "detail": e.detail,
             "starts_on": e.starts_on, "follow_up_on": follow_up, "sustained_on": None}
        )
        self.derived.due("destination", e.destination_id, lid, follow_up)

    @applies(ev.DestinationSustained)
    def destination_sustained(self, e: ev.DestinationSustained, seq: int) -> None:
        self.x("UPDATE destinations SET sustained_on=? WHERE id=?", [e.confirmed_on, e.destination_id])
        self.x("DELETE FROM reviews_due WHERE kind='destination' AND ref_id=?", [e.destination_id])

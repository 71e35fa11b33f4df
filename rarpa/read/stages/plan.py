"""The learner's plan: EHCP outcomes, programme aims, targets with their baselines, what
changed in them and why, and their summative assessments."""

from __future__ import annotations

from events import learner as ev
from rarpa.read.stages import Stage, applies
from rarpa.read.stages.ending import summative_row


class Plan(Stage):
    @applies(ev.EHCPOutcomeRecorded)
    def outcome_recorded(self, e: ev.EHCPOutcomeRecorded, seq: int) -> None:
        self.db["outcomes"].insert(
            {"id": e.outcome_id, "learner_id": str(e.originator_id), "text": e.text,
             "pfa_area": e.pfa_area, "due": e.due, "recorded_at": e.timestamp.isoformat(),
             "amended_at": None, "targets": 0, "distance": 0.0}
        )

    @applies(ev.EHCPOutcomeAmended)
    def outcome_amended(self, e: ev.EHCPOutcomeAmended, seq: int) -> None:
        self.x(
            "UPDATE outcomes SET text=?, pfa_area=?, due=?, amended_at=? WHERE id=?",
            [e.text, e.pfa_area, e.due, e.timestamp.isoformat(), e.outcome_id],
        )

    @applies(ev.ProgrammeAimAgreed)
    def aim_agreed(self, e: ev.ProgrammeAimAgreed, seq: int) -> None:
        lid = str(e.originator_id)
        self.db["aims"].insert({"id": e.aim_id, "learner_id": lid, "text": e.text,
                                "agreed_at": e.timestamp.isoformat()})
        for oid in dict.fromkeys(e.outcome_ids):  # the same outcome named twice is served once
            self.db["aim_outcomes"].insert({"aim_id": e.aim_id, "outcome_id": oid, "learner_id": lid})

    @applies(ev.TargetSet)
    def target_set(self, e: ev.TargetSet, seq: int) -> None:
        lid = str(e.originator_id)
        self.db["targets"].insert(
            {"id": e.target_id, "learner_id": lid, "text": e.text,
             "success_criteria": e.success_criteria, "status": "open", "closed_as": None,
             "baseline": None, "latest": None, "distance": 0, "observations": 0,
             "last_observed_at": None, "review_by": e.review_by,
             "set_at": e.timestamp.isoformat(), "revisions": 0, "summative": None}
        )
        self.derived.link(e.target_id, lid, e.outcome_ids)
        self.derived.due("target", e.target_id, lid, e.review_by)
        self._change(seq, e, "set", e.text, "")

    @applies(ev.BaselineRecorded)
    def baseline_recorded(self, e: ev.BaselineRecorded, seq: int) -> None:
        self.x("UPDATE targets SET baseline=? WHERE id=?", [e.rating, e.target_id])
        self.derived.refresh_target(e.target_id)

    @applies(ev.TargetRevised)
    def target_revised(self, e: ev.TargetRevised, seq: int) -> None:
        lid = str(e.originator_id)
        self.x(
            "UPDATE targets SET text=?, success_criteria=?, review_by=?, revisions=revisions+1 WHERE id=?",
            [e.text, e.success_criteria, e.review_by, e.target_id],
        )
        old = [r[0] for r in self.x("SELECT outcome_id FROM target_outcomes WHERE target_id=?", [e.target_id])]
        self.x("DELETE FROM target_outcomes WHERE target_id=?", [e.target_id])
        self.derived.link(e.target_id, lid, e.outcome_ids)
        for oid in old:
            self.derived.refresh_outcome(oid)
        if e.review_id is None:  # at a review, the review says when it is next due
            self.derived.due("target", e.target_id, lid, e.review_by)
        self._change(seq, e, e.kind, e.text, e.reason, review_id=e.review_id)

    @applies(ev.TargetClosed)
    def target_closed(self, e: ev.TargetClosed, seq: int) -> None:
        self.x("UPDATE targets SET status='closed', closed_as=? WHERE id=?", [e.closed_as, e.target_id])
        self.x("DELETE FROM reviews_due WHERE kind='target' AND ref_id=?", [e.target_id])
        self._change(seq, e, "closed", None, e.reason, closed_as=e.closed_as, review_id=e.review_id)

    @applies(ev.TargetWordedForLearner)
    def target_worded_for_learner(self, e: ev.TargetWordedForLearner, seq: int) -> None:
        """The learner's own words replace any before them (each stays in the events)."""
        self.x("UPDATE targets SET learner_words=? WHERE id=?", [e.words, e.target_id])

    @applies(ev.SummativeAssessmentRecorded)
    def summative_recorded(self, e: ev.SummativeAssessmentRecorded, seq: int) -> None:
        self.x("UPDATE targets SET summative=? WHERE id=?", [e.rating, e.target_id])
        summative_row(self.db, e, seq, "target", e.target_id, e.rating)

    def _change(self, seq: int, e, kind: str, text, reason: str, closed_as=None, review_id=None) -> None:
        self.db["target_changes"].insert(
            {"seq": seq, "learner_id": str(e.originator_id), "target_id": e.target_id, "kind": kind,
             "at": e.timestamp.isoformat(), "text": text, "reason": reason, "closed_as": closed_as,
             "review_id": review_id}
        )

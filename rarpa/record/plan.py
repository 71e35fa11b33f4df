"""RARPA stages 1 to 3: what the learner is working towards. EHCP outcomes,
programme aims, targets with their baselines, and how targets are revised
and closed. A mixin of ``Learner``: each command beside the handler of the
event it raises."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from events import learner as ev
from events.vocabulary import PFA_AREAS, RATINGS, REVISION_KINDS, TARGET_CLOSED_AS
from rarpa.record import limits
from rarpa.record.dispatch import applies
from rarpa.record.records import Aim, Outcome, Target
from rarpa.record.rules import RuleBroken, iso_date, need, need_text, new_id


class PlanStage:
    """Outcomes, aims and targets: what the learner's evidence is measured against."""

    # --- EHCP outcomes ------------------------------------------------------------------
    def record_outcome(self, *, stamp: dict, text: str, pfa_area: str, due: date | str) -> str:
        need(pfa_area, "pfa_area", PFA_AREAS)
        outcome_id = new_id()
        self.trigger_event(
            ev.EHCPOutcomeRecorded,
            outcome_id=outcome_id,
            text=need_text(text, "text", "The outcome's wording"),
            pfa_area=pfa_area,
            due=iso_date(due, "due"),
            **stamp,
        )
        return outcome_id

    def amend_outcome(
        self, *, stamp: dict, outcome_id: str, text: str, pfa_area: str, due: date | str, reason: str
    ) -> None:
        self._outcome(outcome_id, "outcome_id")
        need(pfa_area, "pfa_area", PFA_AREAS)
        self.trigger_event(
            ev.EHCPOutcomeAmended,
            outcome_id=outcome_id,
            text=need_text(text, "text", "The outcome's wording"),
            pfa_area=pfa_area,
            due=iso_date(due, "due"),
            reason=need_text(reason, "reason", "A reason for the amendment"),
            **stamp,
        )

    @applies(ev.EHCPOutcomeRecorded, ev.EHCPOutcomeAmended)
    def _outcome_worded(self, e: ev.EHCPOutcomeRecorded | ev.EHCPOutcomeAmended) -> None:
        self.outcomes[e.outcome_id] = Outcome(text=e.text, pfa_area=e.pfa_area, due=e.due)

    # --- programme aims -----------------------------------------------------------------
    def agree_aim(self, *, stamp: dict, text: str, outcome_ids: list[str]) -> str:
        self._outcomes(outcome_ids, required=False)
        aim_id = new_id()
        self.trigger_event(
            ev.ProgrammeAimAgreed,
            aim_id=aim_id,
            text=need_text(text, "text", "The aim's wording"),
            outcome_ids=[str(o) for o in outcome_ids],
            **stamp,
        )
        return aim_id

    @applies(ev.ProgrammeAimAgreed)
    def _aim_agreed(self, e: ev.ProgrammeAimAgreed) -> None:
        self.aims[e.aim_id] = Aim(text=e.text, outcome_ids=tuple(e.outcome_ids))

    # --- targets and their baselines ------------------------------------------------------
    def set_target(
        self,
        *,
        stamp: dict,
        text: str,
        success_criteria: str,
        outcome_ids: list[str],
        baseline: str,
        review_by: date | str,
        baseline_note: str = "",
    ) -> str:
        """Sets a target and records its baseline (RARPA stages 2 and 3 together)."""
        self._outcomes(outcome_ids, required=True)
        need(baseline, "baseline", RATINGS)
        target_id = new_id()
        self.trigger_event(
            ev.TargetSet,
            target_id=target_id,
            text=need_text(text, "text", "The target's wording"),
            success_criteria=need_text(success_criteria, "success_criteria", "Success criteria"),
            outcome_ids=[str(o) for o in outcome_ids],
            review_by=iso_date(review_by, "review_by"),
            **stamp,
        )
        self.trigger_event(
            ev.BaselineRecorded, target_id=target_id, rating=baseline, note=baseline_note or "", **stamp
        )
        return target_id

    @applies(ev.TargetSet)
    def _target_set(self, e: ev.TargetSet) -> None:
        self.targets[e.target_id] = Target(
            text=e.text,
            success_criteria=e.success_criteria,
            outcome_ids=tuple(e.outcome_ids),
            review_by=e.review_by,
        )

    @applies(ev.BaselineRecorded)
    def _baseline_recorded(self, e: ev.BaselineRecorded) -> None:
        self.targets[e.target_id] = replace(self.targets[e.target_id], baseline=e.rating)

    # --- revisions and closures -----------------------------------------------------------
    def revise_target(
        self,
        *,
        stamp: dict,
        target_id: str,
        kind: str,
        reason: str,
        text: str | None = None,
        success_criteria: str | None = None,
        outcome_ids: list[str] | None = None,
        review_by: date | str | None = None,
        review_id: str | None = None,
    ) -> None:
        target = self._open_target(target_id, "target_id")
        need(kind, "kind", REVISION_KINDS)
        if outcome_ids is not None:
            self._outcomes(outcome_ids, required=True)
        self.trigger_event(
            ev.TargetRevised,
            target_id=str(target_id),
            kind=kind,
            text=need_text(text, "text", "The target's wording") if text is not None else target.text,
            success_criteria=(
                need_text(success_criteria, "success_criteria", "Success criteria")
                if success_criteria is not None
                else target.success_criteria
            ),
            outcome_ids=[str(o) for o in (outcome_ids if outcome_ids is not None else target.outcome_ids)],
            review_by=iso_date(review_by, "review_by") if review_by is not None else target.review_by,
            reason=need_text(reason, "reason", "A reason for the change"),
            review_id=review_id,
            **stamp,
        )

    @applies(ev.TargetRevised)
    def _target_revised(self, e: ev.TargetRevised) -> None:
        self.targets[e.target_id] = replace(
            self.targets[e.target_id],
            text=e.text,
            success_criteria=e.success_criteria,
            outcome_ids=tuple(e.outcome_ids),
            review_by=e.review_by,
        )

    def close_target(
        self, *, stamp: dict, target_id: str, closed_as: str, reason: str, review_id: str | None = None
    ) -> None:
        self._open_target(target_id, "target_id")
        need(closed_as, "closed_as", TARGET_CLOSED_AS)
        self.trigger_event(
            ev.TargetClosed,
            target_id=str(target_id),
            closed_as=closed_as,
            reason=need_text(reason, "reason", "A reason for closing the target"),
            review_id=review_id,
            **stamp,
        )

    @applies(ev.TargetClosed)
    def _target_closed(self, e: ev.TargetClosed) -> None:
        self.targets[e.target_id] = replace(self.targets[e.target_id], status="closed", closed_as=e.closed_as)

    # --- the target in the learner's own words ----------------------------------------------
    def word_target_for_learner(self, *, stamp: dict, target_id: str, words: str, reason: str) -> None:
        """The target as the learner says it, written with them: one line, in
        short words. Any target of the plan (a closed one is still on their
        own pages, as something they did)."""
        self._target(target_id, "target_id")
        words = need_text(words, "words", "The learner's own words")
        problem = limits.text_problem(words, multiline=False)
        if problem:
            raise RuleBroken("words", problem)
        self.trigger_event(
            ev.TargetWordedForLearner,
            target_id=str(target_id),
            words=words,
            reason=need_text(reason, "reason", "A reason for the wording"),
            **stamp,
        )

    @applies(ev.TargetWordedForLearner)
    def _target_worded_for_learner(self, e: ev.TargetWordedForLearner) -> None:
        """Nothing a command checks: the words are for the learner's own pages (the read model)."""

    # --- what other commands check against the plan -----------------------------------------
    def _outcome(self, outcome_id: str, field: str) -> Outcome:
        try:
            return self.outcomes[str(outcome_id)]
        except KeyError:
            raise RuleBroken(field, "no such EHCP outcome for this learner") from None

    def _outcomes(self, outcome_ids: list[str], *, required: bool) -> None:
        if required and not outcome_ids:
            raise RuleBroken("outcome_ids", "link the target to at least one EHCP outcome")
        for i, oid in enumerate(outcome_ids):
            self._outcome(oid, f"outcome_ids.{i}")

    def _target(self, target_id: str, field: str) -> Target:
        try:
            return self.targets[str(target_id)]
        except KeyError:
            raise RuleBroken(field, "no such target for this learner") from None

    def _open_target(self, target_id: str, field: str) -> Target:
        target = self._target(target_id, field)
        if target.status != "open":
            raise RuleBroken(field, f"this target was closed ({target.closed_as})", 409)
        return target

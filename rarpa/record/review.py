"""RARPA stage 5 and what follows: progress reviews and what they decide, the
EHCP annual review, summative assessments (of targets and of EHCP outcomes),
outcomes nobody planned, next steps, destinations and whether they were
sustained. A mixin of ``Learner``: each command beside the handler of the
event it raises."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from events import learner as ev
from events.base import RecordEvent, now as clock_now
from events.vocabulary import (
    CONTEXTS,
    DESTINATIONS,
    OUTCOME_JUDGEMENTS,
    PFA_AREAS,
    RATINGS,
    RECOMMENDATIONS,
    TARGET_CLOSED_AS,
)
from rarpa.record.dispatch import applies
from rarpa.record.records import Destination
from rarpa.record.rules import RuleBroken, iso_date, need, need_text, new_id


def _not_after_today(day: str, field: str) -> None:
    if day > clock_now().date().isoformat():
        raise RuleBroken(field, "cannot be in the future")


def _attendees(attendees: list[str]) -> list[str]:
    return [a.strip() for a in attendees if a and a.strip()]


class ReviewStage:
    """Looking back at the evidence, deciding what next, and where the learner goes."""

    # --- progress reviews -----------------------------------------------------------------
    def hold_progress_review(
        self,
        *,
        stamp: dict,
        held_on: date | str,
        attendees: list[str],
        learner_views: str,
        decisions: list[dict],
        new_targets: list[dict] = (),
    ) -> str:
        """A progress review, what it decided for each target it looked at, and
        any new targets agreed (each with its baseline)."""
        held = iso_date(held_on, "held_on")
        _not_after_today(held, "held_on")
        seen: set[str] = set()
        for i, d in enumerate(decisions):
            tid = str(d["target_id"])
            if tid in seen:
                raise RuleBroken(f"decisions.{i}.target_id", "a target can have only one decision per review")
            seen.add(tid)
            self._open_target(tid, f"decisions.{i}.target_id")
            if d["decision"] == "revise" and not (d.get("reason") or "").strip():
                raise RuleBroken(f"decisions.{i}.reason", "a revision needs a reason")
            if d["decision"] == "close" and d.get("closed_as") not in TARGET_CLOSED_AS:
                raise RuleBroken(f"decisions.{i}.closed_as", f"must be one of: {', '.join(TARGET_CLOSED_AS)}")
        for i, t in enumerate(new_targets):
            for j, oid in enumerate(t["outcome_ids"]):
                self._outcome(oid, f"new_targets.{i}.outcome_ids.{j}")
            need(t["baseline"], f"new_targets.{i}.baseline", RATINGS)
        review_id = new_id()
        clean = [
            {k: (str(v) if isinstance(v, (uuid.UUID, date)) else v) for k, v in d.items() if v is not None}
            for d in decisions
        ]
        self.trigger_event(
            ev.ProgressReviewHeld,
            review_id=review_id,
            held_on=held,
            attendees=_attendees(attendees),
            learner_views=(learner_views or "").strip(),
            decisions=clean,
            **stamp,
        )
        for d in decisions:
            if d["decision"] == "revise":
                self.revise_target(
                    stamp=stamp,
                    target_id=str(d["target_id"]),
                    kind="revised",
                    reason=d["reason"],
                    text=d.get("text"),
                    success_criteria=d.get("success_criteria"),
                    review_by=d.get("review_by"),
                    review_id=review_id,
                )
            elif d["decision"] == "close":
                self.close_target(
                    stamp=stamp,
                    target_id=str(d["target_id"]),
                    closed_as=d["closed_as"],
                    reason=d.get("reason") or f"closed at the progress review on {held}",
                    review_id=review_id,
                )
        for t in new_targets:
            self.set_target(
                stamp=stamp,
                text=t["text"],
                success_criteria=t["success_criteria"],
                outcome_ids=[str(o) for o in t["outcome_ids"]],
                baseline=t["baseline"],
                review_by=t["review_by"],
                baseline_note=f"Agreed at the progress review on {held}",
            )
        return review_id

    # --- the EHCP annual review -------------------------------------------------------------
    def hold_annual_review(
        self,
        *,
        stamp: dict,
        held_on: date | str,
        period_from: date | str,
        period_to: date | str,
        attendees: list[str],
        learner_views: str,
        recommendations: list[dict],
        fingerprint: str,
    ) -> str:
        held = iso_date(held_on, "held_on")
        _not_after_today(held, "held_on")
        start, end = iso_date(period_from, "period_from"), iso_date(period_to, "period_to")
        if start > end:
            raise RuleBroken("period_from", "must be before the end of the period")
        seen = set()
        for i, r in enumerate(recommendations):
            oid = str(r["outcome_id"])
            self._outcome(oid, f"recommendations.{i}.outcome_id")
            if oid in seen:
                raise RuleBroken(f"recommendations.{i}.outcome_id", "one recommendation per outcome")
            seen.add(oid)
            need(r["recommendation"], f"recommendations.{i}.recommendation", RECOMMENDATIONS)
        review_id = new_id()
        self.trigger_event(
            ev.AnnualReviewHeld,
            review_id=review_id,
            held_on=held,
            period_from=start,
            period_to=end,
            attendees=_attendees(attendees),
            learner_views=(learner_views or "").strip(),
            recommendations=[
                {"outcome_id": str(r["outcome_id"]), "recommendation": r["recommendation"],
                 "note": (r.get("note") or "").strip()}
                for r in recommendations
            ],
            fingerprint=fingerprint,
            **stamp,
        )
        return review_id

    # --- summative assessment, unplanned outcomes, next steps ---------------------------------
    def record_summative_assessment(
        self, *, stamp: dict, target_id: str, rating: str, summary: str, assessed_on: date | str
    ) -> None:
        self._target(target_id, "target_id")
        need(rating, "rating", RATINGS)
        self.trigger_event(
            ev.SummativeAssessmentRecorded,
            target_id=str(target_id),
            rating=rating,
            summary=need_text(summary, "summary", "A summary"),
            assessed_on=iso_date(assessed_on, "assessed_on"),
            **stamp,
        )

    def record_outcome_summative(
        self, *, stamp: dict, outcome_id: str, judgement: str, summary: str, assessed_on: date | str
    ) -> None:
        """The end-of-programme judgement on an EHCP outcome: how far it was
        met, and why. A later one for the same outcome supersedes it."""
        self._outcome(outcome_id, "outcome_id")
        need(judgement, "judgement", OUTCOME_JUDGEMENTS)
        summary = need_text(summary, "summary", "A summary")
        assessed = iso_date(assessed_on, "assessed_on")
        _not_after_today(assessed, "assessed_on")
        self.trigger_event(
            ev.OutcomeSummativeRecorded,
            outcome_id=str(outcome_id),
            judgement=judgement,
            summary=summary,
            assessed_on=assessed,
            **stamp,
        )

    def recognise_unplanned_outcome(
        self,
        *,
        stamp: dict,
        text: str,
        recognised_on: date | str,
        pfa_area: str | None = None,
        context: str | None = None,
    ) -> str:
        need(pfa_area, "pfa_area", PFA_AREAS, optional=True)
        need(context, "context", CONTEXTS, optional=True)
        uid = new_id()
        self.trigger_event(
            ev.UnplannedOutcomeRecognised,
            unplanned_id=uid,
            text=need_text(text, "text", "What the learner achieved"),
            pfa_area=pfa_area,
            context=context,
            recognised_on=iso_date(recognised_on, "recognised_on"),
            **stamp,
        )
        return uid

    def agree_next_step(self, *, stamp: dict, text: str, agreed_on: date | str) -> str:
        nid = new_id()
        self.trigger_event(
            ev.NextStepAgreed,
            next_step_id=nid,
            text=need_text(text, "text", "The next step"),
            agreed_on=iso_date(agreed_on, "agreed_on"),
            **stamp,
        )
        return nid

    @applies(
        ev.ProgressReviewHeld,
        ev.AnnualReviewHeld,
        ev.SummativeAssessmentRecorded,
        ev.OutcomeSummativeRecorded,
        ev.UnplannedOutcomeRecognised,
        ev.NextStepAgreed,
    )
    def _reviewed(self, e: RecordEvent) -> None:
        """These add to the history without changing what commands check (a
        review's decisions on targets are events of their own)."""

    # --- destinations ---------------------------------------------------------------------
    def record_destination(self, *, stamp: dict, kind: str, detail: str, starts_on: date | str) -> str:
        need(kind, "kind", DESTINATIONS)
        did = new_id()
        self.trigger_event(
            ev.DestinationRecorded,
            destination_id=did,
            kind=kind,
            detail=(detail or "").strip(),
            starts_on=iso_date(starts_on, "starts_on"),
            **stamp,
        )
        return did

    @applies(ev.DestinationRecorded)
    def _destination_recorded(self, e: ev.DestinationRecorded) -> None:
        self.destinations[e.destination_id] = Destination(kind=e.kind, starts_on=e.starts_on)

    def confirm_destination_sustained(
        self, *, stamp: dict, destination_id: str, confirmed_on: date | str, note: str = ""
    ) -> None:
        """Two terms on, the learner is still there (the sustained measure)."""
        destination = self.destinations.get(str(destination_id))
        if destination is None:
            raise RuleBroken("destination_id", "no such destination for this learner")
        if destination.sustained_on:
            raise RuleBroken("destination_id", "already confirmed as sustained", 409)
        confirmed = iso_date(confirmed_on, "confirmed_on")
        if confirmed < destination.follow_up_on:
            raise RuleBroken(
                "confirmed_on",
                f"a destination counts as sustained after two terms: from {destination.follow_up_on}",
            )
        _not_after_today(confirmed, "confirmed_on")
        self.trigger_event(
            ev.DestinationSustained,
            destination_id=str(destination_id),
            confirmed_on=confirmed,
            note=(note or "").strip(),
            **stamp,
        )

    @applies(ev.DestinationSustained)
    def _destination_sustained(self, e: ev.DestinationSustained) -> None:
        self.destinations[e.destination_id] = replace(
            self.destinations[e.destination_id], sustained_on=e.confirmed_on
        )

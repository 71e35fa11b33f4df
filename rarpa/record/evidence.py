"""RARPA stage 4: formative evidence. Observations by staff (recorded once per
client id, corrected, withdrawn) and the learner's own self-assessments. A
mixin of ``Learner``: each command beside the handler of the event it raises."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Sequence

from events import learner as ev
from events.base import now as clock_now
from events.vocabulary import CONTEXTS, NEW_TO_LEARNER, PROMPT_LEVELS, RATINGS, SELF_ASSESSMENT_ANSWERS
from rarpa.record.dispatch import applies
from rarpa.record.records import Observation
from rarpa.record.rules import RuleBroken, aware, need, need_text, new_id, observation_digest

# Tablets' clocks drift: a time this far ahead is not yet called future.
CLOCK_DRIFT_SECONDS = 300


def _judgement(rating: str, prompt_level: str | None, context: str | None) -> None:
    need(rating, "rating", RATINGS)
    need(prompt_level, "prompt_level", PROMPT_LEVELS, optional=True)
    need(context, "context", CONTEXTS, optional=True)


def _not_future(moment: datetime, field: str, now: datetime | None) -> None:
    now = now or clock_now()
    if (moment - now).total_seconds() > CLOCK_DRIFT_SECONDS:
        raise RuleBroken(field, "cannot be in the future")


class EvidenceStage:
    """What staff saw and what the learner says, against the targets of the plan."""

    # --- observations -------------------------------------------------------------------
    def record_observation(
        self,
        *,
        stamp: dict,
        observation_id: str,
        target_id: str,
        rating: str,
        observed_at: datetime,
        prompt_level: str | None = None,
        context: str | None = None,
        note: str = "",
        new_to_learner: Sequence[str] = (),
        now: datetime | None = None,
    ) -> bool:
        """Records evidence. Returns False, recording nothing, when the same
        observation (same id, same body) was already recorded: a device may send
        it again after losing the answer. The same id with another body is a
        conflict (409)."""
        observation_id = str(observation_id)
        observed_at = aware(observed_at, "observed_at")
        note = (note or "").strip()
        for value in new_to_learner or ():
            need(value, "new_to_learner", NEW_TO_LEARNER)
        new_to_learner = [v for v in NEW_TO_LEARNER if v in set(new_to_learner or ())]
        digest = observation_digest(str(target_id), rating, prompt_level, context, note, observed_at, new_to_learner)
        seen = self.observation(observation_id)
        if seen is not None:
            if seen.digest == digest:
                return False
            raise RuleBroken(
                "id", "this observation id was already used for a different observation", 409
            )
        self._open_target(target_id, "target_id")
        _judgement(rating, prompt_level, context)
        _not_future(observed_at, "observed_at", now)
        self.trigger_event(
            ev.ObservationRecorded,
            observation_id=observation_id,
            target_id=str(target_id),
            rating=rating,
            prompt_level=prompt_level,
            context=context,
            note=note,
            observed_at=observed_at,
            new_to_learner=new_to_learner,
            **stamp,
        )
        return True

    @applies(ev.ObservationRecorded)
    def _observation_recorded(self, e: ev.ObservationRecorded) -> None:
        self.observations[e.observation_id] = Observation(
            target_id=e.target_id,
            digest=observation_digest(e.target_id, e.rating, e.prompt_level, e.context, e.note, e.observed_at,
                                      e.new_to_learner),
            withdrawn=False,
            rating=e.rating,
            prompt_level=e.prompt_level,
            context=e.context,
            note=e.note,
            observed_at=e.observed_at.isoformat(),
        )

    def correct_observation(
        self,
        *,
        stamp: dict,
        observation_id: str,
        reason: str,
        rating: str | None = None,
        prompt_level: str | None = None,
        context: str | None = None,
        note: str | None = None,
        observed_at: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """Puts an observation right. Fields not given keep their current value."""
        current = self._live_observation(observation_id)
        rating = rating if rating is not None else current.rating
        prompt_level = prompt_level if prompt_level is not None else current.prompt_level
        context = context if context is not None else current.context
        _judgement(rating, prompt_level, context)
        when = (
            aware(observed_at, "observed_at")
            if observed_at is not None
            else datetime.fromisoformat(current.observed_at)
        )
        _not_future(when, "observed_at", now)
        note = (note if note is not None else current.note).strip()
        if (rating, prompt_level, context, note, when.isoformat()) == (
            current.rating, current.prompt_level, current.context, current.note, current.observed_at
        ):
            raise RuleBroken("rating", "nothing to correct: these are the values already recorded")
        self.trigger_event(
            ev.ObservationCorrected,
            observation_id=str(observation_id),
            rating=rating,
            prompt_level=prompt_level,
            context=context,
            note=note,
            observed_at=when,
            reason=need_text(reason, "reason", "A reason for the correction"),
            **stamp,
        )

    @applies(ev.ObservationCorrected)
    def _observation_corrected(self, e: ev.ObservationCorrected) -> None:
        self.observations[e.observation_id] = replace(
            self.observations[e.observation_id],
            rating=e.rating,
            prompt_level=e.prompt_level,
            context=e.context,
            note=e.note,
            observed_at=e.observed_at.isoformat(),
        )

    def withdraw_observation(self, *, stamp: dict, observation_id: str, reason: str) -> None:
        self._live_observation(observation_id)
        self.trigger_event(
            ev.ObservationWithdrawn,
            observation_id=str(observation_id),
            reason=need_text(reason, "reason", "A reason for withdrawing it"),
            **stamp,
        )

    @applies(ev.ObservationWithdrawn)
    def _observation_withdrawn(self, e: ev.ObservationWithdrawn) -> None:
        self.observations[e.observation_id] = replace(self.observations[e.observation_id], withdrawn=True)

    def observation(self, observation_id: str) -> Observation | None:
        return self.observations.get(observation_id)

    def _live_observation(self, observation_id: str) -> Observation:
        seen = self.observation(str(observation_id))
        if seen is None:
            raise RuleBroken("observation_id", "no such observation for this learner")
        if seen.withdrawn:
            raise RuleBroken("observation_id", "this observation was withdrawn", 409)
        return seen

    # --- the learner's own view ---------------------------------------------------------
    def record_self_assessment(
        self,
        *,
        stamp: dict,
        target_id: str,
        answer: str,
        words: str = "",
        assessed_at: datetime | None = None,
        now: datetime | None = None,
    ) -> str:
        self._target(target_id, "target_id")
        need(answer, "answer", SELF_ASSESSMENT_ANSWERS)
        assessed_at = aware(assessed_at, "assessed_at") if assessed_at else clock_now()
        _not_future(assessed_at, "assessed_at", now)
        sid = new_id()
        self.trigger_event(
            ev.SelfAssessmentRecorded,
            self_assessment_id=sid,
            target_id=str(target_id),
            answer=answer,
            words=(words or "").strip(),
            assessed_at=assessed_at,
            **stamp,
        )
        return sid

    @applies(ev.SelfAssessmentRecorded)
    def _self_assessment_recorded(self, e: ev.SelfAssessmentRecorded) -> None:
        """Kept apart from staff ratings: it adds to the history, not to what commands check."""

"""The domain model: aggregates whose command methods name the events they raise.

Nothing here knows about Flask, SQL or who is allowed to do what; a command
checks only the rules of the record itself and raises ``RuleBroken`` naming
the field at fault. Every command takes ``stamp``: who is acting, in which role,
at which provider (and, for imports only, an explicit ``timestamp``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from functools import singledispatchmethod
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from eventsourcing.domain import Aggregate

from events import learner as ev
from events.base import now as clock_now
from events import staff as st
from events.vocabulary import (
    CONSENTS,
    CONTEXTS,
    DESTINATIONS,
    PFA_AREAS,
    PROMPT_LEVELS,
    RATINGS,
    RECOMMENDATIONS,
    REVISION_KINDS,
    ROLES,
    SELF_ASSESSMENT_ANSWERS,
    TARGET_CLOSED_AS,
)
from rarpa.record import limits

# Names for the deterministic ids of providers and users (uuid5), so a slug or
# an email finds its stream without an index.
NAMESPACE = uuid.UUID("6f1d3c52-9a5e-4b8e-a7f4-3e2b1c0d9a81")


class RuleBroken(ValueError):
    """A command would break a rule of the record. ``field`` names the input at
    fault; ``status`` is 409 when the clash is with what is already recorded."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


def provider_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"provider:{slug}")


def user_id(email: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"user:{email.strip().lower()}")


# Ids of things inside a record (outcomes, targets...). An import can set a
# deterministic source so the same demo gives the same ids every time.
_id_source: ContextVar[Callable[[], uuid.UUID] | None] = ContextVar("rarpa_ids", default=None)


def new_id() -> str:
    source = _id_source.get()
    return str(source() if source else uuid.uuid4())


@contextmanager
def id_source(source: Callable[[], uuid.UUID]) -> Iterator[None]:
    token = _id_source.set(source)
    try:
        yield
    finally:
        _id_source.reset(token)


def _need(value: Any, field: str, allowed: tuple[str, ...], *, optional=False) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        raise RuleBroken(field, f"must be one of: {', '.join(allowed)}")


def _need_text(value: str | None, field: str, what: str) -> str:
    if value is None or not str(value).strip():
        raise RuleBroken(field, f"{what} is required")
    problem = limits.text_problem(str(value))  # e.g. a lone surrogate: it could not be sealed
    if problem:
        raise RuleBroken(field, problem)
    return str(value).strip()


def _iso_date(value: date | str, field: str) -> str:
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            raise RuleBroken(field, "must be a date as YYYY-MM-DD") from None
    problem = limits.date_problem(value)  # 1900..2100: date arithmetic on it cannot overflow
    if problem:
        raise RuleBroken(field, problem)
    return value.isoformat()


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise RuleBroken(field, "must include a timezone offset, e.g. 2026-11-23T10:15:00Z")
    problem = limits.instant_problem(value)  # before converting: year 1 at +14:00 has no UTC
    if problem:
        raise RuleBroken(field, problem)
    return value.astimezone(timezone.utc)


def follow_up_date(starts_on: str) -> str:
    """Two terms after a destination began (a term taken as 13 weeks)."""
    return (date.fromisoformat(starts_on) + timedelta(weeks=26)).isoformat()


def observation_digest(
    target_id: str,
    rating: str,
    prompt_level: str | None,
    context: str | None,
    note: str,
    observed_at: datetime,
) -> str:
    """What makes a repeat of an observation 'the same': used for idempotency."""
    body = json.dumps(
        [target_id, rating, prompt_level, context, note, observed_at.isoformat()],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()[:32]


OBS_FIELDS = ("target_id", "digest", "withdrawn", "rating", "prompt_level", "context", "note", "observed_at")


class Learner(Aggregate):
    """One young person's record: enrolment, EHCP outcomes, aims, baselines,
    targets, evidence, reviews and where they go next."""

    def __init__(self) -> None:
        # State is set by the LearnerEnrolled handler below.
        pass

    # --- commands ------------------------------------------------------------
    @classmethod
    def enrol(
        cls,
        *,
        stamp: dict,
        name: str,
        date_of_birth: date | str,
        lead_provider: str,
        preferred_name: str | None = None,
        learner_id: uuid.UUID | None = None,
    ) -> Learner:
        name = _need_text(name, "name", "The learner's name")
        dob = _iso_date(date_of_birth, "date_of_birth")
        today = clock_now().date().isoformat()
        if dob >= today:
            raise RuleBroken("date_of_birth", "must be in the past")
        if dob < "1900-01-01":
            raise RuleBroken("date_of_birth", "is too long ago to be right")
        return cls._create(
            ev.LearnerEnrolled,
            id=learner_id or uuid.uuid4(),
            name=name,
            preferred_name=(preferred_name or "").strip() or name.split()[0],
            date_of_birth=dob,
            lead_provider=lead_provider,
            **stamp,
        )

    def join_provider(self, *, stamp: dict, provider: str, lead: bool, reason: str) -> None:
        if provider in self.providers and self.providers[provider] == lead:
            raise RuleBroken("provider", f"{provider} already works with this learner", 409)
        self.trigger_event(
            ev.ProviderJoined,
            joined=provider,
            lead=lead,
            reason=_need_text(reason, "reason", "A reason"),
            **stamp,
        )

    def leave_provider(self, *, stamp: dict, provider: str, reason: str) -> None:
        if provider not in self.providers:
            raise RuleBroken("provider", f"{provider} does not work with this learner")
        if self.lead_provider == provider:
            raise RuleBroken("provider", "make another provider the lead before the lead leaves")
        self.trigger_event(
            ev.ProviderLeft, left=provider, reason=_need_text(reason, "reason", "A reason"), **stamp
        )

    def record_consent(self, *, stamp: dict, consent: str, given: bool, reason: str) -> None:
        _need(consent, "consent", CONSENTS)
        self.trigger_event(
            ev.ConsentRecorded, consent=consent, given=bool(given), reason=reason or "", **stamp
        )

    def record_outcome(self, *, stamp: dict, text: str, pfa_area: str, due: date | str) -> str:
        _need(pfa_area, "pfa_area", PFA_AREAS)
        outcome_id = new_id()
        self.trigger_event(
            ev.EHCPOutcomeRecorded,
            outcome_id=outcome_id,
            text=_need_text(text, "text", "The outcome's wording"),
            pfa_area=pfa_area,
            due=_iso_date(due, "due"),
            **stamp,
        )
        return outcome_id

    def amend_outcome(
        self, *, stamp: dict, outcome_id: str, text: str, pfa_area: str, due: date | str, reason: str
    ) -> None:
        self._outcome(outcome_id, "outcome_id")
        _need(pfa_area, "pfa_area", PFA_AREAS)
        self.trigger_event(
            ev.EHCPOutcomeAmended,
            outcome_id=outcome_id,
            text=_need_text(text, "text", "The outcome's wording"),
            pfa_area=pfa_area,
            due=_iso_date(due, "due"),
            reason=_need_text(reason, "reason", "A reason for the amendment"),
            **stamp,
        )

    def agree_aim(self, *, stamp: dict, text: str, outcome_ids: list[str]) -> str:
        self._outcomes(outcome_ids, required=False)
        aim_id = new_id()
        self.trigger_event(
            ev.ProgrammeAimAgreed,
            aim_id=aim_id,
            text=_need_text(text, "text", "The aim's wording"),
            outcome_ids=[str(o) for o in outcome_ids],
            **stamp,
        )
        return aim_id

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
        _need(baseline, "baseline", RATINGS)
        target_id = new_id()
        self.trigger_event(
            ev.TargetSet,
            target_id=target_id,
            text=_need_text(text, "text", "The target's wording"),
            success_criteria=_need_text(success_criteria, "success_criteria", "Success criteria"),
            outcome_ids=[str(o) for o in outcome_ids],
            review_by=_iso_date(review_by, "review_by"),
            **stamp,
        )
        self.trigger_event(
            ev.BaselineRecorded, target_id=target_id, rating=baseline, note=baseline_note or "", **stamp
        )
        return target_id

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
        _need(kind, "kind", REVISION_KINDS)
        if outcome_ids is not None:
            self._outcomes(outcome_ids, required=True)
        self.trigger_event(
            ev.TargetRevised,
            target_id=str(target_id),
            kind=kind,
            text=_need_text(text, "text", "The target's wording") if text is not None else target["text"],
            success_criteria=(
                _need_text(success_criteria, "success_criteria", "Success criteria")
                if success_criteria is not None
                else target["success_criteria"]
            ),
            outcome_ids=[str(o) for o in outcome_ids] if outcome_ids is not None else target["outcome_ids"],
            review_by=_iso_date(review_by, "review_by") if review_by is not None else target["review_by"],
            reason=_need_text(reason, "reason", "A reason for the change"),
            review_id=review_id,
            **stamp,
        )

    def close_target(
        self, *, stamp: dict, target_id: str, closed_as: str, reason: str, review_id: str | None = None
    ) -> None:
        self._open_target(target_id, "target_id")
        _need(closed_as, "closed_as", TARGET_CLOSED_AS)
        self.trigger_event(
            ev.TargetClosed,
            target_id=str(target_id),
            closed_as=closed_as,
            reason=_need_text(reason, "reason", "A reason for closing the target"),
            review_id=review_id,
            **stamp,
        )

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
        now: datetime | None = None,
    ) -> bool:
        """Records evidence. Returns False, recording nothing, when the same
        observation (same id, same body) was already recorded: a device may send
        it again after losing the answer. The same id with another body is a
        conflict (409)."""
        observation_id = str(observation_id)
        observed_at = _aware(observed_at, "observed_at")
        note = (note or "").strip()
        digest = observation_digest(str(target_id), rating, prompt_level, context, note, observed_at)
        seen = self.observation(observation_id)
        if seen is not None:
            if seen["digest"] == digest:
                return False
            raise RuleBroken(
                "id", "this observation id was already used for a different observation", 409
            )
        self._open_target(target_id, "target_id")
        self._judgement(rating, prompt_level, context)
        self._not_future(observed_at, "observed_at", now)
        self.trigger_event(
            ev.ObservationRecorded,
            observation_id=observation_id,
            target_id=str(target_id),
            rating=rating,
            prompt_level=prompt_level,
            context=context,
            note=note,
            observed_at=observed_at,
            **stamp,
        )
        return True

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
        rating = rating if rating is not None else current["rating"]
        prompt_level = prompt_level if prompt_level is not None else current["prompt_level"]
        context = context if context is not None else current["context"]
        self._judgement(rating, prompt_level, context)
        when = (
            _aware(observed_at, "observed_at")
            if observed_at is not None
            else datetime.fromisoformat(current["observed_at"])
        )
        self._not_future(when, "observed_at", now)
        note = (note if note is not None else current["note"]).strip()
        if (rating, prompt_level, context, note, when.isoformat()) == (
            current["rating"], current["prompt_level"], current["context"], current["note"], current["observed_at"]
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
            reason=_need_text(reason, "reason", "A reason for the correction"),
            **stamp,
        )

    def withdraw_observation(self, *, stamp: dict, observation_id: str, reason: str) -> None:
        self._live_observation(observation_id)
        self.trigger_event(
            ev.ObservationWithdrawn,
            observation_id=str(observation_id),
            reason=_need_text(reason, "reason", "A reason for withdrawing it"),
            **stamp,
        )

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
        _need(answer, "answer", SELF_ASSESSMENT_ANSWERS)
        assessed_at = _aware(assessed_at, "assessed_at") if assessed_at else clock_now()
        self._not_future(assessed_at, "assessed_at", now)
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
        held = _iso_date(held_on, "held_on")
        if held > clock_now().date().isoformat():
            raise RuleBroken("held_on", "cannot be in the future")
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
            _need(t["baseline"], f"new_targets.{i}.baseline", RATINGS)
        review_id = new_id()
        clean = [
            {k: (str(v) if isinstance(v, (uuid.UUID, date)) else v) for k, v in d.items() if v is not None}
            for d in decisions
        ]
        self.trigger_event(
            ev.ProgressReviewHeld,
            review_id=review_id,
            held_on=held,
            attendees=[a.strip() for a in attendees if a and a.strip()],
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

    def record_summative_assessment(
        self, *, stamp: dict, target_id: str, rating: str, summary: str, assessed_on: date | str
    ) -> None:
        self._target(target_id, "target_id")
        _need(rating, "rating", RATINGS)
        self.trigger_event(
            ev.SummativeAssessmentRecorded,
            target_id=str(target_id),
            rating=rating,
            summary=_need_text(summary, "summary", "A summary"),
            assessed_on=_iso_date(assessed_on, "assessed_on"),
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
        _need(pfa_area, "pfa_area", PFA_AREAS, optional=True)
        _need(context, "context", CONTEXTS, optional=True)
        uid = new_id()
        self.trigger_event(
            ev.UnplannedOutcomeRecognised,
            unplanned_id=uid,
            text=_need_text(text, "text", "What the learner achieved"),
            pfa_area=pfa_area,
            context=context,
            recognised_on=_iso_date(recognised_on, "recognised_on"),
            **stamp,
        )
        return uid

    def agree_next_step(self, *, stamp: dict, text: str, agreed_on: date | str) -> str:
        nid = new_id()
        self.trigger_event(
            ev.NextStepAgreed,
            next_step_id=nid,
            text=_need_text(text, "text", "The next step"),
            agreed_on=_iso_date(agreed_on, "agreed_on"),
            **stamp,
        )
        return nid

    def record_destination(
        self, *, stamp: dict, kind: str, detail: str, starts_on: date | str
    ) -> str:
        _need(kind, "kind", DESTINATIONS)
        did = new_id()
        self.trigger_event(
            ev.DestinationRecorded,
            destination_id=did,
            kind=kind,
            detail=(detail or "").strip(),
            starts_on=_iso_date(starts_on, "starts_on"),
            **stamp,
        )
        return did

    def confirm_destination_sustained(
        self, *, stamp: dict, destination_id: str, confirmed_on: date | str, note: str = ""
    ) -> None:
        """Two terms on, the learner is still there (the sustained measure)."""
        destination = self.destinations.get(str(destination_id))
        if destination is None:
            raise RuleBroken("destination_id", "no such destination for this learner")
        if destination["sustained_on"]:
            raise RuleBroken("destination_id", "already confirmed as sustained", 409)
        confirmed = _iso_date(confirmed_on, "confirmed_on")
        if confirmed < destination["follow_up_on"]:
            raise RuleBroken(
                "confirmed_on",
                f"a destination counts as sustained after two terms: from {destination['follow_up_on']}",
            )
        if confirmed > clock_now().date().isoformat():
            raise RuleBroken("confirmed_on", "cannot be in the future")
        self.trigger_event(
            ev.DestinationSustained,
            destination_id=str(destination_id),
            confirmed_on=confirmed,
            note=(note or "").strip(),
            **stamp,
        )

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
        held = _iso_date(held_on, "held_on")
        if held > clock_now().date().isoformat():
            raise RuleBroken("held_on", "cannot be in the future")
        start, end = _iso_date(period_from, "period_from"), _iso_date(period_to, "period_to")
        if start > end:
            raise RuleBroken("period_from", "must be before the end of the period")
        seen = set()
        for i, r in enumerate(recommendations):
            oid = str(r["outcome_id"])
            self._outcome(oid, f"recommendations.{i}.outcome_id")
            if oid in seen:
                raise RuleBroken(f"recommendations.{i}.outcome_id", "one recommendation per outcome")
            seen.add(oid)
            _need(r["recommendation"], f"recommendations.{i}.recommendation", RECOMMENDATIONS)
        review_id = new_id()
        self.trigger_event(
            ev.AnnualReviewHeld,
            review_id=review_id,
            held_on=held,
            period_from=start,
            period_to=end,
            attendees=[a.strip() for a in attendees if a and a.strip()],
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

    def erase(self, *, stamp: dict, reason: str) -> None:
        """Marks the record erased, keeping only its anonymous shape (so the
        cohort's counts do not change); the service then destroys the key."""
        if self.erased:
            raise RuleBroken("learner_id", "this learner's data was already erased", 409)
        self.trigger_event(
            ev.LearnerDataErased,
            reason=_need_text(reason, "reason", "A reason for erasure"),
            summary=self.anonymous_shape(),
            **stamp,
        )

    def anonymous_shape(self) -> dict:
        """What stays countable after erasure, and nothing that says who:
        providers, each outcome's PfA area, each target's status and distance
        travelled (by the same rule as the read model: the live observation
        observed last, ties to the one recorded last), and each destination's
        kind and whether it was sustained. No words, names, ids or dates."""
        latest: dict[str, tuple[tuple[str, int], str]] = {}
        for order, entry in enumerate(self.observations.values()):
            observation = dict(zip(OBS_FIELDS, entry))
            if observation["withdrawn"]:
                continue
            when = (observation["observed_at"], order)
            held = latest.get(observation["target_id"])
            if held is None or when > held[0]:
                latest[observation["target_id"]] = (when, observation["rating"])
        outcome_index = {oid: i for i, oid in enumerate(self.outcomes)}
        targets = []
        for target_id, target in self.targets.items():
            rating = latest[target_id][1] if target_id in latest else None
            distance = (RATINGS.index(rating) - RATINGS.index(target["baseline"])
                        if rating and target["baseline"] else 0)
            targets.append({
                "status": target["status"], "closed_as": target["closed_as"], "distance": distance,
                "outcomes": sorted(outcome_index[o] for o in target["outcome_ids"] if o in outcome_index),
            })
        return {
            "providers": dict(self.providers),
            "outcomes": [{"pfa_area": o["pfa_area"]} for o in self.outcomes.values()],
            "targets": targets,
            "destinations": [{"kind": d["kind"], "sustained": d["sustained_on"] is not None}
                             for d in self.destinations.values()],
        }

    def observation(self, observation_id: str) -> dict | None:
        entry = self.observations.get(observation_id)
        return dict(zip(OBS_FIELDS, entry)) if entry is not None else None

    def __deepcopy__(self, memo) -> Learner:
        """The repository copies cached aggregates before each command. Entries
        of observations are replaced, never changed in place, and other entries
        are small dicts whose lists are replaced too, so one level of copying
        gives an independent copy at a fraction of deepcopy's cost."""
        clone = object.__new__(type(self))
        state = dict(self.__dict__)
        for key, value in state.items():
            if isinstance(value, dict):
                state[key] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in value.items()}
            elif isinstance(value, list):
                state[key] = list(value)
        clone.__dict__.update(state)
        return clone

    # --- rules shared by commands -------------------------------------------
    def _outcome(self, outcome_id: str, field: str) -> dict:
        try:
            return self.outcomes[str(outcome_id)]
        except KeyError:
            raise RuleBroken(field, "no such EHCP outcome for this learner") from None

    def _outcomes(self, outcome_ids: list[str], *, required: bool) -> None:
        if required and not outcome_ids:
            raise RuleBroken("outcome_ids", "link the target to at least one EHCP outcome")
        for i, oid in enumerate(outcome_ids):
            self._outcome(oid, f"outcome_ids.{i}")

    def _target(self, target_id: str, field: str) -> dict:
        try:
            return self.targets[str(target_id)]
        except KeyError:
            raise RuleBroken(field, "no such target for this learner") from None

    def _open_target(self, target_id: str, field: str) -> dict:
        target = self._target(target_id, field)
        if target["status"] != "open":
            raise RuleBroken(field, f"this target was closed ({target['closed_as']})", 409)
        return target

    def _live_observation(self, observation_id: str) -> dict:
        seen = self.observation(str(observation_id))
        if seen is None:
            raise RuleBroken("observation_id", "no such observation for this learner")
        if seen["withdrawn"]:
            raise RuleBroken("observation_id", "this observation was withdrawn", 409)
        return seen

    @staticmethod
    def _judgement(rating: str, prompt_level: str | None, context: str | None) -> None:
        _need(rating, "rating", RATINGS)
        _need(prompt_level, "prompt_level", PROMPT_LEVELS, optional=True)
        _need(context, "context", CONTEXTS, optional=True)

    @staticmethod
    def _not_future(moment: datetime, field: str, now: datetime | None) -> None:
        # Tablets' clocks drift: allow five minutes before calling a time future.
        now = now or clock_now()
        if (moment - now).total_seconds() > 300:
            raise RuleBroken(field, "cannot be in the future")

    # --- how events change the state ----------------------------------------
    @singledispatchmethod
    def when(self, event: Any) -> None:
        raise NotImplementedError(type(event).__name__)

    @when.register
    def _(self, e: ev.LearnerEnrolled) -> None:
        self.name = e.name
        self.preferred_name = e.preferred_name
        self.date_of_birth = e.date_of_birth
        self.lead_provider = e.lead_provider
        self.providers = {e.lead_provider: True}
        self.consents: dict[str, bool] = {}
        self.outcomes: dict[str, dict] = {}
        self.aims: dict[str, dict] = {}
        self.targets: dict[str, dict] = {}
        self.observations: dict[str, list] = {}
        self.destinations: dict[str, dict] = {}
        self.erased = False

    @when.register
    def _(self, e: ev.ProviderJoined) -> None:
        if e.lead:
            self.providers = {p: False for p in self.providers}
            self.lead_provider = e.joined
        self.providers[e.joined] = e.lead

    @when.register
    def _(self, e: ev.ProviderLeft) -> None:
        self.providers.pop(e.left, None)

    @when.register
    def _(self, e: ev.ConsentRecorded) -> None:
        self.consents[e.consent] = e.given

    @when.register
    def _(self, e: ev.EHCPOutcomeRecorded) -> None:
        self.outcomes[e.outcome_id] = {"text": e.text, "pfa_area": e.pfa_area, "due": e.due}

    @when.register
    def _(self, e: ev.EHCPOutcomeAmended) -> None:
        self.outcomes[e.outcome_id] = {"text": e.text, "pfa_area": e.pfa_area, "due": e.due}

    @when.register
    def _(self, e: ev.ProgrammeAimAgreed) -> None:
        self.aims[e.aim_id] = {"text": e.text, "outcome_ids": list(e.outcome_ids)}

    @when.register
    def _(self, e: ev.TargetSet) -> None:
        self.targets[e.target_id] = {
            "text": e.text,
            "success_criteria": e.success_criteria,
            "outcome_ids": list(e.outcome_ids),
            "review_by": e.review_by,
            "baseline": None,
            "status": "open",
            "closed_as": None,
        }

    @when.register
    def _(self, e: ev.BaselineRecorded) -> None:
        self.targets[e.target_id]["baseline"] = e.rating

    @when.register
    def _(self, e: ev.TargetRevised) -> None:
        self.targets[e.target_id].update(
            text=e.text,
            success_criteria=e.success_criteria,
            outcome_ids=list(e.outcome_ids),
            review_by=e.review_by,
        )

    @when.register
    def _(self, e: ev.TargetClosed) -> None:
        self.targets[e.target_id].update(status="closed", closed_as=e.closed_as)

    # Each observation is a list of plain values (see OBS_FIELDS; a list, not a
    # tuple, so a snapshot restores it exactly). Entries are replaced, never
    # changed in place, so copying a learner with years of evidence is a
    # shallow dict copy (see __deepcopy__).
    @when.register
    def _(self, e: ev.ObservationRecorded) -> None:
        digest = observation_digest(e.target_id, e.rating, e.prompt_level, e.context, e.note, e.observed_at)
        self.observations[e.observation_id] = [
            e.target_id, digest, False, e.rating, e.prompt_level, e.context, e.note, e.observed_at.isoformat()
        ]

    @when.register
    def _(self, e: ev.ObservationCorrected) -> None:
        old = self.observations[e.observation_id]
        self.observations[e.observation_id] = [
            old[0], old[1], old[2], e.rating, e.prompt_level, e.context, e.note, e.observed_at.isoformat()
        ]

    @when.register
    def _(self, e: ev.ObservationWithdrawn) -> None:
        old = self.observations[e.observation_id]
        self.observations[e.observation_id] = [old[0], old[1], True, *old[3:]]

    @when.register
    def _(self, e: ev.LearnerDataErased) -> None:
        # Nothing personal stays in memory either (the cache may hold this).
        self.erased = True
        self.name = self.preferred_name = "(erased)"
        self.date_of_birth = None
        for held in (self.consents, self.outcomes, self.aims, self.targets, self.observations, self.destinations):
            held.clear()

    @when.register
    def _(self, e: ev.DestinationRecorded) -> None:
        self.destinations[e.destination_id] = {
            "kind": e.kind, "starts_on": e.starts_on, "follow_up_on": follow_up_date(e.starts_on),
            "sustained_on": None,
        }

    @when.register
    def _(self, e: ev.DestinationSustained) -> None:
        self.destinations[e.destination_id] = {**self.destinations[e.destination_id], "sustained_on": e.confirmed_on}

    # Events that add to the history without changing what commands check.
    @when.register(ev.SelfAssessmentRecorded)
    @when.register(ev.ProgressReviewHeld)
    @when.register(ev.SummativeAssessmentRecorded)
    @when.register(ev.UnplannedOutcomeRecognised)
    @when.register(ev.NextStepAgreed)
    @when.register(ev.AnnualReviewHeld)
    def _(self, e: Any) -> None:
        pass


class Provider(Aggregate):
    """A college or specialist provider, found by its short code (slug)."""

    def __init__(self) -> None:
        pass

    @classmethod
    def register(cls, *, stamp: dict, slug: str, name: str) -> Provider:
        slug = _need_text(slug, "slug", "A short code").lower()
        if not slug.replace("-", "").isalnum():
            raise RuleBroken("slug", "use letters, digits and hyphens only, e.g. northfield")
        return cls._create(
            st.ProviderRegistered,
            id=provider_id(slug),
            slug=slug,
            name=_need_text(name, "name", "The provider's name"),
            **stamp,
        )

    @singledispatchmethod
    def when(self, event: Any) -> None:
        raise NotImplementedError(type(event).__name__)

    @when.register
    def _(self, e: st.ProviderRegistered) -> None:
        self.slug = e.slug
        self.name = e.name


class User(Aggregate):
    """A member of staff (or auditor, or administrator) and their caseload."""

    def __init__(self) -> None:
        pass

    @classmethod
    def register(
        cls,
        *,
        stamp: dict,
        email: str,
        display_name: str,
        role: str,
        provider: str | None,
        password_hash: str,
    ) -> User:
        _need(role, "role", ROLES)
        if role in ("tutor", "support", "send_lead") and not provider:
            raise RuleBroken("provider", f"a {role} belongs to a provider")
        email = email.strip().lower()
        return cls._create(
            st.UserRegistered,
            id=user_id(email),
            email=email,
            display_name=(display_name or email.split("@")[0]).strip(),
            user_role=role,
            user_provider=provider,
            password_hash=password_hash,
            **stamp,
        )

    def change_password(self, *, stamp: dict, password_hash: str, reason: str) -> None:
        self.trigger_event(st.PasswordChanged, password_hash=password_hash, reason=reason, **stamp)

    def add_to_caseload(self, *, stamp: dict, learner_id: str) -> bool:
        if str(learner_id) in self.caseload:
            return False
        self.trigger_event(st.CaseloadLearnerAdded, learner_id=str(learner_id), **stamp)
        return True

    def remove_from_caseload(self, *, stamp: dict, learner_id: str, reason: str) -> None:
        if str(learner_id) not in self.caseload:
            raise RuleBroken("learner_id", "this learner is not on the caseload")
        self.trigger_event(
            st.CaseloadLearnerRemoved, learner_id=str(learner_id), reason=reason, **stamp
        )

    @singledispatchmethod
    def when(self, event: Any) -> None:
        raise NotImplementedError(type(event).__name__)

    @when.register
    def _(self, e: st.UserRegistered) -> None:
        self.email = e.email
        self.display_name = e.display_name
        self.role = e.user_role
        self.provider = e.user_provider
        self.password_hash = e.password_hash
        self.caseload: list[str] = []

    @when.register
    def _(self, e: st.PasswordChanged) -> None:
        self.password_hash = e.password_hash

    @when.register
    def _(self, e: st.CaseloadLearnerAdded) -> None:
        self.caseload.append(e.learner_id)

    @when.register
    def _(self, e: st.CaseloadLearnerRemoved) -> None:
        self.caseload.remove(e.learner_id)


class ObservationIdClaim(Aggregate):
    """See events.staff.ObservationIdClaimed."""

    def __init__(self) -> None:
        pass

    @classmethod
    def claim(cls, *, stamp: dict, observation_id: str, learner_id: str) -> ObservationIdClaim:
        return cls._create(
            st.ObservationIdClaimed,
            id=uuid.UUID(str(observation_id)),
            learner_id=str(learner_id),
            **stamp,
        )

    @singledispatchmethod
    def when(self, event: Any) -> None:
        raise NotImplementedError(type(event).__name__)

    @when.register
    def _(self, e: st.ObservationIdClaimed) -> None:
        self.learner_id = e.learner_id

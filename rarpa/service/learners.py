"""The learner's record, one method per thing a person can do to it, in the
order of the five RARPA stages. Each names what it needs; the access rule for
it (``access.PLAN``, ``RECORD``, ``REVIEW``...) and the domain command it runs
are side by side."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Sequence

from eventsourcing.application import AggregateNotFoundError

from rarpa.record import Learner, ObservationIdClaim, RuleBroken
from rarpa.service import access
from rarpa.service.access import Actor, Forbidden, NotFound
from rarpa.service.cache import replay
from rarpa.service.written import Erased, Written
from rarpa.store.cipher import StreamErased


class LearnerService:
    """Mixed into RecordApplication, which provides ``_change`` (load, check,
    run, save, retry), loading and saving."""

    # --- enrolment, providers, consent -----------------------------------------------
    def enrol_learner(self, actor: Actor, *, name: str, date_of_birth: date | str, provider: str,
                      preferred_name: str | None = None, learner_id: uuid.UUID | None = None,
                      timestamp: datetime | None = None, partner: str | None = None,
                      partner_reason: str = "") -> Written:
        """With ``partner``, the learner also joins that provider (a dual
        placement; ``provider`` stays the lead) in the same transaction:
        both are written or neither."""
        if not actor.may(access.ENROL):
            raise Forbidden(f"a {actor.role} cannot enrol learners")
        if actor.role == "send_lead" and provider != actor.provider:
            raise RuleBroken("provider", f"you can enrol learners at {actor.provider} only")
        if not self.provider_exists(provider):
            raise RuleBroken("provider", f"no provider with the short code {provider!r}")
        if partner is not None and partner == provider:
            raise RuleBroken("partner", "must be another provider than the lead provider")
        if partner is not None and not self.provider_exists(partner):
            raise RuleBroken("partner", f"no provider with the short code {partner!r}")
        stamp = actor.stamp(provider)
        if timestamp:
            stamp["timestamp"] = timestamp
        learner = Learner.enrol(stamp=stamp, name=name, date_of_birth=date_of_birth, lead_provider=provider,
                                preferred_name=preferred_name, learner_id=learner_id)
        if partner is not None:
            learner.join_provider(stamp=stamp, provider=partner, lead=False, reason=partner_reason)
        return Written(str(learner.id), self._save(learner))

    def join_provider(self, actor: Actor, learner_id: str, *, provider: str, lead: bool, reason: str) -> Written:
        if not self.provider_exists(provider):
            raise RuleBroken("provider", f"no provider with the short code {provider!r}")
        return self._change(actor, learner_id, access.ENROL, lambda learner, stamp: learner.join_provider(
            stamp=stamp, provider=provider, lead=lead, reason=reason))

    def leave_provider(self, actor: Actor, learner_id: str, *, provider: str, reason: str) -> Written:
        """A provider stops working with the learner (the end of a dual
        placement). Its staff lose sight of the learner at once (access.py:
        a caseload counts only while their provider still works with them);
        what they recorded stays, labelled with their provider."""
        return self._change(actor, learner_id, access.ENROL, lambda learner, stamp: learner.leave_provider(
            stamp=stamp, provider=provider, reason=reason))

    def record_consent(self, actor: Actor, learner_id: str, *, consent: str, given: bool, reason: str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.record_consent(
            stamp=stamp, consent=consent, given=given, reason=reason))

    # --- stages 1-3: outcomes, aims, baselines and targets -------------------------------
    def record_outcome(self, actor: Actor, learner_id: str, *, text: str, pfa_area: str, due: date | str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.record_outcome(
            stamp=stamp, text=text, pfa_area=pfa_area, due=due))

    def amend_outcome(self, actor: Actor, learner_id: str, *, outcome_id: str, text: str, pfa_area: str,
                      due: date | str, reason: str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.amend_outcome(
            stamp=stamp, outcome_id=outcome_id, text=text, pfa_area=pfa_area, due=due, reason=reason))

    def agree_aim(self, actor: Actor, learner_id: str, *, text: str, outcome_ids: Sequence[str]) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.agree_aim(
            stamp=stamp, text=text, outcome_ids=list(outcome_ids)))

    def set_target(self, actor: Actor, learner_id: str, *, text: str, success_criteria: str,
                   outcome_ids: Sequence[str], baseline: str, review_by: date | str,
                   baseline_note: str = "") -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.set_target(
            stamp=stamp, text=text, success_criteria=success_criteria, outcome_ids=list(outcome_ids),
            baseline=baseline, review_by=review_by, baseline_note=baseline_note))

    def revise_target(self, actor: Actor, learner_id: str, *, target_id: str, kind: str, reason: str,
                      text: str | None = None, success_criteria: str | None = None,
                      outcome_ids: Sequence[str] | None = None, review_by: date | str | None = None) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.revise_target(
            stamp=stamp, target_id=target_id, kind=kind, reason=reason, text=text,
            success_criteria=success_criteria, outcome_ids=None if outcome_ids is None else list(outcome_ids),
            review_by=review_by))

    def close_target(self, actor: Actor, learner_id: str, *, target_id: str, closed_as: str, reason: str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.close_target(
            stamp=stamp, target_id=target_id, closed_as=closed_as, reason=reason))

    def word_target_for_learner(self, actor: Actor, learner_id: str, *, target_id: str, words: str,
                                reason: str = "Written with the learner") -> Written:
        """The target in the learner's own words (shown on their own pages).
        RECORD, not PLAN: the tutor or support assistant who sits with the
        learner writes it with them, as they record the learner's
        self-assessment; the plan itself (wording, criteria, outcomes, review
        date) is unchanged and stays the SEND lead's."""
        return self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.word_target_for_learner(
            stamp=stamp, target_id=target_id, words=words, reason=reason))

    # --- stage 4: evidence ------------------------------------------------------------------
    def record_observation(self, actor: Actor, learner_id: str, *, observation_id: str, target_id: str,
                           rating: str, observed_at: datetime, prompt_level: str | None = None,
                           context: str | None = None, note: str = "", new_to_learner: Sequence[str] = (),
                           now: datetime | None = None, photo: dict | None = None) -> Written:
        """Idempotent on the client's observation id: a repeat with the same body
        writes nothing (created=False); another body, or the id already used for
        another learner, is a 409. A new observation is saved together with
        the claim on its id, whose stream id *is* the observation id, so the
        store's unique key stops one id serving two learners. ``photo`` (what
        PhotoAttached says of a photo already kept: rarpa/service/photos.py)
        is attached in the same transaction."""
        observation_id = str(observation_id)
        tries = 0

        def command(learner: Learner, stamp: dict) -> bool:
            nonlocal tries
            tries += 1
            # Only after a failed save can the id be held by another learner:
            # the first try saves the claim and lets the store's unique key decide.
            if tries > 1 and observation_id not in learner.observations:
                claimed = self._claim_holder(observation_id)
                if claimed is not None and claimed != str(learner.id):
                    raise RuleBroken("id", "this observation id was already used for another learner", 409)
            created = learner.record_observation(
                stamp=stamp, observation_id=observation_id, target_id=target_id, rating=rating,
                observed_at=observed_at, prompt_level=prompt_level, context=context, note=note,
                new_to_learner=new_to_learner, now=now)
            if photo is not None:
                learner.attach_photo(stamp=stamp, observation_id=observation_id, **photo)
            return created

        def claim(learner: Learner, stamp: dict, created: bool) -> list:
            if not created:
                return []
            return [ObservationIdClaim.claim(stamp=stamp, observation_id=observation_id, learner_id=str(learner.id))]

        written = self._change(actor, learner_id, access.RECORD, command, companions=claim)
        written.result = {"id": observation_id}
        return written

    def _claim_holder(self, observation_id: str) -> str | None:
        """Which learner holds this id; any other stream with that id (a learner,
        a user...) counts as taken too."""
        try:
            holder = self.repository.get(uuid.UUID(observation_id), projector_func=replay)
        except AggregateNotFoundError:
            return None
        except StreamErased:
            return "(erased record)"
        return holder.learner_id if isinstance(holder, ObservationIdClaim) else "(another record)"

    def check_observation(self, actor: Actor, learner_id: str, *, observation_id: str, target_id: str,
                          rating: str, observed_at: datetime, prompt_level: str | None = None,
                          context: str | None = None, note: str = "", new_to_learner: Sequence[str] = (),
                          now: datetime | None = None) -> bool:
        """What ``record_observation`` would answer, writing nothing: True (it
        would be new), False (an exact repeat), or the same refusal (RuleBroken,
        NotFound, Forbidden). For a form recording for several learners that
        refuses them all before it writes any (web/group.py)."""
        observation_id = str(observation_id)
        learner = self.learner(actor, learner_id, access.RECORD)  # a copy: what the command does to it is dropped
        if observation_id not in learner.observations:
            claimed = self._claim_holder(observation_id)
            if claimed is not None and claimed != str(learner.id):
                raise RuleBroken("id", "this observation id was already used for another learner", 409)
        return learner.record_observation(
            stamp=actor.stamp(learner.lead_provider), observation_id=observation_id, target_id=target_id,
            rating=rating, observed_at=observed_at, prompt_level=prompt_level, context=context, note=note,
            new_to_learner=new_to_learner, now=now)

    def correct_observation(self, actor: Actor, learner_id: str, *, observation_id: str, reason: str,
                            rating: str | None = None, prompt_level: str | None = None,
                            context: str | None = None, note: str | None = None,
                            observed_at: datetime | None = None, now: datetime | None = None) -> Written:
        return self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.correct_observation(
            stamp=stamp, observation_id=observation_id, reason=reason, rating=rating, prompt_level=prompt_level,
            context=context, note=note, observed_at=observed_at, now=now))

    def withdraw_observation(self, actor: Actor, learner_id: str, *, observation_id: str, reason: str) -> Written:
        return self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.withdraw_observation(
            stamp=stamp, observation_id=observation_id, reason=reason))

    def record_self_assessment(self, actor: Actor, learner_id: str, *, target_id: str, answer: str,
                               words: str = "", assessed_at: datetime | None = None,
                               now: datetime | None = None) -> Written:
        return self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.record_self_assessment(
            stamp=stamp, target_id=target_id, answer=answer, words=words, assessed_at=assessed_at, now=now))

    # --- reviews and stage 5 -----------------------------------------------------------------
    def hold_progress_review(self, actor: Actor, learner_id: str, *, held_on: date | str, attendees: Sequence[str],
                             learner_views: str, decisions: Sequence[dict],
                             new_targets: Sequence[dict] = ()) -> Written:
        return self._change(actor, learner_id, access.REVIEW, lambda learner, stamp: learner.hold_progress_review(
            stamp=stamp, held_on=held_on, attendees=list(attendees), learner_views=learner_views,
            decisions=list(decisions), new_targets=list(new_targets)))

    def record_summative_assessment(self, actor: Actor, learner_id: str, *, target_id: str, rating: str,
                                    summary: str, assessed_on: date | str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.record_summative_assessment(
            stamp=stamp, target_id=target_id, rating=rating, summary=summary, assessed_on=assessed_on))

    def record_outcome_summative(self, actor: Actor, learner_id: str, *, outcome_id: str, judgement: str,
                                 summary: str, assessed_on: date | str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.record_outcome_summative(
            stamp=stamp, outcome_id=outcome_id, judgement=judgement, summary=summary, assessed_on=assessed_on))

    def recognise_unplanned_outcome(self, actor: Actor, learner_id: str, *, text: str, recognised_on: date | str,
                                    pfa_area: str | None = None, context: str | None = None) -> Written:
        return self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.recognise_unplanned_outcome(
            stamp=stamp, text=text, recognised_on=recognised_on, pfa_area=pfa_area, context=context))

    def agree_next_step(self, actor: Actor, learner_id: str, *, text: str, agreed_on: date | str) -> Written:
        return self._change(actor, learner_id, access.REVIEW, lambda learner, stamp: learner.agree_next_step(
            stamp=stamp, text=text, agreed_on=agreed_on))

    def record_destination(self, actor: Actor, learner_id: str, *, kind: str, detail: str,
                           starts_on: date | str) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.record_destination(
            stamp=stamp, kind=kind, detail=detail, starts_on=starts_on))

    def confirm_destination_sustained(self, actor: Actor, learner_id: str, *, destination_id: str,
                                      confirmed_on: date | str, note: str = "") -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.confirm_destination_sustained(
            stamp=stamp, destination_id=destination_id, confirmed_on=confirmed_on, note=note))

    def hold_annual_review(self, actor: Actor, learner_id: str, *, held_on: date | str, period_from: date | str,
                           period_to: date | str, attendees: Sequence[str], learner_views: str,
                           recommendations: Sequence[dict]) -> Written:
        """Records the annual review with the fingerprint of the record as it
        stood when reviewed (the head of the learner's hash chain)."""
        return self._change(actor, learner_id, access.REVIEW, lambda learner, stamp: learner.hold_annual_review(
            stamp=stamp, held_on=held_on, period_from=period_from, period_to=period_to, attendees=list(attendees),
            learner_views=learner_views, recommendations=list(recommendations),
            fingerprint=self.fingerprint(learner.id, learner.version)))

    def record_import(self, actor: Actor, learner_id: str, **origin) -> Written:
        """After a learner's imported events: where they came from (portable.py)."""
        return self._change(actor, learner_id, access.ENROL, lambda learner, stamp: learner.record_import(
            stamp=stamp, **origin))

    # --- erasure ----------------------------------------------------------------------------
    def erase_learner(self, actor: Actor, learner_id: str, reason: str) -> Written:
        """Crypto-shredding: write the (clear) erasure event, with the
        anonymous shape of the record that stays countable, then destroy the
        learner's key, in the vault file and its WAL. The events stay,
        chained and countable, but unreadable. Running it again finishes an
        erasure that was interrupted before the key was destroyed. The
        operator (CLI) and an administrator (web) may erase, by the record's
        reference: the administrator never sees the record."""
        key, learner = self._to_erase(actor, learner_id)
        if learner is None:  # the key is already gone: make sure no copy is left
            self.vault.destroy_key(str(key), reason)
            return Written(str(key), None, created=False, learner_id=str(key))
        position = None
        if not learner.erased:
            def erase(learner: Learner, stamp: dict) -> None:
                _names_nobody(reason, learner)
                learner.erase(stamp=stamp, reason=reason)

            position = self._change(actor, str(key), access.ERASE, erase).position
        self.cache.evict(key)
        from rarpa.read.as_at_memo import forget  # what as-at views kept in memory
        forget(self, key)
        # Snapshots are sealed with the same key, so they become unreadable too.
        self.vault.destroy_key(str(key), reason)
        return Written(str(key), position, learner_id=str(key))

    def _to_erase(self, actor: Actor, learner_id: str) -> tuple[uuid.UUID, Learner | None]:
        """The learner's id and aggregate for an erasure, by reference (no
        sight of the record needed); None when their key is already gone."""
        if not actor.may(access.ERASE):
            raise Forbidden(f"a {actor.role} cannot erase a learner's data: erasure is done by an administrator")
        try:
            key = uuid.UUID(str(learner_id))
        except ValueError:
            raise NotFound("learner") from None
        try:
            return key, self._get(Learner, key, "learner")
        except Erased:
            return key, None

    def erasure_subject(self, actor: Actor, learner_id: str) -> dict:
        """What an administrator is shown to be sure they are erasing the right
        person, and nothing more of the record: the learner's full name and
        the providers they attend (short code: lead?); or that the record was
        already erased (``erased``, with no name)."""
        key, learner = self._to_erase(actor, learner_id)
        if learner is None or learner.erased:
            return {"learner_id": str(key), "erased": True, "name": None, "providers": {}}
        return {"learner_id": str(learner.id), "erased": False, "name": learner.name,
                "providers": dict(learner.providers)}


def _names_nobody(reason: str, learner: Learner) -> None:
    """The erasure event is kept in clear, reason and all: a reason that names
    the learner would keep their name after their data is gone."""
    said = " ".join((reason or "").split()).casefold()
    names = {" ".join(learner.name.split()), (learner.name.split() or [""])[0], learner.preferred_name or ""}
    for name in names:
        name = name.casefold()
        if name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", said):
            raise RuleBroken("reason", "must not name the learner: the reason is kept, readable, after the erasure")

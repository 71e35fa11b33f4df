"""The learner's record: one aggregate, one stream, the whole RARPA record.

This module holds what is about the learner as a whole (enrolment, the
providers who work with them, consent, erasure, and how the record is copied
and snapshotted); the stages of the record are mixins, each command beside the
handler of the event it raises: ``plan.py`` (outcomes, aims, targets),
``evidence.py`` (observations, self-assessments) and ``review.py`` (reviews,
next steps, destinations). Every command takes ``stamp``: who is acting, in
which role, at which provider (and, for imports only, an explicit
``timestamp``).
"""

from __future__ import annotations

import uuid
from datetime import date

from eventsourcing.domain import Aggregate

from events import learner as ev
from events.base import now as clock_now
from events.vocabulary import CONSENTS
from rarpa.record import measures
from rarpa.record.dispatch import AppliesEvents, applies
from rarpa.record.evidence import EvidenceStage
from rarpa.record.family import FamilyStage
from rarpa.record.photos import PhotoStage
from rarpa.record.plan import PlanStage
from rarpa.record.records import Aim, Contribution, Destination, FamilyMember, Observation, Outcome, Photo, Target
from rarpa.record.review import ReviewStage
from rarpa.record.rules import RuleBroken, iso_date, need, need_text


class Learner(PlanStage, EvidenceStage, PhotoStage, FamilyStage, ReviewStage, AppliesEvents, Aggregate):
    """One young person's record: enrolment, EHCP outcomes, aims, baselines,
    targets, evidence, reviews and where they go next."""

    # Version 2 holds typed records (records.py) where version 1 held plain
    # dicts and each observation as a list of values: see upcast_v1_v2.
    # Version 3 holds photos (records.Photo): see upcast_v2_v3.
    # Version 4 holds family members and their contributions: see upcast_v3_v4.
    class_version = 4

    def __init__(self) -> None:
        # State is set by the LearnerEnrolled handler below.
        pass

    # --- enrolment ---------------------------------------------------------------------
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
        name = need_text(name, "name", "The learner's name")
        dob = iso_date(date_of_birth, "date_of_birth")
        today = clock_now().date().isoformat()
        if dob >= today:
            raise RuleBroken("date_of_birth", "must be in the past")
        return cls._create(
            ev.LearnerEnrolled,
            id=learner_id or uuid.uuid4(),
            name=name,
            preferred_name=(preferred_name or "").strip() or name.split()[0],
            date_of_birth=dob,
            lead_provider=lead_provider,
            **stamp,
        )

    @applies(ev.LearnerEnrolled)
    def _enrolled(self, e: ev.LearnerEnrolled) -> None:
        self.name = e.name
        self.preferred_name = e.preferred_name
        self.date_of_birth = e.date_of_birth
        self.lead_provider = e.lead_provider
        self.providers = {e.lead_provider: True}
        self.consents: dict[str, bool] = {}
        self.outcomes: dict[str, Outcome] = {}
        self.aims: dict[str, Aim] = {}
        self.targets: dict[str, Target] = {}
        self.observations: dict[str, Observation] = {}
        self.destinations: dict[str, Destination] = {}
        self.photos: dict[str, Photo] = {}
        self.family: dict[str, FamilyMember] = {}
        self.contributions: dict[str, Contribution] = {}
        self.erased = False

    # --- who works with the learner ------------------------------------------------------
    def join_provider(self, *, stamp: dict, provider: str, lead: bool, reason: str) -> None:
        if provider in self.providers and self.providers[provider] == lead:
            raise RuleBroken("provider", f"{provider} already works with this learner", 409)
        if provider == self.lead_provider and not lead:
            # Joining "again" as a partner would leave the learner with no lead provider.
            raise RuleBroken("provider", f"{provider} already works with this learner as the lead provider", 409)
        self.trigger_event(
            ev.ProviderJoined,
            joined=provider,
            lead=lead,
            reason=need_text(reason, "reason", "A reason"),
            **stamp,
        )

    @applies(ev.ProviderJoined)
    def _provider_joined(self, e: ev.ProviderJoined) -> None:
        if e.lead:
            self.providers = {p: False for p in self.providers}
            self.lead_provider = e.joined
        self.providers[e.joined] = e.lead

    def leave_provider(self, *, stamp: dict, provider: str, reason: str) -> None:
        if provider not in self.providers:
            raise RuleBroken("provider", f"{provider} does not work with this learner")
        if self.lead_provider == provider:
            raise RuleBroken("provider", "make another provider the lead before the lead leaves")
        self.trigger_event(
            ev.ProviderLeft, left=provider, reason=need_text(reason, "reason", "A reason"), **stamp
        )

    @applies(ev.ProviderLeft)
    def _provider_left(self, e: ev.ProviderLeft) -> None:
        self.providers.pop(e.left, None)

    # --- consent -------------------------------------------------------------------------
    def record_consent(self, *, stamp: dict, consent: str, given: bool, reason: str) -> None:
        need(consent, "consent", CONSENTS)
        self.trigger_event(
            ev.ConsentRecorded, consent=consent, given=bool(given), reason=reason or "", **stamp
        )

    @applies(ev.ConsentRecorded)
    def _consent_recorded(self, e: ev.ConsentRecorded) -> None:
        self.consents[e.consent] = e.given

    # --- moving between installations ---------------------------------------------
    def record_import(self, *, stamp: dict, source: str, exported_at, exported_by: str, source_fingerprint: str,
                      file_checksum: str, people: dict, reason: str) -> None:
        """Says, after the imported events, where they came from."""
        self.trigger_event(ev.LearnerImported, source=need_text(source, "source", "Where the file came from"),
                           exported_at=exported_at, exported_by=exported_by, source_fingerprint=source_fingerprint,
                           file_checksum=file_checksum, people=dict(people), reason=reason or "", **stamp)

    @applies(ev.LearnerImported)
    def _imported(self, e: ev.LearnerImported) -> None:
        self.imported_from = e.source

    # --- erasure -------------------------------------------------------------------------
    def erase(self, *, stamp: dict, reason: str) -> None:
        """Marks the record erased, keeping only its anonymous shape (so the
        cohort's counts do not change); the service then destroys the key."""
        if self.erased:
            raise RuleBroken("learner_id", "this learner's data was already erased", 409)
        self.trigger_event(
            ev.LearnerDataErased,
            reason=need_text(reason, "reason", "A reason for erasure"),
            summary=self.anonymous_shape(),
            **stamp,
        )

    @applies(ev.LearnerDataErased)
    def _erased(self, e: ev.LearnerDataErased) -> None:
        # Nothing personal stays in memory either (the cache may hold this).
        self.erased = True
        self.name = self.preferred_name = "(erased)"
        self.date_of_birth = None
        for held in ("consents", "outcomes", "aims", "targets", "observations", "destinations", "photos", "family",
                     "contributions"):
            setattr(self, held, {})

    def anonymous_shape(self) -> dict:
        """What stays countable after erasure, and nothing that says who:
        providers, each outcome's PfA area, each target's status and distance
        travelled (by the same rules as the read model, measures.py), and each
        destination's kind and whether it was sustained. No words, names, ids
        or dates."""
        live: dict[str, list[tuple[str, int, str]]] = {}
        for order, seen in enumerate(self.observations.values()):
            if not seen.withdrawn:
                live.setdefault(seen.target_id, []).append((seen.observed_at, order, seen.rating))
        outcome_index = {oid: i for i, oid in enumerate(self.outcomes)}
        return {
            "providers": dict(self.providers),
            "outcomes": [{"pfa_area": o.pfa_area} for o in self.outcomes.values()],
            "targets": [
                {
                    "status": target.status,
                    "closed_as": target.closed_as,
                    "distance": measures.distance(target.baseline, measures.latest_rating(live.get(tid, ()))),
                    "outcomes": sorted(outcome_index[o] for o in target.outcome_ids if o in outcome_index),
                }
                for tid, target in self.targets.items()
            ],
            "destinations": [{"kind": d.kind, "sustained": d.sustained_on is not None}
                             for d in self.destinations.values()],
        }

    # --- copies and snapshots -------------------------------------------------------------
    def __deepcopy__(self, memo) -> Learner:
        """The repository copies cached aggregates before each command. Records
        are immutable and replaced, never changed in place (records.py), so
        copying the dicts and lists that hold them gives an independent copy
        at a fraction of deepcopy's cost."""
        clone = object.__new__(type(self))
        clone.__dict__.update({
            key: dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
            for key, value in self.__dict__.items()
        })
        return clone

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        """A snapshot taken before the records were typed: outcomes, aims,
        targets and destinations as dicts (a destination with its follow-up
        date, now worked out from when it starts), observations as lists of
        values in the order of Observation's fields."""
        state["outcomes"] = {k: Outcome(**v) for k, v in state["outcomes"].items()}
        state["aims"] = {k: Aim(v["text"], tuple(v["outcome_ids"])) for k, v in state["aims"].items()}
        state["targets"] = {
            k: Target(**{**v, "outcome_ids": tuple(v["outcome_ids"])}) for k, v in state["targets"].items()
        }
        state["observations"] = {k: Observation(*v) for k, v in state["observations"].items()}
        state["destinations"] = {
            k: Destination(v["kind"], v["starts_on"], v["sustained_on"]) for k, v in state["destinations"].items()
        }

    @staticmethod
    def upcast_v2_v3(state: dict) -> None:
        """A snapshot taken before photos existed held none."""
        state["photos"] = {}

    @staticmethod
    def upcast_v3_v4(state: dict) -> None:
        """A snapshot taken before families could be let in held none."""
        state["family"] = {}
        state["contributions"] = {}

"""A learner's timeline: every event of their record, in the order it was
recorded, as a person reads it — what happened, when it happened and when it
was recorded, by whom, in which role, at which provider and why.

Built straight from the events (not from the read model), so nothing the
record ever said is hidden: a correction or a withdrawal sits beside the
entry it replaced, which stays. ``changes`` is the same view of the events
recorded in a window (after one instant, up to another): the auditor's
"what changed between these two days".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any, Iterable

from events import vocabulary

W = vocabulary.WORDS

# What each kind of event is called on the timeline (and in its filter).
KINDS: dict[str, str] = {
    "LearnerEnrolled": "Enrolled",
    "ProviderJoined": "Provider joined",
    "ProviderLeft": "Provider left",
    "ConsentRecorded": "Consent",
    "EHCPOutcomeRecorded": "EHCP outcome recorded",
    "EHCPOutcomeAmended": "EHCP outcome amended",
    "ProgrammeAimAgreed": "Programme aim agreed",
    "TargetSet": "Target set",
    "BaselineRecorded": "Baseline recorded",
    "TargetRevised": "Target revised",
    "TargetClosed": "Target closed",
    "TargetWordedForLearner": "Target in the learner's words",
    "ObservationRecorded": "Observation",
    "ObservationCorrected": "Observation corrected",
    "ObservationWithdrawn": "Observation withdrawn",
    "PhotoAttached": "Photo",
    "PhotoChosenForPack": "Photo chosen for the pack",
    "PhotoRemoved": "Photo removed",
    "SelfAssessmentRecorded": "Self-assessment",
    "ProgressReviewHeld": "Progress review",
    "SummativeAssessmentRecorded": "Summative assessment (target)",
    "OutcomeSummativeRecorded": "Summative judgement (EHCP outcome)",
    "UnplannedOutcomeRecognised": "Unplanned outcome",
    "NextStepAgreed": "Next step agreed",
    "DestinationRecorded": "Destination",
    "DestinationSustained": "Destination sustained",
    "AnnualReviewHeld": "Annual review",
    "LearnerDataErased": "Personal data erased",
    "LearnerImported": "Imported from another installation",
    "FamilyMemberInvited": "Family member let in",
    "FamilyAccessEnded": "Family member's access ended",
    "FamilyContributionSent": "Sent from home",
    "FamilyContributionAccepted": "From home: added as evidence",
    "FamilyContributionDeclined": "From home: not added",
}

# The field that says when the thing itself happened (not when it was recorded).
_HAPPENED = ("observed_at", "assessed_at", "held_on", "assessed_on", "recognised_on", "agreed_on", "starts_on",
             "confirmed_on", "imported_from_at", "happened_on")  # (ProviderJoined.joined and .left name a provider, not a time)


@dataclass(frozen=True)
class Filters:
    target: str | None = None
    outcome: str | None = None
    kind: str | None = None
    person: str | None = None

    @property
    def any(self) -> bool:
        return any((self.target, self.outcome, self.kind, self.person))


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _what(e: Any, targets: dict[str, str], outcomes: dict[str, str], target_id: str | None = None) -> str:
    """One line saying what the event did, in the words people use (a
    correction names the target of the observation it corrects: target_id)."""
    kind = type(e).__name__
    target = targets.get(getattr(e, "target_id", None) or target_id or "", "")
    rating = W["ratings"].get(getattr(e, "rating", "") or "", getattr(e, "rating", ""))
    if kind == "LearnerEnrolled":
        return f"Enrolled at {e.lead_provider}"
    if kind in ("ProviderJoined", "ProviderLeft"):
        return KINDS[kind]
    if kind == "ConsentRecorded":
        return f"{W['consents'].get(e.consent, e.consent)}: {'given' if e.given else 'not given'}"
    if kind in ("EHCPOutcomeRecorded", "EHCPOutcomeAmended"):
        return f"{e.text} ({W['areas'].get(e.pfa_area, e.pfa_area)}, due {e.due})"
    if kind in ("ProgrammeAimAgreed", "TargetSet", "UnplannedOutcomeRecognised", "NextStepAgreed"):
        return e.text
    if kind == "TargetRevised":
        return f"{W['changes'].get(e.kind, e.kind)}: {e.text}"
    if kind == "TargetWordedForLearner":
        return f"{target}: in the learner's own words, “{e.words}”"
    if kind == "TargetClosed":
        return f"{target}: closed as {W['closed_as'].get(e.closed_as, e.closed_as)}"
    if kind in ("BaselineRecorded", "ObservationRecorded", "ObservationCorrected"):
        note = getattr(e, "note", "") or ""
        prompt = W["prompts"].get(getattr(e, "prompt_level", None) or "", "")
        bits = [rating] + ([prompt.lower() + " prompt"] if prompt else []) + ([note] if note else [])
        return f"{target}: " + "; ".join(bits) if target else "; ".join(bits)
    if kind == "ObservationWithdrawn":
        return "Observation withdrawn"
    if kind == "PhotoAttached":
        return (f"{target}: a photo" if target else "A photo") + f" ({e.width} × {e.height} pixels) kept with the observation"
    if kind == "PhotoChosenForPack":
        return "Photo used in the annual-review pack" if e.chosen else "Photo taken out of the annual-review pack"
    if kind == "PhotoRemoved":
        return "Photo removed and deleted"
    if kind == "SelfAssessmentRecorded":
        answer = W["answers"].get(e.answer, e.answer)
        return f"{target}: “{answer}”" + (f" — {e.words}" if e.words else "")
    if kind == "ProgressReviewHeld":
        return "Progress review held" + (f"; the learner said: {e.learner_views}" if e.learner_views else "")
    if kind == "SummativeAssessmentRecorded":
        return f"{target}: {rating} — {e.summary}"
    if kind == "OutcomeSummativeRecorded":
        judgement = W["outcome_judgements"].get(e.judgement, e.judgement)
        return f"{outcomes.get(e.outcome_id, '')}: {judgement} — {e.summary}"
    if kind == "DestinationRecorded":
        return f"{W['destinations'].get(e.kind, e.kind)}: {e.detail}"
    if kind == "DestinationSustained":
        return "Still there two terms on" + (f": {e.note}" if e.note else "")
    if kind == "AnnualReviewHeld":
        return f"Annual review for {e.period_from} to {e.period_to}"
    if kind == "LearnerDataErased":
        return "The learner's personal data was erased; what the record counted stays, unnamed"
    if kind == "LearnerImported":
        return f"Imported from {e.source}"
    if kind == "FamilyMemberInvited":
        return f"A family member ({e.relationship}) was let in to see how the learner is doing"
    if kind == "FamilyContributionSent":
        return f"“{e.words}”" + (" (with a photo)" if e.photo_sha256 else "")
    if kind == "FamilyContributionAccepted":
        count = len(e.observations)
        return f"Added as evidence from home for {count} target{'s' if count != 1 else ''}" + (
            f": {e.note}" if e.note else "")
    return KINDS.get(kind, kind)


def _happened(e: Any) -> str | None:
    for name in _HAPPENED:
        value = getattr(e, name, None)
        if value:
            return _iso(value)
    return None


def entries(learner_events: Iterable[Any], *, user_names: dict[str, str] | None = None,
            provider_names: dict[str, str] | None = None) -> list[dict]:
    """Every event as a timeline entry, oldest first. A correction or a
    withdrawal names the entry it replaces (``replaces``: its position) and
    that entry names what replaced it (``replaced_by``)."""
    learner_events = list(learner_events)
    # People who recorded events in another installation, named by its export.
    user_names = {**{k: v for e in learner_events if type(e).__name__ == "LearnerImported"
                     for k, v in e.people.items() if v}, **(user_names or {})}
    provider_names = provider_names or {}
    targets: dict[str, str] = {}
    target_outcomes: dict[str, list[str]] = {}
    outcomes: dict[str, str] = {}
    observations: dict[str, dict] = {}  # observation id -> its latest entry
    out: list[dict] = []
    for e in learner_events:
        kind = type(e).__name__
        if kind in ("TargetSet", "TargetRevised"):
            targets[e.target_id] = e.text
            target_outcomes[e.target_id] = list(e.outcome_ids)
        if kind in ("EHCPOutcomeRecorded", "EHCPOutcomeAmended"):
            outcomes[e.outcome_id] = e.text
        target_id = getattr(e, "target_id", None)
        observation_id = getattr(e, "observation_id", None)
        if target_id is None and observation_id in observations:
            target_id = observations[observation_id]["target_id"]
        outcome_ids = list(getattr(e, "outcome_ids", None) or [])
        if getattr(e, "outcome_id", None):
            outcome_ids.append(e.outcome_id)
        if target_id and not outcome_ids:
            outcome_ids = list(target_outcomes.get(target_id, []))
        entry = {
            "position": e.originator_version,
            "type": kind,
            "kind": KINDS.get(kind, kind),
            "what": _what(e, targets, outcomes, target_id),
            "happened_at": _happened(e),
            "recorded_at": e.timestamp.isoformat(),
            "recorded_by": e.recorded_by,
            "by": user_names.get(e.recorded_by, e.recorded_by),
            "role": e.role,
            "provider": e.provider,
            "provider_name": provider_names.get(e.provider, e.provider),
            "reason": getattr(e, "reason", None) or None,
            "target_id": target_id,
            "outcome_ids": outcome_ids,
            "observation_id": observation_id,
            "replaces": None,
            "replaced_by": None,
            "replaced_what": None,
        }
        if kind == "LearnerEnrolled":  # the provider by its name, as everywhere else on the entry
            entry["what"] = f"Enrolled at {provider_names.get(e.lead_provider, e.lead_provider)}"
        if kind == "ProviderJoined":
            entry["what"] = (f"{provider_names.get(e.joined, e.joined)} joined as the "
                             f"{'lead' if e.lead else 'partner'} provider")
        if kind == "ProviderLeft":
            entry["what"] = f"{provider_names.get(e.left, e.left)} stopped working with the learner"
        if kind in ("ObservationCorrected", "ObservationWithdrawn") and observation_id in observations:
            before = observations[observation_id]
            entry["replaces"] = before["position"]
            entry["replaced_what"] = before["what"]
            before["replaced_by"] = entry["position"]
        if kind in ("ObservationRecorded", "ObservationCorrected"):  # what a later correction replaces
            observations[observation_id] = entry
        out.append(entry)
    return out


def matches(entry: dict, filters: Filters) -> bool:
    if filters.target and entry["target_id"] != filters.target:
        return False
    if filters.outcome and filters.outcome not in entry["outcome_ids"]:
        return False
    if filters.kind and entry["type"] != filters.kind:
        return False
    if filters.person and entry["recorded_by"] != filters.person:
        return False
    return True


def filtered(all_entries: list[dict], filters: Filters) -> list[dict]:
    """The entries a filter keeps; the entry a kept correction replaced is
    kept too, so a correction is never shown without what it corrected."""
    kept = {e["position"] for e in all_entries if matches(e, filters)}
    kept |= {e["replaces"] for e in all_entries if e["position"] in kept and e["replaces"]}
    return [e for e in all_entries if e["position"] in kept]


def between(all_entries: list[dict], after: datetime, up_to: datetime) -> list[dict]:
    """The entries recorded after one instant and up to another."""
    return [e for e in all_entries if after < datetime.fromisoformat(e["recorded_at"]) <= up_to]


def people(all_entries: list[dict]) -> list[tuple[str, str]]:
    """Everyone who recorded something, for the person filter: (id, name)."""
    seen: dict[str, str] = {}
    for e in all_entries:
        seen.setdefault(e["recorded_by"], e["by"])
    return sorted(seen.items(), key=lambda item: item[1].lower())


def provider_names(conn) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT slug, name FROM providers")}


def timeline(app, conn, actor, learner_id: str, as_at: datetime | None = None) -> list[dict]:
    """The learner's timeline as the record stood at ``as_at`` (default now)."""
    from rarpa.read import queries
    from rarpa.read.history import events_as_at

    return entries(events_as_at(app, actor, learner_id, as_at), user_names=queries.staff_names(conn),
                   provider_names=provider_names(conn))


def changes(app, conn, actor, learner_id: str, after: datetime, up_to: datetime) -> list[dict]:
    """What was recorded after one instant and up to another, each entry
    naming what it replaced when it corrected or withdrew something."""
    from rarpa.read import queries

    kept = list(takewhile(lambda e: e.timestamp <= up_to, app.learner_events(actor, learner_id)))
    return between(entries(kept, user_names=queries.staff_names(conn), provider_names=provider_names(conn)),
                   after, up_to)

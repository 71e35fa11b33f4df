"""Events of a learner's record: the five RARPA stages, in the order they happen.

Topics are stored as ``events.learner:ClassName``: never rename a class here;
add a new version with ``class_version`` and an ``upcast_vN_vN+1`` instead.
Ids inside events are UUID strings; dates are ISO ``YYYY-MM-DD`` strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from events.base import RecordCreated, RecordEvent


# --- Enrolment and who works with the learner -------------------------------
class LearnerEnrolled(RecordCreated):
    name: str
    preferred_name: str
    date_of_birth: str
    lead_provider: str


class ProviderJoined(RecordEvent):
    """A provider starts working with the learner (dual placement)."""

    joined: str
    lead: bool
    reason: str


class ProviderLeft(RecordEvent):
    left: str
    reason: str


class ConsentRecorded(RecordEvent):
    consent: str  # see vocabulary.CONSENTS
    given: bool
    reason: str


# --- Stage 1: aims, linked to the EHCP's Section E outcomes -------------------
class EHCPOutcomeRecorded(RecordEvent):
    outcome_id: str
    text: str
    pfa_area: str
    due: str


class EHCPOutcomeAmended(RecordEvent):
    outcome_id: str
    text: str
    pfa_area: str
    due: str
    reason: str


class ProgrammeAimAgreed(RecordEvent):
    aim_id: str
    text: str
    outcome_ids: list[str]


# --- Stages 2 and 3: baseline and challenging targets ------------------------
class TargetSet(RecordEvent):
    target_id: str
    text: str
    success_criteria: str
    outcome_ids: list[str]
    review_by: str


class BaselineRecorded(RecordEvent):
    """Where the learner started on a target (the initial assessment)."""

    target_id: str
    rating: str
    note: str


class TargetRevised(RecordEvent):
    target_id: str
    kind: str  # renegotiated | revised
    text: str
    success_criteria: str
    outcome_ids: list[str]
    review_by: str
    reason: str
    review_id: str | None


class TargetClosed(RecordEvent):
    target_id: str
    closed_as: str
    reason: str
    review_id: str | None


class TargetWordedForLearner(RecordEvent):
    """The target in the learner's own words, written with them: shown to the
    learner instead of the staff wording (their "My progress", their
    self-assessment). The staff wording, success criteria and outcomes stay
    as the plan set them; a later one replaces the words, both stay in history."""

    target_id: str
    words: str
    reason: str


# --- Stage 4: formative recording --------------------------------------------
class ObservationRecorded(RecordEvent):
    """Evidence seen by staff. ``observed_at`` is the device's time (it may have
    been recorded offline); the event's timestamp is when the server took it.

    Version 2 adds ``new_to_learner``: what was new when the learner did it
    (vocabulary.NEW_TO_LEARNER: people, place, materials), the evidence that a
    skill is generalised. Version 1 said nothing about it: upcast as none."""

    class_version: ClassVar[int] = 2

    observation_id: str
    target_id: str
    rating: str
    prompt_level: str | None
    context: str | None
    note: str
    observed_at: datetime
    new_to_learner: list[str]

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["new_to_learner"] = []


class ObservationCorrected(RecordEvent):
    """The corrected values replace the original's in progress; the original
    stays in history."""

    observation_id: str
    rating: str
    prompt_level: str | None
    context: str | None
    note: str
    observed_at: datetime
    reason: str


class ObservationWithdrawn(RecordEvent):
    observation_id: str
    reason: str


class PhotoAttached(RecordEvent):
    """A photo kept with an observation (taken on the tablet). The JPEG itself
    is not in the event: it is kept beside the events, sealed with this
    learner's key (rarpa/store/photos.py), and this event pins it by its
    SHA-256. ``received_sha256`` is of the file as it was sent: the same
    observation and the same file again is a repeat, stored once."""

    observation_id: str
    photo_id: str
    content_type: str  # always image/jpeg: every photo is re-encoded here
    sha256: str
    received_sha256: str
    size: int
    width: int
    height: int
    thumb_sha256: str


class PhotoChosenForPack(RecordEvent):
    """The SEND lead chose a photo for the annual-review pack (``chosen``), or
    took it out again."""

    photo_id: str
    chosen: bool
    reason: str


class PhotoRemoved(RecordEvent):
    """A photo taken away (the wrong learner, consent withdrawn...): its bytes
    are deleted, this says who did it, when and why."""

    photo_id: str
    reason: str


class SelfAssessmentRecorded(RecordEvent):
    """The learner's own view, kept apart from staff ratings."""

    self_assessment_id: str
    target_id: str
    answer: str  # not_yet | with_help | on_my_own
    words: str
    assessed_at: datetime


class ProgressReviewHeld(RecordEvent):
    """A termly (or as-needed) review. Decisions to revise or close a target are
    recorded as TargetRevised / TargetClosed events carrying this review_id."""

    review_id: str
    held_on: str
    attendees: list[str]
    learner_views: str
    decisions: list[dict]


# --- Stage 5: end of programme -----------------------------------------------
class SummativeAssessmentRecorded(RecordEvent):
    target_id: str
    rating: str
    summary: str
    assessed_on: str


class OutcomeSummativeRecorded(RecordEvent):
    """The summative judgement on an EHCP outcome at the end of a programme:
    how far it was met (vocabulary.OUTCOME_JUDGEMENTS), in a summary of why.
    A later one for the same outcome supersedes it; both stay in history."""

    outcome_id: str
    judgement: str
    summary: str
    assessed_on: str


class UnplannedOutcomeRecognised(RecordEvent):
    unplanned_id: str
    text: str
    pfa_area: str | None
    context: str | None
    recognised_on: str


class NextStepAgreed(RecordEvent):
    next_step_id: str
    text: str
    agreed_on: str


class DestinationRecorded(RecordEvent):
    destination_id: str
    kind: str
    detail: str
    starts_on: str


class DestinationSustained(RecordEvent):
    """The follow-up two terms after a destination began: still there."""

    destination_id: str
    confirmed_on: str
    note: str


class AnnualReviewHeld(RecordEvent):
    """The EHCP annual review: who came, what the learner said, and what the
    college recommends for each outcome (achieved, continue, amend)."""

    review_id: str
    held_on: str
    period_from: str
    period_to: str
    attendees: list[str]
    learner_views: str
    recommendations: list[dict]
    fingerprint: str


class LearnerDataErased(RecordEvent):
    """Written in clear: the learner's key is destroyed, so the rest of the
    stream can no longer be read, but this event must still be.

    Version 2 carries ``summary``: the anonymous shape of the record (the
    providers, each outcome's PfA area, each target's status and distance
    travelled, each destination's kind and whether it was sustained; no
    words, names or dates), so the cohort's counts stay as they were."""

    class_version: ClassVar[int] = 2
    personal: ClassVar[bool] = False
    reason: str
    summary: dict | None

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        # Erased before version 2: what the record counted cannot be known.
        state["summary"] = None


class LearnerImported(RecordEvent):
    """The events before this one came from another installation's export
    (a learner moving college): which one, who exported it and when, the
    export's own fingerprint, and the names of the people who recorded them
    there (their accounts are not in this installation)."""

    source: str
    exported_at: datetime
    exported_by: str
    source_fingerprint: str
    file_checksum: str
    people: dict
    reason: str


class FamilyMemberInvited(RecordEvent):
    """The SEND lead let a family member in (consent to share with family
    given): their account (``family_user_id``, role family) and who they are
    to the learner (``relationship``: "Mum", "Grandad", "Foster carer")."""

    family_user_id: str
    relationship: str
    reason: str


class FamilyAccessEnded(RecordEvent):
    """One family member's access ended by staff (withdrawing consent to share
    with family ends every family member's at once, without this event)."""

    family_user_id: str
    reason: str


class FamilyContributionSent(RecordEvent):
    """A family member told the college what they saw at home: their words,
    the day, and optionally a photo (kept sealed like any photo, pinned here
    by its digests; empty strings when there is none). It waits for staff."""

    contribution_id: str
    words: str
    happened_on: str
    photo_sha256: str
    photo_received_sha256: str
    photo_thumb_sha256: str
    photo_width: int
    photo_height: int
    photo_size: int


class FamilyContributionAccepted(RecordEvent):
    """Staff accepted a contribution: it became evidence from home, one
    observation per target chosen (``observations``: target id to observation
    id, recorded in the same transaction just before this event)."""

    contribution_id: str
    observations: dict
    photo_id: str  # the photo as attached to the first observation, or ""
    note: str


class FamilyContributionDeclined(RecordEvent):
    """Staff declined a contribution; the family member sees the reason.
    Nothing of it becomes evidence, and its photo is deleted."""

    contribution_id: str
    reason: str


LEARNER_EVENTS = (
    LearnerEnrolled,
    ProviderJoined,
    ProviderLeft,
    ConsentRecorded,
    EHCPOutcomeRecorded,
    EHCPOutcomeAmended,
    ProgrammeAimAgreed,
    TargetSet,
    BaselineRecorded,
    TargetRevised,
    TargetClosed,
    TargetWordedForLearner,
    ObservationRecorded,
    ObservationCorrected,
    ObservationWithdrawn,
    PhotoAttached,
    PhotoChosenForPack,
    PhotoRemoved,
    SelfAssessmentRecorded,
    ProgressReviewHeld,
    SummativeAssessmentRecorded,
    OutcomeSummativeRecorded,
    UnplannedOutcomeRecognised,
    NextStepAgreed,
    DestinationRecorded,
    DestinationSustained,
    AnnualReviewHeld,
    LearnerDataErased,
    LearnerImported,
    FamilyMemberInvited,
    FamilyAccessEnded,
    FamilyContributionSent,
    FamilyContributionAccepted,
    FamilyContributionDeclined,
)

"""Marshmallow schemas for what comes in (API bodies, CLI input) and what goes
out. Unknown fields are refused (marshmallow's default RAISE); every message
names its field. The OpenAPI document is generated from these."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.vocabulary import (
    CONSENTS,
    CONTEXTS,
    NEW_TO_LEARNER,
    DESTINATIONS,
    OUTCOME_JUDGEMENTS,
    PFA_AREAS,
    PROMPT_LEVELS,
    RATINGS,
    RECOMMENDATIONS,
    REVIEW_DECISIONS,
    REVISION_KINDS,
    ROLES,
    SELF_ASSESSMENT_ANSWERS,
    TARGET_CLOSED_AS,
)
from rarpa.record import limits

NOTE = validate.Length(max=4000)
PROVIDER_CODE = validate.Regexp(r"^[a-z0-9-]{2,40}\Z", error="a provider's short code, e.g. northfield")


# --- fields for what comes in: only what the record can hold (rarpa/limits.py) -----------
class _Storable:
    """Refuses text that cannot be stored: lone surrogates, control characters
    (and, on one line, tabs and line breaks)."""

    multiline = True

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = limits.text_problem(text, multiline=self.multiline)
        if problem:
            raise ValidationError(problem)
        return text


class Text(_Storable, fields.String):
    """Free text (notes, reasons, views): tab and line breaks allowed."""


class Line(_Storable, fields.String):
    """One line of text (names, attendees, codes)."""

    multiline = False


class Email(_Storable, fields.Email):
    multiline = False


class Day(fields.Date):
    """A date between 1900-01-01 and 2100-12-31."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        problem = limits.date_problem(day)
        if problem:
            raise ValidationError(problem)
        return day


class Instant(fields.AwareDateTime):
    """A date-time with an offset, between 1900 and 2100 in UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        problem = limits.instant_problem(moment)
        if problem:
            raise ValidationError(problem)
        return moment


def choice(values, **kw):
    return Line(validate=validate.OneOf(values), **kw)


def words(max_len=4000, **kw):
    """Required words, at most ``max_len`` characters. Two checks, not one
    Length(min, max): its one message ("between 1 and N") cannot tell a
    person whether they wrote nothing or too much."""
    field = Line if max_len <= 200 else Text
    return field(validate=[validate.Length(min=1), validate.Length(max=max_len)], **kw)


# --- input -------------------------------------------------------------------
class LearnerIn(Schema):
    name = words(200, required=True)
    preferred_name = Line(validate=validate.Length(max=100), load_default=None)
    date_of_birth = Day(required=True)
    provider = Line(required=True, validate=PROVIDER_CODE)


class OutcomeIn(Schema):
    text = words(required=True)
    pfa_area = choice(PFA_AREAS, required=True)
    due = Day(required=True)


class OutcomeAmendIn(OutcomeIn):
    reason = words(required=True)


class AimIn(Schema):
    text = words(required=True)
    outcome_ids = fields.List(fields.UUID(), load_default=list)


class TargetIn(Schema):
    text = words(required=True)
    success_criteria = words(required=True)
    outcome_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1))
    baseline = choice(RATINGS, required=True)
    baseline_note = Text(validate=NOTE, load_default="")
    review_by = Day(required=True)


class RevisionIn(Schema):
    kind = choice(REVISION_KINDS, load_default="revised")
    reason = words(required=True)
    text = words(load_default=None)
    success_criteria = words(load_default=None)
    outcome_ids = fields.List(fields.UUID(), validate=validate.Length(min=1), load_default=None)
    review_by = Day(load_default=None)


class ClosureIn(Schema):
    closed_as = choice(TARGET_CLOSED_AS, required=True)
    reason = words(required=True)


class LearnerWordsIn(Schema):
    """A target in the learner's own words: one line, short (easy read)."""

    reason = words(load_default="Written with the learner")
    words = Line(validate=validate.Length(max=200), required=True,  # empty: the record refuses it by name
                 metadata={"description": "the target as the learner says it, on one line"})


class ObservationIn(Schema):
    id = fields.UUID(required=True, metadata={"description": "made by the client; the idempotency key"})
    target_id = fields.UUID(required=True)
    rating = choice(RATINGS, required=True)
    prompt_level = choice(PROMPT_LEVELS, allow_none=True, load_default=None)
    context = choice(CONTEXTS, allow_none=True, load_default=None)
    note = Text(validate=NOTE, load_default="")
    observed_at = Instant(
        required=True, metadata={"description": "device time with offset; not in the future"}
    )
    new_to_learner = fields.List(choice(NEW_TO_LEARNER), load_default=list, validate=validate.Length(max=3),
                                 metadata={"description": "what was new when they did it (generalisation)"})


class CorrectionIn(Schema):
    reason = words(required=True)
    rating = choice(RATINGS, load_default=None)
    prompt_level = choice(PROMPT_LEVELS, load_default=None)
    context = choice(CONTEXTS, load_default=None)
    note = Text(validate=NOTE, load_default=None)
    observed_at = Instant(load_default=None)

    @validates_schema
    def something_changes(self, data, **_):
        if all(data.get(k) is None for k in ("rating", "prompt_level", "context", "note", "observed_at")):
            raise ValidationError("give at least one corrected value", "rating")


class WithdrawalIn(Schema):
    reason = words(required=True)


class PhotoRemovalIn(Schema):
    """Taking a photo away for good (web/photos.py)."""

    reason = words(max_len=500, required=True)


class PhotoChoiceIn(Schema):
    """Using a photo in the annual-review pack, or not (web/photos.py)."""

    chosen = fields.Boolean(required=True)
    reason = Text(validate=validate.Length(max=500), load_default="")


class PhotoOut(Schema):
    """A photo kept with an observation: what it is, never its bytes (``href`` fetches them)."""

    id = fields.String()
    observation_id = fields.String()
    content_type = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    size = fields.Integer()
    recorded_at = fields.String()
    recorded_by = fields.String()
    provider = fields.String()
    chosen_for_pack = fields.Boolean()
    href = fields.String()
    thumbnail_href = fields.String()


class PhotosOut(Schema):
    photos = fields.List(fields.Nested(PhotoOut))


class SelfAssessmentIn(Schema):
    target_id = fields.UUID(required=True)
    answer = choice(SELF_ASSESSMENT_ANSWERS, required=True)
    words = Text(validate=NOTE, load_default="")
    assessed_at = Instant(load_default=None)


class DecisionIn(Schema):
    target_id = fields.UUID(required=True)
    decision = choice(REVIEW_DECISIONS, required=True)
    text = words(load_default=None)
    success_criteria = words(load_default=None)
    review_by = Day(load_default=None)
    reason = Text(validate=NOTE, load_default=None)
    closed_as = choice(TARGET_CLOSED_AS, load_default=None)


class ReviewIn(Schema):
    held_on = Day(required=True)
    attendees = fields.List(words(200), required=True, validate=validate.Length(min=1))
    learner_views = Text(validate=NOTE, load_default="")
    decisions = fields.List(fields.Nested(DecisionIn), load_default=list)
    new_targets = fields.List(fields.Nested(TargetIn), load_default=list)


class SummativeIn(Schema):
    target_id = fields.UUID(required=True)
    rating = choice(RATINGS, required=True)
    summary = words(required=True)
    assessed_on = Day(required=True)


class OutcomeSummativeIn(Schema):
    outcome_id = fields.UUID(required=True)
    judgement = choice(OUTCOME_JUDGEMENTS, required=True)
    summary = words(required=True)
    assessed_on = Day(required=True, metadata={"description": "not in the future"})


class UnplannedOutcomeIn(Schema):
    text = words(required=True)
    recognised_on = Day(required=True)
    pfa_area = choice(PFA_AREAS, load_default=None)
    context = choice(CONTEXTS, load_default=None)


class NextStepIn(Schema):
    text = words(required=True)
    agreed_on = Day(required=True)


class DestinationIn(Schema):
    kind = choice(DESTINATIONS, required=True)
    detail = Text(validate=NOTE, load_default="")
    starts_on = Day(required=True)


class RecommendationIn(Schema):
    outcome_id = fields.UUID(required=True)
    recommendation = choice(RECOMMENDATIONS, required=True)
    note = Text(validate=NOTE, load_default="")


class AnnualReviewIn(Schema):
    held_on = Day(required=True)
    period_from = Day(required=True)
    period_to = Day(required=True)
    attendees = fields.List(words(200), required=True, validate=validate.Length(min=1))
    learner_views = Text(validate=NOTE, load_default="")
    recommendations = fields.List(fields.Nested(RecommendationIn), load_default=list)


class SustainedIn(Schema):
    confirmed_on = Day(required=True)
    note = Text(validate=NOTE, load_default="")


class ProviderJoinIn(Schema):
    provider = Line(required=True, validate=validate.Length(min=1, max=100))
    lead = fields.Boolean(load_default=False)
    reason = words(required=True)


class ProviderLeaveIn(Schema):
    reason = words(required=True)


class ConsentIn(Schema):
    consent = choice(CONSENTS, required=True)
    given = fields.Boolean(required=True)
    reason = Text(validate=NOTE, load_default="")


class UserIn(Schema):
    email = Email(required=True)
    role = choice(ROLES, required=True)
    provider = Line(load_default=None)
    display_name = Line(validate=validate.Length(max=100), load_default="")


# --- administration (web/admin.py, `rarpa user invite|deactivate`) ------------------
REASON = 500  # a reason for an admin action, at most


class ProviderAddIn(Schema):
    slug = Line(required=True, validate=[validate.Regexp(
        r"^[a-z0-9-]{2,40}\Z", error="must be 2 to 40 lower-case letters, digits and hyphens, like northfield")])
    name = words(200, required=True)
    reason = words(REASON, required=True)


class InviteIn(Schema):
    email = Email(required=True, validate=validate.Length(max=254))
    display_name = words(100, required=True)
    role = choice(ROLES, required=True)
    provider = Line(load_default=None, validate=PROVIDER_CODE)
    reason = words(REASON, required=True)


class AdminReasonIn(Schema):
    """A deactivation, a reactivation, a password reset: only why."""

    reason = words(REASON, required=True)


class RoleChangeIn(Schema):
    role = choice(ROLES, required=True)
    provider = Line(load_default=None, validate=PROVIDER_CODE)
    reason = words(REASON, required=True)


class CaseloadIn(Schema):
    learner_ids = fields.List(fields.UUID(), load_default=list)
    reason = words(REASON, required=True)


class NewPasswordIn(Schema):
    password = fields.String(required=True)
    confirm = fields.String(required=True)


# --- output (documented in OpenAPI) -------------------------------------------
class Created(Schema):
    id = fields.String()


class ProviderLink(Schema):
    provider = fields.String()
    lead = fields.Boolean()


class LearnerOut(Schema):
    id = fields.String()
    name = fields.String()
    preferred_name = fields.String()
    date_of_birth = fields.String()
    provider = fields.String(metadata={"description": "the lead provider's short code"})
    providers = fields.List(fields.Nested(ProviderLink))
    enrolled_at = fields.String()
    last_observed_at = fields.String(allow_none=True)
    annual_review_due = fields.String()
    status = fields.String()


class LearnerList(Schema):
    learners = fields.List(fields.Nested(LearnerOut))


class TargetProgress(Schema):
    id = fields.String()
    text = fields.String()
    status = fields.String()
    baseline = choice(RATINGS)
    latest = choice(RATINGS, allow_none=True)
    distance = fields.Integer(metadata={"description": "signed rating steps from baseline to latest"})
    observations = fields.Integer()
    last_observed_at = fields.String(allow_none=True)
    outcome_ids = fields.List(fields.String())


class TargetWordsOut(TargetProgress):
    learner_words = fields.String(metadata={"description": "the target in the learner's own words"})


class OutcomeProgress(Schema):
    id = fields.String()
    text = fields.String()
    pfa_area = choice(PFA_AREAS)
    targets = fields.List(fields.String())
    distance = fields.Float(metadata={"description": "mean of its targets' distances"})


class ProgressOut(Schema):
    targets = fields.List(fields.Nested(TargetProgress))
    outcomes = fields.List(fields.Nested(OutcomeProgress))


class ObservationOut(Schema):
    id = fields.String()
    target_id = fields.String()
    rating = choice(RATINGS)
    prompt_level = fields.String(allow_none=True)
    context = fields.String(allow_none=True)
    note = fields.String()
    observed_at = fields.String()
    recorded_at = fields.String()
    recorded_by = fields.String()
    provider = fields.String()
    status = fields.String()
    corrections = fields.Integer()
    target = fields.Nested(TargetProgress)


class HistoryEvent(Schema):
    type = fields.String()
    version = fields.Integer()
    recorded_at = fields.String()
    recorded_by = fields.String()
    role = fields.String()
    provider = fields.String()


class HistoryOut(Schema):
    learner_id = fields.String()
    as_at = fields.String()
    events = fields.List(fields.Nested(HistoryEvent))
    progress = fields.Nested(ProgressOut)
    fingerprint = fields.String(metadata={"description": "head of the learner's hash chain at as_at"})


class Change(Schema):
    position = fields.Integer(metadata={"description": "the event's place in the learner's stream"})
    type = fields.String()
    kind = fields.String(metadata={"description": "the type in words"})
    what = fields.String(metadata={"description": "what happened, in words"})
    happened_at = fields.String(allow_none=True, metadata={"description": "when it happened (observed, held...)"})
    recorded_at = fields.String()
    recorded_by = fields.String()
    by = fields.String(metadata={"description": "the name of who recorded it"})
    role = fields.String()
    provider = fields.String()
    reason = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    outcome_ids = fields.List(fields.String())
    replaces = fields.Integer(allow_none=True, metadata={"description": "position of the entry it corrects or withdraws"})
    replaced_what = fields.String(allow_none=True)


class ChangesOut(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    changes = fields.List(fields.Nested(Change))


class AccessEntry(Schema):
    at = fields.String()
    user = fields.String(metadata={"description": "the email of who opened it (the operator's name at the command line)"})
    user_id = fields.String()
    name = fields.String()
    role = fields.String()
    action = fields.String(metadata={"description": "what was opened: learner page, evidence, timeline, pack..."})
    address = fields.String(allow_none=True)


class AccessLogOut(Schema):
    entries = fields.List(fields.Nested(AccessEntry))


class FingerprintOut(Schema):
    matches = fields.Boolean()
    position = fields.Integer(allow_none=True, metadata={"description": "the event the fingerprint is the head of"})
    recorded_at = fields.String(allow_none=True)
    events_after = fields.Integer(metadata={"description": "events recorded after it"})


class PackJudgement(Schema):
    judgement = fields.String(metadata={"description": "a rating for a target; achieved, partly_achieved or "
                                                       "not_achieved for an EHCP outcome"})
    summary = fields.String()
    assessed_on = fields.String()


class PackTarget(Schema):
    id = fields.String()
    text = fields.String()
    baseline = choice(RATINGS)
    start = fields.String(allow_none=True, metadata={"description": "judgement when the period began"})
    latest = fields.String(allow_none=True)
    distance = fields.Integer()
    distance_in_period = fields.Integer()
    observations_in_period = fields.Integer()
    summary = fields.String(metadata={"description": "in plain words, to and about the learner"})
    summative_judgement = fields.Nested(
        PackJudgement, allow_none=True,
        metadata={"description": "the end-of-programme judgement (a rating) that stood when the period ended"})


class PackEvidence(Schema):
    id = fields.String()
    target_id = fields.String()
    observed_at = fields.String()
    rating = choice(RATINGS)
    context = fields.String(allow_none=True)
    note = fields.String()
    provider = fields.String()
    provider_role = fields.String(metadata={"description": "lead provider or partner provider"})


class PackOutcome(Schema):
    id = fields.String()
    text = fields.String()
    pfa_area = choice(PFA_AREAS)
    distance = fields.Float()
    targets = fields.List(fields.Nested(PackTarget))
    evidence = fields.List(fields.Nested(PackEvidence))
    recommendation = choice(RECOMMENDATIONS)
    summative_judgement = fields.Nested(
        PackJudgement, allow_none=True,
        metadata={"description": "the end-of-programme judgement that stood when the period ended"})


class AnnualReviewOut(Schema):
    learner = fields.Dict()
    from_ = fields.String(data_key="from")
    to = fields.String()
    outcomes = fields.List(fields.Nested(PackOutcome))
    self_assessments = fields.List(fields.Dict())
    learner_views = fields.List(fields.Dict())
    unplanned_outcomes = fields.List(fields.Dict())
    recommendations = fields.List(fields.Dict())
    fingerprint = fields.String(metadata={"description": "head of the learner's hash chain for this pack"})
    # The pack as a parent reads it (issue 13, rarpa/read/pack_readable.py), in reading order.
    summary = fields.Dict(metadata={"description": "went_well, next (sentences) and learner_words (quoted)"})
    worked_on = fields.List(fields.Dict(), metadata={"description": "per PfA area, outcome and target, in sentences"})
    nobody_planned = fields.List(fields.String())
    views = fields.Dict(metadata={"description": "what the learner says (learner) and the family says (family)"})
    family_views = fields.List(fields.Dict(), metadata={"description": "from, on, words: sent from home"})
    plan = fields.List(fields.Dict())
    about = fields.Dict(metadata={"description": "fingerprint, method, the words' meanings: 'About this record'"})


class Problem(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


# --- the family's voice (rarpa/service/family.py) ----------------------------------------------
class FamilyInviteIn(Schema):
    display_name = words(max_len=120, required=True)
    relationship = words(max_len=60, required=True)
    email = Line(validate=validate.Length(min=3, max=254), required=True)
    reason = words(required=True)


class FamilyEndIn(Schema):
    reason = words(required=True)


class ContributionIn(Schema):
    words = words(max_len=2000, required=True)
    happened_on = Day(required=True)


class ContributionDeclineIn(Schema):
    reason = words(max_len=1000, required=True)

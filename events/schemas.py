"""Marshmallow schemas of every event's payload: the catalogue's single source of
truth for field names and allowed values. The export (`rarpa export`, the API's
`/events`) dumps events through these schemas, and tests load every stored event
back through them, so a field that drifts from its schema fails loudly."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from events import learner as L
from events import staff as S
from events.vocabulary import (
    CONSENTS,
    CONTEXTS,
    NEW_TO_LEARNER,
    DESTINATIONS,
    OUTCOME_JUDGEMENTS,
    PASSWORD_LINKS,
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


def one_of(values, **kw):
    return fields.String(validate=validate.OneOf(values), **kw)


def uuid_str(**kw):
    return fields.UUID(**kw)


def string(**kw):
    return fields.String(**kw)


class IsoDate(fields.Date):
    """Events keep dates as ISO strings: dump them as they are, and on load
    check they are real dates but keep the string."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) or value is None else value.isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).isoformat()


def iso_date(**kw):
    return IsoDate(**kw)


class EventSchema(Schema):
    """Fields every event carries."""

    recorded_by = fields.String(required=True)
    role = fields.String(required=True)
    provider = fields.String(required=True)


class LearnerEnrolledSchema(EventSchema):
    name = string(required=True)
    preferred_name = string(required=True)
    date_of_birth = iso_date(required=True)
    lead_provider = string(required=True)


class ProviderJoinedSchema(EventSchema):
    joined = string(required=True)
    lead = fields.Boolean(required=True)
    reason = string(required=True)


class ProviderLeftSchema(EventSchema):
    left = string(required=True)
    reason = string(required=True)


class ConsentRecordedSchema(EventSchema):
    consent = one_of(CONSENTS, required=True)
    given = fields.Boolean(required=True)
    reason = string(required=True)


class EHCPOutcomeRecordedSchema(EventSchema):
    outcome_id = uuid_str(required=True)
    text = string(required=True)
    pfa_area = one_of(PFA_AREAS, required=True)
    due = iso_date(required=True)


class EHCPOutcomeAmendedSchema(EHCPOutcomeRecordedSchema):
    reason = string(required=True)


class ProgrammeAimAgreedSchema(EventSchema):
    aim_id = uuid_str(required=True)
    text = string(required=True)
    outcome_ids = fields.List(uuid_str(), required=True)


class TargetSetSchema(EventSchema):
    target_id = uuid_str(required=True)
    text = string(required=True)
    success_criteria = string(required=True)
    outcome_ids = fields.List(uuid_str(), required=True)
    review_by = iso_date(required=True)


class BaselineRecordedSchema(EventSchema):
    target_id = uuid_str(required=True)
    rating = one_of(RATINGS, required=True)
    note = string(required=True)


class TargetRevisedSchema(TargetSetSchema):
    kind = one_of(REVISION_KINDS, required=True)
    reason = string(required=True)
    review_id = uuid_str(allow_none=True, required=True)


class TargetClosedSchema(EventSchema):
    target_id = uuid_str(required=True)
    closed_as = one_of(TARGET_CLOSED_AS, required=True)
    reason = string(required=True)
    review_id = uuid_str(allow_none=True, required=True)


class TargetWordedForLearnerSchema(EventSchema):
    target_id = uuid_str(required=True)
    words = string(required=True)
    reason = string(required=True)


class ObservationRecordedSchema(EventSchema):
    observation_id = uuid_str(required=True)
    target_id = uuid_str(required=True)
    rating = one_of(RATINGS, required=True)
    prompt_level = one_of(PROMPT_LEVELS, allow_none=True, required=True)
    context = one_of(CONTEXTS, allow_none=True, required=True)
    note = string(required=True)
    observed_at = fields.AwareDateTime(required=True)
    new_to_learner = fields.List(one_of(NEW_TO_LEARNER), required=True)


class ObservationCorrectedSchema(EventSchema):
    observation_id = uuid_str(required=True)
    rating = one_of(RATINGS, required=True)
    prompt_level = one_of(PROMPT_LEVELS, allow_none=True, required=True)
    context = one_of(CONTEXTS, allow_none=True, required=True)
    note = string(required=True)
    observed_at = fields.AwareDateTime(required=True)
    reason = string(required=True)


class ObservationWithdrawnSchema(EventSchema):
    observation_id = uuid_str(required=True)
    reason = string(required=True)


class PhotoAttachedSchema(EventSchema):
    observation_id = uuid_str(required=True)
    photo_id = uuid_str(required=True)
    content_type = one_of(("image/jpeg",), required=True)
    sha256 = string(validate=validate.Regexp(r"^[0-9a-f]{64}$"), required=True)
    received_sha256 = string(validate=validate.Regexp(r"^[0-9a-f]{64}$"), required=True)
    size = fields.Integer(validate=validate.Range(min=1), required=True)
    width = fields.Integer(validate=validate.Range(min=1), required=True)
    height = fields.Integer(validate=validate.Range(min=1), required=True)
    thumb_sha256 = string(validate=validate.Regexp(r"^[0-9a-f]{64}$"), required=True)


class PhotoChosenForPackSchema(EventSchema):
    photo_id = uuid_str(required=True)
    chosen = fields.Boolean(required=True)
    reason = string(required=True)


class PhotoRemovedSchema(EventSchema):
    photo_id = uuid_str(required=True)
    reason = string(required=True)


class SelfAssessmentRecordedSchema(EventSchema):
    self_assessment_id = uuid_str(required=True)
    target_id = uuid_str(required=True)
    answer = one_of(SELF_ASSESSMENT_ANSWERS, required=True)
    words = string(required=True)
    assessed_at = fields.AwareDateTime(required=True)


class ReviewDecisionSchema(Schema):
    target_id = uuid_str(required=True)
    decision = one_of(REVIEW_DECISIONS, required=True)
    text = string(allow_none=True)
    success_criteria = string(allow_none=True)
    review_by = iso_date(allow_none=True)
    reason = string(allow_none=True)
    closed_as = one_of(TARGET_CLOSED_AS, allow_none=True)


class ProgressReviewHeldSchema(EventSchema):
    review_id = uuid_str(required=True)
    held_on = iso_date(required=True)
    attendees = fields.List(string(), required=True)
    learner_views = string(required=True)
    decisions = fields.List(fields.Nested(ReviewDecisionSchema), required=True)


class SummativeAssessmentRecordedSchema(EventSchema):
    target_id = uuid_str(required=True)
    rating = one_of(RATINGS, required=True)
    summary = string(required=True)
    assessed_on = iso_date(required=True)


class OutcomeSummativeRecordedSchema(EventSchema):
    outcome_id = uuid_str(required=True)
    judgement = one_of(OUTCOME_JUDGEMENTS, required=True)
    summary = string(required=True)
    assessed_on = iso_date(required=True)


class UnplannedOutcomeRecognisedSchema(EventSchema):
    unplanned_id = uuid_str(required=True)
    text = string(required=True)
    pfa_area = one_of(PFA_AREAS, allow_none=True, required=True)
    context = one_of(CONTEXTS, allow_none=True, required=True)
    recognised_on = iso_date(required=True)


class NextStepAgreedSchema(EventSchema):
    next_step_id = uuid_str(required=True)
    text = string(required=True)
    agreed_on = iso_date(required=True)


class DestinationRecordedSchema(EventSchema):
    destination_id = uuid_str(required=True)
    kind = one_of(DESTINATIONS, required=True)
    detail = string(required=True)
    starts_on = iso_date(required=True)


class DestinationSustainedSchema(EventSchema):
    destination_id = uuid_str(required=True)
    confirmed_on = iso_date(required=True)
    note = string(required=True)


class RecommendationSchema(Schema):
    outcome_id = uuid_str(required=True)
    recommendation = one_of(RECOMMENDATIONS, required=True)
    note = string(allow_none=True)


class AnnualReviewHeldSchema(EventSchema):
    review_id = uuid_str(required=True)
    held_on = iso_date(required=True)
    period_from = iso_date(required=True)
    period_to = iso_date(required=True)
    attendees = fields.List(string(), required=True)
    learner_views = string(required=True)
    recommendations = fields.List(fields.Nested(RecommendationSchema), required=True)
    fingerprint = string(required=True)


class LearnerDataErasedSchema(EventSchema):
    reason = string(required=True)
    summary = fields.Dict(allow_none=True, load_default=None)


class LearnerImportedSchema(EventSchema):
    source = string(required=True)
    exported_at = fields.AwareDateTime(required=True)
    exported_by = string(required=True)
    source_fingerprint = string(required=True)
    file_checksum = string(required=True)
    people = fields.Dict(keys=string(), values=string(), required=True)
    reason = string(required=True)


class FamilyMemberInvitedSchema(EventSchema):
    family_user_id = uuid_str(required=True)
    relationship = string(required=True)
    reason = string(required=True)


class FamilyAccessEndedSchema(EventSchema):
    family_user_id = uuid_str(required=True)
    reason = string(required=True)


_DIGEST_OR_NONE = validate.Regexp(r"^([0-9a-f]{64})?$")


class FamilyContributionSentSchema(EventSchema):
    contribution_id = uuid_str(required=True)
    words = string(required=True)
    happened_on = string(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"), required=True)
    photo_sha256 = string(validate=_DIGEST_OR_NONE, required=True)
    photo_received_sha256 = string(validate=_DIGEST_OR_NONE, required=True)
    photo_thumb_sha256 = string(validate=_DIGEST_OR_NONE, required=True)
    photo_width = fields.Integer(validate=validate.Range(min=0), required=True)
    photo_height = fields.Integer(validate=validate.Range(min=0), required=True)
    photo_size = fields.Integer(validate=validate.Range(min=0), required=True)


class FamilyContributionAcceptedSchema(EventSchema):
    contribution_id = uuid_str(required=True)
    observations = fields.Dict(keys=string(), values=string(), required=True)
    photo_id = string(required=True)
    note = string(required=True)


class FamilyContributionDeclinedSchema(EventSchema):
    contribution_id = uuid_str(required=True)
    reason = string(required=True)


class ProviderRegisteredSchema(EventSchema):
    slug = string(required=True)
    name = string(required=True)
    reason = string(required=True)  # version 2; "" for version 1


class UserRegisteredSchema(EventSchema):
    email = fields.Email(required=True)
    display_name = string(required=True)
    user_role = one_of(ROLES, required=True)
    user_provider = string(allow_none=True, required=True)
    # Never exported: the hash is a secret even though it is not the password.
    password_hash = string(load_only=True, required=True)


class PasswordChangedSchema(EventSchema):
    password_hash = string(load_only=True, required=True)
    reason = string(required=True)


class CaseloadLearnerAddedSchema(EventSchema):
    learner_id = uuid_str(required=True)
    reason = string(required=True)  # version 2; "" for version 1


class CaseloadLearnerRemovedSchema(EventSchema):
    learner_id = uuid_str(required=True)
    reason = string(required=True)


class UserInvitedSchema(EventSchema):
    email = fields.Email(required=True)
    display_name = string(required=True)
    user_role = one_of(ROLES, required=True)
    user_provider = string(allow_none=True, required=True)
    reason = string(required=True)


class PasswordLinkIssuedSchema(EventSchema):
    kind = one_of(PASSWORD_LINKS, required=True)
    reason = string(required=True)


class PasswordSetWithLinkSchema(EventSchema):
    password_hash = string(load_only=True, required=True)
    kind = one_of(PASSWORD_LINKS, required=True)


class UserDeactivatedSchema(EventSchema):
    reason = string(required=True)


class UserReactivatedSchema(EventSchema):
    reason = string(required=True)


class UserRoleChangedSchema(EventSchema):
    user_role = one_of(ROLES, required=True)
    user_provider = string(allow_none=True, required=True)
    reason = string(required=True)


class ObservationIdClaimedSchema(EventSchema):
    learner_id = uuid_str(required=True)


SCHEMAS: dict[type, type[Schema]] = {}
for _cls in (*L.LEARNER_EVENTS, *S.STAFF_EVENTS):
    SCHEMAS[_cls] = globals()[f"{_cls.__name__}Schema"]

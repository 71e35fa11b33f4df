"""Events of the people and places around a learner: staff accounts, providers,
and the index that keeps every observation id unique across all learners."""

from __future__ import annotations

from typing import ClassVar

from events.base import RecordCreated, RecordEvent


class ProviderRegistered(RecordCreated):
    personal: ClassVar[bool] = False
    slug: str
    name: str


class UserRegistered(RecordCreated):
    email: str
    display_name: str
    user_role: str
    user_provider: str | None
    password_hash: str


class PasswordChanged(RecordEvent):
    password_hash: str
    reason: str


class CaseloadLearnerAdded(RecordEvent):
    learner_id: str


class CaseloadLearnerRemoved(RecordEvent):
    learner_id: str
    reason: str


class ObservationIdClaimed(RecordCreated):
    """One-event stream whose id is the observation's client UUID: the event
    store's unique key makes a second use of the id impossible, atomically."""

    personal: ClassVar[bool] = False
    learner_id: str


STAFF_EVENTS = (
    ProviderRegistered,
    UserRegistered,
    PasswordChanged,
    CaseloadLearnerAdded,
    CaseloadLearnerRemoved,
    ObservationIdClaimed,
)

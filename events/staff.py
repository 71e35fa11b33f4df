"""Events of the people and places around a learner: staff accounts, providers,
and the index that keeps every observation id unique across all learners."""

from __future__ import annotations

from typing import ClassVar

from events.base import RecordCreated, RecordEvent


class ProviderRegistered(RecordCreated):
    """Version 2 adds ``reason``: why the provider was added (by an
    administrator on the admin pages). Version 1 said nothing: upcast as ""."""

    class_version: ClassVar[int] = 2
    personal: ClassVar[bool] = False
    slug: str
    name: str
    reason: str

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["reason"] = ""


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
    """Version 2 adds ``reason``: why the learner joined the caseload (the
    admin's caseload page asks). Version 1 said nothing: upcast as ""."""

    class_version: ClassVar[int] = 2
    learner_id: str
    reason: str

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        state["reason"] = ""


class CaseloadLearnerRemoved(RecordEvent):
    learner_id: str
    reason: str


# --- administration: accounts run by an administrator on the admin pages -----------------
# A user's status follows from these: invited (no password yet), active, or
# deactivated. A user registered before statuses existed is active.
class UserInvited(RecordCreated):
    """An account made by invitation: no password yet. The one-time link that
    sets it is in the vault (only a hash of it), never in an event."""

    email: str
    display_name: str
    user_role: str
    user_provider: str | None
    reason: str


class PasswordLinkIssued(RecordEvent):
    """An administrator made a new one-time link to set the password
    (``kind``: "reset" for an active user, "invitation" for one still
    invited). Any password the user had stops working at once, and every
    session they had signed in ends."""

    kind: str
    reason: str


class PasswordSetWithLink(RecordEvent):
    """The user set their password with a one-time link (recorded as by the
    user themselves): an invited account becomes active."""

    password_hash: str
    kind: str


class UserDeactivated(RecordEvent):
    """The account stops working at once: no sign-in, every session ended,
    every API token revoked, any one-time link void."""

    reason: str


class UserReactivated(RecordEvent):
    """The account works again (a password it had works again; sessions and
    API tokens ended by the deactivation stay ended)."""

    reason: str


class UserRoleChanged(RecordEvent):
    """A new role and/or provider. A caseload that no longer fits (not a
    tutor or support any more, or another provider) is emptied by
    CaseloadLearnerRemoved events in the same transaction."""

    user_role: str
    user_provider: str | None
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
    UserInvited,
    PasswordLinkIssued,
    PasswordSetWithLink,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
)
# The events of running the record (accounts, providers, caseloads): the admin audit list.
ADMIN_EVENTS = (
    ProviderRegistered,
    UserRegistered,
    UserInvited,
    PasswordChanged,
    PasswordLinkIssued,
    PasswordSetWithLink,
    UserDeactivated,
    UserReactivated,
    UserRoleChanged,
    CaseloadLearnerAdded,
    CaseloadLearnerRemoved,
)

"""The people and places around a learner's record: providers, staff accounts
with their caseloads, and the claim that keeps each observation id unique
across all learners."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate

from events import staff as st
from events.vocabulary import ACCOUNT_ROLES, PACK_WORDS
from rarpa.record.dispatch import AppliesEvents, applies
from rarpa.record.rules import RuleBroken, need, need_text, provider_id, user_id


class Provider(AppliesEvents, Aggregate):
    """A college or specialist provider, found by its short code (slug)."""

    def __init__(self) -> None:
        pass

    @classmethod
    def register(cls, *, stamp: dict, slug: str, name: str, reason: str = "") -> Provider:
        slug = need_text(slug, "slug", "A short code").lower()
        if not slug.replace("-", "").isalnum():
            raise RuleBroken("slug", "use letters, digits and hyphens only, e.g. northfield")
        return cls._create(
            st.ProviderRegistered,
            id=provider_id(slug),
            slug=slug,
            name=need_text(name, "name", "The provider's name"),
            reason=reason or "",
            **stamp,
        )

    @applies(st.ProviderRegistered)
    def _registered(self, e: st.ProviderRegistered) -> None:
        self.slug = e.slug
        self.name = e.name


# Roles that belong to a provider, and those that have a caseload.
PROVIDER_ROLES = ("tutor", "support", "send_lead")
CASELOAD_ROLES = ("tutor", "support")


def _check_role(role: str, provider: str | None) -> None:
    need(role, "role", ACCOUNT_ROLES)
    if role in PROVIDER_ROLES and not provider:
        raise RuleBroken("provider", f"is needed for a {PACK_WORDS['roles'][role]}: "
                                     "they belong to a provider")


class User(AppliesEvents, Aggregate):
    """A member of staff (or auditor, or administrator) and their caseload.

    ``status``: "invited" (never had a password), "active" or "deactivated";
    ``password_hash`` is "" while a one-time link is waiting to set it;
    ``sessions_ended`` counts the events that end every session the user had
    signed in (a session remembers the count it began at)."""

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
        _check_role(role, provider)
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

    @applies(st.UserRegistered)
    def _registered(self, e: st.UserRegistered) -> None:
        self.email = e.email
        self.display_name = e.display_name
        self.role = e.user_role
        self.provider = e.user_provider
        self.password_hash = e.password_hash
        self.caseload: list[str] = []
        self.status = "active"
        self.sessions_ended = 0

    @classmethod
    def invite(cls, *, stamp: dict, email: str, display_name: str, role: str, provider: str | None,
               reason: str) -> User:
        _check_role(role, provider)
        email = email.strip().lower()
        return cls._create(
            st.UserInvited,
            id=user_id(email),
            email=email,
            display_name=need_text(display_name, "display_name", "The name"),
            user_role=role,
            user_provider=provider,
            reason=need_text(reason, "reason", "A reason"),
            **stamp,
        )

    @applies(st.UserInvited)
    def _invited(self, e: st.UserInvited) -> None:
        self.email = e.email
        self.display_name = e.display_name
        self.role = e.user_role
        self.provider = e.user_provider
        self.password_hash = ""
        self.caseload = []
        self.status = "invited"
        self.sessions_ended = 0

    @property
    def may_sign_in(self) -> bool:
        return self.status == "active" and bool(self.password_hash)

    def change_password(self, *, stamp: dict, password_hash: str, reason: str) -> None:
        self.trigger_event(st.PasswordChanged, password_hash=password_hash, reason=reason, **stamp)

    @applies(st.PasswordChanged)
    def _password_changed(self, e: st.PasswordChanged) -> None:
        self.password_hash = e.password_hash
        if self.status == "invited":  # the operator set it at the command line
            self.status = "active"

    def _not_deactivated(self, doing: str) -> None:
        if self.status == "deactivated":
            raise RuleBroken("user", f"This account is deactivated: reactivate it before you {doing}", 409)

    def issue_password_link(self, *, stamp: dict, reason: str) -> str:
        """A new one-time link is being made: the old password stops working
        and every session ends. Returns its kind (invitation or reset)."""
        self._not_deactivated("make a link")
        kind = "invitation" if self.status == "invited" else "reset"
        self.trigger_event(st.PasswordLinkIssued, kind=kind, reason=need_text(reason, "reason", "A reason"),
                           **stamp)
        return kind

    @applies(st.PasswordLinkIssued)
    def _password_link_issued(self, e: st.PasswordLinkIssued) -> None:
        self.password_hash = ""
        self.sessions_ended += 1

    def set_password_with_link(self, *, stamp: dict, password_hash: str) -> None:
        self._not_deactivated("set a password")
        kind = "invitation" if self.status == "invited" else "reset"
        self.trigger_event(st.PasswordSetWithLink, password_hash=password_hash, kind=kind, **stamp)

    @applies(st.PasswordSetWithLink)
    def _password_set_with_link(self, e: st.PasswordSetWithLink) -> None:
        self.password_hash = e.password_hash
        self.status = "active"

    def deactivate(self, *, stamp: dict, reason: str) -> None:
        if self.status == "deactivated":
            raise RuleBroken("user", "This account is already deactivated", 409)
        self.trigger_event(st.UserDeactivated, reason=need_text(reason, "reason", "A reason"), **stamp)

    @applies(st.UserDeactivated)
    def _deactivated(self, e: st.UserDeactivated) -> None:
        self.status_when_deactivated = self.status
        self.status = "deactivated"
        self.sessions_ended += 1

    def reactivate(self, *, stamp: dict, reason: str) -> None:
        if self.status != "deactivated":
            raise RuleBroken("user", "This account is not deactivated", 409)
        self.trigger_event(st.UserReactivated, reason=need_text(reason, "reason", "A reason"), **stamp)

    @applies(st.UserReactivated)
    def _reactivated(self, e: st.UserReactivated) -> None:
        self.status = self.status_when_deactivated

    def change_role(self, *, stamp: dict, role: str, provider: str | None, reason: str) -> list[str]:
        """A new role and/or provider; a caseload that no longer fits is
        emptied in the same change. Returns the learners taken off it."""
        _check_role(role, provider)
        provider = provider or None
        if (role, provider) == (self.role, self.provider):
            raise RuleBroken("role", "is the same as now: choose a different role or provider")
        reason = need_text(reason, "reason", "A reason")
        provider_before = self.provider
        self.trigger_event(st.UserRoleChanged, user_role=role, user_provider=provider, reason=reason, **stamp)
        if role in CASELOAD_ROLES and provider == provider_before:
            return []
        removed = list(self.caseload)
        for learner_id in removed:
            self.trigger_event(st.CaseloadLearnerRemoved, learner_id=learner_id,
                               reason=f"The caseload does not fit the new role or provider: {reason}", **stamp)
        return removed

    @applies(st.UserRoleChanged)
    def _role_changed(self, e: st.UserRoleChanged) -> None:
        self.role = e.user_role
        self.provider = e.user_provider

    def add_to_caseload(self, *, stamp: dict, learner_id: str, reason: str = "") -> bool:
        if str(learner_id) in self.caseload:
            return False
        self.trigger_event(st.CaseloadLearnerAdded, learner_id=str(learner_id), reason=reason or "", **stamp)
        return True

    @applies(st.CaseloadLearnerAdded)
    def _caseload_learner_added(self, e: st.CaseloadLearnerAdded) -> None:
        self.caseload.append(e.learner_id)

    def remove_from_caseload(self, *, stamp: dict, learner_id: str, reason: str) -> None:
        if str(learner_id) not in self.caseload:
            raise RuleBroken("learner_id", "this learner is not on the caseload")
        self.trigger_event(
            st.CaseloadLearnerRemoved, learner_id=str(learner_id), reason=reason, **stamp
        )

    @applies(st.CaseloadLearnerRemoved)
    def _caseload_learner_removed(self, e: st.CaseloadLearnerRemoved) -> None:
        self.caseload.remove(e.learner_id)


class ObservationIdClaim(AppliesEvents, Aggregate):
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

    @applies(st.ObservationIdClaimed)
    def _claimed(self, e: st.ObservationIdClaimed) -> None:
        self.learner_id = e.learner_id

"""The people and places around a learner's record: providers, staff accounts
with their caseloads, and the claim that keeps each observation id unique
across all learners."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate

from events import staff as st
from events.vocabulary import ROLES
from rarpa.record.dispatch import AppliesEvents, applies
from rarpa.record.rules import RuleBroken, need, need_text, provider_id, user_id


class Provider(AppliesEvents, Aggregate):
    """A college or specialist provider, found by its short code (slug)."""

    def __init__(self) -> None:
        pass

    @classmethod
    def register(cls, *, stamp: dict, slug: str, name: str) -> Provider:
        slug = need_text(slug, "slug", "A short code").lower()
        if not slug.replace("-", "").isalnum():
            raise RuleBroken("slug", "use letters, digits and hyphens only, e.g. northfield")
        return cls._create(
            st.ProviderRegistered,
            id=provider_id(slug),
            slug=slug,
            name=need_text(name, "name", "The provider's name"),
            **stamp,
        )

    @applies(st.ProviderRegistered)
    def _registered(self, e: st.ProviderRegistered) -> None:
        self.slug = e.slug
        self.name = e.name


class User(AppliesEvents, Aggregate):
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
        need(role, "role", ROLES)
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

    @applies(st.UserRegistered)
    def _registered(self, e: st.UserRegistered) -> None:
        self.email = e.email
        self.display_name = e.display_name
        self.role = e.user_role
        self.provider = e.user_provider
        self.password_hash = e.password_hash
        self.caseload: list[str] = []

    def change_password(self, *, stamp: dict, password_hash: str, reason: str) -> None:
        self.trigger_event(st.PasswordChanged, password_hash=password_hash, reason=reason, **stamp)

    @applies(st.PasswordChanged)
    def _password_changed(self, e: st.PasswordChanged) -> None:
        self.password_hash = e.password_hash

    def add_to_caseload(self, *, stamp: dict, learner_id: str) -> bool:
        if str(learner_id) in self.caseload:
            return False
        self.trigger_event(st.CaseloadLearnerAdded, learner_id=str(learner_id), **stamp)
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

"""Providers and the people who use the record: accounts, passwords,
caseloads, sign-in and API tokens."""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from rarpa.record import Learner, Provider, RuleBroken, User, provider_id, user_id
from rarpa.service import access
from rarpa.service.access import Actor, Forbidden, NotFound
from rarpa.service.written import Erased, Written

MIN_PASSWORD = 10


def password_hasher(profile: str) -> PasswordHasher:
    if profile == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    if profile != "default":
        raise SystemExit(f"RARPA_PASSWORD_PROFILE must be 'default' or 'cheapest', not {profile!r}")
    return PasswordHasher()


class PeopleService:
    """Mixed into RecordApplication, which provides loading, saving and the vault."""

    def register_provider(self, actor: Actor, slug: str, name: str) -> Written:
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can add providers")
        if self.exists(provider_id(slug.strip().lower())):
            return Written(slug.strip().lower(), None, created=False)
        provider = Provider.register(stamp=actor.stamp(""), slug=slug, name=name)
        return Written(provider.slug, self._save(provider))

    def provider_exists(self, slug: str) -> bool:
        return self.exists(provider_id(slug))

    def add_user(
        self,
        actor: Actor,
        *,
        email: str,
        role: str,
        password: str,
        provider: str | None = None,
        display_name: str = "",
    ) -> Written:
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can add users")
        if provider and not self.provider_exists(provider):
            raise RuleBroken("provider", f"no provider with the short code {provider!r}")
        if len(password or "") < MIN_PASSWORD:
            raise RuleBroken("password", f"must be at least {MIN_PASSWORD} characters")
        if self.exists(user_id(email)):
            raise RuleBroken("email", "a user with this email already exists", 409)
        user = User.register(
            stamp=actor.stamp(provider or ""),
            email=email,
            display_name=display_name,
            role=role,
            provider=provider,
            password_hash=self.hasher.hash(password),
        )
        return Written(str(user.id), self._save(user))

    def user(self, email: str) -> User:
        return self._get(User, user_id(email), "user")

    def user_by_id(self, uid: str) -> User:
        return self._get(User, uid, "user")

    def set_password(self, actor: Actor, email: str, password: str, reason: str) -> Written:
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can reset passwords")
        if len(password or "") < MIN_PASSWORD:
            raise RuleBroken("password", f"must be at least {MIN_PASSWORD} characters")
        user = self.user(email)
        user.change_password(stamp=actor.stamp(user.provider or ""), password_hash=self.hasher.hash(password), reason=reason)
        return Written(str(user.id), self._save(user))

    def add_to_caseload(self, actor: Actor, email: str, learner_id: str) -> Written:
        if not actor.may(access.ADMINISTER) and actor.role != "send_lead":
            raise Forbidden("only a SEND lead or an administrator can set caseloads")
        user = self.user(email)
        if user.role not in ("tutor", "support"):
            raise RuleBroken("email", f"a {user.role} has no caseload")
        learner = self._get(Learner, learner_id, "learner")
        if user.provider not in learner.providers:
            raise RuleBroken("learner_id", f"this learner does not attend {user.provider}")
        if actor.role == "send_lead":
            access.require(actor, access.ENROL, str(learner.id), learner.providers)
        added = user.add_to_caseload(stamp=actor.stamp(user.provider or ""), learner_id=str(learner.id))
        return Written(added, self._save(user) if added else None, created=added)

    def actor_for(self, user: User) -> Actor:
        return Actor(
            user_id=str(user.id),
            role=user.role,
            provider=user.provider,
            caseload=frozenset(user.caseload),
            email=user.email,
        )

    def authenticate(self, email: str, password: str) -> Actor | None:
        """The actor for these credentials, or None. Takes as long for an
        unknown email as for a wrong password, so it reveals neither."""
        try:
            user = self.user(email)
        except (NotFound, Erased):
            self.hasher.hash(password)  # same cost as a real check
            return None
        try:
            self.hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, InvalidHashError):
            return None
        return self.actor_for(user)

    def actor_for_token(self, token: str) -> Actor | None:
        uid = self.vault.user_for_token(token)
        if uid is None:
            return None
        try:
            user = self.user_by_id(uid)
        except (NotFound, Erased):
            return None
        return self.actor_for(user)

    def create_token(self, email: str, label: str = "cli") -> str:
        return self.vault.issue_token(str(self.user(email).id), label)

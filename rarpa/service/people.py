"""Providers and the people who use the record: accounts, passwords,
caseloads, sign-in and API tokens."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from eventsourcing.persistence import IntegrityError

from events.base import now
from rarpa.record import Learner, Provider, RuleBroken, User, provider_id, user_id
from rarpa.record.staff import CASELOAD_ROLES, PROVIDER_ROLES
from rarpa.service import access
from rarpa.service.access import Actor, Forbidden, NotFound
from rarpa.service.passwords import password_problem
from rarpa.service.written import Erased, Written

# How long a one-time link that sets a password (an invitation, a reset) works.
LINK_LIFETIME = timedelta(days=7)


def check_password(password: str | None, *, email: str = "", name: str = "") -> None:
    """The one place a new password is checked (every way of setting one comes here):
    the policy in rarpa/service/passwords.py, for the person with this email and name."""
    if problem := password_problem(password or "", email=email, name=name):
        raise RuleBroken("password", problem)


class LinkNotUsable(LookupError):
    """A one-time link that does not (or no longer) work: ``state`` says why
    ("unknown", "used", "replaced", "ended", "expired")."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


def password_hasher(profile: str) -> PasswordHasher:
    if profile == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    if profile != "default":
        raise SystemExit(f"RARPA_PASSWORD_PROFILE must be 'default' or 'cheapest', not {profile!r}")
    return PasswordHasher()


class PeopleService:
    """Mixed into RecordApplication, which provides loading, saving and the vault."""

    def register_provider(self, actor: Actor, slug: str, name: str, reason: str = "") -> Written:
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can add providers")
        if self.exists(provider_id(slug.strip().lower())):
            return Written(slug.strip().lower(), None, created=False)
        provider = Provider.register(stamp=actor.stamp(""), slug=slug, name=name, reason=reason)
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
        check_password(password, email=email, name=display_name)
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

    def _user_seen(self, uid: str) -> User:
        """The user as cached, for a check on every request (never changed)."""
        return self._look(User, uid, "user")

    def set_password(self, actor: Actor, email: str, password: str, reason: str) -> Written:
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can reset passwords")
        user = self.user(email)
        check_password(password, email=user.email, name=user.display_name)
        user.change_password(stamp=actor.stamp(user.provider or ""), password_hash=self.hasher.hash(password), reason=reason)
        return Written(str(user.id), self._save(user))

    def add_to_caseload(self, actor: Actor, email: str, learner_id: str, reason: str = "") -> Written:
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
        added = user.add_to_caseload(stamp=actor.stamp(user.provider or ""), learner_id=str(learner.id),
                                     reason=reason)
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
        if not user.may_sign_in:  # invited, deactivated, or waiting for a new password
            self.hasher.hash(password)
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
            user = self._user_seen(uid)
        except (NotFound, Erased):
            return None
        if user.status != "active":  # deactivated: refused even if a token escaped revocation
            return None
        return self.actor_for(user)

    # --- sessions: a deactivation or a password reset ends them at once -----------
    def session_mark(self, user_id_: str) -> int:
        """What a session that begins now remembers (``session_actor`` checks it)."""
        return self._user_seen(user_id_).sessions_ended

    def session_actor(self, user_id_: str, mark: int = 0) -> Actor | None:
        """The actor of a signed-in session, loaded afresh on each request (so
        a new role takes effect at once); None when the user is gone or not
        active, or when a deactivation or a password reset ended the sessions
        that began before it (``mark``, from ``session_mark``)."""
        try:
            user = self._user_seen(user_id_)
        except (NotFound, Erased):
            return None
        if user.status != "active" or user.sessions_ended != mark:
            return None
        return self.actor_for(user)

    # --- administration (web/admin.py): every change an event with who and why ---------
    def _administered(self, actor: Actor, uid: str) -> User:
        if not actor.may(access.ADMINISTER):
            raise Forbidden(f"a {actor.role} cannot manage users")
        try:
            return self.user_by_id(uid)
        except Erased:
            raise NotFound("user") from None

    def _save_user(self, user: User) -> int | None:
        try:
            return self._save(user)
        except IntegrityError:
            raise RuleBroken("reason", "someone else changed this account at the same moment: "
                                       "look at it again and try once more", 409) from None

    def _not_yourself(self, actor: Actor, user: User, doing: str) -> None:
        if str(user.id) == actor.user_id:
            raise Forbidden(f"you cannot {doing} your own account: ask another administrator")

    def invite_user(self, actor: Actor, *, email: str, display_name: str, role: str, provider: str | None,
                    reason: str) -> Written:
        """A new account, invited: no password until the one-time link (the
        result's ``token``, shown once) is used to set one."""
        if not actor.may(access.ADMINISTER):
            raise Forbidden("only an administrator can invite users")
        provider = (provider or None) if role in PROVIDER_ROLES else None
        if provider and not self.provider_exists(provider):
            raise RuleBroken("provider", "is not a provider in the record: choose one from the list")
        if self.exists(user_id(email)):
            raise RuleBroken("email", "already has an account", 409)
        user = User.invite(stamp=actor.stamp(provider or ""), email=email, display_name=display_name,
                           role=role, provider=provider, reason=reason)
        position = self._save_user(user)
        token, expires = self._new_link(str(user.id), "invitation")
        return Written({"user_id": str(user.id), "token": token, "kind": "invitation", "expires_at": expires},
                       position)

    def _new_link(self, uid: str, kind: str) -> tuple[str, str]:
        at = now()
        return self.vault.issue_link(uid, kind, at, LINK_LIFETIME), (at + LINK_LIFETIME).isoformat()

    def issue_password_link(self, actor: Actor, *, user_id: str, reason: str) -> Written:
        """A new one-time link for this user: a password reset (their password
        stops working at once and their sessions end) or, for a user still
        invited, a new invitation link. Any earlier link stops working."""
        user = self._administered(actor, user_id)
        kind = user.issue_password_link(stamp=actor.stamp(user.provider or ""), reason=reason)
        position = self._save_user(user)
        token, expires = self._new_link(str(user.id), kind)
        return Written({"user_id": str(user.id), "token": token, "kind": kind, "expires_at": expires}, position)

    def password_link(self, token: str) -> dict:
        """Who a one-time link is for (name, email, kind), if it still works;
        LinkNotUsable saying why not. Anyone holding the link may ask."""
        state, uid, kind = self.vault.link(token or "", now())
        if state != "ok":
            raise LinkNotUsable(state)
        try:
            user = self.user_by_id(uid)
        except (NotFound, Erased):
            raise LinkNotUsable("unknown") from None
        if user.status == "deactivated":
            raise LinkNotUsable("ended")
        return {"user_id": str(user.id), "email": user.email, "display_name": user.display_name, "kind": kind}

    def set_password_with_link(self, *, token: str, password: str) -> Actor:
        """Set the password with a one-time link, recorded as by the user;
        the link then never works again. The actor, to sign them in."""
        link = self.password_link(token)
        uid = link["user_id"]
        # Before the link is used: a refusal leaves it working.
        check_password(password, email=link["email"], name=link["display_name"])
        if not self.vault.use_link(token, now()):  # used by someone else a moment ago, or just expired
            raise LinkNotUsable(self.vault.link(token, now())[0])
        user = self.user_by_id(uid)
        me = self.actor_for(user)
        user.set_password_with_link(stamp=me.stamp(user.provider or ""), password_hash=self.hasher.hash(password))
        self._save_user(user)
        return self.actor_for(user)

    def deactivate_user(self, actor: Actor, *, user_id: str, reason: str) -> Written:
        """The account stops at once: sign-in, every session, every API token
        and any one-time link."""
        user = self._administered(actor, user_id)
        self._not_yourself(actor, user, "deactivate")
        user.deactivate(stamp=actor.stamp(user.provider or ""), reason=reason)
        position = self._save_user(user)
        self.vault.revoke_tokens(str(user.id))
        self.vault.end_links(str(user.id), "ended", now())
        return Written(str(user.id), position)

    def reactivate_user(self, actor: Actor, *, user_id: str, reason: str) -> Written:
        user = self._administered(actor, user_id)
        user.reactivate(stamp=actor.stamp(user.provider or ""), reason=reason)
        return Written(str(user.id), self._save_user(user))

    def change_user_role(self, actor: Actor, *, user_id: str, role: str, provider: str | None,
                         reason: str) -> Written:
        """A new role and/or provider, in effect from the user's next request;
        a caseload that no longer fits is emptied in the same change."""
        user = self._administered(actor, user_id)
        self._not_yourself(actor, user, "change the role of")
        provider = (provider or None) if role in PROVIDER_ROLES else None
        if provider and not self.provider_exists(provider):
            raise RuleBroken("provider", "is not a provider in the record: choose one from the list")
        removed = user.change_role(stamp=actor.stamp(provider or user.provider or ""), role=role,
                                   provider=provider, reason=reason)
        return Written(removed, self._save_user(user))

    def change_caseload(self, actor: Actor, *, user_id: str, add: list[str], remove: list[str],
                        reason: str) -> Written:
        """Learners on and off a tutor's or support assistant's caseload, all
        in one change with one reason; each added learner must attend the
        user's provider. The result: (added, removed)."""
        user = self._administered(actor, user_id)
        if user.role not in CASELOAD_ROLES:
            raise RuleBroken("learner_ids", "Only tutors and learning support assistants have a caseload")
        reason = (reason or "").strip()
        if not reason:
            raise RuleBroken("reason", "A reason is required")
        add = [lid for lid in dict.fromkeys(map(str, add)) if lid not in user.caseload]
        remove = [lid for lid in dict.fromkeys(map(str, remove)) if lid in user.caseload]
        if not add and not remove:
            raise RuleBroken("learner_ids", "Nothing changed: tick or untick a learner to change the caseload")
        stamp = actor.stamp(user.provider or "")
        for lid in add:
            try:
                learner = self._get(Learner, lid, "learner")
            except (NotFound, Erased):
                raise RuleBroken("learner_ids", "One of the learners is no longer in the record: look at the list again") from None
            if learner.erased or user.provider not in learner.providers:
                raise RuleBroken("learner_ids", "One of the learners does not attend this provider: look at the list again")
            user.add_to_caseload(stamp=stamp, learner_id=str(learner.id), reason=reason)
        for lid in remove:
            user.remove_from_caseload(stamp=stamp, learner_id=lid, reason=reason)
        return Written((add, remove), self._save_user(user))

    def open_password_link(self, actor: Actor, user_id: str) -> dict | None:
        """The user's one-time link that still works (kind, made, expires), for the admin."""
        user = self._administered(actor, user_id)
        return self.vault.open_link(str(user.id), now())

    def create_token(self, email: str, label: str = "cli") -> str:
        return self.vault.issue_token(str(self.user(email).id), label)

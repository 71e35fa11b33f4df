"""The service layer: one method per thing a person can do to the record.

Each method loads the aggregate, checks access, runs the domain command, and
saves. Writes that clash with another writer of the same learner are retried
on the fresh state. Methods return plain data and the notification position
of what they wrote, so a caller can wait for the read model to catch up.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import OrderedDict
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from rarpa.service import access
from rarpa.service.access import Actor, Forbidden, NotFound
from rarpa.config import Settings
from rarpa.record import (
    Learner,
    ObservationIdClaim,
    Provider,
    RuleBroken,
    User,
    provider_id,
    user_id,
)
from rarpa.store.cipher import PerStreamCipherMapper, StreamErased
from rarpa.store.sqlite import ChainedSQLiteRecorder, SignedHead
from rarpa.store.vault import Vault

# A write that loses a race with another writer of the same learner is tried
# again on the fresh state for this long before the caller is told to retry.
RETRY_SECONDS = 20.0
WRITE_LOCK_STRIPES = 256


def password_hasher(profile: str) -> PasswordHasher:
    if profile == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    if profile != "default":
        raise SystemExit(f"RARPA_PASSWORD_PROFILE must be 'default' or 'cheapest', not {profile!r}")
    return PasswordHasher()


class Erased(LookupError):
    """The learner's data was erased (410)."""


@dataclass
class Written:
    """What a command wrote: its result and the position to wait for."""

    result: Any
    position: int | None
    created: bool = True
    learner_id: str | None = None  # the learner's canonical id, for learner commands


def replay(aggregate, events):
    """Apply events in order. The library's default does a runtime Protocol
    check per event, which measured at a fifth of the time of a write."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class AggregateCache:
    """Aggregates kept between requests, so a learner with years of evidence
    is not replayed for every tap. An aggregate in the cache is never
    changed: bringing it up to date works on a copy, which then takes its
    place. So a thread may copy a cached aggregate without a lock while
    another thread brings the same learner up to date."""

    def __init__(self, maxsize: int = 500):
        self.maxsize = maxsize
        self._items: OrderedDict[uuid.UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: uuid.UUID):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: uuid.UUID, aggregate) -> None:
        """Keep the newer of what is cached and this (writers may finish out of order)."""
        with self._lock:
            held = self._items.get(key)
            if held is None or held.version < aggregate.version:
                self._items[key] = aggregate
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)

    def evict(self, key: uuid.UUID) -> None:
        with self._lock:
            self._items.pop(key, None)


class RecordApplication(Application):
    name = "rarpa"
    # A snapshot every 100 events keeps a learner with years of evidence fast to load.
    snapshotting_intervals = {Learner: 100}

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.settings.ensure_dirs()
        self.vault = Vault(self.settings.vault)
        self.hasher = password_hasher(self.settings.password_profile)
        super().__init__(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.settings.db,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "rarpa.store.sqlite:ChainedSQLiteRecorder",
            }
        )
        assert isinstance(self.recorder, ChainedSQLiteRecorder)
        self.recorder.group_commit = self.settings.group_commit
        self.recorder.attach_signer(self.vault.signing_key(), on_signed=self._remember_head)
        # Our own cache rather than the library's, which brings a cached
        # aggregate up to date in place while other threads may be copying it.
        self.cache = AggregateCache(500)
        # Writers of one learner in this process take turns (they would only
        # clash); writers in other processes are met by retrying.
        self._write_locks = [threading.Lock() for _ in range(WRITE_LOCK_STRIPES)]

    def _remember_head(self, head: SignedHead) -> None:
        self.vault.remember_head(head.position, head.log_hash, head.signature)

    def construct_mapper(self):
        mapper = self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=PerStreamCipherMapper
        )
        mapper.vault = self.vault
        return mapper

    def close(self) -> None:
        super().close()
        self.vault.close()

    # --- loading ---------------------------------------------------------------
    def _get(self, cls, aggregate_id, what: str):
        """A copy of the aggregate, up to date, that the caller may change."""
        try:
            key = uuid.UUID(str(aggregate_id))
        except ValueError:
            raise NotFound(what) from None
        try:
            agg = self._load(key)
        except StreamErased:
            self.cache.evict(key)
            raise Erased(what) from None
        except AggregateNotFoundError:
            raise NotFound(what) from None
        if not isinstance(agg, cls):
            raise NotFound(what)
        return agg

    def _load(self, key: uuid.UUID):
        cached = self.cache.get(key)
        if cached is None:
            fresh = self.repository.get(key, projector_func=replay)
        else:
            new_events = list(self.events.get(key, gt=cached.version))
            if not new_events:
                return deepcopy(cached)
            fresh = replay(deepcopy(cached), new_events)
        self.cache.put(key, fresh)
        return deepcopy(fresh)

    def cached_aggregate(self, key: uuid.UUID):
        """The object the cache holds (for tests and diagnostics; never change it)."""
        return self.cache.get(key)

    def learner(self, actor: Actor, learner_id: str, action: str = access.READ) -> Learner:
        try:
            learner = self._get(Learner, learner_id, "learner")
        except Erased:
            self._erased_in_sight(actor, learner_id, self._erased_providers(learner_id))
            raise
        if learner.erased:
            self.cache.evict(learner.id)
            self._erased_in_sight(actor, learner_id, learner.providers)
            raise Erased("learner")
        access.require(actor, action, str(learner.id), learner.providers)
        return learner

    @staticmethod
    def _erased_in_sight(actor: Actor, learner_id: str, providers) -> None:
        """Only those who could see the learner learn the record was erased
        (410); to anyone else an erased learner looks like no learner (404)."""
        if not access.can_see(actor, str(uuid.UUID(str(learner_id))), providers):
            raise NotFound("learner")

    def _erased_providers(self, learner_id: str) -> dict:
        """The providers an erased learner attended, from the erasure event
        (written in clear); empty for an erasure recorded before it said so."""
        stored = self.recorder.select_events(uuid.UUID(str(learner_id)), desc=True, limit=1)
        try:
            event = self.mapper.to_domain_event(stored[0]) if stored else None
        except StreamErased:
            return {}
        summary = getattr(event, "summary", None) or {}
        return summary.get("providers", {})

    def exists(self, aggregate_id: uuid.UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _save(self, *aggregates) -> int | None:
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=None)

    def _write_lock(self, learner_id: str) -> threading.Lock:
        try:
            key = uuid.UUID(str(learner_id)).int
        except ValueError:
            key = hash(str(learner_id))
        return self._write_locks[key % WRITE_LOCK_STRIPES]

    def _change(
        self, actor: Actor, learner_id: str, action: str, command: Callable[[Learner, dict], Any]
    ) -> Written:
        """Load, check, run the command, save. A save that lost a race with
        another writer (another process: writers here take turns) is tried
        again on the fresh state until it succeeds; only a rule of the record
        can refuse it."""
        with self._write_lock(learner_id):
            deadline = time.monotonic() + RETRY_SECONDS
            attempt = 0
            while True:
                learner = self.learner(actor, learner_id, action)
                stamp = actor.stamp(learner.lead_provider)
                outcome = command(learner, stamp)
                extra = outcome.pop("also_save", ()) if isinstance(outcome, dict) else ()
                if not learner.pending_events:
                    # Nothing new, but the answer rests on what was just read:
                    # a reader must wait for the read model to reach it.
                    return Written(outcome, self.recorder.max_notification_id(), created=False,
                                   learner_id=str(learner.id))
                try:
                    return Written(outcome, self._save(learner, *extra), learner_id=str(learner.id))
                except IntegrityError:
                    attempt += 1
                    if time.monotonic() > deadline:
                        raise RuleBroken("learner_id", "the record is busy; please try again in a moment",
                                         503) from None
                    # Someone else wrote to this learner first: reload and try
                    # again, after a short random pause so clashing writers spread out.
                    time.sleep(random.uniform(0, min(0.05, 0.002 * attempt)))

    # --- providers and people ---------------------------------------------------
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
        if len(password or "") < 10:
            raise RuleBroken("password", "must be at least 10 characters")
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
        if len(password or "") < 10:
            raise RuleBroken("password", "must be at least 10 characters")
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

    # --- the learner's record ---------------------------------------------------
    def enrol_learner(
        self,
        actor: Actor,
        *,
        name: str,
        date_of_birth,
        provider: str,
        preferred_name: str | None = None,
        learner_id: uuid.UUID | None = None,
        timestamp: datetime | None = None,
    ) -> Written:
        if not actor.may(access.ENROL):
            raise Forbidden(f"a {actor.role} cannot enrol learners")
        if actor.role == "send_lead" and provider != actor.provider:
            raise RuleBroken("provider", f"you can enrol learners at {actor.provider} only")
        if not self.provider_exists(provider):
            raise RuleBroken("provider", f"no provider with the short code {provider!r}")
        stamp = actor.stamp(provider)
        if timestamp:
            stamp["timestamp"] = timestamp
        learner = Learner.enrol(
            stamp=stamp,
            name=name,
            date_of_birth=date_of_birth,
            lead_provider=provider,
            preferred_name=preferred_name,
            learner_id=learner_id,
        )
        return Written(str(learner.id), self._save(learner))

    def join_provider(self, actor, learner_id, *, provider: str, lead: bool, reason: str) -> Written:
        if not self.provider_exists(provider):
            raise RuleBroken("provider", f"no provider with the short code {provider!r}")
        return self._change(
            actor, learner_id, access.ENROL,
            lambda l, s: l.join_provider(stamp=s, provider=provider, lead=lead, reason=reason),
        )

    def record_consent(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.record_consent(stamp=s, **kw))

    def record_outcome(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.record_outcome(stamp=s, **kw))

    def amend_outcome(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.amend_outcome(stamp=s, **kw))

    def agree_aim(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.agree_aim(stamp=s, **kw))

    def set_target(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.set_target(stamp=s, **kw))

    def revise_target(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.revise_target(stamp=s, **kw))

    def close_target(self, actor, learner_id, **kw) -> Written:
        return self._change(actor, learner_id, access.PLAN, lambda l, s: l.close_target(stamp=s, **kw))

    def record_observation(self, actor, learner_id, *, observation_id, **kw) -> Written:
        """Idempotent on the client's observation id: a repeat with the same body
        writes nothing (created=False); another body, or the id already used for
        another learner, is a 409."""
        observation_id = str(observation_id)
        tries = 0

        def command(learner: Learner, stamp: dict):
            nonlocal tries
            tries += 1
            # Only after a failed save can the id be held by another learner:
            # the first try saves the claim and lets the store's unique key decide.
            if tries > 1 and observation_id not in learner.observations:
                claimed = self._claim_holder(observation_id)
                if claimed is not None and claimed != str(learner.id):
                    raise RuleBroken("id", "this observation id was already used for another learner", 409)
            created = learner.record_observation(stamp=stamp, observation_id=observation_id, **kw)
            result = {"id": observation_id}
            if created:
                result["also_save"] = (
                    ObservationIdClaim.claim(
                        stamp=stamp, observation_id=observation_id, learner_id=str(learner.id)
                    ),
                )
            return result

        return self._change(actor, learner_id, access.RECORD, command)

    def _claim_holder(self, observation_id: str) -> str | None:
        """Which learner holds this id; any other stream with that id (a learner,
        a user...) counts as taken too."""
        try:
            holder = self.repository.get(uuid.UUID(observation_id), projector_func=replay)
        except AggregateNotFoundError:
            return None
        except StreamErased:
            return "(erased record)"
        return holder.learner_id if isinstance(holder, ObservationIdClaim) else "(another record)"

    def correct_observation(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.RECORD, lambda l, s: l.correct_observation(stamp=s, **kw)
        )

    def withdraw_observation(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.RECORD, lambda l, s: l.withdraw_observation(stamp=s, **kw)
        )

    def record_self_assessment(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.RECORD, lambda l, s: l.record_self_assessment(stamp=s, **kw)
        )

    def hold_progress_review(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.REVIEW, lambda l, s: l.hold_progress_review(stamp=s, **kw)
        )

    def record_summative_assessment(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.PLAN, lambda l, s: l.record_summative_assessment(stamp=s, **kw)
        )

    def recognise_unplanned_outcome(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.RECORD, lambda l, s: l.recognise_unplanned_outcome(stamp=s, **kw)
        )

    def agree_next_step(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.REVIEW, lambda l, s: l.agree_next_step(stamp=s, **kw)
        )

    def record_destination(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.PLAN, lambda l, s: l.record_destination(stamp=s, **kw)
        )

    def confirm_destination_sustained(self, actor, learner_id, **kw) -> Written:
        return self._change(
            actor, learner_id, access.PLAN, lambda l, s: l.confirm_destination_sustained(stamp=s, **kw)
        )

    def hold_annual_review(self, actor, learner_id, **kw) -> Written:
        """Records the annual review with the fingerprint of the record as it
        stood when reviewed (the head of the learner's hash chain)."""

        def command(learner: Learner, stamp: dict):
            fingerprint = self.fingerprint(learner.id, learner.version)
            return learner.hold_annual_review(stamp=stamp, fingerprint=fingerprint, **kw)

        return self._change(actor, learner_id, access.REVIEW, command)

    def fingerprint(self, learner_id: uuid.UUID, version: int) -> str:
        """A short, printable form of one link of the learner's hash chain."""
        link = self.recorder.link_of(learner_id, version)
        return link.hex()[:16] if link else ""

    def erase_learner(self, actor: Actor, learner_id: str, reason: str) -> Written:
        """Crypto-shredding: write the (clear) erasure event, with the
        anonymous shape of the record that stays countable, then destroy the
        learner's key, in the vault file and its WAL. The events stay,
        chained and countable, but unreadable. Running it again finishes an
        erasure that was interrupted before the key was destroyed."""
        if actor.role != "system":
            raise Forbidden("erasure is done by the data controller at the command line")
        try:
            key = uuid.UUID(str(learner_id))
        except ValueError:
            raise NotFound("learner") from None
        try:
            learner = self._get(Learner, key, "learner")
        except Erased:  # the key is already gone: make sure no copy is left
            self.vault.destroy_key(str(key), reason)
            return Written(str(key), None, created=False, learner_id=str(key))
        position = None
        if not learner.erased:
            written = self._change(actor, str(key), access.READ,
                                   lambda l, s: l.erase(stamp=s, reason=reason))
            position = written.position
        self.cache.evict(key)
        # Snapshots are sealed with the same key, so they become unreadable too.
        self.vault.destroy_key(str(key), reason)
        return Written(str(key), position, learner_id=str(key))

    # --- reading the history ----------------------------------------------------
    def learner_events(self, actor: Actor, learner_id: str) -> list:
        """Every event of the learner's stream, oldest first (audited for auditors)."""
        learner = self.learner(actor, learner_id)
        return list(self.events.get(learner.id))


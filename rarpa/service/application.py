"""The service layer's core: loading aggregates (through the cache),
checking access, saving, and retrying a write that lost a race. What people
do to the record is in ``people.py`` and ``learners.py``, mixed in here.

Methods return plain data and the notification position of what they wrote,
so a caller can wait for the read model to catch up.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from copy import deepcopy
from typing import Any, Callable

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from rarpa.config import Settings
from rarpa.record import Learner, RuleBroken, records
from rarpa.service import access
from rarpa.service.access import Actor, NotFound
from rarpa.service.audit import AuditService
from rarpa.service.cache import AggregateCache, replay
from rarpa.service.family import FamilyService
from rarpa.service.learners import LearnerService
from rarpa.service.people import PeopleService, password_hasher
from rarpa.service.photos import PhotoService
from rarpa.service.written import Erased, Written
from rarpa.store.cipher import PerStreamCipherMapper, StreamErased
from rarpa.store.group import SignedHead
from rarpa.store.postgres import ChainedPostgresRecorder, check_reachable
from rarpa.store.postgres import environment as postgres_environment
from rarpa.store.sqlite import ChainedSQLiteRecorder
from rarpa.store.vault import Vault

__all__ = ["Erased", "RecordApplication", "Written"]

# A write that loses a race with another writer of the same learner is tried
# again on the fresh state for this long before the caller is told to retry.
RETRY_SECONDS = 20.0
WRITE_LOCK_STRIPES = 256


class _Saving(ProcessingEvent):
    """The library's collection of what a save writes, without its runtime
    Protocol checks for our own aggregates: on Python 3.11 those cost a
    tenth of a write's CPU."""

    def collect_events(self, *objs, **kwargs) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class RecordApplication(PeopleService, FamilyService, PhotoService, LearnerService, AuditService, Application):
    name = "rarpa"
    # A snapshot every 100 events keeps a learner with years of evidence fast to load.
    snapshotting_intervals = {Learner: 100}

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.settings.ensure_dirs()
        if self.settings.on_postgres:
            check_reachable(self.settings.db)
        self.vault = Vault(self.settings.vault)
        self.hasher = password_hasher(self.settings.password_profile)
        if self.settings.on_postgres:
            env = postgres_environment(self.settings.db)
        else:
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.settings.db,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "rarpa.store.sqlite:ChainedSQLiteRecorder",
            }
        super().__init__(env=env)
        assert isinstance(self.recorder, (ChainedSQLiteRecorder, ChainedPostgresRecorder))
        self.recorder.group_commit = self.settings.group_commit
        # The vault remembers the last head it saw signed, so a store put back
        # behind its vault is noticed; on PostgreSQL both are one database,
        # restored together or not at all, and the extra commit would cost a
        # second fsync per write.
        self.recorder.attach_signer(self.vault.signing_key(),
                                    on_signed=None if self.settings.on_postgres else self._remember_head)
        # Our own cache rather than the library's, which brings a cached
        # aggregate up to date in place while other threads may be copying it.
        self.cache = AggregateCache(500)
        # Writers of one learner in this process take turns (they would only
        # clash); writers in other processes are met by retrying.
        self._write_locks = [threading.Lock() for _ in range(WRITE_LOCK_STRIPES)]

    def save(self, *objs, **kwargs):
        """The library's save (record, snapshot, notify) through ``_Saving``."""
        processing_event = _Saving()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _take_snapshots(self, processing_event) -> None:
        """A learner's snapshot is taken from the learner just saved when its
        last event is the one due a snapshot (the usual case: a write is one
        event). The library reads back and replays up to 100 events to
        rebuild what is already in hand; it still does so for an event due a
        snapshot in the middle of a batch."""
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                self.snapshots.put([type(aggregate).Snapshot.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, event.originator_version, projector_func=replay)

    def _remember_head(self, head: SignedHead) -> None:
        self.vault.remember_head(head.position, head.log_hash, head.signature)

    def register_transcodings(self, transcoder) -> None:
        super().register_transcodings(transcoder)
        records.register_transcodings(transcoder)  # a learner's typed records, in snapshots

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
        return deepcopy(self._look(cls, aggregate_id, what))

    def _look(self, cls, aggregate_id, what: str):
        """The cached aggregate, up to date: to read, never to change (no copy
        is made: a signed-in request looks at its user this way)."""
        try:
            key = uuid.UUID(str(aggregate_id))
        except ValueError:
            raise NotFound(what) from None
        try:
            agg = self._peek(key)
        except StreamErased:
            self.cache.evict(key)
            raise Erased(what) from None
        except AggregateNotFoundError:
            raise NotFound(what) from None
        if not isinstance(agg, cls):
            raise NotFound(what)
        return agg

    def _peek(self, key: uuid.UUID, fresh: bool = True):
        """The cached aggregate itself, brought up to date (unless not
        ``fresh``: as cached): for looking, never for changing (no copy is
        made, so a check on every request is cheap)."""
        cached = self.cache.get(key)
        if cached is not None and not fresh:
            return cached
        if cached is None:
            cached = self.repository.get(key, projector_func=replay)
        else:
            new_events = list(self.events.get(key, gt=cached.version))
            if not new_events:
                return cached
            cached = replay(deepcopy(cached), new_events)
        self.cache.put(key, cached)
        return cached

    def check(self, actor: Actor, learner_id: str, action: str) -> str:
        """The rule table applied to one learner, as ``learner`` applies it but
        without a copy of the record: the learner's id, or NotFound, Forbidden,
        Erased. (web/rules.py runs it before every learner route.)"""
        return str(self._checked(actor, learner_id, action).id)

    def learner(self, actor: Actor, learner_id: str, action: str = access.READ, *, fresh: bool = True) -> Learner:
        """A copy of the learner's aggregate, which the caller may change, when
        the rule table lets this person do ``action`` to them."""
        return deepcopy(self._checked(actor, learner_id, action, fresh))

    def _checked(self, actor: Actor, learner_id: str, action: str, fresh: bool = True) -> Learner:
        """The cached learner (never to be changed) once the rule table allows
        ``action``; NotFound, Forbidden, or Erased (to those who saw them)."""
        try:
            key = uuid.UUID(str(learner_id))
        except ValueError:
            raise NotFound("learner") from None
        try:
            learner = self._peek(key, fresh)
        except StreamErased:  # (a ValueError too: caught first)
            self.cache.evict(key)
            self._erased_in_sight(actor, learner_id, self._erased_providers(learner_id))
            raise Erased("learner") from None
        except AggregateNotFoundError:
            raise NotFound("learner") from None
        if not isinstance(learner, Learner):
            raise NotFound("learner")
        if learner.erased:
            self.cache.evict(learner.id)
            self._erased_in_sight(actor, learner_id, learner.providers)
            raise Erased("learner")
        access.require(actor, action, str(learner.id), learner.providers, learner.family_in_sight())
        return learner

    def cached_aggregate(self, key: uuid.UUID):
        """The object the cache holds (for tests and diagnostics; never change it)."""
        return self.cache.get(key)

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

    def _change(self, actor: Actor, learner_id: str, action: str, command: Callable[[Learner, dict], Any], *,
                companions: Callable[[Learner, dict, Any], list] | None = None) -> Written:
        """Load, check, run the command, save. ``companions`` gives other new
        aggregates to save in the same transaction (from the command's result).
        A save that lost a race with another writer (another process: writers
        here take turns) is tried again on the fresh state until it succeeds;
        only a rule of the record can refuse it.

        The first try runs on the cached learner as it is, without asking the
        store what is new: every change to a learner is an event of their
        stream, so a save on a stale copy clashes with what came after it and
        is tried again on the fresh state. A refusal, or nothing to write, on
        the cached copy is decided again on the fresh state too."""
        with self._write_lock(learner_id):
            deadline = time.monotonic() + RETRY_SECONDS
            attempt = 0
            fresh = False
            while True:
                try:
                    learner = self.learner(actor, learner_id, action, fresh=fresh)
                    stamp = actor.stamp(learner.lead_provider)
                    result = command(learner, stamp)
                except Exception:
                    if fresh:
                        raise
                    fresh = True
                    continue
                if not learner.pending_events and not fresh:
                    fresh = True
                    continue
                if not learner.pending_events:
                    # Nothing new, but the answer rests on what was just read:
                    # a reader must wait for the read model to reach it.
                    return Written(result, self.recorder.max_notification_id(), created=False,
                                   learner_id=str(learner.id))
                others = companions(learner, stamp, result) if companions else []
                try:
                    position = self._save(learner, *others)
                except StreamErased:
                    # Erased meanwhile (by another process): the fresh state says so.
                    self.cache.evict(learner.id)
                    if fresh:
                        raise Erased("learner") from None
                    fresh = True
                    continue
                except IntegrityError:
                    if not fresh:  # the cached copy was behind: no one to make way for yet
                        fresh = True
                        continue
                    attempt += 1
                    if time.monotonic() > deadline:
                        raise RuleBroken("learner_id", "the record is busy; please try again in a moment",
                                         503) from None
                    # Someone else wrote to this learner first: reload and try
                    # again, after a short random pause so clashing writers spread out.
                    time.sleep(random.uniform(0, min(0.05, 0.002 * attempt)))
                    continue
                # The saved copy is the stored state (its events applied, as a
                # replay applies them): it replaces the cached learner, so the
                # next tap neither reads back nor replays what was just written.
                self.cache.put(learner.id, learner)
                return Written(result, position, learner_id=str(learner.id))

    # --- reading the history ----------------------------------------------------
    def learner_events(self, actor: Actor, learner_id: str) -> list:
        """Every event of the learner's stream, oldest first (audited for auditors)."""
        learner = self.learner(actor, learner_id)
        return list(self.events.get(learner.id))

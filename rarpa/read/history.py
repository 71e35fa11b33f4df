"""As-at replay: what the record said at a given recorded instant.

The learner's events recorded up to that instant are run through the same
projection code as the live read model, into a throw-away in-memory database,
so "progress as it stood" is computed exactly as progress is computed now.
A correction recorded later, or an observation made offline earlier but sent
later, is not part of what the record said at that instant.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from itertools import takewhile

import sqlite_utils

import events
from rarpa.read import queries
from rarpa.read.projections import ProgressProjection
from rarpa.read.tables import in_memory
from rarpa.record import limits
from rarpa.service.access import NotFound


def parse_instant(value: str) -> datetime:
    """An ISO date-time with an offset, as UTC. The offset is required: 'as at
    5pm' means different instants in winter and summer."""
    try:
        moment = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise ValueError("must be an ISO date-time, e.g. 2026-03-01T17:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("needs a timezone offset, e.g. 2026-03-01T17:00:00Z")
    problem = limits.instant_problem(moment)  # year 1 at +14:00 has no UTC: checked first
    if problem:
        raise ValueError(problem)
    return moment.astimezone(timezone.utc)


def replay(learner_events: list, providers: list[tuple[str, str]] = (),
           users: list[dict] = ()) -> sqlite3.Connection:
    """A throw-away read model holding just these events (and the names of
    providers and staff, so a page built from it names people as now)."""
    conn = in_memory()
    db = sqlite_utils.Database(conn)
    db["providers"].insert_all([{"slug": s, "name": n} for s, n in providers], pk="slug")
    db["users"].insert_all([dict(u) for u in users], pk="id")
    projection = ProgressProjection(db)
    for e in learner_events:
        projection.apply(e, e.originator_version)
    projection.flush()
    return conn


def events_as_at(app, actor, learner_id: str, as_at: datetime | None) -> list:
    """The learner's events recorded up to an instant: a prefix of the stream,
    so an event never appears without those before it."""
    cutoff = (as_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    kept = list(takewhile(lambda e: e.timestamp <= cutoff, app.learner_events(actor, learner_id)))
    if not kept:
        raise NotFound("learner as at that time")
    return kept


USER_COLUMNS = ("id", "email", "display_name", "role", "provider")


def record_as_at(app, live: sqlite3.Connection, actor, learner_id: str, as_at: datetime) -> tuple[sqlite3.Connection, list]:
    """The read model of one learner as the record stood at ``as_at`` (a
    replay of the events recorded up to then, with the live read model's
    provider and staff names), and those events."""
    kept = events_as_at(app, actor, learner_id, as_at)
    providers = [(r[0], r[1]) for r in live.execute("SELECT slug, name FROM providers")]
    users = [dict(zip(USER_COLUMNS, r)) for r in live.execute(f"SELECT {', '.join(USER_COLUMNS)} FROM users")]
    return replay(kept, providers, users), kept


def progress_from(learner_events: list) -> dict:
    if not learner_events:
        return {"targets": [], "outcomes": []}
    return queries.progress(replay(learner_events), str(learner_events[0].originator_id))


def history(app, actor, learner_id: str, as_at: datetime | None = None) -> dict:
    cutoff = (as_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    kept = events_as_at(app, actor, learner_id, cutoff)
    return {
        "learner_id": str(kept[0].originator_id),
        "as_at": cutoff.isoformat(),
        "events": [events.to_json(e) for e in kept],
        "progress": progress_from(kept),
        # The head of the stream's hash chain as it stood: a short fingerprint an
        # auditor can later check against `rarpa verify`.
        "fingerprint": app.fingerprint(kept[-1].originator_id, kept[-1].originator_version),
    }

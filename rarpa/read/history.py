"""As-at replay: what the record said at a given recorded instant.

The learner's events recorded up to that instant are run through the same
projection code as the live read model, into a throw-away in-memory database,
so "progress as it stood" is computed exactly as progress is computed now.
A correction recorded later, or an observation made offline earlier but sent
later, is not part of what the record said at that instant.

The views start from checkpoints kept in memory (rarpa/read/as_at_memo.py) and
give exactly what ``replay`` and ``progress_from`` give from the learner's
first event (tests/test_as_at_memo.py holds them to it).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import sqlite_utils

from rarpa.read import as_at_memo, queries
from rarpa.read.projections import ProgressProjection
from rarpa.read.tables import in_memory
from rarpa.record import limits


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
    """The learner's events recorded up to an instant: a prefix of the stream
    (every event before the first one recorded after the instant), so an
    event never appears without those before it."""
    return _view(app, actor, learner_id, as_at).events()


def _cutoff(as_at: datetime | None) -> datetime:
    return (as_at or datetime.now(timezone.utc)).astimezone(timezone.utc)


def _view(app, actor, learner_id: str, as_at: datetime | None) -> as_at_memo.View:
    return as_at_memo.recorded_up_to(app, actor, learner_id, _cutoff(as_at))


def read_model_as_at(app, actor, learner_id: str, as_at: datetime, providers=(), users=()) -> tuple[sqlite3.Connection, list]:
    """``replay(events_as_at(...), providers, users)`` and those events, from the nearest checkpoint."""
    view = _view(app, actor, learner_id, as_at)
    return view.read_model(providers, users), view.events()


USER_COLUMNS = ("id", "email", "display_name", "role", "provider")


def record_as_at(app, live: sqlite3.Connection, actor, learner_id: str, as_at: datetime) -> tuple[sqlite3.Connection, list]:
    """The read model of one learner as the record stood at ``as_at`` (a
    replay of the events recorded up to then, with the live read model's
    provider and staff names), and those events."""
    providers = [(r[0], r[1]) for r in live.execute("SELECT slug, name FROM providers")]
    users = [dict(zip(USER_COLUMNS, r)) for r in live.execute(f"SELECT {', '.join(USER_COLUMNS)} FROM users")]
    return read_model_as_at(app, actor, learner_id, as_at, providers, users)


def progress_from(learner_events: list) -> dict:
    """Progress from these events replayed in one go (what an as-at view's progress must equal)."""
    if not learner_events:
        return {"targets": [], "outcomes": []}
    return queries.progress(replay(learner_events), str(learner_events[0].originator_id))


def history(app, actor, learner_id: str, as_at: datetime | None = None) -> dict:
    cutoff = _cutoff(as_at)
    view = as_at_memo.recorded_up_to(app, actor, learner_id, cutoff)
    return {
        "learner_id": view.learner_id,
        "as_at": cutoff.isoformat(),
        "events": view.events_json(),
        "progress": queries.progress(view.read_model(), view.learner_id),
        # The head of the stream's hash chain as it stood: a short fingerprint an
        # auditor can later check against `rarpa verify`.
        "fingerprint": app.fingerprint(view.memo.key, view.last_version),
    }

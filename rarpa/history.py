"""As-at replay: what the record said at a given recorded instant.

The learner's events recorded up to that instant are run through the same
projection code as the live read model, into a throw-away in-memory database,
so "progress as it stood" is computed exactly as progress is computed now.
A correction recorded later, or an observation made offline earlier but sent
later, is not part of what the record said at that instant.
"""

from __future__ import annotations

import sqlite3
from itertools import takewhile
from datetime import datetime, timezone

import sqlite_utils

import events
from rarpa import queries
from rarpa.access import NotFound
from rarpa.projections import ProgressProjection, create_schema


def progress_from(learner_events: list) -> dict:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    db = sqlite_utils.Database(conn)
    create_schema(db)
    projection = ProgressProjection(db)
    for e in learner_events:
        projection.apply(e, e.originator_version)
    projection.flush()
    return queries.progress(conn, str(learner_events[0].originator_id)) if learner_events else {
        "targets": [],
        "outcomes": [],
    }


def history(app, actor, learner_id: str, as_at: datetime | None = None) -> dict:
    cutoff = (as_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stream = app.learner_events(actor, learner_id)
    # A prefix of the stream: an event never appears without those before it.
    kept = list(takewhile(lambda e: e.timestamp <= cutoff, stream))
    if not kept:
        raise NotFound("learner as at that time")
    app.audit(actor, "history", str(learner_id), f"as_at={cutoff.isoformat()}")
    return {
        "learner_id": str(kept[0].originator_id),
        "as_at": cutoff.isoformat(),
        "events": [events.to_json(e) for e in kept],
        "progress": progress_from(kept),
        # The head of the stream's hash chain as it stood: a short fingerprint an
        # auditor can later check against `rarpa verify`.
        "fingerprint": app_fingerprint(app, kept[-1]),
    }


def app_fingerprint(app, event) -> str:
    link = app.recorder.link_of(event.originator_id, event.originator_version)
    return link.hex()[:16] if link else ""

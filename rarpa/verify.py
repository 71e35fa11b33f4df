"""`rarpa verify`: prove the stored events are as the application wrote them.

1. Every stream's hash chain is recomputed from the bytes as stored; the first
   event whose link does not match is named (stream, position, row).
2. Every snapshot (a shortcut for loading) must be what replaying the events up
   to it gives; otherwise an altered snapshot could change what is read.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from rarpa.store import StreamErased, walk_chains


@dataclass
class Report:
    streams: int = 0
    events: int = 0
    snapshots: int = 0
    snapshots_skipped: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(app, *, on_event=None) -> Report:
    report = Report()
    seen = set()
    for oid, version, rowid, ok, reason in walk_chains(app.settings.db):
        report.events += 1
        if oid not in seen:
            seen.add(oid)
            report.streams += 1
        if on_event:
            on_event()
        if not ok:
            report.problems.append(f"stream {UUID(oid)} event {version} (row {rowid}): {reason}")
    _verify_snapshots(app, report)
    return report


def _verify_snapshots(app, report: Report) -> None:
    conn = sqlite3.connect(f"file:{app.settings.db}?mode=ro", uri=True)
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_snapshots'"
        ).fetchone():
            return  # no snapshot taken yet
        # CAST: a state rewritten as TEXT behind our back must still be read as bytes.
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, CAST(state AS BLOB) FROM stored_snapshots"
        ).fetchall()
    finally:
        conn.close()
    for oid, version, topic, state in rows:
        report.snapshots += 1
        stream = UUID(oid)
        stored = StoredEvent(originator_id=stream, originator_version=version, topic=topic, state=state)
        try:
            snapshot = app.mapper.to_domain_event(stored)
        except StreamErased:
            report.snapshots_skipped += 1
            continue
        except MapperDeserialisationError:
            report.problems.append(f"stream {stream} snapshot at {version}: it fails its integrity check")
            continue
        replayed = None
        try:
            for event in app.events.get(stream, lte=version):
                replayed = event.mutate(replayed)
        except StreamErased:
            report.snapshots_skipped += 1
            continue
        except Exception as e:  # an altered or missing event under the snapshot
            report.problems.append(
                f"stream {stream} snapshot at {version}: its events cannot be replayed ({type(e).__name__})"
            )
            continue
        if replayed is None or snapshot.mutate(None).__dict__ != replayed.__dict__:
            report.problems.append(
                f"stream {stream} snapshot at {version}: it differs from replaying the events"
            )

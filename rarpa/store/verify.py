"""`rarpa verify`: prove the stored events are as the application wrote them.

1. Every stream's hash chain is recomputed from the bytes as stored; the first
   event whose link does not match is named (stream, position, row).
2. The store-wide chain (every event, in recorded order) is recomputed: an
   event removed from anywhere, even the end of its own stream, breaks it at
   the next event recorded after it.
3. The store's head (its last position and link) must carry the application's
   Ed25519 signature, made with the key in the vault, and must be the last
   event: events removed from the end of the store, or appended by anyone who
   does not hold the vault, no longer match it.
4. The event store must not be behind the last head the vault saw signed: a
   store put back to an older copy without its vault is noticed.
5. Every snapshot (a shortcut for loading) must be what replaying the events up
   to it gives; otherwise an altered snapshot could change what is read.
6. The access log's chain (access_log.py): an entry altered, or one taken out
   of the middle, is named.
7. Every photo an event names (the learner loaded from the store, not the
   cache: from their snapshot, or, when that does not open or they were once
   imported, event by event, and an event that does not open is named and
   that learner's photos are not checked), and not removed since, is kept
   (photos.py) and opens with its learner's key to the very bytes the event
   pins, photo and thumbnail; no photo of an erased learner is kept. Sealed rows no event
   names (a write refused after its bytes were kept) are counted, not faults;
   so are photos of an imported record that came without their bytes (an
   export alone carries none).

What it cannot prove: that someone holding both the event store and the
vault (and so the signing key) did nothing, or that both were not put back
together to an earlier state (that is a restore from backup). A fingerprint
printed on an annual-review pack, kept elsewhere, is the check for that.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from rarpa.store import access_log
from rarpa.store.photos import PHOTO_TOPIC

IMPORT_TOPIC = "events.learner:LearnerImported"
CONTRIBUTION_TOPIC = "events.learner:FamilyContributionSent"
from rarpa.store.cipher import StreamErased
from rarpa.store.sqlite import head_message, walk_chains, walk_log
from rarpa.store.stored import stored


@dataclass
class Report:
    streams: int = 0
    events: int = 0
    snapshots: int = 0
    snapshots_skipped: int = 0
    signed_head: int | None = None  # the row the application's signature vouches for
    access_entries: int = 0
    photos: int = 0
    photos_unnamed: int = 0
    photos_not_carried: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(app, *, on_event=None) -> Report:
    report = Report()
    seen = set()
    with stored(app.settings.db) as conn:
        for oid, version, rowid, ok, reason in walk_chains(conn.events("stream")):
            report.events += 1
            if oid not in seen:
                seen.add(oid)
                report.streams += 1
            if on_event:
                on_event()
            if not ok:
                report.problems.append(f"stream {UUID(oid)} event {version} (row {rowid}): {reason}")
        last = _verify_log(conn, report)
        _verify_head(app, conn, report, last)
        _verify_not_behind_vault(app, conn, report)
        snapshots = conn.snapshots()
    _verify_snapshots(app, report, snapshots)
    _verify_access_log(app, report)
    _verify_photos(app, report)
    return report


def _verify_photos(app, report: Report) -> None:
    from rarpa.service.family import contribution_photo_key
    from rarpa.store.photos import PhotoDamaged

    with stored(app.settings.db) as conn:
        learners = {UUID(oid) for oid in conn.streams_with(PHOTO_TOPIC, CONTRIBUTION_TOPIC)}
        imported = {UUID(oid) for oid in conn.streams_with(IMPORT_TOPIC)}
        kept = conn.kept_photos()
    named: set[str] = set()
    unread: set[str] = set()  # learners whose events do not all open: which photos they name is not known
    for lid in sorted(learners | {UUID(learner) for _, learner in kept}, key=str):
        if app.vault.key_for(str(lid), create=False) is None:
            rows = sum(1 for _, learner in kept if UUID(learner) == lid)
            if rows:
                report.problems.append(f"learner {lid} was erased, yet {rows} sealed photo row(s) of theirs are "
                                       f"still kept: run `rarpa erase {lid}` again to finish the erasure")
            continue
        if lid not in learners:
            continue
        replayed = (None if lid in imported else _loaded(app, lid)) or _replayed(app, lid, report)
        if replayed is None:
            unread.add(str(lid))
            continue
        learner, carried_over = replayed
        # A family member's photo, waiting for staff to decide, is named by the contribution that sent it.
        named.update(contribution_photo_key(cid) for cid, c in learner.contributions.items()
                     if c.photo_sha256 and c.status == "waiting")
        for photo_id, photo in sorted(learner.photos.items()):
            named.add(photo_id)
            if photo.removed:
                continue
            report.photos += 1
            for kind, digest in (("photo", photo.sha256), ("thumb", photo.thumb_sha256)):
                try:
                    found = app.photo_store.get(str(lid), photo_id, kind, digest)
                except PhotoDamaged as e:
                    report.problems.append(f"learner {lid}: {e}")
                    break
                if found is None and photo_id in carried_over:
                    report.photos -= 1
                    report.photos_not_carried += 1
                    break
                if found is None:
                    report.problems.append(f"learner {lid}: photo {photo_id} ({kind}) is named by its event "
                                           "but is not kept")
                    break
    report.photos_unnamed = sum(1 for photo_id, learner in kept if photo_id not in named and learner not in unread)


def _loaded(app, lid: UUID):
    """The learner from their latest snapshot and the events after it (the
    quick way, not through the cache, which would hide altered bytes), with
    no photos carried over; None when that does not open: then ``_replayed``
    goes through the events one by one (as for a learner once imported)."""
    from rarpa.service.cache import replay

    try:
        return app.repository.get(lid, projector_func=replay), set()
    except (MapperDeserialisationError, StreamErased):
        return None


def _replayed(app, lid: UUID, report: Report):
    """The learner replayed from their events as stored, each opened on its
    own (not the application's cache or a snapshot, which would hide or trip
    on the stored bytes), and the photos carried over from another
    installation (attached before the last LearnerImported: they may have come
    without bytes). None when an event does not open (the problem is named)
    or the learner was erased meanwhile."""
    learner, attached, carried_over = None, set(), set()
    for stored_event in app.events.recorder.select_events(lid):
        try:
            event = app.mapper.to_domain_event(stored_event)
        except StreamErased:  # erased while verify ran (its key was there a moment ago)
            return None
        except MapperDeserialisationError:
            report.problems.append(f"stream {lid} event {stored_event.originator_version}: it fails its integrity "
                                   f"check, so learner {lid}'s photos were not checked")
            return None
        if type(event).__name__ == "PhotoAttached":
            attached.add(event.photo_id)
        elif stored_event.topic == IMPORT_TOPIC:
            carried_over = set(attached)
        learner = event.mutate(learner)
    return learner, carried_over


def _verify_access_log(app, report: Report) -> None:
    """The access log's chain, read from the vault as stored."""
    if app.vault.on_postgres:
        import psycopg

        conn = psycopg.connect(app.settings.vault)
    else:
        conn = sqlite3.connect(f"file:{app.settings.vault}?mode=ro", uri=True)
    try:
        for entry_id, ok, reason in access_log.walk(conn):
            report.access_entries += 1
            if not ok:
                report.problems.append(f"access log entry {entry_id}: {reason}")
    finally:
        conn.close()


def _verify_log(conn, report: Report) -> tuple[int, str, int, bytes | None] | None:
    """The store-wide chain; returns the last event (rowid, stream, version, link)."""
    last = None
    for rowid, oid, version, ok, log in walk_log(conn.events("recorded")):
        if not ok:
            report.problems.append(
                f"stream {UUID(oid)} event {version} (row {rowid}): the store-wide chain breaks here: "
                "an event recorded before it was removed, or this one was altered or inserted")
        last = (rowid, oid, version, log)
    return last


def _verify_head(app, conn, report: Report, last) -> None:
    head = conn.head()
    if last is None:
        if head is not None:
            report.problems.append(f"the store is empty but its signed head names event row {head[0]}: "
                                   "every event was removed")
        return
    if head is None:
        report.problems.append("the store's signed head is missing: the end of the record cannot be vouched for")
        return
    position, log, signature = head
    public = app.vault.signing_key().public_key()
    try:
        public.verify(signature, head_message(position, log))
    except InvalidSignature:
        report.problems.append(f"the store's head (row {position}) does not carry the application's signature: "
                               "it was changed outside the application (or the vault is not this store's)")
        return
    report.signed_head = position
    at_head = conn.log_hash_at(position)
    last_rowid, oid, version, _ = last
    if last_rowid > position:
        count, first = conn.after(position)
        report.problems.append(
            f"{count} event(s) after row {position} are not signed by the application (appended outside it?); "
            f"the first: stream {UUID(first[1])} event {first[2]} (row {first[0]})")
    elif at_head is None:
        report.problems.append(
            f"the last event(s) recorded, up to row {position}, were removed: the store now ends at row {last_rowid} "
            f"(stream {UUID(oid)} event {version})")
    elif at_head != log:
        report.problems.append(f"the event at row {position} is not the one the application signed: "
                               "the end of the record was replaced")


def _verify_not_behind_vault(app, conn, report: Report) -> None:
    remembered = app.vault.remembered_head()
    if remembered is None:
        return
    position, log, _ = remembered
    if conn.log_hash_at(position) != log:
        report.problems.append(
            f"the event store is behind the vault: the vault saw row {position} signed, and the store no longer "
            "has that event as it was (events removed, or the store put back to an older copy without its vault)")


def _verify_snapshots(app, report: Report, rows: list[tuple]) -> None:
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

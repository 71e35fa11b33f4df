"""Projections: the tables people read, built from events into a separate
SQLite file with sqlite-utils.

Each batch of events is applied and the position of the last one written in
the same transaction, so a crash between events neither skips nor repeats one.
Derived numbers (latest rating, distance, counts) are recomputed from the
projected observations whenever they may change, which makes the incremental
result and a rebuild from zero the same by construction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import date, timedelta
from functools import singledispatchmethod
from typing import Any, Callable, Iterable

import sqlite_utils

from events import learner as ev
from events import staff as st
from events.vocabulary import RATINGS
from rarpa.store import scrub
from rarpa.record import follow_up_date
from rarpa.store.cipher import StreamErased

PROJECTION = "progress"
BATCH = 500

STEP_SQL = "CASE {col} " + " ".join(f"WHEN '{r}' THEN {i}" for i, r in enumerate(RATINGS)) + " END"

TABLES: dict[str, tuple[dict, str | tuple]] = {
    "tracking": ({"name": str, "position": int}, "name"),
    "providers": ({"slug": str, "name": str}, "slug"),
    "users": ({"id": str, "email": str, "display_name": str, "role": str, "provider": str}, "id"),
    "caseload": ({"user_id": str, "learner_id": str}, ("user_id", "learner_id")),
    "learners": (
        {
            "id": str, "name": str, "preferred_name": str, "date_of_birth": str,
            "lead_provider": str, "enrolled_at": str, "last_observed_at": str,
            "status": str, "annual_review_due": str,
        },
        "id",
    ),
    "learner_providers": ({"learner_id": str, "provider": str, "lead": int}, ("learner_id", "provider")),
    "outcomes": (
        {"id": str, "learner_id": str, "text": str, "pfa_area": str, "due": str,
         "recorded_at": str, "amended_at": str, "targets": int, "distance": float},
        "id",
    ),
    "targets": (
        {
            "id": str, "learner_id": str, "text": str, "success_criteria": str, "status": str,
            "closed_as": str, "baseline": str, "latest": str, "distance": int, "observations": int,
            "last_observed_at": str, "review_by": str, "set_at": str, "revisions": int,
            "summative": str,
        },
        "id",
    ),
    "target_outcomes": ({"target_id": str, "outcome_id": str, "learner_id": str}, ("target_id", "outcome_id")),
    "observations": (
        {
            "id": str, "seq": int, "learner_id": str, "target_id": str, "rating": str,
            "prompt_level": str, "context": str, "note": str, "observed_at": str,
            "recorded_at": str, "recorded_by": str, "provider": str, "status": str,
            "corrections": int,
        },
        "id",
    ),
    "reviews_due": ({"kind": str, "ref_id": str, "learner_id": str, "due_on": str}, ("kind", "ref_id")),
    # Issue 5: reviews, the learner's voice, what changed and why, stage 5.
    "reviews": (
        {"id": str, "learner_id": str, "kind": str, "held_on": str, "attendees": str, "learner_views": str,
         "period_from": str, "period_to": str, "fingerprint": str, "recorded_by": str, "recorded_at": str},
        "id",
    ),
    "recommendations": (
        {"review_id": str, "outcome_id": str, "learner_id": str, "recommendation": str, "note": str},
        ("review_id", "outcome_id"),
    ),
    "target_changes": (
        {"seq": int, "learner_id": str, "target_id": str, "kind": str, "at": str, "text": str,
         "reason": str, "closed_as": str, "review_id": str},
        "seq",
    ),
    "self_assessments": (
        {"id": str, "seq": int, "learner_id": str, "target_id": str, "answer": str, "words": str,
         "assessed_at": str, "recorded_by": str},
        "id",
    ),
    "unplanned_outcomes": (
        {"id": str, "learner_id": str, "text": str, "pfa_area": str, "context": str, "recognised_on": str,
         "provider": str},
        "id",
    ),
    "next_steps": ({"id": str, "learner_id": str, "text": str, "agreed_on": str}, "id"),
    "destinations": (
        {"id": str, "learner_id": str, "kind": str, "detail": str, "starts_on": str, "follow_up_on": str,
         "sustained_on": str},
        "id",
    ),
}
INDEXES = [
    ("targets", ["learner_id"]),
    ("outcomes", ["learner_id"]),
    ("observations", ["target_id", "status"]),
    ("observations", ["learner_id", "observed_at"]),
    ("target_outcomes", ["outcome_id"]),
    ("learner_providers", ["provider"]),
    ("reviews_due", ["learner_id"]),
    ("reviews_due", ["due_on"]),
    ("reviews", ["learner_id", "held_on"]),
    ("target_changes", ["learner_id", "at"]),
    ("self_assessments", ["learner_id", "assessed_at"]),
]
LEARNER_TABLES = ("observations", "targets", "outcomes", "target_outcomes", "reviews_due", "caseload",
                  "learner_providers", "reviews", "recommendations", "target_changes", "self_assessments",
                  "unplanned_outcomes", "next_steps", "destinations")


def create_schema(db: sqlite_utils.Database) -> None:
    for name, (columns, pk) in TABLES.items():
        db[name].create(columns, pk=pk, if_not_exists=True)
    for table, cols in INDEXES:
        db[table].create_index(cols, if_not_exists=True)


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # The read model can always be rebuilt from the events: no need to fsync each batch.
    conn.execute("PRAGMA synchronous=NORMAL")
    # It holds names and notes: what is deleted is overwritten (see rarpa.scrub).
    scrub.secure(conn)
    return conn


def _plus_year(iso: str) -> str:
    y, rest = int(iso[:4]), iso[4:10]
    if rest == "-02-29":
        rest = "-02-28"
    return f"{y + 1}{rest}"


class ProgressProjection:
    """Applies one event to the read-model tables (no transaction handling)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.x = db.execute
        # Targets and outcomes whose derived numbers need recomputing; done once
        # per batch in flush(), inside the batch's transaction.
        self.dirty_targets: set[str] = set()
        self.dirty_outcomes: set[str] = set()
        # New observations are inserted in bulk (the hot path of a rebuild);
        # anything that reads or changes observations writes them out first.
        self.new_observations: list[dict] = []
        # Set when a learner was erased: the file's free space and WAL must
        # then be cleared once the batch is committed.
        self.erased = False

    def _write_observations(self) -> None:
        if self.new_observations:
            self.db["observations"].insert_all(self.new_observations, batch_size=500)
            self.new_observations = []

    @singledispatchmethod
    def apply(self, event: Any, seq: int) -> None:
        """Events that change nothing people read yet (e.g. observation-id claims)."""

    # --- people and providers --------------------------------------------------
    @apply.register
    def _(self, e: st.ProviderRegistered, seq: int) -> None:
        self.db["providers"].upsert({"slug": e.slug, "name": e.name}, pk="slug")

    @apply.register
    def _(self, e: st.UserRegistered, seq: int) -> None:
        self.db["users"].upsert(
            {"id": str(e.originator_id), "email": e.email, "display_name": e.display_name,
             "role": e.user_role, "provider": e.user_provider},
            pk="id",
        )

    @apply.register
    def _(self, e: st.CaseloadLearnerAdded, seq: int) -> None:
        self.db["caseload"].upsert(
            {"user_id": str(e.originator_id), "learner_id": e.learner_id}, pk=("user_id", "learner_id")
        )

    @apply.register
    def _(self, e: st.CaseloadLearnerRemoved, seq: int) -> None:
        self.x("DELETE FROM caseload WHERE user_id=? AND learner_id=?", [str(e.originator_id), e.learner_id])

    # --- the learner -----------------------------------------------------------
    @apply.register
    def _(self, e: ev.LearnerEnrolled, seq: int) -> None:
        lid = str(e.originator_id)
        enrolled = e.timestamp.date().isoformat()
        self.db["learners"].insert(
            {"id": lid, "name": e.name, "preferred_name": e.preferred_name,
             "date_of_birth": e.date_of_birth, "lead_provider": e.lead_provider,
             "enrolled_at": e.timestamp.isoformat(), "last_observed_at": None,
             "status": "active", "annual_review_due": _plus_year(enrolled)},
        )
        self.db["learner_providers"].insert({"learner_id": lid, "provider": e.lead_provider, "lead": 1})
        self._due("annual", lid, lid, _plus_year(enrolled))

    @apply.register
    def _(self, e: ev.ProviderJoined, seq: int) -> None:
        lid = str(e.originator_id)
        if e.lead:
            self.x("UPDATE learner_providers SET lead=0 WHERE learner_id=?", [lid])
            self.x("UPDATE learners SET lead_provider=? WHERE id=?", [e.joined, lid])
        self.db["learner_providers"].upsert(
            {"learner_id": lid, "provider": e.joined, "lead": int(e.lead)}, pk=("learner_id", "provider")
        )

    @apply.register
    def _(self, e: ev.ProviderLeft, seq: int) -> None:
        self.x("DELETE FROM learner_providers WHERE learner_id=? AND provider=?", [str(e.originator_id), e.left])

    @apply.register
    def _(self, e: ev.LearnerDataErased, seq: int) -> None:
        self._write_observations()
        lid = str(e.originator_id)
        for table in LEARNER_TABLES:
            self.x(f"DELETE FROM {table} WHERE learner_id=?", [lid])
        # The same rows whether built live or replayed after the key is gone
        # (a replay cannot read anything before this event any more).
        self.x("DELETE FROM learners WHERE id=?", [lid])
        shape = e.summary or {}
        providers = shape.get("providers", {})
        lead = next((p for p, is_lead in providers.items() if is_lead), None)
        self.db["learners"].insert({"id": lid, "name": "(erased)", "preferred_name": "(erased)", "status": "erased",
                                    "lead_provider": lead})
        self._anonymous_rows(lid, shape)
        self.erased = True

    def _anonymous_rows(self, lid: str, shape: dict) -> None:
        """What an erased learner still counts for: rows with no words, no
        dates and made-up ids, so the cohort's counts do not change."""
        for provider, lead in shape.get("providers", {}).items():
            self.db["learner_providers"].insert({"learner_id": lid, "provider": provider, "lead": int(lead)})
        outcome_ids = [f"{lid}:outcome:{i}" for i in range(len(shape.get("outcomes", [])))]
        for oid, outcome in zip(outcome_ids, shape.get("outcomes", [])):
            self.db["outcomes"].insert({"id": oid, "learner_id": lid, "pfa_area": outcome["pfa_area"],
                                        "targets": 0, "distance": 0.0})
        for i, target in enumerate(shape.get("targets", [])):
            tid = f"{lid}:target:{i}"
            self.db["targets"].insert({"id": tid, "learner_id": lid, "status": target["status"],
                                       "closed_as": target["closed_as"], "distance": target["distance"],
                                       "observations": 0, "revisions": 0})
            self._link(tid, lid, [outcome_ids[k] for k in target["outcomes"] if k < len(outcome_ids)])
        for i, destination in enumerate(shape.get("destinations", [])):
            self.db["destinations"].insert({"id": f"{lid}:destination:{i}", "learner_id": lid,
                                            "kind": destination["kind"],
                                            "sustained_on": "(erased)" if destination["sustained"] else None})

    # --- outcomes and targets ---------------------------------------------------
    @apply.register
    def _(self, e: ev.EHCPOutcomeRecorded, seq: int) -> None:
        self.db["outcomes"].insert(
            {"id": e.outcome_id, "learner_id": str(e.originator_id), "text": e.text,
             "pfa_area": e.pfa_area, "due": e.due, "recorded_at": e.timestamp.isoformat(),
             "amended_at": None, "targets": 0, "distance": 0.0}
        )

    @apply.register
    def _(self, e: ev.EHCPOutcomeAmended, seq: int) -> None:
        self.x(
            "UPDATE outcomes SET text=?, pfa_area=?, due=?, amended_at=? WHERE id=?",
            [e.text, e.pfa_area, e.due, e.timestamp.isoformat(), e.outcome_id],
        )

    @apply.register
    def _(self, e: ev.TargetSet, seq: int) -> None:
        lid = str(e.originator_id)
        self.db["targets"].insert(
            {"id": e.target_id, "learner_id": lid, "text": e.text,
             "success_criteria": e.success_criteria, "status": "open", "closed_as": None,
             "baseline": None, "latest": None, "distance": 0, "observations": 0,
             "last_observed_at": None, "review_by": e.review_by,
             "set_at": e.timestamp.isoformat(), "revisions": 0, "summative": None}
        )
        self._link(e.target_id, lid, e.outcome_ids)
        self._due("target", e.target_id, lid, e.review_by)
        self._change(seq, e, "set", e.text, "")

    @apply.register
    def _(self, e: ev.BaselineRecorded, seq: int) -> None:
        self.x("UPDATE targets SET baseline=? WHERE id=?", [e.rating, e.target_id])
        self._refresh_target(e.target_id)

    @apply.register
    def _(self, e: ev.TargetRevised, seq: int) -> None:
        self.x(
            "UPDATE targets SET text=?, success_criteria=?, review_by=?, revisions=revisions+1 WHERE id=?",
            [e.text, e.success_criteria, e.review_by, e.target_id],
        )
        old = [r[0] for r in self.x("SELECT outcome_id FROM target_outcomes WHERE target_id=?", [e.target_id])]
        self.x("DELETE FROM target_outcomes WHERE target_id=?", [e.target_id])
        self._link(e.target_id, str(e.originator_id), e.outcome_ids)
        for oid in old:
            self._refresh_outcome(oid)
        self._due("target", e.target_id, str(e.originator_id), e.review_by)
        self._change(seq, e, e.kind, e.text, e.reason, review_id=e.review_id)

    @apply.register
    def _(self, e: ev.TargetClosed, seq: int) -> None:
        self.x("UPDATE targets SET status='closed', closed_as=? WHERE id=?", [e.closed_as, e.target_id])
        self.x("DELETE FROM reviews_due WHERE kind='target' AND ref_id=?", [e.target_id])
        self._change(seq, e, "closed", None, e.reason, closed_as=e.closed_as, review_id=e.review_id)

    @apply.register
    def _(self, e: ev.SummativeAssessmentRecorded, seq: int) -> None:
        self.x("UPDATE targets SET summative=? WHERE id=?", [e.rating, e.target_id])

    # --- reviews, the learner's voice, stage 5 -------------------------------------
    @apply.register
    def _(self, e: ev.ProgressReviewHeld, seq: int) -> None:
        self._review(e, "progress", None, None, "")
        # A target kept at a review is next due a term later, unless a date was agreed.
        for d in e.decisions:
            if d["decision"] == "keep":
                due = d.get("review_by") or (date.fromisoformat(e.held_on) + timedelta(weeks=13)).isoformat()
                self._due("target", d["target_id"], str(e.originator_id), due)

    @apply.register
    def _(self, e: ev.AnnualReviewHeld, seq: int) -> None:
        lid = str(e.originator_id)
        self._review(e, "annual", e.period_from, e.period_to, e.fingerprint)
        for r in e.recommendations:
            self.db["recommendations"].insert(
                {"review_id": e.review_id, "outcome_id": r["outcome_id"], "learner_id": lid,
                 "recommendation": r["recommendation"], "note": r.get("note") or ""}
            )
        # The next annual review is due within 12 months of this one.
        latest = self.x("SELECT MAX(held_on) FROM reviews WHERE learner_id=? AND kind='annual'", [lid]).fetchone()[0]
        self.x("UPDATE learners SET annual_review_due=? WHERE id=?", [_plus_year(latest), lid])
        self._due("annual", lid, lid, _plus_year(latest))

    def _review(self, e, kind: str, period_from, period_to, fingerprint: str) -> None:
        self.db["reviews"].insert(
            {"id": e.review_id, "learner_id": str(e.originator_id), "kind": kind, "held_on": e.held_on,
             "attendees": json.dumps(e.attendees), "learner_views": e.learner_views,
             "period_from": period_from, "period_to": period_to, "fingerprint": fingerprint,
             "recorded_by": e.recorded_by, "recorded_at": e.timestamp.isoformat()}
        )

    @apply.register
    def _(self, e: ev.SelfAssessmentRecorded, seq: int) -> None:
        self.db["self_assessments"].insert(
            {"id": e.self_assessment_id, "seq": seq, "learner_id": str(e.originator_id), "target_id": e.target_id,
             "answer": e.answer, "words": e.words, "assessed_at": e.assessed_at.isoformat(),
             "recorded_by": e.recorded_by}
        )

    @apply.register
    def _(self, e: ev.UnplannedOutcomeRecognised, seq: int) -> None:
        self.db["unplanned_outcomes"].insert(
            {"id": e.unplanned_id, "learner_id": str(e.originator_id), "text": e.text, "pfa_area": e.pfa_area,
             "context": e.context, "recognised_on": e.recognised_on, "provider": e.provider}
        )

    @apply.register
    def _(self, e: ev.NextStepAgreed, seq: int) -> None:
        self.db["next_steps"].insert(
            {"id": e.next_step_id, "learner_id": str(e.originator_id), "text": e.text, "agreed_on": e.agreed_on}
        )

    @apply.register
    def _(self, e: ev.DestinationRecorded, seq: int) -> None:
        lid = str(e.originator_id)
        follow_up = follow_up_date(e.starts_on)
        self.db["destinations"].insert(
            {"id": e.destination_id, "learner_id": lid, "kind": e.kind, "detail": e.detail,
             "starts_on": e.starts_on, "follow_up_on": follow_up, "sustained_on": None}
        )
        self._due("destination", e.destination_id, lid, follow_up)

    @apply.register
    def _(self, e: ev.DestinationSustained, seq: int) -> None:
        self.x("UPDATE destinations SET sustained_on=? WHERE id=?", [e.confirmed_on, e.destination_id])
        self.x("DELETE FROM reviews_due WHERE kind='destination' AND ref_id=?", [e.destination_id])

    def _change(self, seq: int, e, kind: str, text, reason: str, closed_as=None, review_id=None) -> None:
        self.db["target_changes"].insert(
            {"seq": seq, "learner_id": str(e.originator_id), "target_id": e.target_id, "kind": kind,
             "at": e.timestamp.isoformat(), "text": text, "reason": reason, "closed_as": closed_as,
             "review_id": review_id}
        )

    # --- evidence ----------------------------------------------------------------
    @apply.register
    def _(self, e: ev.ObservationRecorded, seq: int) -> None:
        self.new_observations.append(
            {"id": e.observation_id, "seq": seq, "learner_id": str(e.originator_id),
             "target_id": e.target_id, "rating": e.rating, "prompt_level": e.prompt_level,
             "context": e.context, "note": e.note, "observed_at": e.observed_at.isoformat(),
             "recorded_at": e.timestamp.isoformat(), "recorded_by": e.recorded_by,
             "provider": e.provider, "status": "active", "corrections": 0}
        )
        self._refresh_target(e.target_id)

    @apply.register
    def _(self, e: ev.ObservationCorrected, seq: int) -> None:
        self._write_observations()
        self.x(
            "UPDATE observations SET rating=?, prompt_level=?, context=?, note=?, observed_at=?, "
            "corrections=corrections+1 WHERE id=?",
            [e.rating, e.prompt_level, e.context, e.note, e.observed_at.isoformat(), e.observation_id],
        )
        self._refresh_observed(e.observation_id)

    @apply.register
    def _(self, e: ev.ObservationWithdrawn, seq: int) -> None:
        self._write_observations()
        self.x("UPDATE observations SET status='withdrawn' WHERE id=?", [e.observation_id])
        self._refresh_observed(e.observation_id)

    # --- derived values ----------------------------------------------------------
    def _due(self, kind: str, ref_id: str, learner_id: str, due_on: str) -> None:
        self.db["reviews_due"].upsert(
            {"kind": kind, "ref_id": ref_id, "learner_id": learner_id, "due_on": due_on},
            pk=("kind", "ref_id"),
        )

    def _link(self, target_id: str, learner_id: str, outcome_ids: Iterable[str]) -> None:
        for oid in outcome_ids:
            self.db["target_outcomes"].upsert(
                {"target_id": target_id, "outcome_id": oid, "learner_id": learner_id},
                pk=("target_id", "outcome_id"),
            )
            self._refresh_outcome(oid)

    def _refresh_observed(self, observation_id: str) -> None:
        row = self.x("SELECT target_id FROM observations WHERE id=?", [observation_id]).fetchone()
        self._refresh_target(row[0])

    def _refresh_target(self, target_id: str) -> None:
        self.dirty_targets.add(target_id)

    def _refresh_outcome(self, outcome_id: str) -> None:
        self.dirty_outcomes.add(outcome_id)

    def flush(self) -> None:
        """Recompute derived numbers of what changed. They depend only on the
        projected rows, so when they are computed does not change the result."""
        self._write_observations()
        learners = set()
        for target_id in sorted(self.dirty_targets):
            learner_id = self._recompute_target(target_id)
            if learner_id:
                learners.add(learner_id)
                for (oid,) in self.x("SELECT outcome_id FROM target_outcomes WHERE target_id=?", [target_id]):
                    self.dirty_outcomes.add(oid)
        for outcome_id in sorted(self.dirty_outcomes):
            self._recompute_outcome(outcome_id)
        for learner_id in sorted(learners):
            self.x(
                "UPDATE learners SET last_observed_at=(SELECT MAX(observed_at) FROM observations "
                "WHERE learner_id=? AND status='active') WHERE id=?",
                [learner_id, learner_id],
            )
        self.dirty_targets.clear()
        self.dirty_outcomes.clear()

    def _recompute_target(self, target_id: str) -> str | None:
        """Latest judgement = the live observation observed last (ties: recorded last)."""
        self.x(
            """
            UPDATE targets SET
              latest = (SELECT rating FROM observations o WHERE o.target_id=targets.id
                        AND o.status='active' ORDER BY observed_at DESC, seq DESC LIMIT 1),
              observations = (SELECT COUNT(*) FROM observations o
                              WHERE o.target_id=targets.id AND o.status='active'),
              last_observed_at = (SELECT MAX(observed_at) FROM observations o
                                  WHERE o.target_id=targets.id AND o.status='active')
            WHERE id=?""",
            [target_id],
        )
        self.x(
            f"""UPDATE targets SET distance = CASE WHEN latest IS NULL OR baseline IS NULL THEN 0
                ELSE ({STEP_SQL.format(col='latest')}) - ({STEP_SQL.format(col='baseline')}) END
                WHERE id=?""",
            [target_id],
        )
        row = self.x("SELECT learner_id FROM targets WHERE id=?", [target_id]).fetchone()
        return row[0] if row else None  # None: the learner was erased meanwhile

    def _recompute_outcome(self, outcome_id: str) -> None:
        """An outcome's distance is the mean of its targets' distances."""
        self.x(
            """UPDATE outcomes SET
                 targets = (SELECT COUNT(*) FROM target_outcomes WHERE outcome_id=outcomes.id),
                 distance = COALESCE((SELECT ROUND(AVG(t.distance), 2) FROM target_outcomes x
                            JOIN targets t ON t.id = x.target_id WHERE x.outcome_id=outcomes.id), 0)
               WHERE id=?""",
            [outcome_id],
        )


class Projector:
    """Keeps a read-model file caught up with the event store, by position."""

    def __init__(self, path: str, app):
        self.path = path
        self.app = app
        self._lock = threading.Lock()
        self._conn = connect(path)
        scrub.mark_new_file(self._conn)
        self.db = sqlite_utils.Database(self._conn)
        create_schema(self.db)
        self._local = threading.local()

    # Readers get a connection of their own per thread (SQLite connections are not shared).
    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    def position(self, conn: sqlite3.Connection | None = None) -> int:
        row = (conn or self._conn).execute(
            "SELECT position FROM tracking WHERE name=?", [PROJECTION]
        ).fetchone()
        return row[0] if row else 0

    def _decode(self, notification):
        try:
            return self.app.mapper.to_domain_event(notification)
        except StreamErased:
            return None  # an erased learner's event: its content is gone by design

    def _apply_next_batch(self, projection: ProgressProjection, after: int) -> int:
        """Apply the events after a position, and the derived numbers they change;
        the caller owns the transaction. Returns how many there were."""
        batch = self.app.recorder.select_notifications(start=after + 1, limit=BATCH)
        for n in batch:
            event = self._decode(n)
            if event is not None:
                projection.apply(event, n.id)
        projection.flush()
        self._set_position(batch[-1].id if batch else after)
        return len(batch)

    def _set_position(self, position: int) -> None:
        self._conn.execute(
            "INSERT INTO tracking (name, position) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET position=excluded.position",
            [PROJECTION, position],
        )

    def catch_up(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply every event not yet applied, a batch per transaction (rows and
        position together); returns the new position."""
        with self._lock:
            projection = ProgressProjection(self.db)
            while True:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    count = self._apply_next_batch(projection, self.position())
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                if on_batch and count:
                    on_batch(count)
                if projection.erased:
                    self._scrub(projection)
                if count < BATCH:
                    return self.position()

    def _scrub(self, projection: ProgressProjection) -> None:
        """After an erasure is committed: nothing of the learner may stay in
        the file's free space or its WAL."""
        projection.erased = False
        if not scrub.scrub(self._conn):
            raise RuntimeError("the read model's write-ahead log could not be cleared after an erasure: "
                               "another process kept it busy; run `rarpa erase` again to finish")

    def scrub(self) -> None:
        """Clear the read model's free space and WAL now (erasure's last step)."""
        with self._lock:
            projection = ProgressProjection(self.db)
            self._scrub(projection)

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Drop every row and replay from the first event, in one transaction:
        readers see the old tables until the new ones are complete."""
        with self._lock:
            projection = ProgressProjection(self.db)
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for name in TABLES:
                    self._conn.execute(f"DELETE FROM [{name}]")
                self._set_position(0)
                while True:
                    count = self._apply_next_batch(projection, self.position())
                    if on_batch and count:
                        on_batch(count)
                    if count < BATCH:
                        break
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            # Every row was deleted and written again: clear what was deleted.
            self._scrub(projection)
            return self.position()

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table in a fixed order (to compare two read models)."""
        out = {}
        for name, (_, pk) in TABLES.items():
            order = ", ".join(pk) if isinstance(pk, tuple) else pk
            out[name] = [tuple(r) for r in self._conn.execute(f"SELECT * FROM [{name}] ORDER BY {order}")]
        return out

    def close(self) -> None:
        self._conn.close()

"""The numbers derived from projected rows (latest judgement, distance,
counts, an outcome's mean distance, when a learner was last observed), when
things fall due, and what one batch of events leaves to do.

Derived numbers are recomputed once per batch from the projected rows, so
when they are computed does not change the result: an incremental read model
and a rebuilt one are the same by construction.
"""

from __future__ import annotations

from typing import Iterable

import sqlite_utils

from rarpa.read import rating_summary


class Derived:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self.x = db.execute
        # Targets and outcomes whose derived numbers need recomputing; done once
        # per batch in flush(), inside the batch's transaction.
        self.dirty_targets: set[str] = set()
        self.dirty_outcomes: set[str] = set()
        # (target, term) pairs whose rating_terms row needs recomputing (rarpa.read.rating_summary).
        self.dirty_terms: set[tuple[str, int]] = set()
        # New observations are inserted in bulk (the hot path of a rebuild);
        # anything that reads or changes observations writes them out first.
        self.new_observations: list[dict] = []
        # Set when a learner was erased: the file's free space and WAL must
        # then be cleared once the batch is committed.
        self.erased = False

    def write_observations(self) -> None:
        if self.new_observations:
            self.db["observations"].insert_all(self.new_observations, batch_size=500)
            self.new_observations = []

    def due(self, kind: str, ref_id: str, learner_id: str, due_on: str) -> None:
        self.db["reviews_due"].upsert(
            {"kind": kind, "ref_id": ref_id, "learner_id": learner_id, "due_on": due_on},
            pk=("kind", "ref_id"),
        )

    def link(self, target_id: str, learner_id: str, outcome_ids: Iterable[str]) -> None:
        """A target serves these outcomes (their means change)."""
        for oid in outcome_ids:
            self.db["target_outcomes"].upsert(
                {"target_id": target_id, "outcome_id": oid, "learner_id": learner_id},
                pk=("target_id", "outcome_id"),
            )
            self.refresh_outcome(oid)

    def refresh_observed(self, observation_id: str) -> None:
        row = self.x("SELECT target_id, observed_at FROM observations WHERE id=?", [observation_id]).fetchone()
        self.refresh_target(row[0], row[1])

    def refresh_target(self, target_id: str, observed_at: str | None = None) -> None:
        """A target's numbers, and its ratings in the term of ``observed_at`` if given."""
        self.dirty_targets.add(target_id)
        if observed_at:
            self.dirty_terms.add((target_id, rating_summary.term_of(observed_at)))

    def refresh_outcome(self, outcome_id: str) -> None:
        self.dirty_outcomes.add(outcome_id)

    def flush(self) -> None:
        """Recompute the derived numbers of what changed in this batch."""
        self.write_observations()
        rating_summary.recompute_terms(self.x, self.dirty_terms)
        self.dirty_terms.clear()
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
        """A target's latest judgement and distance, by measures.latest_rating
        and measures.distance (SQL functions of the connection: see
        rarpa.read.tables.add_measures). latest_rating is the greatest
        (observed_at, seq): it is given only the first row in that order, read
        through the index, so a long history costs no more than a short one."""
        self.x(
            """
            UPDATE targets SET
              latest = (SELECT latest_rating(observed_at, seq, rating) FROM (
                          SELECT observed_at, seq, rating FROM observations o
                          WHERE o.target_id=targets.id AND o.status='active'
                          ORDER BY observed_at DESC, seq DESC LIMIT 1)),
              observations = (SELECT COUNT(*) FROM observations o
                              WHERE o.target_id=targets.id AND o.status='active'),
              last_observed_at = (SELECT MAX(observed_at) FROM observations o
                                  WHERE o.target_id=targets.id AND o.status='active')
            WHERE id=?""",
            [target_id],
        )
        self.x("UPDATE targets SET distance = distance(baseline, latest) WHERE id=?", [target_id])
        row = self.x("SELECT learner_id FROM targets WHERE id=?", [target_id]).fetchone()
        return row[0] if row else None  # None: the learner was erased meanwhile

    def _recompute_outcome(self, outcome_id: str) -> None:
        """An outcome's distance is measures.mean_distance of its targets' distances."""
        self.x(
            """UPDATE outcomes SET
                 targets = (SELECT COUNT(*) FROM target_outcomes WHERE outcome_id=outcomes.id),
                 distance = (SELECT mean_distance(t.distance) FROM target_outcomes x
                             JOIN targets t ON t.id = x.target_id WHERE x.outcome_id=outcomes.id)
               WHERE id=?""",
            [outcome_id],
        )

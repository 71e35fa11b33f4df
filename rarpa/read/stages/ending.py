"""The end of a programme and what the learner agreed to: summative
judgements of EHCP outcomes (a target's are applied with the rest of its plan,
``plan.py``, through ``summative_row`` here), and consents, each with who
recorded it and when, and every answer ever given."""

from __future__ import annotations

import sqlite_utils

from events import learner as ev
from rarpa.read.stages import Stage, applies


def summative_row(db: sqlite_utils.Database, e, seq: int, kind: str, ref_id: str, judgement: str) -> None:
    """One summative judgement, of a target (a rating) or of an outcome."""
    db["summatives"].insert(
        {"seq": seq, "learner_id": str(e.originator_id), "kind": kind, "ref_id": ref_id, "judgement": judgement,
         "summary": e.summary, "assessed_on": e.assessed_on, "recorded_by": e.recorded_by,
         "recorded_at": e.timestamp.isoformat()}
    )


class Ending(Stage):
    @applies(ev.OutcomeSummativeRecorded)
    def outcome_summative_recorded(self, e: ev.OutcomeSummativeRecorded, seq: int) -> None:
        summative_row(self.db, e, seq, "outcome", e.outcome_id, e.judgement)

    @applies(ev.ConsentRecorded)
    def consent_recorded(self, e: ev.ConsentRecorded, seq: int) -> None:
        row = {"learner_id": str(e.originator_id), "consent": e.consent, "given": int(e.given), "reason": e.reason,
               "recorded_by": e.recorded_by, "role": e.role, "provider": e.provider,
               "recorded_at": e.timestamp.isoformat()}
        self.db["consents"].upsert(row, pk=("learner_id", "consent"))
        self.db["consent_history"].insert({"seq": seq, **row})

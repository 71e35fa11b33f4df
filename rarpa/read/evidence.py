"""All the evidence of a learner, newest first, in chunks by a cursor (when it
happened, then the order recorded), filtered by target, context, rating and
person; and the choices those filters offer."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from rarpa.read.queries import _rows


class BadCursor(ValueError):
    """A "Show more" cursor that no list of evidence made."""


EVIDENCE_COLUMNS = (
    "o.id, o.seq, o.target_id, t.text AS target_text, o.rating, o.prompt_level, o.context, o.note, o.new_to_learner, "
    "o.observed_at, o.recorded_at, o.recorded_by, COALESCE(NULLIF(u.display_name, ''), o.recorded_by) AS by_name, "
    "COALESCE(u.role, CASE WHEN o.recorded_by LIKE 'system:%' THEN 'system' END) AS by_role, "
    "o.provider, COALESCE(p.name, o.provider) AS provider_name, o.status, o.corrections, "
    # Evidence from home: who in the family sent it (as they are to the learner); NULL otherwise.
    "(SELECT COALESCE(fm.relationship, 'family') FROM family_contributions fc LEFT JOIN family_members fm "
    "ON fm.learner_id=fc.learner_id AND fm.user_id=fc.sent_by WHERE fc.id=o.contribution_id) AS from_family"
)

def evidence_cursor(row: dict) -> str:
    """Where the chunk after ``row`` starts: its place in the order (when it
    happened, then the order it was recorded in)."""
    return f"{row['observed_at']}~{row['seq']}"


def _place(cursor: str) -> tuple[str, int]:
    when, _, seq = cursor.rpartition("~")
    try:
        datetime.fromisoformat(when)
    except ValueError:
        raise BadCursor(cursor) from None
    if not (seq.isascii() and seq.isdigit()) or len(seq) > 18:
        raise BadCursor(cursor)
    return when, int(seq)


def _evidence_where(learner_id: str, filters: dict) -> tuple[str, list]:
    where, args = ["o.learner_id=?"], [learner_id]
    for column in ("target_id", "context", "rating", "recorded_by"):
        if filters.get(column) is not None:
            where.append(f"o.{column}=?")
            args.append(filters[column])
    return " AND ".join(where), args


def evidence(conn: sqlite3.Connection, learner_id: str, *, target_id: str | None = None,
             context: str | None = None, rating: str | None = None, recorded_by: str | None = None,
             after: str | None = None, limit: int = 25) -> dict:
    """Every observation of the learner that matches the filters, newest first
    by when it happened (the one recorded later first on a tie), ``limit`` at
    a time: ``after`` is the cursor the chunk before ended with (keyset
    paging, so a chunk is as quick at the end of five years as at the start,
    and nothing is shown twice or skipped when more is recorded meanwhile).
    Withdrawn and corrected observations are included, marked by ``status``
    and ``corrections``. Returns the ``rows``, ``count`` (all that match),
    ``before`` (how many of them came in earlier chunks) and ``next`` (the
    cursor for the next chunk, None at the end)."""
    where, args = _evidence_where(learner_id, {"target_id": target_id, "context": context, "rating": rating,
                                               "recorded_by": recorded_by})
    count = conn.execute(f"SELECT COUNT(*) FROM observations o WHERE {where}", args).fetchone()[0]
    before, chunk, chunk_args = 0, where, list(args)
    if after:
        when, seq = _place(after)
        chunk += " AND (o.observed_at, o.seq) < (?, ?)"
        chunk_args += [when, seq]
        before = conn.execute(f"SELECT COUNT(*) FROM observations o WHERE {where} AND (o.observed_at, o.seq) >= (?, ?)",
                              [*args, when, seq]).fetchone()[0]
    rows = _rows(
        conn,
        f"SELECT {EVIDENCE_COLUMNS} FROM observations o LEFT JOIN targets t ON t.id=o.target_id "
        "LEFT JOIN users u ON u.id=o.recorded_by LEFT JOIN providers p ON p.slug=o.provider "
        f"WHERE {chunk} ORDER BY o.observed_at DESC, o.seq DESC LIMIT ?",
        [*chunk_args, limit + 1],
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"rows": rows, "count": count, "before": before, "next": evidence_cursor(rows[-1]) if more else None}


def evidence_choices(conn: sqlite3.Connection, learner_id: str) -> dict:
    """What a learner's evidence can be filtered by: their targets (as set,
    open or closed) and the people who recorded any of it, by name."""
    return {
        "targets": _rows(conn, "SELECT id, text, status FROM targets WHERE learner_id=? ORDER BY set_at, id",
                         [learner_id]),
        "people": _rows(
            conn,
            "SELECT o.recorded_by AS id, COALESCE(NULLIF(u.display_name, ''), o.recorded_by) AS name, "
            "COALESCE(u.role, CASE WHEN o.recorded_by LIKE 'system:%' THEN 'system' END) AS role "
            "FROM observations o LEFT JOIN users u ON u.id=o.recorded_by WHERE o.learner_id=? "
            "GROUP BY o.recorded_by ORDER BY name, o.recorded_by", [learner_id]),
    }

"""Photo evidence as the pages read it: the photos of some observations (for
the evidence list), of one observation, one photo, and the photos of a
period (the annual review: those the SEND lead may choose, and those chosen).
Only what the read model holds: never a photo's bytes."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

COLUMNS = ("p.id, p.observation_id, p.width, p.height, p.size, p.recorded_at, p.recorded_by, p.provider, "
           "p.chosen, p.chosen_at, p.chosen_by, p.status, p.removed_at, p.removed_by, p.removed_reason")


def _rows(conn: sqlite3.Connection, sql: str, args: list) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, args)]


def of_observations(conn: sqlite3.Connection, learner_id: str, observation_ids: list[str]) -> dict[str, list[dict]]:
    """The photos still kept of each of these observations, in the order they were taken."""
    out: dict[str, list[dict]] = {}
    ids = list(dict.fromkeys(observation_ids))
    for start in range(0, len(ids), 500):  # SQLite's limit on ? marks
        part = ids[start:start + 500]
        marks = ",".join("?" * len(part))
        for row in _rows(conn, f"SELECT {COLUMNS} FROM photos p WHERE p.learner_id=? AND p.status='kept' "
                               f"AND p.observation_id IN ({marks}) ORDER BY p.seq", [learner_id, *part]):
            out.setdefault(row["observation_id"], []).append(row)
    return out


def of_observation(conn: sqlite3.Connection, learner_id: str, observation_id: str) -> list[dict]:
    """Every photo of one observation, removed ones too (they say who removed them, when and why)."""
    return _rows(conn, f"SELECT {COLUMNS} FROM photos p WHERE p.learner_id=? AND p.observation_id=? ORDER BY p.seq",
                 [learner_id, observation_id])


def of_learner(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Every photo of the learner, removed ones too, in the order they were taken."""
    return _rows(conn, f"SELECT {COLUMNS} FROM photos p WHERE p.learner_id=? ORDER BY p.seq", [learner_id])


def one(conn: sqlite3.Connection, learner_id: str, observation_id: str, photo_id: str) -> dict | None:
    rows = _rows(conn, f"SELECT {COLUMNS} FROM photos p WHERE p.id=? AND p.learner_id=? AND p.observation_id=?",
                 [photo_id, learner_id, observation_id])
    return rows[0] if rows else None


def observation_exists(conn: sqlite3.Connection, learner_id: str, observation_id: str) -> bool:
    return conn.execute("SELECT 1 FROM observations WHERE id=? AND learner_id=?",
                        [observation_id, learner_id]).fetchone() is not None


def may_photograph(conn: sqlite3.Connection, learner_id: str) -> bool:
    """Whether consent to photographs is recorded as given. Never recorded is
    not given: the camera is offered only once someone has asked and been told yes."""
    row = conn.execute("SELECT given FROM consents WHERE learner_id=? AND consent='photographs'",
                       [learner_id]).fetchone()
    return bool(row and row[0])


def count_of_learner(conn: sqlite3.Connection, learner_id: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM photos WHERE learner_id=? AND status='kept'", [learner_id]).fetchone()[0]


def of_pack_period(conn: sqlite3.Connection, learner_id: str, first: str, last: str) -> list[dict]:
    """The photos of a pack's period, ``first`` to ``last`` inclusive (ISO dates)."""
    after_last = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    return of_period(conn, learner_id, first, after_last)


def of_period(conn: sqlite3.Connection, learner_id: str, first: str, last: str, *, chosen_only: bool = False) -> list[dict]:
    """The photos kept with observations that count (not withdrawn) and happened
    from ``first`` up to (not including) ``last``, oldest first, each with its
    observation (when, where, rating, note, target) and the outcomes that
    target serves."""
    rows = _rows(
        conn,
        f"SELECT {COLUMNS}, o.observed_at, o.context, o.rating, o.note, o.target_id, t.text AS target_text "
        "FROM photos p JOIN observations o ON o.id = p.observation_id AND o.learner_id = p.learner_id "
        "JOIN targets t ON t.id = o.target_id "
        "WHERE p.learner_id=? AND p.status='kept' AND o.status='active' AND o.observed_at>=? AND o.observed_at<? "
        + ("AND p.chosen=1 " if chosen_only else "") +
        "ORDER BY o.observed_at, p.seq",
        [learner_id, first, last],
    )
    outcomes: dict[str, list[str]] = {}
    for r in conn.execute("SELECT target_id, outcome_id FROM target_outcomes WHERE learner_id=?", [learner_id]):
        outcomes.setdefault(r["target_id"], []).append(r["outcome_id"])
    for row in rows:
        row["outcome_ids"] = outcomes.get(row["target_id"], [])
    return rows

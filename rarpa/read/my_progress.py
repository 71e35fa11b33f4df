"""The learner's own pages as they read them ("My progress", web/my_progress.py):
each target in the learner's own words where they were written
(TargetWordedForLearner), where they started and where they are now, what
they did lately, and what they said themselves before. Only what the read
model holds; the words people read are the web's (web/easy_read.py)."""

from __future__ import annotations

import sqlite3

from events.vocabulary import PFA_AREAS, RATINGS

RECENT_MOMENTS = 3  # what they did lately, on a target's screen
ANSWERS_SHOWN = 6  # their own answers shown back, the latest


def _rows(conn: sqlite3.Connection, sql: str, args: list) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, args)]


def _step(rating: str | None) -> int | None:
    """A rating as a step of the ladder (0 to 4), or None: a picture, never shown as a number."""
    return RATINGS.index(rating) if rating in RATINGS else None


def _targets(conn: sqlite3.Connection, learner_id: str, target_id: str | None = None) -> list[dict]:
    """Targets as the learner reads them: ``words`` (their own, else the
    staff wording), ``own_words`` (whether they are their own), the PfA area
    of the first outcome it serves (for its symbol), ``start`` and ``now``
    (steps), whether it is open or was achieved."""
    where, args = ("t.learner_id=?", [learner_id]) if target_id is None else (
        "t.learner_id=? AND t.id=?", [learner_id, target_id])
    rows = _rows(conn, "SELECT t.id, t.text, t.learner_words, t.status, t.closed_as, t.baseline, t.latest, "
                       "t.observations FROM targets t WHERE " + where + " ORDER BY t.set_at, t.id", args)
    areas: dict[str, list[str]] = {}
    for r in conn.execute("SELECT l.target_id, o.pfa_area FROM target_outcomes l JOIN outcomes o ON o.id=l.outcome_id "
                          "WHERE l.learner_id=? ORDER BY o.recorded_at, o.id", [learner_id]):
        areas.setdefault(r["target_id"], []).append(r["pfa_area"])
    for t in rows:
        t["own_words"] = bool(t["learner_words"])
        t["words"] = t["learner_words"] or t["text"]
        served = [a for a in areas.get(t["id"], []) if a in PFA_AREAS]
        t["area"] = served[0] if served else None
        t["start"], t["now"] = _step(t["baseline"]), _step(t["latest"])
    return rows


def overview(conn: sqlite3.Connection, learner_id: str) -> dict:
    """The first screen: the targets they are working on, and those they achieved."""
    targets = _targets(conn, learner_id)
    return {"open": [t for t in targets if t["status"] == "open"],
            "achieved": [t for t in targets if t["status"] != "open" and t["closed_as"] == "achieved"]}


def target(conn: sqlite3.Connection, learner_id: str, target_id: str) -> dict | None:
    """One target as the learner reads it (see ``_targets``), or None."""
    found = _targets(conn, learner_id, target_id)
    return found[0] if found else None


def open_targets(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    return [t for t in _targets(conn, learner_id) if t["status"] == "open"]


def moments(conn: sqlite3.Connection, learner_id: str, target_id: str, *, photos: bool,
            limit: int = RECENT_MOMENTS) -> list[dict]:
    """What they did lately on this target, newest first: when, where, how
    much help, what was new, and (``photos``: consent to photographs is
    given) the photos kept with it."""
    rows = _rows(conn, "SELECT id, observed_at, context, prompt_level, new_to_learner FROM observations "
                       "WHERE learner_id=? AND target_id=? AND status='active' ORDER BY observed_at DESC, seq DESC "
                       "LIMIT ?", [learner_id, target_id, limit])
    kept: dict[str, list[dict]] = {}
    if photos and rows:
        marks = ",".join("?" * len(rows))
        for p in _rows(conn, f"SELECT id, observation_id, width, height FROM photos WHERE learner_id=? "
                             f"AND status='kept' AND observation_id IN ({marks}) ORDER BY seq",
                       [learner_id, *[r["id"] for r in rows]]):
            kept.setdefault(p["observation_id"], []).append(p)
    for r in rows:
        r["new_to_learner"] = [n for n in (r["new_to_learner"] or "").split(",") if n]
        r["photos"] = kept.get(r["id"], [])
    return rows


def answers(conn: sqlite3.Connection, learner_id: str, target_id: str, limit: int = ANSWERS_SHOWN) -> list[dict]:
    """What they said themselves about this target (self-assessments), the
    latest ``limit``, oldest first: answer, their words, when."""
    rows = _rows(conn, "SELECT answer, words, assessed_at FROM self_assessments WHERE learner_id=? AND target_id=? "
                       "ORDER BY assessed_at DESC, seq DESC LIMIT ?", [learner_id, target_id, limit])
    return list(reversed(rows))


def learner_words(conn: sqlite3.Connection, learner_id: str) -> dict[str, str]:
    """Each target written in the learner's own words: target id -> their words."""
    return {r[0]: r[1] for r in conn.execute(
        "SELECT id, learner_words FROM targets WHERE learner_id=? AND learner_words IS NOT NULL", [learner_id])}


def preferred_name(conn: sqlite3.Connection, learner_id: str) -> str:
    row = conn.execute("SELECT preferred_name FROM learners WHERE id=?", [learner_id]).fetchone()
    return row[0] if row else ""

"""Read-side queries: each answers one question from the read model in a query
or two. They return the contract's JSON shapes."""

from __future__ import annotations

import sqlite3
from typing import Iterable

from rarpa.access import Actor


def _rows(conn: sqlite3.Connection, sql: str, args: Iterable = ()) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, list(args))]


def progress(conn: sqlite3.Connection, learner_id: str) -> dict:
    """Progress per target and per EHCP outcome (contract shape, plus detail)."""
    targets = _rows(
        conn,
        "SELECT id, text, success_criteria, status, closed_as, baseline, latest, distance, "
        "observations, last_observed_at, review_by, revisions, summative "
        "FROM targets WHERE learner_id=? ORDER BY set_at, id",
        [learner_id],
    )
    links: dict[str, list[str]] = {}
    for r in conn.execute(
        "SELECT target_id, outcome_id FROM target_outcomes WHERE learner_id=? ORDER BY target_id, outcome_id",
        [learner_id],
    ):
        links.setdefault(r["outcome_id"], []).append(r["target_id"])
    by_target: dict[str, list[str]] = {}
    for oid, tids in links.items():
        for tid in tids:
            by_target.setdefault(tid, []).append(oid)
    for t in targets:
        t["outcome_ids"] = sorted(by_target.get(t["id"], []))
    outcomes = _rows(
        conn,
        "SELECT id, text, pfa_area, due, distance FROM outcomes WHERE learner_id=? "
        "ORDER BY pfa_area, recorded_at, id",
        [learner_id],
    )
    for o in outcomes:
        o["targets"] = sorted(links.get(o["id"], []))
        o["distance"] = float(o["distance"] or 0)
    return {"targets": targets, "outcomes": outcomes}


def learner(conn: sqlite3.Connection, learner_id: str) -> dict | None:
    row = conn.execute(
        "SELECT id, name, preferred_name, date_of_birth, lead_provider AS provider, enrolled_at, "
        "last_observed_at, status, annual_review_due FROM learners WHERE id=?",
        [learner_id],
    ).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["providers"] = _rows(
        conn, "SELECT provider, lead FROM learner_providers WHERE learner_id=? ORDER BY lead DESC, provider",
        [learner_id],
    )
    for p in out["providers"]:
        p["lead"] = bool(p["lead"])
    return out


def visible_learners(conn: sqlite3.Connection, actor: Actor) -> list[dict]:
    """The learners this person may see, by role: caseload, provider or all."""
    base = (
        "SELECT l.id, l.name, l.preferred_name, l.date_of_birth, l.lead_provider AS provider, "
        "l.last_observed_at, l.annual_review_due FROM learners l WHERE l.status='active' "
    )
    if actor.role in ("system", "auditor"):
        return _rows(conn, base + "ORDER BY l.name, l.id")
    if actor.role in ("tutor", "support"):
        ids = sorted(actor.caseload)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return _rows(conn, base + f"AND l.id IN ({marks}) ORDER BY l.name, l.id", ids)
    if actor.role == "send_lead":
        return _rows(
            conn,
            base + "AND l.id IN (SELECT learner_id FROM learner_providers WHERE provider=?) "
            "ORDER BY l.name, l.id",
            [actor.provider],
        )
    return []


def reviews_due(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    return _rows(
        conn, "SELECT kind, ref_id, due_on FROM reviews_due WHERE learner_id=? ORDER BY due_on, kind, ref_id",
        [learner_id],
    )

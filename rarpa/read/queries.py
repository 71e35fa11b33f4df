"""Read-side queries: each answers one question from the read model in a query
or two. They return the contract's JSON shapes."""

from __future__ import annotations

import sqlite3
from typing import Iterable

from rarpa.service.access import Actor


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


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p[:1].isalpha()]
    return ((parts[0][0] + parts[-1][0]) if len(parts) > 1 else name[:2]).upper()


def short_name(preferred: str, full: str) -> str:
    """Preferred name and the surname's initial: enough to tell learners apart,
    little enough for a screen the class can see."""
    parts = full.split()
    return f"{preferred} {parts[-1][0]}." if len(parts) > 1 else preferred


def today_cards(conn: sqlite3.Connection, actor: Actor, today: str, week_start: str) -> list[dict]:
    """The caseload page: who is on it, who has not been seen this week, whose
    reviews are due. Deliberately nothing sensitive (no EHCP, no needs)."""
    cards = []
    soon = _plus_days(today, 14)
    for learner in visible_learners(conn, actor):
        due = conn.execute(
            "SELECT COUNT(*), MIN(due_on) FROM reviews_due WHERE learner_id=? AND due_on<=?",
            [learner["id"], soon],
        ).fetchone()
        cards.append(
            {
                "id": learner["id"],
                "name": short_name(learner["preferred_name"], learner["name"]),
                "initials": initials(learner["name"]),
                "observed_this_week": bool(learner["last_observed_at"])
                and learner["last_observed_at"][:10] >= week_start,
                "last_observed_at": learner["last_observed_at"],
                "reviews_due": due[0],
                "review_due_on": due[1],
                "review_overdue": bool(due[1] and due[1] < today),
            }
        )
    return cards


def _plus_days(iso: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


OBSERVATION_COLUMNS = ("id, target_id, rating, prompt_level, context, note, observed_at, recorded_at, "
                       "status, corrections, recorded_by")


def _with_evidence(target: dict, observations: list[dict], recent: int) -> dict:
    """A target with its ratings over time (for the chart) and latest evidence;
    ``observations`` are the target's own, oldest first."""
    target["points"] = [(o["observed_at"], o["rating"]) for o in observations if o["status"] == "active"]
    target["recent"] = list(reversed(observations))[:recent]
    return target


def learner_page(conn: sqlite3.Connection, learner_id: str, recent: int = 3) -> dict:
    """Targets grouped by PfA area and EHCP outcome, each with its ratings over
    time (for the chart) and its latest observations."""
    p = progress(conn, learner_id)
    by_target: dict[str, list[dict]] = {}
    for o in _rows(conn, f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE learner_id=? "
                         "ORDER BY observed_at, seq", [learner_id]):
        by_target.setdefault(o["target_id"], []).append(o)
    targets = {t["id"]: _with_evidence(t, by_target.get(t["id"], []), recent) for t in p["targets"]}
    areas: dict[str, list[dict]] = {}
    shown = set()
    for o in p["outcomes"]:
        o["target_rows"] = [targets[tid] for tid in o["targets"] if tid in targets]
        shown.update(o["targets"])
        areas.setdefault(o["pfa_area"], []).append(o)
    return {"areas": areas, "targets": targets, "unlinked": [t for t in p["targets"] if t["id"] not in shown]}


def target_card(conn: sqlite3.Connection, learner_id: str, target_id: str, recent: int = 3) -> dict | None:
    """One target as on the learner page, reading only its own observations:
    what recording and undo answer with, so they stay fast for long records."""
    target = next((t for t in progress(conn, learner_id)["targets"] if t["id"] == target_id), None)
    if target is None:
        return None
    observations = _rows(conn, f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE target_id=? "
                               "AND learner_id=? ORDER BY observed_at, seq", [target_id, learner_id])
    return _with_evidence(target, observations, recent)


def last_context(conn: sqlite3.Connection, user_id: str) -> str | None:
    row = conn.execute(
        "SELECT context FROM observations WHERE recorded_by=? AND context IS NOT NULL "
        "ORDER BY recorded_at DESC, seq DESC LIMIT 1",
        [user_id],
    ).fetchone()
    return row[0] if row else None


def observation(conn: sqlite3.Connection, learner_id: str, observation_id: str) -> dict | None:
    row = conn.execute(
        "SELECT id, target_id, rating, prompt_level, context, note, observed_at, recorded_at, recorded_by, "
        "provider, status, corrections FROM observations WHERE id=? AND learner_id=?",
        [observation_id, learner_id],
    ).fetchone()
    return dict(row) if row else None


def user_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["id"]: r["display_name"] for r in conn.execute("SELECT id, display_name FROM users")}


DISTANCE_BANDS = (
    ("moved back", "distance < 0"),
    ("no change yet", "distance = 0"),
    ("up to one step", "distance > 0 AND distance <= 1"),
    ("more than one step", "distance > 1"),
)


def cohort_counts(conn: sqlite3.Connection, actor: Actor, today) -> dict:
    """Counts only, never names: the anonymous tracking a SEND lead reports on
    (reviews due, who has not been seen, targets by status, outcomes by PfA area
    and distance travelled). A SEND lead sees their provider; an auditor all.
    A learner whose data was erased still counts (their record's anonymous
    shape is kept) in learners, targets, outcomes and destinations; reviews
    due and "not observed" are about learners still on a programme."""
    counted = "l.status IN ('active', 'erased')"
    if actor.role == "send_lead":
        scope, where, args = actor.provider, (
            f"{counted} AND l.id IN (SELECT learner_id FROM learner_providers WHERE provider=?)"), [actor.provider]
    else:
        scope, where, args = "all", counted, []
    ids = f"SELECT l.id FROM learners l WHERE {where}"
    active = f"SELECT l.id FROM learners l WHERE {where} AND l.status='active'"
    today_iso = today.isoformat()
    rows: list[dict] = []

    def add(measure: str, group: str, sql: str, extra: list | tuple = ()):
        rows.append({"measure": measure, "group": group, "count": conn.execute(sql, [*args, *extra]).fetchone()[0]})

    add("learners", "all", f"SELECT COUNT(*) FROM ({ids})")
    add("annual review", "overdue", f"SELECT COUNT(*) FROM learners WHERE id IN ({active}) AND annual_review_due < ?", [today_iso])
    add("annual review", "due in the next 30 days",
        f"SELECT COUNT(*) FROM learners WHERE id IN ({active}) AND annual_review_due >= ? AND annual_review_due <= ?",
        [today_iso, _plus_days(today_iso, 30)])
    add("not observed in the last two weeks", "learners",
        f"SELECT COUNT(*) FROM learners WHERE id IN ({active}) AND (last_observed_at IS NULL OR last_observed_at < ?)",
        [_plus_days(today_iso, -14)])
    for (status,) in conn.execute(
        f"SELECT DISTINCT CASE WHEN status='open' THEN 'open' ELSE 'closed: ' || REPLACE(closed_as, '_', ' ') END "
        f"FROM targets WHERE learner_id IN ({ids}) ORDER BY 1", args
    ).fetchall():
        add("targets", status,
            f"SELECT COUNT(*) FROM targets WHERE learner_id IN ({ids}) AND "
            "(CASE WHEN status='open' THEN 'open' ELSE 'closed: ' || REPLACE(closed_as, '_', ' ') END)=?", [status])
    for area in ("employment", "independent_living", "community", "health"):
        add("outcomes by PfA area", area, f"SELECT COUNT(*) FROM outcomes WHERE learner_id IN ({ids}) AND pfa_area=?", [area])
        for band, condition in DISTANCE_BANDS:
            add(f"outcomes in {area} by distance travelled", band,
                f"SELECT COUNT(*) FROM outcomes WHERE learner_id IN ({ids}) AND pfa_area=? AND {condition}", [area])
    add("destinations", "recorded", f"SELECT COUNT(*) FROM destinations WHERE learner_id IN ({ids})")
    add("destinations", "sustained (two terms)",
        f"SELECT COUNT(*) FROM destinations WHERE learner_id IN ({ids}) AND sustained_on IS NOT NULL")
    return {"scope": scope, "rows": rows}


def reviews(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Progress and annual reviews, newest first."""
    return _rows(
        conn,
        "SELECT id, kind, held_on, attendees, learner_views FROM reviews WHERE learner_id=? "
        "ORDER BY held_on DESC, recorded_at DESC",
        [learner_id],
    )

"""Read-side queries: each answers one question from the read model in a query
or two. They return the contract's JSON shapes. Who may see which learners is
access.scope's to say; the queries only turn it into SQL."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Iterable

from events.vocabulary import PFA_AREAS, WORDS
from rarpa.service.access import Actor, Forbidden, scope


def _rows(conn: sqlite3.Connection, sql: str, args: Iterable = ()) -> list[dict]:
    return [dict(r) for r in conn.execute(sql, list(args))]


TARGET_COLUMNS = ("id, text, success_criteria, status, closed_as, baseline, latest, distance, "
                  "observations, last_observed_at, review_by, revisions, summative")
OUTCOME_COLUMNS = "id, text, pfa_area, due, distance"


def progress(conn: sqlite3.Connection, learner_id: str) -> dict:
    """Progress per target and per EHCP outcome (contract shape, plus detail)."""
    targets = _rows(
        conn, f"SELECT {TARGET_COLUMNS} FROM targets WHERE learner_id=? ORDER BY set_at, id", [learner_id]
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
        conn, f"SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE learner_id=? ORDER BY pfa_area, recorded_at, id",
        [learner_id],
    )
    for o in outcomes:
        o["targets"] = sorted(links.get(o["id"], []))
        o["distance"] = float(o["distance"] or 0)
    return {"targets": targets, "outcomes": outcomes}


def target(conn: sqlite3.Connection, learner_id: str, target_id: str) -> dict | None:
    """One target as in progress(), reading only its own rows."""
    row = conn.execute(f"SELECT {TARGET_COLUMNS} FROM targets WHERE id=? AND learner_id=?",
                       [target_id, learner_id]).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["outcome_ids"] = [r[0] for r in conn.execute(
        "SELECT outcome_id FROM target_outcomes WHERE target_id=? AND learner_id=? ORDER BY outcome_id",
        [target_id, learner_id])]
    return out


def outcome(conn: sqlite3.Connection, learner_id: str, outcome_id: str) -> dict | None:
    """One EHCP outcome as in progress(), reading only its own rows."""
    row = conn.execute(f"SELECT {OUTCOME_COLUMNS} FROM outcomes WHERE id=? AND learner_id=?",
                       [outcome_id, learner_id]).fetchone()
    if row is None:
        return None
    out = dict(row)
    out["distance"] = float(out["distance"] or 0)
    out["targets"] = [r[0] for r in conn.execute(
        "SELECT target_id FROM target_outcomes WHERE outcome_id=? AND learner_id=? ORDER BY target_id",
        [outcome_id, learner_id])]
    return out


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


def _in_sight(actor: Actor) -> tuple[str, list]:
    """access.scope as an SQL condition on learners ``l``, with its arguments."""
    kind, values = scope(actor)
    marks = ",".join("?" * len(values))
    if kind == "all":
        return "1", []
    if kind == "caseload":
        return f"l.id IN ({marks})", sorted(values)
    if kind == "provider":
        return f"l.id IN (SELECT learner_id FROM learner_providers WHERE provider IN ({marks}))", sorted(values)
    return "0", []


def visible_learners(conn: sqlite3.Connection, actor: Actor) -> list[dict]:
    """The learners this person may see, by role: caseload, provider or all."""
    where, args = _in_sight(actor)
    return _rows(
        conn,
        "SELECT l.id, l.name, l.preferred_name, l.date_of_birth, l.lead_provider AS provider, "
        f"l.last_observed_at, l.annual_review_due FROM learners l WHERE l.status='active' AND {where} "
        "ORDER BY l.name, l.id",
        args,
    )


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
    one = target(conn, learner_id, target_id)
    if one is None:
        return None
    observations = _rows(conn, f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE target_id=? "
                               "AND learner_id=? ORDER BY observed_at, seq", [target_id, learner_id])
    return _with_evidence(one, observations, recent)


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


def may_see_cohort(actor: Actor) -> bool:
    """Cohort counts cover a provider or everyone, never a caseload (a handful
    of learners would be as good as named)."""
    return scope(actor)[0] in ("all", "provider")


def _target_group(status: str, closed_as: str | None) -> str:
    return "open" if status == "open" else f"closed: {WORDS['closed_as'][closed_as]}"


def cohort_counts(conn: sqlite3.Connection, actor: Actor, today: date) -> dict:
    """Counts only, never names: the anonymous tracking a SEND lead reports on
    (reviews due, who has not been seen, targets by status, outcomes by PfA area
    and distance travelled). A SEND lead sees their provider; an auditor all.
    A learner whose data was erased still counts (their record's anonymous
    shape is kept) in learners, targets, outcomes and destinations; reviews
    due and "not observed" are about learners still on a programme."""
    if not may_see_cohort(actor):
        raise Forbidden(f"a {actor.role} cannot see cohort counts")
    kind, values = scope(actor)
    in_sight, args = _in_sight(actor)
    where = f"l.status IN ('active', 'erased') AND {in_sight}"
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
    targets: dict[str, int] = {}
    for status, closed_as, count in conn.execute(
        f"SELECT status, closed_as, COUNT(*) FROM targets WHERE learner_id IN ({ids}) GROUP BY status, closed_as", args
    ):
        group = _target_group(status, closed_as)
        targets[group] = targets.get(group, 0) + count
    rows.extend({"measure": "targets", "group": group, "count": targets[group]} for group in sorted(targets))
    for area in PFA_AREAS:
        add("outcomes by PfA area", area, f"SELECT COUNT(*) FROM outcomes WHERE learner_id IN ({ids}) AND pfa_area=?", [area])
        for band, condition in DISTANCE_BANDS:
            add(f"outcomes in {area} by distance travelled", band,
                f"SELECT COUNT(*) FROM outcomes WHERE learner_id IN ({ids}) AND pfa_area=? AND {condition}", [area])
    add("destinations", "recorded", f"SELECT COUNT(*) FROM destinations WHERE learner_id IN ({ids})")
    add("destinations", "sustained (two terms)",
        f"SELECT COUNT(*) FROM destinations WHERE learner_id IN ({ids}) AND sustained_on IS NOT NULL")
    return {"scope": "all" if kind == "all" else ", ".join(sorted(values)), "rows": rows}


def reviews(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Progress and annual reviews, newest first."""
    return _rows(
        conn,
        "SELECT id, kind, held_on, attendees, learner_views FROM reviews WHERE learner_id=? "
        "ORDER BY held_on DESC, recorded_at DESC",
        [learner_id],
    )

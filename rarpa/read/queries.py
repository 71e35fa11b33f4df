"""Read-side queries: each answers one question from the read model in a query
or two. They return the contract's JSON shapes. Who may see which learners is
access.scope's to say; the queries only turn it into SQL."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from typing import Iterable

from events.vocabulary import CONSENTS, PFA_AREAS
from rarpa.read import rating_summary
from rarpa.service.access import Actor, scope


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
    if kind == "caseload":  # and their provider still works with the learner
        return (f"l.id IN ({marks}) AND l.id IN (SELECT learner_id FROM learner_providers WHERE provider = ?)",
                [*sorted(values), actor.provider or ""])
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


def learner_name(conn: sqlite3.Connection, learner_id: str) -> str:
    """The name pages show a learner by: preferred name and surname initial."""
    about = learner(conn, learner_id)
    return short_name(about["preferred_name"], about["name"])


# How far ahead Today looks for what falls due.
TARGET_REVIEWS_AHEAD = 14
ANNUAL_REVIEW_AHEAD = 30


def today_cards(conn: sqlite3.Connection, actor: Actor, today: str, week_start: str) -> list[dict]:
    """The caseload page: who is on it, who has not been seen lately, and what
    is really due, each kind of review on its own (a target's review, the
    annual review, a destination's follow-up). Ordered by who needs attention:
    longest without an observation first, then the earliest review due.
    Deliberately nothing sensitive (no EHCP details, needs or target wording:
    the page may be on a classroom screen)."""
    cards = []
    targets_until = _plus_days(today, TARGET_REVIEWS_AHEAD)
    annual_until = _plus_days(today, ANNUAL_REVIEW_AHEAD)
    for learner in visible_learners(conn, actor):
        due = {kind: (count, first, ref) for kind, count, first, ref in conn.execute(
            "SELECT kind, COUNT(*), MIN(due_on), "
            "(SELECT ref_id FROM reviews_due d2 WHERE d2.learner_id=d.learner_id AND d2.kind=d.kind "
            " ORDER BY due_on, ref_id LIMIT 1) "
            "FROM reviews_due d WHERE learner_id=? AND due_on <= CASE kind WHEN 'annual' THEN ? ELSE ? END "
            "GROUP BY kind", [learner["id"], annual_until, targets_until])}
        last = learner["last_observed_at"]
        card = {
            "id": learner["id"],
            "name": short_name(learner["preferred_name"], learner["name"]),
            "initials": initials(learner["name"]),
            "last_observed_at": last,
            "observed_this_week": bool(last) and last[:10] >= week_start,
            "days_since_observed": (date.fromisoformat(today) - date.fromisoformat(last[:10])).days if last else None,
        }
        for kind in ("target", "annual", "destination"):
            count, first, ref = due.get(kind, (0, None, None))
            card[f"{kind}_due"] = {"count": count, "on": first, "ref": ref, "overdue": first < today} if count else None
        firsts = [d["on"] for d in (card["target_due"], card["annual_due"], card["destination_due"]) if d]
        card["first_due"] = min(firsts) if firsts else None
        cards.append(card)
    # Never observed first, then the longest ago; then whose review falls due first.
    cards.sort(key=lambda c: (c["last_observed_at"] or "", c["first_due"] or "9999", c["name"]))
    return cards


def _plus_days(iso: str, days: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


OBSERVATION_COLUMNS = ("id, target_id, rating, prompt_level, context, note, observed_at, recorded_at, "
                       "status, corrections, recorded_by")


def _with_evidence(conn: sqlite3.Connection, learner_id: str, targets: dict[str, dict], recent: int) -> None:
    """Adds to each target its ratings for the chart, bounded however long the
    record (rating_summary.charts: the last few one by one, older ones per
    term), and its ``recent`` latest observations, withdrawn ones too, newest
    first: a fixed number of rows per target, never every observation."""
    rating_summary.charts(conn, learner_id, list(targets.values()))
    for t in targets.values():
        t["recent"] = []
    if not targets:
        return
    marks = ",".join("?" * len(targets))
    for o in _rows(conn, f"SELECT {', '.join('o.' + c for c in OBSERVATION_COLUMNS.split(', '))} "
                         "FROM targets t JOIN observations o ON o.id IN ("
                         "  SELECT id FROM observations WHERE target_id=t.id ORDER BY observed_at DESC, seq DESC LIMIT ?) "
                         f"WHERE t.learner_id=? AND t.id IN ({marks}) ORDER BY o.observed_at DESC, o.seq DESC",
                   [recent, learner_id, *targets]):
        targets[o["target_id"]]["recent"].append(o)


def learner_page(conn: sqlite3.Connection, learner_id: str, recent: int = 3) -> dict:
    """Targets grouped by PfA area and EHCP outcome, each with its ratings over
    time (for the chart) and its latest observations."""
    p = progress(conn, learner_id)
    targets = {t["id"]: t for t in p["targets"]}
    _with_evidence(conn, learner_id, targets, recent)
    _with_revisions(conn, learner_id, targets)
    for ref, due_on in conn.execute("SELECT ref_id, due_on FROM reviews_due WHERE learner_id=? AND kind='target'",
                                    [learner_id]):
        if ref in targets:
            targets[ref]["review_due_on"] = due_on
    areas: dict[str, list[dict]] = {}
    shown = set()
    for o in p["outcomes"]:
        o["target_rows"] = [targets[tid] for tid in o["targets"] if tid in targets]
        shown.update(o["targets"])
        areas.setdefault(o["pfa_area"], []).append(o)
    return {"areas": areas, "targets": targets, "unlinked": [t for t in p["targets"] if t["id"] not in shown]}


def target_card(conn: sqlite3.Connection, learner_id: str, target_id: str, recent: int = 3) -> dict | None:
    """One target as on the learner page, reading only its own rows: what
    recording and undo answer with, so they stay fast for long records."""
    one = target(conn, learner_id, target_id)
    if one is None:
        return None
    due = conn.execute("SELECT due_on FROM reviews_due WHERE kind='target' AND ref_id=? AND learner_id=?",
                       [target_id, learner_id]).fetchone()
    one["review_due_on"] = due[0] if due else None
    _with_revisions(conn, learner_id, {target_id: one})
    _with_evidence(conn, learner_id, {target_id: one}, recent)
    return one


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


def user_emails(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["id"]: r["email"] for r in conn.execute("SELECT id, email FROM users")}


def user_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {r["id"]: r["display_name"] for r in conn.execute("SELECT id, display_name FROM users")}


def staff_names(conn: sqlite3.Connection) -> dict[str, str]:
    """Who each member of staff is, as a page names them: their name, or
    their email when they were added without one."""
    return {r["id"]: r["display_name"] or r["email"] for r in conn.execute("SELECT id, display_name, email FROM users")}


def reviews(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Progress and annual reviews, newest first."""
    return _rows(
        conn,
        "SELECT id, kind, held_on, attendees, learner_views FROM reviews WHERE learner_id=? "
        "ORDER BY held_on DESC, recorded_at DESC",
        [learner_id],
    )


# --- the plan, as the SEND lead sets it up ---------------------------------------------------------
def providers(conn: sqlite3.Connection) -> list[dict]:
    """Every provider: short code and name, by name."""
    return _rows(conn, "SELECT slug, name FROM providers ORDER BY name, slug")


def aims(conn: sqlite3.Connection, learner_id: str, until: str | None = None) -> list[dict]:
    """Programme aims, oldest first, each with the EHCP outcomes it serves
    (id, wording and PfA area, in the order the outcomes were recorded).
    ``until``, an ISO instant, leaves out aims agreed at or after it."""
    rows = _rows(
        conn, "SELECT id, text, agreed_at FROM aims WHERE learner_id=? AND (? IS NULL OR agreed_at < ?) "
              "ORDER BY agreed_at, id", [learner_id, until, until])
    serves: dict[str, list[dict]] = {}
    for r in conn.execute(
        "SELECT a.aim_id, o.id, o.text, o.pfa_area FROM aim_outcomes a JOIN outcomes o ON o.id=a.outcome_id "
        "WHERE a.learner_id=? ORDER BY o.recorded_at, o.id", [learner_id],
    ):
        serves.setdefault(r["aim_id"], []).append({"id": r["id"], "text": r["text"], "pfa_area": r["pfa_area"]})
    for a in rows:
        a["outcomes"] = serves.get(a["id"], [])
    return rows


def plan(conn: sqlite3.Connection, learner_id: str) -> dict:
    """The learner's plan as it stands: EHCP outcomes by PfA area (and whether
    each was amended), programme aims, and every target, open or closed, with
    the outcomes it serves, its last revision (kind and reason) and, when
    closed, why."""
    outcomes = _rows(
        conn, "SELECT id, text, pfa_area, due, recorded_at, amended_at FROM outcomes WHERE learner_id=? "
              "ORDER BY recorded_at, id", [learner_id])
    targets = progress(conn, learner_id)["targets"]
    last: dict[tuple[str, str], dict] = {}
    for r in conn.execute(
        "SELECT target_id, kind, at, reason FROM target_changes WHERE learner_id=? AND kind!='set' ORDER BY seq",
        [learner_id],
    ):
        last[(r["target_id"], "closed" if r["kind"] == "closed" else "revised")] = dict(r)
    for t in targets:
        t["last_revision"] = last.get((t["id"], "revised"))
        t["closure"] = last.get((t["id"], "closed"))
    areas = {area: [o for o in outcomes if o["pfa_area"] == area] for area in PFA_AREAS}
    return {"outcomes": outcomes, "areas": {a: os for a, os in areas.items() if os},
            "aims": aims(conn, learner_id), "targets": targets}


# --- the end of the programme, and consents ----------------------------------------------------
def summatives(conn: sqlite3.Connection, learner_id: str, until: str | None = None) -> dict[str, dict[str, dict]]:
    """The summative judgement that stands for each target and each EHCP outcome
    (the last recorded; with ``until``, the last assessed on or before that
    day): {"target": {id: row}, "outcome": {id: row}}."""
    out: dict[str, dict[str, dict]] = {"target": {}, "outcome": {}}
    sql = ("SELECT kind, ref_id, judgement, summary, assessed_on, recorded_by, recorded_at FROM summatives "
           "WHERE learner_id=?" + (" AND assessed_on<=?" if until else "") + " ORDER BY seq")
    for r in _rows(conn, sql, [learner_id, until] if until else [learner_id]):
        out[r.pop("kind")][r.pop("ref_id")] = r
    return out


def destinations(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Where the learner went next, oldest first, with when each can be confirmed
    as sustained (follow_up_on) and when it was (sustained_on)."""
    return _rows(conn, "SELECT id, kind, detail, starts_on, follow_up_on, sustained_on FROM destinations "
                       "WHERE learner_id=? ORDER BY starts_on, id", [learner_id])


def destination(conn: sqlite3.Connection, learner_id: str, destination_id: str) -> dict | None:
    return next((d for d in destinations(conn, learner_id) if d["id"] == destination_id), None)


def end_of_programme(conn: sqlite3.Connection, learner_id: str) -> dict:
    """RARPA stage 5 for one learner: every target and EHCP outcome with the
    summative judgement that stands (None before one is made), outcomes
    nobody planned, next steps and destinations."""
    p = progress(conn, learner_id)
    judged = summatives(conn, learner_id)
    for t in p["targets"]:
        t["judgement"] = judged["target"].get(t["id"])
    for o in p["outcomes"]:
        o["judgement"] = judged["outcome"].get(o["id"])
    return {
        "targets": p["targets"],
        "outcomes": sorted(p["outcomes"], key=lambda o: (PFA_AREAS.index(o["pfa_area"]), o["text"], o["id"])),
        "unplanned": _rows(conn, "SELECT id, text, pfa_area, context, recognised_on FROM unplanned_outcomes "
                                 "WHERE learner_id=? ORDER BY recognised_on, id", [learner_id]),
        "next_steps": _rows(conn, "SELECT id, text, agreed_on FROM next_steps WHERE learner_id=? "
                                  "ORDER BY agreed_on, id", [learner_id]),
        "destinations": destinations(conn, learner_id),
    }


def consents(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Each consent the record knows (vocabulary.CONSENTS, in its order): given
    or not, why, who recorded it and when; ``given`` is None when nobody has
    recorded it yet."""
    names = user_names(conn)
    current = {r["consent"]: r for r in _rows(
        conn, "SELECT consent, given, reason, recorded_by, role, recorded_at FROM consents WHERE learner_id=?",
        [learner_id])}
    out = []
    for consent in CONSENTS:
        row = current.get(consent)
        if row is None:
            out.append({"consent": consent, "given": None, "reason": "", "recorded_by": None, "by": None,
                        "role": None, "recorded_at": None})
        else:
            out.append({**row, "given": bool(row["given"]), "by": names.get(row["recorded_by"], row["recorded_by"])})
    return out


def consent_history(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """Every consent answer recorded for the learner, newest first."""
    names = user_names(conn)
    return [{**r, "given": bool(r["given"]), "by": names.get(r["recorded_by"], r["recorded_by"])} for r in _rows(
        conn, "SELECT consent, given, reason, recorded_by, role, recorded_at FROM consent_history "
              "WHERE learner_id=? ORDER BY seq DESC", [learner_id])]


def _with_revisions(conn: sqlite3.Connection, learner_id: str, targets: dict[str, dict]) -> None:
    """Marks each target that was revised or renegotiated: ``revised`` is how
    many times, and the last change's kind, reason and when (None if never)."""
    for t in targets.values():
        t["revised"] = None
    for r in conn.execute(
        "SELECT target_id, kind, at, reason FROM target_changes WHERE learner_id=? "
        "AND kind IN ('revised', 'renegotiated') ORDER BY seq", [learner_id],
    ):
        t = targets.get(r["target_id"])
        if t is not None:
            times = t["revised"]["times"] + 1 if t["revised"] else 1
            t["revised"] = {"times": times, "kind": r["kind"], "at": r["at"], "reason": r["reason"]}


def open_targets_of(conn: sqlite3.Connection, learner_ids: Iterable[str]) -> dict[str, list[dict]]:
    """Recording for a group: each learner's open targets, as set (id, text,
    when last observed), by learner id. Only the ids asked for; whether they
    are in sight is the caller's to have checked."""
    out: dict[str, list[dict]] = {lid: [] for lid in learner_ids}
    if not out:
        return out
    marks = ",".join("?" * len(out))
    for row in _rows(conn, f"SELECT learner_id, id, text, last_observed_at FROM targets WHERE status='open' "
                           f"AND learner_id IN ({marks}) ORDER BY set_at, id", list(out)):
        out[row.pop("learner_id")].append(row)
    return out

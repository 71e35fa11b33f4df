"""The cohort: anonymous counts for a provider (SEND lead) or everyone
(auditor), and the learners behind each count for those allowed to see them.
Each count's condition is stated once (``cohort_measures``) and used both to
count and to list, so a count always equals what is listed plus the erased."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from events.vocabulary import PFA_AREAS, TARGET_CLOSED_AS, WORDS
from rarpa.read.queries import _in_sight, _plus_days, short_name
from rarpa.service.access import COHORT, Actor, Forbidden, NotFound, scope

# A distance band: its code, the name cohort_counts has always given it, its condition.
DISTANCE_BANDS = (
    ("moved_back", "moved back", "x.distance < 0"),
    ("no_change", "no change yet", "x.distance = 0"),
    ("up_to_one_step", "up to one step", "x.distance > 0 AND x.distance <= 1"),
    ("more_than_one_step", "more than one step", "x.distance > 1"),
)
# What a count counts: rows of a table (``x``), each one learner's (``l``).
COHORT_UNITS = {
    "learners": "learners l",
    "targets": "targets x JOIN learners l ON l.id = x.learner_id",
    "outcomes": "outcomes x JOIN learners l ON l.id = x.learner_id",
    "destinations": "destinations x JOIN learners l ON l.id = x.learner_id",
}
# Whom the cohort counts: learners on a programme, and the anonymous shape kept
# of an erased learner's record (counted, never named). Reviews due and "not
# observed" are about learners still on a programme (ACTIVE).
COUNTED = "l.status IN ('active', 'erased')"
ACTIVE = "l.status = 'active'"


@dataclass(frozen=True)
class CohortMeasure:
    """One count on the cohort page, its condition stated once: what it counts
    (``unit``), which of them (``condition`` on the unit's row ``x`` and its
    learner ``l``, with ``args``), the words people read (``heading`` for the
    measure, ``label`` for the group) and the names ``cohort_counts`` has
    always answered with (``measure``, ``group``: old releases' captures
    compare them). The count and the list of learners behind it are read with
    the same FROM and WHERE (``_cohort_where``)."""

    key: str
    unit: str
    condition: str
    args: tuple
    heading: str
    label: str
    measure: str
    group: str
    area: str | None = None


def cohort_measures(today: date) -> list[CohortMeasure]:
    """Every count on the cohort page, in the page's order."""
    w, t = WORDS["cohort"], today.isoformat()
    out = [
        CohortMeasure("learners", "learners", "1", (), w["learners"], w["all"], "learners", "all"),
        CohortMeasure("annual-review-overdue", "learners", f"{ACTIVE} AND l.annual_review_due < ?", (t,),
                      w["annual_review"], w["overdue"], "annual review", "overdue"),
        CohortMeasure("annual-review-due-soon", "learners",
                      f"{ACTIVE} AND l.annual_review_due >= ? AND l.annual_review_due <= ?", (t, _plus_days(t, 30)),
                      w["annual_review"], w["due_soon"], "annual review", "due in the next 30 days"),
        CohortMeasure("not-observed", "learners",
                      f"{ACTIVE} AND (l.last_observed_at IS NULL OR l.last_observed_at < ?)", (_plus_days(t, -14),),
                      w["learners"], w["not_observed"], "not observed in the last two weeks", "learners"),
        CohortMeasure("targets-open", "targets", "x.status = 'open'", (), w["targets"], w["open"], "targets", "open"),
    ]
    for closed_as in TARGET_CLOSED_AS:
        said = WORDS["closed_as"][closed_as]
        out.append(CohortMeasure(f"targets-closed-{closed_as}", "targets", "x.status <> 'open' AND x.closed_as = ?",
                                 (closed_as,), w["targets"], f"{w['closed']}: {said}", "targets", f"closed: {said}"))
    for area in PFA_AREAS:
        words = WORDS["areas"][area]
        out.append(CohortMeasure(f"outcomes-{area}", "outcomes", "x.pfa_area = ?", (area,), w["outcomes"], words,
                                 "outcomes by PfA area", area, area))
        for band, name, condition in DISTANCE_BANDS:
            out.append(CohortMeasure(f"outcomes-{area}-{band}", "outcomes", f"x.pfa_area = ? AND {condition}", (area,),
                                     w["distance"].format(area=words), w[band],
                                     f"outcomes in {area} by distance travelled", name, area))
    out += [
        CohortMeasure("destinations", "destinations", "1", (), w["destinations"], w["recorded"],
                      "destinations", "recorded"),
        CohortMeasure("destinations-sustained", "destinations", "x.sustained_on IS NOT NULL", (),
                      w["destinations"], w["sustained"], "destinations", "sustained (two terms)"),
    ]
    return out


def may_see_cohort(actor: Actor) -> bool:
    """Cohort counts cover a provider or everyone, never a caseload (a handful
    of learners would be as good as named)."""
    return actor.may(COHORT)


def _require_cohort(actor: Actor) -> None:
    if not may_see_cohort(actor):
        raise Forbidden(f"a {actor.role} cannot see cohort counts")


def _cohort_where(actor: Actor, m: CohortMeasure) -> tuple[str, list]:
    """FROM and WHERE of one count, with its arguments: the one statement of
    which rows a count counts, for the count and for its list alike."""
    _require_cohort(actor)
    in_sight, args = _in_sight(actor)
    return f"FROM {COHORT_UNITS[m.unit]} WHERE {COUNTED} AND {in_sight} AND ({m.condition})", [*args, *m.args]


def _counts(conn: sqlite3.Connection, actor: Actor, measures: list[CohortMeasure]) -> dict[str, int]:
    """Every count, one statement per unit: the rows in sight are read once
    and each count's condition tallied over them (at 2,000 learners, one
    statement per count read a provider's targets fourteen times over). The
    same FROM, WHERE and condition as ``_cohort_where``, so the same number."""
    in_sight, sight_args = _in_sight(actor)
    by_unit: dict[str, list[CohortMeasure]] = {}
    for m in measures:
        by_unit.setdefault(m.unit, []).append(m)
    out = {}
    for unit, ms in by_unit.items():
        tallies = ", ".join(f"COUNT(CASE WHEN ({m.condition}) THEN 1 END)" for m in ms)
        args = [a for m in ms for a in m.args] + sight_args  # the SELECT's marks come first
        found = conn.execute(f"SELECT {tallies} FROM {COHORT_UNITS[unit]} WHERE {COUNTED} AND {in_sight}",
                             args).fetchone()
        out.update({m.key: n for m, n in zip(ms, found)})
    return out


def cohort(conn: sqlite3.Connection, actor: Actor, today: date) -> dict:
    """Every cohort count, with its words and its key (for the list behind it).
    A SEND lead sees their provider; an auditor all; nobody else any."""
    _require_cohort(actor)
    measures = cohort_measures(today)
    counts = _counts(conn, actor, measures)
    rows = [{"key": m.key, "unit": m.unit, "area": m.area, "heading": m.heading, "label": m.label,
             "measure": m.measure, "group": m.group, "count": counts[m.key]} for m in measures]
    kind, values = scope(actor)
    names = {r[0]: r[1] for r in conn.execute("SELECT slug, name FROM providers")}
    return {"scope": "all" if kind == "all" else ", ".join(sorted(values)),
            "scope_words": None if kind == "all" else ", ".join(names.get(v, v) for v in sorted(values)),
            "rows": rows}


def cohort_counts(conn: sqlite3.Connection, actor: Actor, today: date) -> dict:
    """The cohort's counts in the shape every release has answered with
    (measure, group, count; targets only in the groups that have any, by
    name): what an old release's capture is compared with."""
    rows = cohort(conn, actor, today)["rows"]
    first = next(i for i, r in enumerate(rows) if r["unit"] == "targets")
    targets = sorted((r for r in rows if r["unit"] == "targets" and r["count"]), key=lambda r: r["group"])
    rest = [r for r in rows if r["unit"] != "targets"]
    kind, values = scope(actor)
    return {"scope": "all" if kind == "all" else ", ".join(sorted(values)),
            "rows": [{"measure": r["measure"], "group": r["group"], "count": r["count"]}
                     for r in rest[:first] + targets + rest[first:]]}


def cohort_learners(conn: sqlite3.Connection, actor: Actor, today: date, key: str) -> dict:
    """The learners behind one cohort count, read with the count's own FROM
    and WHERE, each with how many of the counted rows are theirs: so the
    count is always what is listed plus what belongs to erased learners, who
    are counted but never named (only how many, and how many rows)."""
    _require_cohort(actor)
    m = next((m for m in cohort_measures(today) if m.key == key), None)
    if m is None:
        raise NotFound("no such cohort count")
    where, args = _cohort_where(actor, m)
    named, erased_learners, erased_rows = [], 0, 0
    for r in conn.execute(f"SELECT l.id, l.name, l.preferred_name, l.status, COUNT(*) AS n {where} "
                          "GROUP BY l.id ORDER BY l.preferred_name, l.name, l.id", args):
        if r["status"] == "erased":
            erased_learners, erased_rows = erased_learners + 1, erased_rows + r["n"]
        else:
            named.append({"id": r["id"], "name": short_name(r["preferred_name"], r["name"]), "count": r["n"]})
    return {"key": m.key, "unit": m.unit, "heading": m.heading, "label": m.label,
            "count": sum(n["count"] for n in named) + erased_rows, "learners": named,
            "erased_learners": erased_learners, "erased_count": erased_rows}


def cohort_distance_by_area(conn: sqlite3.Connection, actor: Actor, today: date) -> list[dict]:
    """Distance travelled by PfA area, for the cohort's chart: for each area,
    the EHCP outcomes its count counts and their mean distance travelled
    (measures.mean_distance, the SQL function of the read model)."""
    out = []
    for m in cohort_measures(today):
        if m.unit == "outcomes" and m.measure == "outcomes by PfA area":
            where, args = _cohort_where(actor, m)
            count, mean = conn.execute(f"SELECT COUNT(*), mean_distance(x.distance) {where}", args).fetchone()
            out.append({"area": m.area, "label": m.label, "outcomes": count, "mean": float(mean or 0)})
    return out

"""Ratings over time, bounded however long the record (issue 14).

A target's chart shows its last ``RECENT`` live ratings one by one and, once
it has more than that, every term in a panel of its own: how many ratings,
the lowest and the highest, and the judgement at the term's end (its latest
rating then, by ``measures.latest_rating``, the measure distance travelled
is taken from). An outcome's chart shows the mean rating of its targets at
the end of each term, then day by day over its targets' latest ratings
(``outcome_progress``). Every observation stays on the evidence page, which
is paged.

The terms come from the read model's ``rating_terms`` table, which the
projection keeps per target and term (``recompute_terms``), so a page reads
a few rows per target and term and never a learner's every observation:
its time and size stay flat over five years of observations.

Terms go by the calendar month of ``observed_at``: spring January to March,
summer April to August, autumn September to December (an English college
year; Easter moves, the months do not). A term is kept as one number,
``year * 3 + (0 spring, 1 summer, 2 autumn)``, so terms follow one another.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Iterable

from events.vocabulary import WORDS
from rarpa.record import measures

RECENT = 10  # ratings a target's chart shows one by one
MOST_PERIODS = 15  # terms a chart shows at most (five years); beyond that, academic years
TERMS = ("spring", "summer", "autumn")
_STARTS = ("01", "04", "09")  # the month each term starts


# --- terms --------------------------------------------------------------------------------------
def term_of(iso: str) -> int:
    """The term an ISO date or instant falls in, as one number."""
    year, month = int(iso[:4]), int(iso[5:7])
    return year * 3 + (0 if month < 4 else 1 if month < 9 else 2)


def term_range(term: int) -> tuple[str, str]:
    """ISO prefixes the term's instants fall between: ``start <= observed_at < end``."""
    year, n = divmod(term, 3)
    end_year, end_n = divmod(term + 1, 3)
    return f"{year:04d}-{_STARTS[n]}", f"{end_year:04d}-{_STARTS[end_n]}"


def term_words(term: int) -> str:
    """Autumn 2025."""
    year, n = divmod(term, 3)
    return f"{TERMS[n].capitalize()} {year}"


def academic_year(term: int) -> int:
    """The year its academic year starts in (autumn 2025, spring and summer 2026: 2025)."""
    return (term - 2) // 3


def year_words(start: int) -> str:
    """2025/26."""
    return f"{start}/{(start + 1) % 100:02d}"


# --- the projection's side: one row per target and term ------------------------------------------
def recompute_terms(execute: Callable, dirty: Iterable[tuple[str, int]]) -> None:
    """Rebuild the ``rating_terms`` rows of these (target, term) pairs from the
    live observations (the read model's own rows, so a rebuilt read model and
    an incremental one agree)."""
    for target_id, term in sorted(set(dirty)):
        start, end = term_range(term)
        rows = execute(
            "SELECT learner_id, observed_at, seq, rating FROM observations WHERE target_id=? AND status='active' "
            "AND observed_at >= ? AND observed_at < ?", [target_id, start, end]).fetchall()
        execute("DELETE FROM rating_terms WHERE target_id=? AND term=?", [target_id, term])
        if not rows:
            continue
        ratings = sorted((measures.step(r[3]), r[3]) for r in rows)
        execute(
            "INSERT INTO rating_terms (target_id, term, learner_id, observations, lowest, highest, latest, "
            "first_at, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [target_id, term, rows[0][0], len(rows), ratings[0][1], ratings[-1][1],
             measures.latest_rating((r[1], r[2], r[3]) for r in rows),
             min(r[1] for r in rows), max(r[1] for r in rows)])


# --- the page's side ------------------------------------------------------------------------------
def charts(conn: sqlite3.Connection, learner_id: str, targets: list[dict]) -> None:
    """Adds to each target (a row as ``queries.target`` gives it): ``points``,
    its last RECENT live (observed_at, rating), oldest first; ``before``, the
    live one just before those, or None; and, when it has more than RECENT,
    ``term_rows`` (its rating_terms rows) and ``terms`` (``periods`` of them),
    else None. A fixed number of rows per target, whatever the length of the
    record: through the index on (target_id, observed_at, seq), and rating_terms."""
    by_id = {t["id"]: t for t in targets}
    for t in targets:
        t["points"], t["before"], t["term_rows"], t["terms"] = [], None, None, None
    if not by_id:
        return
    marks = ",".join("?" * len(by_id))
    rows = conn.execute(
        "SELECT o.target_id, o.observed_at, o.seq, o.rating FROM targets t JOIN observations o ON o.id IN ("
        "  SELECT id FROM observations WHERE target_id=t.id AND status='active' "
        "  ORDER BY observed_at DESC, seq DESC LIMIT ?) "
        f"WHERE t.learner_id=? AND t.id IN ({marks})", [RECENT + 1, learner_id, *by_id]).fetchall()
    latest: dict[str, list] = {}
    for target_id, observed_at, seq, rating in rows:
        latest.setdefault(target_id, []).append((observed_at, seq, rating))
    for target_id, found in latest.items():
        found.sort()
        t = by_id[target_id]
        t["points"] = [(w, r) for w, _, r in found[-RECENT:]]
        t["before"] = (found[0][0], found[0][2]) if len(found) > RECENT else None
    long = [tid for tid, t in by_id.items() if t["before"]]
    if not long:
        return
    for tid in long:
        by_id[tid]["term_rows"] = []
    marks = ",".join("?" * len(long))
    for r in conn.execute(
            "SELECT target_id, term, observations, lowest, highest, latest, first_at, last_at FROM rating_terms "
            f"WHERE learner_id=? AND target_id IN ({marks}) ORDER BY target_id, term", [learner_id, *long]):
        by_id[r["target_id"]]["term_rows"].append(dict(r))
    for tid in long:
        by_id[tid]["terms"] = periods(by_id[tid]["term_rows"])


def _grouping(terms: list[int]) -> tuple[str, Callable[[int], int], int]:
    """How to group these terms into at most MOST_PERIODS periods: (unit, the
    key of a term's period, how many keys a period spans): by term, by
    academic year, or by runs of academic years."""
    first, last = min(terms), max(terms)
    if last - first < MOST_PERIODS:
        return "term", lambda k: k, 1
    y0 = academic_year(first)
    years = academic_year(last) - y0 + 1
    if years <= MOST_PERIODS:
        return "year", academic_year, 1
    width = -(-years // MOST_PERIODS)
    return "years", lambda k: y0 + (academic_year(k) - y0) // width * width, width


def _period_words(unit: str, key: int, width: int) -> str:
    if unit == "term":
        return term_words(key)
    if unit == "year":
        return year_words(key)
    return f"{year_words(key)} to {year_words(key + width - 1)}"


def periods(rows: list[dict]) -> dict:
    """A target's rating_terms rows (oldest first) as at most MOST_PERIODS
    periods: ``unit`` (term, year or years), ``first`` (the first period's
    term or year), ``width`` (years a period spans when ``years``), ``slots``
    (how many periods from the first to the last, empty ones too) and ``periods``, each with its
    ``slot``, ``label``, ``observations``, ``lowest``, ``highest``, ``latest``
    (the judgement at its end), ``first_at`` and ``last_at``."""
    if not rows:
        return {"unit": "term", "first": 0, "width": 1, "slots": 0, "periods": []}
    unit, key, width = _grouping([r["term"] for r in rows])
    merged: dict[int, dict] = {}
    for r in rows:  # oldest first: the last row merged into a period is its end
        m = merged.get(key(r["term"]))
        if m is None:
            merged[key(r["term"])] = {k: r[k] for k in ("observations", "lowest", "highest", "latest", "first_at",
                                                         "last_at")}
            continue
        m["observations"] += r["observations"]
        m["lowest"] = min(m["lowest"], r["lowest"], key=measures.step)
        m["highest"] = max(m["highest"], r["highest"], key=measures.step)
        m["latest"], m["last_at"] = r["latest"], r["last_at"]
    first = min(merged)
    out = [{"slot": (k - first) // width, "label": _period_words(unit, k, width), **m} for k, m in sorted(merged.items())]
    return {"unit": unit, "first": first, "width": width, "slots": out[-1]["slot"] + 1, "periods": out}


def _term_ends(t: dict) -> list[tuple[int, str, str]]:
    """(term, last_at, the judgement at its end) of a target, oldest first: from
    its rating_terms rows or, when it has no more than RECENT ratings, from its points."""
    if t.get("term_rows") is not None:
        return [(r["term"], r["last_at"], r["latest"]) for r in t["term_rows"]]
    ends: dict[int, tuple[str, str]] = {}
    for when, rating in t.get("points") or []:  # oldest first: a term's last one is its end
        ends[term_of(when)] = (when, rating)
    return [(k, w, r) for k, (w, r) in sorted(ends.items())]


def outcome_progress(targets: list[dict]) -> dict:
    """An outcome's progress, bounded: the mean rating of its targets (each
    counted from its first rating, as ``measures.mean_rating_over_time``
    counts them) ``days``, [(day, mean, targets)], over the days on which
    every target's rating is known from its points (all of them for a short
    record); and, once a target has more than RECENT ratings, ``terms``: the
    mean at the end of each term (or academic year) as ``periods`` gives
    them, with ``mean``, ``targets`` and ``last_at``; else None. ``targets``
    come from ``charts``."""
    reduced = [([t["before"]] if t.get("before") else []) + list(t.get("points") or []) for t in targets]
    days = measures.mean_rating_over_time(reduced)
    known_from = max((t["before"][0] for t in targets if t.get("before")), default=None)
    if known_from is None:
        return {"terms": None, "days": days}
    # Before that day some target's rating then is not among its points: those days are left to the terms.
    days = [d for d in days if d[0] >= known_from[:10]]
    ends = [_term_ends(t) for t in targets]
    terms = sorted({k for e in ends for k, _, _ in e})
    unit, key, width = _grouping(terms)
    last_of = {key(k): k for k in terms}  # a period's mean is the one at the end of its last term: exact there
    first = min(last_of)
    out = []
    for k, term in sorted(last_of.items()):
        steps = [measures.step([r for kk, _, r in e if kk <= term][-1]) for e in ends if e and e[0][0] <= term]
        at = max(w for e in ends for kk, w, _ in e if kk == term)
        out.append({"slot": (k - first) // width, "label": _period_words(unit, k, width),
                    "mean": sum(steps) / len(steps), "targets": len(steps), "last_at": at})
    return {"terms": {"unit": unit, "first": first, "width": width, "slots": out[-1]["slot"] + 1, "periods": out},
            "days": days}


def rating_range_words(period: dict) -> str:
    """"secure at the end; lowest emerging, highest secure" (or all one rating)."""
    words = WORDS["ratings"]
    end = f"{words[period['latest']]} at the end"
    if period["lowest"] == period["highest"]:
        return f"{end}; every rating {words[period['lowest']]}" if period["observations"] > 1 else end
    return f"{end}; lowest {words[period['lowest']]}, highest {words[period['highest']]}"

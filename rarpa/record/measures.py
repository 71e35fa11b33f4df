"""How progress is measured and when things fall due: one home for each rule,
used by the record, the read model (as SQL functions) and the pack, so they
can never disagree.

Dates are ISO ``YYYY-MM-DD`` strings, as the events keep them.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Iterable

from events.vocabulary import RATINGS

TERM = timedelta(weeks=13)


# --- distance travelled -----------------------------------------------------------
def step(rating: str | None) -> int | None:
    """A rating's place on the scale (not_yet = 0), or None for no rating."""
    return RATINGS.index(rating) if rating else None


def distance(baseline: str | None, latest: str | None) -> int:
    """Signed rating steps from the baseline to the latest judgement; 0 until
    there is both a baseline and a judgement."""
    if not baseline or not latest:
        return 0
    return RATINGS.index(latest) - RATINGS.index(baseline)


def mean_distance(distances: Iterable[int | float]) -> float:
    """An outcome's distance: the mean of its targets' distances, to two
    places, halves rounded away from zero (as SQLite's ROUND did); 0.0 when it
    has no targets."""
    values = [Fraction(d) for d in distances]
    if not values:
        return 0.0
    hundredths = sum(values) / len(values) * 100
    whole = int(abs(hundredths) + Fraction(1, 2))
    return float(Fraction(whole if hundredths >= 0 else -whole, 100))


def latest_rating(observations: Iterable[tuple[str, int, str]]) -> str | None:
    """The latest judgement from (observed_at, recorded order, rating) of the
    live observations: the one observed last, ties to the one recorded last,
    so a late-sent offline observation never overtakes a newer one."""
    latest = max(observations, default=None)
    return latest[2] if latest else None


def mean_rating_over_time(targets: Iterable[Iterable[tuple[str, str]]]) -> list[tuple[str, float, int]]:
    """An outcome's ratings over time, as its chart draws them: for each day
    on which any of its targets was observed, the mean step (not_yet = 0) of
    each target's latest judgement at the end of that day, and how many
    targets that mean is of. A target counts from its first observation.
    ``targets``: each target's (observed_at, rating) of live observations,
    oldest first (ties in recorded order), as ``latest_rating`` orders them."""
    merged = sorted((when, i, n, rating) for i, points in enumerate(targets)
                    for n, (when, rating) in enumerate(points))
    latest: dict[int, int] = {}
    out: list[tuple[str, float, int]] = []
    for when, i, _, rating in merged:
        latest[i] = step(rating)
        point = (when[:10], sum(latest.values()) / len(latest), len(latest))
        if out and out[-1][0] == point[0]:
            out[-1] = point
        else:
            out.append(point)
    return out


# --- when things fall due -------------------------------------------------------------
def annual_review_due(last: str) -> str:
    """Twelve months after the enrolment or the last annual review (29
    February falls due on 28 February)."""
    year, rest = int(last[:4]), last[4:10]
    if rest == "-02-29":
        rest = "-02-28"
    return f"{year + 1}{rest}"


def next_target_review(held_on: str, agreed: str | None = None) -> str:
    """A target a progress review kept or revised is next due on the date
    agreed there, or else a term after the review."""
    return agreed or (date.fromisoformat(held_on) + TERM).isoformat()


def destination_follow_up(starts_on: str) -> str:
    """A destination is confirmed as sustained two terms after it began."""
    return (date.fromisoformat(starts_on) + 2 * TERM).isoformat()

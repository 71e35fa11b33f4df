"""Dates and times as people read them, in one place for every page, chart
and message (ISO strings as the record keeps them, or dates)."""

from __future__ import annotations

from datetime import date, datetime


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def day(value) -> str:
    """23 Mar 2026: a date read at a glance; empty for none."""
    if not value:
        return ""
    d = _as_date(value)
    return f"{d.day} {d:%b %Y}"


def long_day(value) -> str:
    """6 July 2026: a date in a sentence; empty for none."""
    if not value:
        return ""
    d = _as_date(value)
    return f"{d.day} {d:%B %Y}"


def moment(value: str | None) -> str:
    """12 Mar 2026 at 10:15, from an ISO instant."""
    if not value:
        return ""
    when = datetime.fromisoformat(value)
    return f"{when.day} {when:%b %Y} at {when:%H:%M}"

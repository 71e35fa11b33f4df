"""What input the record can hold at all, checked at the edges (rarpa/service/schemas.py,
the as-at and period parsers) and again by the record's own checks (rules.py).

* Dates and instants lie between 1900-01-01 and 2100-12-31. Nothing in a
  learner's record (born, observed, reviewed, due, starting) is outside that,
  and keeping well inside Python's year 1..9999 means no date arithmetic
  downstream (+26 weeks, a UTC conversion, the day after a period) can overflow.
* Text is Unicode that UTF-8 can encode (no lone surrogates, which JSON's
  "\\ud800" escape can smuggle in) and holds no control characters: none at
  all on one line (names, attendees, codes); tab, line feed and carriage return
  only in longer text (notes, reasons, views).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
_BETWEEN = f"{EARLIEST.isoformat()} and {LATEST.isoformat()}"

TOO_EARLY = f"is too long ago to be right: dates must be between {_BETWEEN}"
TOO_LATE = f"is too far ahead to be right: dates must be between {_BETWEEN}"
INSTANT_TOO_EARLY = f"is too long ago to be right: times must be between {_BETWEEN} (UTC)"
INSTANT_TOO_LATE = f"is too far ahead to be right: times must be between {_BETWEEN} (UTC)"

UNSTORABLE = "contains characters that cannot be stored (a broken character or a control character)"
ONE_LINE = "must be on one line, without tabs or line breaks"

_BROKEN = re.compile("[\ud800-\udfff]")  # lone surrogates: not text, cannot be encoded
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 (but tab, LF, CR), DEL, C1
_BREAKS = re.compile("[\t\n\r]")


def date_problem(value: date) -> str | None:
    """Why a date cannot be taken, or None."""
    if isinstance(value, datetime):
        value = value.date()
    if value < EARLIEST:
        return TOO_EARLY
    if value > LATEST:
        return TOO_LATE
    return None


def instant_problem(value: datetime) -> str | None:
    """Why an aware date-time cannot be taken, or None. Checked on its own
    calendar date first, so converting it to UTC afterwards cannot overflow."""
    local = value.date()
    if local < EARLIEST:
        return INSTANT_TOO_EARLY
    if local > LATEST:
        return INSTANT_TOO_LATE
    if value.tzinfo is not None and value.utcoffset() is not None:
        utc = value.astimezone(timezone.utc).date()
        if utc < EARLIEST:
            return INSTANT_TOO_EARLY
        if utc > LATEST:
            return INSTANT_TOO_LATE
    return None


def text_problem(value: str, *, multiline: bool = True) -> str | None:
    """Why a piece of text cannot be stored, or None."""
    if _BROKEN.search(value) or _CONTROL.search(value):
        return UNSTORABLE
    if not multiline and _BREAKS.search(value):
        return ONE_LINE
    return None

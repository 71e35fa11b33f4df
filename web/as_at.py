"""The record as it stood at an instant, on every page that shows a learner's
record: the learner page, an observation, the evidence, the timeline and the
annual-review pack (HTML and PDF).

An address says the instant as ``as_at`` (an ISO date-time with its offset,
kept in UTC on every link), or as ``when``, the value of the page's picker
(``<input type=datetime-local>``: a date and time as the clock on the wall in
the UK showed it, with no offset). ``when`` is read as Europe/London time and
turned into UTC with zoneinfo, so "14:05 on 3 July" means 13:05 UTC in summer
and 14:05 in winter; the page says the instant back in words.

While a page is as at an instant, every ``url_for`` to a page that can show
the record as at an instant carries ``as_at`` (a URL default, below), GET
forms carry it as a hidden field (``_as_at.html``: ``keep``), and the pages
leave out everything that would change the record.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Flask, abort, g, request

from rarpa.read import history
from rarpa.service.access import NotFound

LONDON = ZoneInfo("Europe/London")

# The pages that can show the record as at an instant: a link to any of them
# from a page that is as at an instant keeps the instant.
KEEPS_AS_AT = {
    "pages.learner", "pages.observation", "evidence.evidence_page", "reviews.annual_review_page",
    "reviews.annual_review_pdf", "workspace.timeline_page", "workspace.access_log_page",
}

EXAMPLE = "for example 2026-03-03T14:05:00Z"


def from_local(value: str) -> datetime:
    """A picker's value (2026-03-03T14:05, the UK's wall-clock time) as UTC.
    A time the clocks skipped (01:30 on the last Sunday of March) is read
    with the offset before the change; one they passed twice (01:30 on the
    last Sunday of October), as the first of the two."""
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("is not a date and time") from None
    if local.tzinfo is not None:
        raise ValueError("is not a date and time")
    if not 1900 <= local.year <= 9998:
        raise ValueError("must be a year between 1900 and 9998")
    return local.replace(tzinfo=LONDON).astimezone(timezone.utc)


def local_value(moment: datetime) -> str:
    """The picker's value for an instant: UK wall-clock time, to the minute."""
    return moment.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def in_words(moment: datetime | str) -> str:
    """14:05 on 3 March 2026 (UK time); the seconds when there are any."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(LONDON)
    clock = f"{local:%H:%M:%S}" if local.second or local.microsecond else f"{local:%H:%M}"
    return f"{clock} on {local.day} {local:%B %Y}"


def moment_uk(value: datetime | str | None) -> str:
    """12 Mar 2026 at 10:15, in UK time, from an ISO instant."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    local = when.astimezone(LONDON)
    return f"{local.day} {local:%b %Y} at {local:%H:%M}"


def param(moment: datetime | str) -> str:
    """How an instant is written in an address: UTC, with a Z."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse(as_at: str | None, when: str | None) -> datetime | None:
    """The instant an address asks for, or None for now. ``when`` (the
    picker) wins over ``as_at`` unless it is ``as_at`` to the minute (the
    picker shown again unchanged keeps an instant that has seconds).
    ValueError, in words, when either cannot be read."""
    exact = None
    if as_at:
        try:
            exact = history.parse_instant(as_at)
        except ValueError as e:
            raise ValueError(f"as_at, the time in this address ({as_at[:40]}), {e}.") from None
    if when:
        try:
            picked = from_local(when)
        except ValueError as e:
            raise ValueError(f"The date and time {when[:40]!r} {e}: choose it with the picker.") from None
        if exact is None or local_value(exact) != local_value(picked):
            return picked
    return exact


def requested() -> datetime | None:
    """The instant this request's address asks for (None: now); a readable
    400 page when it cannot be read. Sets ``g.as_at`` and ``g.as_at_param``
    for the templates and the links."""
    asked, picked = request.args.get("as_at"), request.args.get("when")  # (bytes that are not UTF-8: problems.py)
    try:
        moment = parse(asked, picked)
    except ValueError as e:
        abort(400, str(e))
    if "when" in request.args and request.method == "GET":
        # The picker's answer, said once as the address every link will carry: as_at, in UTC.
        from flask import redirect, url_for

        fixed = request.view_args or {}
        kept = [(k, v) for k, v in request.args.items(multi=True)
                if k not in ("as_at", "when") and k not in fixed and not k.startswith("_")]
        target = url_for(request.endpoint, **fixed, as_at=param(moment) if moment else None)
        if kept:
            from urllib.parse import urlencode

            target += ("&" if "?" in target else "?") + urlencode(kept)
        abort(redirect(target, 303))
    g.as_at = moment
    g.as_at_param = param(moment) if moment else None
    return moment


def record_conn(live: sqlite3.Connection, lid: str) -> sqlite3.Connection:
    """The read model to build the page from: the live one, or a replay of the
    learner's events recorded up to the instant asked for. Kept in
    ``g.record_conn`` for the parts of the page that read it too."""
    if g.get("as_at") is None:
        g.record_conn = live
        return live
    from web.common import services

    try:
        conn, _ = history.record_as_at(services().app, live, g.actor, lid, g.as_at)
    except NotFound:
        abort(404, f"There was nothing in this learner's record yet at {in_words(g.as_at)}: "
                   "it starts later. Choose a later time.")
    g.record_conn = conn
    return conn


def judged_against() -> dict:
    """What is due or overdue on a page as at an instant is judged against
    that instant's day (and the template context's ``today_iso`` and
    ``due_soon`` are replaced); nothing to replace on a page as it is now."""
    if g.get("as_at") is None:
        return {}
    from rarpa.read.queries import TARGET_REVIEWS_AHEAD

    day = g.as_at.astimezone(timezone.utc).date()
    return {"today_iso": day.isoformat(), "due_soon": (day + timedelta(days=TARGET_REVIEWS_AHEAD)).isoformat()}


def install(app: Flask) -> None:
    @app.url_defaults
    def keep_as_at(endpoint: str, values: dict) -> None:
        if endpoint in KEEPS_AS_AT and "as_at" not in values and g and g.get("as_at_param"):
            values["as_at"] = g.as_at_param

    app.add_template_filter(in_words, "in_words")
    app.add_template_filter(moment_uk, "moment_uk")
    app.add_template_filter(local_value, "local_value")

    @app.context_processor
    def as_at_globals() -> dict:
        return {"as_at": g.get("as_at") if g else None, "as_at_param": g.get("as_at_param") if g else None,
                "here_now": here_now, "here_kept": here_kept}


# What an address keeps when the instant changes: not the instant itself, nor a
# place in a list or a one-off message that belonged to the page as it was.
_DROPPED = {"as_at", "when", "after", "page", "held", "reviewed", "enrolled", "recorded", "done", "said", "saved"}


def here_kept() -> list[tuple[str, str]]:
    """This page's address's other values (filters, the period), for the picker."""
    return [(k, v) for k, v in request.args.items(multi=True) if k not in _DROPPED]


def here_now() -> str:
    """This page as the record stands now: the same address without the instant."""
    from flask import url_for

    fixed = request.view_args or {}
    kept = {k: v for k, v in request.args.items() if k not in _DROPPED and k not in fixed and not k.startswith("_")}
    return url_for(request.endpoint, **fixed, **kept, as_at=None)

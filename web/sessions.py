"""How long a signed-in session lasts, and asking for the password again
before the actions that hand over or destroy a record (README, "Sessions and
passwords").

The session cookie is signed (Flask), so what it says about time cannot be
changed by whoever holds it. It carries three moments, in seconds since the
epoch, from ``clock`` (tests replace it):

- ``signed_in_at``: when the password was entered at sign-in. Twelve hours
  later (``PERMANENT_SESSION_LIFETIME``, web/auth.py) the session ends
  however busy it has been: a college day, then sign in again.
- ``seen``: the last request of this signed-in person. Each request moves
  it on; after ``Settings.session_idle_minutes`` (RARPA_SESSION_IDLE_MINUTES,
  120 by default) without one, the session ends, so a tablet left somewhere
  is signed out, while one picked up now and then through a teaching day is
  not.
- ``password_at``: the last time the password was typed in this session (at
  sign-in, or on the "Confirm it's you" page, web/auth.py ``confirm``).
  ``recent_sign_in_required`` asks for it again when it is older than a few
  minutes.

A session that has ended is cleared; a page is sent to sign in with the
reason and ``next`` (where they were), an htmx or outbox request gets 401,
and the outbox keeps what it holds until the person has signed in again.
API bearer tokens carry no session and are not affected.
"""

from __future__ import annotations

import functools
import logging
import time
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

log = logging.getLogger("rarpa.web.sessions")

clock = time.time  # seconds since the epoch; tests move it

SIGNED_IN_AT, SEEN, PASSWORD_AT = "signed_in_at", "seen", "password_at"
ENDED = "ended"  # kept in the emptied session: why it ended, until they sign in again
IDLE, DAY = "idle", "day"  # why a session ended, as the sign-in page is told (?ended=)
RECENT_MINUTES = 5  # recent_sign_in_required's default


# --- how long a session lasts ----------------------------------------------------------------
def idle_minutes() -> float:
    return current_app.extensions["rarpa"].settings.session_idle_minutes


def lifetime_seconds() -> float:
    return current_app.permanent_session_lifetime.total_seconds()


def begin() -> None:
    """The password was just entered at sign-in: every moment starts now."""
    now = int(clock())
    session[SIGNED_IN_AT] = session[SEEN] = session[PASSWORD_AT] = now


def password_entered() -> None:
    """The password was just typed again ("Confirm it's you")."""
    session[PASSWORD_AT] = int(clock())


def _moment(key: str) -> float | None:
    value = session.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def ended() -> str | None:
    """Why this session has ended (IDLE, DAY), after clearing it; None while it
    goes on, or when nobody is signed in. The reason stays in the emptied
    session, so the sign-in page can give it even when the request that found
    the session over was the outbox's (answered 401, in the background)."""
    if not session.get("user_id"):
        why = session.get(ENDED)
        return why if why in (IDLE, DAY) else None
    now = clock()
    seen, began = _moment(SEEN), _moment(SIGNED_IN_AT)
    if seen is not None and now - seen > idle_minutes() * 60:
        why = IDLE
    elif began is not None and now - began > lifetime_seconds():
        why = DAY
    else:
        return None
    session.clear()
    session[ENDED] = why
    log.info("session ended (%s)", why)
    return why


def still_in_use() -> None:
    """A signed-in request: the session was used now. A cookie from before
    these moments were kept starts counting from now."""
    now = int(clock())
    session[SEEN] = now
    session.setdefault(SIGNED_IN_AT, now)


def _duration(minutes: float) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        hours = int(minutes // 60)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    shown = f"{minutes:g}"
    return f"{shown} minute{'s' if shown != '1' else ''}"


def ended_message(why: str | None) -> str | None:
    """What the sign-in page says about a session that ended (None: nothing)."""
    if why == IDLE:
        return f"You were signed out after {_duration(idle_minutes())} without use. Sign in again to carry on."
    if why == DAY:
        return (f"You were signed out because you signed in more than {_duration(lifetime_seconds() / 60)} ago. "
                "Sign in again to carry on.")
    return None


# --- where to go back to ----------------------------------------------------------------------
def safe_target(target: str | None) -> str | None:
    """``target`` if it is a path of this app, else None: never another site
    ("//host", "/\\host", or with characters a browser drops or rewrites)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    return target


def page_holding_the_form() -> str:
    """Where this request came from, to come back to: the address itself for
    a GET; for a POST the page whose form sent it (the Referer, this app's
    pages only), else Today."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    if request.referrer:
        parts = urlsplit(request.referrer)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if parts.netloc == request.host and safe_target(path) and not parts.path.startswith(("/login", "/confirm")):
            return path
    return url_for("pages.today")


# --- asking for the password again -------------------------------------------------------------
def password_recent(minutes: float) -> bool:
    at = _moment(PASSWORD_AT)
    return at is not None and 0 <= clock() - at <= minutes * 60


def recent_sign_in_required(minutes: float = RECENT_MINUTES, *, back=None):
    """Ask for the password again before this view when it was last entered
    in this session more than ``minutes`` ago.

    Use it under ``@login_required`` (which sets ``g.actor``)::

        @bp.post("/learners/<learner_id>/transfer-pack.zip")
        @login_required
        @recent_sign_in_required(back=lambda learner_id: url_for("pages.learner", learner_id=learner_id))
        def transfer_pack_zip(learner_id): ...

    ``@login_required`` has applied the rule table first (web/rules.py), so
    someone who may not do this at all is told so rather than asked for
    their password. Then, if the password is
    not recent, the person is sent (303) to "Confirm it's you" (auth.confirm)
    and, once confirmed, back to ``back(**view_args)`` or, without ``back``,
    to ``page_holding_the_form()``. The request itself is not carried out
    and not replayed: a POST's form is not kept, so they are brought back to
    the page holding it and told "now press the button again" (it was built
    with a CSRF token for this page; replaying it from the server would mean
    keeping what was typed, possibly personal, in the session cookie). An
    htmx or outbox request is answered 401 with the same advice.

    API bearer tokens never reach this: they are for machines, with no
    password to type."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.get("actor") is None:
                raise RuntimeError("put @login_required above @recent_sign_in_required")
            if password_recent(minutes):
                return view(*args, **kwargs)
            if request.headers.get("HX-Request") or request.headers.get("X-Outbox"):
                return "Confirm it's you: reload the page and enter your password again.", 401
            target = safe_target(back(**kwargs) if back else page_holding_the_form()) or url_for("pages.today")
            again = {"again": 1} if request.method not in ("GET", "HEAD") else {}
            return redirect(url_for("auth.confirm", next=target, **again), 303)

        wrapped.recent_sign_in_minutes = minutes
        return wrapped

    return decorate

"""Learner mode: a member of staff hands the tablet to a learner.

"Hand to [name]" on the learner page (``hand_over``, for anyone who may
RECORD for that learner) locks this signed-in session to the learner's own
easy-read pages (web/my_progress.py): their "My progress", one screen per
target, and their self-assessment, the one thing they can write. The lock is
a value in the session cookie (signed, so it cannot be changed by whoever
holds the tablet) and is held in one place, ``hold``, before every request:

- the learner's own pages (their id in the address) and the app's own files
  (styles, scripts, icons, the service worker, the manifest) answer;
- every other GET (another learner, Today, staff pages, the API, signing in
  as someone else) is sent to the learner's "My progress" (303);
- every other write (signing out included) is refused (403); the staff
  member's offline outbox is told to wait (503 + Retry-After), so what it
  holds is kept and sent after the unlock, not marked as refused;
- an error page is the easy-read one, with no way into the staff pages.

The staff member's password on the unlock screen (``unlock``, with the limits
of signing in) ends it. Every HTML answer says whether the session is locked
(``X-Learner-Mode``: the learner's id, or "off"), which the service worker
(web/templates/sw.js) keeps, so that offline it will not open any page but the
locked learner's own either. A session that ends (idle, twelve hours) ends its
lock with it: the next page is the sign-in page.
"""

from __future__ import annotations


from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter import RateLimitExceeded

from rarpa.read import queries
from rarpa.service import access
from web import easy_read, sessions
from web.auth import BUSY_SECONDS, account_of, current_actor, limited_wait, login_required, signin, too_many_message
from web.common import client_address, learner_in_sight, services
from web.forms import Field, Form

learner_mode = Blueprint("learner_mode", __name__)
learner_mode.context_processor(easy_read.template_helpers)

LOCK = "learner_mode"  # in the session: the id of the learner the tablet was handed to
HEADER = "X-Learner-Mode"

# Open whatever the lock: the app's own files, and the unlock screen.
ALWAYS = frozenset({"static", "shell.hashed", "shell.vendor", "shell.service_worker", "shell.manifest", "shell.offline", "healthz",
                    "learner_mode.unlock"})
# The locked learner's own pages (their id in the address), and what each may be asked.
OWN_PAGES: dict[str, frozenset[str]] = {
    "my_progress.overview": frozenset({"GET"}),
    "my_progress.target": frozenset({"GET"}),
    "my_progress.how_did_it_go": frozenset({"GET", "POST"}),  # the one write: their self-assessment
    "photos.thumbnail": frozenset({"GET"}),  # the photos beside what they did
}

UNLOCK = Form(Field("password", "Password", "your password"))


def locked_to() -> str | None:
    """The learner this session is locked to, or None."""
    value = session.get(LOCK)
    return value if isinstance(value, str) and value else None


def _allowed(lid: str) -> bool:
    methods = OWN_PAGES.get(request.endpoint or "")
    if not methods or (request.view_args or {}).get("learner_id") != lid:
        return False
    method = "GET" if request.method == "HEAD" else request.method
    return method in methods


def hold():
    """Before every request: while the session is locked, only the locked
    learner's own pages answer (see the module's docstring)."""
    if request.endpoint in ALWAYS:
        return None
    lid = locked_to()
    if lid is None or _allowed(lid):
        return None
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("my_progress.overview", learner_id=lid), 303)
    if request.headers.get("X-Outbox"):
        # The staff member's observations waiting on this tablet: kept, and sent after the unlock.
        return "This tablet is lent to a learner just now: what is waiting is sent after it is unlocked.", 503, {
            "Retry-After": "60"}
    response = current_app.make_response((_error_page(lid, 403), 403))
    response.easy_read = True
    return response


def _error_page(lid: str, status: int) -> str:
    """What the learner sees instead of a page that is not theirs, or of an error: a way back to their pages."""
    about = queries.learner(services().fresh(), lid)
    return render_template("learner_mode_error.html", lid=lid, status=status, locked=True,
                           first=about["preferred_name"] if about else "", **easy_read.template_helpers())


def mark(response):
    """After every request: HTML answers say whether the session is locked
    (for the service worker), and while it is, an error page is the easy-read one."""
    if response.mimetype != "text/html":
        return response
    lid = locked_to()
    response.headers[HEADER] = lid or "off"
    if lid and response.status_code >= 400 and not getattr(response, "easy_read", False) \
            and not (request.headers.get("X-Outbox") or request.headers.get("HX-Request")):
        response.set_data(_error_page(lid, response.status_code))
    return response


def install(app) -> None:
    """The lock before every request and the mark after it, and the limits
    of signing in on the unlock screen (one count per address with signing
    in and "Confirm it's you")."""
    app.before_request(hold)
    app.after_request(mark)
    settings = app.extensions["rarpa"].settings
    app.extensions["rarpa_signin"].limiter.shared_limit(
        settings.login_limit_per_address, methods=["POST"], scope="login-address",
        exempt_when=lambda: request.endpoint != "learner_mode.unlock")(learner_mode)


# --- handing the tablet over ----------------------------------------------------------------------
@learner_mode.post("/learners/<learner_id>/learner-mode")
@login_required
def hand_over(learner_id):
    """Lock this session to the learner's own pages (anyone who may RECORD for them)."""
    lid = learner_in_sight(learner_id, access.RECORD)
    session[LOCK] = lid
    return redirect(url_for("my_progress.overview", learner_id=lid), 303)


# --- taking it back -----------------------------------------------------------------------------------
def _unlock_page(lid: str, errors: dict | None = None, status: int = 200, headers: dict | None = None):
    first = queries.learner(services().fresh(), lid)
    # (Refused by the per-address limit, the request never reached login_required: who is signed in, afresh.)
    actor = g.get("actor") or current_actor()
    response = current_app.make_response((
        render_template("learner_mode_unlock.html", lid=lid, form=UNLOCK, errors=errors or {}, locked=True,
                        first=first["preferred_name"] if first else "", email=actor.email if actor else ""),
        status, headers or {}))
    response.easy_read = True
    return response


@learner_mode.errorhandler(RateLimitExceeded)
def _rate_limited(e: RateLimitExceeded):
    wait = limited_wait()
    lid = locked_to()
    if lid is None:
        return redirect(url_for("pages.today"), 303)
    return _unlock_page(lid, {"password": [too_many_message(wait)]}, 429, {"Retry-After": str(wait)})


@learner_mode.route("/learner-mode/unlock", methods=["GET", "POST"])
@login_required
def unlock():
    """The signed-in staff member's password ends learner mode, with the
    limits of signing in: the address's count (shared with signing in),
    the (account, address) lock, the account's limit, the argon2 bound. A
    wrong password keeps the lock. Then to the learner's staff page."""
    lid = locked_to()
    if lid is None:
        return redirect(url_for("pages.today"), 303)
    if request.method == "GET":
        return _unlock_page(lid)
    password = request.form.get("password") or ""
    if not password:
        return _unlock_page(lid, UNLOCK.plain({"password": ["Missing data for required field."]}), 422)
    guard, account, address = signin(), account_of(g.actor.email or ""), client_address()
    wait = guard.refusal(account, address)
    if wait:
        return _unlock_page(lid, {"password": [too_many_message(wait)]}, 429, {"Retry-After": str(wait)})
    with guard.hashing_turn() as turn:
        if not turn:
            return _unlock_page(lid, {"password": ["Checking passwords is busy just now. Try again in a few seconds."]},
                                503, {"Retry-After": str(BUSY_SECONDS)})
        checked = services().app.authenticate(g.actor.email or "", password)
    if checked is None or checked.user_id != g.actor.user_id:
        guard.failed(account, address)
        return _unlock_page(lid, {"password": ["That is not the password of the person signed in. "
                                               "Check it and try again"]}, 401)
    guard.succeeded(account, address)
    session.pop(LOCK, None)
    sessions.password_entered()
    flash("Unlocked: the tablet is yours again.")
    return redirect(url_for("pages.learner", learner_id=lid), 303)

"""Signing in to the web app: email and password, a session cookie, sign out.

The cookie is HttpOnly and SameSite=Lax, and Secure when RARPA_SECURE_COOKIES=1
(set it whenever the app is served over HTTPS). CSRF tokens protect every form
and htmx request (Flask-WTF). A wrong password and an unknown email get the
same answer, so the page never hints whether an email exists.

Sign-in under attack (README, Security). Before a password is checked:
a rate limit per client address on every POST /login (Flask-Limiter); a lock
of one (account, address) pair after repeated failures, escalating but capped
(`LoginGuard`); and a limit on failures per account that applies only to
addresses that have themselves failed on it, so someone guessing cannot lock
the real user out from their own tablet. Then at most a few argon2 checks run
at once (`SignIn.hashing`); a request that cannot get a turn quickly answers
503 rather than holding a server thread, so the API and signed-in pages stay
responsive during a flood. Counters are in RARPA_RATELIMIT_STORAGE (memory://,
per process, by default); the pair locks and the argon2 bound are always per
process. "Confirm it's you" (``confirm``, POST /confirm) has the same limits.

Sessions end after a while without use and twelve hours after signing in;
``recent_sign_in_required`` asks for the password again before a sensitive
action (both in web/sessions.py; README, "Sessions and passwords").
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many
from werkzeug.exceptions import HTTPException

from rarpa.service.access import Actor
from web import rules
from web import sessions
from web.common import client_address, services
from web.forms import Field, Form
from web.sessions import recent_sign_in_required  # noqa: F401  (import it from here: web/sessions.py)

auth = Blueprint("auth", __name__)
log = logging.getLogger("rarpa.web.auth")

BUSY_SECONDS = 2  # Retry-After when every argon2 turn is taken
PASSWORD_PAGES = ("auth.login", "auth.confirm")  # where a password is typed: the same limits on both
EMAIL_MAX = 254  # no address is longer (RFC 5321); longer input is cut for the counters


def account_of(email: str) -> str:
    """The account an attempt is counted against, however the email was typed."""
    return email.strip().lower()[:EMAIL_MAX]


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class LoginGuard:
    """Failed sign-ins per (account, address), in this process's memory.

    After `lock_after` failures the pair is locked for `first_lock` seconds,
    doubled for each further failure, never more than `max_lock`. A success
    clears the pair. A pair idle for `forget_after` seconds is forgotten, and
    at most `max_entries` pairs are kept (the least recently failed go first),
    so a spray of made-up emails cannot exhaust memory."""

    def __init__(self, lock_after: int, first_lock: float, max_lock: float, *, max_entries: int = 50_000,
                 forget_after: float | None = None, clock=time.monotonic):
        self.lock_after, self.first_lock, self.max_lock = lock_after, first_lock, max_lock
        self.max_entries = max_entries
        self.forget_after = forget_after if forget_after is not None else max(3600.0, 2 * max_lock)
        self.clock = clock
        self._pairs: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pairs)

    def _get(self, key: tuple[str, str], now: float) -> _Failures | None:
        entry = self._pairs.get(key)
        if entry is not None and now - entry.last > self.forget_after:
            del self._pairs[key]
            return None
        return entry

    def locked_for(self, account: str, address: str) -> float:
        """Seconds until this pair may try again (0: now)."""
        now = self.clock()
        with self._lock:
            entry = self._get((account, address), now)
            return max(0.0, entry.locked_until - now) if entry else 0.0

    def has_failed(self, account: str, address: str) -> bool:
        with self._lock:
            return self._get((account, address), self.clock()) is not None

    def failed(self, account: str, address: str) -> float:
        """Count a failed check; returns how long the pair is now locked for."""
        now = self.clock()
        key = (account, address)
        with self._lock:
            entry = self._get(key, now) or _Failures()
            entry.count += 1
            entry.last = now
            lock = 0.0
            if entry.count >= self.lock_after:
                lock = min(self.first_lock * 2 ** min(entry.count - self.lock_after, 32), self.max_lock)
                entry.locked_until = now + lock
            self._pairs[key] = entry
            self._pairs.move_to_end(key)
            while len(self._pairs) > self.max_entries:
                self._pairs.popitem(last=False)
        return lock

    def succeeded(self, account: str, address: str) -> None:
        with self._lock:
            self._pairs.pop((account, address), None)


class SignIn:
    """One per app: the rate limiter, the pair locks and the argon2 bound."""

    def __init__(self, app, settings):
        self.limiter = Limiter(
            key_func=client_address, app=app, storage_uri=settings.ratelimit_storage, strategy="fixed-window",
            key_prefix="rarpa",
            # If a shared storage is unreachable, let sign-in through (logged)
            # rather than lock everyone out: the pair locks and the argon2 bound
            # are in memory and still hold.
            swallow_errors=True,
        )
        self.guard = LoginGuard(settings.login_lockout_after, settings.login_lockout_seconds,
                                settings.login_lockout_max_seconds)
        self.hashing = threading.BoundedSemaphore(settings.login_hash_concurrency)
        # As many may wait for a turn as may hash; any more are refused at once,
        # so a flood never holds more than twice that many server threads.
        self.waiting = threading.BoundedSemaphore(settings.login_hash_concurrency)
        self.hash_wait = settings.login_hash_wait_seconds
        self.per_account = parse_many(settings.login_limit_per_account)
        self.invalid_tokens = parse_many(settings.api_invalid_token_limit)
        # Every POST /login or /confirm from one address counts (one count for
        # both), whatever happens next; refused before the form is even read.
        self.limiter.shared_limit(settings.login_limit_per_address, methods=["POST"], scope="login-address",
                                  exempt_when=lambda: request.endpoint not in PASSWORD_PAGES)(auth)

    # --- counters in the rate-limit storage ----------------------------------------------
    def _wait(self, items, *identifiers: str, hit: bool) -> int:
        """Seconds until every one of `items` allows another attempt (0: now).
        With `hit`, the attempt is counted first."""
        strategy = self.limiter.limiter
        wait = 0.0
        try:
            for item in items:
                allowed = strategy.hit(item, *identifiers) if hit else strategy.test(item, *identifiers)
                if not allowed:
                    reset, _ = strategy.get_window_stats(item, *identifiers)
                    wait = max(wait, reset - time.time(), 1)
        except Exception:  # storage unreachable: fail open, as the limiter does
            log.exception("rate-limit storage failed; not limiting this attempt")
            return 0
        return math.ceil(wait)

    @staticmethod
    def _account_key(account: str) -> str:
        # No email in a (possibly shared) storage: a digest stands for it.
        return hashlib.sha256(account.encode()).hexdigest()[:32]

    def refusal(self, account: str, address: str) -> int:
        """Seconds this attempt must wait before its password may be checked (0: go ahead)."""
        wait = math.ceil(self.guard.locked_for(account, address))
        if self.guard.has_failed(account, address):
            # The account's limit binds only addresses that have failed on it,
            # so the real user at a clean address still gets in.
            wait = max(wait, self._wait(self.per_account, "login-account", self._account_key(account), hit=False))
        return wait

    def failed(self, account: str, address: str) -> None:
        lock = self.guard.failed(account, address)
        self._wait(self.per_account, "login-account", self._account_key(account), hit=True)
        if lock:
            log.warning("sign-in: %r from %s locked for %.0f s after repeated failures", account, address, lock)

    def succeeded(self, account: str, address: str) -> None:
        self.guard.succeeded(account, address)

    def invalid_token_wait(self, address: str) -> int:
        """Count an invalid API token from this address; seconds to wait once over the limit."""
        return self._wait(self.invalid_tokens, "api-invalid-token", address, hit=True)

    @contextmanager
    def hashing_turn(self):
        """A turn at argon2, or False when none came free within the wait."""
        got = self.hashing.acquire(blocking=False)
        if not got and self.waiting.acquire(blocking=False):
            try:
                got = self.hashing.acquire(timeout=self.hash_wait)
            finally:
                self.waiting.release()
        try:
            yield got
        finally:
            if got:
                self.hashing.release()


def signin() -> SignIn:
    return current_app.extensions["rarpa_signin"]


def configure(app) -> None:
    services = app.extensions["rarpa"]
    app.secret_key = services.app.vault.secret("session-signing-key")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("RARPA_SECURE_COOKIES") == "1",
        SESSION_COOKIE_NAME="rarpa_session",
        PERMANENT_SESSION_LIFETIME=12 * 3600,  # a college day, then sign in again
        # Tokens last as long as the session: a tablet offline for an hour must
        # still be able to send its outbox when it comes back.
        WTF_CSRF_TIME_LIMIT=None,
    )
    try:
        app.extensions["rarpa_signin"] = SignIn(app, services.settings)
    except SystemExit:
        raise
    except Exception as e:  # e.g. an unknown or unreachable RARPA_RATELIMIT_STORAGE
        raise SystemExit(f"RARPA_RATELIMIT_STORAGE {services.settings.ratelimit_storage!r}: {e}") from e


# How many times the user's sessions had been ended (a deactivation, a password
# reset) when this session began: if more have been since, it has ended too.
SESSIONS_ENDED = "sessions_ended"


def start_session(actor: Actor) -> None:
    """A new signed-in session (at sign-in, or a password set with a one-time link)."""
    session.clear()
    session.permanent = True
    session["user_id"] = actor.user_id
    session[SESSIONS_ENDED] = services().app.session_mark(actor.user_id)
    sessions.begin()


def current_actor() -> Actor | None:
    """The signed-in person, loaded afresh on every request (a new role counts
    at once); None, and the session cleared, when the account is gone, not
    active, or its sessions were ended after this one began."""
    user_id = session.get("user_id")
    if not user_id:
        return None
    actor = services().app.session_actor(user_id, session.get(SESSIONS_ENDED, 0))
    if actor is None:
        session.clear()
    return actor


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        why = sessions.ended()  # idle too long, or signed in too long ago: cleared (web/sessions.py)
        actor = None if why else current_actor()
        if actor is None:
            if request.headers.get("HX-Request") or request.headers.get("X-Outbox"):
                # The outbox keeps what it holds and sends it once they have signed in again.
                return (sessions.ended_message(why) or "Your session has ended: please sign in again.", 401)
            return redirect(url_for("auth.login", next=sessions.page_holding_the_form(),
                                    **({"ended": why} if why else {})))
        g.actor = actor
        sessions.still_in_use()
        rules.gate()  # the rule table's answer for a learner's route, before the view
        return view(*args, **kwargs)

    return wrapped


def limited_wait() -> int:
    """Seconds until the address limit that just refused a request lets it in
    again (a minute when its storage cannot say)."""
    limit = signin().limiter.current_limit
    try:
        wait = math.ceil(limit.window.reset_time - time.time()) if limit else 60
    except Exception:  # storage unreachable
        wait = 60
    return max(1, wait)


def too_many_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _refused(email: str, status: int, message: str, retry_after: int):
    """The sign-in page again, the email kept, the message above the form."""
    return (render_template("login.html", error=message, email=email), status,
            {"Retry-After": str(max(1, int(retry_after)))})


@auth.errorhandler(RateLimitExceeded)
def _rate_limited(e: RateLimitExceeded):
    """Too many POSTs from this address (Flask-Limiter refused before the view)."""
    wait = limited_wait()
    if request.endpoint == "auth.confirm":
        return _confirm_page({"password": [too_many_message(wait)]}, 429, {"Retry-After": str(wait)})
    try:
        email = (request.form.get("email") or "").strip()
    except HTTPException:  # e.g. a body over the size limit: refuse all the same
        email = ""
    return _refused(email, 429, too_many_message(wait), wait)


@auth.route("/login", methods=["GET", "POST"])
def login():
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        actor = None
        if email and password:
            guard, account, address = signin(), account_of(email), client_address()
            wait = guard.refusal(account, address)
            if wait:
                return _refused(email, 429, too_many_message(wait), wait)
            with guard.hashing_turn() as turn:
                if not turn:
                    return _refused(email, 503, "Sign-in is busy just now. Please try again in a few seconds.",
                                    BUSY_SECONDS)
                actor = services().app.authenticate(email, password)
            # Counted only now that the password was really checked (an unknown
            # email counts too, so a lock never tells whether an account exists).
            if actor is None:
                guard.failed(account, address)
            else:
                guard.succeeded(account, address)
        if actor is None:
            error = "That email and password do not match an account. Check them and try again."
        else:
            start_session(actor)
            # Only ever go back to a page of this app.
            target = sessions.safe_target(request.args.get("next")) or url_for("pages.today")
            return redirect(target)
    status = 401 if error else 200
    return render_template("login.html", error=error, email=email,
                           ended=sessions.ended_message(request.args.get("ended"))), status


# --- "Confirm it's you": the password again before a sensitive action (web/sessions.py) ---------
CONFIRM = Form(Field("password", "Password", "your password"))


def _confirm_page(errors: dict | None = None, status: int = 200, headers: dict | None = None):
    try:
        target = sessions.safe_target(request.values.get("next")) or url_for("pages.today")
        again = request.values.get("again") == "1"
    except HTTPException:  # e.g. a body over the size limit
        target, again = url_for("pages.today"), False
    return (render_template("confirm.html", form=CONFIRM, errors=errors or {}, target=target, again=again),
            status, headers or {})


@auth.route("/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """The signed-in person's password again, with the limits of signing in
    (the address's rate limit, the (account, address) lock, the account's
    limit, the argon2 bound); then back to where they were (``next``)."""
    if request.method == "GET":
        return _confirm_page()
    password = request.form.get("password") or ""
    if not password:
        return _confirm_page(CONFIRM.plain({"password": ["Missing data for required field."]}), 422)
    guard, account, address = signin(), account_of(g.actor.email or ""), client_address()
    wait = guard.refusal(account, address)
    if wait:
        return _confirm_page({"password": [too_many_message(wait)]}, 429, {"Retry-After": str(wait)})
    with guard.hashing_turn() as turn:
        if not turn:
            return _confirm_page({"password": ["Checking passwords is busy just now. Try again in a few seconds."]},
                                 503, {"Retry-After": str(BUSY_SECONDS)})
        checked = services().app.authenticate(g.actor.email or "", password)
    if checked is None or checked.user_id != g.actor.user_id:
        guard.failed(account, address)
        return _confirm_page({"password": ["That is not your password. Check it and try again"]}, 401)
    guard.succeeded(account, address)
    sessions.password_entered()
    # The form that sent them here was not sent (web/sessions.py says why): they press it again.
    again = request.values.get("again") == "1"
    flash("Confirmed. Now press the button again." if again else "Confirmed: you can carry on.", "confirmed")
    return redirect(sessions.safe_target(request.values.get("next")) or url_for("pages.today"), 303)


@auth.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login", signed_out=1))

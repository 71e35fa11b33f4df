"""Signing in to the web app: email and password, a session cookie, sign out.

The cookie is HttpOnly and SameSite=Lax, and Secure when RARPA_SECURE_COOKIES=1
(set it whenever the app is served over HTTPS). CSRF tokens protect every form
and htmx request (Flask-WTF). A wrong password and an unknown email get the
same answer, so the page never hints whether an email exists.
"""

from __future__ import annotations

import functools
import os

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from rarpa.access import Actor, NotFound
from rarpa.application import Erased

auth = Blueprint("auth", __name__)


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


def current_actor() -> Actor | None:
    user_id = session.get("user_id")
    if not user_id:
        return None
    app = current_app.extensions["rarpa"].app
    try:
        user = app.user_by_id(user_id)
    except (NotFound, Erased):
        session.clear()
        return None
    return app.actor_for(user)


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        actor = current_actor()
        if actor is None:
            if request.headers.get("HX-Request") or request.headers.get("X-Outbox"):
                return ("Your session has ended: please sign in again.", 401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        g.actor = actor
        if actor.role == "auditor":
            # Every view an auditor makes is logged, pages as well as the API.
            current_app.extensions["rarpa"].app.vault.log_access(
                user_id=actor.user_id, role=actor.role, action=f"{request.method} {request.path}",
                learner_id=kwargs.get("learner_id"), detail=request.query_string.decode()[:500],
            )
        return view(*args, **kwargs)

    return wrapped


@auth.route("/login", methods=["GET", "POST"])
def login():
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        actor = None
        if email and password:
            actor = current_app.extensions["rarpa"].app.authenticate(email, password)
        if actor is None:
            error = "That email and password do not match an account. Check them and try again."
        else:
            session.clear()
            session.permanent = True
            session["user_id"] = actor.user_id
            target = request.args.get("next") or ""
            # Only ever go back to a page of this app.
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("pages.today")
            return redirect(target)
    status = 401 if error else 200
    return render_template("login.html", error=error, email=email), status


@auth.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("auth.login", signed_out=1))

"""Setting a password with a one-time link (an invitation or a password
reset, made by an administrator on web/admin.py and given to the person by
hand: no mail server is assumed).

Whoever holds the link may use it, signed in or not: it names the account
and shows a form for the new password. A password the policy accepts
(rarpa/service/passwords.py, through the service) is set, recorded as by the
person themselves, the account becomes active, they are signed in, and the
link never works again. A link that does not (or no longer) work says why in
plain words: never made, used, replaced by a newer one, expired, or the
account deactivated.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from rarpa.record import RuleBroken
from rarpa.service.passwords import MIN_LENGTH
from rarpa.service.people import LINK_LIFETIME, LinkNotUsable, check_password
from web.auth import start_session
from web.common import services
from web.forms import Field, Form

invitation = Blueprint("invitation", __name__)

PASSWORD = Form(
    Field("password", "New password", "a new password",
          hint=f"At least {MIN_LENGTH} characters, and not one people often use. "
               "Three random words together make a good one."),
    Field("confirm", "Type the new password again", "the new password again"),
)

# Why a link does not work: the status, the heading and what to do.
GONE = {
    "unknown": (404, "This link does not work",
                "Check that you copied the whole link. If it still does not work, ask your administrator for a new one."),
    "used": (410, "This link has already been used",
             "A link sets a password once. Sign in with the password you chose, or ask your administrator "
             "for a new link if you have forgotten it."),
    "replaced": (410, "This link has been replaced",
                 "A newer link was made for your account, and only the newest one works. Use that one, or ask "
                 "your administrator for a new link."),
    "expired": (410, "This link has expired",
                f"A link works for {LINK_LIFETIME.days} days. Ask your administrator for a new one."),
    "ended": (410, "This link no longer works",
              "Your account is not active. Ask your administrator."),
}


def _gone(state: str):
    status, heading, advice = GONE.get(state, GONE["unknown"])
    return render_template("invite_gone.html", heading=heading, advice=advice, state=state), status


def _form(who: dict, errors: dict | None = None, status: int = 200):
    return render_template("invite.html", who=who, form=PASSWORD, errors=errors or {}, values={}), status


@invitation.route("/invite/<token>", methods=["GET", "POST"])
def set_password(token: str):
    app = services().app
    try:
        who = app.password_link(token)
    except LinkNotUsable as e:
        return _gone(e.state)
    if request.method == "GET":
        return _form(who)
    password = request.form.get("password") or ""
    confirm = request.form.get("confirm") or ""
    errors: dict[str, list[str]] = {}
    if not password:
        errors["password"] = ["Missing data for required field."]
    else:
        try:  # the policy's answer beside the field, with the other problems (nothing is written here)
            check_password(password, email=who["email"], name=who["display_name"])
        except RuleBroken as e:
            errors["password"] = [e.message]
    if password and not confirm:
        errors["confirm"] = ["Missing data for required field."]
    elif password and confirm != password:
        errors["confirm"] = ["The two passwords are not the same: type the same password twice"]
    if errors:
        return _form(who, PASSWORD.plain(errors), 422)
    try:
        actor = app.set_password_with_link(token=token, password=password)
    except LinkNotUsable as e:  # used or ended a moment ago, in another tab or by the administrator
        return _gone(e.state)
    except RuleBroken as e:
        return _form(who, PASSWORD.plain({e.field: [e.message]}), e.status)
    start_session(actor)
    flash("Your password is set and you are signed in. Use it with your email address next time.")
    return redirect(url_for("pages.today"), 303)

"""The administrator's pages: a college runs the record without the command
line. Providers; users with their role, provider and status; inviting a user
(a one-time link shown on screen, no mail server); deactivating and
reactivating; a new password by a one-time link; a new role or provider;
caseloads; and the admin audit list, every one of these changes with who
and why.

Only a role that may administer (``access.ADMINISTER``: the administrator)
opens these pages; anyone else is refused with 403 before anything is read,
as on the erasure pages (web/erasure.py, also under /admin). Every change
goes through the service (rarpa/service/people.py), which checks the same
right again, and is an event (events/staff.py ``ADMIN_EVENTS``).

The administrator sees no learner record. The caseload page shows the names
of the learners at the user's provider (nothing else of them), and the
audit list names the learner of a caseload change; opening either is
written to the access log first ("caseload list", "admin audit").
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from events.vocabulary import PACK_WORDS, ROLES, WORDS
from rarpa.read import admin as admin_read
from rarpa.record.staff import CASELOAD_ROLES, PROVIDER_ROLES
from rarpa.service import access
from rarpa.service.people import LINK_LIFETIME
from rarpa.service.schemas import AdminReasonIn, CaseloadIn, InviteIn, ProviderAddIn, RoleChangeIn
from web.auth import login_required
from web.common import client_address, form_fields, services, submit
from web.forms import Field, Form
from web.sessions import recent_sign_in_required

admin = Blueprint("admin", __name__)

REASON_HINT = "It is kept with the change and shown in the admin audit list."

PROVIDER = Form(
    Field("name", "Name", "the provider's name", hint="As people know it, like Northfield College."),
    Field("slug", "Short code", "a short code",
          hint="Lower-case letters, digits and hyphens, like northfield. It cannot be changed later."),
    Field("reason", "Why it is added", "why the provider is added",
          hint="For example: partner college for dual placements from September. " + REASON_HINT),
)
INVITE = Form(
    Field("display_name", "Full name", "the person's full name"),
    Field("email", "Email address", "an email address", hint="They sign in with it."),
    Field("role", "Role", "a role", kind="choice"),
    Field("provider", "Provider", "a provider", kind="choice",
          hint="Tutors, learning support assistants and SEND leads belong to a provider. "
               "Auditors and administrators do not: leave it empty for them."),
    Field("reason", "Why they need an account", "why they need an account",
          hint="For example: new tutor on the independent living programme. " + REASON_HINT),
)
ROLE = Form(
    Field("role", "Role", "a role", kind="choice"),
    Field("provider", "Provider", "a provider", kind="choice",
          hint="Tutors, learning support assistants and SEND leads belong to a provider. "
               "A tutor or learning support assistant who moves to another provider leaves their caseload."),
    Field("reason", "Reason for the change", "a reason for the change", hint=REASON_HINT),
)
CASELOAD = Form(
    Field("learner_ids", "Learners on the caseload", "the learners", kind="choices",
          hint="Tick the learners they work with; untick those they no longer work with."),
    Field("reason", "Reason for the change", "a reason for the change",
          hint="For example: timetable for the spring term. " + REASON_HINT),
)


def _reason_form(label: str, what: str, example: str) -> Form:
    return Form(Field("reason", label, what, hint=f"For example: {example}. {REASON_HINT}"))


# The changes that need only a reason: their form, their words and their command.
ACTIONS = {
    "deactivate": {
        "form": _reason_form("Why the account is deactivated", "why the account is deactivated",
                             "left the college on 31 March"),
        "title": "Deactivate {name}",
        "lede": "{name} will be signed out at once and cannot sign in again; their API tokens stop working "
                "and any link to set a password no longer works. Nothing they recorded changes. "
                "You can reactivate the account later.",
        "button": "Deactivate this account", "danger": True,
        "done": "{name} is deactivated: signed out everywhere, API tokens revoked.",
    },
    "reactivate": {
        "form": _reason_form("Why the account is reactivated", "why the account is reactivated",
                             "back from a year abroad"),
        "title": "Reactivate {name}",
        "lede": "{name} can sign in again with the password they had. API tokens revoked when the account "
                "was deactivated stay revoked. If they have no password, make them a new link afterwards.",
        "button": "Reactivate this account", "danger": False,
        "done": "{name} is active again.",
    },
    "password-link": {
        "form": _reason_form("Why a new link is needed", "why a new link is needed",
                             "forgot their password"),
        "title": "Reset {name}'s password",
        "lede": "You will get a one-time link to give to {name}. Their password stops working at once and they are "
                "signed out everywhere; the link lets them choose a new one. It works once, for "
                f"{LINK_LIFETIME.days} days.",
        "button": "Reset the password and make a link", "danger": True,
    },
}
# The same page for someone still invited: a fresh invitation link.
NEW_INVITATION = {
    "title": "A new invitation link for {name}",
    "lede": f"The link you made before stops working; the new one works once, for {LINK_LIFETIME.days} days.",
    "button": "Make a new invitation link",
}


def admin_page(view=None, *, confirm_first: bool = False):
    """Signed in (and, by the rule table, allowed to ADMINISTER: 403 before
    anything is read); with ``confirm_first``, the password typed in the last
    few minutes too ("Confirm it's you", asked when the form is opened and
    again when it is sent, if by then it is no longer recent)."""

    def decorate(view):
        checked = recent_sign_in_required()(view) if confirm_first else view
        return login_required(checked)

    return decorate(view) if view is not None else decorate


def _role_options() -> list[tuple[str, str]]:
    return [(role, WORDS["role_names"][role]) for role in ROLES]


def _provider_options() -> list[tuple[str, str]]:
    return [(p["slug"], p["name"]) for p in admin_read.providers(services().fresh())]


def _user_or_404(user_id: str) -> dict:
    found = admin_read.user(services().fresh(), user_id)
    if found is None:
        abort(404)
    return found


def _name(user: dict) -> str:
    return user["display_name"] or user["email"]


def _link_url(token: str) -> str:
    return url_for("invitation.set_password", token=token, _external=True)


# --- home ------------------------------------------------------------------------------------------
@admin.get("/admin")
@admin_page
def home():
    conn = services().fresh()
    users = admin_read.users(conn)
    counts = {status: sum(1 for u in users if u["status"] == status) for status in ("active", "invited", "deactivated")}
    return render_template("admin_home.html", providers=len(admin_read.providers(conn)), counts=counts,
                           users=len(users))


# --- providers -------------------------------------------------------------------------------------
@admin.get("/admin/providers")
@admin_page
def providers():
    return render_template("admin_providers.html", providers=admin_read.providers(services().fresh()))


@admin.route("/admin/providers/new", methods=["GET", "POST"])
@admin_page
def add_provider():
    if request.method == "GET":
        return render_template("admin_provider_new.html", form=PROVIDER, values={}, errors={})
    values = form_fields()
    if values.get("slug"):
        values["slug"] = values["slug"].strip().lower()
    s = services()
    if values.get("slug") and admin_read.provider_exists(s.fresh(), values["slug"]):
        errors = {"slug": ["A provider already has this short code: choose another"]}
        return render_template("admin_provider_new.html", form=PROVIDER, values=values, errors=errors), 409
    done = submit(ProviderAddIn, values, lambda d: s.app.register_provider(g.actor, d["slug"], d["name"],
                                                                           reason=d["reason"]))
    if not done.errors and not done.written.created:  # added by someone else a moment ago
        done.errors, done.status = {"slug": ["A provider already has this short code: choose another"]}, 409
    if done.errors:
        return render_template("admin_provider_new.html", form=PROVIDER, values=values,
                               errors=PROVIDER.plain(done.errors)), done.status
    flash(f"{done.data['name']} is added.")
    return redirect(url_for("admin.providers"), 303)


# --- users -----------------------------------------------------------------------------------------
@admin.get("/admin/users")
@admin_page
def users():
    return render_template("admin_users.html", users=admin_read.users(services().fresh()))


def _invite_page(values: dict, errors: dict, status: int = 200):
    return render_template("admin_invite.html", form=INVITE, values=values, errors=errors,
                           roles=_role_options(), providers=_provider_options(),
                           provider_roles=PROVIDER_ROLES), status


@admin.route("/admin/users/new", methods=["GET", "POST"])
@admin_page
def invite():
    """Invite a user; the answer is the one-time link, shown once (never
    put in a redirect's address or the session: only this page has it)."""
    if request.method == "GET":
        return _invite_page({}, {})
    values = form_fields()
    s = services()
    done = submit(InviteIn, values, lambda d: s.app.invite_user(
        g.actor, email=d["email"], display_name=d["display_name"], role=d["role"], provider=d["provider"],
        reason=d["reason"]))
    if done.errors:
        return _invite_page(values, INVITE.plain(done.errors), done.status)
    link = done.written.result
    return render_template("admin_link.html", user=_user_or_404(link["user_id"]), url=_link_url(link["token"]),
                           kind="invitation", expires=link["expires_at"])


@admin.get("/admin/users/<user_id>")
@admin_page
def user(user_id: str):
    found = _user_or_404(user_id)
    conn = services().fresh()
    changes = admin_read.admin_actions(conn, user_id=found["id"], limit=20)
    if any(c["learner_id"] for c in changes):
        services().app.log_view(g.actor, None, "admin audit", address=client_address(), detail=request.path)
    return render_template("admin_user.html", user=found, changes=changes[:20], more=len(changes) > 20,
                           link=services().app.open_password_link(g.actor, found["id"]), has_caseload=found["role"] in CASELOAD_ROLES,
                           yourself=found["id"] == g.actor.user_id)


def _action_page(name: str, user: dict, values: dict, errors: dict, status: int = 200):
    spec = dict(ACTIONS[name])
    if name == "password-link" and user["status"] == "invited":
        spec.update(NEW_INVITATION)
    said = {k: v.format(name=_name(user)) if isinstance(v, str) else v for k, v in spec.items()}
    return render_template("admin_action.html", action=name, spec=said, form=spec["form"], user=user,
                           values=values, errors=errors), status


def _reason_action(name: str, user_id: str, command):
    """A change that needs only a reason: (the user, what was written, None)
    once done; (the user, None, the page to answer with) for the form or a refusal."""
    found = _user_or_404(user_id)
    if request.method == "GET":
        return found, None, _action_page(name, found, {}, {})
    values = form_fields()
    done = submit(AdminReasonIn, values, lambda d: command(g.actor, user_id=found["id"], reason=d["reason"]))
    if done.errors:
        return found, None, _action_page(name, found, values, ACTIONS[name]["form"].plain(done.errors), done.status)
    return found, done, None


def _reason_then_back(name: str, user_id: str, command):
    """``_reason_action``, then back to the user's page saying what was done."""
    found, _, page = _reason_action(name, user_id, command)
    if page:
        return page
    flash(ACTIONS[name]["done"].format(name=_name(found)))
    return redirect(url_for("admin.user", user_id=found["id"]), 303)


@admin.route("/admin/users/<user_id>/deactivate", methods=["GET", "POST"])
@admin_page(confirm_first=True)
def deactivate(user_id: str):
    """Deactivation: the password is asked again first (web/sessions.py)."""
    return _reason_then_back("deactivate", user_id, services().app.deactivate_user)


@admin.route("/admin/users/<user_id>/reactivate", methods=["GET", "POST"])
@admin_page
def reactivate(user_id: str):
    return _reason_then_back("reactivate", user_id, services().app.reactivate_user)


@admin.route("/admin/users/<user_id>/password-link", methods=["GET", "POST"])
@admin_page
def password_link(user_id: str):
    """A password reset (or a new invitation link): the link, shown once."""
    found, done, page = _reason_action("password-link", user_id, services().app.issue_password_link)
    if page:
        return page
    link = done.written.result
    return render_template("admin_link.html", user=_user_or_404(found["id"]), url=_link_url(link["token"]),
                           kind=link["kind"], expires=link["expires_at"])


def _role_page(user: dict, values: dict, errors: dict, status: int = 200):
    return render_template("admin_role.html", form=ROLE, user=user, values=values, errors=errors,
                           roles=_role_options(), providers=_provider_options(),
                           has_caseload=user["role"] in CASELOAD_ROLES and user["caseload"]), status


@admin.route("/admin/users/<user_id>/role", methods=["GET", "POST"])
@admin_page
def change_role(user_id: str):
    found = _user_or_404(user_id)
    if found["id"] == g.actor.user_id:
        raise access.Forbidden("you cannot change your own role: ask another administrator")
    if request.method == "GET":
        return _role_page(found, {"role": found["role"], "provider": found["provider"] or ""}, {})
    values = form_fields()
    s = services()
    done = submit(RoleChangeIn, values, lambda d: s.app.change_user_role(
        g.actor, user_id=found["id"], role=d["role"], provider=d["provider"], reason=d["reason"]))
    if done.errors:
        return _role_page(found, values, ROLE.plain(done.errors), done.status)
    now = _user_or_404(found["id"])
    provider = f" at {now['provider_name']}" if now["provider_name"] else ""
    removed = len(done.written.result)
    flash(f"{_name(now)} is now {PACK_WORDS['roles'][now['role']]}{provider}"
          + (f"; {removed} learner{'s' if removed != 1 else ''} came off their caseload." if removed else "."))
    return redirect(url_for("admin.user", user_id=found["id"]), 303)


# --- caseloads -------------------------------------------------------------------------------------
@admin.get("/admin/caseloads")
@admin_page
def caseloads():
    """The tutors and support assistants (not deactivated), by provider and name."""
    people = [u for u in admin_read.users(services().fresh())
              if u["role"] in CASELOAD_ROLES and u["status"] != "deactivated"]
    people.sort(key=lambda u: (u["provider_name"] or u["provider"] or "", (u["display_name"] or u["email"]).lower()))
    return render_template("admin_caseloads.html", people=people)


def _caseload_page(user: dict, choices: list[dict], chosen: set[str], values: dict, errors: dict,
                   status: int = 200):
    return render_template("admin_caseload.html", form=CASELOAD, user=user, choices=choices, chosen=chosen,
                           values=values, errors=errors), status


@admin.route("/admin/users/<user_id>/caseload", methods=["GET", "POST"])
@admin_page
def caseload(user_id: str):
    """Which learners a tutor or support assistant works with: the learners
    of their provider, by name only, ticked when on the caseload. Showing the
    names is written to the access log first."""
    found = _user_or_404(user_id)
    if found["role"] not in CASELOAD_ROLES:
        abort(404)  # an auditor, a SEND lead or an administrator has no caseload page
    s = services()
    s.app.log_view(g.actor, None, "caseload list", address=client_address(), detail=request.path)
    choices = admin_read.caseload_choices(s.fresh(), found["id"], found["provider"])
    current = {c["id"] for c in choices if c["on_caseload"]}
    if request.method == "GET":
        return _caseload_page(found, choices, current, {}, {})
    offered = {c["id"] for c in choices}
    ticked = set(request.form.getlist("learner_ids"))
    values = {"reason": request.form.get("reason", "")}
    body = {"learner_ids": sorted(ticked), "reason": values["reason"]}
    unknown = ticked - offered
    if unknown:  # not one of this provider's learners (any more): say so, write nothing
        return _caseload_page(found, choices, ticked & offered, values, CASELOAD.plain(
            {"learner_ids": ["One of the learners does not attend this provider: look at the list again"]}), 422)
    done = submit(CaseloadIn, body, lambda d: s.app.change_caseload(
        g.actor, user_id=found["id"], add=sorted(ticked - current), remove=sorted(current - ticked),
        reason=d["reason"]))
    if done.errors:
        return _caseload_page(found, choices, ticked, values, CASELOAD.plain(done.errors), done.status)
    added, removed = done.written.result
    flash(f"{_name(found)}'s caseload is saved: {len(added)} added, {len(removed)} removed.")
    return redirect(url_for("admin.user", user_id=found["id"]), 303)


# --- the admin audit list --------------------------------------------------------------------------
@admin.get("/admin/audit")
@admin_page
def audit():
    """Every change to accounts, providers and caseloads, newest first."""
    try:
        before = int(request.args.get("before", "")) or None
    except ValueError:
        before = None
    s = services()
    rows = admin_read.admin_actions(s.fresh(), before=before)
    more = len(rows) > admin_read.AUDIT_PAGE
    rows = rows[:admin_read.AUDIT_PAGE]
    if any(r["learner_id"] for r in rows):
        s.app.log_view(g.actor, None, "admin audit", address=client_address(), detail=request.full_path)
    return render_template("admin_audit.html", rows=rows,
                           older=url_for("admin.audit", before=rows[-1]["seq"]) if more else None,
                           first_page=before is None)

"""Running the record without the command line (web/admin.py, web/invitation.py):
providers, users invited by a one-time link, deactivation that ends sessions
and API tokens at once, a password reset by a link, a new role or provider,
caseloads, and the admin audit list with who and why. Every refusal is shown
beside its field in plain words and writes nothing; the CLI does the same
through the same service."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner

from events.base import clock
from rarpa.cli import main as cli
from rarpa.config import Settings
from rarpa.read import admin as admin_read
from rarpa.read.projections import Projector
from rarpa.record import provider_id
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from tests.conftest import PASSWORD
from tests.test_web import sign_in, token_of
from tests.test_erasure_web import field_error

NEW_PASSWORD = "kettle lantern orchard"
TUTOR2 = "tutor2@example.org"


@pytest.fixture
def site(settings, app, world):
    """The conftest world (two providers, a user of each role, Amy at
    Northfield on the tutor's and support's caseloads, Ben at Riverside) and
    the web app on the same files."""
    from web import create_app
    from web.services import Services

    services = Services(settings)
    flask_app = create_app(services=services)

    def client_for(email: str | None = None, password: str = PASSWORD):
        client = flask_app.test_client()
        if email:
            answer = sign_in(client, email, password)
            assert answer.status_code == 302, (email, answer.status_code)
        return client

    yield {"app": app, "world": world, "services": services, "client_for": client_for, "flask": flask_app,
           "admin": client_for(world["users"]["admin"])}
    services.close()


def csrf(client, path: str = "/") -> str:
    return token_of(client.get(path).get_data(as_text=True))


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def text_of(response) -> str:
    return response.get_data(as_text=True)


def uid(app, email: str) -> str:
    return str(app.user(email).id)


def post(client, path: str, **form):
    return client.post(path, data={"csrf_token": csrf(client), **form})


def invite(site, email="nina@example.org", name="Nina Patel", role="tutor", provider="northfield",
           reason="New tutor on the independent living programme") -> str:
    """Invite through the page; returns the link's path (/invite/...)."""
    answer = post(site["admin"], "/admin/users/new", display_name=name, email=email, role=role,
                  provider=provider, reason=reason)
    assert answer.status_code == 200, text_of(answer)[:500]
    url = re.search(r'id="one-time-link"[^>]*value="([^"]+)"', text_of(answer)).group(1)
    return "/invite/" + url.split("/invite/", 1)[1]


def audit_rows(site) -> list[list[str]]:
    """The admin audit list as the page shows it: [when, who, what, to whom, why] per row."""
    html = text_of(site["admin"].get("/admin/audit"))
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1) if body else "", re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
    return rows


# --- the home page ---------------------------------------------------------------------------------------
def test_the_admin_home_leads_to_every_admin_page_and_today_leads_to_it(site):
    home = site["admin"].get("/admin")
    assert home.status_code == 200
    html = text_of(home)
    for path in ("/admin/users", "/admin/caseloads", "/admin/providers", "/admin/audit", "/admin/erasure"):
        assert f'href="{path}"' in html, path
        assert site["admin"].get(path).status_code == 200, path
    assert 'href="/admin"' in text_of(site["admin"].get("/"))
    assert 'href="/admin"' not in text_of(site["client_for"](site["world"]["users"]["tutor"]).get("/"))


# --- providers -----------------------------------------------------------------------------------------
def test_adding_a_provider_refuses_beside_each_field_and_writes_nothing_then_adds_it(site):
    app, admin = site["app"], site["admin"]
    before = position(app)
    empty = post(admin, "/admin/providers/new", slug="", name="", reason="")
    assert empty.status_code == 422
    html = text_of(empty)
    assert field_error(html, "slug") == "Enter a short code"
    assert field_error(html, "name") == "Enter the provider's name"
    assert field_error(html, "reason") == "Enter why the provider is added"
    bad = post(admin, "/admin/providers/new", slug="Lake side!", name="Lakeside College", reason="Partner")
    assert bad.status_code == 422
    assert field_error(text_of(bad), "slug") == ("Short code must be 2 to 40 lower-case letters, digits and "
                                                 "hyphens, like northfield")
    assert 'value="Lakeside College"' in text_of(bad)  # the answer kept
    taken = post(admin, "/admin/providers/new", slug="northfield", name="Another", reason="Partner")
    assert taken.status_code == 409
    assert field_error(text_of(taken), "slug") == "A provider already has this short code: choose another"
    assert position(app) == before

    added = post(admin, "/admin/providers/new", slug="lakeside", name="Lakeside College",
                 reason="Partner for dual placements from September")
    assert added.status_code == 303 and added.headers["Location"].endswith("/admin/providers")
    assert position(app) > before
    listed = text_of(admin.get("/admin/providers"))
    assert "Lakeside College" in listed and "<code>lakeside</code>" in listed
    assert ["Provider added: Lakeside College (lakeside)", "Lakeside College",
            "Partner for dual placements from September"] == audit_rows(site)[0][2:]


# --- inviting, and the one-time link -------------------------------------------------------------------------
def test_an_invitation_refuses_beside_each_field_and_writes_nothing(site):
    app, admin = site["app"], site["admin"]
    before = position(app)
    empty = post(admin, "/admin/users/new", display_name="", email="", reason="")
    assert empty.status_code == 422
    html = text_of(empty)
    assert field_error(html, "display_name") == "Enter the person's full name"
    assert field_error(html, "email") == "Enter an email address"
    assert field_error(html, "role") == "Choose a role"
    assert field_error(html, "reason") == "Enter why they need an account"
    no_provider = post(admin, "/admin/users/new", display_name="Nina Patel", email="nina@example.org",
                       role="tutor", provider="", reason="New tutor")
    assert no_provider.status_code == 422
    assert field_error(text_of(no_provider), "provider") == (
        "Provider is needed for a tutor: they belong to a provider")
    assert 'value="Nina Patel"' in text_of(no_provider)
    taken = post(admin, "/admin/users/new", display_name="Tom", email="Tutor@Example.org", role="tutor",
                 provider="northfield", reason="New tutor")
    assert taken.status_code == 409
    assert field_error(text_of(taken), "email") == "Email address already has an account"
    not_an_email = post(admin, "/admin/users/new", display_name="Nina", email="nina at college", role="tutor",
                        provider="northfield", reason="New tutor")
    assert not_an_email.status_code == 422 and field_error(text_of(not_an_email), "email")
    assert position(app) == before


def test_invite_then_set_the_password_by_the_link_signs_in_once(site):
    app = site["app"]
    link = invite(site)
    nina = uid(app, "nina@example.org")
    users = {u["email"]: u for u in admin_read.users(site["services"].fresh())}
    assert users["nina@example.org"]["status"] == "invited"
    assert app.authenticate("nina@example.org", "") is None  # no password yet: nothing signs in
    assert "Invited" in text_of(site["admin"].get("/admin/users"))

    browser = site["client_for"]()  # not signed in
    form = browser.get(link)
    assert form.status_code == 200
    assert "Nina Patel" in text_of(form) and "nina@example.org" in text_of(form)
    token = token_of(text_of(form))

    before = position(app)
    weak = browser.post(link, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert weak.status_code == 422
    assert field_error(text_of(weak), "password") == "Choose a longer password: at least 12 characters"
    assert 'value="short"' not in text_of(weak)  # a password is never written back into the page
    differ = browser.post(link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": "kettle lantern"})
    assert differ.status_code == 422
    assert field_error(text_of(differ), "confirm") == "The two passwords are not the same: type the same password twice"
    assert field_error(text_of(differ), "password") == ""
    assert position(app) == before
    assert browser.get("/").status_code == 302  # still not signed in

    done = browser.post(link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and done.headers["Location"].endswith("/")
    today = browser.get("/")
    assert today.status_code == 200 and "Your password is set and you are signed in" in text_of(today)
    assert app.session_actor(nina, 0).role == "tutor"
    assert {u["email"]: u for u in admin_read.users(site["services"].fresh())}["nina@example.org"]["status"] == "active"

    again = site["client_for"]().get(link)
    assert again.status_code == 410 and "This link has already been used" in text_of(again)
    resent = browser.post(link, data={"csrf_token": csrf(browser), "password": "another good password",
                                      "confirm": "another good password"})
    assert resent.status_code == 410
    assert app.authenticate("nina@example.org", NEW_PASSWORD) is not None
    assert site["client_for"]("nina@example.org", NEW_PASSWORD).get("/").status_code == 200
    assert site["client_for"]().get("/invite/not-a-link-at-all").status_code == 404

    what = [row[2] for row in audit_rows(site)[:2]]
    assert what == ["Invitation accepted: password set", "User invited: Tutor at Northfield College"]
    assert audit_rows(site)[1][4] == "New tutor on the independent living programme"
    assert audit_rows(site)[0][1].startswith("Nina Patel")  # recorded as by the person themselves


def test_an_expired_link_and_a_replaced_link_say_so(site):
    app = site["app"]
    eight_days_ago = datetime.now(timezone.utc) - timedelta(days=8)
    with clock(lambda: eight_days_ago):
        old = invite(site, email="old@example.org", name="Olu Old")
    gone = site["client_for"]().get(old)
    assert gone.status_code == 410 and "This link has expired" in text_of(gone)
    page = text_of(site["admin"].get(f"/admin/users/{uid(app, 'old@example.org')}"))
    assert "no link works for them now" in page and "Make a new invitation link" in page

    first = invite(site, email="pat@example.org", name="Pat Quinn")
    again = post(site["admin"], f"/admin/users/{uid(app, 'pat@example.org')}/password-link",
                 reason="The first link was lost")
    assert again.status_code == 200 and "join" in text_of(again)
    replaced = site["client_for"]().get(first)
    assert replaced.status_code == 410 and "This link has been replaced" in text_of(replaced)
    assert audit_rows(site)[0][2] == "New invitation link made"


# --- deactivation ------------------------------------------------------------------------------------------
def test_deactivation_ends_the_session_and_the_api_token_at_once(site):
    app, world = site["app"], site["world"]
    tutor_email = world["users"]["tutor"]
    tutor_id = uid(app, tutor_email)
    tutor = site["client_for"](tutor_email)
    amy = world["learners"]["amy"]
    token = app.create_token(tutor_email)
    api = site["flask"].test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert tutor.get(f"/learners/{amy}").status_code == 200
    assert api.get("/api/v1/learners", headers=bearer).status_code == 200

    before = position(app)
    page = site["admin"].get(f"/admin/users/{tutor_id}/deactivate")
    assert page.status_code == 200
    refused = post(site["admin"], f"/admin/users/{tutor_id}/deactivate", reason="  ")
    assert refused.status_code == 422
    assert field_error(text_of(refused), "reason") == "Enter why the account is deactivated"
    assert position(app) == before
    assert tutor.get("/").status_code == 200  # nothing happened to them

    done = post(site["admin"], f"/admin/users/{tutor_id}/deactivate", reason="Left the college on 31 March")
    assert done.status_code == 303
    assert "is deactivated" in text_of(site["admin"].get(done.headers["Location"]))
    # The very next request of the signed-in browser, and of the token: refused.
    next_page = tutor.get(f"/learners/{amy}")
    assert next_page.status_code == 302 and "/login" in next_page.headers["Location"]
    assert api.get("/api/v1/learners", headers=bearer).status_code == 401
    assert app.vault.user_for_token(token) is None  # revoked in the vault, not only refused
    assert sign_in(site["client_for"](), tutor_email).status_code == 401
    assert audit_rows(site)[0][2:] == ["Deactivated", "tutor", "Left the college on 31 March"]

    # Reactivated: the old password works again; the revoked token stays revoked.
    back = post(site["admin"], f"/admin/users/{tutor_id}/reactivate", reason="Came back in September")
    assert back.status_code == 303
    assert site["client_for"](tutor_email).get(f"/learners/{amy}").status_code == 200
    assert tutor.get("/").status_code == 302  # the old session does not come back
    assert api.get("/api/v1/learners", headers=bearer).status_code == 401
    assert [r[2] for r in audit_rows(site)[:2]] == ["Reactivated", "Deactivated"]


def test_an_administrator_cannot_deactivate_or_change_their_own_account(site):
    app = site["app"]
    me = uid(app, site["world"]["users"]["admin"])
    before = position(app)
    assert post(site["admin"], f"/admin/users/{me}/deactivate", reason="Testing").status_code == 403
    assert post(site["admin"], f"/admin/users/{me}/role", role="tutor", provider="northfield",
                reason="Testing").status_code == 403
    assert position(app) == before
    assert site["admin"].get("/admin").status_code == 200


# --- a password reset --------------------------------------------------------------------------------------
def test_a_reset_stops_the_old_password_and_the_sessions_and_the_link_sets_a_new_one(site):
    app, world = site["app"], site["world"]
    email = world["users"]["support"]
    support_id = uid(app, email)
    signed_in = site["client_for"](email)
    before = position(app)
    refused = post(site["admin"], f"/admin/users/{support_id}/password-link", reason="")
    assert refused.status_code == 422
    assert field_error(text_of(refused), "reason") == "Enter why a new link is needed"
    assert position(app) == before and signed_in.get("/").status_code == 200

    made = post(site["admin"], f"/admin/users/{support_id}/password-link", reason="Forgot their password")
    assert made.status_code == 200
    assert "Their old password no longer works" in text_of(made)
    link = "/invite/" + re.search(r'value="[^"]*/invite/([^"]+)"', text_of(made)).group(1)
    assert signed_in.get("/").status_code == 302  # signed out at once
    assert app.authenticate(email, PASSWORD) is None  # the old password stopped at once
    assert "Password being reset" in text_of(site["admin"].get("/admin/users"))

    browser = site["client_for"]()
    form = browser.get(link)
    assert "Your administrator reset your password" in text_of(form)
    done = browser.post(link, data={"csrf_token": token_of(text_of(form)), "password": NEW_PASSWORD,
                                    "confirm": NEW_PASSWORD})
    assert done.status_code == 303 and browser.get("/").status_code == 200
    assert app.authenticate(email, NEW_PASSWORD) is not None
    assert signed_in.get("/").status_code == 302  # the session from before the reset stays ended
    assert [r[2] for r in audit_rows(site)[:2]] == ["New password set with the link", "Password reset: new link made"]


# --- a new role or provider ----------------------------------------------------------------------------------
def test_a_role_change_refuses_beside_its_fields_then_counts_from_the_next_request(site):
    app, world = site["app"], site["world"]
    amy = world["learners"]["amy"]
    email = world["users"]["support"]
    support_id = uid(app, email)
    support = site["client_for"](email)
    assert support.get(f"/learners/{amy}").status_code == 200
    assert support.get("/learners/new").status_code == 403

    before = position(app)
    same = post(site["admin"], f"/admin/users/{support_id}/role", role="support", provider="northfield",
                reason="No change")
    assert same.status_code == 422
    assert field_error(text_of(same), "role") == "Role is the same as now: choose a different role or provider"
    no_provider = post(site["admin"], f"/admin/users/{support_id}/role", role="send_lead", provider="",
                       reason="Promoted")
    assert field_error(text_of(no_provider), "provider") == "Provider is needed for a SEND lead: they belong to a provider"
    no_reason = post(site["admin"], f"/admin/users/{support_id}/role", role="send_lead", provider="northfield",
                     reason="")
    assert field_error(text_of(no_reason), "reason") == "Enter a reason for the change"
    assert 'id="role-send_lead" name="role" value="send_lead" checked' in text_of(no_reason)
    assert position(app) == before

    done = post(site["admin"], f"/admin/users/{support_id}/role", role="send_lead", provider="northfield",
                reason="Promoted to SEND lead")
    assert done.status_code == 303
    # The very next request: a SEND lead now (enrols; sees Northfield's learners without a caseload).
    assert support.get("/learners/new").status_code == 200
    assert support.get(f"/learners/{amy}").status_code == 200
    rows = audit_rows(site)
    assert rows[1][2:] == ["Role or provider changed: SEND lead at Northfield College", "support",
                           "Promoted to SEND lead"]
    # Their caseload came off in the same change (a SEND lead has none), each learner recorded with the reason.
    assert rows[0][2:] == ["Removed from caseload: Amy J.", "support",
                           "The caseload does not fit the new role or provider: Promoted to SEND lead"]


def test_a_tutor_moved_to_another_provider_no_longer_sees_their_old_caseload(site):
    app, world = site["app"], site["world"]
    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    email = world["users"]["tutor"]
    tutor = site["client_for"](email)
    assert tutor.get(f"/learners/{amy}").status_code == 200
    done = post(site["admin"], f"/admin/users/{uid(app, email)}/role", role="tutor", provider="riverside",
                reason="Moved to Riverside")
    assert done.status_code == 303
    assert tutor.get(f"/learners/{amy}").status_code == 404
    assert app.user(email).caseload == []
    assert tutor.get(f"/learners/{ben}").status_code == 404  # not on the new caseload yet


# --- caseloads ----------------------------------------------------------------------------------------------
def test_caseload_assign_and_remove_by_checkboxes_with_a_reason(site):
    app, world = site["app"], site["world"]
    amy, ben = world["learners"]["amy"], world["learners"]["ben"]
    tutor2_id = uid(app, TUTOR2)
    tutor2 = site["client_for"](TUTOR2)
    assert tutor2.get(f"/learners/{amy}").status_code == 404

    logged = len(app.vault.access.entries())
    page = site["admin"].get(f"/admin/users/{tutor2_id}/caseload")
    assert page.status_code == 200
    html = text_of(page)
    assert "Amy Jones" in html and "Ben Smith" not in html  # Northfield's learners only, by name
    assert "2007-03-01" not in html and "bus" not in html  # nothing of the record
    entries = app.vault.access.entries()[logged:]
    assert [(e["action"], e["learner_id"]) for e in entries] == [("caseload list", None)]

    path = f"/admin/users/{tutor2_id}/caseload"
    before = position(app)
    no_reason = post(site["admin"], path, learner_ids=amy, reason="")
    assert no_reason.status_code == 422
    assert field_error(text_of(no_reason), "reason") == "Enter a reason for the change"
    assert f'value="{amy}" checked' in text_of(no_reason)  # the ticks kept
    nothing = post(site["admin"], path, reason="Spring term")
    assert nothing.status_code == 422
    assert field_error(text_of(nothing), "learner_ids") == "Nothing changed: tick or untick a learner to change the caseload"
    elsewhere = post(site["admin"], path, learner_ids=ben, reason="Spring term")
    assert elsewhere.status_code == 422
    assert field_error(text_of(elsewhere), "learner_ids") == (
        "One of the learners does not attend this provider: look at the list again")
    assert position(app) == before

    added = post(site["admin"], path, learner_ids=amy, reason="Spring term timetable")
    assert added.status_code == 303
    assert tutor2.get(f"/learners/{amy}").status_code == 200
    assert "Amy J." in text_of(tutor2.get("/"))
    removed = post(site["admin"], path, reason="Moved to another group")
    assert removed.status_code == 303
    assert tutor2.get(f"/learners/{amy}").status_code == 404
    assert "Amy J." not in text_of(tutor2.get("/"))
    rows = audit_rows(site)
    assert [r[2] for r in rows[:2]] == ["Removed from caseload: Amy J.", "Added to caseload: Amy J."]
    assert [r[4] for r in rows[:2]] == ["Moved to another group", "Spring term timetable"]
    assert app.vault.access.entries()[-1]["action"] == "admin audit"  # the list names a learner: logged


def test_only_tutors_and_support_have_a_caseload_page(site):
    app = site["app"]
    for email in (site["world"]["users"]["send_lead"], site["world"]["users"]["auditor"]):
        assert site["admin"].get(f"/admin/users/{uid(app, email)}/caseload").status_code == 404
    assert site["admin"].get("/admin/users/00000000-0000-0000-0000-000000000000").status_code == 404
    assert site["admin"].get("/admin/users/not-an-id/caseload").status_code == 404


# --- the admin audit list -----------------------------------------------------------------------------------
def test_the_audit_list_shows_every_action_newest_first_with_who_and_why(site):
    app = site["app"]
    invite(site, email="rae@example.org", name="Rae Lim", role="support", reason="Covering a long absence")
    rae = uid(app, "rae@example.org")
    post(site["admin"], f"/admin/users/{rae}/role", role="tutor", provider="northfield", reason="Now teaching")
    post(site["admin"], f"/admin/users/{rae}/caseload", learner_ids=site["world"]["learners"]["amy"],
         reason="Independent living group")
    post(site["admin"], f"/admin/users/{rae}/deactivate", reason="Absence ended")
    rows = audit_rows(site)
    assert [(r[2], r[3], r[4]) for r in rows[:4]] == [
        ("Deactivated", "Rae Lim", "Absence ended"),
        ("Added to caseload: Amy J.", "Rae Lim", "Independent living group"),
        ("Role or provider changed: Tutor at Northfield College", "Rae Lim", "Now teaching"),
        ("User invited: Learning support assistant at Northfield College", "Rae Lim", "Covering a long absence"),
    ]
    assert all(r[1] == "admin Admin" for r in rows[:4]), [r[1] for r in rows[:4]]  # name (from the email), role
    # Older than these: what the command line did when the world was made.
    assert rows[-1][1].startswith("The command line") and rows[-1][2] == "Provider added: Northfield College (northfield)"
    # The user's own page lists what was done to them.
    own = text_of(site["admin"].get(f"/admin/users/{rae}"))
    assert own.index("Absence ended") < own.index("Covering a long absence")


# --- the command line ----------------------------------------------------------------------------------------
def test_the_cli_invites_and_deactivates_through_the_same_service(site):
    app = site["app"]
    env = {"RARPA_DB": app.settings.db, "RARPA_VIEWS": app.settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"}
    runner = CliRunner()
    made = runner.invoke(cli, ["user", "invite", "cli@example.org", "--role", "support", "--provider", "northfield",
                               "--name", "Cleo Lee"], env=env)
    assert made.exit_code == 0, made.output
    link = made.output.strip()
    assert re.fullmatch(r"/invite/[A-Za-z0-9_-]{40,}", link)
    form = site["client_for"]().get(link)
    assert form.status_code == 200 and "Cleo Lee" in text_of(form)

    refused = runner.invoke(cli, ["user", "deactivate", "cli@example.org", "--reason", ""], env=env)
    assert refused.exit_code == 1 and "reason" in refused.output
    done = runner.invoke(cli, ["user", "deactivate", "cli@example.org", "--reason", "Did not start"], env=env)
    assert done.exit_code == 0, done.output
    assert site["client_for"]().get(link).status_code == 410  # the link ended with the account
    assert audit_rows(site)[0][2:] == ["Deactivated", "Cleo Lee", "Did not start"]
    unknown = runner.invoke(cli, ["user", "deactivate", "nobody@example.org", "--reason", "x"], env=env)
    assert unknown.exit_code == 1 and "no such user" in unknown.output


# --- a store written by an earlier release ---------------------------------------------------------------------
@pytest.mark.sqlite_file  # a store written by an earlier release: SQLite files
def test_users_of_an_older_release_are_active_and_their_caseload_events_read_as_version_2(tmp_path):
    source = Path(__file__).parent / "stores" / "release-f0837a6"
    for name in ("rarpa.sqlite3", "rarpa-views.sqlite3", "rarpa-vault.sqlite3"):
        shutil.copy(source / name, tmp_path / name)
    settings = Settings.from_env({"RARPA_DB": str(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"})
    app = RecordApplication(settings)
    projector = Projector(settings.views, app)  # shape 5: rebuilt when opened
    try:
        users = admin_read.users(projector.reader())
        assert users and {u["status"] for u in users} == {"active"}
        for row in users:
            user = app.user_by_id(row["id"])
            assert user.status == "active" and app.session_actor(row["id"], 0) is not None
            for event in app.events.get(user.id):
                if type(event).__name__ == "CaseloadLearnerAdded":
                    assert event.reason == ""
        for provider in admin_read.providers(projector.reader()):
            registered = next(iter(app.events.get(provider_id(provider["slug"]))))
            assert type(registered).__name__ == "ProviderRegistered" and registered.reason == ""
        assert admin_read.admin_actions(projector.reader())  # the old changes are in the audit list
        app.deactivate_user(system_actor("test"), user_id=users[0]["id"], reason="Left")
        assert app.session_actor(users[0]["id"], 0) is None
    finally:
        projector.close()
        app.close()


def test_deactivation_asks_for_the_password_again_when_it_was_typed_a_while_ago(site, monkeypatch):
    """Deactivating is one of the sensitive actions (web/sessions.py): the
    administrator's password, typed more than a few minutes ago, is asked
    for again before the form, and nothing is written meanwhile."""
    from web import sessions

    app = site["app"]
    tutor_id = uid(app, site["world"]["users"]["tutor"])
    later = sessions.clock() + 30 * 60  # signed in half an hour ago, busy since
    monkeypatch.setattr(sessions, "clock", lambda: later)
    before = position(app)
    asked = site["admin"].get(f"/admin/users/{tutor_id}/deactivate")
    assert asked.status_code == 303 and "/confirm" in asked.headers["Location"]
    sent = post(site["admin"], f"/admin/users/{tutor_id}/deactivate", reason="Left")
    assert sent.status_code == 303 and "/confirm" in sent.headers["Location"]
    assert position(app) == before
    # Not asked before a change that is not sensitive, nor of someone who may not deactivate (403).
    assert site["admin"].get(f"/admin/users/{tutor_id}/role").status_code == 200
    support = site["client_for"](site["world"]["users"]["support"])
    assert support.get(f"/admin/users/{tutor_id}/deactivate").status_code == 403

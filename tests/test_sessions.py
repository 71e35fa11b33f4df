"""Sessions and passwords (web/sessions.py, web/auth.py, rarpa/service/passwords.py):

- a session ends after a while without use (RARPA_SESSION_IDLE_MINUTES) and
  twelve hours after signing in, however busy; the sign-in page says why and
  brings the person back; htmx and outbox requests get 401 and write nothing;
- "Confirm it's you" before the transfer pack, the subject-access bundle and
  erasure when the password was not typed in the last few minutes: the action
  is not done, a wrong password is refused beside the field and counted by the
  sign-in limits, the right one brings them back and the action then works;
- the password policy, at the service and on the command line: each rule
  refused with its own sentence and nothing written; a good password taken;
  a password set under the older policy still signs in.

Time is the module's own clock (``web.sessions.clock``), moved by the tests:
no test waits.
"""

from __future__ import annotations

import os
import re
import sys
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from rarpa.config import Settings
from rarpa.record import RuleBroken, User
from rarpa.service import passwords
from rarpa.service.access import system_actor
from tests.conftest import PASSWORD
from tests.test_web import sign_in, token_of
from tests.localhost import db_env
from tests.rawstore import raw
from web import sessions

LEAD, ADMIN, TUTOR = "lead@example.org", "admin@example.org", "tutor@example.org"


class Clock:
    """Seconds since the epoch, as web/sessions.py reads them; moved by hand."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, *, minutes: float = 0, hours: float = 0) -> None:
        self.now += minutes * 60 + hours * 3600


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(sessions, "clock", c)
    return c


@pytest.fixture
def settings(tmp_path, request):  # overrides conftest's: a test may set RARPA_* values (indirect)
    env = {**db_env(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"}
    return Settings.from_env({**env, **getattr(request, "param", {})})


def where(response) -> tuple[str, dict[str, list[str]]]:
    """A redirect's path and query."""
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:300])
    parts = urlsplit(response.headers["Location"])
    return parts.path, parse_qs(parts.query)


def csrf(client) -> str:
    return token_of(client.get("/fingerprint").get_data(as_text=True))


def signed_in(client, email=TUTOR) -> None:
    assert sign_in(client, email).status_code == 302


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


# --- after a while without use ---------------------------------------------------------------------
def test_a_tablet_used_now_and_then_stays_signed_in(web, world, clock):
    """Gaps shorter than the idle limit (120 minutes by default) never end the
    session, though together they are far longer."""
    signed_in(web)
    for _ in range(4):
        clock.advance(minutes=110)
        assert web.get("/").status_code == 200
    assert web.get(f"/learners/{world['learners']['amy']}").status_code == 200


def test_a_tablet_left_unused_is_signed_out_with_the_reason_and_comes_back(web, world, clock):
    amy = world["learners"]["amy"]
    signed_in(web)
    assert web.get("/").status_code == 200
    clock.advance(minutes=121)
    path, query = where(web.get(f"/learners/{amy}?as_at=2026-01-01"))
    assert path == "/login"
    assert query == {"next": [f"/learners/{amy}?as_at=2026-01-01"], "ended": ["idle"]}
    page = web.get(f"/login?next=/learners/{amy}&ended=idle").get_data(as_text=True)
    assert "You were signed out after 2 hours without use. Sign in again to carry on." in page
    assert "data-forget-pages" in page  # the tablet's offline copy of learners' pages is dropped
    # The session is emptied, not only refused once; only why it ended is kept, so the next
    # page (after an outbox request found it over, say) still says why.
    with web.session_transaction() as s:  # (and the sign-in page's new CSRF token)
        assert set(s) - {"csrf_token"} == {"ended"} and s["ended"] == "idle"
    path, query = where(web.get("/"))
    assert path == "/login" and query["ended"] == ["idle"]
    # Signing in again goes back to where they were.
    token = token_of(web.get("/login").get_data(as_text=True))
    back = web.post(f"/login?next=/learners/{amy}", data={"email": TUTOR, "password": PASSWORD, "csrf_token": token})
    assert where(back)[0] == f"/learners/{amy}"
    assert web.get(f"/learners/{amy}").status_code == 200


@pytest.mark.parametrize("settings", [{"RARPA_SESSION_IDLE_MINUTES": "30"}], indirect=True)
def test_the_idle_limit_is_a_setting(web, world, clock):
    signed_in(web)
    clock.advance(minutes=29)
    assert web.get("/").status_code == 200
    clock.advance(minutes=31)
    path, query = where(web.get("/"))
    assert path == "/login" and query["ended"] == ["idle"]
    assert "after 30 minutes without use" in web.get("/login?ended=idle").get_data(as_text=True)


@pytest.mark.parametrize("value", ["0", "-5", "two hours", "nan"])
def test_an_idle_limit_that_is_not_a_number_of_minutes_stops_the_server(tmp_path, value):
    with pytest.raises(SystemExit, match="RARPA_SESSION_IDLE_MINUTES"):
        Settings.from_env({"RARPA_DB": str(tmp_path / "x.sqlite3"), "RARPA_SESSION_IDLE_MINUTES": value})


def test_outbox_and_htmx_requests_after_the_limit_get_401_and_write_nothing(web, world, app, clock):
    """The outbox keeps an item it is answered 401 for (static/app.js); once the tutor
    has signed in again, however long after, the same item is taken."""
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    signed_in(web)
    token = csrf(web)
    item = {"id": str(uuid.uuid4()), "target_id": target, "rating": "secure", "csrf_token": token}
    clock.advance(hours=5)
    before = position(app)
    refused = web.post(f"/learners/{amy}/observations", data=item, headers={"X-Outbox": "1"})
    assert refused.status_code == 401
    assert refused.get_data(as_text=True) == ("You were signed out after 2 hours without use. "
                                              "Sign in again to carry on.")
    assert position(app) == before
    fragment = web.get(f"/learners/{amy}/evidence", headers={"HX-Request": "true"})
    assert fragment.status_code == 401  # the session was emptied by the first
    path, query = where(web.get(f"/learners/{amy}"))  # and the next page says why
    assert path == "/login" and query["ended"] == ["idle"]
    signed_in(web)
    sent = web.post(f"/learners/{amy}/observations", data={**item, "csrf_token": csrf(web)}, headers={"X-Outbox": "1"})
    assert sent.status_code in (200, 201), sent.get_data(as_text=True)[:300]
    assert position(app) > before


def test_twelve_hours_after_signing_in_the_session_ends_however_busy(web, world, clock):
    signed_in(web)
    for _ in range(11):  # used every hour of a (long) day
        clock.advance(hours=1)
        assert web.get("/").status_code == 200
    clock.advance(minutes=59)  # 11 h 59 min after signing in
    assert web.get("/").status_code == 200
    clock.advance(minutes=2)
    path, query = where(web.get("/"))
    assert path == "/login" and query["ended"] == ["day"]
    page = web.get("/login?ended=day").get_data(as_text=True)
    assert "You were signed out because you signed in more than 12 hours ago." in page


def test_a_session_from_before_these_limits_starts_counting_when_next_used(web, world, clock):
    """A cookie signed by an earlier release has no moments: it is not thrown out,
    and from its next request on it is timed like any other."""
    signed_in(web)
    with web.session_transaction() as s:
        for key in (sessions.SEEN, sessions.SIGNED_IN_AT, sessions.PASSWORD_AT):
            s.pop(key)
    assert web.get("/").status_code == 200
    with web.session_transaction() as s:
        assert s[sessions.SEEN] == s[sessions.SIGNED_IN_AT] == int(clock.now)
    clock.advance(minutes=121)
    assert where(web.get("/"))[1]["ended"] == ["idle"]


def test_api_tokens_are_not_affected(web, world, app, clock):
    token = app.create_token(TUTOR)
    clock.advance(hours=24)
    response = web.get(f"/api/v1/learners/{world['learners']['amy']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("target", ["//evil.example.org/x", "/\\evil.example.org", "https://evil.example.org/",
                                    "/\t/evil.example.org"])
def test_next_never_leaves_the_app(web, world, clock, target):
    token = token_of(web.get("/login").get_data(as_text=True))
    response = web.post("/login", query_string={"next": target},
                        data={"email": LEAD, "password": PASSWORD, "csrf_token": token})
    assert where(response)[0] == "/"
    confirmed = web.post("/confirm", query_string={"next": target},
                         data={"password": PASSWORD, "csrf_token": csrf(web)})
    assert urlsplit(confirmed.headers["Location"]).netloc in ("", "localhost")
    assert where(confirmed)[0] == "/"


# --- "Confirm it's you" before a download -----------------------------------------------------------
DOWNLOADS = ["transfer-pack.zip", "subject-access.zip"]


def access_entries(app, lid) -> int:
    return len(app.vault.access.entries(lid))


@pytest.mark.parametrize("download", DOWNLOADS)
def test_a_download_soon_after_signing_in_needs_no_confirmation(web, world, app, clock, download):
    amy = world["learners"]["amy"]
    signed_in(web, LEAD)
    clock.advance(minutes=4)
    response = web.post(f"/learners/{amy}/{download}", data={"csrf_token": csrf(web)})
    assert response.status_code == 200 and response.mimetype == "application/zip"


@pytest.mark.parametrize("download", DOWNLOADS)
def test_a_download_with_a_stale_password_asks_for_it_and_then_works(web, world, app, clock, download):
    amy = world["learners"]["amy"]
    signed_in(web, LEAD)
    clock.advance(minutes=6)
    logged, before = access_entries(app, amy), position(app)
    asked = web.post(f"/learners/{amy}/{download}", data={"csrf_token": csrf(web)})
    path, query = where(asked)
    assert asked.status_code == 303 and path == "/confirm"
    assert query == {"next": [f"/learners/{amy}#bundles-h"], "again": ["1"]}
    assert access_entries(app, amy) == logged and position(app) == before  # nothing made, nothing logged

    page = web.get(asked.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<h1>Confirm it's you</h1>" in html
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    assert f'name="next" value="/learners/{amy}#bundles-h"' in html

    wrong = web.post("/confirm", data={"password": "not my password", "next": f"/learners/{amy}#bundles-h",
                                       "again": "1", "csrf_token": csrf(web)})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 401
    assert re.search(r'<p class="field-error" id="password-error">.*That is not your password', html)
    assert '<a href="#password">That is not your password' in html  # and in the summary at the top
    assert 'aria-invalid="true"' in html

    right = web.post("/confirm", data={"password": PASSWORD, "next": f"/learners/{amy}#bundles-h",
                                       "again": "1", "csrf_token": csrf(web)})
    assert right.status_code == 303 and right.headers["Location"].endswith(f"/learners/{amy}#bundles-h")
    learner_page = web.get(f"/learners/{amy}").get_data(as_text=True)
    # Beside the buttons, where they come back to (#bundles-h), not at the top of a long page.
    bundles = learner_page[learner_page.index('id="bundles-h"'):]
    assert '<p class="flash confirmed-note" role="status">Confirmed. Now press the button again.</p>' in bundles
    logged = access_entries(app, amy)  # the page's own view is logged too
    made = web.post(f"/learners/{amy}/{download}", data={"csrf_token": csrf(web)})
    assert made.status_code == 200 and made.mimetype == "application/zip"
    assert access_entries(app, amy) == logged + 1
    # Fresh for a few minutes, then asked again.
    clock.advance(minutes=6)
    assert where(web.post(f"/learners/{amy}/{download}", data={"csrf_token": csrf(web)}))[0] == "/confirm"


def test_an_empty_password_is_asked_for_by_name(web, world, clock):
    signed_in(web, LEAD)
    response = web.post("/confirm", data={"password": "", "csrf_token": csrf(web)})
    assert response.status_code == 422
    assert '<p class="field-error" id="password-error"><span class="visually-hidden">Error: </span>Enter your password</p>' \
        in response.get_data(as_text=True)


def test_wrong_passwords_at_confirm_count_like_sign_in_failures(web, world, app, clock):
    """The (account, address) lock: five wrong, then even the right password waits,
    on this page and at sign-in, with the message beside the field."""
    amy = world["learners"]["amy"]
    signed_in(web, LEAD)
    clock.advance(minutes=6)
    for _ in range(5):
        assert web.post("/confirm", data={"password": "guess", "csrf_token": csrf(web)}).status_code == 401
    locked = web.post("/confirm", data={"password": PASSWORD, "csrf_token": csrf(web)})
    html = locked.get_data(as_text=True)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    assert re.search(r'id="password-error">.*Too many attempts\. Try again in \d+ minutes?\.', html)
    assert where(web.post(f"/learners/{amy}/transfer-pack.zip", data={"csrf_token": csrf(web)}))[0] == "/confirm"
    other = web.application.test_client()
    assert sign_in(other, LEAD).status_code == 429  # the same lock at sign-in, from this address


@pytest.mark.parametrize("settings", [{"RARPA_LOGIN_LIMIT_PER_ADDRESS": "3 per minute"}], indirect=True)
def test_the_address_rate_limit_covers_confirm_too(web, world, clock):
    signed_in(web, LEAD)  # one POST of three
    for _ in range(2):
        assert web.post("/confirm", data={"password": "guess", "csrf_token": csrf(web)}).status_code == 401
    refused = web.post("/confirm", data={"password": PASSWORD, "csrf_token": csrf(web)})
    assert refused.status_code == 429
    assert re.search(r'id="password-error">.*Too many attempts', refused.get_data(as_text=True))


def test_who_may_not_download_is_refused_before_any_password_is_asked(web, world, clock):
    """Out of sight: 404; in sight without the right: 403, as without the confirmation."""
    signed_in(web, TUTOR)
    clock.advance(minutes=30)
    assert web.post(f"/learners/{world['learners']['ben']}/transfer-pack.zip",
                    data={"csrf_token": csrf(web)}).status_code == 404
    assert web.post(f"/learners/{world['learners']['amy']}/transfer-pack.zip",
                    data={"csrf_token": csrf(web)}).status_code == 403


# --- "Confirm it's you" before erasure ----------------------------------------------------------------
def test_erasure_with_a_stale_password_asks_for_it_and_comes_back_to_step_two(web, world, app, clock):
    amy = world["learners"]["amy"]
    signed_in(web, ADMIN)
    clock.advance(minutes=6)
    # Opening the erasure asks first, and comes back to it.
    path, query = where(web.get("/admin/erasure"))
    assert path == "/confirm" and query == {"next": ["/admin/erasure"]}
    # A step's POST with a stale password: not done, back to step 2 for that learner after.
    before = position(app)
    body = {"learner_id": amy, "typed_name": "Amy Jones", "reason": "Erasure request received", "csrf_token": csrf(web)}
    asked = web.post("/admin/erasure/confirm", data=body)
    path, query = where(asked)
    assert path == "/confirm" and query == {"next": [f"/admin/erasure?learner_id={amy}"], "again": ["1"]}
    assert position(app) == before and not app.erasure_subject(system_actor("test"), amy)["erased"]
    step_one = web.post("/admin/erasure", data={"learner_id": amy, "csrf_token": csrf(web)})
    assert where(step_one)[1]["next"] == [f"/admin/erasure?learner_id={amy}"]

    wrong = web.post("/confirm", data={"password": "not it at all", "next": f"/admin/erasure?learner_id={amy}",
                                       "again": "1", "csrf_token": csrf(web)})
    assert wrong.status_code == 401 and "That is not your password" in wrong.get_data(as_text=True)
    right = web.post("/confirm", data={"password": PASSWORD, "next": f"/admin/erasure?learner_id={amy}",
                                       "again": "1", "csrf_token": csrf(web)})
    assert where(right) == ("/admin/erasure", {"learner_id": [amy]})
    step_two = web.get(f"/admin/erasure?learner_id={amy}")
    html = step_two.get_data(as_text=True)
    assert step_two.status_code == 200 and "Check it is the right person" in html and "Amy Jones" in html
    assert "Confirmed. Now press the button again." in html
    assert position(app) == before

    done = web.post("/admin/erasure/confirm", data={**body, "csrf_token": csrf(web)})
    assert where(done)[0] == "/admin/erasure/done"
    assert app.erasure_subject(system_actor("test"), amy)["erased"]


def test_erasure_refuses_other_roles_before_asking_for_a_password(web, world, clock):
    signed_in(web, TUTOR)
    clock.advance(minutes=30)
    assert web.get("/admin/erasure").status_code == 403
    assert web.post("/admin/erasure/confirm", data={"learner_id": world["learners"]["amy"], "typed_name": "Amy Jones",
                                                    "reason": "x", "csrf_token": csrf(web)}).status_code == 403


def test_the_confirm_page_is_only_for_someone_signed_in(web, world):
    path, query = where(web.get("/confirm?next=/admin/erasure"))
    assert path == "/login" and query["next"] == ["/confirm?next=/admin/erasure"]


def test_every_sensitive_route_asks_for_a_recent_password(web):
    """The routes that hand over or destroy a record carry the decorator (an
    admin page for deactivation adds itself to this list when it is built)."""
    views = web.application.view_functions
    sensitive = ["bundles.transfer_pack_zip", "bundles.subject_access_zip", "erasure.find", "erasure.confirm"]
    for endpoint in sensitive + [e for e in ("admin.deactivate",) if e in views]:
        assert getattr(views[endpoint], "recent_sign_in_minutes", None) == sessions.RECENT_MINUTES, endpoint


# --- the password policy -------------------------------------------------------------------------
NEW = {"email": "priya.sharma@example.org", "name": "Priya Sharma"}
REFUSED = [
    ("eleven char", passwords.TOO_SHORT),
    ("x" * 200 + " " + "y" * 56, passwords.TOO_LONG),
    ("zzzzzzzzzzzzzzzz", passwords.ONE_CHARACTER),
    ("priya.sharma@example.org", passwords.PERSONAL),
    ("PriyaSharma1999!", passwords.PERSONAL),
    ("Priya.Sharma 2024", passwords.PERSONAL),
    ("Password123456", passwords.COMMON),
    ("qwerty123456789", passwords.COMMON),
    ("iloveyou iloveyou", passwords.COMMON),
]


def test_the_messages_say_what_to_do():
    assert passwords.TOO_SHORT == "Choose a longer password: at least 12 characters"
    assert passwords.password_problem("amber kettle orbit", **NEW) is None
    assert passwords.password_problem("x" * 256 + "y", **NEW) == passwords.TOO_LONG
    assert passwords.password_problem("xy" * 128, **NEW) is None  # 256 is allowed


@pytest.mark.parametrize("password, message", REFUSED, ids=[m[:40] + str(i) for i, (_, m) in enumerate(REFUSED)])
def test_each_rule_is_refused_by_the_service_and_nothing_is_written(app, world, system, password, message):
    before = position(app)
    with pytest.raises(RuleBroken) as refused:
        app.add_user(system, email=NEW["email"], role="tutor", password=password, provider="northfield",
                     display_name=NEW["name"])
    assert (refused.value.field, refused.value.message) == ("password", message)
    assert position(app) == before


@pytest.mark.parametrize("password, message", [("tutor@example.org", passwords.PERSONAL),
                                               ("Password123456", passwords.COMMON),
                                               ("too short", passwords.TOO_SHORT)])
def test_a_new_password_for_someone_follows_the_policy_too(app, world, system, password, message):
    before = position(app)
    with pytest.raises(RuleBroken) as refused:
        app.set_password(system, TUTOR, password, "forgot it")
    assert refused.value.message == message
    assert position(app) == before
    assert app.authenticate(TUTOR, PASSWORD) is not None  # the old one still works


def test_a_good_password_is_taken(app, world, system):
    app.add_user(system, email=NEW["email"], role="tutor", password="amber kettle orbit", provider="northfield",
                 display_name=NEW["name"])
    assert app.authenticate(NEW["email"], "amber kettle orbit") is not None
    app.set_password(system, NEW["email"], "violet harbour lamp", "a new one")
    assert app.authenticate(NEW["email"], "violet harbour lamp") is not None


def test_a_password_set_under_the_older_policy_still_signs_in(app, world, system, web):
    """Ten characters was enough before: the policy applies when a password is set."""
    old = User.register(stamp=system.stamp("northfield"), email="old.hand@example.org", display_name="Old Hand",
                        role="tutor", provider="northfield", password_hash=app.hasher.hash("ten chars!"))
    app._save(old)
    assert app.authenticate("old.hand@example.org", "ten chars!") is not None
    assert sign_in(web, "old.hand@example.org", "ten chars!").status_code == 302


# --- on the command line -------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path, app, system):
    app.register_provider(system, "northfield", "Northfield College")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(db_env(tmp_path / "rarpa.sqlite3"))
    env.update(RARPA_PASSWORD_PROFILE="cheapest")
    return env


def rarpa(env, *args, password: str):
    return subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env, input=password + "\n",
                          capture_output=True, text=True, cwd=Path(env["RARPA_VIEWS"]).parent, timeout=120)


def stored(env) -> int:
    conn = raw(Settings.from_env(env))
    try:
        return conn.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("password, message", [REFUSED[i] for i in (0, 1, 2, 4, 6)],
                         ids=["too-short", "too-long", "one-character", "name", "common"])
def test_user_add_on_the_command_line_refuses_each_rule_and_writes_nothing(store, password, message):
    before = stored(store)
    result = rarpa(store, "user", "add", NEW["email"], "--role", "tutor", "--provider", "northfield",
                   "--name", NEW["name"], password=password)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == f"error: {message}\n"
    assert stored(store) == before


def test_user_add_on_the_command_line_takes_a_good_password(store, app):
    result = rarpa(store, "user", "add", NEW["email"], "--role", "tutor", "--provider", "northfield",
                   "--name", NEW["name"], password="amber kettle orbit")
    assert result.returncode == 0, result.stderr
    assert app.authenticate(NEW["email"], "amber kettle orbit") is not None

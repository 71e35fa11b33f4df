"""Sign-in under attack: rate limits per client address and
per account, a temporary lockout per (account, address), a bound on how many
argon2 checks run at once, and a limit on invalid API tokens per address.

Limits are lowered through the same RARPA_* settings an operator would use.
Only ever talks to 127.0.0.1; every wait is bounded and no timing is asserted
beyond a generous "answered within 2 s".
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from rarpa.config import Settings
from tests.conftest import PASSWORD
from tests.localhost import start_server, stop_server, db_env

TUTOR = "tutor@example.org"
HERE, THERE, ELSEWHERE = "10.0.0.1", "10.0.0.2", "10.0.0.3"
TOO_MANY = "Too many attempts. Try again in"

# Generous everywhere except the knob a test turns.
RELAXED = {
    "RARPA_LOGIN_LIMIT_PER_ADDRESS": "1000 per minute",
    "RARPA_LOGIN_LIMIT_PER_ACCOUNT": "1000 per minute",
    "RARPA_LOGIN_LOCKOUT_AFTER": "1000",
    "RARPA_API_INVALID_TOKEN_LIMIT": "1000 per minute",
}


def settings_with(tmp_path, **env) -> Settings:
    return Settings.from_env({**db_env(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest",
                              **RELAXED, **env})


@pytest.fixture
def limits(request):
    """The RARPA_* values a test sets with @pytest.mark.parametrize("limits", [{...}], indirect=True)."""
    return getattr(request, "param", {})


@pytest.fixture
def settings(tmp_path, limits):  # overrides conftest's: the world and the app use these settings
    return settings_with(tmp_path, **limits)


@pytest.fixture
def flask_app(web):
    return web.application


def client_at(flask_app, address: str):
    client = flask_app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def csrf(client) -> str:
    html = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, email=TUTOR, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf(client)})


def retry_after(response) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None and value.isdigit(), response.headers
    assert int(value) >= 1
    return int(value)


def assert_too_many(response, email=TUTOR):
    assert response.status_code == 429, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    assert TOO_MANY in html and re.search(r"Try again in \d+ (minute|minutes)\.", html), html
    assert f'value="{email}"' in html  # what they typed is kept
    assert 'role="alert"' in html  # read out, above the form
    return retry_after(response)


# --- (a) per account ---------------------------------------------------------------------------
@pytest.mark.parametrize("limits", [{"RARPA_LOGIN_LIMIT_PER_ACCOUNT": "3 per 15 minutes"}], indirect=True)
def test_account_limit_refuses_the_next_wrong_password_but_not_a_clean_address(flask_app):
    here = client_at(flask_app, HERE)
    for email in (TUTOR, " Tutor@Example.ORG ", TUTOR):  # one account, however it is typed
        assert sign_in(here, email=email, password="wrong password").status_code == 401
    wait = assert_too_many(sign_in(here, password="wrong again"))
    assert wait <= 15 * 60
    # This address has failed on the account: even the right password waits.
    assert_too_many(sign_in(here))
    # The tutor at another address is not locked out by someone else's guessing.
    assert sign_in(client_at(flask_app, THERE)).status_code == 302
    # Another account from the guessing address is not affected either.
    assert sign_in(here, email="support@example.org").status_code == 302


@pytest.mark.parametrize("limits", [{"RARPA_LOGIN_LIMIT_PER_ACCOUNT": "2 per 15 minutes"}], indirect=True)
def test_account_limit_bounds_guessing_from_many_addresses(flask_app):
    for i in range(2):
        assert sign_in(client_at(flask_app, f"10.1.0.{i}"), password="wrong").status_code == 401
    # A fresh address gets one check (its owner may be the real tutor) ...
    fresh = client_at(flask_app, "10.1.0.99")
    assert sign_in(fresh, password="wrong").status_code == 401
    # ... and no second one while the account is being guessed at.
    assert_too_many(sign_in(fresh, password="wrong"))
    assert_too_many(sign_in(client_at(flask_app, "10.1.0.0"), password="wrong"))


# --- (b) per address ---------------------------------------------------------------------------
@pytest.mark.parametrize("limits", [{"RARPA_LOGIN_LIMIT_PER_ADDRESS": "5 per minute"}], indirect=True)
def test_address_limit_counts_attempts_across_many_emails(flask_app):
    here = client_at(flask_app, HERE)
    for i in range(5):
        assert sign_in(here, email=f"someone{i}@example.org", password="wrong").status_code == 401
    refused = sign_in(here, email="someone.else@example.org", password="wrong")
    assert_too_many(refused, email="someone.else@example.org")
    assert retry_after(refused) <= 60
    assert_too_many(sign_in(here))  # refused before any password is checked
    there = client_at(flask_app, THERE)
    assert sign_in(there, email="someone0@example.org", password="wrong").status_code == 401
    assert sign_in(there).status_code == 302
    # Reading the sign-in page is never limited.
    assert here.get("/login").status_code == 200


# --- (c) lockout per (account, address) -------------------------------------------------------------
@pytest.mark.parametrize("limits", [{"RARPA_LOGIN_LOCKOUT_AFTER": "2", "RARPA_LOGIN_LOCKOUT_SECONDS": "1",
                                     "RARPA_LOGIN_LOCKOUT_MAX_SECONDS": "1"}], indirect=True)
def test_lockout_of_a_pair_expires_and_a_success_clears_it(flask_app):
    here = client_at(flask_app, HERE)
    assert sign_in(here, password="wrong").status_code == 401
    assert sign_in(here, password="wrong").status_code == 401
    locked = sign_in(here)  # the right password, but this pair is locked
    assert locked.status_code == 429 and retry_after(locked) == 1
    assert TOO_MANY in locked.get_data(as_text=True)
    assert sign_in(client_at(flask_app, THERE)).status_code == 302  # not locked elsewhere
    time.sleep(1.1)
    assert sign_in(here).status_code == 302  # expired, and the success clears the failures
    assert sign_in(here, password="wrong").status_code == 401  # so one failure does not lock again
    assert sign_in(here).status_code == 302


@pytest.mark.parametrize("limits", [{"RARPA_LOGIN_LOCKOUT_AFTER": "2"}], indirect=True)
def test_attempts_whose_password_was_not_checked_do_not_count(flask_app):
    here = client_at(flask_app, HERE)
    for _ in range(4):
        assert sign_in(here, password="").status_code == 401
        assert sign_in(here, email="", password="wrong").status_code == 401
    assert sign_in(here).status_code == 302


def test_lockout_escalates_and_is_capped():
    from web.auth import LoginGuard

    now = [1000.0]
    guard = LoginGuard(lock_after=3, first_lock=60, max_lock=300, clock=lambda: now[0])
    pair = ("tutor@example.org", HERE)
    for _ in range(2):
        guard.failed(*pair)
    assert guard.locked_for(*pair) == 0 and guard.has_failed(*pair)
    assert not guard.has_failed("tutor@example.org", THERE)
    locks = []
    for _ in range(6):
        guard.failed(*pair)
        locks.append(guard.locked_for(*pair))
        now[0] += locks[-1]  # wait it out, then fail again
    assert locks == [60, 120, 240, 300, 300, 300]
    assert guard.locked_for("tutor@example.org", THERE) == 0
    guard.succeeded(*pair)
    assert guard.locked_for(*pair) == 0 and not guard.has_failed(*pair)


def test_lockout_memory_is_bounded():
    from web.auth import LoginGuard

    guard = LoginGuard(lock_after=3, first_lock=60, max_lock=300, max_entries=100)
    for i in range(1000):
        guard.failed(f"user{i}@example.org", HERE)
    assert len(guard) <= 100
    assert guard.has_failed("user999@example.org", HERE)


# --- the argon2 bound through the test client -------------------------------------------------------
def test_a_busy_password_checker_answers_503_without_counting_a_failure(flask_app):
    here = client_at(flask_app, HERE)
    token = csrf(here)
    hashing = flask_app.extensions["rarpa_signin"].hashing
    held = [hashing.acquire(timeout=1) for _ in range(flask_app.extensions["rarpa"].settings.login_hash_concurrency)]
    assert all(held)
    try:
        busy = here.post("/login", data={"email": TUTOR, "password": "wrong", "csrf_token": token})
    finally:
        for _ in held:
            hashing.release()
    assert busy.status_code == 503
    assert retry_after(busy) >= 1
    html = busy.get_data(as_text=True)
    assert "busy" in html and f'value="{TUTOR}"' in html and 'role="alert"' in html
    assert not flask_app.extensions["rarpa_signin"].guard.has_failed(TUTOR, HERE)
    assert sign_in(here).status_code == 302


# --- (4) invalid API tokens ------------------------------------------------------------------------
@pytest.mark.parametrize("limits", [{"RARPA_API_INVALID_TOKEN_LIMIT": "3 per minute"}], indirect=True)
def test_repeated_invalid_tokens_from_one_address_get_429(flask_app, app):
    here = client_at(flask_app, HERE)
    bad = {"Authorization": "Bearer rr_not-a-token"}
    for _ in range(3):
        assert here.get("/api/v1/me", headers=bad).status_code == 401
    refused = here.get("/api/v1/me", headers=bad)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429 and 1 <= retry_after(refused) <= 60
    # A valid token from the same address still works; other addresses are not affected.
    good = {"Authorization": f"Bearer {app.create_token(TUTOR)}"}
    assert here.get("/api/v1/me", headers=good).status_code == 200
    assert client_at(flask_app, THERE).get("/api/v1/me", headers=bad).status_code == 401


# --- settings ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, value", [
    ("RARPA_LOGIN_LIMIT_PER_ADDRESS", "lots"),
    ("RARPA_LOGIN_LOCKOUT_AFTER", "five"),
    ("RARPA_LOGIN_HASH_CONCURRENCY", "0"),
    ("RARPA_LOGIN_LOCKOUT_SECONDS", "-1"),
])
def test_bad_limit_settings_are_one_readable_error(tmp_path, name, value):
    with pytest.raises(SystemExit) as exc:
        settings_with(tmp_path, **{name: value})
    assert name in str(exc.value)


def test_default_limits():
    s = Settings.from_env({})
    assert s.ratelimit_storage == "memory://"
    assert s.login_limit_per_address == "20 per minute;200 per hour"
    assert s.login_limit_per_account == "10 per 15 minutes"
    assert (s.login_lockout_after, s.login_lockout_seconds, s.login_lockout_max_seconds) == (5, 60.0, 900.0)
    assert s.login_hash_concurrency == 2


# --- (d) a real server under a wrong-password flood ----------------------------------------------
FLOOD_THREADS = 16
PROBES = 12
PROBE_TIMEOUT = 2.0  # seconds: generous; before the bound an API GET waited ~5 s behind argon2
SUBPROCESS_LIMIT = 120


def _cli(args, env, cwd):
    result = subprocess.run([sys.executable, "-m", "rarpa.cli", *args], env=env, cwd=cwd, input="",
                            capture_output=True, text=True, timeout=SUBPROCESS_LIMIT)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _flooder(base: str, email: str, stop: threading.Event, answers: Counter, lock: threading.Lock) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(base + "/login", timeout=30) as page:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    for i in range(200):  # bounded, whatever happens
        if stop.is_set():
            return
        body = urllib.parse.urlencode({"email": email, "password": f"wrong {i}", "csrf_token": token}).encode()
        try:
            with opener.open(base + "/login", data=body, timeout=30) as r:
                r.read()
                code = r.status
        except urllib.error.HTTPError as e:
            e.read()
            code = e.code
        except OSError as e:
            code = type(e).__name__
        with lock:
            answers[code] += 1


def test_a_wrong_password_flood_does_not_starve_the_api(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RARPA_")}
    env.update(db_env(tmp_path / "rarpa.sqlite3"))
    env.update(RARPA_DEMO_PASSWORD="flood-test-password",
               # The default argon2 profile, so the hashing really is expensive; the
               # address and account limits raised so every attempt reaches argon2,
               # as a flood from many addresses would.
               RARPA_PASSWORD_PROFILE="default", **RELAXED)
    _cli(["demo", "--learners", "1"], env, tmp_path)
    token = _cli(["token", "create", TUTOR], env, tmp_path).strip()
    server = start_server(env, tmp_path, tmp_path / "serve.log")
    base = server.base
    stop, lock, answers = threading.Event(), threading.Lock(), Counter()
    threads = []
    try:
        emails = [TUTOR, "support@example.org", "lead@example.org", "nobody@example.org"]
        threads = [threading.Thread(target=_flooder, args=(base, emails[i % 4], stop, answers, lock), daemon=True)
                   for i in range(FLOOD_THREADS)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        probes = []
        for _ in range(PROBES):
            request = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as r:
                    probes.append((r.status, round(time.monotonic() - started, 2)))
            except urllib.error.HTTPError as e:
                probes.append((e.code, round(time.monotonic() - started, 2)))
            except OSError as e:  # timed out: starved
                probes.append((type(e).__name__, round(time.monotonic() - started, 2)))
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        stop_server(server.proc)
    assert all(status == 200 for status, _ in probes), (probes, dict(answers))
    assert answers[401] > 0, dict(answers)  # passwords were really checked during the flood
    assert answers[503] + answers[429] > 0, dict(answers)  # and the excess was refused, not queued
    assert set(answers) <= {401, 429, 503}, dict(answers)  # never a 500 or a dropped connection

"""The record's account of itself (issue 11): the hash-chained access log,
what changed between two instants, and fingerprints anyone can check —
through the API, the CLI and the store's own files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from events.base import clock
from rarpa.cli import main as cli
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.test_api import BASE, Api, amy, api, ben, client, obs_body, record  # noqa: F401 (fixtures)
from tests.rawstore import raw_vault, refusing_access_log

T0 = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)


def at(hours: float):
    moment = T0 + timedelta(hours=hours)
    return clock(lambda: moment)


def run(app, *args):
    """The CLI on the test's store (as the operator)."""
    env = {"RARPA_DB": app.settings.db, "RARPA_VIEWS": app.settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def vault(app):
    """The vault, opened around the application (as an intruder would)."""
    return raw_vault(app.settings, autocommit=True)


# --- the access log -------------------------------------------------------------------------------
def test_each_role_and_each_view_is_logged_with_who_what_and_where(api, app, world, amy):
    for who, path in (("tutor", ""), ("support", "/progress"), ("send_lead", "/history"),
                      ("auditor", "/events"), ("auditor", "/changes?from=2020-01-01T00:00:00Z")):
        assert api.get(who, f"/learners/{amy}{path}").status_code == 200
    logged = app.vault.access.entries(amy)
    assert [(e["role"], e["action"]) for e in logged] == [
        ("tutor", "learner page"), ("support", "progress"), ("send_lead", "history"), ("auditor", "export"),
        ("auditor", "changes")]
    assert {e["address"] for e in logged} == {"127.0.0.1"}
    assert all(e["at"] and e["user_id"] for e in logged)


def test_a_view_out_of_sight_is_not_shown_and_not_logged_as_a_view(api, app, amy, ben):
    assert api.get("tutor", f"/learners/{ben}/progress").status_code == 404
    assert app.vault.access.entries(ben) == []


def test_the_cli_is_logged_too(app, world, amy):
    result = run(app, "history", amy)
    assert result.exit_code == 0, result.output
    [entry] = app.vault.access.entries(amy)
    assert entry["role"] == "system" and entry["action"] == "history"
    assert entry["address"].startswith("command line on ")


def test_when_the_log_cannot_be_written_the_view_is_refused(api, app, amy):
    with refusing_access_log(app.settings):
        _refused_everywhere(api, app, amy)


def _refused_everywhere(api, app, amy) -> None:
    response = api.get("send_lead", f"/learners/{amy}")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "access log" in response.get_json()["detail"]
    assert "Amy" not in response.get_data(as_text=True)
    for path in ("/progress", "/history", "/events", "/annual-review"):
        assert api.get("auditor", f"/learners/{amy}{path}").status_code == 503
    result = run(app, "export", amy)
    assert result.exit_code == 1 and "Amy" not in result.output


def test_verify_names_the_first_altered_or_removed_entry(api, app, amy):
    for _ in range(4):
        api.get("auditor", f"/learners/{amy}/progress")
    assert verify(app).ok and verify(app).access_entries == 4
    with vault(app) as conn:
        conn.execute("UPDATE access_log SET role='tutor' WHERE id=2")
    report = verify(app)
    assert report.problems == ["access log entry 2: was altered after it was written"]
    result = run(app, "verify")
    assert result.exit_code == 1 and "access log entry 2" in result.output
    with vault(app) as conn:
        conn.execute("UPDATE access_log SET role='auditor' WHERE id=2")
        conn.execute("DELETE FROM access_log WHERE id=3")
    assert verify(app).problems == ["access log entry 4: does not follow the entry before it: an entry was removed"]


@pytest.mark.sqlite_file  # a vault file written by an earlier release
def test_an_old_vault_has_its_entries_chained_when_opened(tmp_path, settings):
    """A vault written before the chain (plain rows) is upgraded in place."""
    conn = sqlite3.connect(settings.vault)
    conn.execute("CREATE TABLE access_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, user_id TEXT NOT NULL, "
                 "role TEXT NOT NULL, action TEXT NOT NULL, learner_id TEXT, detail TEXT)")
    conn.execute("INSERT INTO access_log VALUES (1, '2026-01-01T00:00:00+00:00', 'u', 'auditor', 'GET /x', 'l', '')")
    conn.commit()
    conn.close()
    from rarpa.service.application import RecordApplication

    app = RecordApplication(settings)
    try:
        app.log_view(app_actor(), "l", "history")
        assert [e["action"] for e in app.vault.access.entries("l")] == ["GET /x", "history"]
        assert verify(app).ok and verify(app).access_entries == 2
    finally:
        app.close()


def app_actor():
    from rarpa.service.access import system_actor

    return system_actor("test")


def test_the_access_log_is_for_auditors_and_the_learners_send_lead(api, app, world, amy):
    api.get("tutor", f"/learners/{amy}/progress")
    for who in ("auditor", "send_lead"):
        response = api.get(who, f"/learners/{amy}/access-log")
        assert response.status_code == 200
        entries = response.get_json()["entries"]
        assert entries[0] == {"at": entries[0]["at"], "user": "tutor@example.org", "name": "tutor",
                              "user_id": str(app.user("tutor@example.org").id), "role": "tutor",
                              "action": "progress", "address": "127.0.0.1"}
    for who in ("tutor", "support", "riverside_lead", "admin"):
        assert api.get(who, f"/learners/{amy}/access-log").status_code == 404
    # Reading the log is itself a view.
    assert [e["action"] for e in app.vault.access.entries(amy)][-2:] == ["access log", "access log"]


# --- what changed between two instants -----------------------------------------------------------
def test_changes_lists_what_was_recorded_between_with_reasons(api, app, world, amy, system):
    target = world["amy"]["target"]
    first = observation(target, "secure", observed_at=T0)
    with at(1):
        app.record_observation(system, amy, **first)
    with at(2):
        app.correct_observation(system, amy, observation_id=first["observation_id"], rating="developing",
                                reason="Checked the diary", now=T0 + timedelta(hours=2))
    with at(3):
        app.revise_target(system, amy, target_id=target, kind="revised", text="Buy a day ticket", reason="Ready for more")
    with at(4):
        app.withdraw_observation(system, amy, observation_id=first["observation_id"], reason="Wrong learner")

    def changes(start, end):
        response = api.get("auditor", f"/learners/{amy}/changes?from={start.isoformat()}&to={end.isoformat()}"
                           .replace("+", "%2B"))
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    body = changes(T0 + timedelta(hours=1, minutes=30), T0 + timedelta(hours=3))
    assert body["from"] == (T0 + timedelta(hours=1, minutes=30)).isoformat()
    assert [(c["type"], c["reason"]) for c in body["changes"]] == [
        ("ObservationCorrected", "Checked the diary"), ("TargetRevised", "Ready for more")]
    corrected = body["changes"][0]
    assert corrected["replaces"] and "secure" in corrected["replaced_what"]
    assert corrected["recorded_by"] == "system:test" and corrected["role"] == "system"
    assert corrected["recorded_at"] == (T0 + timedelta(hours=2)).isoformat()
    # T1 is not included, T2 is.
    assert [c["type"] for c in changes(T0 + timedelta(hours=1), T0 + timedelta(hours=4))["changes"]] == [
        "ObservationCorrected", "TargetRevised", "ObservationWithdrawn"]
    assert changes(T0 + timedelta(hours=5), T0 + timedelta(hours=6))["changes"] == []
    # No "from": from the start of the record (so its enrolment too).
    everything = api.get("auditor", f"/learners/{amy}/changes").get_json()
    assert everything["changes"][0]["type"] == "LearnerEnrolled"
    assert everything["from"].startswith("1900-01-01")


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"), ("from=2026-01-01T00:00:00", "from"),
    ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"), ("from=2026-01-01T00:00:00Z&to=soon", "as_at"),
])
def test_changes_refuses_a_bad_window_clearly(api, amy, query, field):
    response = api.get("auditor", f"/learners/{amy}/changes?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


# --- fingerprints ----------------------------------------------------------------------------------
def test_a_fingerprint_is_checked_in_one_step(api, app, world, amy):
    pack = api.get("send_lead", f"/learners/{amy}/annual-review").get_json()
    fingerprint = pack["fingerprint"]
    assert len(fingerprint) == 64
    record(api, amy, obs_body(world["amy"]["target"]))
    record(api, amy, obs_body(world["amy"]["target"]))

    found = api.get("auditor", f"/learners/{amy}/fingerprints/{fingerprint[:16]}").get_json()
    assert found["matches"] is True and found["events_after"] == 2
    result = run(app, "verify", "--fingerprint", amy, fingerprint[:20].upper())
    assert result.exit_code == 0, result.output
    assert "unchanged; 2 events recorded after it" in result.output

    wrong = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
    assert api.get("auditor", f"/learners/{amy}/fingerprints/{wrong}").get_json()["matches"] is False
    result = run(app, "verify", "--fingerprint", amy, wrong)
    assert result.exit_code == 1 and "NO MATCH" in result.output
    # Another learner's fingerprint does not match this one's record.
    ben = world["learners"]["ben"]
    assert api.get("auditor", f"/learners/{ben}/fingerprints/{fingerprint}").get_json()["matches"] is False


@pytest.mark.parametrize("value, message", [("abc123", "at least 16"), ("z" * 20, "0-9 and letters a-f"),
                                            ("a" * 65, "64 characters at most")])
def test_a_bad_fingerprint_is_named(api, app, amy, value, message):
    response = api.get("auditor", f"/learners/{amy}/fingerprints/{value}")
    assert response.status_code == 422
    assert message in response.get_json()["errors"]["fingerprint"][0]
    result = run(app, "verify", "--fingerprint", amy, value)
    assert result.exit_code == 1 and message in result.output


def test_a_fingerprint_of_a_learner_out_of_sight_is_not_found(api, app, world, amy, ben):
    fingerprint = api.get("send_lead", f"/learners/{amy}/history").get_json()["fingerprint"]
    assert api.get("riverside_lead", f"/learners/{amy}/fingerprints/{fingerprint}").status_code == 404
    # The service itself says "no match" to someone who cannot see the learner.
    assert app.check_fingerprint(world["actors"]["riverside_lead"], amy, fingerprint).matches is False


def test_a_page_kept_for_offline_use_is_logged_as_such(web, app, world):
    """The service worker keeps each caseload learner's page on the tablet: a
    copy of the record leaves the server, so it is logged, and said to be that."""
    from tests.test_web import sign_in

    amy = world["learners"]["amy"]
    sign_in(web, "tutor@example.org")
    assert web.get(f"/learners/{amy}", headers={"X-Precache": "1"}).status_code == 200
    assert web.get(f"/learners/{amy}").status_code == 200
    assert [e["action"] for e in app.vault.access.entries(amy)] == [
        "learner page (kept for offline use)", "learner page"]

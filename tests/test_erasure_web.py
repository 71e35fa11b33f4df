"""Erasure from the web by an administrator (web/erasure.py): the record's
reference, then the learner's name and providers only, a typed confirmation
of the full name and a reason. Afterwards nothing of the learner can be found
in any file (the raw-file search of tests/test_erasure.py), `rarpa verify`
passes and the cohort's counts are as they were. Every refusal names its
field in plain words and writes nothing."""

from __future__ import annotations

import re
from html import unescape
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest

from events.learner import LearnerDataErased
from rarpa.read import cohort
from rarpa.service.access import Forbidden, NotFound
from tests.conftest import observation
from tests.test_erasure import traces
from tests.test_web import sign_in, token_of
from tests.rawstore import raw_vault

NAME = "Zofia Wróblewska-Quint"
PREFERRED = "Zosia"
BIRTH = "2006-02-17"
NOTE = "Zosia poured her own drink at the cafe counter without a prompt"
OUTCOME = "Zosia travels to her work placement at the garden centre on her own"
REASON = "Erasure request received 20 November 2026, agreed by the data protection officer"


@pytest.fixture
def site(settings, app, world, system):
    """The conftest world plus a learner whose every detail is distinctive, and
    the web app on the same files (its own services: the running server)."""
    from web import create_app
    from web.services import Services

    lid = app.enrol_learner(system, name=NAME, preferred_name=PREFERRED, date_of_birth=BIRTH,
                            provider="northfield", partner="riverside", partner_reason="Two days a week").result
    oid = app.record_outcome(system, lid, text=OUTCOME, pfa_area="employment", due="2027-07-01").result
    tid = app.set_target(system, lid, text="Pour a drink", success_criteria="On her own", outcome_ids=[oid],
                         baseline="emerging", review_by="2027-01-15").result
    app.record_observation(system, lid, **observation(tid, rating="secure", note=NOTE, context="community"))
    app.record_destination(system, lid, kind="supported_internship", detail="Garden centre", starts_on="2026-01-05")
    services = Services(settings)
    flask_app = create_app(services=services)

    def client_for(email: str):
        client = flask_app.test_client()
        assert sign_in(client, email).status_code == 302, email
        return client

    yield {"lid": lid, "services": services, "client_for": client_for, "app": app, "world": world,
           "folder": Path(settings.views).parent, "admin": client_for(world["users"]["admin"])}
    services.close()


def csrf(client) -> str:
    return token_of(client.get("/").get_data(as_text=True))


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def field_error(html: str, field: str) -> str:
    """The message shown beside a field ("" if none), and it must be in the summary too."""
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    if not found:
        return ""
    message = unescape(re.sub(r"<[^>]+>", "", found.group(1))).replace("Error: ", "").strip()
    assert f'href="#{field}"' in html, f"the error summary does not link to {field}"
    return message


def counts(services, actor) -> dict:
    conn = services.fresh()
    return {(r["measure"], r["group"]): r["count"]
            for r in cohort.cohort_counts(conn, actor, date(2026, 12, 3))["rows"]}


def confirm(client, lid: str, typed: str, reason: str):
    return client.post("/admin/erasure/confirm", data={"csrf_token": csrf(client), "learner_id": lid,
                                                       "typed_name": typed, "reason": reason})


def rarpa_verify(settings) -> subprocess.CompletedProcess:
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "rarpa.cli", "verify"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(settings.views).parent)


def test_an_admin_erases_through_the_form_and_nothing_of_the_learner_is_left(site, settings):
    s, lid, admin = site["services"], site["lid"], site["admin"]
    auditor, lead = site["world"]["actors"]["auditor"], site["world"]["actors"]["riverside_lead"]
    before = {"all": counts(s, auditor), "riverside": counts(s, lead)}
    assert before["all"][("learners", "all")] == 3

    vault = raw_vault(settings)
    key = vault.execute("SELECT key FROM stream_keys WHERE stream_id=?", [lid]).fetchone()[0]
    vault.close()
    needles = {"name": NAME.encode(), "preferred name": f'"{PREFERRED}"'.encode(), "birth date": BIRTH.encode(),
               "note": NOTE.encode(), "outcome": OUTCOME.encode(), "key": bytes(key)}
    assert any("name" in t for t in traces(site["folder"], needles))  # the search finds what it looks for

    # From Today, to the reference, to who it is: the name and providers, nothing else of the record.
    today = admin.get("/").get_data(as_text=True)
    assert 'href="/admin/erasure"' in today
    page = admin.get("/admin/erasure")
    assert page.status_code == 200 and "Record reference" in page.get_data(as_text=True)
    found = admin.post("/admin/erasure", data={"csrf_token": csrf(admin), "learner_id": lid.upper()})
    html = found.get_data(as_text=True)
    assert found.status_code == 200, html
    assert NAME in html and "Northfield College (lead provider)" in html and "Riverside Specialist College" in html
    for private in (BIRTH, "17 February", NOTE, OUTCOME, "Pour a drink", "Garden centre", PREFERRED):
        assert private not in html, private
    assert f'name="learner_id" value="{lid}"' in html
    # Being shown the name is a view of the record: logged, as the admin's.
    assert [(e["role"], e["action"]) for e in site["app"].vault.access.entries(lid)][-1:] == [
        ("admin", "erasure check")]

    done = confirm(admin, lid, f"  {NAME} ", REASON)  # spaces around the name do not matter
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"] == f"/admin/erasure/done?reference={lid}"
    page = admin.get(done.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Personal data erased" in text and lid in text and "had already been erased" not in text
    assert "Backups taken before the erasure" in text and "downloaded PDFs" in text and "rarpa erase" in text
    assert NAME not in text

    # The erasure is recorded in clear, as the administrator's, with the reason.
    last = s.app.recorder.select_events(uuid.UUID(lid), desc=True, limit=1)[0]
    event = s.app.mapper.to_domain_event(last)
    assert isinstance(event, LearnerDataErased)
    assert (event.role, event.recorded_by, event.reason) == ("admin", site["world"]["actors"]["admin"].user_id,
                                                             REASON)

    # With the server still running: nothing of the learner in any file, -wal and -shm included.
    assert traces(site["folder"], needles) == []
    result = rarpa_verify(settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: ")
    assert {"all": counts(s, auditor), "riverside": counts(s, lead)} == before
    # The learner's SEND lead is told the record was erased; nobody reads it.
    lead_page = site["client_for"](site["world"]["users"]["send_lead"]).get(f"/learners/{lid}")
    assert lead_page.status_code == 410


def test_a_wrong_name_or_no_reason_is_refused_beside_its_field_and_nothing_is_written(site):
    app, lid, admin = site["app"], site["lid"], site["admin"]
    cases = [
        # (typed name, reason, field, words that must be in its message)
        ("Zofia Wroblewska-Quint", REASON, "typed_name", "not the learner's full name"),  # one letter off
        (NAME.lower(), REASON, "typed_name", "not the learner's full name"),  # exactly means exactly
        ("", REASON, "typed_name", "Enter the learner's full name"),
        (NAME, "", "reason", "Enter a reason for the erasure"),
        (NAME, "   ", "reason", "Enter a reason for the erasure"),
        (NAME, "Request from Zosia's mother", "reason", "must not name the learner"),
        (NAME, f"Erasure request from {NAME.upper()}", "reason", "must not name the learner"),
        (NAME, "x" * 501, "reason", "500 characters or fewer"),
    ]
    for typed, reason, field, words in cases:
        before = position(app)
        response = confirm(admin, lid, typed, reason)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (typed, reason, response.status_code)
        assert words in field_error(html, field), (typed, reason, field_error(html, field))
        assert position(app) == before, (typed, reason)
        assert html.startswith("<!doctype html>") and "<title>Error: " in html
        # What was typed is kept, and the learner is still the one shown.
        if reason.strip():
            assert reason[:40] in unescape(html)
        assert NAME in html
    # Both wrong at once: both said, each beside its own field.
    html = confirm(admin, lid, "Someone Else", "").get_data(as_text=True)
    assert "not the learner's full name" in field_error(html, "typed_name")
    assert "Enter a reason for the erasure" in field_error(html, "reason")
    # Still there, still readable by those who may see it.
    assert site["client_for"](site["world"]["users"]["send_lead"]).get(f"/learners/{lid}").status_code == 200


def test_a_reference_that_is_not_a_learner_is_refused_beside_the_field(site):
    app, admin = site["app"], site["admin"]
    for reference, words in (("", "Enter the record reference"), ("3f2b9c1e-5a7d", "36 letters, digits and hyphens"),
                             (str(uuid.uuid4()), "No learner has this record reference"),
                             (site["world"]["actors"]["tutor"].user_id, "No learner has this record reference")):
        before = position(app)
        response = admin.post("/admin/erasure", data={"csrf_token": csrf(admin), "learner_id": reference})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, reference
        assert words in field_error(html, "learner_id"), (reference, field_error(html, "learner_id"))
        assert position(app) == before
        assert f'value="{reference}"' in html  # kept
    # Confirming a made-up reference: not found, nothing written.
    before = position(app)
    assert confirm(admin, str(uuid.uuid4()), NAME, REASON).status_code == 404
    assert position(app) == before


def test_an_already_erased_learner_is_handled_gracefully(site, system):
    app, lid, admin = site["app"], site["lid"], site["admin"]
    app.erase_learner(system, lid, "Erasure request of 2026-11-20")
    before = position(app)
    response = admin.post("/admin/erasure", data={"csrf_token": csrf(admin), "learner_id": lid})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already erased" in field_error(html, "learner_id")
    assert NAME not in html
    # A confirmation sent after someone else erased it (another tab, the CLI): told so, nothing more written.
    response = confirm(admin, lid, NAME, REASON)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/erasure/done?reference={lid}&already=1"
    done = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "had already been erased" in done
    assert position(app) == before


def test_the_done_page_says_nothing_about_a_record_that_is_not_erased(site):
    admin = site["admin"]
    assert admin.get(f"/admin/erasure/done?reference={site['lid']}").status_code == 404
    assert admin.get(f"/admin/erasure/done?reference={uuid.uuid4()}").status_code == 404
    assert admin.get("/admin/erasure/done").status_code == 404


@pytest.mark.parametrize("role", ["tutor", "support", "send_lead", "auditor"])
def test_other_roles_are_refused_every_erasure_page_and_nothing_is_written(site, role):
    app, lid = site["app"], site["lid"]
    client = site["client_for"](site["world"]["users"][role])
    token = csrf(client)
    today = client.get("/").get_data(as_text=True)
    assert "/admin/erasure" not in today
    before = position(app)
    answers = [client.get("/admin/erasure"),
               client.post("/admin/erasure", data={"csrf_token": token, "learner_id": lid}),
               client.post("/admin/erasure/confirm", data={"csrf_token": token, "learner_id": lid,
                                                           "typed_name": NAME, "reason": REASON}),
               client.get(f"/admin/erasure/done?reference={lid}")]
    for response in answers:
        assert response.status_code == 403, (role, response.request.path, response.status_code)
        assert NAME not in response.get_data(as_text=True)
    assert position(app) == before


def test_the_service_lets_an_admin_erase_without_seeing_the_record(app, world, system):
    amy = world["learners"]["amy"]
    admin, lead = world["actors"]["admin"], world["actors"]["send_lead"]
    with pytest.raises(NotFound):
        app.learner(admin, amy)  # erasing is not seeing
    with pytest.raises(Forbidden):
        app.erasure_subject(lead, amy)
    with pytest.raises(Forbidden):
        app.erase_learner(lead, amy, "Erasure request")
    assert app.erasure_subject(admin, amy) == {"learner_id": amy, "erased": False, "name": "Amy Jones",
                                               "providers": {"northfield": True}}
    written = app.erase_learner(admin, amy, "Erasure request of 2026-11-20")
    assert written.created and written.position is not None
    assert app.erasure_subject(admin, amy)["erased"] is True
    with pytest.raises(NotFound):
        app.learner(admin, amy)  # still nothing to see, not even that it was erased


def test_the_learner_page_shows_the_record_reference_to_the_send_lead(site):
    lid = site["lid"]
    lead = site["client_for"](site["world"]["users"]["send_lead"]).get(f"/learners/{lid}").get_data(as_text=True)
    assert re.search(rf"Record reference: <span[^>]*>{lid}</span>", lead)

"""The tablet app's pages through Flask's test client: sign-in, CSRF, what the
shared-screen page leaves out, recording (plain form and outbox), undo, and
corrections with their error messages."""

import re
import uuid
from datetime import datetime, timedelta, timezone

from events import vocabulary
from tests.conftest import PASSWORD


def token_of(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, email="tutor@example.org", password=PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token_of(page)})


def page(client, path):
    response = client.get(path)
    return response, response.get_data(as_text=True)


def test_pages_need_sign_in(web):
    response = web.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_and_unknown_email_get_the_same_answer(web):
    wrong = sign_in(web, password="not the password")
    unknown = sign_in(web, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert 'value="nobody@example.org"' in unknown.get_data(as_text=True)  # what they typed is kept


def test_session_cookie_is_httponly_and_samesite(web):
    response = sign_in(web)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_without_a_csrf_token_are_refused(web, world):
    sign_in(web)
    response = web.post(f"/learners/{world['learners']['amy']}/observations",
                        data={"target_id": world["amy"]["target"], "rating": "secure"})
    assert response.status_code == 400
    login = web.post("/login", data={"email": "tutor@example.org", "password": PASSWORD})
    assert login.status_code == 400


def test_today_shows_the_caseload_and_nothing_sensitive(web, world, app, system):
    app.record_consent(system, world["learners"]["amy"], consent="photographs", given=False, reason="family asked")
    sign_in(web)
    response, html = page(web, "/")
    assert response.status_code == 200
    assert "Amy J." in html and "Ben" not in html  # only the caseload
    assert "Not observed yet" in html  # Amy has no observation yet
    for word in ("EHCP", "Jones", "2007-03-01", "photograph", "consent", "diagnos"):
        assert word not in html, word


def test_learner_page_groups_targets_by_pfa_area_and_outcome(web, world):
    sign_in(web)
    response, html = page(web, f"/learners/{world['learners']['amy']}")
    assert response.status_code == 200
    assert "Independent living" in html and "Travel to college on the bus" in html
    assert f'id="t-{world["amy"]["target"]}"' in html
    assert html.count('name="rating"') == 5 and 'role="img"' in html  # the rating buttons and the chart
    assert page(web, f"/learners/{world['learners']['ben']}")[0].status_code == 404  # not on the caseload


def outbox_post(client, learner_id, target_id, rating="secure", **extra):
    token = token_of(page(client, "/")[1])
    fields = {"id": str(uuid.uuid4()), "target_id": target_id, "rating": rating, "context": "classroom",
              "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()}
    fields.update(extra)
    response = client.post(f"/learners/{learner_id}/observations", data=fields,
                           headers={"X-CSRFToken": token, "X-Outbox": "1"})
    return response, fields


def test_recording_from_the_outbox_is_idempotent_and_shows_the_card(web, world, app, system):
    sign_in(web)
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    first, fields = outbox_post(web, amy, target)
    assert first.status_code == 201
    html = first.get_data(as_text=True)
    assert f'id="t-{target}"' in html and "Recorded" in html and "Undo" in html
    token = token_of(page(web, "/")[1])
    again = web.post(f"/learners/{amy}/observations", data=fields, headers={"X-CSRFToken": token, "X-Outbox": "1"})
    assert again.status_code == 200 and "Already recorded" in again.get_data(as_text=True)
    assert len(app.learner(system, amy).observations) == 1
    clash = web.post(f"/learners/{amy}/observations", data={**fields, "rating": "emerging"},
                     headers={"X-CSRFToken": token, "X-Outbox": "1"})
    assert clash.status_code == 409 and "already used" in clash.get_data(as_text=True)


def test_a_plain_form_post_works_without_scripts(web, world, app, system):
    sign_in(web)
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    token = token_of(page(web, "/")[1])
    response = web.post(f"/learners/{amy}/observations",
                        data={"csrf_token": token, "target_id": target, "rating": "developing",
                              "context": "home", "observed_at": "", "note": ""})
    assert response.status_code == 302 and f"#t-{target}" in response.headers["Location"]
    (entry,) = app.learner(system, amy).observations.values()
    assert entry.rating == "developing"


def test_bad_rating_is_a_readable_message_not_a_500(web, world):
    sign_in(web)
    response, _ = outbox_post(web, world["learners"]["amy"], world["amy"]["target"], rating="brilliant")
    assert response.status_code == 422 and "Rating" in response.get_data(as_text=True)


def test_undo_records_a_withdrawal(web, world, app, system):
    sign_in(web)
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    _, fields = outbox_post(web, amy, target)
    token = token_of(page(web, "/")[1])
    response = web.post(f"/learners/{amy}/observations/{fields['id']}/undo", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200 and "Undone" in response.get_data(as_text=True)
    kinds = [type(e).__name__ for e in app.learner_events(system, amy)]
    assert kinds[-1] == "ObservationWithdrawn" and "ObservationRecorded" in kinds


def test_correction_needs_a_reason_and_keeps_what_was_typed(web, world, app, system):
    sign_in(web)
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    _, fields = outbox_post(web, amy, target, rating="secure")
    path = f"/learners/{amy}/observations/{fields['id']}"
    token = token_of(page(web, path)[1])
    response = web.post(path, data={"csrf_token": token, "action": "correct", "rating": "emerging",
                                    "note": "Checked with the diary", "reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#f-reason"' in html and 'id="f-reason"' in html  # the summary links to the field
    assert "Checked with the diary" in html
    done = web.post(path, data={"csrf_token": token, "action": "correct", "rating": "emerging",
                                "note": "Checked with the diary", "reason": "Wrong button"})
    assert done.status_code == 302
    _, html = page(web, path + "?history=1")
    assert "(corrected)" in html and "Corrected" in html and "Wrong button" in html
    assert app.learner(system, amy).observation(fields["id"]).rating == "emerging"


def test_an_administrator_sees_no_learner_records(web, world):
    sign_in(web, "admin@example.org")
    _, html = page(web, "/")
    assert "learner records are not shown" in html and "Amy" not in html


def test_shell_files_are_served(web):
    sw = web.get("/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript" and "rarpa-shell-" in sw.get_data(as_text=True)
    manifest = web.get("/manifest.webmanifest").get_json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        response = web.get(icon["src"])
        assert response.status_code == 200 and response.mimetype == "image/png"
    htmx = web.get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.get_data()[:2000]
    assert web.get("/static/vendor/../../pyproject.toml").status_code == 404


def test_sign_out_ends_the_session(web):
    sign_in(web)
    token = token_of(page(web, "/")[1])
    assert web.post("/logout", data={"csrf_token": token}).status_code == 302
    assert web.get("/").status_code == 302


def test_withdrawal_needs_a_reason_and_the_summary_links_to_its_own_field(web, world):
    sign_in(web)
    amy, target = world["learners"]["amy"], world["amy"]["target"]
    _, fields = outbox_post(web, amy, target)
    path = f"/learners/{amy}/observations/{fields['id']}"
    token = token_of(page(web, path)[1])
    response = web.post(path, data={"csrf_token": token, "action": "withdraw", "reason": " "})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#w-reason"' in html and 'id="w-reason-error"' in html
    assert 'id="reason-error"' not in html  # the correction form is not blamed


def test_every_view_of_a_learners_page_is_logged_whoever_opens_it(web, world, app):
    """Not only auditors: every role's view of a learner's record is one entry in
    the access log, written before the page is shown (tests/test_timeline_pages.py
    goes through every page)."""
    amy = world["learners"]["amy"]
    for email, role in (("tutor@example.org", "tutor"), ("auditor@example.org", "auditor")):
        client = web.application.test_client()
        sign_in(client, email)
        before = len(app.vault.access.entries(amy))
        assert page(client, f"/learners/{amy}")[0].status_code == 200
        entries = app.vault.access.entries(amy)
        assert len(entries) == before + 1
        assert (entries[-1]["action"], entries[-1]["role"], entries[-1]["user_id"], entries[-1]["detail"]) == (
            "learner page", role, str(app.user(email).id), f"/learners/{amy}")
    _, html = page(client, "/")
    assert "Amy J." in html and "Ben S." in html  # auditors see everyone, read-only
    assert 'name="rating"' not in page(client, f"/learners/{amy}")[1]  # no record buttons for auditors
    assert not [e for e in app.vault.access.entries() if e["action"] != "learner page"]  # Today is no one's record


def test_a_page_the_role_may_not_use_answers_with_a_page_not_json(web, world):
    """An auditor opening the self-assessment form, a learner erased or out of
    sight: the browser gets a readable page, never an API problem document."""
    sign_in(web, "auditor@example.org")
    response, text = page(web, f"/learners/{world['learners']['amy']}/self-assessment")
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "Your role does not allow this." in text


def test_every_vocabulary_value_has_its_words():
    """The words people read come from events.vocabulary, for every value."""
    v = vocabulary
    for key, values in (("ratings", v.RATINGS), ("prompts", v.PROMPT_LEVELS), ("contexts", v.CONTEXTS),
                        ("areas", v.PFA_AREAS), ("closed_as", v.TARGET_CLOSED_AS),
                        ("changes", (*v.REVISION_KINDS, "closed")), ("decisions", v.REVIEW_DECISIONS),
                        ("answers", v.SELF_ASSESSMENT_ANSWERS), ("destinations", v.DESTINATIONS),
                        ("recommendations", v.RECOMMENDATIONS), ("roles", (*v.ACCOUNT_ROLES, "system"))):
        assert set(v.WORDS[key]) == set(values), key
    for key, words in v.PACK_WORDS.items():
        assert set(words) == set(v.WORDS[key]), key

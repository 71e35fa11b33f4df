"""Learner mode and the learner's own pages, through Flask's test client
(web/learner_mode.py, web/my_progress.py): a session handed to a learner
reaches nothing but that learner's easy-read pages and writes nothing but
their self-assessment until the staff member's password unlocks it; a target
in the learner's own words (TargetWordedForLearner) from the event to the
projection, the pages and the API, refusals by field with nothing written."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from rarpa.read import my_progress, queries
from tests.conftest import PASSWORD, observation
from tests.test_photos import noise_jpeg
from tests.test_web import sign_in, token_of
from tests.localhost import db_env


# --- the world: Amy (the tutor's), Cara (also the tutor's), Ben (riverside's) -------------------
@pytest.fixture
def amy(app, world, system):
    """Amy with a second target, observations with help and on her own, a photo, consent to photographs."""
    lid = world["learners"]["amy"]
    app.record_consent(system, lid, consent="photographs", given=True, reason="Asked Amy")
    first = world["amy"]["target"]
    second = app.set_target(system, lid, text="Make a cup of tea safely", success_criteria="Kettle and mug, no help",
                            outcome_ids=[world["amy"]["outcome"]], baseline="not_yet", review_by="2027-01-15").result
    app.record_observation(system, lid, **observation(first, "developing", minutes_ago=60 * 24 * 3,
                                                        prompt_level="verbal", context="community"))
    seen = observation(first, "secure", minutes_ago=30, prompt_level="independent", context="work_placement",
                       new_to_learner=["place"])
    app.record_observation(system, lid, **seen)
    photo = app.attach_photo(system, lid, observation_id=seen["observation_id"], photo=noise_jpeg(160, 120)).result
    return {"lid": lid, "target": first, "second": second, "observation": seen["observation_id"],
            "photo": photo["photo_id"]}


@pytest.fixture
def cara(app, world, system):
    """Another learner on the tutor's caseload: in sight, so only learner mode keeps her out."""
    lid = app.enrol_learner(system, name="Cara Patel", date_of_birth="2006-02-02", provider="northfield").result
    outcome = app.record_outcome(system, lid, text="Cook a meal", pfa_area="independent_living", due="2027-07-01").result
    target = app.set_target(system, lid, text="Chop vegetables", success_criteria="Safely", outcome_ids=[outcome],
                            baseline="emerging", review_by="2027-01-15").result
    app.add_to_caseload(system, "tutor@example.org", lid)
    return {"lid": lid, "target": target}


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def csrf(client, path="/") -> str:
    return token_of(client.get(path).get_data(as_text=True))


def hand_over(web, lid: str):
    token = csrf(web)
    return web.post(f"/learners/{lid}/learner-mode", data={"csrf_token": token})


def my_progress_path(lid: str) -> str:
    return f"/learners/{lid}/me"


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# --- handing over --------------------------------------------------------------------------------
def test_handing_over_locks_the_session_to_the_learners_own_pages(app, web, world, amy, cara):
    assert sign_in(web).status_code == 302
    handed = hand_over(web, amy["lid"])
    assert handed.status_code == 303 and handed.headers["Location"].endswith(my_progress_path(amy["lid"]))

    page = web.get(my_progress_path(amy["lid"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["X-Learner-Mode"] == amy["lid"]
    assert "How I am doing" in html and "Hello Amy." in html
    # The locked layout: no sign out, no way back to staff pages, no other learner.
    for staff in ("Sign out", "Back to", "Hand to", 'href="/"', f'href="/learners/{amy["lid"]}"', "/plan",
                  "Today", "Cara", "Ben"):
        assert staff not in html, staff
    assert 'href="/learner-mode/unlock"' in html  # the way out, for staff

    # Every other page goes to her "My progress": another learner (in the tutor's sight), Today,
    # her own staff pages, staff pages, signing in as someone else, the API with the cookie.
    elsewhere = ["/", f"/learners/{cara['lid']}", f"/learners/{cara['lid']}/me", f"/learners/{amy['lid']}",
                 f"/learners/{amy['lid']}/plan", f"/learners/{amy['lid']}/evidence",
                 f"/learners/{amy['lid']}/self-assessment", f"/learners/{amy['lid']}/annual-review",
                 f"/learners/{amy['lid']}/targets/{amy['target']}/learner-words",
                 f"/learners/{amy['lid']}/observations/{amy['observation']}",
                 f"/learners/{amy['lid']}/observations/{amy['observation']}/photos/{amy['photo']}",
                 f"/learners/{cara['lid']}/me/targets/{cara['target']}", "/group", "/cohort", "/admin",
                 "/confirm", "/login", "/fingerprint", "/api/v1/learners", f"/api/v1/learners/{amy['lid']}/progress",
                 "/no/such/page"]
    for path in elsewhere:
        response = web.get(path)
        assert response.status_code == 303, (path, response.status_code)
        assert response.headers["Location"].endswith(my_progress_path(amy["lid"])), path
    # ...and her own pages answer: a target, her self-assessment, the photo beside what she did.
    assert web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}").status_code == 200
    assert web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}/how-did-it-go").status_code == 200
    thumb = web.get(f"/learners/{amy['lid']}/observations/{amy['observation']}/photos/{amy['photo']}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert web.get("/static/easy_read.js").status_code == 200 and web.get("/sw.js").status_code == 200


def test_nothing_can_be_written_while_locked_but_the_learners_self_assessment(app, web, world, amy, cara):
    sign_in(web)
    hand_over(web, amy["lid"])
    say = f"/learners/{amy['lid']}/me/targets/{amy['target']}/how-did-it-go"
    token = form_token(web.get(say).get_data(as_text=True))
    now = datetime.now(timezone.utc).isoformat()
    writes = {
        f"/learners/{amy['lid']}/observations": {"target_id": amy["target"], "rating": "secure", "observed_at": now},
        f"/learners/{amy['lid']}/self-assessment": {"target_id": amy["target"], "answer": "on_my_own"},
        f"/learners/{amy['lid']}/targets/{amy['target']}/learner-words": {"words": "My ticket"},
        f"/learners/{amy['lid']}/plan/targets/{amy['target']}/close": {"closed_as": "achieved", "reason": "Done"},
        f"/learners/{cara['lid']}/me/targets/{cara['target']}/how-did-it-go": {"answer": "on_my_own"},
        f"/learners/{cara['lid']}/learner-mode": {},
        f"/learners/{amy['lid']}/learner-mode": {},
        "/logout": {},
        "/login": {"email": "lead@example.org", "password": PASSWORD},
        "/confirm": {"password": PASSWORD},
    }
    for path, body in writes.items():
        before = position(app)
        response = web.post(path, data={"csrf_token": token, **body})
        assert response.status_code == 403, (path, response.status_code)
        assert position(app) == before, path
        assert "Back to my pages" in response.get_data(as_text=True)  # the easy-read page, not a staff one
    # The API with the session cookie: refused too.
    before = position(app)
    api = web.post(f"/api/v1/learners/{amy['lid']}/self-assessments", json={"target_id": amy["target"],
                                                                             "answer": "with_help"})
    assert api.status_code == 403 and position(app) == before
    # The tablet's outbox (observations the tutor made before handing over) is told to wait, not refused.
    outbox = web.post(f"/learners/{amy['lid']}/observations", headers={"X-Outbox": "1", "X-CSRFToken": token},
                      data={"target_id": amy["target"], "rating": "secure", "observed_at": now})
    assert outbox.status_code == 503 and outbox.headers["Retry-After"] and position(app) == before
    # Still locked after all that (signing out was refused).
    assert web.get("/").status_code == 303

    # Without an answer it is refused by its field, on her own page, and nothing is written.
    refused = web.post(say, data={"csrf_token": token, "words": "I did it all"})
    assert refused.status_code == 422 and position(app) == before
    assert 'href="#answer">Choose how it went</a>' in refused.get_data(as_text=True)
    # Her self-assessment is written, and shown back to her.
    said = web.post(say, data={"csrf_token": token, "answer": "on_my_own", "words": "I did it all"})
    assert said.status_code == 302 and position(app) > before
    stored = [e for e in app.learner_events(world["actors"]["tutor"], amy["lid"])][-1]
    assert type(stored).__name__ == "SelfAssessmentRecorded"
    assert (stored.target_id, stored.answer, stored.words) == (amy["target"], "on_my_own", "I did it all")
    html = web.get(said.headers["Location"]).get_data(as_text=True)
    assert "Thank you. We saved your answer." in html
    assert "Today you said: on my own. Your words: “I did it all”" in html


def test_a_wrong_password_keeps_the_lock_and_the_right_one_ends_it(app, web, world, amy):
    sign_in(web)
    hand_over(web, amy["lid"])
    page = web.get("/learner-mode/unlock")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "tutor@example.org" in html and "Sign out" not in html
    token = form_token(html)

    empty = web.post("/learner-mode/unlock", data={"csrf_token": token, "password": ""})
    assert empty.status_code == 422 and "Enter your password" in empty.get_data(as_text=True)
    wrong = web.post("/learner-mode/unlock", data={"csrf_token": token, "password": PASSWORD + "!"})
    assert wrong.status_code == 401 and "That is not the password of the person signed in" in wrong.get_data(as_text=True)
    assert wrong.headers["X-Learner-Mode"] == amy["lid"]
    # Someone else's password is not the signed-in person's.
    other = web.post("/learner-mode/unlock", data={"csrf_token": token, "password": "not the lead's either"})
    assert other.status_code == 401
    assert web.get("/").status_code == 303  # still locked

    right = web.post("/learner-mode/unlock", data={"csrf_token": token, "password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"].endswith(f"/learners/{amy['lid']}")
    back = web.get(f"/learners/{amy['lid']}")
    assert back.status_code == 200 and back.headers["X-Learner-Mode"] == "off"
    assert "Unlocked: the tablet is yours again." in back.get_data(as_text=True)
    assert web.get("/").status_code == 200
    # Unlocked, the unlock screen has nothing to do: to Today.
    again = web.get("/learner-mode/unlock")
    assert again.status_code == 303 and again.headers["Location"].endswith("/")


def test_the_unlock_has_the_limits_of_signing_in(app, web, world, amy):
    """Five wrong passwords lock the (account, address) pair: the sixth try, even the
    right password, is refused (429, Retry-After) and the tablet stays locked."""
    sign_in(web)
    hand_over(web, amy["lid"])
    token = form_token(web.get("/learner-mode/unlock").get_data(as_text=True))
    for _ in range(app.settings.login_lockout_after):
        assert web.post("/learner-mode/unlock", data={"csrf_token": token, "password": "guess"}).status_code == 401
    refused = web.post("/learner-mode/unlock", data={"csrf_token": token, "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert web.get("/").status_code == 303


def test_the_unlock_counts_with_signing_in_per_address(tmp_path, world):
    """One count per address for POST /login, /confirm and the unlock (RARPA_LOGIN_LIMIT_PER_ADDRESS)."""
    from rarpa.config import Settings
    from web import create_app
    from web.services import Services

    settings = Settings.from_env({**db_env(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest",
                                  "RARPA_LOGIN_LIMIT_PER_ADDRESS": "3 per minute"})
    services = Services(settings)
    try:
        client = create_app(services=services).test_client()
        assert sign_in(client).status_code == 302  # one
        hand_over(client, world["learners"]["amy"])
        token = form_token(client.get("/learner-mode/unlock").get_data(as_text=True))
        for _ in range(2):  # two and three
            assert client.post("/learner-mode/unlock", data={"csrf_token": token, "password": "guess"}).status_code == 401
        refused = client.post("/learner-mode/unlock", data={"csrf_token": token, "password": PASSWORD})
        assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
        assert client.get("/").status_code == 303  # still locked
    finally:
        services.close()


def test_only_someone_who_records_for_the_learner_can_hand_over(app, web, world, amy):
    sign_in(web, "auditor@example.org")
    refused = hand_over(web, amy["lid"])
    assert refused.status_code == 403
    assert web.get("/").status_code == 200  # not locked
    assert web.get(my_progress_path(amy["lid"])).status_code == 200  # an auditor may look (READ)
    web.post("/logout", data={"csrf_token": csrf(web)})
    sign_in(web)  # the tutor: Ben is not theirs
    assert hand_over(web, world["learners"]["ben"]).status_code == 404
    assert web.get("/").status_code == 200


def test_an_unlock_screen_needs_a_session(web):
    response = web.get("/learner-mode/unlock")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the learner's own pages ------------------------------------------------------------------
def test_my_progress_says_where_they_are_as_a_picture_and_what_they_did_in_plain_words(app, web, world, amy):
    sign_in(web)
    overview = web.get(my_progress_path(amy["lid"])).get_data(as_text=True)
    # A big card with a symbol for each open target, the staff wording until their own is written.
    assert overview.count('class="er-card"') == 2 and "Buy a bus ticket" in overview
    assert "Staff view: Amy’s own pages" in overview and "Hand to Amy" in overview  # not handed over yet

    html = web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}").get_data(as_text=True)
    ladder = re.search(r'<svg class="er-ladder".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in ladder and "<title" in ladder and "You started here. You are here now." in ladder
    assert ">Start<" in ladder and ">Now<" in ladder
    words = re.sub(r"<[^>]+>", " ", html)
    # Never a number for progress: no ratings, no steps counted, no distance.
    for jargon in ("emerging", "developing", "secure", "generalised", "step 2", "of 5", "+2", "distance"):
        assert jargon not in words.lower(), jargon
    assert "You have gone up. Well done!" in words
    # What she did, newest first, in plain words, with the photo (consent given).
    assert "Today you did this at work. You did it on your own. It was a new place." in " ".join(words.split())
    assert "you did this out and about. Someone told you what to do." in " ".join(words.split())
    assert f"/photos/{amy['photo']}/thumbnail" in html and 'alt="A photo of you, today"' in html
    assert "Read it to me" in html

    # Consent to photographs withdrawn: no photo shown.
    app.record_consent(world["actors"]["send_lead"], amy["lid"], consent="photographs", given=False, reason="Changed mind")
    html = web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}").get_data(as_text=True)
    assert "/thumbnail" not in html

    # A target not yet observed: only where they started.
    fresh = web.get(f"/learners/{amy['lid']}/me/targets/{amy['second']}").get_data(as_text=True)
    assert "You started here.</title>" in fresh and ">Now<" not in fresh


def test_every_view_of_the_learners_own_pages_is_logged(app, web, world, amy):
    sign_in(web)
    before = len(app.vault.access.entries(amy["lid"]))
    web.get(my_progress_path(amy["lid"]))
    web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}")
    web.get(f"/learners/{amy['lid']}/me/targets/{amy['target']}/how-did-it-go")
    web.get(f"/learners/{amy['lid']}/targets/{amy['target']}/learner-words")
    logged = [e["action"] for e in app.vault.access.entries(amy["lid"])[before:]]
    assert logged == ["my progress", "my progress: a target", "my self-assessment", "target in the learner's words"]


def test_self_assessment_without_an_answer_is_refused_by_its_field_and_nothing_is_written(app, web, world, amy):
    sign_in(web)
    say = f"/learners/{amy['lid']}/me/targets/{amy['target']}/how-did-it-go"
    token = form_token(web.get(say).get_data(as_text=True))
    before = position(app)
    refused = web.post(say, data={"csrf_token": token, "words": "It was hard"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and position(app) == before
    assert 'href="#answer">Choose how it went</a>' in html  # the error summary, linking to the buttons
    assert 'id="answer-error"' in html and "It was hard</textarea>" in html  # the words kept
    answered = web.post(say, data={"csrf_token": token, "answer": "with_help"})
    assert answered.status_code == 302 and position(app) > before
    # A later answer is shown back after the earlier ones.
    web.post(say, data={"csrf_token": token, "answer": "on_my_own"})
    shown = web.get(say).get_data(as_text=True)
    assert shown.index("Today you said: with help.") < shown.index("Today you said: on my own.")


# --- a target in the learner's own words -----------------------------------------------------------
def test_the_learners_words_are_an_event_a_projection_and_what_they_see(app, projector, web, world, amy):
    tutor = world["actors"]["tutor"]  # RECORD, not PLAN: the tutor writes it with the learner
    written = app.word_target_for_learner(tutor, amy["lid"], target_id=amy["target"], words="  Buy my bus ticket ")
    event = list(app.learner_events(tutor, amy["lid"]))[-1]
    assert type(event).__name__ == "TargetWordedForLearner"
    assert (event.target_id, event.words, event.reason) == (amy["target"], "Buy my bus ticket", "Written with the learner")
    assert written.position
    projector.catch_up()
    conn = projector.reader()
    assert my_progress.target(conn, amy["lid"], amy["target"])["words"] == "Buy my bus ticket"
    # The plan is unchanged: the staff wording stays, and progress answers as it did.
    assert queries.target(conn, amy["lid"], amy["target"])["text"] == "Buy a bus ticket"
    assert "learner_words" not in queries.progress(conn, amy["lid"])["targets"][0]
    # A later wording replaces it; rebuilt from the events, the same.
    app.word_target_for_learner(tutor, amy["lid"], target_id=amy["target"], words="Get my ticket", reason="Amy said it better")
    projector.catch_up()
    assert my_progress.learner_words(projector.reader(), amy["lid"]) == {amy["target"]: "Get my ticket"}
    projector.rebuild()
    assert my_progress.learner_words(projector.reader(), amy["lid"]) == {amy["target"]: "Get my ticket"}

    sign_in(web)
    for path in (my_progress_path(amy["lid"]), f"/learners/{amy['lid']}/me/targets/{amy['target']}",
                 f"/learners/{amy['lid']}/me/targets/{amy['target']}/how-did-it-go",
                 f"/learners/{amy['lid']}/self-assessment"):  # the staff's "How am I doing?", with the learner
        html = web.get(path).get_data(as_text=True)
        assert "Get my ticket" in html and "Buy a bus ticket" not in html, path


def test_the_plan_page_has_a_box_for_each_targets_learner_words(app, web, world, amy):
    sign_in(web, "lead@example.org")
    plan = web.get(f"/learners/{amy['lid']}/plan").get_data(as_text=True)
    assert plan.count("In Amy’s own words</label>") == 2 and "Write it with Amy. Short words, one idea." in plan
    token = form_token(plan)
    saved = web.post(f"/learners/{amy['lid']}/targets/{amy['target']}/learner-words",
                     data={"csrf_token": token, "words": "Buy my bus ticket", "back": "plan"})
    assert saved.status_code == 302 and f"/learners/{amy['lid']}/plan?done=words#t-{amy['target']}" in saved.headers["Location"]
    plan = web.get(saved.headers["Location"]).get_data(as_text=True)
    assert "The target is saved in Amy’s own words." in plan and 'value="Buy my bus ticket"' in plan


@pytest.mark.parametrize("words, message", [
    ("", "Enter Amy’s own words"),
    ("   ", "Enter Amy’s own words"),
    ("Buy my\nbus ticket", "In Amy’s own words must be on one line"),
    ("x" * 201, "In Amy’s own words must be 200 characters or fewer"),
])
def test_the_words_form_refuses_by_its_field_and_writes_nothing(app, web, world, amy, words, message):
    sign_in(web)  # the tutor (RECORD)
    path = f"/learners/{amy['lid']}/targets/{amy['target']}/learner-words"
    page = web.get(path).get_data(as_text=True)
    assert "In Amy’s own words</label>" in page and "Buy a bus ticket" in page
    before = position(app)
    refused = web.post(path, data={"csrf_token": form_token(page), "words": words})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and position(app) == before
    assert f'href="#words">{message}' in html  # the summary, linking to the field
    assert 'id="words-error"' in html and message in html.split('id="words-error"')[1][:300]


def test_the_api_writes_the_learners_words_and_refuses_bad_input_writing_nothing(app, web, world, amy):
    tutor = {"Authorization": f"Bearer {app.create_token('tutor@example.org')}"}
    path = f"/api/v1/learners/{amy['lid']}/targets/{amy['target']}/learner-words"
    bad = [
        ({}, "words"),
        ({"words": ""}, "words"),
        ({"words": "   "}, "words"),
        ({"words": "two\nlines"}, "words"),
        ({"words": "x" * 201}, "words"),
        ({"words": 7}, "words"),
        ({"words": "Buy my ticket", "colour": "red"}, "colour"),
        ({"words": "Buy my ticket", "reason": ""}, "reason"),
    ]
    for body, field in bad:
        before = position(app)
        response = web.post(path, json=body, headers=tutor)
        assert response.status_code == 422, (body, response.status_code)
        assert field in response.get_json()["errors"], (body, response.get_json())
        assert position(app) == before, body
    unknown = web.post(f"/api/v1/learners/{amy['lid']}/targets/{amy['lid']}/learner-words",
                       json={"words": "Buy my ticket"}, headers=tutor)
    assert unknown.status_code == 422 and "target_id" in unknown.get_json()["errors"]
    before = position(app)
    auditor = {"Authorization": f"Bearer {app.create_token('auditor@example.org')}"}
    assert web.post(path, json={"words": "Buy my ticket"}, headers=auditor).status_code == 403
    assert position(app) == before

    made = web.post(path, json={"words": "Buy my ticket"}, headers=tutor)
    assert made.status_code == 201 and position(app) > before
    body = made.get_json()
    assert (body["id"], body["text"], body["learner_words"]) == (amy["target"], "Buy a bus ticket", "Buy my ticket")
    support = {"Authorization": f"Bearer {app.create_token('support@example.org')}"}
    assert web.post(path, json={"words": "Get my ticket"}, headers=support).status_code == 201

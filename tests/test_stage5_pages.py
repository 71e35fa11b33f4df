"""Stage 5 on the web, and consents (web/stage5.py), through Flask's test client:
each form's happy path; each refusal named by its field in plain words, with
nothing written; 403 for a role that may not, 404 for a learner out of sight;
consent never on Today; the judgements in the annual-review pack; and the new
API route for an outcome's summative judgement."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from rarpa.record import measures
from tests.test_web import sign_in, token_of

TODAY = datetime.now(timezone.utc).date()


# --- helpers ------------------------------------------------------------------------------------
def html_of(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict):
    token = token_of(html_of(client.get("/")))
    return client.post(path, data={"csrf_token": token, **data})


def field_error(html: str, field: str) -> str:
    """The message shown beside a field (the _form.html macros' "<field>-error")."""
    found = re.search(rf'id="{re.escape(field)}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>', html)
    return found.group(1) if found else ""


def summary_links(html: str) -> dict[str, str]:
    """The error summary: each link's target field and its words."""
    box = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    return dict(re.findall(r'<a href="#([^"]+)">([^<]*)</a>', box.group(0))) if box else {}


def last_event(app, system, lid: str):
    return list(app.learner_events(system, lid))[-1]


@pytest.fixture
def ids(world):
    amy = world["learners"]["amy"]
    return {"amy": amy, "ben": world["learners"]["ben"], "target": world["amy"]["target"],
            "outcome": world["amy"]["outcome"]}


@pytest.fixture
def lead(web):
    sign_in(web, "lead@example.org")
    return web


# --- the end-of-programme page ------------------------------------------------------------------
def test_the_end_of_programme_page_has_a_form_for_each_open_target_and_outcome(lead, ids):
    response = lead.get(f"/learners/{ids['amy']}/end-of-programme")
    html = html_of(response)
    assert response.status_code == 200
    assert "End of programme: Amy J." in html and "Buy a bus ticket" in html and "Travel to college on the bus" in html
    assert f'action="/learners/{ids["amy"]}/end-of-programme/targets/{ids["target"]}"' in html
    assert f'action="/learners/{ids["amy"]}/end-of-programme/outcomes/{ids["outcome"]}"' in html
    assert html.count(f'name="rating-{ids["target"]}"') == 5  # the rating scale, as chips
    assert html.count(f'name="judgement-{ids["outcome"]}"') == 3  # achieved, partly, not achieved
    assert "Partly achieved" in html and "partly_achieved<" not in html  # words, never codes


@pytest.mark.parametrize("who, forms, links", [
    ("tutor@example.org", False, ["Something nobody planned", "Agree a next step"]),
    ("support@example.org", False, ["Something nobody planned"]),
    ("auditor@example.org", False, []),
])
def test_others_who_see_the_learner_read_the_page_with_only_the_forms_they_may_use(web, ids, who, forms, links):
    sign_in(web, who)
    html = html_of(web.get(f"/learners/{ids['amy']}/end-of-programme"))
    assert "Buy a bus ticket" in html
    assert ("/end-of-programme/targets/" in html) is forms and ("/end-of-programme/outcomes/" in html) is forms
    for words in ("Something nobody planned", "Agree a next step", "Record a destination"):
        assert (f">{words}</a>" in html) == (words in links), words


def test_a_target_judgement_is_saved_and_shown(lead, ids, app, system):
    tid = ids["target"]
    response = post(lead, f"/learners/{ids['amy']}/end-of-programme/targets/{tid}",
                    {f"rating-{tid}": "secure", f"summary-{tid}": "Buys a ticket on her own",
                     f"assessed_on-{tid}": TODAY.isoformat()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#t-{tid}")
    event = last_event(app, system, ids["amy"])
    assert type(event).__name__ == "SummativeAssessmentRecorded"
    assert (event.target_id, event.rating, event.summary, event.role) == (tid, "secure", "Buys a ticket on her own",
                                                                          "send_lead")
    html = html_of(lead.get(response.headers["Location"]))
    assert "The judgement is saved." in html and "Judged secure" in html and "Buys a ticket on her own" in html


@pytest.mark.parametrize("change, field, words", [
    ({"rating": ""}, "rating", "Choose a judgement"),
    ({"rating": "brilliant"}, "rating", "Choose a judgement"),
    ({"summary": "  "}, "summary", "Enter a summary of what the learner can do now"),
    ({"assessed_on": "2026-02-30"}, "assessed_on", "Date of the judgement must be a real date, like 27 3 2026"),
    ({"assessed_on": ""}, "assessed_on", "Enter the date of the judgement"),
])
def test_a_target_judgement_refused_names_its_field_and_writes_nothing(lead, ids, app, change, field, words):
    tid = ids["target"]
    body = {"rating": "secure", "summary": "Buys a ticket on her own", "assessed_on": TODAY.isoformat(), **change}
    before = app.recorder.max_notification_id()
    response = post(lead, f"/learners/{ids['amy']}/end-of-programme/targets/{tid}",
                    {f"{k}-{tid}": v for k, v in body.items()})
    html = html_of(response)
    assert response.status_code == 422
    assert field_error(html, f"{field}-{tid}") == words
    assert summary_links(html) == {f"{field}-{tid}": words}
    assert app.recorder.max_notification_id() == before
    if field != "summary":
        assert "Buys a ticket on her own</textarea>" in html  # what was typed is kept


def test_an_outcome_judgement_is_saved_and_shown(lead, ids, app, system):
    oid = ids["outcome"]
    response = post(lead, f"/learners/{ids['amy']}/end-of-programme/outcomes/{oid}",
                    {f"judgement-{oid}": "partly_achieved", f"summary-{oid}": "Travels with a buddy",
                     f"assessed_on-{oid}": TODAY.isoformat()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#o-{oid}")
    event = last_event(app, system, ids["amy"])
    assert type(event).__name__ == "OutcomeSummativeRecorded"
    assert (event.outcome_id, event.judgement, event.summary) == (oid, "partly_achieved", "Travels with a buddy")
    html = html_of(lead.get(response.headers["Location"]))
    assert "<strong>Partly achieved</strong>" in html and "Travels with a buddy" in html


@pytest.mark.parametrize("change, field, words", [
    ({"judgement": ""}, "judgement", "Choose whether the outcome was met"),
    ({"judgement": "continue"}, "judgement", "Choose whether the outcome was met"),  # a recommendation, not a judgement
    ({"summary": ""}, "summary", "Enter why, in a sentence or two"),
    ({"assessed_on": (TODAY + timedelta(days=2)).isoformat()}, "assessed_on",
     "Date of the judgement cannot be in the future"),
])
def test_an_outcome_judgement_refused_names_its_field_and_writes_nothing(lead, ids, app, change, field, words):
    oid = ids["outcome"]
    body = {"judgement": "achieved", "summary": "Travels alone", "assessed_on": TODAY.isoformat(), **change}
    before = app.recorder.max_notification_id()
    response = post(lead, f"/learners/{ids['amy']}/end-of-programme/outcomes/{oid}",
                    {f"{k}-{oid}": v for k, v in body.items()})
    html = html_of(response)
    assert response.status_code == 422
    assert field_error(html, f"{field}-{oid}") == words
    assert summary_links(html) == {f"{field}-{oid}": words}
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("who", ["tutor@example.org", "support@example.org", "auditor@example.org"])
def test_only_a_send_lead_records_judgements(web, ids, app, who):
    sign_in(web, who)
    tid, oid = ids["target"], ids["outcome"]
    before = app.recorder.max_notification_id()
    for path, body in ((f"/learners/{ids['amy']}/end-of-programme/targets/{tid}",
                        {f"rating-{tid}": "secure", f"summary-{tid}": "x", f"assessed_on-{tid}": TODAY.isoformat()}),
                       (f"/learners/{ids['amy']}/end-of-programme/outcomes/{oid}",
                        {f"judgement-{oid}": "achieved", f"summary-{oid}": "x",
                         f"assessed_on-{oid}": TODAY.isoformat()})):
        assert post(web, path, body).status_code == 403, path
    assert app.recorder.max_notification_id() == before


def test_a_target_or_outcome_of_another_learner_is_not_found(lead, world, ids, app):
    ben = world["ben"]
    before = app.recorder.max_notification_id()
    wrong_target = post(lead, f"/learners/{ids['amy']}/end-of-programme/targets/{ben['target']}",
                        {f"rating-{ben['target']}": "secure", f"summary-{ben['target']}": "x",
                         f"assessed_on-{ben['target']}": TODAY.isoformat()})
    wrong_outcome = post(lead, f"/learners/{ids['amy']}/end-of-programme/outcomes/{uuid.uuid4()}", {})
    assert wrong_target.status_code == wrong_outcome.status_code == 404
    assert app.recorder.max_notification_id() == before


# --- unplanned outcomes, next steps, destinations ---------------------------------------------------
def test_a_tutor_records_something_nobody_planned(web, ids, app, system):
    sign_in(web)
    path = f"/learners/{ids['amy']}/unplanned-outcomes/new"
    page = html_of(web.get(path))
    assert "Something nobody planned: Amy J." in page and f'value="{TODAY.isoformat()}"' in page
    response = post(web, path, {"text": "Helped a new student find the canteen", "recognised_on": TODAY.isoformat(),
                                "pfa_area": "community", "context": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith("#unplanned")
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.text, event.pfa_area, event.context) == (
        "UnplannedOutcomeRecognised", "Helped a new student find the canteen", "community", None)
    assert "Helped a new student find the canteen" in html_of(web.get(response.headers["Location"]))


@pytest.mark.parametrize("body, field, words", [
    ({"text": "", "recognised_on": TODAY.isoformat()}, "text", "Enter what the learner achieved"),
    ({"text": "Joined a choir", "recognised_on": "yesterday"}, "recognised_on",
     "When it was recognised must be a real date, like 27 3 2026"),
    ({"text": "Joined a choir", "recognised_on": TODAY.isoformat(), "pfa_area": "music"}, "pfa_area",
     "Choose a Preparing for Adulthood area"),
])
def test_an_unplanned_outcome_refused_names_its_field_and_writes_nothing(web, ids, app, body, field, words):
    sign_in(web)
    before = app.recorder.max_notification_id()
    response = post(web, f"/learners/{ids['amy']}/unplanned-outcomes/new", body)
    html = html_of(response)
    assert response.status_code == 422
    assert field_error(html, field) == words and summary_links(html) == {field: words}
    assert app.recorder.max_notification_id() == before


def test_a_next_step_is_agreed_and_refused_without_a_date(web, ids, app, system):
    sign_in(web)  # a tutor may hold reviews, so may agree next steps
    path = f"/learners/{ids['amy']}/next-steps/new"
    before = app.recorder.max_notification_id()
    refused = post(web, path, {"text": "Apply for a supported internship", "agreed_on": ""})
    assert refused.status_code == 422
    assert field_error(html_of(refused), "agreed_on") == "Enter the date it was agreed"
    assert "Apply for a supported internship</textarea>" in html_of(refused)
    assert app.recorder.max_notification_id() == before
    done = post(web, path, {"text": "Apply for a supported internship", "agreed_on": TODAY.isoformat()})
    assert done.status_code == 302
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.text, event.role) == ("NextStepAgreed", "Apply for a supported internship",
                                                              "tutor")


def test_support_staff_may_not_agree_next_steps(web, ids, app):
    sign_in(web, "support@example.org")
    path = f"/learners/{ids['amy']}/next-steps/new"
    before = app.recorder.max_notification_id()
    assert web.get(path).status_code == 403
    assert post(web, path, {"text": "x", "agreed_on": TODAY.isoformat()}).status_code == 403
    assert app.recorder.max_notification_id() == before


def test_a_destination_is_recorded_and_says_when_it_can_be_confirmed(lead, ids, app, system):
    path = f"/learners/{ids['amy']}/destinations/new"
    before = app.recorder.max_notification_id()
    refused = post(lead, path, {"detail": "Café on the high street", "starts_on": TODAY.isoformat()})
    assert refused.status_code == 422
    assert field_error(html_of(refused), "kind") == "Choose where the learner goes next"
    assert "Café on the high street</textarea>" in html_of(refused)
    assert app.recorder.max_notification_id() == before
    done = post(lead, path, {"kind": "supported_internship", "detail": "NHS trust", "starts_on": TODAY.isoformat()})
    assert done.status_code == 302 and done.headers["Location"].endswith("#destinations")
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.kind, event.detail) == ("DestinationRecorded", "supported_internship",
                                                                "NHS trust")
    html = html_of(lead.get(done.headers["Location"]))
    follow_up = date.fromisoformat(measures.destination_follow_up(TODAY.isoformat()))
    assert f"You can confirm this from {follow_up.day} {follow_up.strftime('%B %Y')}." in html
    assert "Confirm it was sustained</a>" not in html  # no button before then


def test_a_tutor_may_not_record_a_destination(web, ids, app):
    sign_in(web)
    before = app.recorder.max_notification_id()
    assert web.get(f"/learners/{ids['amy']}/destinations/new").status_code == 403
    assert post(web, f"/learners/{ids['amy']}/destinations/new",
                {"kind": "employment", "starts_on": TODAY.isoformat()}).status_code == 403
    assert app.recorder.max_notification_id() == before


# --- confirming a destination was sustained ---------------------------------------------------------
def test_before_two_terms_the_page_says_from_when_and_refuses_with_that_sentence(lead, ids, app, system):
    starts = TODAY - timedelta(days=30)
    did = app.record_destination(system, ids["amy"], kind="employment", detail="Café", starts_on=starts).result
    follow_up = date.fromisoformat(measures.destination_follow_up(starts.isoformat()))
    sentence = f"You can confirm this from {follow_up.day} {follow_up.strftime('%B %Y')}"
    path = f"/learners/{ids['amy']}/destinations/{did}/sustained"
    page = html_of(lead.get(path))
    assert sentence + "." in page
    assert "<button" not in page.split("<main", 1)[1].replace('<button type="submit" class="btn btn-quiet">Sign out', "")
    before = app.recorder.max_notification_id()
    refused = post(lead, path, {"confirmed_on": TODAY.isoformat()})  # sent anyway
    assert refused.status_code == 422
    assert field_error(html_of(refused), "confirmed_on") == sentence
    assert summary_links(html_of(refused)) == {"confirmed_on": sentence}
    assert app.recorder.max_notification_id() == before


def test_after_two_terms_it_is_confirmed_once(lead, ids, app, system):
    starts = TODAY - timedelta(days=200)
    did = app.record_destination(system, ids["amy"], kind="further_learning", detail="Level 1 catering",
                                 starts_on=starts).result
    path = f"/learners/{ids['amy']}/destinations/{did}/sustained"
    assert "Confirm it was sustained</button>" in html_of(lead.get(path))
    end = html_of(lead.get(f"/learners/{ids['amy']}/end-of-programme"))
    assert f'href="{path}">Confirm it was sustained</a>' in end
    bad = post(lead, path, {"confirmed_on": "not a date"})
    assert bad.status_code == 422 and field_error(html_of(bad), "confirmed_on") == (
        "Date confirmed must be a real date, like 27 3 2026")
    done = post(lead, path, {"confirmed_on": TODAY.isoformat(), "note": "Spoke to the tutor there"})
    assert done.status_code == 302
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.destination_id, event.confirmed_on) == (
        "DestinationSustained", did, TODAY.isoformat())
    assert "Sustained: confirmed" in html_of(lead.get(done.headers["Location"]))
    again = html_of(lead.get(path))
    assert "Confirmed as sustained on" in again and "Confirm it was sustained</button>" not in again
    before = app.recorder.max_notification_id()
    twice = post(lead, path, {"confirmed_on": TODAY.isoformat()})
    assert twice.status_code == 409
    assert field_error(html_of(twice), "confirmed_on").startswith("This destination was already confirmed as sustained")
    assert app.recorder.max_notification_id() == before


def test_a_destination_of_another_learner_is_not_found(lead, world, ids, app, system):
    did = app.record_destination(system, ids["ben"], kind="employment", detail="", starts_on="2025-01-06").result
    assert lead.get(f"/learners/{ids['amy']}/destinations/{did}/sustained").status_code == 404
    assert lead.get(f"/learners/{ids['ben']}/destinations/{did}/sustained").status_code == 404  # Ben: out of sight


# --- consents ---------------------------------------------------------------------------------------------
def test_a_send_lead_records_and_changes_consent_with_who_and_when(lead, ids, app, system):
    path = f"/learners/{ids['amy']}/consents"
    first = post(lead, path, {"consent": "photographs", "given": "yes", "reason": "Signed form"})
    assert first.status_code == 302
    second = post(lead, path, {"consent": "photographs", "given": "no", "reason": "Amy asked us to stop"})
    assert second.status_code == 302
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.consent, event.given, event.reason) == (
        "ConsentRecorded", "photographs", False, "Amy asked us to stop")
    html = html_of(lead.get(second.headers["Location"]))
    assert "Saved: Photographs." in html
    now = re.search(r'<dt>Photographs</dt>\s*<dd>(.*?)</dd>', html, re.S).group(1)
    assert "Not given" in now and "by lead" in now
    assert re.search(r'<dt>Sharing with family</dt>\s*<dd>Not recorded yet</dd>', html)
    history = html.split('id="consent-history"', 1)[1]
    assert history.index("not given") < history.index("given</strong>")  # newest first, both kept
    assert "Amy asked us to stop" in history and "Signed form" in history


@pytest.mark.parametrize("body, field, words", [
    ({"given": "yes"}, "consent", "Choose which consent"),
    ({"consent": "sharing_with_everyone", "given": "yes"}, "consent", "Choose which consent"),
    ({"consent": "sharing_with_family"}, "given", "Choose whether consent is given"),
    ({"consent": "sharing_with_family", "given": "maybe"}, "given", "Choose whether consent is given"),
])
def test_a_consent_refused_names_its_field_and_writes_nothing(lead, ids, app, body, field, words):
    before = app.recorder.max_notification_id()
    response = post(lead, f"/learners/{ids['amy']}/consents", body)
    html = html_of(response)
    assert response.status_code == 422
    assert field_error(html, field) == words and summary_links(html) == {field: words}
    assert app.recorder.max_notification_id() == before


def test_tutors_read_consent_but_may_not_change_it(web, ids, app, system):
    app.record_consent(system, ids["amy"], consent="photographs", given=False, reason="Family asked")
    sign_in(web)
    path = f"/learners/{ids['amy']}/consents"
    html = html_of(web.get(path))
    assert "Not given" in html and "Record or change a consent" not in html
    before = app.recorder.max_notification_id()
    assert post(web, path, {"consent": "photographs", "given": "yes"}).status_code == 403
    assert app.recorder.max_notification_id() == before


# --- the learner page, Today and the pack ---------------------------------------------------------------
def test_the_learner_page_has_end_of_programme_and_consent_sections(web, ids, app, system):
    amy, oid = ids["amy"], ids["outcome"]
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="achieved", summary="Travels alone",
                                 assessed_on=TODAY.isoformat())
    app.record_consent(system, amy, consent="photographs", given=False, reason="Family asked")
    sign_in(web, "lead@example.org")
    html = html_of(web.get(f"/learners/{amy}"))
    assert 'id="eop-summary">End of programme</h2>' in html and 'id="consent-summary">Consent</h2>' in html
    assert "0 of 1 open target, 1 of 1 EHCP outcome" in html and "<strong>Achieved</strong>" in html
    assert re.search(r"<dt>Photographs</dt>\s*<dd><strong>Not given</strong>", html)
    assert ">Record or change consent</a>" in html
    web.post("/logout", data={"csrf_token": token_of(html)})
    sign_in(web)  # a tutor: sees consent (may I photograph?), may not change it
    html = html_of(web.get(f"/learners/{amy}"))
    assert re.search(r"<dt>Photographs</dt>\s*<dd><strong>Not given</strong>", html)
    assert ">Consent and its history</a>" in html and "Record or change consent" not in html


@pytest.mark.parametrize("who", ["tutor@example.org", "lead@example.org"])
def test_consent_never_appears_on_today(web, ids, app, system, who):
    """Today may be on a classroom screen: no consent flag, whatever is recorded
    (the learner page for the same person does show it: the words are there to find)."""
    for consent in ("photographs", "sharing_with_partners", "sharing_with_family"):
        app.record_consent(system, ids["amy"], consent=consent, given=False, reason="Not agreed")
    app.record_outcome_summative(system, ids["amy"], outcome_id=ids["outcome"], judgement="not_achieved",
                                 summary="Not yet", assessed_on=TODAY.isoformat())
    sign_in(web, who)
    today = html_of(web.get("/")).lower()
    assert "amy j." in today  # the learner is on Today...
    for word in ("consent", "photograph", "sharing", "not given", "not recorded", "not agreed", "not achieved"):
        assert word not in today, word  # ...but nothing of this
    assert "photographs" in html_of(web.get(f"/learners/{ids['amy']}")).lower()


def test_the_pack_page_shows_the_judgements_and_a_sharing_note_outside_the_pack(lead, ids, app, system):
    amy, oid, tid = ids["amy"], ids["outcome"], ids["target"]
    app.record_summative_assessment(system, amy, target_id=tid, rating="secure", summary="Buys it alone",
                                    assessed_on=TODAY.isoformat())
    app.record_outcome_summative(system, amy, outcome_id=oid, judgement="partly_achieved", summary="With a buddy",
                                 assessed_on=TODAY.isoformat())
    html = html_of(lead.get(f"/learners/{amy}/annual-review"))
    pack = html.split('<div class="pack">', 1)[1]
    # Issue 13: each judgement a labelled fact (the plain words of a parent's pack), its summary below it.
    when = f"At the end of the programme ({TODAY.day} {TODAY.strftime('%b %Y')})"
    outcome, target = pack.split('<div class="pack-target">', 1)
    assert f"<dt>{when}</dt><dd>Partly achieved</dd>" in outcome and '<p class="pack-summative">With a buddy.</p>' in outcome
    assert f"<dt>{when}</dt><dd>Able to do it reliably</dd>" in target and "<p>Buys it alone.</p>" in target
    note = html.split('<div class="pack">', 1)[0]
    assert "Before you share this pack:" in note and "sharing with family is not recorded yet" in note
    assert "Before you share" not in pack  # on the page only, never in the pack or its PDF
    app.record_consent(system, amy, consent="sharing_with_family", given=True, reason="Amy agreed")
    assert "Before you share this pack" not in html_of(lead.get(f"/learners/{amy}/annual-review"))


# --- out of sight, and the API ------------------------------------------------------------------------------
NEW_PAGES = ["/end-of-programme", "/consents", "/unplanned-outcomes/new", "/next-steps/new", "/destinations/new"]


@pytest.mark.parametrize("who", ["tutor@example.org", "lead@example.org", "admin@example.org"])
def test_every_new_page_is_not_found_for_a_learner_out_of_sight(web, ids, who):
    sign_in(web, who)
    for page in NEW_PAGES:
        assert web.get(f"/learners/{ids['ben']}{page}").status_code == 404, page
        assert web.get(f"/learners/{uuid.uuid4()}{page}").status_code == 404, page


@pytest.fixture
def api(web, app, world):
    def call(who: str, body: dict, learner: str = "amy"):
        token = app.create_token(world["users"][who])
        return web.post(f"/api/v1/learners/{world['learners'][learner]}/outcome-summatives", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    return call


def test_the_api_records_an_outcome_judgement(api, ids, app, system):
    response = api("send_lead", {"outcome_id": ids["outcome"], "judgement": "not_achieved",
                                 "summary": "Still needs a buddy", "assessed_on": TODAY.isoformat()})
    assert response.status_code == 201
    event = last_event(app, system, ids["amy"])
    assert (type(event).__name__, event.judgement) == ("OutcomeSummativeRecorded", "not_achieved")


@pytest.mark.parametrize("who, body, status, field", [
    ("send_lead", {"judgement": "continue"}, 422, "judgement"),
    ("send_lead", {"outcome_id": str(uuid.uuid4())}, 422, "outcome_id"),
    ("send_lead", {"assessed_on": "2999-01-01"}, 422, "assessed_on"),
    ("send_lead", {"extra": 1}, 422, "extra"),
    ("tutor", {}, 403, None),
    ("auditor", {}, 403, None),
])
def test_the_api_refuses_and_writes_nothing(api, ids, app, who, body, status, field):
    before = app.recorder.max_notification_id()
    response = api(who, {"outcome_id": ids["outcome"], "judgement": "achieved", "summary": "x",
                         "assessed_on": TODAY.isoformat(), **body})
    assert response.status_code == status
    if field:
        assert field in response.get_json()["errors"]
    assert app.recorder.max_notification_id() == before


def test_the_api_does_not_find_a_learner_out_of_sight(api, world, app):
    before = app.recorder.max_notification_id()
    response = api("send_lead", {"outcome_id": world["ben"]["outcome"], "judgement": "achieved", "summary": "x",
                                 "assessed_on": TODAY.isoformat()}, learner="ben")
    assert response.status_code == 404
    assert app.recorder.max_notification_id() == before

"""The family's voice (issue 13): the SEND lead lets a family member in by a
one-time link, the family member sees an easy-read summary and sends what
they saw at home, and staff accept it as evidence from home or decline it
with a reason the family member sees. Every step is an event; a family
member sees nothing else, nothing of other learners, and nothing at all once
consent to share with family is withdrawn.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import pytest

from rarpa.read import family as family_reads
from rarpa.record import RuleBroken
from rarpa.service.access import Forbidden, NotFound
from rarpa.store.verify import verify
from tests.conftest import PASSWORD
from tests.test_photos import noise_jpeg
from tests.test_web import sign_in, token_of

FAMILY_PASSWORD = "a long family passphrase 2026"
TODAY = date.today().isoformat()


@pytest.fixture
def amy(app, world, system):
    lid = world["learners"]["amy"]
    app.record_consent(system, lid, consent="sharing_with_family", given=True, reason="Amy said yes")
    app.record_consent(system, lid, consent="photographs", given=True, reason="Amy said yes")
    return {"lid": lid, "target": world["amy"]["target"]}


def let_in(web, lid, *, name="Jane Jones", relationship="Mum", email="jane@example.org"):
    """The SEND lead's form; returns (answer, the one-time link's path or None)."""
    lead = web.application.test_client()
    assert sign_in(lead, "lead@example.org", PASSWORD).status_code == 302
    page = lead.get(f"/learners/{lid}/family")
    answer = lead.post(f"/learners/{lid}/family", data={
        "csrf_token": token_of(page.get_data(as_text=True)), "display_name": name, "relationship": relationship,
        "email": email, "reason": "To hear from home before the annual review"})
    found = re.search(r'value="http://localhost(/invite/[^"]+)"', answer.get_data(as_text=True))
    return answer, found.group(1) if found else None


def family_member(web, link):
    client = web.application.test_client()
    page = client.get(link)
    assert page.status_code == 200
    done = client.post(link, data={"csrf_token": token_of(page.get_data(as_text=True)), "password": FAMILY_PASSWORD,
                                   "confirm": FAMILY_PASSWORD})
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    return client


def send(client, lid, words="She made toast on her own this morning", *, photo: bytes | None = None,
         happened_on=TODAY, contribution_id=None):
    page = client.get(f"/family/{lid}/send")
    body = {"csrf_token": token_of(page.get_data(as_text=True)), "contribution_id": contribution_id or str(uuid.uuid4()),
            "words": words, "happened_on": happened_on}
    if photo is not None:
        body["photo"] = (io.BytesIO(photo), "photo.jpg")
    return client.post(f"/family/{lid}/send", data=body, content_type="multipart/form-data")


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def test_a_family_member_is_let_in_sends_and_staff_accept_it_as_evidence(app, system, world, amy, web):
    lid = amy["lid"]
    answer, link = let_in(web, lid)
    assert answer.status_code == 200 and link, answer.get_data(as_text=True)[:400]
    assert "It works <strong>once</strong>" in answer.get_data(as_text=True)
    mum = family_member(web, link)
    home = mum.get("/", follow_redirects=True)
    assert home.request.path == f"/family/{lid}" and "How Amy is doing" in home.get_data(as_text=True)

    sent = send(mum, lid, photo=noise_jpeg(seed=8))
    assert sent.status_code == 302 and sent.headers["Location"].endswith("done=sent")
    summary = mum.get(f"/family/{lid}").get_data(as_text=True)
    assert "Waiting for staff to look at it" in summary and "She made toast on her own" in summary

    tutor = web.application.test_client()
    assert sign_in(tutor, "tutor@example.org", PASSWORD).status_code == 302
    queue = tutor.get("/contributions").get_data(as_text=True)
    cid = re.search(r"/contributions/([0-9a-f-]{36})", queue).group(1)
    page = tutor.get(f"/learners/{lid}/contributions/{cid}")
    assert page.status_code == 200 and "From Mum" in page.get_data(as_text=True)
    thumb = tutor.get(f"/learners/{lid}/contributions/{cid}/photo?size=thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["Cache-Control"] == "private, no-store"
    token = token_of(page.get_data(as_text=True))

    before = position(app)
    refused = tutor.post(f"/learners/{lid}/contributions/{cid}", data={"csrf_token": token, "decision": "accept"})
    assert refused.status_code == 422 and "Choose at least one target" in refused.get_data(as_text=True)
    refused = tutor.post(f"/learners/{lid}/contributions/{cid}", data={
        "csrf_token": token, "decision": "accept", "targets": [amy["target"]]})
    assert refused.status_code == 422 and "Choose how well they did it" in refused.get_data(as_text=True)
    assert position(app) == before

    accepted = tutor.post(f"/learners/{lid}/contributions/{cid}", data={
        "csrf_token": token, "decision": "accept", "targets": [amy["target"]], f"rating-{amy['target']}": "secure",
        "note": "Matches what we see in class"})
    assert accepted.status_code == 302
    learner = app.learner(system, lid)
    assert learner.contribution(cid).status == "accepted"
    at_home = [o for o in learner.observations.values() if o.context == "home"]
    assert len(at_home) == 1 and at_home[0].rating == "secure" and at_home[0].note.startswith("She made toast")
    kept = [p for p in learner.photos.values() if not p.removed]
    assert len(kept) == 1  # the family's photo, now kept with that observation
    evidence = tutor.get(f"/learners/{lid}/evidence").get_data(as_text=True)
    assert "From home:" in evidence and "sent by Mum" in evidence
    assert "Added to the record" in mum.get(f"/family/{lid}").get_data(as_text=True)
    assert verify(app).ok

    types = [type(e).__name__ for e in app.learner_events(system, lid)]
    for kind in ("FamilyMemberInvited", "FamilyContributionSent", "ObservationRecorded", "PhotoAttached",
                 "FamilyContributionAccepted"):
        assert kind in types


def test_a_declined_contribution_shows_its_reason_and_nothing_enters_the_record(app, system, amy, web):
    lid = amy["lid"]
    _, link = let_in(web, lid)
    mum = family_member(web, link)
    assert send(mum, lid, "He tidied his room", photo=noise_jpeg(seed=9)).status_code == 302
    cid = next(iter(app.learner(system, lid).contributions))
    lead = web.application.test_client()
    sign_in(lead, "lead@example.org", PASSWORD)
    page = lead.get(f"/learners/{lid}/contributions/{cid}")
    token = token_of(page.get_data(as_text=True))
    empty = lead.post(f"/learners/{lid}/contributions/{cid}", data={"csrf_token": token, "decision": "decline"})
    assert empty.status_code == 422 and "Enter a reason the family member will see" in empty.get_data(as_text=True)
    observations = len(app.learner(system, lid).observations)
    declined = lead.post(f"/learners/{lid}/contributions/{cid}", data={
        "csrf_token": token, "decision": "decline", "reason": "We could not tell which target this is about"})
    assert declined.status_code == 302
    learner = app.learner(system, lid)
    assert learner.contribution(cid).status == "declined"
    assert len(learner.observations) == observations and not learner.photos
    assert app.photo_store.count() == 0  # its photo is deleted
    summary = mum.get(f"/family/{lid}").get_data(as_text=True)
    assert "Not added" in summary and "We could not tell which target this is about" in summary
    again = lead.post(f"/learners/{lid}/contributions/{cid}", data={
        "csrf_token": token, "decision": "accept", "targets": [amy["target"]], f"rating-{amy['target']}": "secure"})
    assert again.status_code == 409  # already decided


def test_a_family_member_sees_nothing_else_and_nothing_of_other_learners(app, world, amy, web):
    lid, ben = amy["lid"], world["learners"]["ben"]
    _, link = let_in(web, lid)
    mum = family_member(web, link)
    for path in (f"/learners/{lid}", f"/learners/{lid}/evidence", f"/learners/{lid}/annual-review",
                 f"/learners/{lid}/timeline", "/group", "/cohort", "/admin", "/contributions", "/fingerprint",
                 f"/learners/{lid}/family", "/learners/new"):
        assert mum.get(path).status_code in (403, 404), path
    for path in (f"/family/{ben}", f"/family/{ben}/send", f"/learners/{ben}"):
        assert mum.get(path).status_code == 404, path
    assert mum.get(f"/family/{uuid.uuid4()}").status_code == 404
    assert mum.get("/api/v1/learners").status_code in (401, 200)
    if mum.get("/api/v1/learners").status_code == 200:
        assert mum.get("/api/v1/learners").get_json()["learners"] == []


def test_withdrawing_consent_ends_every_family_members_access_at_once(app, system, amy, web):
    lid = amy["lid"]
    _, link = let_in(web, lid)
    mum = family_member(web, link)
    assert mum.get(f"/family/{lid}").status_code == 200
    app.record_consent(system, lid, consent="sharing_with_family", given=False, reason="Amy changed her mind")
    assert mum.get(f"/family/{lid}").status_code == 404
    assert send(mum, lid).status_code == 404
    assert mum.get("/family").status_code == 200 and "nobody for you to see" in mum.get("/family").get_data(as_text=True)
    lead = web.application.test_client()
    sign_in(lead, "lead@example.org", PASSWORD)
    page = lead.get(f"/learners/{lid}/family").get_data(as_text=True)
    assert "consent to share with family withdrawn" in page and "Consent to share with family is not recorded" in page
    app.record_consent(system, lid, consent="sharing_with_family", given=True, reason="Amy agreed again")
    assert mum.get(f"/family/{lid}").status_code == 200


def test_the_lead_ends_one_family_members_access(app, system, amy, web):
    lid = amy["lid"]
    _, link = let_in(web, lid)
    mum = family_member(web, link)
    uid = next(iter(app.learner(system, lid).family))
    lead = web.application.test_client()
    sign_in(lead, "lead@example.org", PASSWORD)
    page = lead.get(f"/learners/{lid}/family?end={uid}")
    token = token_of(page.get_data(as_text=True))
    refused = lead.post(f"/learners/{lid}/family/{uid}/end", data={"csrf_token": token})
    assert refused.status_code == 422 and "Enter a reason" in refused.get_data(as_text=True)
    ended = lead.post(f"/learners/{lid}/family/{uid}/end", data={"csrf_token": token, "reason": "Moved away"})
    assert ended.status_code == 302
    assert mum.get(f"/family/{lid}").status_code == 404
    assert "Access ended" in lead.get(f"/learners/{lid}/family").get_data(as_text=True)


def test_the_lead_cannot_let_family_in_without_consent_and_refusals_are_in_words(app, world, system, web):
    lid = world["learners"]["amy"]
    before = position(app)
    answer, link = let_in(web, lid)
    assert answer.status_code == 409 and link is None
    assert "Consent to share with family is not recorded" in answer.get_data(as_text=True)
    app.record_consent(system, lid, consent="sharing_with_family", given=True, reason="Amy said yes")
    before = position(app)
    answer, link = let_in(web, lid, email="lead@example.org")  # a member of staff's email
    assert answer.status_code == 409 and "belongs to a member of staff" in answer.get_data(as_text=True)
    answer, link = let_in(web, lid, name="", relationship="")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "Enter their name" in text and "Enter who they are to the learner" in text
    assert position(app) == before


def test_only_the_lead_lets_family_in_and_only_moderators_decide(app, world, amy, web, system):
    lid = amy["lid"]
    for email, status in (("tutor@example.org", 403), ("support@example.org", 403), ("auditor@example.org", 403),
                          ("lead.riverside@example.org", 404), ("admin@example.org", 404)):
        client = web.application.test_client()
        sign_in(client, email, PASSWORD)
        assert client.get(f"/learners/{lid}/family").status_code == status, email
    mum = family_member(web, let_in(web, lid)[1])
    send(mum, lid)
    cid = next(iter(app.learner(system, lid).contributions))
    for email, status in (("tutor@example.org", 200), ("lead@example.org", 200), ("support@example.org", 403),
                          ("auditor@example.org", 403), ("tutor2@example.org", 404),
                          ("lead.riverside@example.org", 404)):
        client = web.application.test_client()
        sign_in(client, email, PASSWORD)
        assert client.get(f"/learners/{lid}/contributions/{cid}").status_code == status, email


def test_what_a_family_member_sends_is_checked(app, system, world, amy, web):
    lid = amy["lid"]
    mum = family_member(web, let_in(web, lid)[1])
    before = position(app)
    for words, day, says in (("", TODAY, "Enter what you saw"),
                             ("x" * 2001, TODAY, "2000 characters or fewer"),
                             ("Fine", (date.today() + timedelta(days=2)).isoformat(), "cannot be in the future"),
                             ("Fine", "2026-02-30", "real date")):
        answer = send(mum, lid, words, happened_on=day)
        assert answer.status_code == 422 and says in answer.get_data(as_text=True), (words[:5], day)
    not_a_photo = send(mum, lid, photo=b"<html><script>alert(1)</script></html>")
    assert not_a_photo.status_code == 422 and "not a photo" in not_a_photo.get_data(as_text=True).lower()
    assert position(app) == before and app.photo_store.count() == 0
    app.record_consent(system, lid, consent="photographs", given=False, reason="No more photos")
    before = position(app)
    page = mum.get(f"/family/{lid}/send").get_data(as_text=True)
    assert 'type="file"' not in page
    refused = send(mum, lid, photo=noise_jpeg(seed=3))
    assert refused.status_code == 422 and "consent to photographs is not given" in refused.get_data(as_text=True)
    assert position(app) == before and app.photo_store.count() == 0
    cid = str(uuid.uuid4())
    assert send(mum, lid, "Same again", contribution_id=cid).status_code == 302
    after = position(app)
    assert send(mum, lid, "Same again", contribution_id=cid).status_code == 302  # a double tap: once
    assert position(app) == after


def test_the_pack_views_and_the_service_rules(app, system, world, amy, projector):
    lid = amy["lid"]
    with pytest.raises(RuleBroken):
        app.invite_family_member(system, world["learners"]["ben"], display_name="Pat", relationship="Dad",
                                 email="pat@example.org", reason="x")  # Ben: no consent
    written = app.invite_family_member(system, lid, display_name="Jane Jones", relationship="Mum",
                                       email="Jane@Example.org", reason="Review")
    assert written.result["token"] and written.result["new_account"]
    again = app.invite_family_member(system, lid, display_name="Jane Jones", relationship="Mum",
                                     email="jane@example.org", reason="Review")
    assert not again.created and again.result["token"] is None
    mum = app.set_password_with_link(token=written.result["token"], password=FAMILY_PASSWORD)
    with pytest.raises(Forbidden):
        app.learner(mum, lid)
    with pytest.raises(NotFound):
        app.learner(mum, world["learners"]["ben"], "see as family")
    cid = str(uuid.uuid4())
    app.send_family_contribution(mum, lid, contribution_id=cid, words="Walked to the shop", happened_on=TODAY)
    projector.catch_up()
    for who, count in (("tutor", 1), ("send_lead", 1), ("support", 0), ("riverside_lead", 0), ("auditor", 0)):
        actor = world["actors"][who]
        assert family_reads.waiting_count(projector.reader(), actor) == len(
            family_reads.waiting(projector.reader(), actor)) == count, who
    app.accept_family_contribution(system, lid, contribution_id=cid, ratings={amy["target"]: "developing"})
    projector.catch_up()
    conn = projector.reader()
    assert family_reads.views(conn, lid, TODAY, TODAY) == [{"from": "Mum", "on": TODAY, "words": "Walked to the shop"}]
    assert family_reads.learners_of(conn, mum.user_id)[0]["id"] == lid

"""Providers joining and leaving a dual placement, on the SEND lead's page:
events with who, when and why; a provider that leaves loses sight at once."""

from __future__ import annotations

from tests.test_web import page, sign_in, token_of


def _join(web, amy, provider="riverside", reason="Work placement at the garden centre"):
    _, html = page(web, f"/learners/{amy}/providers")
    return web.post(f"/learners/{amy}/providers", data={"csrf_token": token_of(html), "provider": provider,
                                                          "reason": reason})


def test_the_lead_adds_a_provider_then_it_leaves_and_its_lead_loses_sight(web, world, app):
    amy = world["learners"]["amy"]
    sign_in(web, "lead@example.org")
    response, html = page(web, f"/learners/{amy}/providers")
    assert response.status_code == 200
    assert "Northfield College" in html and "Lead provider" in html
    assert '<option value="riverside"' in html and '<option value="northfield"' not in html
    joined = _join(web, amy)
    assert joined.status_code == 302
    riverside = web.application.test_client()
    sign_in(riverside, "lead.riverside@example.org")
    assert riverside.get(f"/learners/{amy}").status_code == 200  # now at Riverside too

    _, html = page(web, f"/learners/{amy}/providers?leave=riverside")
    assert 'action="/learners/' in html and "Why it ends" in html
    before = app.recorder.max_notification_id()
    refused = web.post(f"/learners/{amy}/providers/riverside/leave", data={"csrf_token": token_of(html), "reason": " "})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'href="#reason"' in text and "Enter a reason" in text
    assert app.recorder.max_notification_id() == before
    left = web.post(f"/learners/{amy}/providers/riverside/leave",
                    data={"csrf_token": token_of(html), "reason": "Placement ended"})
    assert left.status_code == 302
    assert riverside.get(f"/learners/{amy}").status_code == 404  # sight ends at once
    _, html = page(web, f"/learners/{amy}/providers")
    assert "Placement ended" in html and "Work placement at the garden centre" in html


def test_the_lead_provider_cannot_leave_and_a_provider_cannot_join_twice(web, world, app):
    amy = world["learners"]["amy"]
    sign_in(web, "lead@example.org")
    _, html = page(web, f"/learners/{amy}/providers")
    before = app.recorder.max_notification_id()
    response = web.post(f"/learners/{amy}/providers/northfield/leave",
                        data={"csrf_token": token_of(html), "reason": "Moving on"})
    assert response.status_code == 422 and "cannot leave" in response.get_data(as_text=True)
    # Joining "again" as a partner would have left Amy with no lead provider (a defect, found here).
    again = _join(web, amy, provider="northfield")
    assert again.status_code == 409 and "This provider already works with the learner" in again.get_data(as_text=True)
    assert _join(web, amy, provider="", reason="").status_code == 422
    assert app.recorder.max_notification_id() == before


def test_only_the_lead_manages_providers(web, world):
    amy = world["learners"]["amy"]
    for email, status in (("tutor@example.org", 403), ("auditor@example.org", 403),
                          ("lead.riverside@example.org", 404), ("admin@example.org", 404)):
        client = web.application.test_client()
        sign_in(client, email)
        assert client.get(f"/learners/{amy}/providers").status_code == status, email


def test_the_api_joins_and_leaves_and_says_why_it_refuses(web, world, app, system):
    """POST /api/v1/learners/{id}/providers/{slug}/leave: the same event as the
    page; problem+json naming the field or the rule otherwise, nothing stored."""
    amy = world["learners"]["amy"]
    lead = {"Authorization": f"Bearer {app.create_token('lead@example.org')}"}
    riverside = {"Authorization": f"Bearer {app.create_token('lead.riverside@example.org')}"}
    joined = web.post(f"/api/v1/learners/{amy}/providers", headers=lead,
                      json={"provider": "riverside", "reason": "Two days a week"})
    assert joined.status_code == 201
    assert web.get(f"/api/v1/learners/{amy}", headers=riverside).status_code == 200

    before = app.recorder.max_notification_id()
    for body, slug, status, says in [
        ({}, "riverside", 422, "reason"),
        ({"reason": "Ended"}, "northfield", 422, "make another provider the lead before the lead leaves"),
        ({"reason": "Ended"}, "nowhere", 422, "nowhere"),
    ]:
        refused = web.post(f"/api/v1/learners/{amy}/providers/{slug}/leave", headers=lead, json=body)
        assert refused.status_code == status, (slug, refused.get_data(as_text=True))
        assert refused.mimetype == "application/problem+json" and says in refused.get_data(as_text=True)
    assert app.recorder.max_notification_id() == before

    left = web.post(f"/api/v1/learners/{amy}/providers/riverside/leave", headers=lead, json={"reason": "Placement ended"})
    assert left.status_code == 201
    assert [p["provider"] for p in left.get_json()["providers"]] == ["northfield"]
    assert web.get(f"/api/v1/learners/{amy}", headers=riverside).status_code == 404  # sight ends at once
    left_events = [e for e in app.learner_events(system, amy) if type(e).__name__ == "ProviderLeft"]
    assert [(e.left, e.reason, e.role, e.provider) for e in left_events] == [
        ("riverside", "Placement ended", "send_lead", "northfield")]  # which left; who said so, from where

"""The auditor's workspace through Flask's test client (web/workspace.py,
web/as_at.py): the timeline (every entry in order, a correction beside what
it replaced, each filter), the record as at an instant on every page that
shows it (and every link and form keeping the instant), comparing two
instants, the access log (its page, an entry for every view, a view refused
when the log cannot be written), and checking a fingerprint.

The learner used here, Cara, was written ten days ago at known instants
(``events.base.clock``), so "as at" falls between things that were recorded.
"""

from __future__ import annotations

import io
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader

from events.base import clock
from tests.test_web import sign_in
from tests.rawstore import refusing_access_log
from web import as_at as as_at_mod
from web import workspace

# Whole minutes, so an instant in an address reads back the same from the picker.
BASE = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=10)


def moment(hours: float) -> datetime:
    return BASE + timedelta(hours=hours)


@contextmanager
def at(hours: float):
    when = moment(hours)
    with clock(lambda: when):
        yield when


def z(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def get(client, path: str, follow_redirects: bool = False, **headers):
    response = client.get(path, headers=headers, follow_redirects=follow_redirects)
    return response, response.get_data(as_text=True)


def entry_ids(html: str) -> list[int]:
    """The timeline's entries as shown, in page order."""
    return [int(n) for n in re.findall(r'<article class="tl-entry [^"]*" id="e-(\d+)"', html)]


def actor(app, email: str):
    return app.actor_for(app.user(email))


@pytest.fixture
def cara(app, world, system):
    """A learner written ten days ago: enrolled with two outcomes and a target
    on each (hour 0); the tutor's observation A (hour 1, "developing"); the
    SEND lead's observation B on the other target (hour 3); A corrected to
    "emerging" by the tutor (hour 5); B withdrawn by the lead (hour 7); the
    tutor's observation F (hour 9, "secure")."""
    with at(0):
        lid = app.enrol_learner(system, name="Cara Brown", date_of_birth="2006-04-04", provider="northfield").result
        travel = app.record_outcome(system, lid, text="Travel to college on the bus", pfa_area="independent_living",
                                    due="2027-07-01").result
        friends = app.record_outcome(system, lid, text="Make a friend at college", pfa_area="community",
                                     due="2027-07-01").result
        ticket = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                                outcome_ids=[travel], baseline="emerging", review_by="2027-01-15").result
        hello = app.set_target(system, lid, text="Say hello to a classmate", success_criteria="Every day",
                               outcome_ids=[friends], baseline="not_yet", review_by="2027-01-15").result
    app.add_to_caseload(system, "tutor@example.org", lid)
    app.add_to_caseload(system, "support@example.org", lid)
    tutor, lead = actor(app, "tutor@example.org"), actor(app, "lead@example.org")
    ids = {name: str(uuid.uuid4()) for name in "ABF"}
    with at(1) as when:
        app.record_observation(tutor, lid, observation_id=ids["A"], target_id=ticket, rating="developing",
                               context="community", observed_at=when - timedelta(minutes=5),
                               note="Bought a ticket with one prompt")
    with at(3) as when:
        app.record_observation(lead, lid, observation_id=ids["B"], target_id=hello, rating="secure",
                               context="classroom", observed_at=when - timedelta(minutes=5), note="Said hello to Dev")
    with at(5):
        app.correct_observation(tutor, lid, observation_id=ids["A"], rating="emerging",
                                reason="Checked the diary: the driver helped")
    with at(7):
        app.withdraw_observation(lead, lid, observation_id=ids["B"], reason="Recorded for the wrong learner")
    with at(9) as when:
        app.record_observation(tutor, lid, observation_id=ids["F"], target_id=ticket, rating="secure",
                               context="community", observed_at=when - timedelta(minutes=5),
                               note="Bought a ticket on her own")
    events = list(app.learner_events(system, lid))
    position = {}
    for e in events:
        kind = type(e).__name__
        if kind == "ObservationRecorded":
            position[[k for k, v in ids.items() if v == e.observation_id][0]] = e.originator_version
        elif kind == "ObservationCorrected":
            position["C"] = e.originator_version
        elif kind == "ObservationWithdrawn":
            position["D"] = e.originator_version
    return {"lid": lid, "ticket": ticket, "hello": hello, "travel": travel, "friends": friends, "obs": ids,
            "position": position, "events": events, "tutor": tutor, "lead": lead}


# --- the timeline -----------------------------------------------------------------------------------
def test_the_timeline_lists_every_entry_with_when_who_where_and_why(web, cara):
    sign_in(web, "auditor@example.org")
    response, html = get(web, f"/learners/{cara['lid']}/timeline")
    assert response.status_code == 200
    shown = entry_ids(html)
    assert sorted(shown) == [e.originator_version for e in cara["events"]]  # every entry, each once
    p = cara["position"]
    # In the order recorded, but a correction and a withdrawal beside what they replaced.
    assert shown == [1, 2, 3, 4, 5, 6, 7, p["A"], p["C"], p["B"], p["D"], p["F"]]
    article = {n: html[html.index(f'id="e-{n}"'):].split("</article>")[0] for n in shown}
    c = article[p["C"]]
    assert "Observation corrected" in c and "Checked the diary: the driver helped" in c  # why
    assert "<dd>tutor (tutor) at Northfield College</dd>" in c  # who (named as the user is), role, provider
    assert f"Recorded</dt><dd><time datetime=\"{moment(5).isoformat()}" in c  # when recorded
    a = article[p["A"]]
    assert "Happened</dt><dd>" + as_at_mod.moment_uk(moment(1) - timedelta(minutes=5)) in a  # when it happened
    assert "Buy a bus ticket: developing; Bought a ticket with one prompt" in a
    assert "Enrolled at Northfield College" in article[1]


def test_a_correction_and_a_withdrawal_stand_beside_what_they_replaced(web, cara):
    sign_in(web, "lead@example.org")  # the learner's SEND lead may see the timeline too
    _, html = get(web, f"/learners/{cara['lid']}/timeline")
    p = cara["position"]
    # The original stays, marked, pointing below; what replaced it is nested in the same item.
    group = html[html.index(f'id="e-{p["A"]}"'):html.index(f'id="e-{p["B"]}"')]
    assert f'id="e-{p["C"]}"' in group and 'class="tl-replacements"' in group
    original = group.split("</article>")[0]
    assert "Corrected</span>" in original and f"see entry {p['C']} below" in original
    assert "This entry stays in the record as it was" in original
    correction = group[group.index(f'id="e-{p["C"]}"'):].split("</article>")[0]
    assert "Was:</span> Buy a bus ticket: developing; Bought a ticket with one prompt" in correction
    withdrawn = html[html.index(f'id="e-{p["B"]}"'):html.index(f'id="e-{p["F"]}"')]
    assert f'id="e-{p["D"]}"' in withdrawn and "Withdrawn</span>" in withdrawn
    assert "Recorded for the wrong learner" in withdrawn
    # Where each was recorded in order, a pointer to where it is shown.
    pointers = re.findall(r'<li class="tl-pointer" id="p-(\d+)">', html)
    assert pointers == [str(p["C"]), str(p["D"])]
    assert html.index(f'id="p-{p["C"]}"') > html.index(f'id="e-{p["D"]}"')  # after B and its withdrawal


def test_each_filter_keeps_exactly_what_it_names(web, cara):
    sign_in(web, "auditor@example.org")
    lid, p = cara["lid"], cara["position"]
    events = cara["events"]

    def shown(query: str) -> set[int]:
        response, html = get(web, f"/learners/{lid}/timeline?{query}")
        assert response.status_code == 200
        return set(entry_ids(html))

    ticket = {e.originator_version for e in events if getattr(e, "target_id", None) == cara["ticket"]}
    assert shown(f"target={cara['ticket']}") == ticket | {p["C"]}  # the correction of A is about the ticket
    hello = {e.originator_version for e in events if getattr(e, "target_id", None) == cara["hello"]}
    assert shown(f"outcome={cara['friends']}") == {3} | hello | {p["D"]}  # the outcome, its target, B, B's withdrawal
    assert shown("kind=ObservationRecorded") == {p["A"], p["B"], p["F"]}
    # A kept correction brings what it corrected with it.
    assert shown("kind=ObservationCorrected") == {p["C"], p["A"]}
    tutor_id = cara["tutor"].user_id
    assert shown(f"person={tutor_id}") == {p["A"], p["C"], p["F"]}
    assert shown(f"person={cara['lead'].user_id}") == {p["B"], p["D"]}
    assert shown(f"person={tutor_id}&kind=ObservationRecorded") == {p["A"], p["F"]}
    # A value the lists do not offer is no filter at all.
    assert shown("kind=Nonsense&person=nobody") == {e.originator_version for e in events}
    _, html = get(web, f"/learners/{lid}/timeline?person={tutor_id}")
    assert "3</strong> of 12 entries match these filters" in html
    assert '<option value="ObservationWithdrawn" >Observation withdrawn</option>' in html  # words, not codes


def test_a_long_timeline_is_paged_without_splitting_a_correction_from_its_original(web, cara, monkeypatch):
    monkeypatch.setattr(workspace, "PAGE", 5)
    sign_in(web, "auditor@example.org")
    lid, p = cara["lid"], cara["position"]
    pages, seen = [], []
    for n in (1, 2, 3):
        response, html = get(web, f"/learners/{lid}/timeline" + (f"?page={n}" if n > 1 else ""))
        assert response.status_code == 200
        pages.append(entry_ids(html))
        seen += entry_ids(html)
    assert sorted(seen) == [e.originator_version for e in cara["events"]]
    assert pages[0] == [1, 2, 3, 4, 5]
    together = next(page for page in pages if p["A"] in page)
    assert together.index(p["C"]) == together.index(p["A"]) + 1
    assert 'aria-current="page"' in html and 'rel="prev"' in html and "Page 3 of 3" in html
    # The filters stay in the pages' links.
    monkeypatch.setattr(workspace, "PAGE", 2)
    _, html = get(web, f"/learners/{lid}/timeline?kind=ObservationRecorded")
    assert entry_ids(html) == [p["A"], p["B"]]
    following = next(link["href"] for link in parts(html).links if link["text"].startswith("Next"))
    assert parse_qs(urlsplit(unescape(following)).query) == {"kind": ["ObservationRecorded"], "page": ["2"]}
    assert entry_ids(get(web, unescape(following))[1]) == [p["F"]]
    assert get(web, f"/learners/{lid}/timeline?page=99")[0].status_code == 400
    assert get(web, f"/learners/{lid}/timeline?page=last")[0].status_code == 200


def test_the_timeline_is_for_auditors_and_the_learners_send_lead(web, app, cara, world):
    lid = cara["lid"]
    for email, status in (("auditor@example.org", 200), ("lead@example.org", 200), ("tutor@example.org", 404),
                          ("support@example.org", 404), ("lead.riverside@example.org", 404)):
        client = web.application.test_client()
        sign_in(client, email)
        for path in (f"/learners/{lid}/timeline", f"/learners/{lid}/compare", f"/learners/{lid}/access-log"):
            assert client.get(path).status_code == status, (email, path)
        _, page = get(client, f"/learners/{lid}")
        links = f'href="/learners/{lid}/timeline"' in page and f'href="/learners/{lid}/access-log"' in page
        if email != "lead.riverside@example.org":
            assert links == (status == 200), email  # reached from the learner page by those who may


# --- the record as at an instant ------------------------------------------------------------------
def observation_links(html: str, obs: dict) -> set[str]:
    return {name for name, oid in obs.items() if f"/observations/{oid}" in html}


@pytest.mark.parametrize("page", ["", "/evidence", "/timeline", "/annual-review"])
def test_each_page_as_at_an_instant_shows_what_was_recorded_by_then_and_nothing_after(web, cara, page):
    sign_in(web, "auditor@example.org")
    lid = cara["lid"]
    path = f"/learners/{lid}{page}"
    _, now = get(web, path)
    _, then = get(web, f"{path}?as_at={z(moment(2))}")
    assert "You are looking at the record as it stood at" in then and "You are looking at" not in now
    assert as_at_mod.in_words(moment(2)) in then
    if page == "/annual-review":  # the pack names evidence by its note, not by a link
        assert "Bought a ticket with one prompt" in then and "Bought a ticket on her own" not in then
        assert "Bought a ticket on her own" in now
    elif page == "/timeline":
        assert set(entry_ids(then)) == {e.originator_version for e in cara["events"] if e.timestamp <= moment(2)}
        assert cara["position"]["F"] in entry_ids(now)
    else:
        assert observation_links(then, cara["obs"]) == {"A"}
        assert observation_links(now, cara["obs"]) == {"A", "B", "F"}
    # Before the correction, A was "developing"; now it is "emerging".
    if page == "/evidence":
        row = then[then.index(f'id="o-{cara["obs"]["A"]}"'):].split("</li>")[0]
        assert "Developing" in row and "Corrected" not in row


def test_the_learner_page_as_at_an_instant_has_nothing_that_records(web, cara):
    sign_in(web, "lead@example.org")  # who may record, plan and review now
    lid = cara["lid"]
    _, now = get(web, f"/learners/{lid}")
    assert 'name="rating"' in now and 'method="post"' in now.replace("signout", "")
    _, then = get(web, f"/learners/{lid}?as_at={z(moment(4))}")
    assert 'name="rating"' not in then and "/plan" not in then and "/reviews/new" not in then
    assert [m for m in re.findall(r'<form method="post" action="([^"]+)"', then)] == ["/logout"]
    _, obs = get(web, f"/learners/{lid}/observations/{cara['obs']['A']}?as_at={z(moment(4))}")
    assert "Correct it" not in obs and "Withdraw it" not in obs and "<strong>developing</strong>" in obs
    _, obs_now = get(web, f"/learners/{lid}/observations/{cara['obs']['A']}")
    assert "Correct it" in obs_now
    response, text = get(web, f"/learners/{lid}/observations/{cara['obs']['F']}?as_at={z(moment(4))}")
    assert response.status_code == 404 and "had not been recorded yet" in text


class Parts(HTMLParser):
    """Every link (href, hx-get), every form (method, action, hidden fields) and
    the text of each link."""

    def __init__(self):
        super().__init__()
        self.links: list[dict] = []
        self.forms: list[dict] = []
        self._link = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "href" in a:
            self._link = {"href": a["href"], "text": ""}
            self.links.append(self._link)
        for key in ("hx-get", "hx-post"):
            if key in a:
                self.links.append({"href": a[key], "text": key})
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "action": a.get("action", ""),
                               "hidden": {}})
        if tag == "input" and a.get("type") == "hidden" and self.forms:
            self.forms[-1]["hidden"][a.get("name")] = a.get("value")

    def handle_endtag(self, tag):
        if tag == "a":
            self._link = None

    def handle_data(self, data):
        if self._link is not None:
            self._link["text"] += data


def parts(html: str) -> Parts:
    found = Parts()
    found.feed(html)
    return found


def check_keeps_instant(html: str, lid: str, instant: str, path: str) -> list[str]:
    """What on an as-at page would drop the instant: a link under the learner's
    paths without it (but the one "Back to now"), a GET form without it as a
    hidden field, a form that posts. Returns the problems."""
    wrong = []
    found = parts(html)
    back = []
    for link in found.links:
        url = urlsplit(unescape(link["href"]))
        if not url.path.startswith(f"/learners/{lid}"):
            continue
        query = parse_qs(url.query)
        if "Back to now" in link["text"]:
            back.append(link)
            if "as_at" in query or url.path != path:
                wrong.append(f"Back to now goes to {link['href']}")
        elif "as_at" not in query:
            wrong.append(f"link drops the instant: {link['href']} ({link['text'].strip()[:40]})")
        elif query["as_at"] != [instant] and not link["text"].strip().startswith("The record"):
            wrong.append(f"link changes the instant: {link['href']}")
    if len(back) != 1:
        wrong.append(f"{len(back)} 'Back to now' links")
    for form in found.forms:
        if form["method"] == "post":
            if form["action"] != "/logout":
                wrong.append(f"a form that writes: {form['action']}")
        elif form["hidden"].get("as_at") != instant:
            wrong.append(f"a GET form without the instant: {form['action']} {form['hidden']}")
    return wrong


def test_every_link_and_form_on_a_page_as_at_an_instant_keeps_the_instant(web, cara):
    sign_in(web, "lead@example.org")
    lid, instant = cara["lid"], z(moment(6))
    pages = [f"/learners/{lid}", f"/learners/{lid}/evidence", f"/learners/{lid}/evidence?target={cara['ticket']}",
             f"/learners/{lid}/timeline", f"/learners/{lid}/timeline?kind=ObservationRecorded",
             f"/learners/{lid}/annual-review", f"/learners/{lid}/observations/{cara['obs']['A']}",
             f"/learners/{lid}/access-log"]
    checked = 0
    for page in pages:
        joiner = "&" if "?" in page else "?"
        response, html = get(web, f"{page}{joiner}as_at={instant}")
        assert response.status_code == 200, page
        assert check_keeps_instant(html, lid, instant, urlsplit(page).path) == [], page
        checked += len(parts(html).links)
    assert checked > 40  # the check saw the pages' links


def test_the_pack_as_at_keeps_its_instant_in_show_this_period_and_the_pdf(web, cara):
    """The reported bug: "Show this period" and "Download PDF" dropped as_at."""
    sign_in(web, "auditor@example.org")
    lid, instant = cara["lid"], z(moment(2))
    _, html = get(web, f"/learners/{lid}/annual-review?as_at={instant}")
    period = next(f for f in parts(html).forms if "period" in f["action"] or "annual-review" in f["action"])
    assert period["hidden"]["as_at"] == instant
    pdf = next(link["href"] for link in parts(html).links if link["text"].strip() == "Download PDF")
    assert parse_qs(urlsplit(unescape(pdf)).query)["as_at"] == [instant]
    # The period form sent as a browser sends it: still as at the instant.
    start = (moment(0) - timedelta(days=30)).date().isoformat()
    _, shown = get(web, f"/learners/{lid}/annual-review?as_at={instant}&from={start}&to={moment(2).date()}")
    assert "You are looking at the record as it stood at" in shown and "Bought a ticket on her own" not in shown
    response = web.get(unescape(pdf))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    assert f"as it stood at {as_at_mod.in_words(moment(2))}" in text


def pdf_text(data: bytes) -> str:
    """The PDF's words, one space between each (pypdf, as tests/test_reviews.py reads packs)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_pack_pdf_as_at_an_instant_is_the_record_as_it_stood(web, app, cara, system):
    sign_in(web, "auditor@example.org")
    lid = cara["lid"]
    then = pdf_text(web.get(f"/learners/{lid}/annual-review.pdf?as_at={z(moment(2))}").get_data())
    now = pdf_text(web.get(f"/learners/{lid}/annual-review.pdf").get_data())
    assert "Bought a ticket with one prompt" in then and "Bought a ticket on her own" not in then
    assert "Bought a ticket on her own" in now and "as it stood at" not in now
    # Its fingerprint is the record's chain at the last event recorded by then, in full.
    head = max(e.originator_version for e in cara["events"] if e.timestamp <= moment(2))
    fingerprint = app.fingerprint(uuid.UUID(lid), head)
    assert len(fingerprint) == 64 and fingerprint in then.replace(" ", "")
    assert f"taken at {as_at_mod.in_words(moment(2))}" in then
    assert f"Record reference: {lid}" in then
    assert f"rarpaverify--fingerprint{lid}{fingerprint}" in then.replace(" ", "")  # wraps where it must
    assert "/fingerprint" in then


@pytest.mark.parametrize("query", ["as_at=yesterday", "as_at=2026-13-45T10:00:00Z", "as_at=2026-03-03T14:05",
                                   "when=not-a-time", "when=2026-02-30T10:00", "as_at=99999-01-01T00:00:00Z"])
@pytest.mark.parametrize("page", ["", "/evidence", "/timeline", "/annual-review", "/annual-review.pdf",
                                  "/access-log"])
def test_an_instant_that_cannot_be_read_is_a_readable_400_page(web, cara, page, query):
    sign_in(web, "auditor@example.org")
    response, text = get(web, f"/learners/{cara['lid']}{page}?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "<h1>Bad request</h1>" in text and ("time" in text.lower())


def test_the_picker_reads_uk_time_and_the_page_says_the_instant_back(web, cara):
    sign_in(web, "auditor@example.org")
    lid = cara["lid"]
    local = as_at_mod.local_value(moment(2))  # what the picker would send
    response = web.get(f"/learners/{lid}/evidence?when={local}&target={cara['ticket']}")
    assert response.status_code == 303  # said once as the address every link carries
    assert response.headers["Location"] == f"/learners/{lid}/evidence?as_at={z(moment(2))}&target={cara['ticket']}"
    response, html = get(web, f"/learners/{lid}?when={local}", follow_redirects=True)
    assert response.status_code == 200
    assert f"as it stood at {as_at_mod.in_words(moment(2))}" in html
    assert f"as_at={z(moment(2))}" in html  # the links carry it as UTC
    assert f'value="{local}"' in html  # and the picker shows it back
    # Before the record began: in words, not an error of ours.
    response, html = get(web, f"/learners/{lid}?when=2020-07-01T14:05", follow_redirects=True)
    assert response.status_code == 404 and "14:05 on 1 July 2020" in html


def test_uk_time_is_turned_into_utc_through_the_clock_changes():
    assert as_at_mod.from_local("2026-07-01T14:05") == datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc)  # BST
    assert as_at_mod.from_local("2026-01-15T14:05") == datetime(2026, 1, 15, 14, 5, tzinfo=timezone.utc)  # GMT
    assert as_at_mod.from_local("2026-10-25T01:30") == datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc)  # the first 01:30
    assert as_at_mod.from_local("2026-03-29T01:30") == datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc)  # skipped
    assert as_at_mod.in_words(datetime(2026, 7, 1, 13, 5, tzinfo=timezone.utc)) == "14:05 on 1 July 2026"
    assert as_at_mod.in_words(datetime(2026, 1, 15, 14, 5, 7, tzinfo=timezone.utc)) == "14:05:07 on 15 January 2026"
    # The picker shown again unchanged keeps an instant that has seconds.
    exact = "2026-01-15T14:05:07Z"
    assert as_at_mod.parse(exact, "2026-01-15T14:05") == datetime(2026, 1, 15, 14, 5, 7, tzinfo=timezone.utc)
    assert as_at_mod.parse(exact, "2026-01-15T15:00") == datetime(2026, 1, 15, 15, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        as_at_mod.from_local("2026-01-15T14:05+01:00")


# --- comparing two instants ---------------------------------------------------------------------
def test_compare_lists_exactly_what_was_recorded_between_the_two_instants(web, cara):
    sign_in(web, "auditor@example.org")
    lid, p = cara["lid"], cara["position"]
    response, html = get(web, f"/learners/{lid}/compare?from={z(moment(2))}&to={z(moment(6))}")
    assert response.status_code == 200
    assert sorted(entry_ids(html)) == sorted([p["B"], p["C"]])  # after 2h, up to 6h
    corrected = html[html.index('id="cg-corrected"'):]
    assert "Corrected or amended (1)" in html and "Added (1)" in html and "Withdrawn" not in html.split("<h2")[0]
    assert f'id="e-{p["C"]}"' in corrected and "Checked the diary: the driver helped" in corrected
    assert "Was:</span> Buy a bus ticket: developing" in corrected
    added = html[html.index('id="cg-added"'):]
    assert f'id="e-{p["B"]}"' in added and "<dd>lead (send lead) at Northfield College</dd>" in added
    assert "2 entries were recorded: 1 corrected or amended, 1 added." in " ".join(html.split())
    # The same through the pickers (UK time), and an instant exactly at an entry includes it.
    response, html = get(web, f"/learners/{lid}/compare?from_when={as_at_mod.local_value(moment(1))}"
                              f"&to_when={as_at_mod.local_value(moment(7))}")
    assert sorted(entry_ids(html)) == sorted([p["B"], p["C"], p["D"]])
    assert "Withdrawn (1)" in html and "Recorded for the wrong learner" in html


def test_compare_says_what_is_wrong_beside_each_field(web, app, cara):
    sign_in(web, "auditor@example.org")
    lid = cara["lid"]
    response, html = get(web, f"/learners/{lid}/compare?from_when=&to_when=")
    assert response.status_code == 400
    assert '<p class="field-error" id="from_when-error"><span class="visually-hidden">Error: </span>Enter the time to compare from</p>' in html
    assert '<a href="#from_when">Enter the time to compare from</a>' in html
    response, html = get(web, f"/learners/{lid}/compare?from_when=2026-01-15T14:05&to_when=2026-01-14T10:00")
    assert response.status_code == 400 and 'id="to_when-error"' in html
    assert "must be later than the time to compare from" in html and 'value="2026-01-14T10:00"' in html
    response, html = get(web, f"/learners/{lid}/compare?from_when=soon")
    assert response.status_code == 400 and "must be a real date and time" in html
    # Opened with no times at all: the form, no errors.
    response, html = get(web, f"/learners/{lid}/compare")
    assert response.status_code == 200 and "There is a problem" not in html


# --- the access log -------------------------------------------------------------------------------
def test_the_access_log_page_shows_who_opened_the_record_newest_first(web, app, cara, world):
    lid = cara["lid"]
    tutor = web.application.test_client()
    sign_in(tutor, "tutor@example.org")
    assert tutor.get(f"/learners/{lid}").status_code == 200
    assert tutor.get(f"/learners/{lid}/evidence").status_code == 200
    assert tutor.get(f"/learners/{lid}/access-log").status_code == 404  # not for a tutor
    for email in ("lead@example.org", "auditor@example.org"):
        client = web.application.test_client()
        sign_in(client, email)
        response, html = get(client, f"/learners/{lid}/access-log")
        assert response.status_code == 200
        rows = re.findall(r"<tr>\s*<td><time[^>]*>([^<]+)</time></td>\s*<td>([^<]+)<br><span class=\"note\">([^<]+)"
                          r"</span></td>\s*<td>([^<]+)", html)
        # Newest first: this very view (logged before the page is made), then the tutor's two views
        # (and, for the auditor, the lead's look at this log before).
        seen = [(who, role, what.strip()) for _, who, role, what in rows]
        assert seen[0][2] == "Access log" and seen[0][0] == email.split("@")[0]
        assert [row for row in seen if row[0] == "tutor"][:2] == [
            ("tutor", "Tutor", "Evidence"), ("tutor", "Tutor", "Learner page")]
        if email == "auditor@example.org":
            assert seen[1] == ("lead", "Send lead", "Access log")
        assert "<td>127.0.0.1</td>" in html
    riverside = web.application.test_client()
    sign_in(riverside, "lead.riverside@example.org")
    assert riverside.get(f"/learners/{lid}/access-log").status_code == 404  # not their learner


def views(app, lid: str) -> list[dict]:
    return app.vault.access.entries(lid)


VIEWS = [  # who opens which page of the learner, and what the log calls it
    ("tutor@example.org", "", "learner page"),
    ("tutor@example.org", "/observations/{A}", "observation"),
    ("support@example.org", "/evidence", "evidence"),
    ("support@example.org", "/evidence?after=2099-01-01T00:00:00%2B00:00~1", "evidence"),
    ("auditor@example.org", "/timeline", "timeline"),
    ("lead@example.org", "/compare?from={T}", "changes"),
    ("lead@example.org", "/access-log", "access log"),
    ("tutor@example.org", "/annual-review", "annual-review pack"),
    ("auditor@example.org", "/annual-review.pdf", "annual-review pack (PDF)"),
    ("auditor@example.org", "/annual-review?as_at={T}", "annual-review pack"),
    ("lead@example.org", "/plan", "plan"),
    ("tutor@example.org", "/end-of-programme", "end of programme"),
    ("support@example.org", "/consents", "consents"),
    ("tutor@example.org", "/self-assessment", "self-assessment"),
    ("tutor@example.org", "/reviews/new", "progress review"),
]


@pytest.mark.parametrize("email, page, what", VIEWS)
def test_every_view_of_the_record_writes_one_access_log_entry(web, app, cara, world, email, page, what):
    lid = cara["lid"]
    path = f"/learners/{lid}" + page.format(A=cara["obs"]["A"], T=z(moment(2)))
    sign_in(web, email)
    before = views(app, lid)
    response = web.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    after = views(app, lid)
    assert len(after) == len(before) + 1
    entry = after[-1]
    who = app.user(email)
    assert (entry["user_id"], entry["role"], entry["action"], entry["learner_id"], entry["address"]) == (
        str(who.id), who.role, what, lid, "127.0.0.1")
    assert entry["detail"] == path


def test_a_view_the_role_may_not_have_is_not_logged(web, app, cara):
    lid = cara["lid"]
    sign_in(web, "tutor@example.org")
    before = len(views(app, lid))
    assert web.get(f"/learners/{lid}/timeline").status_code == 404  # not theirs to see: nothing shown
    assert len(views(app, lid)) == before


def test_a_view_that_cannot_be_logged_is_refused_and_shows_nothing(web, app, cara, settings):
    lid = cara["lid"]
    sign_in(web, "auditor@example.org")
    assert web.get(f"/learners/{lid}").status_code == 200
    with refusing_access_log(settings):
        for page in ("", "/evidence", "/timeline", "/compare", "/access-log", "/annual-review",
                     "/annual-review.pdf", f"/observations/{cara['obs']['A']}", f"?as_at={z(moment(2))}"):
            response, text = get(web, f"/learners/{lid}{page}")
            assert response.status_code == 503, page
            assert response.mimetype == "text/html"
            assert "the access log could not be written" in text
            for word in ("Cara", "Brown", "bus ticket", "Bought a ticket"):
                assert word not in text, (page, word)
    assert web.get(f"/learners/{lid}").status_code == 200


# --- checking a fingerprint ---------------------------------------------------------------------------
def test_a_fingerprint_from_the_pack_matches_and_says_how_much_came_after(web, app, cara, system):
    lid = cara["lid"]
    fingerprint = app.fingerprint(uuid.UUID(lid), cara["position"]["B"])
    after = len(cara["events"]) - cara["position"]["B"]
    sign_in(web, "auditor@example.org")
    response, html = get(web, f"/fingerprint?learner={lid}&fingerprint={fingerprint}")
    assert response.status_code == 200
    assert (f"This is the record of Cara B. up to event {cara['position']['B']}, recorded at "
            f"{as_at_mod.in_words(moment(3))}.") in html
    assert f"{after} events were recorded after it, so the record up to that point is unchanged." in html
    assert f"as_at={z(moment(3))}" in html  # and it links to the record as it stood then
    # Its first 16 characters, pasted with spaces and colons, in capitals.
    typed = ":".join(fingerprint[i:i + 4] for i in range(0, 16, 4)).upper().replace(":", " ", 1)
    response, html = get(web, f"/fingerprint?learner={lid}&fingerprint={typed}")
    assert "It matches" in html and f"up to event {cara['position']['B']}" in html
    # The newest: nothing after it.
    head = app.fingerprint(uuid.UUID(lid), len(cara["events"]))
    _, html = get(web, f"/fingerprint?learner={lid}&fingerprint={head}")
    assert "No events were recorded after it: this is the record as it stands now" in html


def test_a_fingerprint_that_is_not_this_learners_does_not_match(web, app, cara, world):
    lid = cara["lid"]
    other = app.fingerprint(uuid.UUID(world["learners"]["amy"]), 2)
    sign_in(web, "auditor@example.org")
    for fingerprint in (other, "0" * 64):
        response, html = get(web, f"/fingerprint?learner={lid}&fingerprint={fingerprint}")
        assert response.status_code == 200
        assert "This fingerprint does not match this learner’s record." in html and "Cara" not in html


def test_a_learner_out_of_sight_is_never_named_by_the_check(web, app, cara, system):
    lid = cara["lid"]
    fingerprint = app.fingerprint(uuid.UUID(lid), 3)
    app.erase_learner(system, lid, reason="Asked for erasure")
    sign_in(web, "auditor@example.org")
    _, html = get(web, f"/fingerprint?learner={lid}&fingerprint={fingerprint}")
    assert "This is the record of this learner up to event 3" in html and "Cara" not in html
    other = web.application.test_client()
    sign_in(other, "tutor2@example.org")  # sees nobody: it does not match for them
    _, html = get(other, f"/fingerprint?learner={lid}&fingerprint={fingerprint}")
    assert "does not match" in html and "Cara" not in html


@pytest.mark.parametrize("query, field, message", [
    ("learner=&fingerprint=", "learner", "Enter the learner's record reference"),
    ("learner=&fingerprint=", "fingerprint", "Enter the fingerprint"),
    ("learner=not-a-reference&fingerprint=0123456789abcdef", "learner", "Enter the record reference as it is printed"),
    ("learner={lid}&fingerprint=0123456789abcdeg", "fingerprint", "A fingerprint is made of the digits 0-9 and letters a-f"),
    ("learner={lid}&fingerprint=0123 4567", "fingerprint", "Enter at least 16 characters of the fingerprint"),
    ("learner={lid}&fingerprint=" + "a" * 65, "fingerprint", "A fingerprint has 64 characters at most"),
])
def test_a_fingerprint_form_that_cannot_be_checked_says_why_beside_the_field(web, app, cara, query, field, message):
    sign_in(web, "tutor@example.org")
    before = app.recorder.max_notification_id()
    response, html = get(web, "/fingerprint?" + query.format(lid=cara["lid"]))
    assert response.status_code == 422
    error = re.search(rf'<p class="field-error" id="{field}-error"><span class="visually-hidden">Error: </span>([^<]+)</p>', html)
    assert error and unescape(error.group(1)).startswith(message), html[:2000]
    assert f'<a href="#{field}">' in html  # in the summary at the top, linking to the field
    assert "It matches" not in html and "does not match" not in html
    assert app.recorder.max_notification_id() == before


def test_the_pack_prints_the_whole_fingerprint_the_instant_and_where_to_check_it(web, app, cara):
    sign_in(web, "lead@example.org")
    lid = cara["lid"]
    _, html = get(web, f"/learners/{lid}/annual-review")
    head = app.fingerprint(uuid.UUID(lid), len(cara["events"]))
    assert f'<code class="fingerprint-hex">{head}</code>' in html
    assert f'<code class="fingerprint-ref">{lid}</code>' in html
    assert "Record fingerprint, taken at " in html and "http://localhost/fingerprint" in html
    assert f"rarpa verify --fingerprint {lid} {head}" in html
    check = next(link["href"] for link in parts(html).links if link["text"] == "Check this fingerprint now")
    _, answer = get(web, unescape(check))
    assert "It matches" in answer and "No events were recorded after it" in answer


def test_the_access_log_says_what_each_address_asked_for_in_words():
    assert workspace.detail_words("/learners/x") == ""
    assert workspace.detail_words("/learners/x/timeline?as_at=2026-07-01T13:05:00Z&kind=TargetSet&page=2") == (
        "as at 14:05 on 1 July 2026; entries TargetSet; page 2")
    # The picker's value is the one that counted (UK time), not the hidden one it replaced.
    assert workspace.detail_words("/learners/x/compare?from=2026-01-01T10:00:00Z&to=&from_when=2026-01-15T14:05"
                                  "&to_when=2026-07-01T14:05") == "from 14:05 on 15 January 2026; to 14:05 on 1 July 2026"
    assert workspace.detail_words("/learners/x?as_at=yesterday") == "as at yesterday (not a time)"


def test_a_long_comparison_lists_the_first_of_each_group_and_counts_them_all(web, cara, monkeypatch):
    monkeypatch.setattr(workspace, "GROUP_SHOWN", 2)
    sign_in(web, "auditor@example.org")
    p = cara["position"]
    _, html = get(web, f"/learners/{cara['lid']}/compare?from={z(moment(-1))}")
    added = html[html.index('id="cg-added"'):]
    assert "Added (10)" in html and "The first 2 of 10, in the order recorded." in added
    assert entry_ids(added) == [1, 2]
    assert "12 entries were recorded: 1 corrected or amended, 1 withdrawn, 10 added." in " ".join(html.split())
    assert p["C"] in entry_ids(html) and p["D"] in entry_ids(html)

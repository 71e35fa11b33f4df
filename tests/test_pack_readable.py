"""The annual-review pack a parent can read (issue 13): the summary first, in
plain words and with the learner's own words; the evidence grouped per target,
what was the same every time said once; no sentence said twice anywhere in the
pack; the learner's and the family's views; "About this record" (the method and
the fingerprint) at the end. The same content on the page, in the PDF and in
the JSON. The browser checks (axe, screenshots) are in test_browser_pack_readable.py."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from rarpa.read import annual_review
from rarpa.read.pack_readable import Said, _clean_note, doing, is_sentence, repeated, same, sentences
from tests.conftest import observation
from tests.test_web import sign_in

TODAY = datetime.now(timezone.utc).date()
JARGON = ("steps", "step", "distance", "formative", "summative", "generalised", "baseline", "emerging",
          "developing", "prompt", "PfA")


def day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


# --- the helpers -----------------------------------------------------------------------------
def test_sentences_are_split_at_their_ends_and_a_quotation_is_one_piece():
    text = "Amy said: “I did it. Then I went home.” She was proud!  Was she? Now: able to do it"
    assert sentences(text) == ["Amy said: “I did it. Then I went home.”", "She was proud!", "Was she?",
                               "Now: able to do it"]
    assert [is_sentence(s) for s in sentences(text)] == [True, True, True, False]  # a label is not a sentence
    assert sentences("“I like the bus.” At the progress review, 2 Apr 2026") == [
        "“I like the bus.”", "At the progress review, 2 Apr 2026"]


def test_repeated_finds_a_sentence_said_twice_whatever_its_case_or_punctuation():
    old_style = ["24 Feb 2026, at home: generalised. Attend the group with a peer.",
                 "5 Apr 2026, in class: generalised. attend the group with a peer!"]
    assert repeated(old_style) == ["Attend the group with a peer."]
    assert repeated(["Now: able to do it", "Now: able to do it"]) == []  # labels are not sentences
    assert same("“I did it!”") == same("i did it.") == "i did it"


def test_said_keeps_each_sentence_once_and_a_quotation_whole_or_not_at_all():
    said = Said()
    assert said.new("In the shop. Needed one verbal prompt.") == "In the shop. Needed one verbal prompt."
    assert said.new("At the kiosk. needed one verbal prompt!") == "At the kiosk."
    assert said.new("In the shop.") == ""
    assert said.whole("I did the bus. On my own.") is True
    assert said.whole("I did the bus. On my own.") is False  # the same words again
    assert said.whole("I did the bus.") is True  # other words of theirs: their own quotation


def test_a_target_is_said_as_what_the_learner_can_do():
    assert doing("Amy", "Buy a bus ticket", "can now {do} reliably") == "Amy can now buy a bus ticket reliably"
    assert doing("Amir", "With a visual prompt card: explain a health problem", "is starting to {do}") == (
        "With a visual prompt card, Amir is starting to explain a health problem")
    assert doing("Amy", "NHS app: book an appointment", "can {do}") == "NHS app, Amy can book an appointment"
    assert doing("Amy", "Use the NHS app", "can {do}") == "Amy can use the NHS app"
    assert doing("Amy", "Amy uses the bus", "can now {do} reliably") == (
        "“Amy uses the bus”: Amy can now do this reliably")  # not worded as something to do: quoted


def test_a_note_does_not_say_the_targets_wording_again():
    texts = ["Attend the group with a peer", "Attend the group with a peer in a new setting"]
    assert _clean_note("Attend the group with a peer in a new setting at the youth club; needed one verbal prompt",
                       texts) == "At the youth club; needed one verbal prompt."
    assert _clean_note("Attend the group with a peer at home.", texts) == "At home."
    assert _clean_note("Attended the group with a peer.", texts) == "Attended the group with a peer."
    assert _clean_note("Attend the group with a peer", texts) == ""


# --- a learner's year ------------------------------------------------------------------------
@pytest.fixture
def year(app, world, system):
    """Amy's year: a target that moved and needs no help now, one that moved (the
    same place, help and rating every time, the same note twice), one serving two
    outcomes that did not move; her words at a review and beside self-assessments
    (the same words twice); two things nobody planned; a next step."""
    amy, bus, travel = world["learners"]["amy"], world["amy"]["target"], world["amy"]["outcome"]
    cafe_outcome = app.record_outcome(system, amy, text="Amy will use a café in town and speak for herself.",
                                      pfa_area="community", due="2027-07-01").result
    cafe = app.set_target(system, amy, text="Order a drink in a café", success_criteria="Orders and pays",
                          outcome_ids=[cafe_outcome], baseline="not_yet", review_by="2027-01-15").result
    thanks = app.set_target(system, amy, text="Say thank you to the driver", success_criteria="Without a reminder",
                            outcome_ids=[travel, cafe_outcome], baseline="developing", review_by="2027-01-15").result
    minutes = 24 * 60
    for days, rating, help_, where, note in (
            (20, "emerging", "verbal", "classroom", "Buy a bus ticket at the kiosk in the college shop."),
            (15, "developing", "verbal", "classroom", "Buy a bus ticket at the kiosk in the college shop."),
            (10, "secure", "independent", "community", "Asked the driver for a return."),
            (5, "secure", "independent", "community", "Asked the driver for a return.")):
        app.record_observation(system, amy, **observation(bus, rating, minutes_ago=days * minutes, prompt_level=help_,
                                                          context=where, note=note))
    for days in (12, 8):
        app.record_observation(system, amy, **observation(cafe, "developing", minutes_ago=days * minutes,
                                                          prompt_level="verbal", context="classroom",
                                                          note="Needed one verbal prompt."))
    app.record_observation(system, amy, **observation(thanks, "developing", minutes_ago=3 * minutes,
                                                      prompt_level="gestural", context="home",
                                                      note="Said thank you with a smile."))
    before_words = datetime.now(timezone.utc)
    app.record_self_assessment(system, amy, target_id=bus, answer="on_my_own", words="I did the bus on my own!")
    app.record_self_assessment(system, amy, target_id=cafe, answer="with_help", words="I did the bus on my own!")
    app.record_self_assessment(system, amy, target_id=thanks, answer="not_yet")
    app.hold_progress_review(system, amy, held_on=TODAY, attendees=["Amy", "Mum"],
                             learner_views="I want to go to town on the bus with my friend.",
                             decisions=[{"target_id": t, "decision": "keep"} for t in (bus, cafe, thanks)])
    app.recognise_unplanned_outcome(system, amy, text="Helped a friend find the right bus",
                                    recognised_on=TODAY - timedelta(days=10))
    app.recognise_unplanned_outcome(system, amy, text="Spoke up at the student council",
                                    recognised_on=TODAY - timedelta(days=2))
    app.agree_next_step(system, amy, text="Try the train to Leeds with a buddy", agreed_on=TODAY)
    return {"amy": amy, "before_words": before_words}


class PackText(HTMLParser):
    """The text of the page's pack (<div class="pack">), one piece per block
    (paragraph, list item, heading, label, value); charts' text alternatives left out."""

    BLOCKS = {"p", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "div", "section",
              "header", "article", "ul", "dl", "br", "blockquote"}

    def __init__(self):
        super().__init__()
        self.depth = 0  # <div> depth inside the pack; 0 outside it
        self.svg = 0
        self.blocks: list[str] = []
        self._now: list[str] = []

    def _break(self):
        text = " ".join("".join(self._now).split())
        if text:
            self.blocks.append(text)
        self._now = []

    def handle_starttag(self, tag, attrs):
        if tag == "div" and (self.depth or ("class", "pack") in attrs):
            self.depth += 1
        if tag == "svg":
            self.svg += 1
        if self.depth and tag in self.BLOCKS:
            self._break()

    def handle_endtag(self, tag):
        if self.depth and tag in self.BLOCKS:
            self._break()
        if tag == "div" and self.depth:
            self.depth -= 1
        if tag == "svg":
            self.svg -= 1

    def handle_data(self, data):
        if self.depth and not self.svg:
            self._now.append(data)


def pack_blocks(html: str) -> list[str]:
    parser = PackText()
    parser.feed(html)
    return parser.blocks


def pdf_pages(body: bytes) -> list[str]:
    """Each page's text, as one line: a word split at a hyphen by the line's end made whole."""
    pages = []
    for page in PdfReader(io.BytesIO(body)).pages:
        text = re.sub(r"(\w)-\s+(\w)", r"\1-\2", page.extract_text()).replace("•", " ")
        pages.append(" ".join(text.split()))
    return pages


def get_pack(web, amy: str, **query):
    sign_in(web, "lead@example.org")
    html = web.get(f"/learners/{amy}/annual-review", query_string=query).get_data(as_text=True)
    pdf = web.get(f"/learners/{amy}/annual-review.pdf", query_string=query)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    return html, pdf_pages(pdf.data)


def fingerprint_of(html: str) -> str:
    return re.search(r'<code class="fingerprint-hex">([0-9a-f]{64})</code>', html).group(1)


def test_the_pdfs_first_page_is_the_summary_in_plain_words(web, year):
    html, pages = get_pack(web, year["amy"])
    fingerprint = fingerprint_of(html)
    first = pages[0]
    for heading in ("Amy's annual review", "Amy's year: a summary", "What went well", "What is next",
                    "In Amy's own words"):
        assert heading in first, heading
    # What went well, in plain words, against where she started.
    assert "Amy moved forward on 2 of the 3 targets worked on this year." in first
    assert ("Amy can now buy a bus ticket reliably, with no help, and was just starting to do it when the year "
            "began.") in first
    assert ("Amy can order a drink in a café some of the time, and was not yet able to do it when the year "
            "began.") in first
    assert "Something nobody planned: Spoke up at the student council." in first
    # What is next.
    assert f"Try the train to Leeds with a buddy (agreed {day(TODAY)})." in first
    assert ("Amy will keep working on “Order a drink in a café”, “Say thank you to the driver” and “Buy a bus "
            "ticket”.") in first
    # Her own words, quoted: from the review and beside a self-assessment.
    assert "“I want to go to town on the bus with my friend.”" in first
    assert "“I did the bus on my own!”" in first
    # Nothing of the record's machinery, and no staff terms.
    squashed = re.sub(r"\s", "", first)
    assert fingerprint not in squashed and fingerprint[:16] not in squashed
    assert "fingerprint" not in first.lower() and "About this record" not in first
    for word in JARGON:
        assert not re.search(rf"\b{word}\b", first, re.IGNORECASE), word
    # The fingerprint is at the end, under "About this record", and nowhere before the last page.
    assert fingerprint in re.sub(r"\s", "", pages[-1]) and "Checking this record" in pages[-1]
    assert all(fingerprint not in re.sub(r"\s", "", p) for p in pages[:-1])
    whole = " ".join(pages)
    assert (whole.index("What Amy says") < whole.index("What Amy's family says")
            < whole.index("Recommendations for the plan") < whole.index("About this record")
            < whole.index("Record fingerprint"))
    assert whole.count("About this record") == 1


def test_no_sentence_is_said_twice_in_the_page_or_the_pdf(web, year):
    html, pages = get_pack(web, year["amy"])
    blocks = pack_blocks(html)
    said = [s for b in blocks for s in sentences(b) if is_sentence(s)]
    # The whole pack was read, from the summary to "About this record", not a fragment of it.
    assert said[0] == "Amy moved forward on 2 of the 3 targets worked on this year." and len(said) > 25
    assert "The local authority decides after the review meeting." in said
    assert repeated(blocks) == []
    # The notes given twice, and the words she said twice, are said once.
    text = " ".join(blocks)
    for once in ("At the kiosk in the college shop.", "Asked the driver for a return.", "Needed one verbal prompt.",
                 "“I did the bus on my own!”"):
        assert text.count(once) == 1, once
    assert "Buy a bus ticket at the kiosk" not in text  # the target's wording is the heading above the note
    # The PDF says every one of those sentences, each once, and repeats none of its own.
    pdf = " " + same(" ".join(pages)) + " "
    for sentence in said:
        assert pdf.count(" " + same(sentence) + " ") == 1, sentence
    assert repeated(pages) == []


def test_the_evidence_is_grouped_per_target_and_says_what_was_the_same_once(web, app, year, system, projector):
    projector.catch_up()
    pack = annual_review.pack(app, projector.reader(), system, year["amy"])
    worked_on = {t["text"]: t for area in pack["worked_on"] for o in area["outcomes"] for t in o["targets"]
                 if not t["shown_under"]}
    cafe = worked_on["Order a drink in a café"]["evidence"]
    assert cafe["each_time"] == "in class, with a spoken reminder, able to do it some of the time"
    assert [e["detail"] for e in cafe["items"]] == ["", ""]
    assert [e["note"] for e in cafe["items"]] == ["Needed one verbal prompt.", ""]
    bus = worked_on["Buy a bus ticket"]["evidence"]
    assert bus["each_time"] is None  # place, help and rating changed over the year
    assert all(" · " in e["detail"] for e in bus["items"])
    assert {e["detail"] for e in bus["items"]} >= {"out in the community · with no help · able to do it reliably"}
    # A target serving two outcomes is told in full under the first, pointed to under the second.
    thanks = [(o["number"], t) for area in pack["worked_on"] for o in area["outcomes"] for t in o["targets"]
              if t["text"] == "Say thank you to the driver"]
    assert [(n, t["shown_under"]) for n, t in thanks] == [(1, None), (2, 1)]
    assert thanks[1][1]["facts"] == [] and thanks[1][1]["evidence"] is None
    html, _ = get_pack(web, year["amy"])
    assert html.count("<strong>Each time:</strong>") == 1 and "Shown under outcome 1" in html


def test_the_json_says_what_the_page_says_and_keeps_every_key(web, app, year):
    html, _ = get_pack(web, year["amy"])
    token = app.create_token("lead@example.org")
    body = web.get(f"/api/v1/learners/{year['amy']}/annual-review",
                   headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {"learner", "from", "to", "outcomes", "self_assessments", "learner_views", "unplanned_outcomes",
            "recommendations", "next_steps", "destinations", "aims", "fingerprint", "dual_placement",
            "as_at"} <= set(body)  # every key API clients had
    assert {"summary", "views", "about", "family_views", "worked_on", "plan", "nobody_planned"} <= set(body)
    summary = body["summary"]
    assert set(summary) >= {"went_well", "next", "learner_words"}
    assert between(html, '<ul class="went-well">', "</ul>") == summary["went_well"]
    assert between(html, '<ul class="what-next">', "</ul>") == summary["next"]
    assert [q.strip("“”") for q in between(html, '<ul class="quotes">', "</ul>", "p")[::2]] == [
        q["words"] for q in summary["learner_words"]] == [
        "I want to go to town on the bus with my friend.", "I did the bus on my own!"]
    views = body["views"]
    assert [v["said"] for v in views["learner"]] == [
        f"On {day(TODAY)}, about “Buy a bus ticket”, Amy chose “I can do this on my own”.",
        f"On {day(TODAY)}, about “Order a drink in a café”, Amy chose “I can do this with help”.",
        f"On {day(TODAY)}, about “Say thank you to the driver”, Amy chose “I can't do this yet”."]
    assert all(v["words"] is None for v in views["learner"])  # her words are in the summary, said once
    for v in views["learner"]:
        assert v["said"].replace("'", "&#39;") in html
    assert views["family"] == [] and body["family_views"] == []
    assert "No views from home were sent for this period." in html
    about = body["about"]
    assert about["fingerprint"] == body["fingerprint"] == fingerprint_of(html)
    assert about["method"] and all(m in html.replace("&#39;", "'") for m in about["method"])
    assert [r["staff_word"] for r in about["scale"]] == ["not yet", "emerging", "developing", "secure", "generalised"]
    assert [line["said"] for line in body["plan"]] == ["Continue outcomes 1 and 2: Amy is making progress."]


def between(html: str, start: str, end: str, tag: str = "li") -> list[str]:
    """The text of each <tag> between two markers of the page."""
    part = html.split(start, 1)[1].split(end, 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", "", m).split()).replace("&#39;", "'")
            for m in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", part, re.S)]


def test_what_the_family_sent_is_in_the_pack_page_pdf_and_json(web, app, year, system):
    """Mum and Dad each send the same words from home (rarpa/service/family.py);
    staff add both to the record; the pack says them once."""
    import uuid

    lid = year["amy"]
    target = next(iter(app.learner(system, lid).targets))
    app.record_consent(system, lid, consent="sharing_with_family", given=True, reason="Amy said yes")
    words = "Amy made her own breakfast every day this week."
    for relationship, email, days in (("Mum", "mum@example.org", 4), ("Dad", "dad@example.org", 1)):
        link = app.invite_family_member(system, lid, display_name=relationship, relationship=relationship,
                                        email=email, reason="Review").result["token"]
        member = app.set_password_with_link(token=link, password="a long family passphrase 2026")
        cid = str(uuid.uuid4())
        app.send_family_contribution(member, lid, contribution_id=cid, words=words,
                                     happened_on=(TODAY - timedelta(days=days)).isoformat())
        app.accept_family_contribution(system, lid, contribution_id=cid, ratings={target: "developing"})
    html, pages = get_pack(web, year["amy"])
    family = html.split('id="pack-family"', 1)[1].split("</section>", 1)[0]
    assert "“Amy made her own breakfast every day this week.”" in family
    assert f"From Mum, {day(TODAY - timedelta(days=4))}" in family
    assert f"On {day(TODAY - timedelta(days=1))}, Dad sent the same words again." in family  # said once
    assert "No views from home" not in html
    whole = " ".join(pages)
    assert whole.count("“Amy made her own breakfast every day this week.”") == 1
    assert whole.index("What Amy's family says") < whole.index("“Amy made her own breakfast")
    token = app.create_token("lead@example.org")
    body = web.get(f"/api/v1/learners/{year['amy']}/annual-review",
                   headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["family_views"][0] == {"from": "Mum", "on": (TODAY - timedelta(days=4)).isoformat(),
                                       "words": "Amy made her own breakfast every day this week."}
    assert [f["words"] for f in body["views"]["family"]] == ["Amy made her own breakfast every day this week.", None]


def test_the_pack_as_at_an_instant_says_only_what_was_known_then(web, app, year, system, projector):
    projector.catch_up()
    then = annual_review.pack(app, projector.reader(), system, year["amy"], as_at=year["before_words"])
    assert then["summary"]["learner_words"] == []
    assert then["summary"]["learner_words_none"] == "Amy's own words were not recorded in this period."
    assert then["views"]["learner"] == [] and "Try the train" not in " ".join(then["summary"]["next"])
    assert then["about"]["fingerprint"] == then["fingerprint"]
    now = annual_review.pack(app, projector.reader(), system, year["amy"])
    assert now["about"]["fingerprint"] != then["about"]["fingerprint"]
    html, pages = get_pack(web, year["amy"], as_at=year["before_words"].isoformat())
    assert "Amy&#39;s own words were not recorded in this period." in html
    assert "I did the bus on my own" not in html and "I did the bus on my own" not in " ".join(pages)


def test_no_demo_learners_pack_says_a_sentence_twice(settings, app, projector, monkeypatch):
    """The demo's year for five learners (a dual placement, revised and closed
    targets, reviews, self-assessments, a leaver's end-of-programme judgements):
    each pack page repeats no sentence, nor does the leaver's PDF."""
    from rarpa.cli.demo import demo_learner_id, load_demo
    from tests.conftest import PASSWORD
    from web import create_app
    from web.services import Services

    monkeypatch.setenv("RARPA_DEMO_PASSWORD", PASSWORD)
    load_demo(app, learners=5, echo=lambda *_: None)
    projector.catch_up()
    services = Services(settings)
    try:
        web = create_app(services=services).test_client()
        assert sign_in(web, "lead@example.org").status_code == 302
        for i in range(5):
            html = web.get(f"/learners/{demo_learner_id(i)}/annual-review").get_data(as_text=True)
            blocks = pack_blocks(html)
            assert len([s for b in blocks for s in sentences(b) if is_sentence(s)]) > 25, i
            assert repeated(blocks) == [], i
            if i == 4:  # the leaver: the same end-of-programme summary was given for every target
                assert "Does this reliably with light prompting." in " ".join(blocks)
                pages = pdf_pages(web.get(f"/learners/{demo_learner_id(i)}/annual-review.pdf").data)
                assert repeated(pages) == [] and "Ellis's year: a summary" in pages[0]
    finally:
        services.close()


def test_a_pack_with_nothing_recorded_says_so_plainly(app, world, system, projector):
    projector.catch_up()
    pack = annual_review.pack(app, projector.reader(), system, world["learners"]["amy"])
    summary = pack["summary"]
    assert summary["went_well"] == [f"Nothing was recorded for Amy between {day(TODAY - timedelta(days=365))} "
                                    f"and {day(TODAY)}."]
    assert summary["next"] == ["Amy will keep working on “Buy a bus ticket”.",
                               "For Amy's plan, we recommend: change 1 outcome."]
    assert summary["learner_words"] == [] and pack["views"]["learner"] == []
    assert pack["plan"][0]["said"] == ("Amend outcome 1: nothing was recorded for it this year, so we suggest "
                                       "looking again at it and its targets with Amy.")
    app.record_observation(system, world["learners"]["amy"], **observation(world["amy"]["target"], "emerging"))
    projector.catch_up()
    pack = annual_review.pack(app, projector.reader(), system, world["learners"]["amy"])
    assert pack["summary"]["went_well"] == ["Amy kept working on 1 target this year; none has moved forward yet."]

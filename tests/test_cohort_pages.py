"""The cohort page (web/cohort.py) through Flask's test client: every measure
and group in words, a chart of distance travelled by PfA area, each count
leading to the learners behind it (erased learners counted, never named),
and the CSV for outside the college with counts of 1 to 4 suppressed."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from events.vocabulary import PFA_AREAS, TARGET_CLOSED_AS
from rarpa.read import cohort
from tests.conftest import observation
from tests.test_web import sign_in
from web.cohort_chart import distance_chart

TODAY = datetime.now(timezone.utc).date()
SVG = "{http://www.w3.org/2000/svg}"

# Five more Northfield learners beside the world's Amy (Northfield) and Ben
# (Riverside); Erin's record is erased once everything is written.
MORE = ["Cleo Adams", "Dev Patel", "Erin Walsh", "Finn Moore", "Gita Rao"]


@pytest.fixture
def cohort_world(app, world, system):
    ids = dict(world["learners"])
    for full in MORE:
        key = full.split()[0].lower()
        lid = app.enrol_learner(system, name=full, date_of_birth="2007-01-01", provider="northfield").result
        oid = app.record_outcome(system, lid, text="Cook a simple meal", pfa_area="independent_living",
                                 due="2027-07-01").result
        tid = app.set_target(system, lid, text="Make toast", success_criteria="Safely, alone",
                             outcome_ids=[oid], baseline="emerging", review_by="2027-01-15").result
        app.record_observation(system, lid, **observation(tid, rating="secure"))
        ids[key] = lid
        world[key] = {"outcome": oid, "target": tid}
    # Dev moves back a step on a health outcome; Erin partly achieves a target and has a destination.
    dev = ids["dev"]
    health = app.record_outcome(system, dev, text="Take medication on time", pfa_area="health",
                                due="2027-07-01").result
    tid = app.set_target(system, dev, text="Use a pill box", success_criteria="Every morning",
                         outcome_ids=[health], baseline="developing", review_by="2027-01-15").result
    app.record_observation(system, dev, **observation(tid, rating="emerging"))
    erin = ids["erin"]
    app.close_target(system, erin, target_id=world["erin"]["target"], closed_as="partly_achieved",
                     reason="Toast yes, the hob not yet")
    app.record_destination(system, erin, kind="supported_internship", detail="Hospital kitchens",
                           starts_on=str(TODAY - timedelta(days=30)))
    app.close_target(system, ids["finn"], target_id=world["finn"]["target"], closed_as="partly_achieved",
                     reason="Nearly there")
    app.erase_learner(system, erin, "Erasure request")
    world["ids"] = ids
    return world


class Text(HTMLParser):
    """What a person reads on a page: the text, without tags or attributes."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def counts_on(html: str) -> dict[str, int]:
    """Each count on the cohort page, by its key."""
    return {k: int(n) for k, n in re.findall(r'data-key="([^"]+)" data-count="(\d+)"', html)}


def drill_down(html: str) -> dict:
    """A drill-down page: the learners listed (link → how many rows), and the erased."""
    listed = dict(re.findall(r'<a class="card learner-card" href="/learners/([^"]+)" data-count="(\d+)"', html))
    erased = re.search(r'data-erased="(\d+)"', html)
    return {"listed": {k: int(v) for k, v in listed.items()}, "erased": int(erased.group(1)) if erased else 0,
            "text": visible(html)}


def test_every_measure_and_group_is_in_words_never_a_code(web, cohort_world):
    sign_in(web, "lead@example.org")
    response = web.get("/cohort")
    assert response.status_code == 200
    text = visible(response.get_data(as_text=True))
    rows = cohort.cohort(_reader(web), cohort_world["actors"]["send_lead"], TODAY)["rows"]
    for r in rows:
        assert r["label"] in text, r
        if r["unit"] != "outcomes":
            assert r["heading"] in text, r
    for words in ("Independent living", "Good health", "Closed: partly achieved", "Annual reviews",
                  "Due in the next 30 days", "Not observed in the last two weeks", "Sustained (two terms)",
                  "Moved back", "More than one step", "Northfield College"):
        assert words in text, words
    # No code anywhere a person reads (the codes with an underscore, and the old internal names).
    codes = [c for c in (*PFA_AREAS, *TARGET_CLOSED_AS) if "_" in c] + [
        "moved_back", "no_change", "up_to_one_step", "send_lead", "outcomes by PfA area", "closed: ",
        "annual review", "sustained_on", "due_soon", "not_observed", *(f"outcomes in {a}" for a in PFA_AREAS)]
    for code in codes:
        assert code not in text, code
    # Each group's row heading is exactly its words (so "Employment", never "employment").
    html = response.get_data(as_text=True)
    row_heads = set(re.findall(r'<th scope="row">([^<]*)</th>', html))
    assert row_heads == {r["label"] for r in rows if r["unit"] != "outcomes" or r["measure"] == "outcomes by PfA area"}
    assert {"Employment", "Friends, relationships and community", "Good health"} <= row_heads


def _reader(web):
    return web.application.extensions["rarpa"].fresh()


def test_each_count_is_its_drill_down_list_plus_the_erased(web, cohort_world):
    ids = cohort_world["ids"]
    for email in ("lead@example.org", "auditor@example.org"):
        client = web.application.test_client()
        sign_in(client, email)
        counts = counts_on(client.get("/cohort").get_data(as_text=True))
        assert len(counts) == len(cohort.cohort_measures(TODAY))
        erased_seen = 0
        for key, count in counts.items():
            response = client.get(f"/cohort/{key}")
            assert response.status_code == 200, key
            d = drill_down(response.get_data(as_text=True))
            assert sum(d["listed"].values()) + d["erased"] == count, (email, key, d)
            assert ids["erin"] not in d["listed"] and "Erin" not in d["text"], key
            if key == "learners" or key.startswith("annual") or key == "not-observed":
                assert all(n == 1 for n in d["listed"].values())  # a learner counts once
            erased_seen += d["erased"] > 0
        # Erin is counted (learners, her outcome, target, destination), never listed.
        assert erased_seen >= 4
        everyone = drill_down(client.get("/cohort/learners").get_data(as_text=True))
        assert "And 1 whose record was erased." in everyone["text"]
        assert counts["learners"] == len(everyone["listed"]) + 1
        partly = drill_down(client.get("/cohort/targets-closed-partly_achieved").get_data(as_text=True))
        assert partly["listed"] == {ids["finn"]: 1} and partly["erased"] == 1
        assert "And 1 target of 1 learner whose record was erased." in partly["text"]


def test_a_count_links_to_its_learners_and_they_to_their_pages(web, cohort_world):
    sign_in(web, "lead@example.org")
    html = web.get("/cohort").get_data(as_text=True)
    assert 'href="/cohort/outcomes-health-moved_back"' in html
    d = web.get("/cohort/outcomes-health-moved_back").get_data(as_text=True)
    dev = cohort_world["ids"]["dev"]
    assert drill_down(d)["listed"] == {dev: 1}
    assert "Dev P." in visible(d) and "Good health: EHCP outcomes by distance travelled" in visible(d)
    learner = web.get(f"/learners/{dev}")
    assert learner.status_code == 200 and "Dev P." in learner.get_data(as_text=True)
    assert web.get("/cohort/no-such-count").status_code == 404


def test_a_send_leads_drill_down_never_lists_another_providers_learner(web, cohort_world):
    ids = cohort_world["ids"]
    northfield = {ids[k] for k in ("amy", "cleo", "dev", "finn", "gita")}
    for email, own, other in (("lead@example.org", northfield, {ids["ben"]}),
                              ("lead.riverside@example.org", {ids["ben"]}, northfield)):
        client = web.application.test_client()
        sign_in(client, email)
        listed: set[str] = set()
        for m in cohort.cohort_measures(TODAY):
            html = client.get(f"/cohort/{m.key}").get_data(as_text=True)
            shown = set(drill_down(html)["listed"])
            assert not shown & other, (email, m.key)
            assert "Ben S." not in html if email.startswith("lead@") else "Amy J." not in html
            listed |= shown
        assert listed == own, email  # and each of their own is listed somewhere


@pytest.mark.parametrize("email", ["tutor@example.org", "support@example.org", "admin@example.org"])
def test_no_cohort_for_a_tutor_support_or_admin(web, cohort_world, email):
    sign_in(web, email)
    for path in ("/cohort", "/cohort.csv", "/cohort/learners", "/cohort/targets-open", "/cohort/no-such-count"):
        response = web.get(path)
        assert response.status_code == 403, (email, path)
        assert "Amy" not in response.get_data(as_text=True)


def test_the_csv_shows_1_to_4_as_under_5_and_keeps_0_and_5_or_more(web, cohort_world):
    sign_in(web, "lead@example.org")
    response = web.get("/cohort.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert lines[0] == ["Measure", "Group", "Count"]
    got = {(m, g): c for m, g, c in lines[1:]}
    rows = cohort.cohort(_reader(web), cohort_world["actors"]["send_lead"], TODAY)["rows"]
    assert len(got) == len(rows)
    kinds = set()
    for r in rows:
        shown = got[(r["heading"], r["label"])]
        if r["count"] == 0:
            assert shown == "0", r
        elif r["count"] < 5:
            assert shown == "<5", r
        else:
            assert shown == str(r["count"]), r
        kinds.add("0" if r["count"] == 0 else "1-4" if r["count"] < 5 else "5+")
    assert kinds == {"0", "1-4", "5+"}  # the data has all three cases
    # Named cases: 6 learners (the erased one counted), 2 partly achieved, none withdrawn, 1 moved back.
    assert got[("Learners", "All learners")] == "6"
    assert got[("EHCP outcomes by Preparing for Adulthood area", "Independent living")] == "6"
    assert got[("Targets", "Closed: partly achieved")] == "<5"
    assert got[("Targets", "Closed: withdrawn")] == "0"
    assert got[("Good health: EHCP outcomes by distance travelled", "Moved back")] == "<5"
    assert not any(name in response.get_data(as_text=True) for name in ("Amy", "Cleo", "Dev", "Finn", "Gita"))
    page = web.get("/cohort").get_data(as_text=True)
    top = page[:page.index("<section")]
    assert "shown as “&lt;5”" in top and "0 stays 0" in top and "identify a young person" in top


def test_the_chart_has_labelled_axes_values_on_the_bars_and_a_text_alternative(web, cohort_world):
    sign_in(web, "lead@example.org")
    html = web.get("/cohort").get_data(as_text=True)
    assert "style=" not in html  # the CSP refuses inline styles
    svg_text = re.search(r'<svg class="cohort-chart".*?</svg>', html, re.S).group(0)
    svg = ET.fromstring(svg_text.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert svg.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    assert title.text == "Distance travelled by Preparing for Adulthood area"
    axes = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "axis-label"]
    assert axes == ["Mean distance travelled (rating steps)", "Preparing for Adulthood area"]
    values = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "bar-value"]
    by_area = cohort.cohort_distance_by_area(_reader(web), cohort_world["actors"]["send_lead"], TODAY)
    assert [a["label"] for a in by_area] == ["Employment", "Independent living",
                                             "Friends, relationships and community", "Good health"]
    # Independent living: Amy 0 (no judgement yet), the five others +2 each (Erin's kept in her shape).
    assert by_area[1]["outcomes"] == 6 and by_area[1]["mean"] == pytest.approx(1.67)
    assert values == ["none", "1.67", "none", "\u22121"]
    assert "Independent living: 1.67 steps on average over 6 outcomes" in desc.text
    assert "Good health: \u22121 step on average over 1 outcome" in desc.text
    assert "Employment: no outcomes" in desc.text


def test_the_chart_draws_a_negative_bar_below_zero():
    svg = ET.fromstring(str(distance_chart([
        {"label": "Employment", "outcomes": 2, "mean": 1.5},
        {"label": "Good health", "outcomes": 1, "mean": -1.0},
    ])).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
    zero = next(float(line.get("y1")) for line in svg.iter(f"{SVG}line")
                if line.get("stroke-width") == "1.5" and line.get("y1") == line.get("y2"))
    up, down = list(svg.iter(f"{SVG}rect"))
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero)  # rises from zero
    assert float(down.get("y")) == pytest.approx(zero)  # hangs below it


def test_a_drill_down_naming_learners_is_logged_for_every_role(web, cohort_world, app):
    """A list of named learners is logged whoever opens it (the counts are not)."""
    for email, role in (("lead@example.org", "send_lead"), ("auditor@example.org", "auditor")):
        client = web.application.test_client()
        sign_in(client, email)
        assert client.get("/cohort").status_code == 200
        before = len(app.vault.access.entries())
        assert client.get("/cohort/targets-open").status_code == 200
        logged = app.vault.access.entries()[before:]
        assert [(e["action"], e["role"], e["learner_id"], e["detail"]) for e in logged] == [
            ("cohort list", role, None, "/cohort/targets-open")]

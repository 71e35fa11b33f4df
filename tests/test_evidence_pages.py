"""All the evidence (web/evidence.py) through Flask's test client: every
observation exactly once across the chunks, newest first by when it happened;
each filter narrows to exactly what it names and is kept in "Show more";
withdrawn and corrected observations are listed and marked; a learner out of
sight is a 404. And the charts: labelled axes and their points as a table, an
outcome's mean over time, revised targets and the jump links."""

from __future__ import annotations

import html as htmllib
import re
import uuid
from datetime import datetime, time, timedelta, timezone
from urllib.parse import quote

import pytest

from rarpa.record import measures
from tests.conftest import PASSWORD
from tests.test_web import sign_in

NOW = datetime.now(timezone.utc).replace(microsecond=0)
CHUNK = 25

ROW = re.compile(r'<li class="obs( obs-withdrawn)?" id="o-([0-9a-f-]{36})"')
MORE = re.compile(r'<a class="btn btn-primary" href="([^"]+)" hx-get="([^"]+)"')


# --- helpers -----------------------------------------------------------------------------------
def get(client, path: str, **headers):
    response = client.get(path, headers=headers)
    return response, response.get_data(as_text=True)


def ids_in(html: str) -> list[str]:
    return [m.group(2) for m in ROW.finditer(html)]


def read_all(client, path: str, htmx: bool = False) -> tuple[list[list[str]], str]:
    """Every chunk of the list at ``path``, following "Show more": its plain link
    (a page of its own each time), or with ``htmx`` its hx-get address as htmx
    sends it (a fragment: rows, then the next link out of band). Returns the
    ids chunk by chunk and the first page's HTML."""
    response, first = get(client, path)
    assert response.status_code == 200, first[:500]
    chunks, page = [ids_in(first)], first
    for _ in range(100):
        more = MORE.search(page)
        if not more:
            return chunks, first
        plain, hx = (htmllib.unescape(u) for u in more.groups())
        assert "after=" in plain and hx.startswith(plain + "&from=")
        response, page = get(client, hx, **{"HX-Request": "true"}) if htmx else get(client, plain)
        assert response.status_code == 200, page[:500]
        if htmx:
            assert "<html" not in page and 'hx-swap-oob' in page  # a fragment, with the next link out of band
        chunks.append(ids_in(page))
    pytest.fail("more than 100 chunks")


def count_line(html: str) -> str:
    line = re.search(r'<p class="evidence-count">(.*?)</p>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", line).split())


def observe(app, actor, lid, target, minutes_ago: float | None = None, rating="developing", at=None, **extra) -> str:
    oid = str(uuid.uuid4())
    app.record_observation(actor, lid, observation_id=oid, target_id=target, rating=rating,
                           observed_at=at or NOW - timedelta(minutes=minutes_ago), **extra)
    return oid


@pytest.fixture
def tutor(web):
    assert sign_in(web).status_code == 302
    return web


@pytest.fixture
def amy(world, app, system):
    """Amy with a second target (another PfA area) and observations by the tutor,
    the support assistant and the command line, in every context and rating."""
    lid = world["learners"]["amy"]
    outcome = app.record_outcome(system, lid, text="Make a friend at college", pfa_area="community",
                                 due="2027-07-01").result
    second = app.set_target(system, lid, text="Say hello to a classmate", success_criteria="Every day for a week",
                            outcome_ids=[outcome], baseline="not_yet", review_by="2027-01-15").result
    return {"lid": lid, "targets": [world["amy"]["target"], second], "outcome": outcome}


# --- paging ------------------------------------------------------------------------------------
def test_every_observation_exactly_once_newest_first_by_when_it_happened(tutor, world, app, system, amy):
    lid, (first, second) = amy["lid"], amy["targets"]
    recorded = []  # (observed minutes ago, recorded order, id)
    for k in range(60):
        # Recorded out of the order they happened in (as an offline tablet sends late),
        # and five at the very same moment, across the first chunk's end.
        minutes = 887.5 if 10 <= k <= 14 else 1000 - k * 3 + (7 if k % 4 == 0 else 0)
        oid = observe(app, system, lid, first if k % 2 else second, minutes)
        recorded.append((minutes, k, oid))
    expected = [oid for _, _, oid in sorted(recorded, key=lambda r: (-r[0], r[1]), reverse=True)]
    ties = [expected.index(oid) for minutes, _, oid in recorded if minutes == 887.5]
    assert min(ties) < CHUNK <= max(ties)  # the test means what it says

    chunks, html = read_all(tutor, f"/learners/{lid}/evidence")
    assert [len(c) for c in chunks] == [25, 25, 10]
    assert sum(chunks, []) == expected  # each once, in order: newest first, ties the later-recorded first
    assert count_line(html) == "60 observations in all"
    assert "Showing 1 to 25 of 60, newest first." in html

    htmx_chunks, _ = read_all(tutor, f"/learners/{lid}/evidence", htmx=True)
    assert htmx_chunks == chunks


def test_a_chunk_as_a_page_of_its_own_says_where_it_is_and_links_back(tutor, app, system, amy):
    lid = amy["lid"]
    for k in range(30):
        observe(app, system, lid, amy["targets"][0], 500 - k)
    _, html = get(tutor, f"/learners/{lid}/evidence")
    plain = htmllib.unescape(MORE.search(html).group(1))
    _, second = get(tutor, plain)
    assert "Showing 26 to 30 of 30, newest first." in second
    assert f'href="/learners/{lid}/evidence">Back to the newest</a>' in second
    assert not MORE.search(second)  # the end
    # htmx from the first page keeps the count line whole: 1 to 30
    _, fragment = get(tutor, htmllib.unescape(MORE.search(html).group(2)), **{"HX-Request": "true"})
    assert "Showing 1 to 30 of 30, newest first." in fragment and "Back to the newest" not in fragment
    assert re.search(r'<li class="obs" id="o-[0-9a-f-]{36}" tabindex="-1" autofocus>', fragment)  # focus moves there


def test_what_is_recorded_while_reading_neither_repeats_nor_skips(tutor, app, system, amy):
    lid = amy["lid"]
    before = [observe(app, system, lid, amy["targets"][0], 600 - k) for k in range(40)]
    _, html = get(tutor, f"/learners/{lid}/evidence")
    seen = ids_in(html)
    # Recorded between two chunks: one newer than all, one that happened within the first chunk.
    late = [observe(app, system, lid, amy["targets"][0], 1), observe(app, system, lid, amy["targets"][0], 570.5)]
    _, rest = get(tutor, htmllib.unescape(MORE.search(html).group(1)))
    seen += ids_in(rest)
    assert seen == list(reversed(before)) and not set(late) & set(seen)
    assert count_line(rest) == "42 observations in all"  # the count is of now


def test_a_cursor_the_list_did_not_make_is_refused_plainly(tutor, amy):
    for bad in ("nonsense", "2026-01-01T10:00:00+00:00~", "2026-01-01T10:00:00+00:00~12a", "~5",
                "2026-13-01T10:00:00+00:00~5", "2026-01-01T10:00:00+00:00~" + "9" * 40, "2026-01-01~²"):
        response, html = get(tutor, f"/learners/{amy['lid']}/evidence?after={quote(bad, safe='')}")
        assert response.status_code == 400, bad
        assert "was not made by this list. Start again from the newest evidence." in html, bad


# --- filters ------------------------------------------------------------------------------------
def test_each_filter_narrows_to_exactly_what_it_names(tutor, world, app, system, amy):
    lid, (first, second) = amy["lid"], amy["targets"]
    tutor_actor, support_actor = world["actors"]["tutor"], world["actors"]["support"]
    made = []  # (id, target, context, rating, recorded by)
    people = [(tutor_actor, tutor_actor.user_id), (support_actor, support_actor.user_id), (system, system.user_id)]
    contexts = ["classroom", "home", "community", "work_placement"]
    ratings = ["not_yet", "emerging", "developing", "secure", "generalised"]
    for k in range(64):
        actor, who = people[k % 3]
        target, context, rating = (first, second)[k % 2], contexts[k % 4 if k < 40 else 1], ratings[k % 5]
        made.append((observe(app, actor, lid, target, 900 - k * 5, rating=rating, context=context),
                     target, context, rating, who))
    newest_first = [m for m in reversed(made)]

    def check(query: str, keep) -> list[str]:
        chunks, html = read_all(tutor, f"/learners/{lid}/evidence?{query}")
        want = [m[0] for m in newest_first if keep(m)]
        got = sum(chunks, [])
        assert got == want, query
        n = len(want)
        assert count_line(html) == f"{n} observation{'s' if n != 1 else ''} match{'es' if n == 1 else ''}"
        return want

    assert len(check(f"target={second}", lambda m: m[1] == second)) == 32  # two chunks: the filter is kept
    assert len(check("context=home", lambda m: m[2] == "home")) == 34
    check("rating=secure", lambda m: m[3] == "secure")
    check(f"by={support_actor.user_id}", lambda m: m[4] == support_actor.user_id)
    check(f"by={system.user_id}&context=home&target={first}",
          lambda m: m[4] == system.user_id and m[2] == "home" and m[1] == first)
    _, html = get(tutor, f"/learners/{lid}/evidence?context=home")
    assert "after=" in htmllib.unescape(MORE.search(html).group(1)) and "context=home" in MORE.search(html).group(1)
    assert '<option value="home" selected>Home</option>' in html  # the form shows what is chosen
    assert '>Clear the filters</a>' in html
    # The words people read, never the codes.
    assert "Work placement" in html and "work_placement<" not in html
    # Who recorded it: the display name and the role's words, at the provider's name.
    _, html = get(tutor, f"/learners/{lid}/evidence?by={support_actor.user_id}")
    assert "By support (support) at Northfield College" in html


def test_values_this_learner_does_not_have_filter_nothing(tutor, world, app, system, amy):
    lid = amy["lid"]
    ours = [observe(app, system, lid, amy["targets"][0], 50 - k) for k in range(3)]
    bens = observe(app, system, world["learners"]["ben"], world["ben"]["target"], 10)
    for query in ("rating=excellent", f"target={world['ben']['target']}", "context=", "by=nobody",
                  "context=independent_living"):
        response, html = get(tutor, f"/learners/{lid}/evidence?{query}")
        assert response.status_code == 200, query
        assert set(ids_in(html)) == set(ours) and bens not in html, query
        assert count_line(html) == "3 observations in all", query


# --- marked, never hidden ----------------------------------------------------------------------
def test_withdrawn_and_corrected_observations_are_listed_and_marked(tutor, app, system, amy):
    lid, target = amy["lid"], amy["targets"][0]
    plain = observe(app, system, lid, target, 30, rating="emerging")
    corrected = observe(app, system, lid, target, 20, rating="emerging")
    withdrawn = observe(app, system, lid, target, 10, rating="secure")
    app.correct_observation(system, lid, observation_id=corrected, reason="Wrong button", rating="developing")
    app.correct_observation(system, lid, observation_id=corrected, reason="Checked the diary", note="Better")
    app.withdraw_observation(system, lid, observation_id=withdrawn, reason="Wrong learner")
    _, html = get(tutor, f"/learners/{lid}/evidence")
    assert ids_in(html) == [withdrawn, corrected, plain]
    rows = {oid: html[html.index(f'id="o-{oid}"'):] for oid in (withdrawn, corrected, plain)}
    rows = {oid: text[:text.index("</li>")] for oid, text in rows.items()}
    assert f'<li class="obs obs-withdrawn" id="o-{withdrawn}"' in html  # struck through by its class
    assert "Withdrawn: does not count" in rows[withdrawn] and "Corrected" not in rows[withdrawn]
    assert "Corrected 2 times" in rows[corrected] and "<strong>Developing</strong>" in rows[corrected]
    assert "Withdrawn" not in rows[plain] and "Corrected" not in rows[plain]
    for oid in (withdrawn, corrected):
        history = f"/learners/{lid}/observations/{oid}?history=1"
        assert f'href="{history}"' in rows[oid]
        response, page = get(tutor, history)
        assert response.status_code == 200
        assert ("Wrong learner" if oid == withdrawn else "Checked the diary") in page
    assert "?history=1" not in rows[plain]
    # Seen and recorded: both shown, with the time.
    assert re.search(r"Seen </span><time datetime=\"[^\"]+\">\d{1,2} \w{3} \d{4} at \d\d:\d\d</time>", rows[plain])
    assert re.search(r"recorded <time datetime=\"[^\"]+\">\d{1,2} \w{3} \d{4} at \d\d:\d\d</time>", rows[plain])


# --- who may see it -----------------------------------------------------------------------------
@pytest.mark.parametrize("email", ["tutor2@example.org", "lead.riverside@example.org", "admin@example.org"])
def test_a_learner_out_of_sight_is_not_there(web, world, app, system, amy, email):
    observe(app, system, amy["lid"], amy["targets"][0], 5, note="Amy's private note")
    assert sign_in(web, email, PASSWORD).status_code == 302
    missing, missing_html = get(web, f"/learners/{uuid.uuid4()}/evidence")
    for path, headers in ((f"/learners/{amy['lid']}/evidence", {}),
                          (f"/learners/{amy['lid']}/evidence?target={amy['targets'][0]}", {}),
                          (f"/learners/{amy['lid']}/evidence?after=2026-01-01T10:00:00%2B00:00~5",
                           {"HX-Request": "true"})):
        response, html = get(web, path, **headers)
        assert response.status_code == 404 == missing.status_code, (email, path)
        assert "Amy" not in html and "private note" not in html and "Buy a bus ticket" not in html


def test_an_auditor_and_the_send_lead_see_it(web, world, app, system, amy):
    oid = observe(app, system, amy["lid"], amy["targets"][0], 5)
    for email in ("auditor@example.org", "lead@example.org"):
        client = web.application.test_client()
        assert sign_in(client, email, PASSWORD).status_code == 302
        response, html = get(client, f"/learners/{amy['lid']}/evidence")
        assert response.status_code == 200 and ids_in(html) == [oid], email


# --- charts ----------------------------------------------------------------------------------------
def figure(html: str, chart_id: str) -> str:
    start = html.index(f'<figure class="chart" id="{chart_id}">')
    return html[start:html.index("</figure>", start) + len("</figure>")]


def texts(svg: str) -> list[str]:
    return [htmllib.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_the_target_chart_has_labelled_axes_and_lists_its_points(tutor, app, system, amy):
    lid, target = amy["lid"], amy["targets"][0]
    days = [(120 * 24 * 60, "emerging"), (80 * 24 * 60, "developing"), (40 * 24 * 60, "secure"), (10, "developing")]
    ids = [observe(app, system, lid, target, minutes, rating=r) for minutes, r in days]
    app.withdraw_observation(system, lid, observation_id=ids[-1], reason="Wrong learner")
    _, html = get(tutor, f"/learners/{lid}")
    chart = figure(html, f"t-{target}-chart")
    svg = chart[:chart.index("</svg>")]
    words = texts(svg)
    assert words[:5] == ["not yet", "emerging", "developing", "secure", "generalised"]  # the vertical axis
    months = [w for w in words[5:] if re.fullmatch(r"[A-Z][a-z]{2}", w)]
    assert len(months) >= 2 and any(re.fullmatch(r"\d{4}", w) for w in words)  # dates along the bottom, with the year
    assert svg.count("<circle") == 3  # the withdrawn one is not drawn
    assert 'role="img"' in svg and "style=" not in chart
    assert "Ratings over time (dashed line: the baseline, emerging)" in chart
    table = chart[chart.index("<table"):]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", table)
    assert [r for _, r in rows] == ["emerging", "developing", "secure"]
    for (when, _), (minutes, _) in zip(rows, days):
        moment = NOW - timedelta(minutes=minutes)
        assert when == f"{moment.day} {moment:%b %Y}, {moment:%H:%M}"
    # The card links to all of this target's evidence.
    assert f'href="/learners/{lid}/evidence?target={target}">All the evidence' in html


def test_the_evidence_page_of_a_target_has_the_wide_chart_with_its_table_open_to_all(tutor, app, system, amy):
    lid, target = amy["lid"], amy["targets"][0]
    observe(app, system, lid, target, 20, rating="secure")
    _, html = get(tutor, f"/learners/{lid}/evidence?target={target}")
    chart = figure(html, "evidence-chart")
    assert chart.count("<svg") == 2 and "chart-wide" in chart and "chart-narrow" in chart  # one shown per screen width
    assert ('<details class="chart-data" id="evidence-chart-data">'
            '<summary>The chart as a table (1 point)</summary>') in chart
    assert "<td>secure</td>" in chart and "Buy a bus ticket" in html


def test_an_outcomes_chart_is_the_mean_rating_of_its_targets_over_time(tutor, app, system, world, amy):
    lid = amy["lid"]
    first = world["amy"]["target"]
    both = app.set_target(system, lid, text="Check the bus times", success_criteria="Three times",
                          outcome_ids=[world["amy"]["outcome"]], baseline="not_yet", review_by="2027-01-15").result
    day = datetime.combine((NOW - timedelta(days=4)).date(), time(9), tzinfo=timezone.utc)
    observe(app, system, lid, first, at=day, rating="emerging")  # day 1: one target, at 1
    observe(app, system, lid, both, at=day + timedelta(days=1), rating="secure")  # day 2: (1 + 3) / 2
    observe(app, system, lid, first, at=day + timedelta(days=2, hours=1), rating="developing")  # day 3:
    observe(app, system, lid, first, at=day + timedelta(days=2), rating="not_yet")  # the last of the day counts
    _, html = get(tutor, f"/learners/{lid}")
    chart = figure(html, f"o-{world['amy']['outcome']}-chart")
    assert texts(chart[:chart.index("</svg>")])[:5] == ["not yet", "emerging", "developing", "secure", "generalised"]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", chart)
    assert [(mean, n) for _, mean, n in rows] == [
        ("1.0: emerging", "1"), ("2.0: developing", "2"), ("2.5: between developing and secure", "2")]
    assert "Mean rating of its 2 targets over time (dashed line: their mean baseline)" in chart
    assert "<details" in chart and "style=" not in chart
    # An outcome nobody has observed yet draws no empty chart.
    assert f'id="o-{amy["outcome"]}-chart"' not in html


def test_mean_rating_over_time_counts_each_target_from_its_first_observation():
    t1 = [("2026-01-01T09:00:00+00:00", "emerging"), ("2026-01-03T09:00:00+00:00", "secure"),
          ("2026-01-03T09:00:00+00:00", "developing")]  # a tie: the later-recorded one counts
    t2 = [("2026-01-02T10:00:00+00:00", "generalised")]
    assert measures.mean_rating_over_time([t1, t2, []]) == [
        ("2026-01-01", 1.0, 1), ("2026-01-02", 2.5, 2), ("2026-01-03", 3.0, 2)]
    assert measures.mean_rating_over_time([]) == []


# --- the learner page: revised targets and jump links -----------------------------------------------
def test_revised_targets_are_marked_with_how_often_and_the_last_reason(tutor, app, system, amy):
    lid, target, untouched = amy["lid"], amy["targets"][0], amy["targets"][1]
    app.revise_target(system, lid, target_id=target, kind="revised", reason="Too easy", text="Buy a return ticket")
    app.revise_target(system, lid, target_id=target, kind="renegotiated", reason="Agreed a smaller step first")
    _, html = get(tutor, f"/learners/{lid}")
    card = html[html.index(f'id="t-{target}"'):]
    card = card[:card.index("</article>")]
    assert "Revised twice" in card and "Last renegotiated on" in card and "“Agreed a smaller step first”" in card
    other = html[html.index(f'id="t-{untouched}"'):]
    assert "Revised" not in other[:other.index("</article>")]
    # The card recording answers with keeps the mark.
    oid = str(uuid.uuid4())
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = tutor.post(f"/learners/{lid}/observations", headers={"X-Outbox": "1", "X-CSRFToken": token},
                          data={"id": oid, "target_id": target, "rating": "secure", "context": "classroom"})
    assert response.status_code == 201 and "Revised twice" in response.get_data(as_text=True)


def test_jump_links_lead_to_each_pfa_area_on_the_page(tutor, amy):
    _, html = get(tutor, f"/learners/{amy['lid']}")
    nav = re.search(r'<nav class="jump" aria-label="[^"]+">(.*?)</nav>', html, re.S).group(1)
    links = re.findall(r'<a href="#area-([a-z_]+)">([^<]+)</a>', nav)
    assert links == [("independent_living", "Independent living"),
                     ("community", "Friends, relationships and community")]
    for area, _ in links:
        assert f'<h2 id="area-{area}">' in html

"""Recording for a group without scripts (web/group.py), through Flask's test
client: one plain form post records one observation per learner, a repeat of
the same form stores nothing new, and a refusal (any learner, any field)
stores nothing for anyone and names each field in plain words.

Why all or nothing: a plain form post is one answer on one page. Saving
some learners and refusing others would leave the tutor to work out which
were kept; refusing the form with every message beside its field and
nothing written is the GOV.UK pattern, and the same form (its ids kept)
then saves everyone. A learner who may not be recorded for refuses the form
the same way (404, naming nobody: a learner out of sight looks exactly like
one who does not exist). With scripts each learner is a separate outbox
entry and answered on its own (tests/test_browser_group.py)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest

from tests.test_web import page, sign_in, token_of

NOTE_LIMIT = 4000


@pytest.fixture
def group(app, system, world):
    """Amy (from the shared world) and two more of the tutor's learners, Cara and
    Dan. Amy and Cara both have "Buy a bus ticket"; Dan has two other targets,
    one of them observed an hour ago. Ben (Riverside) is not the tutor's."""
    ids = {"amy": world["learners"]["amy"], "ben": world["learners"]["ben"]}
    targets = {"amy": {"bus": world["amy"]["target"]}}
    for key, name in (("cara", "Cara Patel"), ("dan", "Dan Okafor")):
        lid = app.enrol_learner(system, name=name, date_of_birth="2006-01-01", provider="northfield").result
        outcome = app.record_outcome(system, lid, text="Be part of the community", pfa_area="community",
                                     due="2027-07-01").result
        ids[key] = lid
        targets[key] = {}
        texts = {"cara": [("tea", "Make a cup of tea"), ("bus", "Buy a bus  TICKET")],
                 "dan": [("tea", "Make a cup of tea"), ("hello", "Say hello to a classmate")]}[key]
        for short, text in texts:
            targets[key][short] = app.set_target(system, lid, text=text, success_criteria="On their own",
                                                 outcome_ids=[outcome], baseline="emerging",
                                                 review_by="2027-01-15").result
        app.add_to_caseload(system, "tutor@example.org", lid)
    app.record_observation(system, ids["dan"], observation_id=str(uuid.uuid4()), target_id=targets["dan"]["tea"],
                           rating="developing", observed_at=datetime.now(timezone.utc) - timedelta(hours=1))
    return {"ids": ids, "targets": targets}


def position(app) -> int:
    return app.recorder.max_notification_id() or 0


def observations(app, system, lid) -> dict:
    return dict(app.learner(system, lid).observations)


def the_form(client, learners: list[str]) -> tuple[str, dict]:
    """GET /group?learner=… and the form as a browser would post it untouched
    (hidden fields, and every checked radio)."""
    response, html = page(client, "/group?" + "&".join(f"learner={lid}" for lid in learners))
    assert response.status_code == 200, html[:500]
    form = html[html.index('id="group-record"'):]
    form = form[:form.index("</form>")]
    fields: dict[str, object] = {"learner": []}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag).group(1)
        if kind == "radio" and " checked" not in tag:
            continue
        if name.group(1) == "learner":
            fields["learner"].append(value.group(1))
        else:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return html, fields


def post(client, fields: dict):
    token = token_of(page(client, "/")[1])
    return client.post("/group", data={"csrf_token": token, **fields})


def messages_of(html: str) -> dict[str, str]:
    """The error summary: where each message links to, and what it says."""
    summary = html[html.index('class="error-summary"'):]
    summary = summary[:summary.index("</div>")]
    return {href: unescape(text) for href, text in re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary)}


def test_one_plain_post_records_one_observation_per_learner_and_the_same_post_again_nothing(web, app, system, group):
    sign_in(web)
    ids, targets = group["ids"], group["targets"]
    three = [ids["amy"], ids["cara"], ids["dan"]]
    _, fields = the_form(web, three)
    assert fields["learner"] == three
    assert all(uuid.UUID(fields[f"id-{lid}"]) for lid in three)
    assert len({fields[f"id-{lid}"] for lid in three}) == 3  # an id of its own each
    fields.update({f"rating-{ids['amy']}": "secure", f"rating-{ids['cara']}": "emerging",
                   f"rating-{ids['dan']}": "developing", f"prompt-{ids['cara']}": "verbal",
                   "context": "community", "shared_note": "Café trip", f"note-{ids['dan']}": "Paid by card"})
    before = position(app)

    response = post(web, fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert position(app) > before
    stored = {lid: observations(app, system, lid) for lid in three}
    assert {lid: len(o) for lid, o in stored.items()} == {ids["amy"]: 1, ids["cara"]: 1, ids["dan"]: 2}
    amy = stored[ids["amy"]][fields[f"id-{ids['amy']}"]]
    cara = stored[ids["cara"]][fields[f"id-{ids['cara']}"]]
    dan = stored[ids["dan"]][fields[f"id-{ids['dan']}"]]
    assert (amy.target_id, amy.rating, amy.context, amy.prompt_level, amy.note) == (
        targets["amy"]["bus"], "secure", "community", None, "Café trip")
    assert (cara.target_id, cara.rating, cara.prompt_level) == (targets["cara"]["bus"], "emerging", "verbal")
    assert (dan.target_id, dan.rating, dan.note) == (targets["dan"]["hello"], "developing", "Café trip\nPaid by card")

    # The page it goes to says, learner by learner, what was saved, and is ready for the next activity.
    shown = web.get(response.headers["Location"])
    html = shown.get_data(as_text=True)
    results = html[html.index('id="group-results"'):html.index("</section>", html.index('id="group-results"'))]
    assert "hidden" not in results.split(">", 1)[0]
    for name, rating in (("Amy J.", "Secure"), ("Cara P.", "Emerging"), ("Dan O.", "Developing")):
        assert re.search(rf"<strong>{name}</strong> · {rating} · <span class=\"result-state\">Saved</span>", results)
    _, again = the_form(web, three)
    assert {again[f"id-{lid}"] for lid in three}.isdisjoint({fields[f"id-{lid}"] for lid in three})

    # The same form posted again (back button, a double tap): nothing new, for anyone.
    settled = position(app)
    repeat = post(web, fields)
    assert repeat.status_code == 303
    assert position(app) == settled
    assert {lid: len(observations(app, system, lid)) for lid in three} == {ids["amy"]: 1, ids["cara"]: 1,
                                                                          ids["dan"]: 2}


def test_each_learner_starts_at_the_same_activity_else_the_target_seen_least_recently(web, group):
    sign_in(web)
    ids, targets = group["ids"], group["targets"]
    _, fields = the_form(web, [ids["amy"], ids["cara"], ids["dan"]])
    assert fields[f"target-{ids['amy']}"] == targets["amy"]["bus"]  # Amy's only target
    assert fields[f"target-{ids['cara']}"] == targets["cara"]["bus"]  # "Buy a bus  TICKET": the same activity
    assert fields[f"target-{ids['dan']}"] == targets["dan"]["hello"]  # no bus ticket; tea was seen an hour ago
    # Dan first: his least recent (hello) leads; nobody else has it, so each starts at their own least recent.
    _, fields = the_form(web, [ids["dan"], ids["cara"]])
    assert fields[f"target-{ids['dan']}"] == targets["dan"]["hello"]
    assert fields[f"target-{ids['cara']}"] == targets["cara"]["tea"]  # never observed, set first


def test_refusals_name_each_field_in_plain_words_keep_the_answers_and_write_nothing(web, app, group):
    sign_in(web)
    ids = group["ids"]
    three = [ids["amy"], ids["cara"], ids["dan"]]
    _, fields = the_form(web, three)
    fields.update({f"rating-{ids['amy']}": "secure", f"note-{ids['amy']}": "x" * (NOTE_LIMIT + 1),
                   f"rating-{ids['dan']}": "brilliant", "context": "the moon"})
    del fields[f"target-{ids['dan']}"]
    before = position(app)

    response = post(web, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert position(app) == before  # nothing for anyone, Amy included
    assert messages_of(html) == {
        "context": "Choose where it happened",
        f"target-{ids['dan']}": "Choose a target for Dan O.",
        f"rating-{ids['cara']}": "Choose a rating for Cara P.",
        f"rating-{ids['dan']}": "Choose a rating for Dan O.",
        f"note-{ids['amy']}": f"Note for Amy J. must be {NOTE_LIMIT} characters or fewer",
    }
    # Each message also sits by its own field, which says it is in error.
    for field in (f"rating-{ids['cara']}", f"target-{ids['dan']}", f"note-{ids['amy']}"):
        assert re.search(rf'id="{field}-error"><span class="visually-hidden">Error: </span>', html), field
        assert f'aria-describedby="{field}-error"' in html or f'aria-describedby="{field}-hint {field}-error"' in html
    # What was given is kept: Amy's rating and note, the same ids.
    assert re.search(rf'id="rating-{ids["amy"]}-secure" name="rating-{ids["amy"]}" value="secure" checked', html)
    assert "x" * NOTE_LIMIT in html
    for lid in three:
        assert f'name="id-{lid}" value="{fields[f"id-{lid}"]}"' in html


def test_a_note_for_everyone_too_long_is_refused_beside_it(web, app, group):
    sign_in(web)
    ids = group["ids"]
    _, fields = the_form(web, [ids["amy"]])
    fields.update({f"rating-{ids['amy']}": "secure", "shared_note": "y" * (NOTE_LIMIT + 1)})
    before = position(app)
    response = post(web, fields)
    assert response.status_code == 422 and position(app) == before
    assert messages_of(response.get_data(as_text=True)) == {
        "shared_note": f"Note for everyone must be {NOTE_LIMIT} characters or fewer",
        f"note-{ids['amy']}": f"Note for Amy J. together with the note for everyone must be {NOTE_LIMIT} "
                              "characters or fewer",
    }


def test_a_learner_not_on_the_caseload_refuses_the_whole_form_and_names_nobody(web, app, system, group):
    sign_in(web)
    ids, targets = group["ids"], group["targets"]
    three = [ids["amy"], ids["cara"], ids["dan"]]
    _, fields = the_form(web, three)
    fields.update({f"rating-{lid}": "secure" for lid in three})
    answers = {}
    before = position(app)
    for who, lid in (("ben", ids["ben"]), ("nobody", str(uuid.uuid4()))):
        tampered = {**fields, "learner": [*three, lid], f"id-{lid}": str(uuid.uuid4()),
                    f"target-{lid}": targets["amy"]["bus"], f"rating-{lid}": "secure"}
        response = post(web, tampered)
        answers[who] = response
        html = response.get_data(as_text=True)
        assert response.status_code == 404, who
        assert messages_of(html) == {"learner": "A learner in this form is not one you can record for, so nothing "
                                                "was saved. They have been taken out of the group: check the others "
                                                "and save again"}
        assert "Ben" not in html and lid not in html
        assert all(f'name="id-{other}" value="{fields[f"id-{other}"]}"' in html for other in three)  # kept
    assert position(app) == before  # nothing, for anyone
    assert {lid: len(observations(app, system, lid)) for lid in three} == {ids["amy"]: 0, ids["cara"]: 0, ids["dan"]: 1}
    # Out of sight reads exactly like not there (but for the CSRF token and the time).
    same = [re.sub(r'(csrf-token" content|csrf_token" value|X-CSRFToken": )"[^"]*"', "", r.get_data(as_text=True))
            for r in answers.values()]
    assert same[0] == same[1]
    # The group page itself, asked for a learner out of sight: 404, as for a learner page.
    assert web.get(f"/group?learner={ids['amy']}&learner={ids['ben']}").status_code == 404


def test_an_id_saved_before_with_other_answers_is_a_conflict_and_offers_a_new_id(web, app, system, group):
    sign_in(web)
    ids = group["ids"]
    _, fields = the_form(web, [ids["amy"], ids["cara"]])
    fields.update({f"rating-{ids['amy']}": "secure", f"rating-{ids['cara']}": "secure"})
    assert post(web, fields).status_code == 303
    before = position(app)
    changed = {**fields, f"rating-{ids['amy']}": "emerging", f"rating-{ids['cara']}": "emerging"}
    response = post(web, changed)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and position(app) == before
    assert messages_of(html)[f"learner-{ids['amy']}"] == (
        "Amy J.'s observation from this form was already saved, with other answers. Save again to add this one as "
        "a new observation, or correct the saved one from Amy J.'s page")
    fresh = re.search(rf'name="id-{ids["amy"]}" value="([0-9a-f-]+)"', html).group(1)
    assert fresh != fields[f"id-{ids['amy']}"]
    assert observations(app, system, ids["amy"])[fields[f"id-{ids['amy']}"]].rating == "secure"  # as it was


def test_a_closed_target_is_refused_for_that_learner_and_nothing_is_written(web, app, system, group):
    sign_in(web)
    ids, targets = group["ids"], group["targets"]
    _, fields = the_form(web, [ids["amy"], ids["cara"]])
    fields.update({f"rating-{ids['amy']}": "secure", f"rating-{ids['cara']}": "secure"})
    app.close_target(system, ids["cara"], target_id=targets["cara"]["bus"], closed_as="achieved", reason="Done")
    before = position(app)
    response = post(web, fields)
    assert response.status_code == 409 and position(app) == before
    assert messages_of(response.get_data(as_text=True)) == {
        f"target-{ids['cara']}": "The target chosen for Cara P. has been closed: choose another"}


def test_nobody_chosen_is_a_plain_message(web, group):
    sign_in(web)
    response, html = page(web, "/group?step=record")
    assert response.status_code == 200
    assert messages_of(html) == {"learner": "Choose at least one learner"}
    before_post = post(web, {"context": "classroom"})
    assert before_post.status_code == 422
    assert messages_of(before_post.get_data(as_text=True)) == {"learner": "Choose at least one learner"}


@pytest.mark.parametrize("email", ["auditor@example.org", "admin@example.org"])
def test_roles_that_do_not_record_get_403_and_no_link(web, app, group, email):
    sign_in(web, email)
    assert web.get("/group").status_code == 403
    assert 'href="/group"' not in page(web, "/")[1]
    before = position(app)
    ids = group["ids"]
    response = post(web, {"learner": [ids["amy"]], f"id-{ids['amy']}": str(uuid.uuid4()),
                          f"target-{ids['amy']}": group["targets"]["amy"]["bus"], f"rating-{ids['amy']}": "secure",
                          "observed_at": datetime.now(timezone.utc).isoformat()})
    assert response.status_code == 403 and position(app) == before


def test_today_links_to_group_recording_and_the_picker_lists_the_caseload_only(web, group):
    sign_in(web)
    _, today = page(web, "/")
    assert re.search(r'<a class="btn[^"]*" href="/group" data-precache>Record for a group</a>', today)
    _, html = page(web, "/group")
    picker = html[html.index('id="group-pick"'):html.index("</form>", html.index('id="group-pick"'))]
    assert sorted(re.findall(r'class="pick-name">([^<]+)<', picker)) == ["Amy J.", "Cara P.", "Dan O."]
    assert "Ben" not in html


def test_prompt_level_is_tap_chips_on_the_target_card(web, group):
    sign_in(web)
    lid, tid = group["ids"]["amy"], group["targets"]["amy"]["bus"]
    _, html = page(web, f"/learners/{lid}")
    card = html[html.index(f'id="t-{tid}"'):]
    card = card[:card.index("</article>")]
    assert '<select' not in card
    chips = re.findall(r'<input type="radio" id="t-[^"]+-prompt-([a-z_]+)" name="prompt_level" value="([a-z_]*)"'
                       r'( checked)?>\s*<label for="t-[^"]+" class="chip-choice">([^<]+)</label>', card)
    assert [(c[1], c[3]) for c in chips] == [("", "Not noted"), ("full_physical", "Full physical"),
                                             ("partial_physical", "Partial physical"), ("modelled", "Modelled"),
                                             ("verbal", "Verbal"), ("gestural", "Gestural"),
                                             ("independent", "Independent")]
    assert [c[2] for c in chips] == [" checked"] + [""] * 6  # "Not noted" unless tapped


def test_a_record_changed_between_the_check_and_the_write_refuses_that_learner_only(web, app, system, group,
                                                                                  monkeypatch):
    """The check and the writes are not one transaction (one learner, one stream):
    a target closed in between refuses that learner's write alone. The page says
    what was saved and what was not, and the same form then saves the rest."""
    sign_in(web)
    ids, targets = group["ids"], group["targets"]
    _, fields = the_form(web, [ids["amy"], ids["cara"]])
    fields.update({f"rating-{ids['amy']}": "secure", f"rating-{ids['cara']}": "secure"})
    served = web.application.extensions["rarpa"].app
    checked = served.check_observation

    def check_then_close(actor, lid, **kwargs):
        answer = checked(actor, lid, **kwargs)
        if lid == ids["cara"]:  # someone closes Cara's target just after her check
            app.close_target(system, ids["cara"], target_id=targets["cara"]["bus"], closed_as="achieved",
                             reason="Done")
        return answer

    monkeypatch.setattr(served, "check_observation", check_then_close)
    response = post(web, fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert messages_of(html) == {f"target-{ids['cara']}": "The target chosen for Cara P. has been closed: "
                                                          "choose another"}
    assert re.search(r'<strong>Amy J.</strong> · Secure · <span class="result-state">Saved</span>', html)
    assert list(observations(app, system, ids["amy"])) == [fields[f"id-{ids['amy']}"]]
    assert observations(app, system, ids["cara"]) == {}

"""The learner's own pages, in easy read: "My progress" (``overview``: how I
am doing, a big card with a symbol for each target), one screen per target
(``target``: in their own words, where they started and where they are now
as a picture, what they did lately in plain words, with photos where consent
to photographs is given) and their self-assessment (``how_did_it_go``: three
big symbol buttons, their own words typed or said, their answers shown back
over time). Large text, one idea per screen, a picture beside each idea, and
"Read it to me" on every page (static/easy_read.js).

A member of staff looks at them as the learner will; handed the tablet
(web/learner_mode.py) the learner sees only these. Every view is logged.

Also here: writing a target in the learner's own words (``target_words``),
the staff's form, from the plan page and the staff view of a target screen.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for

from rarpa.read import my_progress as mine
from rarpa.read import photos as photo_reads
from rarpa.read import queries
from rarpa.service import access
from rarpa.service.schemas import LearnerWordsIn, SelfAssessmentIn
from web import easy_read
from web.auth import login_required
from web.common import learner_in_sight, learner_opened, services, submit
from web.forms import Field, Form
from web.learner_mode import locked_to

my_progress = Blueprint("my_progress", __name__)
my_progress.context_processor(easy_read.template_helpers)

# What the access log calls each view (rarpa/service/audit.py VIEWS).
VIEW_OVERVIEW, VIEW_TARGET, VIEW_ANSWER, VIEW_WORDS = (
    "my progress", "my progress: a target", "my self-assessment", "target in the learner's words")

SAY = Form(
    Field("answer", "How did it go?", "how it went", kind="choice"),
    Field("words", "Do you want to say more?", "your own words",
          hint="You do not have to. Type it, or tap Speak and say it."),
)


def _today():
    return datetime.now(timezone.utc).date()


def _about(conn, lid: str) -> dict:
    """What every page of theirs shows: who, whether the tablet is handed to
    them (locked: no staff links), and the staff's name for them."""
    about = queries.learner(conn, lid)
    return {"lid": lid, "first": about["preferred_name"], "locked": locked_to() == lid,
            "name": queries.short_name(about["preferred_name"], about["name"]), "today": _today(),
            "may_record": g.actor.may(access.RECORD)}


def _target_or_404(conn, lid: str, target_id: str) -> dict:
    found = mine.target(conn, lid, target_id)
    if found is None:
        abort(404)
    return found


@my_progress.get("/learners/<learner_id>/me")
@login_required
def overview(learner_id):
    lid = learner_opened(learner_id, VIEW_OVERVIEW)
    conn = services().fresh()
    return render_template("my_progress.html", progress=mine.overview(conn, lid), **_about(conn, lid))


@my_progress.get("/learners/<learner_id>/me/targets/<target_id>")
@login_required
def target(learner_id, target_id):
    lid = learner_opened(learner_id, VIEW_TARGET)
    conn = services().fresh()
    t = _target_or_404(conn, lid, target_id)
    today = _today()
    moments = mine.moments(conn, lid, t["id"], photos=photo_reads.may_photograph(conn, lid))
    for m in moments:
        m["sentences"] = easy_read.moment_sentences(m, today)
        m["symbol"] = easy_read.moment_symbol(m)
        m["when"] = easy_read.on_day(m["observed_at"], today)
    answers = [{**a, "sentence": easy_read.answer_sentence(a, today)} for a in mine.answers(conn, lid, t["id"])]
    return render_template("my_progress_target.html", t=t, moments=moments, answers=answers, **_about(conn, lid))


@my_progress.route("/learners/<learner_id>/me/targets/<target_id>/how-did-it-go", methods=["GET", "POST"])
@login_required
def how_did_it_go(learner_id, target_id):
    """Their self-assessment of one target: the one thing a learner can write
    while the tablet is handed to them. Recorded as any self-assessment
    (SelfAssessmentRecorded, by the signed-in member of staff's session)."""
    lid = (learner_opened(learner_id, VIEW_ANSWER, access.RECORD) if request.method == "GET"
           else learner_in_sight(learner_id, access.RECORD))
    conn = services().fresh()
    t = _target_or_404(conn, lid, target_id)
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        if t["status"] != "open":
            abort(409, "This one is finished, so there is nothing more to say about it here.")
        values = {"answer": request.form.get("answer", ""), "words": request.form.get("words", "")}
        body = {"target_id": t["id"], **{k: v for k, v in values.items() if v}}
        done = submit(SelfAssessmentIn, body, lambda data: services().app.record_self_assessment(
            g.actor, lid, target_id=str(data["target_id"]), answer=data["answer"], words=data["words"]))
        if not done.errors:
            return redirect(url_for("my_progress.how_did_it_go", learner_id=lid, target_id=t["id"], said=1)
                            + "#said")
        errors, status = SAY.plain(done.errors), done.status
        conn = services().fresh()
    today = _today()
    answers = [{**a, "sentence": easy_read.answer_sentence(a, today)} for a in mine.answers(conn, lid, t["id"])]
    targets = mine.open_targets(conn, lid)
    ids = [o["id"] for o in targets]
    following = targets[ids.index(t["id"]) + 1] if t["id"] in ids and ids.index(t["id"]) + 1 < len(ids) else None
    response = make_response(render_template(
        "my_progress_say.html", t=t, answers=answers, form=SAY, values=values, errors=errors,
        said=request.args.get("said") == "1" and not errors, following=following, **_about(conn, lid)), status)
    response.easy_read = True  # a refusal by its field is this page, even handed over (web/learner_mode.py mark)
    return response


# --- the target in the learner's own words (staff, with the learner) ----------------------------------
WORDS = Form(
    Field("words", "In {first}’s own words", "{first}’s own words",
          hint="Write it with {first}. Short words, one idea."),
)
BACK = ("plan", "me")  # where the form was sent from, to go back to


def words_form(first: str) -> Form:
    """The form's one field, naming the learner."""
    return Form(*(Field(f.name, f.label.format(first=first), f.what.format(first=first), f.kind,
                        f.hint.format(first=first)) for f in WORDS.fields.values()))


@my_progress.route("/learners/<learner_id>/targets/<target_id>/learner-words", methods=["GET", "POST"])
@login_required
def target_words(learner_id, target_id):
    """Write (or rewrite) a target in the learner's own words, with them.
    Anyone who may RECORD for the learner (rarpa/service/learners.py says why)."""
    lid = (learner_opened(learner_id, VIEW_WORDS, access.RECORD) if request.method == "GET"
           else learner_in_sight(learner_id, access.RECORD))
    conn = services().fresh()
    t = _target_or_404(conn, lid, target_id)
    about = _about(conn, lid)
    form = words_form(about["first"])
    back = request.values.get("back") if request.values.get("back") in BACK else "me"
    values, errors, status = {"words": t["learner_words"] or ""}, {}, 200
    if request.method == "POST":
        values = {"words": request.form.get("words", "")}
        body = {k: v for k, v in values.items() if v}
        done = submit(LearnerWordsIn, body, lambda data: services().app.word_target_for_learner(
            g.actor, lid, target_id=t["id"], **data))
        if not done.errors:
            if back == "plan":
                return redirect(url_for("plan.overview", learner_id=lid, done="words") + f"#t-{t['id']}")
            return redirect(url_for("my_progress.target", learner_id=lid, target_id=t["id"]))
        errors, status = form.plain(done.errors), done.status
    return render_template("learner_words.html", t=t, form=form, values=values, errors=errors, back=back,
                           **about), status

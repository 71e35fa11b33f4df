"""The tablet app's pages: today (the caseload), a learner, recording,
undo and corrections. Server-rendered; htmx swaps fragments; every form also
works as a plain form post when scripts are off."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from functools import partial

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from events.vocabulary import FAMILY_ROLE, NEW_TO_LEARNER
from rarpa.read import queries
from rarpa.read import cohort
from rarpa.read import family as family_reads
from rarpa.read import photos as photo_reads
from rarpa.service.access import scope
from rarpa.service.schemas import CorrectionIn, ObservationIn, WithdrawalIn
from web import as_at
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.photos import posted_photo

pages = Blueprint("pages", __name__)

# The record form's fields, as a message about them names them.
FIELD_WORDS = {"id": "This observation", "rating": "Rating", "observed_at": "Time", "target_id": "Target",
               "context": "Where", "prompt_level": "Prompt", "note": "Note", "photo": "Photo"}


@pages.get("/")
@login_required
def today():
    if g.actor.role == FAMILY_ROLE:  # a family member's own pages (web/family.py)
        return redirect(url_for("family.home"))
    now = datetime.now(timezone.utc).date()
    week_start = (now - timedelta(days=now.weekday())).isoformat()
    conn = services().fresh()
    cards = queries.today_cards(conn, g.actor, now.isoformat(), week_start)
    return render_template("today.html", cards=cards, today=now, sees=scope(g.actor)[0],
                           from_home=family_reads.waiting_count(conn, g.actor),
                           may_see_cohort=cohort.may_see_cohort(g.actor))


def _card_context(conn, learner_id: str, target: dict, **extra) -> dict:
    return {"learner_id": learner_id, "t": target, "new_id": str(uuid.uuid4()),
            "last_context": queries.last_context(conn, g.actor.user_id),
            "may_photograph": photo_reads.may_photograph(conn, learner_id), **extra}


@pages.get("/learners/<learner_id>")
@login_required
def learner(learner_id):
    moment = as_at.requested()  # as the record stood then (web/as_at.py): nothing to record with
    lid = learner_opened(learner_id, "learner page")
    conn = as_at.record_conn(services().fresh(), lid)
    page = queries.learner_page(conn, lid)
    about = queries.learner(conn, lid)
    return render_template(
        "learner.html", learner=about, page=page, lid=lid,
        name=queries.short_name(about["preferred_name"], about["name"]),
        new_id=lambda: str(uuid.uuid4()), last_context=queries.last_context(conn, g.actor.user_id),
        can_record=g.actor.may("record") and moment is None, reviews=queries.reviews(conn, lid),
        aims=queries.aims(conn, lid), may_photograph=photo_reads.may_photograph(conn, lid),
        from_home=[c for c in family_reads.contributions(conn, lid) if c["status"] == "waiting"] if moment is None else [],
        **as_at.judged_against(),
    )


def _form_observation() -> dict:
    """The record form as the API's schema expects it (empty = not given)."""
    raw = form_fields()
    # One checkbox per thing that was new (the offline outbox keeps one value per name).
    new = [n for n in NEW_TO_LEARNER if raw.pop(f"new_{n}", None)]
    if new:
        raw["new_to_learner"] = new
    raw.setdefault("observed_at", datetime.now(timezone.utc).isoformat())
    raw.setdefault("id", str(uuid.uuid4()))
    return raw


@pages.post("/learners/<learner_id>/observations")
@login_required
def record(learner_id):
    """Recording, from the outbox script (or a plain form post without scripts).
    Answers with the refreshed target card: 201 new, 200 an exact repeat."""
    raw = _form_observation()
    photo = posted_photo()  # kept with the observation, in the same transaction (web/photos.py)
    record_it = (services().app.record_observation if photo is None else
                 partial(services().app.record_observation_with_photo, photo=photo))
    done = submit(ObservationIn, raw, lambda data: record_it(
        g.actor, learner_id, observation_id=str(data.pop("id")), target_id=str(data.pop("target_id")), **data))
    if done.errors:
        return _card_problem(raw, done.status, done.errors)
    written, conn = done.written, done.conn
    if not (request.headers.get("X-Outbox") or request.headers.get("HX-Request")):
        return redirect(url_for("pages.learner", learner_id=learner_id, recorded=written.result["id"]) + "#t-" + raw["target_id"])
    target = queries.target_card(conn, written.learner_id, raw["target_id"])
    obs = queries.observation(conn, written.learner_id, written.result["id"])
    html = render_template("_target_card.html", **_card_context(conn, written.learner_id, target, just=obs,
                                                                 repeat=not written.created))
    return html, 201 if written.created else 200


def _card_problem(raw, status, errors):
    """A readable message the outbox can show; the observation stays on the tablet."""
    text = "; ".join(f"{FIELD_WORDS.get(k, k)}: {' '.join(v)}" for k, v in errors.items())
    return render_template("_problem.html", status=status, text=text, raw=raw), status


@pages.post("/learners/<learner_id>/observations/<observation_id>/undo")
@login_required
def undo(learner_id, observation_id):
    """Undo straight after recording: a withdrawal, never a deletion."""
    done = submit(None, {}, lambda _: services().app.withdraw_observation(
        g.actor, learner_id, observation_id=observation_id, reason="Undone straight after recording"))
    if done.errors:
        return render_template("_problem.html", status=done.status, text=done.text, raw={}), done.status
    lid = done.written.learner_id
    obs = queries.observation(done.conn, lid, observation_id)
    target = queries.target_card(done.conn, lid, obs["target_id"])
    return render_template("_target_card.html", **_card_context(done.conn, lid, target, undone=obs))


@pages.route("/learners/<learner_id>/observations/<observation_id>", methods=["GET", "POST"])
@login_required
def observation(learner_id, observation_id):
    """One observation: its current values, a correction or withdrawal form,
    and on request its history (who changed what, when and why). As at an
    instant: the observation and its history as they stood then, no forms."""
    moment = as_at.requested() if request.method == "GET" else None
    lid = learner_opened(learner_id, "observation") if request.method == "GET" else learner_in_sight(learner_id)
    s = services()
    errors: dict[str, list[str]] = {}
    form = {}
    status = 200
    action = None
    if request.method == "POST":
        form = form_fields("action", keep_empty=True)
        action = request.form.get("action", "correct")
        if action == "withdraw":
            done = submit(WithdrawalIn, {"reason": form.get("reason", "")}, lambda data: s.app.withdraw_observation(
                g.actor, lid, observation_id=observation_id, **data))
        else:
            done = submit(CorrectionIn, {k: v for k, v in form.items() if v != ""}, lambda data: s.app.correct_observation(
                g.actor, lid, observation_id=observation_id, **data))
        if not done.errors:
            return redirect(url_for("pages.observation", learner_id=lid, observation_id=observation_id, done=action))
        errors, status = done.errors, done.status
    conn = as_at.record_conn(s.fresh(), lid)
    obs = queries.observation(conn, lid, observation_id)
    if obs is None and moment is not None and queries.observation(s.fresh(), lid, observation_id):
        abort(404, f"This observation had not been recorded yet at {as_at.in_words(moment)}.")
    if obs is None:
        abort(404)
    target = queries.target(conn, lid, obs["target_id"])
    history = (_observation_history(lid, observation_id, moment)
               if request.args.get("history") or request.headers.get("HX-Request") else None)
    if request.headers.get("HX-Request") and request.args.get("history"):
        return render_template("_observation_history.html", history=history)
    return render_template(
        "observation.html", obs=obs, target=target, lid=lid, errors=errors, form=form, history=history, action=action,
        name=queries.learner_name(conn, lid), done=request.args.get("done"),
        names=queries.user_names(conn), photos=photo_reads.of_observation(conn, lid, observation_id),
    ), status


def _observation_history(lid: str, observation_id: str, moment: datetime | None = None) -> list[dict]:
    names = queries.user_names(services().projector.reader())
    out = []
    for e in services().app.learner_events(g.actor, lid):
        if moment is not None and e.timestamp > moment:
            break  # recorded after the instant the page is as at
        if getattr(e, "observation_id", None) == observation_id:
            out.append({
                "type": type(e).__name__, "at": e.timestamp, "by": names.get(e.recorded_by, e.recorded_by),
                "role": e.role, "provider": e.provider, "rating": getattr(e, "rating", None),
                "prompt_level": getattr(e, "prompt_level", None), "context": getattr(e, "context", None),
                "note": getattr(e, "note", None), "observed_at": getattr(e, "observed_at", None),
                "reason": getattr(e, "reason", None),
            })
    return out

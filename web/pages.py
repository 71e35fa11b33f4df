"""The tablet app's pages: today (the caseload), a learner, recording,
undo and corrections. Server-rendered; htmx swaps fragments; every form also
works as a plain form post when scripts are off."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from events.vocabulary import CONTEXTS, PFA_AREAS, PROMPT_LEVELS, RATINGS
from rarpa.read import queries
from rarpa.service.access import NotFound
from rarpa.record import RuleBroken
from rarpa.service.schemas import CorrectionIn, ObservationIn, WithdrawalIn
from web.auth import login_required
from web.charts import LABELS, sparkline

pages = Blueprint("pages", __name__)

WORDS = {
    "ratings": LABELS,
    "prompts": {"full_physical": "Full physical", "partial_physical": "Partial physical", "modelled": "Modelled",
                "verbal": "Verbal", "gestural": "Gestural", "independent": "Independent"},
    "contexts": {"classroom": "Classroom", "work_placement": "Work placement", "community": "Community",
                 "home": "Home", "residential": "Residential", "online": "Online", "other": "Other"},
    "areas": {"employment": "Employment", "independent_living": "Independent living",
              "community": "Friends, relationships and community", "health": "Good health"},
}


def services():
    return current_app.extensions["rarpa"]


@pages.app_template_filter("day")
def day(value) -> str:
    """23 Mar 2026: dates people read at a glance (ISO strings or dates)."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day} {d.strftime('%b %Y')}"


@pages.app_context_processor
def vocabulary():
    return {"RATINGS": RATINGS, "PROMPT_LEVELS": PROMPT_LEVELS, "CONTEXTS": CONTEXTS, "PFA_AREAS": PFA_AREAS,
            "WORDS": WORDS, "sparkline": sparkline}


def _learner(learner_id: str):
    """The learner if this person may see them (404 otherwise)."""
    try:
        return services().app.learner(g.actor, learner_id)
    except NotFound:
        abort(404)


@pages.get("/")
@login_required
def today():
    now = datetime.now(timezone.utc).date()
    week_start = (now - timedelta(days=now.weekday())).isoformat()
    cards = queries.today_cards(services().fresh(), g.actor, now.isoformat(), week_start)
    return render_template("today.html", cards=cards, today=now)


def _card_context(conn, learner_id: str, target: dict, **extra) -> dict:
    return {"learner_id": learner_id, "t": target, "new_id": str(uuid.uuid4()),
            "last_context": queries.last_context(conn, g.actor.user_id), **extra}


@pages.get("/learners/<learner_id>")
@login_required
def learner(learner_id):
    record = _learner(learner_id)
    lid = str(record.id)
    conn = services().fresh()
    page = queries.learner_page(conn, lid)
    about = queries.learner(conn, lid)
    return render_template(
        "learner.html", learner=about, page=page, lid=lid,
        name=queries.short_name(about["preferred_name"], about["name"]),
        new_id=lambda: str(uuid.uuid4()), last_context=queries.last_context(conn, g.actor.user_id),
        can_record=g.actor.may("record"), reviews=queries.reviews(conn, lid),
    )


def _form_observation() -> dict:
    """The record form as the API's schema expects it (empty = not given)."""
    raw = {k: v for k, v in request.form.items() if k != "csrf_token" and v != ""}
    raw.setdefault("observed_at", datetime.now(timezone.utc).isoformat())
    raw.setdefault("id", str(uuid.uuid4()))
    return raw


@pages.post("/learners/<learner_id>/observations")
@login_required
def record(learner_id):
    """Recording, from the outbox script (or a plain form post without scripts).
    Answers with the refreshed target card: 201 new, 200 an exact repeat."""
    s = services()
    raw = _form_observation()
    try:
        data = ObservationIn().load(raw)
        written = s.app.record_observation(
            g.actor, learner_id, observation_id=str(data.pop("id")), target_id=str(data.pop("target_id")), **data
        )
    except NotFound:
        abort(404)
    except ValidationError as e:
        return _card_problem(learner_id, raw, 422, _messages(e.messages))
    except RuleBroken as e:
        return _card_problem(learner_id, raw, e.status, {e.field: [e.message]})
    conn = s.wait_for(written)
    if not (request.headers.get("X-Outbox") or request.headers.get("HX-Request")):
        return redirect(url_for("pages.learner", learner_id=learner_id, recorded=written.result["id"]) + "#t-" + raw["target_id"])
    target = queries.target_card(conn, written.learner_id, raw["target_id"])
    obs = queries.observation(conn, written.learner_id, written.result["id"])
    html = render_template("_target_card.html", **_card_context(conn, written.learner_id, target, just=obs,
                                                                 repeat=not written.created))
    return html, 201 if written.created else 200


def _messages(messages) -> dict[str, list[str]]:
    from web.problems import _flatten

    return _flatten(messages)


def _card_problem(learner_id, raw, status, errors):
    """A readable message the outbox can show; the observation stays on the tablet."""
    text = "; ".join(f"{WORDS_FIELD.get(k, k)}: {' '.join(v)}" for k, v in errors.items())
    return render_template("_problem.html", status=status, text=text, raw=raw), status


WORDS_FIELD = {"id": "This observation", "rating": "Rating", "observed_at": "Time", "target_id": "Target",
               "context": "Where", "prompt_level": "Prompt", "note": "Note"}


@pages.post("/learners/<learner_id>/observations/<observation_id>/undo")
@login_required
def undo(learner_id, observation_id):
    """Undo straight after recording: a withdrawal, never a deletion."""
    s = services()
    try:
        written = s.app.withdraw_observation(g.actor, learner_id, observation_id=observation_id,
                                             reason="Undone straight after recording")
    except NotFound:
        abort(404)
    except RuleBroken as e:
        return render_template("_problem.html", status=e.status, text=e.message, raw={}), e.status
    conn = s.wait_for(written)
    obs = queries.observation(conn, written.learner_id, observation_id)
    target = queries.target_card(conn, written.learner_id, obs["target_id"])
    return render_template("_target_card.html", **_card_context(conn, written.learner_id, target, undone=obs))


@pages.route("/learners/<learner_id>/observations/<observation_id>", methods=["GET", "POST"])
@login_required
def observation(learner_id, observation_id):
    """One observation: its current values, a correction or withdrawal form,
    and on request its history (who changed what, when and why)."""
    record_ = _learner(learner_id)
    lid = str(record_.id)
    s = services()
    errors: dict[str, list[str]] = {}
    form = {}
    status = 200
    action = None
    if request.method == "POST":
        form = {k: v for k, v in request.form.items() if k not in ("csrf_token", "action")}
        action = request.form.get("action", "correct")
        try:
            if action == "withdraw":
                data = WithdrawalIn().load({"reason": form.get("reason", "")})
                written = s.app.withdraw_observation(g.actor, lid, observation_id=observation_id, **data)
            else:
                clean = {k: v for k, v in form.items() if v != ""}
                data = CorrectionIn().load(clean)
                written = s.app.correct_observation(g.actor, lid, observation_id=observation_id, **data)
            s.wait_for(written)
            return redirect(url_for("pages.observation", learner_id=lid, observation_id=observation_id, done=action))
        except ValidationError as e:
            errors, status = _messages(e.messages), 422
        except RuleBroken as e:
            errors, status = {e.field: [e.message]}, e.status
    conn = s.fresh()
    obs = queries.observation(conn, lid, observation_id)
    if obs is None:
        abort(404)
    about = queries.learner(conn, lid)
    target = queries.progress(conn, lid)
    target = next(t for t in target["targets"] if t["id"] == obs["target_id"])
    history = _observation_history(lid, observation_id) if request.args.get("history") or request.headers.get("HX-Request") else None
    if request.headers.get("HX-Request") and request.args.get("history"):
        return render_template("_observation_history.html", history=history)
    return render_template(
        "observation.html", obs=obs, target=target, lid=lid, errors=errors, form=form, history=history, action=action,
        name=queries.short_name(about["preferred_name"], about["name"]), done=request.args.get("done"),
        names=queries.user_names(conn),
    ), status


def _observation_history(lid: str, observation_id: str) -> list[dict]:
    names = queries.user_names(services().projector.reader())
    out = []
    for e in services().app.learner_events(g.actor, lid):
        if getattr(e, "observation_id", None) == observation_id:
            out.append({
                "type": type(e).__name__, "at": e.timestamp, "by": names.get(e.recorded_by, e.recorded_by),
                "role": e.role, "provider": e.provider, "rating": getattr(e, "rating", None),
                "prompt_level": getattr(e, "prompt_level", None), "context": getattr(e, "context", None),
                "note": getattr(e, "note", None), "observed_at": getattr(e, "observed_at", None),
                "reason": getattr(e, "reason", None),
            })
    return out

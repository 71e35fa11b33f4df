"""Reviews: the learner's self-assessment, the progress review and the annual-
review pack (HTML, PDF). The SEND lead's cohort is web/cohort.py."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from rarpa.read import annual_review, my_progress, queries
from rarpa.service import access
from rarpa.service.access import NotFound
from rarpa.service.schemas import AnnualReviewIn, ReviewIn, SelfAssessmentIn
from web import as_at as instant
from web.auth import login_required
from web.common import form_fields, learner_in_sight, learner_opened, services, submit
from web.photos import pack_photo_files, photos_to_choose
from web.downloads import ascii_slug, content_disposition

reviews = Blueprint("reviews", __name__)


# --- the learner's self-assessment ----------------------------------------------------
@reviews.route("/learners/<learner_id>/self-assessment", methods=["GET", "POST"])
@login_required
def self_assessment(learner_id):
    lid = (learner_opened(learner_id, "self-assessment", access.RECORD) if request.method == "GET"
           else learner_in_sight(learner_id, access.RECORD))
    s = services()
    if request.method == "POST":
        raw = form_fields()

        def record(data: dict):
            data["target_id"] = str(data["target_id"])
            return s.app.record_self_assessment(g.actor, lid, **data)

        done = submit(SelfAssessmentIn, raw, record)
        if done.errors:
            return render_template("_problem.html", status=done.status, text=done.text, raw=raw), done.status
        said = done.data
        if request.headers.get("HX-Request"):
            target = _open_targets(s.fresh(), lid).get(said["target_id"])
            return render_template("_self_assessment_item.html", t=target, said=said, lid=lid,
                                   learner_words=my_progress.learner_words(s.fresh(), lid))
        return redirect(url_for("reviews.self_assessment", learner_id=lid, said=said["answer"]))
    conn = s.fresh()
    return render_template("self_assessment.html", lid=lid, name=queries.learner_name(conn, lid),
                           targets=list(_open_targets(conn, lid).values()), said=None,
                           learner_words=my_progress.learner_words(conn, lid))  # the learner's own, where written


def _open_targets(conn, lid: str) -> dict:
    return {t["id"]: t for t in queries.progress(conn, lid)["targets"] if t["status"] == "open"}


# --- the progress review ----------------------------------------------------------------------
@reviews.route("/learners/<learner_id>/reviews/new", methods=["GET", "POST"])
@login_required
def progress_review(learner_id):
    lid = (learner_opened(learner_id, "progress review", access.REVIEW) if request.method == "GET"
           else learner_in_sight(learner_id, access.REVIEW))
    s = services()
    conn = s.fresh()
    targets = list(_open_targets(conn, lid).values())
    errors: dict[str, list[str]] = {}
    form = request.form
    status = 200
    if request.method == "POST":
        decisions = []
        for t in targets:
            choice = form.get(f"decision-{t['id']}", "keep")
            d = {"target_id": t["id"], "decision": choice}
            if choice == "revise":
                d.update(text=form.get(f"text-{t['id']}") or None, reason=form.get(f"reason-{t['id']}") or None)
            elif choice == "close":
                d.update(closed_as=form.get(f"closed_as-{t['id']}") or None, reason=form.get(f"reason-{t['id']}") or None)
            decisions.append(d)
        body = {
            "held_on": form.get("held_on", ""),
            "attendees": [a.strip() for a in form.get("attendees", "").splitlines() if a.strip()],
            "learner_views": form.get("learner_views", ""),
            "decisions": decisions,
            "new_targets": [],
        }
        if form.get("new_text", "").strip():
            body["new_targets"].append({
                "text": form.get("new_text", ""), "success_criteria": form.get("new_success_criteria", ""),
                "outcome_ids": [o for o in [form.get("new_outcome_id")] if o],
                "baseline": form.get("new_baseline", ""), "review_by": form.get("new_review_by", ""),
            })

        def hold(data: dict):
            for d in data["decisions"]:
                d["target_id"] = str(d["target_id"])
            for t in data["new_targets"]:
                t["outcome_ids"] = [str(o) for o in t["outcome_ids"]]
            return s.app.hold_progress_review(g.actor, lid, **data)

        done = submit(ReviewIn, body, hold)
        if not done.errors:
            return redirect(url_for("pages.learner", learner_id=lid, reviewed=1))
        errors, status = _review_errors(done.errors, targets), done.status
    outcomes = queries.progress(conn, lid)["outcomes"]
    return render_template("review.html", lid=lid, name=queries.learner_name(conn, lid), targets=targets, errors=errors,
                           form=form, outcomes=outcomes, today=datetime.now(timezone.utc).date().isoformat()), status


def _review_errors(errors: dict, targets: list[dict]) -> dict:
    """decisions.2.reason → reason-<target id>, so the message sits by its field."""
    out = {}
    for key, msgs in errors.items():
        parts = key.split(".")
        if parts[0] == "decisions" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(targets):
            out[f"{parts[2]}-{targets[int(parts[1])]['id']}"] = msgs
        elif parts[0] == "new_targets" and len(parts) >= 3:
            field = "outcome_id" if parts[2] == "outcome_ids" else parts[2]
            out[f"new_{field}"] = msgs
        else:
            out[key] = msgs
    return out


# --- the annual-review pack ----------------------------------------------------------------------
def _pack(learner_id, what: str):
    """The pack asked for: the period, and with ``as_at`` (or the picker's
    ``when``) the record as it stood then. A GET is a view, logged first."""
    as_at = instant.requested()
    lid = learner_opened(learner_id, what) if request.method == "GET" else learner_in_sight(learner_id)
    try:
        start, end = annual_review.parse_period(request.args.get("from"), request.args.get("to"),
                                                (as_at or datetime.now(timezone.utc)).date())
        return annual_review.pack(services().app, services().fresh(), g.actor, lid, start=start, end=end, as_at=as_at)
    except annual_review.PeriodError as e:
        abort(400, f"{e.field}: {e.message}")
    except NotFound:  # in sight (checked above), but not recorded yet at that instant
        abort(404, f"There was nothing in this learner's record yet at {instant.in_words(as_at)}: it starts later. "
                   "Choose a later time.")


@reviews.route("/learners/<learner_id>/annual-review", methods=["GET", "POST"])
@login_required
def annual_review_page(learner_id):
    pack = _pack(learner_id, "annual-review pack")
    lid = pack["learner"]["id"]
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST" and not pack["as_at"]:
        form = request.form
        body = {
            "held_on": form.get("held_on", ""),
            "period_from": pack["from"],
            "period_to": pack["to"],
            "attendees": [a.strip() for a in form.get("attendees", "").splitlines() if a.strip()],
            "learner_views": form.get("learner_views", ""),
            "recommendations": [
                {"outcome_id": o["id"], "recommendation": form.get(f"rec-{o['id']}", o["recommendation"]),
                 "note": form.get(f"note-{o['id']}", "")}
                for o in pack["outcomes"]
            ],
        }

        def hold(data: dict):
            for r in data["recommendations"]:
                r["outcome_id"] = str(r["outcome_id"])
            return services().app.hold_annual_review(g.actor, lid, **data)

        done = submit(AnnualReviewIn, body, hold)
        if not done.errors:
            return redirect(url_for("reviews.annual_review_page", learner_id=lid, held=1))
        errors, status = done.errors, done.status
    return render_template("annual_review.html", pack=pack, lid=lid, errors=errors, form=request.form,
                           today=datetime.now(timezone.utc).date().isoformat(), **_fingerprinted(pack),
                           period_photos=photos_to_choose(lid, pack)), status


def _fingerprinted(pack: dict) -> dict:
    """What the pack says about its fingerprint: the instant it was taken at
    (the record as at an instant, or now) and where anyone can check it."""
    taken = datetime.fromisoformat(pack["as_at"]) if pack["as_at"] else datetime.now(timezone.utc)
    return {"taken": taken, "check_url": url_for("workspace.fingerprint_page", _external=True),
            "check_this": url_for("workspace.fingerprint_page", learner=pack["learner"]["id"],
                                  fingerprint=pack["fingerprint"])}


@reviews.get("/learners/<learner_id>/annual-review.pdf")
@login_required
def annual_review_pdf(learner_id):
    from web.pdf import render_pdf  # loaded on first use: WeasyPrint is large

    pack = _pack(learner_id, "annual-review pack (PDF)")
    given, pdf_photos = pack_photo_files(pack)  # the chosen photos, opened here for the PDF (web/photos.py)
    html = render_template("annual_review_pdf.html", pack=pack, made=datetime.now(timezone.utc), pdf=True,
                           pdf_photos=pdf_photos, **_fingerprinted(pack))
    name = pack["learner"]["preferred_name"][:40]  # the date stays in the filename
    disposition = content_disposition(
        "inline", f"annual-review-{name}-{pack['to']}.pdf",
        ascii_filename=f"annual-review-{ascii_slug(name, 'learner')}-{pack['to']}.pdf")
    return Response(render_pdf(html, given), mimetype="application/pdf",
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})

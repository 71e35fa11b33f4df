"""Erasure from the web, for an administrator: a learner's personal data is
erased (crypto-shredding, as `rarpa erase` does) by the record's reference,
with a typed confirmation of the learner's full name and a reason.

An administrator cannot see learner records (access scope "none") and still
does not: the confirmation shows only the learner's name and the providers
they attend (``LearnerService.erasure_subject``), which is what is needed to
be sure it is the right person. The reason is kept, in clear, after the
erasure, so the service refuses one that names the learner.

After the erasure, this process's read model drops the learner's rows and
its free space and write-ahead log are cleared (``catch_up`` then ``scrub``),
as `rarpa erase` does, so nothing of the learner stays in any file while the
server goes on running.

Only a role that may erase (``access.ERASE``: the administrator) opens these
pages; anyone else is refused with 403, like every page a role may not use.
The administrator is asked for their password again ("Confirm it's you",
web/sessions.py) when they have not typed it in the last few minutes: on
opening the erasure and, again if it has gone stale, on each step's POST.
Step 2 can be opened with the reference in the address
(``/admin/erasure?learner_id=...``), so that is where a confirmation sends
them back to.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from rarpa.read import queries
from rarpa.service import access
from rarpa.service.schemas import Text
from web.auth import login_required, recent_sign_in_required
from web.common import client_address, schema_of, services, submit
from web.forms import Field, Form
from web.problems import flatten

erasure = Blueprint("erasure", __name__)

REASON_MAX = 500

FIND = Form(
    Field("learner_id", "Record reference", "the record reference",
          hint="The learner's SEND lead can read it on the learner's page, under their name. "
               "It looks like 3f2b9c1e-5a7d-4e08-9b6c-1d2e3f4a5b6c."),
)
CONFIRM = Form(
    Field("typed_name", "Type the learner's full name", "the learner's full name",
          hint="Exactly as it is shown above."),
    Field("reason", "Reason for the erasure", "a reason for the erasure",
          hint="For example: erasure request received 20 November 2026. Do not write the learner's name: "
               "the reason is kept, readable, after the erasure."),
)


class ErasureIn(Schema):
    learner_id = fields.UUID(required=True)
    # Two checks rather than words(): "between 1 and 500" would read as "Enter a reason".
    reason = Text(required=True, validate=[validate.Length(min=1), validate.Length(max=REASON_MAX)])


def _back() -> str:
    """Where "Confirm it's you" sends the administrator back to: the page
    asked for; after a step's POST, step 2 for the learner whose reference
    was sent (the name and reason are typed again), or step 1."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    reference = request.form.get("learner_id", "").strip()
    return url_for("erasure.find", learner_id=reference) if reference else url_for("erasure.find")


def _same_name(typed: str, name: str) -> bool:
    """Exactly the name, but for spaces before, after or doubled between words."""
    return " ".join(typed.split()) == " ".join(name.split())


def _provider_rows(providers: dict[str, bool]) -> list[dict]:
    names = {p["slug"]: p["name"] for p in queries.providers(services().fresh())}
    rows = [{"name": names.get(slug, slug), "lead": lead} for slug, lead in providers.items()]
    return sorted(rows, key=lambda r: (not r["lead"], r["name"]))


def _find_page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("erasure_find.html", form=FIND, values=values or {}, errors=errors or {}), status


def _confirm_page(subject: dict, values: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("erasure_confirm.html", form=CONFIRM, subject=subject,
                           providers=_provider_rows(subject["providers"]), values=values or {},
                           errors=errors or {}), status


@erasure.route("/admin/erasure", methods=["GET", "POST"])
@login_required
@recent_sign_in_required(back=_back)
def find():
    """Step 1: the record's reference. Step 2 (the answer to a good one, sent
    or in the address): who it is, and the form that confirms the erasure."""
    if request.method == "GET" and "learner_id" not in request.args:
        return _find_page()
    values = {"learner_id": request.values.get("learner_id", "").strip()}
    reference = values["learner_id"]
    if not reference:
        return _find_page(values, FIND.plain({"learner_id": ["Missing data for required field."]}), 422)
    try:
        uuid.UUID(reference)
    except ValueError:
        return _find_page(values, {"learner_id": [
            "Enter the record reference as it is shown on the learner's page: 36 letters, digits and hyphens"]}, 422)
    try:
        subject = services().app.erasure_subject(g.actor, reference)
    except access.NotFound:
        return _find_page(values, {"learner_id": [
            "No learner has this record reference. Check it with the learner's SEND lead"]}, 422)
    if subject["erased"]:
        return _find_page(values, {"learner_id": [
            "This learner's record was already erased: there is nothing left to erase"]}, 409)
    # The name is shown to be sure of the person: that is a view of the record, logged first.
    services().app.log_view(g.actor, subject["learner_id"], "erasure check", address=client_address(),
                            detail=request.path)
    return _confirm_page(subject, {"learner_id": subject["learner_id"]})


@erasure.post("/admin/erasure/confirm")
@login_required
@recent_sign_in_required(back=_back)
def confirm():
    """Step 2 sent: the typed name must be the learner's, and a reason given;
    then the erasure, and this process's read model caught up and scrubbed."""
    s = services()
    reference = request.form.get("learner_id", "")
    try:
        subject = s.app.erasure_subject(g.actor, reference)
    except access.NotFound:
        abort(404)
    if subject["erased"]:  # erased since step 1 (another tab, another administrator, the CLI)
        return redirect(url_for("erasure.done", reference=subject["learner_id"], already=1), 303)
    values = {"learner_id": subject["learner_id"], "typed_name": request.form.get("typed_name", ""),
              "reason": request.form.get("reason", "")}
    body = {"learner_id": subject["learner_id"], "reason": values["reason"]}
    errors: dict[str, list[str]] = {}
    typed = values["typed_name"]
    if not typed.strip():
        errors["typed_name"] = ["Missing data for required field."]
    elif not _same_name(typed, subject["name"]):
        errors["typed_name"] = ["The name you typed is not the learner's full name as recorded. "
                                "Type it exactly as shown above"]
    if errors:  # say what else is wrong too, but write nothing
        try:
            schema_of(ErasureIn).load(body)
        except ValidationError as e:
            errors.update(flatten(e.messages))
        return _confirm_page(subject, values, CONFIRM.plain(errors), 422)
    done = submit(ErasureIn, body, lambda data: s.app.erase_learner(g.actor, str(data["learner_id"]),
                                                                     data["reason"]))
    if done.errors:
        return _confirm_page(subject, values, CONFIRM.plain(done.errors), done.status)
    # As `rarpa erase` does: the read model drops the learner's rows, then its
    # free space and write-ahead log are cleared (also if the erasure had been
    # applied already).
    s.projector.catch_up()
    s.projector.scrub()
    return redirect(url_for("erasure.done", reference=subject["learner_id"],
                            **({} if done.written.created else {"already": 1})), 303)


@erasure.get("/admin/erasure/done")
@login_required
def done():
    """What was erased and what the erasure cannot reach; only for a record
    that is erased (a reference that is not says nothing: 404)."""
    try:
        subject = services().app.erasure_subject(g.actor, request.args.get("reference", ""))
    except access.NotFound:
        abort(404)
    if not subject["erased"]:
        abort(404)
    return render_template("erasure_done.html", reference=subject["learner_id"],
                           already=bool(request.args.get("already")))

"""Errors as RFC 9457 problem documents (application/problem+json).

Every error the API can give goes through here: bad input names its fields,
and nothing unexpected becomes an HTML page or a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from rarpa.service.access import Forbidden, NotFound
from rarpa.service.application import Erased
from rarpa.record import RuleBroken
from rarpa.store.access_log import AccessLogUnavailable

log = logging.getLogger("rarpa.web")

TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with what is recorded",
    410: "Erased",
    413: "Too large",
    415: "Send JSON",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Busy: try again in a moment",
}


class Problem(Exception):
    def __init__(self, status: int, detail: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers or {}


def problem_response(status: int, detail: str, errors: dict | None = None, headers: dict | None = None):
    body = {
        "type": f"/api/v1/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def flatten(messages, prefix="") -> dict[str, list[str]]:
    """marshmallow nests messages for nested fields; the API names them by path."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "body"
            for k, v in flatten(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix or "body"] = list(messages)
    elif isinstance(messages, list):
        for i, m in enumerate(messages):
            out.update(flatten(m, f"{prefix}.{i}"))
    else:
        out[prefix or "body"] = [str(messages)]
    return out


def install(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(e: Problem):
        return problem_response(e.status, e.detail, e.errors, e.headers)

    @app.errorhandler(ValidationError)
    def _invalid(e: ValidationError):
        errors = flatten(e.messages)
        fields = ", ".join(sorted(errors))
        return problem_response(422, f"Please check: {fields}.", errors)

    # The record's own refusals reach pages too (a view that lets them pass):
    # a page gets a readable page, the API a problem document.
    @app.errorhandler(RuleBroken)
    def _rule(e: RuleBroken):
        headers = {"Retry-After": "1"} if e.status == 503 else None
        if not request.path.startswith("/api/"):
            return _page(e.status, e.message, specific=True)
        return problem_response(e.status, f"{e.field}: {e.message}", {e.field: [e.message]}, headers)

    @app.errorhandler(NotFound)
    def _not_found(e: NotFound):
        if not request.path.startswith("/api/"):
            return _page(404, None)
        return problem_response(404, f"No {e.args[0] if e.args else 'such thing'} that you can see here.")

    @app.errorhandler(Forbidden)
    def _forbidden(e: Forbidden):
        if not request.path.startswith("/api/"):
            return _page(403, None)
        return problem_response(403, str(e).capitalize() + ".")

    @app.errorhandler(Erased)
    def _erased(e: Erased):
        if not request.path.startswith("/api/"):
            return _page(410, "This learner's data was erased at their request.", specific=True)
        return problem_response(410, "This learner's data was erased at their request.")

    @app.errorhandler(AccessLogUnavailable)
    def _unlogged(e: AccessLogUnavailable):
        # Every view of a record is logged; a view that cannot be is not shown.
        log.error("refused a view: %s", e)
        message = "This record cannot be shown just now: the access log could not be written. Please try again shortly."
        if not request.path.startswith("/api/"):
            return _page(503, message, specific=True)
        return problem_response(503, message, headers={"Retry-After": "5"})

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if request.path.startswith("/api/"):
            return problem_response(e.code or 500, e.description or TITLES.get(e.code, "Error"))
        return _page(e.code or 500, e.description, specific=_says_what_is_wrong(e))

    @app.errorhandler(UnicodeDecodeError)
    def _undecodable(e: UnicodeDecodeError):
        # Werkzeug decodes the query string strictly when a view reads it; raw
        # bytes that are not UTF-8 are the client's mistake. Anything else is ours.
        try:
            request.query_string.decode("utf-8")
        except UnicodeDecodeError:
            if request.path.startswith("/api/"):
                return problem_response(400, "The query string is not UTF-8.", {"query": ["is not UTF-8"]})
            return _page(400, "The address is not valid: its query is not UTF-8.", specific=True)
        return _unexpected(e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        if not request.path.startswith("/api/"):
            return _page(500, "Something went wrong on our side. It has been logged; please try again.")
        return problem_response(500, "The error has been logged. Please try again; if it happens again, tell your administrator.")


PAGE_MESSAGES = {
    400: "The form could not be sent. If this page was open a long time, reload it and try again.",
    403: "Your role does not allow this.",
    404: "There is nothing here that you can see. It may not exist, or it may not be on your caseload.",
}


def _says_what_is_wrong(e: HTTPException) -> bool:
    """An abort(400, "to: must be ...") names what was wrong: show it. A CSRF
    failure or a bare abort(400) gets the page's plain-words message instead."""
    from flask_wtf.csrf import CSRFError

    return bool(e.description) and e.description != type(e).description and not isinstance(e, CSRFError)


def _page(status: int, description: str | None, *, specific: bool = False):
    from flask import render_template

    message = description if specific else PAGE_MESSAGES.get(status, description or "")
    if request.headers.get("X-Outbox") or request.headers.get("HX-Request"):
        return render_template("_problem.html", status=status, text=message, raw={}), status
    return render_template("error.html", title=TITLES.get(status, "Error"), message=message), status

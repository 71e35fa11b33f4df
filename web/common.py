"""What every blueprint shares: the process's services, the learner in sight,
a form taken through its schema to the service, and what every template may
use (the vocabularies with their words, dates, charts)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable

from flask import Flask, current_app, g, request
from marshmallow import Schema, ValidationError

from events import vocabulary
from rarpa.read import queries
from rarpa.record import RuleBroken
from rarpa.service import access
from web.dates import day, long_day, moment
from web.charts import outcome_chart, rating_chart, self_symbol, sparkline
from web.problems import flatten
from web.services import Services


def services() -> Services:
    return current_app.extensions["rarpa"]


def learner_in_sight(learner_id: str, action: str = access.READ) -> str:
    """The learner's id, when this person may see them (access.NotFound, a
    404, when not) and may do this to their record (access.Forbidden, a 403)."""
    return str(services().app.learner(g.actor, learner_id, action).id)


def client_address() -> str:
    """Who is asking, for the limits: the peer's IP address (set by waitress; a
    proxy in front must be configured to pass the client's). IPv6 counts by /64,
    the block one household or device is usually given."""
    raw = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def learner_opened(learner_id: str, what: str, action: str = access.READ) -> str:
    """``learner_in_sight``, and the view written to the access log first:
    when the log cannot be written the view is refused (a 503), never shown
    unlogged."""
    if request.headers.get("X-Precache"):  # the service worker keeping a caseload page for offline use
        what = f"{what} (kept for offline use)"
    # The query as sent, whatever its bytes: logging it must not be what refuses the view.
    query = request.query_string.decode("utf-8", "replace")
    return services().app.open_record(g.actor, learner_id, what, address=client_address(),
                                      detail=request.path + (f"?{query}" if query else ""), action=action)


def form_fields(*skip: str, keep_empty: bool = False) -> dict[str, str]:
    """The posted form without its CSRF token (and ``skip``); an empty field
    counts as not given unless ``keep_empty``."""
    return {k: v for k, v in request.form.items()
            if k != "csrf_token" and k not in skip and (keep_empty or v != "")}


@dataclass
class Submitted:
    """What became of a form: done (the read model has the write), or refused
    with messages by field and the status to answer with."""

    data: dict = field(default_factory=dict)
    written: Any = None
    conn: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200

    @property
    def text(self) -> str:
        """The messages as one line, for a fragment that has no fields to show them by."""
        return "; ".join(" ".join(messages) for messages in self.errors.values())


@lru_cache(maxsize=None)
def schema_of(schema_cls: type[Schema]) -> Schema:
    """One instance per input schema, shared by requests: building one costs
    a third of parsing a body, and marshmallow's load keeps no state on it."""
    return schema_cls()


def submit(schema: type[Schema] | None, body: dict, command: Callable[[dict], Any]) -> Submitted:
    """Load ``body`` with ``schema`` and run ``command`` with what it loaded;
    wait until the read model has the write. A ValidationError or a broken
    rule comes back as messages by field (the access errors go to the error
    pages, web/problems.py)."""
    try:
        data = schema_of(schema).load(body) if schema else dict(body)
        written = command(data)
    except ValidationError as e:
        return Submitted(errors=flatten(e.messages), status=422)
    except RuleBroken as e:
        return Submitted(errors={e.field: [e.message]}, status=e.status)
    return Submitted(data=data, written=written, conn=services().wait_for(written))


def install(app: Flask) -> None:
    """What every page's template may use."""
    for words in (day, long_day, moment):
        app.add_template_filter(words, words.__name__)
    from web.shell import asset  # a static file by its content-hashed name

    app.add_template_global(asset, "asset")

    @app.context_processor
    def template_globals() -> dict:
        return {
            "RATINGS": vocabulary.RATINGS, "PROMPT_LEVELS": vocabulary.PROMPT_LEVELS,
            "CONTEXTS": vocabulary.CONTEXTS, "NEW_TO_LEARNER": vocabulary.NEW_TO_LEARNER, "PFA_AREAS": vocabulary.PFA_AREAS,
            "TARGET_CLOSED_AS": vocabulary.TARGET_CLOSED_AS, "REVIEW_DECISIONS": vocabulary.REVIEW_DECISIONS,
            "SELF_ASSESSMENT_ANSWERS": vocabulary.SELF_ASSESSMENT_ANSWERS,
            "RECOMMENDATIONS": vocabulary.RECOMMENDATIONS,
            "WORDS": vocabulary.WORDS, "PACK_WORDS": vocabulary.PACK_WORDS, "FAMILY_WORDS": vocabulary.FAMILY_WORDS,
            "sparkline": sparkline, "self_symbol": self_symbol,
            "rating_chart": rating_chart, "outcome_chart": outcome_chart,
            # What is due is judged against the server's day, as Today does.
            "today_iso": datetime.now(timezone.utc).date().isoformat(),
            "due_soon": (datetime.now(timezone.utc).date() + timedelta(days=queries.TARGET_REVIEWS_AHEAD)).isoformat(),
        }

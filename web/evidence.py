"""All the evidence: every observation of a learner, or of one of their
targets, newest first by when it happened, a chunk at a time; filtered by
target, where, rating and who recorded it (a GET form, so a filtered list is
an address that can be shared, bookmarked and reloaded).

"Show more" is a plain link carrying the filters and a cursor (the next
chunk as a page of its own when scripts are off); htmx appends the next chunk
in place, moves focus to its first observation and updates "Showing 1 to 50
of 312". Withdrawn and corrected observations are always listed, marked.
"""

from __future__ import annotations


from flask import Blueprint, abort, render_template, request, url_for

from events.vocabulary import CONTEXTS, RATINGS, WORDS
from rarpa.read import queries
from rarpa.read import evidence as found
from rarpa.read import photos as photo_reads
from web import as_at
from web.auth import login_required
from web.common import learner_opened, services
from web.forms import Field, Form

evidence = Blueprint("evidence", __name__)

CHUNK = 25  # observations at a time

FILTERS = Form(
    Field("target", "Target", "a target", kind="choice"),
    Field("context", "Where", "where it happened", kind="choice"),
    Field("rating", "Rating", "a rating", kind="choice"),
    Field("by", "Recorded by", "who recorded it", kind="choice"),
)
# Each filter's name in the address, and the query's.
FILTER_COLUMNS = {"target": "target_id", "context": "context", "rating": "rating", "by": "recorded_by"}


def _options(choices: dict) -> dict[str, list[tuple[str, str]]]:
    """What each filter offers, in words: (value in the address, words shown)."""
    def person(p: dict) -> str:
        return f"{p['name']} ({WORDS['roles'][p['role']]})" if p["role"] in WORDS["roles"] else p["name"]

    return {
        "target": [(t["id"], t["text"] + ("" if t["status"] == "open" else " (closed)")) for t in choices["targets"]],
        "context": [(c, WORDS["contexts"][c]) for c in CONTEXTS],
        "rating": [(r, WORDS["ratings"][r].capitalize()) for r in RATINGS],
        "by": [(p["id"], person(p)) for p in choices["people"]],
    }


@evidence.get("/learners/<learner_id>/evidence")
@login_required
def evidence_page(learner_id):
    as_at.requested()  # as the record stood then: the filters and "Show more" keep the instant
    lid = learner_opened(learner_id, "evidence")
    conn = as_at.record_conn(services().fresh(), lid)
    options = _options(found.evidence_choices(conn, lid))
    # Only values this learner's lists offer: anything else is no filter at all.
    chosen = {name: request.args[name] for name in FILTERS.fields
              if request.args.get(name) in {value for value, _ in options[name]}}
    after = request.args.get("after") or None
    try:
        chunk = found.evidence(conn, lid, after=after, limit=CHUNK,
                                 **{FILTER_COLUMNS[name]: value for name, value in chosen.items()})
    except found.BadCursor:
        abort(400, "That “Show more” address was not made by this list. Start again from the newest evidence.")
    shown_to = chunk["before"] + len(chunk["rows"])
    # Where this page's list starts: 1, or the first of a chunk opened as a page of its own.
    start = request.args.get("from", "")
    ok = start.isascii() and start.isdigit() and len(start) < 10 and 1 <= int(start) <= chunk["before"] + 1
    page_first = int(start) if ok else chunk["before"] + 1
    view = {
        "lid": lid, "rows": chunk["rows"], "count": chunk["count"], "first": chunk["before"] + 1, "last": shown_to,
        "next_url": url_for(".evidence_page", learner_id=lid, **chosen, after=chunk["next"]) if chunk["next"] else None,
        "newest_url": url_for(".evidence_page", learner_id=lid, **chosen) if page_first > 1 else None,
        "remaining": chunk["count"] - shown_to, "chosen": chosen, "filtered": bool(chosen),
        "by_target": "target" in chosen, "chunk": CHUNK, "page_first": page_first,
        "photos": photo_reads.of_observations(conn, lid, [r["id"] for r in chunk["rows"]]),
    }
    if request.headers.get("HX-Request") and after:
        response = render_template("_evidence_rows.html", oob=True, **view)
        return response, 200, {"Vary": "HX-Request"}
    target = queries.target_card(conn, lid, chosen["target"]) if "target" in chosen else None
    html = render_template(
        "evidence.html", name=queries.learner_name(conn, lid), target=target,
        filters=FILTERS, options=options, **view, **as_at.judged_against())
    return html, 200, {"Vary": "HX-Request"}

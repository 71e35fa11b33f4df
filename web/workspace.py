"""The auditor's workspace: a learner's timeline (every entry of the record in
the order it was recorded, filterable, corrections beside what they replaced),
what changed between two instants, who has opened the record (the access
log), and checking a fingerprint printed on a pack.

The timeline, the comparison and the access log are for auditors and the
learner's SEND lead (a SEND lead of a provider the learner attends), the
same people the API gives the access log to (``READS_ACCESS_LOG``); to anyone
else they are a 404, as a learner out of sight is. Every view of them is
written to the access log first (``learner_opened``). Checking a fingerprint
is for anyone signed in: it names the learner only to someone who may see
them.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, abort, g, render_template, request, url_for

from events.vocabulary import WORDS
from rarpa.read import queries
from rarpa.read import timeline as tl
from rarpa.record import RuleBroken
from rarpa.service.access import NotFound
from rarpa.service.audit import READS_ACCESS_LOG, normalise_fingerprint
from rarpa.service.written import Erased
from web import as_at
from web.auth import client_address, login_required
from web.common import learner_in_sight, learner_opened, services
from web.forms import Field, Form

workspace = Blueprint("workspace", __name__)

PAGE = 100  # timeline rows (entries and pointers) a page
LOG_PAGE = 100  # access-log entries a page
GROUP_SHOWN = 100  # entries listed in each group of a comparison (a five-year window has thousands)

TIMELINE_FILTERS = Form(
    Field("target", "Target", "a target", kind="choice"),
    Field("outcome", "EHCP outcome", "an EHCP outcome", kind="choice"),
    Field("kind", "What happened", "a kind of entry", kind="choice"),
    Field("person", "Recorded by", "who recorded it", kind="choice"),
)

COMPARE = Form(
    Field("from_when", "From", "the time to compare from", hint="The earlier time."),
    Field("to_when", "To", "the time to compare to", hint="The later time: leave it empty for now."),
)

FINGERPRINT = Form(
    Field("learner", "The learner's record reference", "the learner's record reference",
          hint="As printed on the pack beside the fingerprint, for example 2e664679-f68e-5dc4-93b2-f0c40b0205c0."),
    Field("fingerprint", "Fingerprint", "the fingerprint",
          hint="Paste it whole, or at least its first 16 characters. Spaces and colons do not matter."),
)

# What changed between two instants, grouped by what it did to the record: (key, heading, event types).
CHANGE_GROUPS = (
    ("corrected", "Corrected or amended", {"ObservationCorrected", "EHCPOutcomeAmended"}),
    ("withdrawn", "Withdrawn", {"ObservationWithdrawn", "PhotoRemoved"}),
    ("revised", "Revised", {"TargetRevised"}),
    ("closed", "Closed or ended", {"TargetClosed", "ProviderLeft", "LearnerDataErased"}),
    ("added", "Added", None),  # everything else
)


def _for_auditors(learner_id: str, what: str) -> str:
    """The learner's id, for an auditor or the learner's SEND lead (a 404 to
    anyone else, as for a learner out of sight), the view logged first."""
    learner_in_sight(learner_id)
    if g.actor.role not in READS_ACCESS_LOG:
        raise NotFound("timeline")
    return learner_opened(learner_id, what)


def may_audit() -> bool:
    """Whether this person's role opens the timeline, the comparison and the
    access log of a learner they see (for the learner page's links)."""
    return bool(g.get("actor")) and g.actor.role in READS_ACCESS_LOG


@workspace.app_context_processor
def _helpers() -> dict:
    return {"may_audit": may_audit}


def _stamp(value: str | None) -> str:
    """A happened-at value in words: a moment (UK time) or a day."""
    if not value:
        return ""
    try:
        return as_at.moment_uk(value) if "T" in value else f"{datetime.fromisoformat(value[:10]):%-d %b %Y}"
    except ValueError:
        return value


def _rows(entries: list[dict]) -> list[dict]:
    """The timeline's rows in the order recorded, each correction or withdrawal
    moved beside the entry it replaced (``group``: the original, then what
    replaced it, in order), and a pointer left where it was recorded."""
    rows: list[dict] = []
    group_of: dict[int, dict] = {}
    for e in entries:
        group = group_of.get(e["replaces"]) if e["replaces"] else None
        if group is not None:
            group["entries"].append(e)
            group_of[e["position"]] = group
            if rows and rows[-1]["group"] is group and not rows[-1]["pointer"]:
                continue  # recorded right after it: already where it stands
            rows.append({"pointer": e, "group": group})
        else:
            group = {"entries": [e], "first": e["position"]}
            group_of[e["position"]] = group
            rows.append({"group": group, "pointer": None})
    return rows


def _pages(rows: list[dict]) -> list[list[dict]]:
    """Rows into pages of about PAGE, never splitting a group from its
    corrections (a group counts as one row per entry)."""
    pages: list[list[dict]] = [[]]
    size = 0
    for row in rows:
        weight = 1 if row["pointer"] else len(row["group"]["entries"])
        if size and size + weight > PAGE:
            pages.append([])
            size = 0
        pages[-1].append(row)
        size += weight
    for number, page in enumerate(pages, 1):
        for row in page:
            if not row["pointer"]:
                row["group"]["page"] = number
    return pages


def _page_number(value: str | None, last: int) -> int:
    if value in (None, ""):
        return 1
    if value == "last":
        return last
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or not 1 <= int(value) <= last:
        abort(400, f"There is no page {value[:12]} of this timeline: it has {last} page{'s' if last != 1 else ''}.")
    return int(value)


def _pagination(number: int, last: int, link) -> list[dict]:
    """GOV.UK pagination: the first, the last, and the pages around this one."""
    shown = sorted({1, last, number - 1, number, number + 1} & set(range(1, last + 1)))
    items, before = [], 0
    for n in shown:
        if before and n > before + 1:
            items.append({"ellipsis": True})
        items.append({"number": n, "href": link(n), "current": n == number})
        before = n
    return items


def _choices(entries: list[dict], live, lid: str) -> dict[str, list[tuple[str, str]]]:
    """What the timeline's filters offer: the targets and outcomes that have
    an entry (by the words the record uses for them now), each kind of entry
    there is, and everyone who recorded one."""
    progress = queries.progress(live, lid)
    target_words = {t["id"]: t["text"] for t in progress["targets"]}
    outcome_words = {o["id"]: o["text"] for o in progress["outcomes"]}
    targets: dict[str, str] = {}
    outcomes: dict[str, str] = {}
    for e in entries:
        if e["type"] == "TargetSet":
            targets[e["target_id"]] = target_words.get(e["target_id"], e["what"])
        if e["type"] in ("EHCPOutcomeRecorded",):
            outcomes[e["outcome_ids"][0]] = outcome_words.get(e["outcome_ids"][0], e["what"])
    types = {e["type"] for e in entries}
    roles = {}
    for e in entries:
        roles.setdefault(e["recorded_by"], e["role"])
    return {
        "target": list(targets.items()),
        "outcome": list(outcomes.items()),
        "kind": [(kind, words) for kind, words in tl.KINDS.items() if kind in types],
        "person": [(pid, f"{name} ({WORDS['roles'].get(roles[pid], roles[pid])})") for pid, name in tl.people(entries)],
    }


@workspace.get("/learners/<learner_id>/timeline")
@login_required
def timeline_page(learner_id):
    moment = as_at.requested()
    lid = _for_auditors(learner_id, "timeline")
    s = services()
    live = s.fresh()
    try:
        entries = tl.timeline(s.app, live, g.actor, lid, moment)
    except NotFound:
        abort(404, f"There was nothing in this learner's record yet at {as_at.in_words(moment)}: it starts later. "
                   "Choose a later time.")
    options = _choices(entries, live, lid)
    chosen = {name: request.args[name] for name in TIMELINE_FILTERS.fields
              if request.args.get(name) in {value for value, _ in options[name]}}
    shown = tl.filtered(entries, tl.Filters(**chosen)) if chosen else entries
    by_position = {e["position"]: e for e in entries}
    pages = _pages(_rows(shown))
    number = _page_number(request.args.get("page"), len(pages))

    def link(n: int) -> str:
        return url_for(".timeline_page", learner_id=lid, **chosen, page=n if n > 1 else None)

    first_entry = sum(len(r["group"]["entries"]) if not r["pointer"] else 0 for p in pages[:number - 1] for r in p)
    on_page = sum(len(r["group"]["entries"]) for r in pages[number - 1] if not r["pointer"])
    return render_template(
        "timeline.html", lid=lid, name=queries.learner_name(live, lid), rows=pages[number - 1],
        total=len(entries), matched=sum(1 for e in shown if tl.matches(e, tl.Filters(**chosen))) if chosen else len(entries),
        count_shown=len(shown), first=first_entry + 1, last=first_entry + on_page,
        number=number, pages=len(pages), page_items=_pagination(number, len(pages), link),
        previous=link(number - 1) if number > 1 else None, next=link(number + 1) if number < len(pages) else None,
        filters=TIMELINE_FILTERS, options=options, chosen=chosen, by_position=by_position,
        stamp=_stamp, instant=as_at.param,
    )


# --- what changed between two instants -----------------------------------------------------------
def _window() -> tuple[dict, dict, datetime | None, datetime | None]:
    """The two instants asked for (a picker's value wins over the address's
    ``from`` and ``to``; ``as_at``, from a page as at an instant, is the
    earlier one when none is given, the later one then being now), with the
    errors by field."""
    errors: dict[str, list[str]] = {}
    asked = any(k in request.args for k in ("from", "to", "from_when", "to_when"))
    after = up_to = None
    try:
        after = as_at.parse(request.args.get("from") or request.args.get("as_at"), request.args.get("from_when"))
    except ValueError:
        errors["from_when"] = ["The time to compare from must be a real date and time, like 3 March 2026 14:05"]
    try:
        up_to = as_at.parse(request.args.get("to"), request.args.get("to_when"))
    except ValueError:
        errors["to_when"] = ["The time to compare to must be a real date and time, like 3 March 2026 14:05"]
    if after is None and asked and "from_when" not in errors:
        errors["from_when"] = ["Enter the time to compare from"]
    if after is not None and up_to is None and "to_when" not in errors:
        up_to = datetime.now(timezone.utc).replace(microsecond=0)
    if after is not None and up_to is not None and up_to <= after:
        errors["to_when"] = ["The time to compare to must be later than the time to compare from"]
    values = {
        "from_when": request.args.get("from_when", as_at.local_value(after) if after else ""),
        "to_when": request.args.get("to_when", as_at.local_value(up_to) if up_to else ""),
        "from": as_at.param(after) if after else "", "to": as_at.param(up_to) if up_to else "",
    }
    return errors, values, after, up_to


def _grouped(changes: list[dict]) -> list[dict]:
    """The changes by what they did, each group's first GROUP_SHOWN listed
    (the counts are always of them all)."""
    groups = []
    claimed: set[int] = set()
    for key, heading, types in CHANGE_GROUPS:
        mine = [c for c in changes if (types is None and c["position"] not in claimed) or (types and c["type"] in types)]
        claimed |= {c["position"] for c in mine}
        if mine:
            groups.append({"key": key, "heading": heading, "entries": mine[:GROUP_SHOWN], "count": len(mine)})
    return groups


@workspace.get("/learners/<learner_id>/compare")
@login_required
def compare_page(learner_id):
    lid = _for_auditors(learner_id, "changes")
    s = services()
    live = s.fresh()
    errors, values, after, up_to = _window()
    changes = groups = None
    if after is not None and not errors:
        changes = tl.changes(s.app, live, g.actor, lid, after, up_to)
        groups = _grouped(changes)
    status = 400 if errors else 200
    return render_template(
        "compare.html", lid=lid, name=queries.learner_name(live, lid), form=COMPARE, errors=COMPARE.plain(errors),
        values=values, after=after, up_to=up_to, changes=changes, groups=groups, stamp=_stamp,
        instant=as_at.param, by_position={c["position"]: c for c in changes or ()},
    ), status


# --- who has opened the record ---------------------------------------------------------------------
# What the address of a view said, in words: an instant, a window, a filter, a page.
_DETAIL_WORDS = {"page": "page", "target": "target", "outcome": "outcome", "kind": "entries", "person": "by",
                 "context": "where", "rating": "rating", "by": "by", "after": "after", "history": "with its history"}
# Instants, each with the picker's field that says it instead (in UK time).
_INSTANTS = (("as_at", "when", "as at"), ("from", "from_when", "from"), ("to", "to_when", "to"))


def detail_words(detail: str | None) -> str:
    """The query of a logged view's address, as a person reads it ("as at
    14:05 on 3 March 2026; entries ObservationCorrected"); empty without one."""
    if not detail or "?" not in detail:
        return ""
    asked = dict(parse_qsl(urlsplit(detail).query))
    bits = []
    for exact, picked, words in _INSTANTS:
        try:
            when = as_at.parse(asked.get(exact), asked.get(picked))
        except ValueError:
            when = None
            bits.append(f"{words} {asked.get(picked) or asked.get(exact)} (not a time)")
        if when is not None:
            bits.append(f"{words} {as_at.in_words(when)}")
    for key, value in asked.items():
        if key in _DETAIL_WORDS:
            bits.append(_DETAIL_WORDS[key] if key == "history" else f"{_DETAIL_WORDS[key]} {value}")
    return "; ".join(bits)[:300]


@workspace.get("/learners/<learner_id>/access-log")
@login_required
def access_log_page(learner_id):
    moment = as_at.requested()
    lid = learner_in_sight(learner_id)
    s = services()
    # A 404 to all but auditors and leads; this view is logged first, so it is in the list.
    entries = s.app.access_entries(g.actor, lid, address=client_address(), detail=request.full_path.rstrip("?"))
    if moment is not None:
        entries = [e for e in entries if datetime.fromisoformat(e["at"]) <= moment]
    entries.reverse()  # newest first
    live = s.fresh()
    last = max(1, math.ceil(len(entries) / LOG_PAGE))
    number = _page_number(request.args.get("page"), last)

    def link(n: int) -> str:
        return url_for(".access_log_page", learner_id=lid, page=n if n > 1 else None)

    shown = entries[(number - 1) * LOG_PAGE:number * LOG_PAGE]
    return render_template(
        "access_log.html", lid=lid, name=queries.learner_name(live, lid), entries=shown, total=len(entries),
        first=(number - 1) * LOG_PAGE + 1, names=queries.staff_names(live), number=number, pages=last,
        page_items=_pagination(number, last, link), previous=link(number - 1) if number > 1 else None,
        next=link(number + 1) if number < last else None, detail_words=detail_words,
    )


# --- checking a fingerprint ---------------------------------------------------------------------------
def _learner_shown(lid: str) -> tuple[str, bool]:
    """The learner's short name and whether this person may see their record,
    or "this learner" (a learner out of sight, or erased, is not named)."""
    try:
        services().app.learner(g.actor, lid)
    except (NotFound, Erased):
        return "this learner", False
    return queries.learner_name(services().fresh(), lid), True


@workspace.get("/fingerprint")
@login_required
def fingerprint_page():
    values = {name: request.args.get(name, "").strip() for name in FINGERPRINT.fields}
    errors: dict[str, list[str]] = {}
    answer = None
    if any(name in request.args for name in FINGERPRINT.fields):
        lid = None
        if not values["learner"]:
            errors["learner"] = ["Enter the learner's record reference"]
        else:
            try:
                lid = str(uuid.UUID(values["learner"]))
            except ValueError:
                errors["learner"] = ["Enter the record reference as it is printed on the pack: 32 letters and "
                                     "digits in five groups, like 2e664679-f68e-5dc4-93b2-f0c40b0205c0"]
        if not values["fingerprint"]:
            errors["fingerprint"] = ["Enter the fingerprint"]
        else:
            try:
                normalise_fingerprint(values["fingerprint"])
            except RuleBroken as e:
                errors["fingerprint"] = [e.message[:1].upper() + e.message[1:]]
        if not errors:
            found = services().app.check_fingerprint(g.actor, lid, values["fingerprint"])
            name, sees = _learner_shown(lid) if found.matches else ("this learner", False)
            answer = {"matches": found.matches, "position": found.position, "events_after": found.events_after,
                      "recorded_at": found.recorded_at, "name": name, "lid": lid,
                      "then": (url_for("pages.learner", learner_id=lid, as_at=as_at.param(
                          datetime.fromisoformat(found.recorded_at))) if sees and found.recorded_at else None)}
    return render_template("fingerprint.html", form=FINGERPRINT, values=values, errors=FINGERPRINT.plain(errors),
                           answer=answer), 422 if errors else 200

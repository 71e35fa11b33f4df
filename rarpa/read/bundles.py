"""A learner's whole record in one file: the transfer pack for their next
provider and the subject-access bundle for the learner (issue 11).

This module gathers what goes in them (from the read model, the events and
the access log, all for one state of the record) and packs already-rendered
files into a ZIP with ``manifest.json``; rendering the HTML and the PDF is the
presentation edge's (web/bundles.py), which the web and the CLI both call.

- Who may: the SEND lead of a provider the learner attends, and the operator
  at the command line (``access.SHARE``); anyone else who sees the learner is
  refused (403), anyone who does not sees no learner (404). The caller writes
  the view to the access log first (``open_record``), as for every view.
- One state of the record: everything is read between two looks at the
  learner's stream; if anything was recorded for the learner in between, it
  is read again (``steady``), so the PDF, the summary, the export and the
  manifest all carry the same fingerprint.
- The manifest lists every other file with its SHA-256 and size, who made the
  bundle and when, the record's fingerprint, and is signed with the
  installation's key (the same key that signs the export's first line).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable


from events.vocabulary import PACK_WORDS, PFA_AREAS, WORDS
from rarpa.read import photos as photos_of, queries, timeline
from rarpa.read.evidence import evidence as evidence_of
from rarpa.record import RuleBroken
from rarpa.service import access, portable

TRANSFER = "transfer pack"  # what the access log calls each (rarpa/service/audit.py VIEWS)
SUBJECT_ACCESS = "subject access"
FORMATS = {TRANSFER: "rarpa-transfer-pack/1", SUBJECT_ACCESS: "rarpa-subject-access/1"}
MANIFEST = "manifest.json"
RECENT_EVIDENCE = 12  # in the transfer summary; the subject-access bundle has all of it
RECENT_WORDS = 8  # the learner's own words in the transfer summary
TRIES = 3  # reads of the record before giving up on a learner being written to all the time
ALL = 10**9  # "every observation" for the evidence query's limit

# A file name inside a bundle: plain lower-case ASCII, one level, no dot-dot, no path.
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9]+)+$")

# What someone opened, as the access log names it, said to the learner. A view
# not named here is shown as the log names it (already words, never a code).
VIEW_WORDS = {
    "learner page": "opened your page",
    "evidence": "looked at all your evidence",
    "timeline": "looked at everything recorded about you, in order",
    "changes": "looked at what changed in your record between two dates",
    "annual-review pack": "looked at your annual-review pack",
    "annual-review pack (PDF)": "downloaded your annual-review pack (PDF)",
    "history": "looked at your record as it was at an earlier time",
    "progress": "looked at your progress",
    "export": "made a copy of your whole record (an export file)",
    "transfer pack": "made a transfer pack for your next college",
    "subject access": "made a copy of everything held about you, like this one",
    "access log": "looked at the list of who has looked at your record",
    "observation": "looked at one observation",
    "photo": "looked at a photo of you",
    "photo thumbnail": "saw a small copy of a photo of you",
    "cohort list": "looked at a list of learners that you are on",
    "my progress": "opened your own pages (How I am doing)",
    "my progress: a target": "opened one of your targets on your own pages",
    "my self-assessment": "opened your page to say how it went",
    "target in the learner's words": "opened a target to write it in your own words",
    "family members": "looked at who in your family can see how you are doing",
    "contribution": "looked at something your family sent from home",
    "contribution photo": "looked at a photo your family sent from home",
    "family summary": "looked at how you are doing, as your family sees it",
}


def photo_file(photo_id: str) -> str:
    """A photo's name in a bundle (beside it, its thumbnail's)."""
    return f"photo-{photo_id}.jpg"


def thumb_file(photo_id: str) -> str:
    return f"photo-{photo_id}-small.jpg"


def photo_parts(files: dict[str, tuple[bytes, bytes]]) -> list[tuple[str, bytes]]:
    """The photos as files of a bundle: each JPEG and its thumbnail."""
    out = []
    for photo_id, (jpeg, thumb) in sorted(files.items()):
        out += [(photo_file(photo_id), jpeg), (thumb_file(photo_id), thumb)]
    return out


def with_photos(observations: list[dict], conn, lid: str, names: dict[str, str],
                files: dict[str, tuple[bytes, bytes]]) -> int:
    """Each observation's photos (``photos``): when taken and by whom, and the
    file in the bundle, or why there is none (removed: who, when and why; not
    in this bundle). Returns how many photo files the bundle holds."""
    listed = {o["id"]: o for o in observations}
    for o in observations:
        o["photos"] = []
    for p in photos_of.of_learner(conn, lid):
        if p["observation_id"] in listed:
            kept = p["id"] in files
            listed[p["observation_id"]]["photos"].append({
                "id": p["id"], "taken_by": person(p["recorded_by"], names), "recorded_at": p["recorded_at"],
                "width": p["width"], "height": p["height"], "chosen_for_pack": bool(p["chosen"]),
                "status": p["status"], "file": photo_file(p["id"]) if kept else None,
                "small_file": thumb_file(p["id"]) if kept else None,
                "removed_at": p["removed_at"], "removed_by": person(p["removed_by"], names),
                "removed_reason": p["removed_reason"]})
    return len(files)


class BundleError(ValueError):
    """A bundle that would not be a plain, safe ZIP (a bad or repeated name)."""


@dataclass(frozen=True)
class Bundle:
    kind: str  # TRANSFER or SUBJECT_ACCESS
    learner_id: str
    name: str  # the learner's full name, for the file name
    preferred_name: str
    fingerprint: str
    made_at: datetime
    files: tuple[str, ...]  # as in the ZIP, manifest.json last
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


# --- who and what, in words ---------------------------------------------------------------------------
def person(user_id: str | None, names: dict[str, str]) -> str:
    """A person as the record names them: their name, else (the command line)
    the operating-system user, else their id."""
    if not user_id:
        return ""
    if names.get(user_id):
        return names[user_id]
    if user_id.startswith("system:"):
        return f"{user_id.removeprefix('system:')} (the record's operator, at the command line)"
    return user_id


def _role_words(role: str | None) -> str:
    return PACK_WORDS["roles"].get(role or "", role or "")


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return [text] if text else []
    return value if isinstance(value, list) else [value]


# --- the parts of the record ----------------------------------------------------------------------------
def _about(conn, lid: str, provider_names: dict[str, str]) -> dict:
    about = queries.learner(conn, lid)
    if about is None:
        raise access.NotFound("learner")
    return {
        "id": about["id"], "name": about["name"], "preferred_name": about["preferred_name"],
        "date_of_birth": about["date_of_birth"], "enrolled_at": about["enrolled_at"], "status": about["status"],
        "annual_review_due": about["annual_review_due"],
        "providers": [{"provider": p["provider"], "name": provider_names.get(p["provider"], p["provider"]),
                       "lead": p["lead"]} for p in about["providers"]],
    }


def _plan(conn, lid: str) -> dict:
    """EHCP outcomes by PfA area, each with its targets: where each started,
    where it is now, how far it moved, and any end-of-programme judgement."""
    progress = queries.progress(conn, lid)
    judged = queries.summatives(conn, lid)
    changes: dict[str, list[dict]] = {}
    for c in conn.execute("SELECT target_id, kind, at, text, reason, closed_as FROM target_changes "
                          "WHERE learner_id=? AND kind!='set' ORDER BY seq", [lid]):
        changes.setdefault(c["target_id"], []).append(dict(c))
    targets = {}
    for t in progress["targets"]:
        targets[t["id"]] = {**t, "judgement": judged["target"].get(t["id"]), "changes": changes.get(t["id"], [])}
    areas = []
    linked: set[str] = set()
    for area in PFA_AREAS:
        outcomes = []
        for o in progress["outcomes"]:
            if o["pfa_area"] != area:
                continue
            linked.update(o["targets"])
            outcomes.append({"id": o["id"], "text": o["text"], "due": o["due"], "distance": o["distance"],
                             "judgement": judged["outcome"].get(o["id"]),
                             "targets": [targets[tid] for tid in o["targets"] if tid in targets]})
        if outcomes:
            areas.append({"area": area, "heading": PACK_WORDS["areas"][area], "outcomes": outcomes})
    return {"areas": areas, "unlinked": [t for tid, t in targets.items() if tid not in linked],
            "targets": list(targets.values()), "aims": queries.aims(conn, lid)}


def _self_assessments(conn, lid: str, names: dict[str, str]) -> list[dict]:
    """Every self-assessment, newest first, in the learner's words."""
    rows = conn.execute(
        "SELECT s.target_id, t.text AS target_text, s.answer, s.words, s.assessed_at, s.recorded_by "
        "FROM self_assessments s LEFT JOIN targets t ON t.id=s.target_id WHERE s.learner_id=? "
        "ORDER BY s.assessed_at DESC, s.seq DESC", [lid])
    return [{**dict(r), "says": WORDS["answers"].get(r["answer"], r["answer"]),
             "recorded_by_name": person(r["recorded_by"], names)} for r in rows]


def _reviews(conn, lid: str, names: dict[str, str]) -> list[dict]:
    """Progress and annual reviews, newest first, with who took part."""
    rows = conn.execute(
        "SELECT id, kind, held_on, attendees, learner_views, period_from, period_to, recorded_by, recorded_at "
        "FROM reviews WHERE learner_id=? ORDER BY held_on DESC, recorded_at DESC", [lid])
    return [{**dict(r), "attendees": _json_list(r["attendees"]),
             "kind_words": WORDS["reviews"].get(r["kind"], r["kind"]),
             "recorded_by_name": person(r["recorded_by"], names)} for r in rows]


def _named(observations: list[dict], names: dict[str, str]) -> list[dict]:
    """Observations whose recorder has no name in the read model (the command
    line, an import) named as ``person`` names them."""
    for o in observations:
        if o["by_name"] == o["recorded_by"]:
            o["by_name"] = person(o["recorded_by"], names)
    return observations


def _named_rows(rows: list[dict], names: dict[str, str]) -> list[dict]:
    """Consents and their history, their recorder named as ``person`` names them."""
    for r in rows:
        if r.get("recorded_by") and r.get("by") == r["recorded_by"]:
            r["by"] = person(r["recorded_by"], names)
    return rows


def _observations(conn, lid: str, entries: list[dict], names: dict[str, str]) -> list[dict]:
    """Every observation, newest first by when it happened, withdrawn and
    corrected ones too, each with who recorded it and every later change
    (what it said first, who changed it, when and why)."""
    history: dict[str, list[dict]] = {}
    first: dict[str, str] = {}
    for e in entries:
        oid = e["observation_id"]
        if not oid:
            continue
        if e["type"] == "ObservationRecorded":
            first.setdefault(oid, e["what"])
        elif e["type"] in ("ObservationCorrected", "ObservationWithdrawn"):
            history.setdefault(oid, []).append({k: e[k] for k in ("type", "kind", "what", "by", "role",
                                                                   "recorded_at", "reason")})
    rows = _named(evidence_of(conn, lid, limit=ALL)["rows"], names)
    for o in rows:
        o.pop("seq", None)
        o["changes"] = history.get(o["id"], [])
        corrected = any(c["type"] == "ObservationCorrected" for c in o["changes"])
        o["first_said"] = first.get(o["id"]) if corrected else None  # what a correction replaced
    return rows


def _access_log(app, lid: str, names: dict[str, str]) -> list[dict]:
    """Who has opened the learner's record, oldest first: when, who (by name),
    in which role and what. Where from (a staff member's address) and the
    exact address of the page are about the staff member, and are left out."""
    return [{"at": e["at"], "user_id": e["user_id"], "name": person(e["user_id"], names), "role": e["role"],
             "role_words": _role_words(e["role"]), "action": e["action"],
             "what": VIEW_WORDS.get(e["action"], f"opened: {e['action']}")}
            for e in app.vault.access.entries(lid)]


def _names(conn) -> tuple[dict[str, str], dict[str, str]]:
    return queries.user_names(conn), timeline.provider_names(conn)


def export_text(app, conn, actor, lid: str) -> str:
    """The export (rarpa/service/portable.py) with the names of people and providers."""
    users, providers = _names(conn)
    return portable.export_text(app, actor, lid, user_names=users, provider_names=providers)


def transfer_record(app, conn, actor, learner_id: str) -> dict:
    """What the receiving provider's summary says: who the learner is, their
    plan with where each target started and is now, recent evidence, their
    own words, next steps and destinations, and the consents recorded here."""
    lid = str(app.learner(actor, learner_id, access.SHARE).id)
    users, providers = _names(conn)
    every = _named(evidence_of(conn, lid, limit=ALL)["rows"], users)
    recent = [o for o in every if o["status"] == "active"][:RECENT_EVIDENCE]
    end = queries.end_of_programme(conn, lid)
    reviews = _reviews(conn, lid, users)
    return {
        "learner": _about(conn, lid, providers),
        "plan": _plan(conn, lid),
        "recent_evidence": recent,
        "observations": sum(o["status"] == "active" for o in every),
        "self_assessments": _self_assessments(conn, lid, users)[:RECENT_WORDS],
        "learner_views": [r for r in reviews if r["learner_views"]][:RECENT_WORDS],
        "unplanned": end["unplanned"],
        "next_steps": end["next_steps"],
        "destinations": end["destinations"],
        "consents": _named_rows(queries.consents(conn, lid), users),
        "last_review": reviews[0] if reviews else None,
    }


def subject_access_record(app, conn, actor, learner_id: str) -> dict:
    """Everything held about the learner, for them to read: their details,
    plan and progress, every observation (corrected and withdrawn ones with
    what they said first), their own words, reviews, what happens next,
    consents and their history, every entry of the record in order (the
    timeline), and who has opened their record (the access log)."""
    lid = str(app.learner(actor, learner_id, access.SHARE).id)
    users, providers = _names(conn)
    entries = timeline.entries(app.learner_events(actor, lid), user_names=users, provider_names=providers)
    for e in entries:
        if e["by"] == e["recorded_by"]:
            e["by"] = person(e["recorded_by"], users)
    end = queries.end_of_programme(conn, lid)
    return {
        "format": FORMATS[SUBJECT_ACCESS],
        "learner": _about(conn, lid, providers),
        "plan": _plan(conn, lid),
        "observations": _observations(conn, lid, entries, users),
        "self_assessments": _self_assessments(conn, lid, users),
        "reviews": _reviews(conn, lid, users),
        "unplanned": end["unplanned"],
        "next_steps": end["next_steps"],
        "destinations": end["destinations"],
        "consents": _named_rows(queries.consents(conn, lid), users),
        "consent_history": _named_rows(queries.consent_history(conn, lid), users),
        "timeline": entries,
        "access_log": _access_log(app, lid, users),
    }


# --- one state of the record ------------------------------------------------------------------------
def steady(app, actor, learner_id: str, fresh: Callable[[], object], read: Callable[[object, str], dict]) -> dict:
    """``read(conn, fingerprint)`` on a read model that has everything recorded
    for the learner, with nothing recorded for them while it ran: the
    fingerprint is the learner's head before and after. ``fresh()`` gives a
    caught-up read connection. Tried TRIES times, then a 503 (try again)."""
    for _ in range(TRIES):
        before = app.learner(actor, learner_id, access.SHARE)
        got = read(fresh(), app.fingerprint(before.id, before.version))
        if app.learner(actor, learner_id, access.SHARE).version == before.version:
            return got
    raise RuleBroken("record", "the learner's record was being written to while the file was made; "
                               "nothing was made, try again in a moment", 503)


def export_fingerprint(text: str) -> str:
    return json.loads(text.split("\n", 1)[0])["fingerprint"]


# --- the ZIP ------------------------------------------------------------------------------------------------
def _stamp(made_at: datetime) -> tuple:
    """A ZIP entry's time: UTC (the format has no zone), to the even second it
    can hold, and never before 1980."""
    utc = made_at.astimezone(timezone.utc)
    return max((utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second - utc.second % 2), (1980, 1, 1, 0, 0, 0))


def manifest(app, kind: str, parts: list[tuple[str, bytes]], *, learner_id: str, fingerprint: str,
             made_at: datetime, made_by: str, made_by_name: str) -> dict:
    """What the bundle holds: every other file with its SHA-256 and size, who
    made it and when, from which state of the record; signed with the
    installation's key (the export's first line names the same public key)."""
    head = {
        "format": FORMATS[kind],
        "kind": kind,
        "learner_id": learner_id,
        "made_at": made_at.isoformat(),
        "made_by": made_by,
        "made_by_name": made_by_name,
        "fingerprint": fingerprint,
        "files": [{"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                  for name, data in parts],
    }
    return portable.signed(app, head)


def check_names(names: list[str]) -> None:
    """Plain, unique, one-level names only: nothing a ZIP tool could write outside its folder."""
    seen = set()
    for name in names:
        if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name) or ".." in name:
            raise BundleError(f"not a plain file name for a bundle: {name!r}")
        if name in seen:
            raise BundleError(f"{name!r} is in the bundle twice")
        seen.add(name)


def zip_bytes(parts: list[tuple[str, bytes]], made_at: datetime) -> bytes:
    check_names([name for name, _ in parts])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=_stamp(made_at))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16  # personal data: readable by whoever unpacks it only
            z.writestr(info, data)
    return out.getvalue()


def bundle(app, kind: str, parts: list[tuple[str, bytes]], *, learner: dict, fingerprint: str, made_at: datetime,
           made_by: str, made_by_name: str) -> Bundle:
    """The ZIP of ``parts`` (rendered files, in order) and manifest.json last."""
    check_names([name for name, _ in parts] + [MANIFEST])
    head = manifest(app, kind, parts, learner_id=learner["id"], fingerprint=fingerprint, made_at=made_at,
                    made_by=made_by, made_by_name=made_by_name)
    files = parts + [(MANIFEST, (json.dumps(head, indent=2, ensure_ascii=False) + "\n").encode())]
    return Bundle(kind=kind, learner_id=learner["id"], name=learner["name"], preferred_name=learner["preferred_name"],
                  fingerprint=fingerprint, made_at=made_at, files=tuple(n for n, _ in files),
                  data=zip_bytes(files, made_at))


def to_json(record: dict) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n").encode()

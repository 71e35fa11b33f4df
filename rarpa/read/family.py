"""The family's voice as pages read it: which learners a family member may
see now, the family members of a learner, what they sent and where it
stands, the queue of contributions waiting for staff, and the easy-read
summary a family member is shown."""

from __future__ import annotations

import json
import sqlite3

from rarpa.read import my_progress, queries
from rarpa.read.queries import _in_sight, _rows
from rarpa.service.access import MODERATE, Actor

RECENT_MOMENTS = 5

# A family member's access holds while they were not ended and consent to share with family is given.
_SHARES = ("EXISTS (SELECT 1 FROM consents c WHERE c.learner_id=f.learner_id "
           "AND c.consent='sharing_with_family' AND c.given=1)")


def learners_of(conn: sqlite3.Connection, user_id: str) -> list[dict]:
    """The learners this family member may see now, by preferred name."""
    return _rows(conn, "SELECT l.id, l.name, l.preferred_name, f.relationship FROM family_members f "
                       f"JOIN learners l ON l.id=f.learner_id WHERE f.user_id=? AND f.ended_at IS NULL AND {_SHARES} "
                       "AND l.status != 'erased' ORDER BY l.preferred_name, l.id", [user_id])


def members(conn: sqlite3.Connection, learner_id: str) -> list[dict]:
    """The learner's family members, each with their name, email, who let them
    in and when, and whether they can come in now (``state``: invited (no
    password set yet), active, ended, or paused while consent is withdrawn)."""
    names = queries.staff_names(conn)
    rows = _rows(conn, "SELECT f.*, u.display_name, u.email, u.status AS account, "
                       f"{_SHARES} AS shares FROM family_members f LEFT JOIN users u ON u.id=f.user_id "
                       "WHERE f.learner_id=? ORDER BY f.invited_at", [learner_id])
    for r in rows:
        r["invited_by_name"] = names.get(r["invited_by"], r["invited_by"])
        r["ended_by_name"] = names.get(r["ended_by"], r["ended_by"]) if r["ended_by"] else None
        if r["ended_at"]:
            r["state"] = "ended"
        elif r["account"] == "deactivated":
            r["state"] = "deactivated"
        elif not r["shares"]:
            r["state"] = "paused"
        elif r["account"] == "invited":
            r["state"] = "invited"
        else:
            r["state"] = "active"
    return rows


def _contribution_rows(conn, where: str, args: list) -> list[dict]:
    names = queries.staff_names(conn)
    rows = _rows(conn, "SELECT c.*, f.relationship, u.display_name AS sent_by_name, l.preferred_name, l.name "
                       "FROM family_contributions c JOIN learners l ON l.id=c.learner_id "
                       "LEFT JOIN family_members f ON f.learner_id=c.learner_id AND f.user_id=c.sent_by "
                       f"LEFT JOIN users u ON u.id=c.sent_by WHERE {where} ORDER BY c.sent_at DESC, c.seq DESC", args)
    for r in rows:
        r["observations"] = json.loads(r["observations"]) if r["observations"] else {}
        r["decided_by_name"] = names.get(r["decided_by"], r["decided_by"]) if r["decided_by"] else None
        r["learner_name"] = queries.short_name(r["preferred_name"], r["name"])
    return rows


def contributions(conn: sqlite3.Connection, learner_id: str, *, sent_by: str | None = None) -> list[dict]:
    """What family members sent for this learner (only this one's, with
    ``sent_by``), newest first, with where each stands."""
    if sent_by is None:
        return _contribution_rows(conn, "c.learner_id=?", [learner_id])
    return _contribution_rows(conn, "c.learner_id=? AND c.sent_by=?", [learner_id, sent_by])


def contribution(conn: sqlite3.Connection, learner_id: str, contribution_id: str) -> dict | None:
    rows = _contribution_rows(conn, "c.learner_id=? AND c.id=?", [learner_id, contribution_id])
    return rows[0] if rows else None


def waiting(conn: sqlite3.Connection, actor: Actor) -> list[dict]:
    """Contributions waiting for a decision, from the learners this person may
    moderate (their caseload, or their provider), oldest first."""
    if not actor.may(MODERATE):
        return []
    sight, args = _in_sight(actor)
    rows = _contribution_rows(conn, f"c.status='waiting' AND {sight}", args)
    return sorted(rows, key=lambda r: (r["sent_at"], r["seq"]))


def waiting_count(conn: sqlite3.Connection, actor: Actor) -> int:
    """How many ``waiting`` holds, counted (Today shows the number, on every visit)."""
    if not actor.may(MODERATE):
        return 0
    sight, args = _in_sight(actor)
    return conn.execute("SELECT COUNT(*) FROM family_contributions c JOIN learners l ON l.id=c.learner_id "
                        f"WHERE c.status='waiting' AND {sight}", args).fetchone()[0]


def summary(conn: sqlite3.Connection, learner_id: str) -> dict:
    """What a family member is shown: each open target (in the learner's own
    words where they were written), where it started and is now, and the
    latest moments recorded, in plain words; no staff names, no notes of
    observations a family member did not send."""
    about = queries.learner(conn, learner_id)
    targets = [t for t in queries.progress(conn, learner_id)["targets"] if t["status"] == "open"]
    moments = _rows(conn, "SELECT o.observed_at, o.rating, o.prompt_level, o.context, o.contribution_id, "
                          "t.text AS target_text, t.id AS target_id FROM observations o "
                          "JOIN targets t ON t.id=o.target_id WHERE o.learner_id=? AND o.status='active' "
                          "ORDER BY o.observed_at DESC, o.seq DESC LIMIT ?", [learner_id, RECENT_MOMENTS])
    theirs = my_progress.learner_words(conn, learner_id)
    words = {t["id"]: theirs.get(t["id"]) or t["text"] for t in targets}
    for m in moments:
        m["target_words"] = words.get(m["target_id"], m["target_text"])
    return {"learner": about, "targets": [{**t, "words": words[t["id"]]} for t in targets], "moments": moments}


def views(conn: sqlite3.Connection, learner_id: str, start: str, end: str) -> list[dict]:
    """The family's views for the annual-review pack: contributions staff
    accepted, that happened from ``start`` to ``end`` (ISO dates, inclusive),
    oldest first, each as who sent it (as they are to the learner), the day
    and their words."""
    return [{"from": r["relationship"] or "Family", "on": r["happened_on"], "words": r["words"]}
            for r in reversed(_contribution_rows(conn, "c.learner_id=? AND c.status='accepted' AND c.happened_on>=? "
                                                       "AND c.happened_on<=?", [learner_id, start, end]))]

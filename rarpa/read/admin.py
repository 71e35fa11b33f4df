"""Read-side queries of the admin pages (web/admin.py): providers, users with
their status, caseload choices, and the admin audit list. Whether the person
asking may administer is the caller's to have checked (the pages refuse any
other role with 403 before they read anything)."""

from __future__ import annotations

import sqlite3

from rarpa.read.queries import _rows, short_name

# A user's status in a read model of shape 5 (before statuses) is NULL: they were active.
_STATUS = "COALESCE(u.status, 'active')"
AUDIT_PAGE = 50


def providers(conn: sqlite3.Connection) -> list[dict]:
    """Every provider, by name, with how many users belong to it and how many
    learners attend it (erased ones not counted)."""
    return _rows(
        conn,
        "SELECT p.slug, p.name, "
        "(SELECT COUNT(*) FROM users u WHERE u.provider = p.slug) AS users, "
        "(SELECT COUNT(*) FROM learner_providers lp JOIN learners l ON l.id = lp.learner_id "
        " WHERE lp.provider = p.slug AND l.status != 'erased') AS learners "
        "FROM providers p ORDER BY p.name, p.slug",
    )


def provider_exists(conn: sqlite3.Connection, slug: str) -> bool:
    return conn.execute("SELECT 1 FROM providers WHERE slug=?", [slug]).fetchone() is not None


_USER = (f"SELECT u.id, u.email, u.display_name, u.role, u.provider, p.name AS provider_name, "
         f"{_STATUS} AS status, COALESCE(u.awaiting_password, 0) AS awaiting_password, "
         f"(SELECT COUNT(*) FROM caseload c WHERE c.user_id = u.id) AS caseload "
         f"FROM users u LEFT JOIN providers p ON p.slug = u.provider")


def users(conn: sqlite3.Connection) -> list[dict]:
    """Every user: name, email, role, provider, status (active, invited,
    deactivated), whether a link is to set their password, and how many
    learners are on their caseload. Deactivated ones last, then by name."""
    return _rows(conn, f"{_USER} ORDER BY {_STATUS} = 'deactivated', "
                       f"LOWER(COALESCE(NULLIF(u.display_name, ''), u.email)), u.email")


def user(conn: sqlite3.Connection, user_id: str) -> dict | None:
    rows = _rows(conn, f"{_USER} WHERE u.id = ?", [user_id])
    return rows[0] if rows else None


def caseload_choices(conn: sqlite3.Connection, user_id: str, provider: str | None) -> list[dict]:
    """The learners who attend this provider (erased ones left out), each with
    their name only (full and short) and whether they are on the user's
    caseload; by name. Nothing else of their record."""
    if not provider:
        return []
    rows = _rows(
        conn,
        "SELECT l.id, l.name, l.preferred_name, "
        "EXISTS (SELECT 1 FROM caseload c WHERE c.user_id = ? AND c.learner_id = l.id) AS on_caseload "
        "FROM learners l JOIN learner_providers lp ON lp.learner_id = l.id AND lp.provider = ? "
        "WHERE l.status != 'erased' ORDER BY l.name COLLATE NOCASE, l.id",
        [user_id, provider],
    )
    for r in rows:
        r["short"] = short_name(r["preferred_name"], r["name"])
        r["on_caseload"] = bool(r["on_caseload"])
    return rows


def admin_actions(conn: sqlite3.Connection, *, user_id: str | None = None, before: int | None = None,
                  limit: int = AUDIT_PAGE) -> list[dict]:
    """The admin audit list, newest first: when, who (name and role), what
    (kind, with the role, provider or learner it set), to whom (a user or a
    provider) and why. ``user_id``: only what was done to that user;
    ``before``: the page after the one that ended at that seq."""
    where, args = ["1"], []
    if user_id:
        where.append("a.user_id = ?")
        args.append(user_id)
    if before:
        where.append("a.seq < ?")
        args.append(before)
    rows = _rows(
        conn,
        "SELECT a.seq, a.at, a.by_id, a.by_role, a.kind, a.user_id, a.provider, a.learner_id, a.detail, a.reason, "
        "COALESCE(NULLIF(b.display_name, ''), b.email) AS by_name, "
        "COALESCE(NULLIF(u.display_name, ''), u.email) AS user_name, u.email AS user_email, "
        "p.name AS provider_name, l.name AS learner_full, l.preferred_name AS learner_preferred "
        "FROM admin_actions a LEFT JOIN users b ON b.id = a.by_id LEFT JOIN users u ON u.id = a.user_id "
        "LEFT JOIN providers p ON p.slug = a.provider LEFT JOIN learners l ON l.id = a.learner_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.seq DESC LIMIT ?",
        [*args, limit + 1],
    )
    for r in rows:
        full, preferred = r.pop("learner_full"), r.pop("learner_preferred")
        r["learner_name"] = short_name(preferred or full, full) if full else None
    return rows

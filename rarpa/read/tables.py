"""The read model's file: its tables and indexes, and how to open it.

Read-model files written by earlier releases are opened as they are and must
keep answering: a table or a column may be added, never renamed or changed.
When the shape changes (a table added, rows built differently), bump SHAPE:
a file of an older shape is rebuilt from the events when it is opened.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from rarpa.record import measures
from rarpa.store import scrub

# The read model's shape, kept in the file's user_version. Files written
# before shapes were numbered are shape 1. Shapes since:
#   2  a target revised at a progress review is next due as agreed there
#   3  programme aims (aims, aim_outcomes)
#   4  summative judgements of targets and outcomes (summatives); consents (consents, consent_history)
#   5  observations say what was new to the learner (new_to_learner; ObservationRecorded v2)
#   6  administration: users.status and users.awaiting_password; admin_actions (the admin audit list)
#   7  photo evidence: photos (what each photo is, never its bytes)
#   8  the family: family_members, family_contributions, observations.contribution_id
#   9  targets.learner_words: a target in the learner's own words (TargetWordedForLearner)
#  10  rating_terms: each target's ratings per term, so charts need not read every observation
SHAPE = 10

TABLES: dict[str, tuple[dict, str | tuple]] = {
    "tracking": ({"name": str, "position": int}, "name"),
    "providers": ({"slug": str, "name": str}, "slug"),
    # status: active, invited or deactivated (vocabulary.USER_STATUSES; NULL in a file of shape 5: active);
    # awaiting_password: 1 while a one-time link is to set their password.
    "users": ({"id": str, "email": str, "display_name": str, "role": str, "provider": str, "status": str,
               "awaiting_password": int}, "id"),
    # Every change to accounts, providers and caseloads (events.staff.ADMIN_EVENTS), in recorded
    # order: who (by_id, by_role), what (kind: the event's type, or "type:kind"), to whom
    # (user_id or provider), which learner for a caseload change, what it set (detail) and why.
    "admin_actions": ({"seq": int, "at": str, "by_id": str, "by_role": str, "kind": str, "user_id": str,
                       "provider": str, "learner_id": str, "detail": str, "reason": str}, "seq"),
    "caseload": ({"user_id": str, "learner_id": str}, ("user_id", "learner_id")),
    "learners": (
        {
            "id": str, "name": str, "preferred_name": str, "date_of_birth": str,
            "lead_provider": str, "enrolled_at": str, "last_observed_at": str,
            "status": str, "annual_review_due": str,
        },
        "id",
    ),
    "learner_providers": ({"learner_id": str, "provider": str, "lead": int}, ("learner_id", "provider")),
    "outcomes": (
        {"id": str, "learner_id": str, "text": str, "pfa_area": str, "due": str,
         "recorded_at": str, "amended_at": str, "targets": int, "distance": float},
        "id",
    ),
    "targets": (
        {
            "id": str, "learner_id": str, "text": str, "success_criteria": str, "status": str,
            "closed_as": str, "baseline": str, "latest": str, "distance": int, "observations": int,
            "last_observed_at": str, "review_by": str, "set_at": str, "revisions": int,
            "summative": str, "learner_words": str,
        },
        "id",
    ),
    "target_outcomes": ({"target_id": str, "outcome_id": str, "learner_id": str}, ("target_id", "outcome_id")),
    # Programme aims (RARPA stage 1) and the EHCP outcomes each serves (zero or more).
    "aims": ({"id": str, "learner_id": str, "text": str, "agreed_at": str}, "id"),
    "aim_outcomes": ({"aim_id": str, "outcome_id": str, "learner_id": str}, ("aim_id", "outcome_id")),
    "observations": (
        {
            "id": str, "seq": int, "learner_id": str, "target_id": str, "rating": str,
            "prompt_level": str, "context": str, "note": str, "observed_at": str,
            "recorded_at": str, "recorded_by": str, "provider": str, "status": str,
            "corrections": int, "new_to_learner": str, "contribution_id": str,
        },
        "id",
    ),
    "reviews_due": ({"kind": str, "ref_id": str, "learner_id": str, "due_on": str}, ("kind", "ref_id")),
    # A target's live ratings in one term (rarpa.read.rating_summary: term = year * 3 + 0 spring,
    # 1 summer, 2 autumn): how many, the lowest, the highest, the latest (its judgement at the term's end).
    "rating_terms": ({"target_id": str, "term": int, "learner_id": str, "observations": int, "lowest": str,
                      "highest": str, "latest": str, "first_at": str, "last_at": str}, ("target_id", "term")),
    # Reviews, the learner's voice, what changed and why, stage 5.
    "reviews": (
        {"id": str, "learner_id": str, "kind": str, "held_on": str, "attendees": str, "learner_views": str,
         "period_from": str, "period_to": str, "fingerprint": str, "recorded_by": str, "recorded_at": str},
        "id",
    ),
    "recommendations": (
        {"review_id": str, "outcome_id": str, "learner_id": str, "recommendation": str, "note": str},
        ("review_id", "outcome_id"),
    ),
    "target_changes": (
        {"seq": int, "learner_id": str, "target_id": str, "kind": str, "at": str, "text": str,
         "reason": str, "closed_as": str, "review_id": str},
        "seq",
    ),
    "self_assessments": (
        {"id": str, "seq": int, "learner_id": str, "target_id": str, "answer": str, "words": str,
         "assessed_at": str, "recorded_by": str},
        "id",
    ),
    "unplanned_outcomes": (
        {"id": str, "learner_id": str, "text": str, "pfa_area": str, "context": str, "recognised_on": str,
         "provider": str},
        "id",
    ),
    "next_steps": ({"id": str, "learner_id": str, "text": str, "agreed_on": str}, "id"),
    "destinations": (
        {"id": str, "learner_id": str, "kind": str, "detail": str, "starts_on": str, "follow_up_on": str,
         "sustained_on": str},
        "id",
    ),
    # Summative judgements at the end of a programme, every one in recorded order
    # (the last of a target or outcome is its judgement): kind "target" (judgement:
    # a rating) or "outcome" (judgement: one of OUTCOME_JUDGEMENTS).
    "summatives": (
        {"seq": int, "learner_id": str, "kind": str, "ref_id": str, "judgement": str, "summary": str,
         "assessed_on": str, "recorded_by": str, "recorded_at": str},
        "seq",
    ),
    # Consents: the current answer for each (who recorded it, when), and every answer given.
    "consents": (
        {"learner_id": str, "consent": str, "given": int, "reason": str, "recorded_by": str, "role": str,
         "provider": str, "recorded_at": str},
        ("learner_id", "consent"),
    ),
    # Photos kept with observations: what each is (never its bytes: those stay sealed beside the
    # events, rarpa/store/photos.py), who took it, whether it is chosen for the pack, removed.
    "photos": (
        {"id": str, "seq": int, "learner_id": str, "observation_id": str, "content_type": str, "sha256": str,
         "thumb_sha256": str, "size": int, "width": int, "height": int, "recorded_at": str, "recorded_by": str,
         "provider": str, "chosen": int, "chosen_at": str, "chosen_by": str, "status": str, "removed_at": str,
         "removed_by": str, "removed_reason": str},
        "id",
    ),
    # Family members a SEND lead let in (rarpa/record/family.py): who they are to the learner, who let
    # them in and when, and whether their access was ended (consent withdrawn shuts them all out too).
    "family_members": (
        {"learner_id": str, "user_id": str, "relationship": str, "invited_at": str, "invited_by": str,
         "reason": str, "ended_at": str, "ended_by": str, "ended_reason": str},
        ("learner_id", "user_id"),
    ),
    # What family members sent from home and where it stands: waiting, accepted (evidence now: the
    # observations made of it, target id to observation id, as JSON) or declined (the reason they see).
    "family_contributions": (
        {"id": str, "seq": int, "learner_id": str, "sent_by": str, "sent_at": str, "words": str,
         "happened_on": str, "has_photo": int, "status": str, "decided_at": str, "decided_by": str,
         "decided_role": str, "reason": str, "observations": str, "photo_id": str},
        "id",
    ),
    "consent_history": (
        {"seq": int, "learner_id": str, "consent": str, "given": int, "reason": str, "recorded_by": str,
         "role": str, "provider": str, "recorded_at": str},
        "seq",
    ),
}
INDEXES = [
    ("targets", ["learner_id"]),
    ("outcomes", ["learner_id"]),
    ("observations", ["target_id", "status"]),
    ("observations", ["learner_id", "observed_at"]),
    ("observations", ["target_id", "observed_at", "seq"]),  # all the evidence of a target, newest first
    ("target_outcomes", ["outcome_id"]),
    ("aims", ["learner_id"]),
    ("learner_providers", ["provider"]),
    ("reviews_due", ["learner_id"]),
    ("reviews_due", ["due_on"]),
    ("reviews", ["learner_id", "held_on"]),
    ("target_changes", ["learner_id", "at"]),
    ("self_assessments", ["learner_id", "assessed_at"]),
    ("summatives", ["learner_id", "kind", "ref_id"]),
    ("consent_history", ["learner_id", "consent"]),
    ("photos", ["observation_id"]),
    ("photos", ["learner_id", "chosen"]),
    ("admin_actions", ["user_id"]),
    ("family_members", ["user_id"]),
    ("family_contributions", ["learner_id", "status"]),
    ("rating_terms", ["learner_id", "target_id", "term"]),
    # Found scanning at 2,000 learners (a learner page took 1 s): a learner's rows, and Today's
    # "last context you recorded in". Made when a file is opened, so older files gain them too.
    ("target_outcomes", ["learner_id"]),
    ("caseload", ["learner_id"]),
    ("recommendations", ["learner_id"]),
    ("aim_outcomes", ["learner_id"]),
    ("observations", ["recorded_by", "recorded_at", "seq"]),
    ("unplanned_outcomes", ["learner_id"]),
    ("next_steps", ["learner_id"]),
    ("destinations", ["learner_id"]),
]
# The tables that hold rows of one learner: emptied when that learner is erased.
LEARNER_TABLES = ("observations", "targets", "outcomes", "target_outcomes", "reviews_due", "caseload",
                  "learner_providers", "reviews", "recommendations", "target_changes", "self_assessments",
                  "unplanned_outcomes", "next_steps", "destinations", "aims", "aim_outcomes",
                  "summatives", "consents", "consent_history", "photos", "family_members",
                  "family_contributions", "rating_terms")


def create_schema(db: sqlite_utils.Database) -> None:
    for name, (columns, pk) in TABLES.items():
        db[name].create(columns, pk=pk, if_not_exists=True)
        # A file of an older shape gains the columns added since (and is then rebuilt).
        have = set(db[name].columns_dict)
        for column, kind in columns.items():
            if column not in have:
                db[name].add_column(column, kind)
    for table, cols in INDEXES:
        db[table].create_index(cols, if_not_exists=True)


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # The read model can always be rebuilt from the events: no need to fsync each batch.
    conn.execute("PRAGMA synchronous=NORMAL")
    # It holds names and notes: what is deleted is overwritten (see rarpa.store.scrub).
    scrub.secure(conn)
    add_measures(conn)
    return conn


def in_memory() -> sqlite3.Connection:
    """A throw-away read model (the record as at an instant)."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    add_measures(conn)
    create_schema(sqlite_utils.Database(conn))
    return conn


class _MeanDistance:
    """measures.mean_distance as an SQL aggregate (NULLs left out, as AVG leaves them)."""

    def __init__(self):
        self.distances: list = []

    def step(self, distance) -> None:
        if distance is not None:
            self.distances.append(distance)

    def finalize(self) -> float:
        return measures.mean_distance(self.distances)


class _LatestRating:
    """measures.latest_rating as an SQL aggregate of (observed_at, seq, rating)."""

    def __init__(self):
        self.observations: list[tuple] = []

    def step(self, observed_at, seq, rating) -> None:
        self.observations.append((observed_at, seq, rating))

    def finalize(self) -> str | None:
        return measures.latest_rating(self.observations)


def add_measures(conn: sqlite3.Connection) -> None:
    """How progress is measured, as SQL functions of this connection, so the
    projection derives its numbers by the record's own rules (rarpa.record.measures)."""
    conn.create_function("distance", 2, measures.distance, deterministic=True)
    conn.create_aggregate("mean_distance", 1, _MeanDistance)
    conn.create_aggregate("latest_rating", 3, _LatestRating)


def shape_of(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0] or 1


def mark_shape(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA user_version={SHAPE}")

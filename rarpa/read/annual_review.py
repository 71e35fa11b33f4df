"""The annual-review pack: a year of evidence turned into what an EHCP annual
review needs, per outcome and PfA area, in the learner's own words too.

It is built from read-model tables only, so the same code makes the pack from
the live read model, from a rebuilt one, or from the in-memory replay of the
record as it stood at a past instant (rarpa/read/history.py). It is written to
and about the learner: plain words (events.vocabulary), their name, no jargon
codes. Distances and the latest judgements are measured as the read model
measures them (rarpa.record.measures).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

from events.vocabulary import PACK_WORDS, PFA_AREAS, WORDS
from rarpa.read import history, pack_readable, queries
from rarpa.read import photos as photo_reads
from rarpa.read import family as family_reads
from rarpa.record import limits, measures

EVIDENCE_PER_OUTCOME = 4
MAX_DAYS = 366


class PeriodError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def default_period(conn: sqlite3.Connection, learner_id: str, to: date) -> tuple[date, date]:
    """Since the last annual review, and never more than 12 months."""
    last = conn.execute(
        "SELECT MAX(held_on) FROM reviews WHERE learner_id=? AND kind='annual' AND held_on<=?",
        [learner_id, to.isoformat()],
    ).fetchone()[0]
    start = to - timedelta(days=365)
    if last and date.fromisoformat(last) > start:
        start = date.fromisoformat(last)
    return start, to


def parse_period(start: str | None, end: str | None, today: date) -> tuple[date | None, date | None]:
    """The period asked for (YYYY-MM-DD strings); 'to' defaults to today when
    only 'from' is given, and both missing means the default period."""
    def one(name: str, value: str | None) -> date | None:
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise PeriodError(name, "must be a date as YYYY-MM-DD") from None
        problem = limits.date_problem(day)  # so the period's own arithmetic cannot overflow
        if problem:
            raise PeriodError(name, problem)
        return day

    first, last = one("from", start), one("to", end)
    if first and not last:
        last = today
    return first, last


def check_period(start: date, end: date) -> None:
    if start > end:
        raise PeriodError("from", "must be on or before 'to'")
    if (end - start).days > MAX_DAYS:
        raise PeriodError("from", "an annual-review pack covers at most 12 months")


def _pick_evidence(observations: list[dict]) -> list[dict]:
    """The strongest evidence: recent, and showing the skill in as many
    different places and providers as possible (generalisation)."""
    chosen: list[dict] = []
    seen: set[tuple] = set()
    pool = sorted(observations, key=lambda o: (o["observed_at"], o["id"]), reverse=True)
    while pool and len(chosen) < EVIDENCE_PER_OUTCOME:
        best = max(
            pool,
            key=lambda o: (
                (o["context"], o["provider"]) not in seen,  # somewhere new first
                o["context"] not in {c[0] for c in seen},
                measures.step(o["rating"]),  # then the strongest judgement
                o["observed_at"],  # then the most recent
                o["id"],
            ),
        )
        chosen.append(best)
        seen.add((best["context"], best["provider"]))
        pool.remove(best)
    return sorted(chosen, key=lambda o: (o["observed_at"], o["id"]))


def _latest(observations: list[dict]) -> str | None:
    return measures.latest_rating((o["observed_at"], o["seq"], o["rating"]) for o in observations)


def _recommend(targets: list[dict], name: str) -> tuple[str, str, str]:
    """The recommendation, why in words, and the reason (for the readable pack)."""
    if targets and all(t["closed_as"] == "achieved" or t["latest"] == "generalised" for t in targets):
        return ("achieved", f"{name} has achieved the targets for this outcome. We recommend it is marked as "
                "achieved.", "achieved")
    in_period = sum(t["observations_in_period"] for t in targets)
    moved = sum(t["distance_in_period"] for t in targets)
    if not targets or in_period == 0:
        return "amend", (f"There was no evidence for this outcome in the period. We recommend the outcome "
                         f"and its targets are looked at again with {name}."), "no_evidence"
    if moved <= 0:
        return "amend", (f"{name} has not yet moved forward on this outcome this year. We recommend the "
                         f"targets or the support are changed."), "not_moved"
    return "continue", f"{name} is making progress. We recommend this outcome continues.", "continue"


def _help_levels(before: list[dict], during: list[dict]) -> tuple[str | None, str | None]:
    """How much help (prompt level) a target needed when the period began (the
    last time before it, else its first time in it) and at its latest time in it."""
    def at(rows: list[dict]) -> list[str]:
        return [o["prompt_level"] for o in sorted(rows, key=lambda o: (o["observed_at"], o["seq"])) if o["prompt_level"]]
    start = (at(before)[-1:] or at(during)[:1] or [None])[0]
    return start, (at(during)[-1:] or [None])[0]


def _target_summary(t: dict, name: str) -> str:
    words = PACK_WORDS["ratings"]
    if not t["latest"]:
        return f"No judgement recorded yet; {name} started at {words[t['baseline']]}."
    if t["distance_in_period"] > 0:
        return (f"{name} moved from {words[t['start']]} to {words[t['latest']]} this year "
                f"({t['distance_in_period']:+d} step{'s' if abs(t['distance_in_period']) != 1 else ''}).")
    if t["distance_in_period"] == 0:
        return f"{name} stayed at {words[t['latest']]} this year."
    return f"{name} was at {words[t['start']]} and is now at {words[t['latest']]}: a harder year for this one."


def _judgement(row: dict | None) -> dict | None:
    """A summative judgement as the pack gives it: a rating for a target, one
    of OUTCOME_JUDGEMENTS for an outcome; why, and on which day."""
    return {k: row[k] for k in ("judgement", "summary", "assessed_on")} if row else None


def _pack_photo(p: dict) -> dict:
    """A chosen photo as the pack gives it: which one, and what it shows in words."""
    return {"id": p["id"], "observation_id": p["observation_id"], "observed_at": p["observed_at"],
            "where": PACK_WORDS["contexts"].get(p["context"] or "", ""), "rating": p["rating"], "note": p["note"],
            "target_text": p["target_text"], "width": p["width"], "height": p["height"]}


def build_pack(conn: sqlite3.Connection, learner_id: str, start: date, end: date, fingerprint: str = "") -> dict:
    check_period(start, end)
    learner = queries.learner(conn, learner_id)
    if learner is None:
        raise LookupError("learner")
    name = learner["preferred_name"]
    first, last = start.isoformat(), (end + timedelta(days=1)).isoformat()  # 'to' is inclusive
    progress = queries.progress(conn, learner_id)
    providers = {p["provider"]: p["lead"] for p in learner["providers"]}
    provider_names = {r["slug"]: r["name"] for r in conn.execute("SELECT slug, name FROM providers")}
    observations = [dict(r) for r in conn.execute(
        "SELECT id, target_id, rating, prompt_level, context, note, observed_at, provider, seq "
        "FROM observations WHERE learner_id=? AND status='active' ORDER BY observed_at, seq",
        [learner_id],
    )]
    changes = [dict(r) for r in conn.execute(
        "SELECT target_id, kind, at, text, reason, closed_as FROM target_changes "
        "WHERE learner_id=? AND at>=? AND at<? AND kind!='set' ORDER BY at, seq",
        [learner_id, first, last],
    )]

    # Each target's wordings over time: a note that begins with one is not made to say it twice.
    texts: dict[str, list[str]] = {}
    for r in conn.execute("SELECT target_id, text FROM target_changes WHERE learner_id=? AND text IS NOT NULL "
                          "AND text!='' ORDER BY seq", [learner_id]):
        texts.setdefault(r["target_id"], []).append(r["text"])
    help_levels: dict[str, tuple] = {}

    # The end-of-programme judgements that stood when the period ended.
    judged = queries.summatives(conn, learner_id, until=end.isoformat())
    targets: dict[str, dict] = {}
    for t in progress["targets"]:
        mine = [o for o in observations if o["target_id"] == t["id"]]
        before = [o for o in mine if o["observed_at"] < first]
        during = [o for o in mine if first <= o["observed_at"] < last]
        start_rating = _latest(before) or t["baseline"]
        latest = _latest(during) or start_rating
        shown = latest if (during or before) else None
        targets[t["id"]] = {
            "id": t["id"],
            "text": t["text"],
            "success_criteria": t["success_criteria"],
            "status": t["status"],
            "closed_as": t["closed_as"],
            "baseline": t["baseline"],
            "start": start_rating,
            "latest": shown,
            "distance": measures.distance(t["baseline"], shown),
            "distance_in_period": measures.distance(start_rating, latest) if during else 0,
            "observations_in_period": len(during),
            "contexts": sorted({o["context"] for o in during if o["context"]}),
            "chart": [{"observed_at": o["observed_at"], "rating": o["rating"]} for o in during],
            "changes": [c for c in changes if c["target_id"] == t["id"]],
            "summative": t["summative"],
            "summative_judgement": _judgement(judged["target"].get(t["id"])),
            "_during": during,
        }
        targets[t["id"]]["summary"] = _target_summary(targets[t["id"]], name)
        help_levels[t["id"]] = _help_levels(before, during)

    # The photos the SEND lead chose for the pack, of this period's evidence (each under
    # every outcome its target serves); as at an instant, those chosen by then.
    chosen_photos = photo_reads.of_period(conn, learner_id, first, last, chosen_only=True)
    outcomes = []
    recommendations = []
    reasons: dict[str, str] = {}
    for o in sorted(progress["outcomes"], key=lambda o: (PFA_AREAS.index(o["pfa_area"]), o["id"])):
        rows = [targets[tid] for tid in o["targets"] if tid in targets]
        evidence = _pick_evidence([ob for t in rows for ob in t["_during"]])
        for ob in evidence:
            ob["target_text"] = targets[ob["target_id"]]["text"]
            ob["provider_name"] = provider_names.get(ob["provider"], ob["provider"])
            ob["provider_role"] = "lead provider" if providers.get(ob["provider"]) else "partner provider"
            ob["where"] = PACK_WORDS["contexts"].get(ob["context"] or "", "")
            ob.pop("seq", None)
        recommendation, why, reasons[o["id"]] = _recommend(rows, name)
        outcomes.append({
            "id": o["id"],
            "text": o["text"],
            "pfa_area": o["pfa_area"],
            "pfa_heading": PACK_WORDS["areas"][o["pfa_area"]],
            "due": o["due"],
            "distance": measures.mean_distance(t["distance"] for t in rows),
            "distance_in_period": measures.mean_distance(t["distance_in_period"] for t in rows),
            "targets": [{k: v for k, v in t.items() if k != "_during"} for t in rows],
            "evidence": evidence,
            "photos": [_pack_photo(p) for p in chosen_photos if o["id"] in p["outcome_ids"]],
            "recommendation": recommendation,
            "summative_judgement": _judgement(judged["outcome"].get(o["id"])),
        })
        recommendations.append({"outcome_id": o["id"], "recommendation": recommendation, "why": why})

    self_assessments = [
        {**dict(r), "target_text": targets.get(r["target_id"], {}).get("text", ""), "says": WORDS["answers"][r["answer"]]}
        for r in conn.execute(
            "SELECT target_id, answer, words, assessed_at FROM self_assessments "
            "WHERE learner_id=? AND assessed_at>=? AND assessed_at<? ORDER BY assessed_at, seq",
            [learner_id, first, last],
        )
    ]
    learner_views = [
        {"held_on": r["held_on"], "kind": r["kind"], "words": r["learner_views"]}
        for r in conn.execute(
            "SELECT held_on, kind, learner_views FROM reviews WHERE learner_id=? AND held_on>=? AND held_on<? "
            "AND learner_views!='' ORDER BY held_on, id",
            [learner_id, first, last],
        )
    ]
    unplanned = [dict(r) for r in conn.execute(
        "SELECT text, pfa_area, context, recognised_on, provider FROM unplanned_outcomes "
        "WHERE learner_id=? AND recognised_on>=? AND recognised_on<? ORDER BY recognised_on, id",
        [learner_id, first, last],
    )]
    next_steps = [dict(r) for r in conn.execute(
        "SELECT text, agreed_on FROM next_steps WHERE learner_id=? ORDER BY agreed_on, id", [learner_id])]
    destinations = [dict(r) for r in conn.execute(
        "SELECT kind, detail, starts_on, follow_up_on, sustained_on FROM destinations WHERE learner_id=? "
        "ORDER BY starts_on, id", [learner_id])]
    result = {
        "learner": {
            "id": learner["id"],
            "name": learner["name"],
            "preferred_name": name,
            "providers": [{"provider": p["provider"], "name": provider_names.get(p["provider"], p["provider"]),
                           "lead": p["lead"]} for p in learner["providers"]],
        },
        "from": start.isoformat(),
        "to": end.isoformat(),
        "outcomes": outcomes,
        "self_assessments": self_assessments,
        "learner_views": learner_views,
        "unplanned_outcomes": unplanned,
        "recommendations": recommendations,
        "next_steps": next_steps,
        "destinations": destinations,
        # The programme aims agreed by the end of the period, with the outcomes each serves.
        "aims": queries.aims(conn, learner_id, until=last),
        "fingerprint": fingerprint,
        "dual_placement": len(learner["providers"]) > 1,
        # What the family sent from home in the period, as staff added it (rarpa/read/family.py).
        "family_views": family_reads.views(conn, learner_id, str(start)[:10], str(end)[:10]),
    }
    # The pack as a parent reads it, in reading order: the summary first, "About this
    # record" last; the page, the PDF and this JSON all say it from here.
    result.update(pack_readable.compose(result, texts=texts, help_levels=help_levels, reasons=reasons))
    return result


def pack(app, live: sqlite3.Connection, actor, learner_id: str, *, start: date | None = None,
         end: date | None = None, as_at: datetime | None = None) -> dict:
    """The pack for a learner and period: from the live read model, or, with
    ``as_at``, from the record exactly as it stood at that recorded instant."""
    learner = app.learner(actor, learner_id)  # access: 404 when out of sight
    lid = str(learner.id)
    if as_at is None:
        conn, head = live, (learner.id, learner.version)
        today = datetime.now(timezone.utc).date()
    else:
        providers = [(r[0], r[1]) for r in live.execute("SELECT slug, name FROM providers")]
        conn, kept = history.read_model_as_at(app, actor, lid, as_at, providers)
        head = (learner.id, kept[-1].originator_version)
        today = as_at.astimezone(timezone.utc).date()
    end = end or today
    if start is None:
        start, end = default_period(conn, lid, end)
    result = build_pack(conn, lid, start, end, fingerprint=app.fingerprint(*head))
    result["as_at"] = as_at.isoformat() if as_at else None
    return result

"""The annual-review pack as a parent can read it without help (issue 13).

In reading order: a one-page summary (what went well, what is next, the
learner's own words), what the learner worked on (per outcome and target, the
evidence in short lines grouped per target, the place, provider, help and
rating said once when they are the same every time), things nobody planned,
what the learner says, what the family says, the recommendations, and "About
this record" (how progress is measured, what the words mean, the fingerprint)
at the end.

Everything a reader sees is written here as finished text, in that order, so
the page, the PDF and the JSON say the same. Every sentence passes through one
``Said`` for the whole pack, which drops a sentence already said: no sentence
is said twice anywhere in the pack. Sentences made here carry their own
subject (a date, a target, an outcome's number) so they are never the ones
dropped; the free texts (notes, reasons, summaries, the learner's words) are.
A quotation is one piece: the learner's words are kept whole or not repeated.
Plain words come from events.vocabulary.PLAIN_WORDS; the staff terms appear
only under "About this record", beside the plain words they stand for.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import zip_longest
from typing import Iterable

from events.vocabulary import PACK_WORDS, PFA_AREAS, PLAIN_WORDS, PROMPT_LEVELS, RATINGS, RECOMMENDATIONS, WORDS

SUMMARY_HIGHLIGHTS = 3  # targets named under "What went well", after the count of those that moved
SUMMARY_WORDS = 3  # the learner's words quoted in the summary
SUMMARY_KEEP_WORKING = 3  # targets named under "What is next"

_CLOSERS = "”’\"')]"
_ENDS = ".!?"


# --- sentences, and saying each once -------------------------------------------------------
def sentences(text: str | None) -> list[str]:
    """A text's sentences, whitespace collapsed. A sentence ends with . ! or ?
    (and any closing quote or bracket) before a space, or at the end of the text.
    A quotation “…” is one piece, however many sentences are inside it."""
    text = " ".join((text or "").split())
    out: list[str] = []
    start = depth = i = 0
    while i < len(text):
        ch = text[i]
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth = max(0, depth - 1)
        elif ch in _ENDS:
            j = i + 1
            while j < len(text) and text[j] in _CLOSERS:
                if text[j] == "”":
                    depth = max(0, depth - 1)
                j += 1
            if depth == 0 and (j == len(text) or text[j] == " "):
                out.append(text[start:j].strip())
                start = j
            i = j
            continue
        i += 1
    if text[start:].strip():
        out.append(text[start:].strip())
    return out


def is_sentence(piece: str) -> bool:
    """A piece that ends as a sentence does (a label such as "Now: able to do
    it reliably" or a date does not)."""
    return piece.rstrip(_CLOSERS)[-1:] in tuple(_ENDS) if piece else False


def same(piece: str) -> str:
    """What two sentences share when they say the same: their words, in order,
    whatever the case, punctuation or quotation marks."""
    return " ".join(re.sub(r"[^\w\s]", " ", piece.lower()).split())


def repeated(pieces: Iterable[str]) -> list[str]:
    """The sentences (see is_sentence) said more than once among these texts."""
    seen: dict[str, int] = {}
    first: dict[str, str] = {}
    for text in pieces:
        for s in sentences(text):
            if is_sentence(s) and same(s):
                seen[same(s)] = seen.get(same(s), 0) + 1
                first.setdefault(same(s), s)
    return [first[k] for k, n in seen.items() if n > 1]


class Said:
    """Everything the pack has said so far, in reading order. ``reserved``:
    words kept for a later place, where they are quoted whole (the family's
    words, for "What the family says"): not said before it."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self._said: set[str] = set()
        self._reserved = {same(s) for words in reserved for s in (words, *sentences(words))} - {""}

    def new(self, text: str | None) -> str:
        """The text without the sentences already said (those kept are now said)."""
        kept = []
        for s in sentences(text):
            key = same(s)
            if key and (key in self._said or key in self._reserved):
                continue
            if key:
                self._said.add(key)
            kept.append(s)
        return " ".join(kept)

    def whole(self, quotation: str) -> bool:
        """Whether someone's words, quoted whole, are new to the pack (they are then said)."""
        key = same(quotation)
        if not key or key in self._said:
            return False
        self._said.add(key)
        return True


# --- words ---------------------------------------------------------------------------------
def day(value) -> str:
    """23 Mar 2026, as the pages say a date (web/dates.py)."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day} {d:%b %Y}"


def _ended(text: str) -> str:
    text = " ".join((text or "").split())
    return text if not text or text.rstrip(_CLOSERS)[-1:] in tuple(_ENDS) else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def doing(name: str, text: str, template: str) -> str:
    """"{name} can now {do} reliably" around a target's own words: "Buy a bus
    ticket" → "Amy can now buy a bus ticket reliably"; "With a card: explain a
    problem" → "With a card, Amy can now explain a problem…". A target not
    worded as something to do ("Amy uses…") is quoted instead."""
    t = " ".join(text.split()).rstrip(".!?")
    lead = ""
    head, colon, rest = t.partition(":")
    if colon and rest.strip() and len(head.split()) <= 6:
        lead, t = head.strip() + ", ", rest.strip()
    first = t.split()[0] if t.split() else ""
    if not first or first.lower().strip(",'’") in {name.lower(), "i", "he", "she", "they", "we", "you"}:
        return f"“{' '.join(text.split())}”: {name} {template.format(do='do this')}"
    if not (len(first) > 1 and first.isupper()):  # an acronym keeps its capitals
        t = t[0].lower() + t[1:]
    return f"{lead}{name} {template.format(do=t)}"


def _clean_note(note: str | None, texts: list[str]) -> str:
    """A note without the target's wording when it begins with it (the heading
    above says it already), as a sentence."""
    n = " ".join((note or "").split())
    for t in sorted({" ".join(x.split()) for x in texts if x}, key=len, reverse=True):
        if n.lower().startswith(t.lower()) and n[len(t):len(t) + 1] in ("", " ", ",", ";", ":", "."):
            rest = n[len(t):].lstrip(" ,;:.-–—")
            n = _capital(rest)
            break
    return _ended(n)


# --- the pack ------------------------------------------------------------------------------
def compose(pack: dict, *, texts: dict[str, list[str]], help_levels: dict[str, tuple],
            reasons: dict[str, str]) -> dict:
    """The readable parts of a pack built by annual_review.build_pack: ``texts``
    are each target's wordings over time, ``help_levels`` each target's help
    (prompt level) when the period began and at its latest, ``reasons`` why each
    outcome's recommendation was made (achieved, continue, no_evidence, not_moved)."""
    # The family's words are theirs to say, under "What the family says": evidence from home
    # (the same words, as a note) leaves them there.
    said = Said(reserved=tuple(f.get("words") or "" for f in pack.get("family_views", [])))
    name = pack["learner"]["preferred_name"]
    number = {o["id"]: i + 1 for i, o in enumerate(pack["outcomes"])}
    summary, quoted, in_summary = _summary(pack, name, help_levels, said)
    unplanned = pack["unplanned_outcomes"][:len(pack["unplanned_outcomes"]) - in_summary]
    return {
        "summary": summary,
        "worked_on": _worked_on(pack, name, texts, number, said),
        "nobody_planned": [x for x in (said.new(f"{day(u['recognised_on'])}: {_ended(u['text'])}")
                                       for u in unplanned) if x],
        "views": _views(pack, name, quoted, said),
        "plan": _plan(pack, name, reasons, number, said),
        "about": _about(pack, name, said),
    }


def _targets(pack: dict) -> list[dict]:
    """Each target once, in the pack's order."""
    out: dict[str, dict] = {}
    for o in pack["outcomes"]:
        for t in o["targets"]:
            out.setdefault(t["id"], t)
    return list(out.values())


def _summary(pack: dict, name: str, help_levels: dict, said: Said) -> tuple[dict, set, int]:
    """What went well, what is next and the learner's words; which of their words
    are quoted (kind, index), and how many things nobody planned it names (the
    most recent: the rest are under "Things nobody planned")."""
    went: list[str] = []
    targets = _targets(pack)
    worked = [t for t in targets if t["observations_in_period"]]
    moved = [t for t in worked if t["distance_in_period"] > 0]
    if moved:
        if len(worked) == 1:
            went.append(f"{name} moved forward on the one target worked on this year.")
        elif len(moved) == len(worked):
            went.append(f"{name} moved forward on all {len(worked)} targets worked on this year.")
        else:
            went.append(f"{name} moved forward on {len(moved)} of the {len(worked)} targets worked on this year.")
    highlights: list[tuple] = []
    for t in targets:
        done = [c for c in t["changes"] if c["kind"] == "closed" and c["closed_as"] == "achieved"]
        start_help, now_help = help_levels.get(t["id"], (None, None))
        helped = bool(start_help and now_help and PROMPT_LEVELS.index(now_help) > PROMPT_LEVELS.index(start_help))
        if done:
            sentence = f"{name} met the target “{t['text']}”, which was marked as done on {day(done[-1]['at'])}."
            highlights.append(((0, 0, 0), sentence))
        elif t["distance_in_period"] > 0:
            # The help said too only when it is none now: the sentence stays short.
            no_help = helped and now_help == "independent" and t["latest"] != "generalised"
            template = PLAIN_WORDS["can_now"][t["latest"]] + (", " + PLAIN_WORDS["help"][now_help] if no_help else "")
            sentence = (doing(name, t["text"], template)
                        + f", and was {PLAIN_WORDS['ratings'][t['start']]} when the year began.")
            highlights.append(((1, -t["distance_in_period"], -RATINGS.index(t["latest"])), sentence))
        elif helped and t["latest"]:
            sentence = (doing(name, t["text"], "can now {do} " + PLAIN_WORDS["help"][now_help])
                        + f", and needed {PLAIN_WORDS['help_needed'][start_help]} when the year began.")
            highlights.append(((2, 0, -RATINGS.index(t["latest"])), sentence))
    went += [s for _, s in sorted(highlights, key=lambda h: h[0])[:SUMMARY_HIGHLIGHTS]]
    unplanned = pack["unplanned_outcomes"][-1:]  # the most recent; the rest under "Things nobody planned"
    went += [f"Something nobody planned: {_ended(u['text'])}" for u in unplanned]
    if worked and not moved and not highlights:
        went.insert(0, f"{name} kept working on {_plural(len(worked), 'target')} this year; none has moved "
                       "forward yet.")
    if not went:
        went.append(f"Nothing was recorded for {name} between {day(pack['from'])} and {day(pack['to'])}.")

    nxt: list[str] = []
    for s in pack["next_steps"]:
        nxt.append(f"{' '.join(s['text'].split()).rstrip('.')} (agreed {day(s['agreed_on'])}).")
    for d in pack["destinations"]:
        detail = f", {d['detail']}" if d["detail"] else ""
        then = (f"it lasted two terms (confirmed {day(d['sustained_on'])})" if d["sustained_on"]
                else f"we will check how it is going from {day(d['follow_up_on'])}")
        nxt.append(f"Destination: {WORDS['destinations'][d['kind']]}{detail}, from {day(d['starts_on'])}; {then}.")
    still = sorted((t for t in targets if t["status"] == "open"),
                   key=lambda t: (RATINGS.index(t["latest"] or t["start"]), t["text"]))  # furthest to go first
    if still:
        named = [f"“{' '.join(t['text'].split())}”" for t in still[:SUMMARY_KEEP_WORKING]]
        more = len(still) - len(named)
        if more:
            named.append(_plural(more, "other target"))
        nxt.append(f"{name} will keep working on {_listed(named)}.")
    counts = {r: sum(o["recommendation"] == r for o in pack["outcomes"]) for r in RECOMMENDATIONS}
    parts = [f"{verb} {_plural(counts[r], 'outcome')}{tail}" for r, verb, tail in (
        ("continue", "keep working towards", ""), ("amend", "change", ""), ("achieved", "mark", " as achieved"))
        if counts[r]]
    if parts:
        nxt.append(f"For {name}'s plan, we recommend: {_listed(parts)}.")
    if not nxt:
        nxt.append(f"Nothing is agreed yet for {name}'s next year.")

    went = [x for x in (said.new(x) for x in went) if x]
    nxt = [x for x in (said.new(x) for x in nxt) if x]

    # The learner's own words: what they said at reviews and beside their self-assessments,
    # newest first, taking from each in turn so both are heard.
    reviews = [("review", i, v["held_on"], v["words"], f"At the {WORDS['reviews'][v['kind']]}, {day(v['held_on'])}")
               for i, v in enumerate(pack["learner_views"])][::-1]
    selves = [("self", i, a["assessed_at"], a["words"], f"About “{a['target_text']}”, {day(a['assessed_at'])}")
              for i, a in enumerate(pack["self_assessments"]) if (a["words"] or "").strip()][::-1]
    offered = [x for pair in zip_longest(reviews, selves) for x in pair if x]
    words: list[dict] = []
    quoted: set = set()
    for kind, i, on, text, when in offered:
        if len(words) == SUMMARY_WORDS:
            break
        text = " ".join(text.split())
        if said.whole(text):
            words.append({"words": text, "when": when, "on": on[:10]})
            quoted.add((kind, i))

    return {
        "heading": f"{name}'s year: a summary",
        "went_well": went,
        "next": nxt,
        "learner_words": words,
        "learner_words_none": None if words else f"{name}'s own words were not recorded in this period.",
    }, quoted, len(unplanned)


def _worked_on(pack: dict, name: str, texts: dict, number: dict, said: Said) -> list[dict]:
    shown_under: dict[str, int] = {}
    shown_obs: set[str] = set()
    areas = []
    for area in PFA_AREAS:
        outcomes = [o for o in pack["outcomes"] if o["pfa_area"] == area]
        if not outcomes:
            continue
        entry = {"area": area, "heading": PACK_WORDS["areas"][area], "outcomes": []}
        for o in outcomes:
            facts = []
            notes = []
            j = o["summative_judgement"]
            if j:
                facts.append({"label": f"At the end of the programme ({day(j['assessed_on'])})",
                              "value": WORDS["outcome_judgements"][j["judgement"]]})
                notes.append(said.new(_ended(j["summary"])))
            facts.append({"label": "Our recommendation", "value": WORDS["recommendations"][o["recommendation"]]})
            evidence: dict[str, list[dict]] = {}
            for ob in o["evidence"]:
                if ob["id"] not in shown_obs:
                    shown_obs.add(ob["id"])
                    evidence.setdefault(ob["target_id"], []).append(ob)
            targets = []
            for t in o["targets"]:
                if t["id"] in shown_under:
                    targets.append({"id": t["id"], "text": t["text"], "shown_under": shown_under[t["id"]],
                                    "facts": [], "said": [], "evidence": None, "chart": None, "start": t["start"]})
                    continue
                shown_under[t["id"]] = number[o["id"]]
                targets.append(_target(t, name, texts.get(t["id"], []), evidence.get(t["id"], []),
                                       pack["dual_placement"], said))
            photos = []
            for p in o["photos"]:
                detail = " · ".join(x for x in (p["where"], p["target_text"], PLAIN_WORDS["ratings"].get(p["rating"]))
                                    if x)
                photos.append({"id": p["id"], "observation_id": p["observation_id"], "width": p["width"],
                               "height": p["height"], "when": day(p["observed_at"]), "detail": detail,
                               "note": said.new(_clean_note(p["note"], [p["target_text"]]))})
            entry["outcomes"].append({"id": o["id"], "number": number[o["id"]], "text": o["text"], "facts": facts,
                                      "said": [n for n in notes if n], "targets": targets, "photos": photos})
        areas.append(entry)
    return areas


def _target(t: dict, name: str, texts: list[str], evidence: list[dict], dual: bool, said: Said) -> dict:
    plain = PLAIN_WORDS["ratings"]
    facts = []
    if t["start"] != t["baseline"]:
        facts.append({"label": "When the target was set", "value": _capital(plain[t["baseline"]])})
    facts.append({"label": "At the start of the year", "value": _capital(plain[t["start"]])})
    facts.append({"label": "Now", "value": _capital(plain[t["latest"]]) if t["latest"] else "Not seen by staff yet"})
    n = t["observations_in_period"]
    facts.append({"label": "Seen this year", "value": _plural(n, "time") if n else "Not this year"})
    if t["closed_as"]:
        facts.append({"label": "Target finished", "value": _capital(WORDS["closed_as"][t["closed_as"]])})
    sj = t["summative_judgement"]
    if sj:
        facts.append({"label": f"At the end of the programme ({day(sj['assessed_on'])})",
                      "value": _capital(plain[sj["judgement"]])})
    lines = []
    for c in t["changes"]:
        if c["kind"] == "closed":
            what = f"On {day(c['at'])} this target was finished: {WORDS['closed_as'][c['closed_as']]}."
        elif c["kind"] == "renegotiated":
            what = f"On {day(c['at'])} this target was changed with {name} to “{c['text']}”."
        else:
            what = f"On {day(c['at'])} this target was changed to “{c['text']}”."
        lines.append(said.new(what + (f" Why: {_ended(c['reason'])}" if (c["reason"] or "").strip() else "")))
    if sj and (sj["summary"] or "").strip():
        lines.append(said.new(_ended(sj["summary"])))
    return {"id": t["id"], "text": t["text"], "shown_under": None, "facts": facts, "said": [x for x in lines if x],
            "evidence": _evidence(evidence, texts + [t["text"]], dual, said) if evidence else None,
            "chart": t["chart"], "start": t["start"]}


def _evidence(observations: list[dict], texts: list[str], dual: bool, said: Said) -> dict:
    """The times shown for one target: what was the same every time said once
    ("each_time"), and for each time only what differed, then its note."""
    keys = ("where", "provider", "help", "rating")
    parts = [{"where": ob.get("where") or None,
              "provider": f"at {ob['provider_name']}" if dual and ob.get("provider_name") else None,
              "help": PLAIN_WORDS["help"].get(ob.get("prompt_level") or ""),
              "rating": PLAIN_WORDS["ratings"].get(ob["rating"])} for ob in observations]
    common = [k for k in keys if len(parts) > 1 and parts[0][k] and all(p[k] == parts[0][k] for p in parts)]
    items = []
    for ob, p in zip(observations, parts):
        items.append({"observation_id": ob["id"], "on": ob["observed_at"][:10], "when": day(ob["observed_at"]),
                      "detail": " · ".join(p[k] for k in keys if k not in common and p[k]),
                      "note": said.new(_clean_note(ob["note"], texts))})
    return {"each_time": ", ".join(parts[0][k] for k in common) or None, "items": items}


def _views(pack: dict, name: str, quoted: set, said: Said) -> dict:
    """What the learner said (at reviews, and beside each self-assessment), oldest
    first, less the words already quoted in the summary; and what the family said."""
    mine = []
    for i, v in enumerate(pack["learner_views"]):
        if ("review", i) in quoted:
            continue
        words = " ".join(v["words"].split())
        kind = WORDS["reviews"][v["kind"]]
        if said.whole(words):
            mine.append({"kind": "review", "on": v["held_on"][:10], "said": f"At the {kind}, {day(v['held_on'])}",
                         "words": words})
        else:
            mine.append({"kind": "review", "on": v["held_on"][:10], "words": None,
                         "said": said.new(f"At the {kind} on {day(v['held_on'])}, {name} said the same words as "
                                          "before.")})
    for i, a in enumerate(pack["self_assessments"]):
        words = " ".join((a["words"] or "").split())
        keep = bool(words) and ("self", i) not in quoted and said.whole(words)
        mine.append({"kind": "self_assessment", "on": a["assessed_at"][:10], "words": words if keep else None,
                     "said": said.new(f"On {day(a['assessed_at'])}, about “{a['target_text']}”, {name} chose "
                                      f"“{a['says']}”.")})
    mine.sort(key=lambda m: m["on"])
    family = []
    for f in pack.get("family_views", []):
        words = " ".join((f.get("words") or "").split())
        on = str(f["on"])[:10]
        if said.whole(words):
            family.append({"from": f["from"], "on": on, "said": f"From {f['from']}, {day(on)}", "words": words})
        elif words:
            family.append({"from": f["from"], "on": on, "words": None,
                           "said": said.new(f"On {day(on)}, {f['from']} sent the same words again.")})
    quoted_any = bool(quoted)
    return {
        "learner_heading": f"What {name} says",
        "family_heading": f"What {name}'s family says",
        "learner": [m for m in mine if m["said"] or m["words"]],
        "learner_none": (None if mine else
                         f"Everything {name} said in this period is quoted in the summary." if quoted_any else
                         f"There are no self-assessments or reviews with {name}'s views in this period."),
        "family": family,
        "family_none": None if family else "No views from home were sent for this period.",
    }


def _plan(pack: dict, name: str, reasons: dict, number: dict, said: Said) -> list[dict]:
    """The recommendation for each outcome, one line per recommendation and reason,
    naming the outcomes by their number (their wording is above)."""
    lines = []
    for rec in RECOMMENDATIONS:
        groups: dict[str, list[int]] = {}
        for o in pack["outcomes"]:
            if o["recommendation"] == rec:
                groups.setdefault(reasons.get(o["id"], rec), []).append(number[o["id"]])
        for reason, numbers in groups.items():
            one = len(numbers) == 1
            it, its = ("it", "its") if one else ("them", "their")
            refs = ("outcome " if one else "outcomes ") + _listed([str(n) for n in numbers])
            why = {
                "achieved": f"{name} has met {its} targets",
                "continue": f"{name} is making progress",
                "no_evidence": f"nothing was recorded for {it} this year, so we suggest looking again at {it} and "
                               f"{its} targets with {name}",
                "not_moved": f"{name} has not moved forward on {it} yet, so we suggest changing the targets or the "
                             "support",
            }.get(reason, f"{name} is making progress")
            lines.append({"recommendation": rec, "outcomes": numbers,
                          "said": said.new(f"{WORDS['recommendations'][rec]} {refs}: {why}.")})
    return lines


def _about(pack: dict, name: str, said: Said) -> dict:
    lid, fp = pack["learner"]["id"], pack["fingerprint"]
    method = [
        f"This pack follows the outcomes in {name}'s EHCP (Education, Health and Care plan), grouped by the "
        "four Preparing for Adulthood areas, and the targets that lead to each outcome.",
        f"Staff write down what they see {name} do: in class, at work placement, at home and out in the "
        f"community. Each time, they record how well {name} did it and how much help was needed.",
        f"“At the start of the year” is where {name} was on {day(pack['from'])}, and “Now” is the most recent "
        f"time staff saw it, up to {day(pack['to'])}.",
        "The times shown for each outcome are recent ones, from as many different places as possible.",
        "Each chart shows this year's ratings from left to right: higher means further along the scale below. "
        f"The dashed line is where {name} was when the year began.",
        "For each outcome the college recommends to continue it, to amend (change) it, or that it is achieved. "
        "The local authority decides after the review meeting.",
    ]
    return {
        "heading": "About this record",
        "method": [s for s in (said.new(m) for m in method) if s],
        "scale_intro": said.new("Staff use five ratings. This pack says them in plain words:"),
        "scale": [{"rating": r, "words": _capital(PLAIN_WORDS["ratings"][r]), "staff_word": WORDS["ratings"][r]}
                  for r in RATINGS],
        "help_intro": said.new("How much help was needed, in plain words:"),
        "help": [{"prompt_level": p, "words": _capital(PLAIN_WORDS["help"][p]), "staff_word": WORDS["prompts"][p]}
                 for p in PROMPT_LEVELS],
        "fingerprint": fp,
        "reference": lid,
        "check_command": f"rarpa verify --fingerprint {lid} {fp}",
    }

"""Easy read for the learner's own pages (web/my_progress.py): the pictures
beside each idea, drawn as inline SVG (our own markup: the Content-Security-
Policy allows it, and it works offline), and the short sentences said to the
learner. Never a number: where they are is a picture of a path of steps.

Colours are SVG presentation attributes (the CSP refuses style attributes);
every colour passes WCAG AA contrast against white."""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup, escape

from events.vocabulary import EASY_WORDS, RATINGS

INK, BLUE, GREY, STEP, GOLD = "#1a1a1a", "#1f4e79", "#595959", "#dce6f0", "#8a5a00"

# A symbol for each Preparing for Adulthood area (a target takes its first outcome's),
# and for the ideas the pages repeat. 48 × 48, drawn with currentColor.
ICONS = {
    # a briefcase: work
    "employment": '<rect x="6" y="16" width="36" height="24" rx="4" fill="none" stroke="currentColor" '
                  'stroke-width="4"/>'
                  '<path d="M18 16v-5h12v5M6 26h36" fill="none" stroke="currentColor" stroke-width="4"/>',
    # a house: living on my own
    "independent_living": '<path d="M6 24L24 8l18 16" fill="none" stroke="currentColor" stroke-width="4" '
                          'stroke-linejoin="round"/><path d="M11 21v19h26V21" fill="none" stroke="currentColor" '
                          'stroke-width="4"/><rect x="20" y="28" width="8" height="12" fill="currentColor"/>',
    # two people: friends and going out
    "community": '<circle cx="16" cy="15" r="6" fill="currentColor"/>'
                 '<circle cx="33" cy="15" r="6" fill="currentColor"/>'
                 '<path d="M5 40c0-10 6-15 11-15s11 5 11 15M22 40c0-10 6-15 11-15s10 5 10 15" fill="none" '
                 'stroke="currentColor" stroke-width="4"/>',
    # a heart: being healthy
    "health": '<path d="M24 41S6 30 6 18a9 9 0 0 1 18-3 9 9 0 0 1 18 3c0 12-18 23-18 23z" fill="none" '
              'stroke="currentColor" stroke-width="4" stroke-linejoin="round"/>',
    # a flag: a target with no area
    "target": '<path d="M12 42V6M12 8h24l-6 8 6 8H12" fill="none" stroke="currentColor" stroke-width="4" '
              'stroke-linejoin="round"/>',
    # a speaker: read it to me
    "speak": '<path d="M6 18h8l10-8v28l-10-8H6z" fill="currentColor"/>'
             '<path d="M30 17c3 4 3 10 0 14M35 12c6 7 6 17 0 24" '
             'fill="none" stroke="currentColor" stroke-width="4" stroke-linecap="round"/>',
    # a microphone: say it
    "microphone": '<rect x="17" y="5" width="14" height="24" rx="7" fill="currentColor"/><path d="M10 22c0 9 6 14 14 '
                  '14s14-5 14-14M24 36v7M16 43h16" fill="none" stroke="currentColor" stroke-width="4" '
                  'stroke-linecap="round"/>',
    # a speech bubble: how did it go?
    "say": '<path d="M6 10h36v22H22l-10 9v-9H6z" fill="none" stroke="currentColor" stroke-width="4" '
           'stroke-linejoin="round"/><circle cx="16" cy="21" r="2.5" fill="currentColor"/><circle cx="24" cy="21" '
           'r="2.5" fill="currentColor"/><circle cx="32" cy="21" r="2.5" fill="currentColor"/>',
    # a calendar: something you did
    "day": '<rect x="6" y="10" width="36" height="32" rx="4" fill="none" stroke="currentColor" stroke-width="4"/>'
           '<path d="M6 19h36M16 5v9M32 5v9" fill="none" stroke="currentColor" stroke-width="4"/>'
           '<rect x="13" y="25" width="8" height="7" fill="currentColor"/>',
    # a path of steps: where you are
    "steps": '<path d="M4 42h10v-8h10v-8h10v-8h10" fill="none" stroke="currentColor" stroke-width="4" '
             'stroke-linejoin="round"/><circle cx="39" cy="9" r="4" fill="currentColor"/>',
    # a star in a ring: something you did (achieved)
    "done": '<circle cx="24" cy="24" r="19" fill="none" stroke="currentColor" stroke-width="3"/><path d="M24 11l3.8 '
            '8.1 8.9 1.1-6.6 6.1 1.7 8.8L24 30.8l-7.8 4.3 1.7-8.8-6.6-6.1 8.9-1.1z" fill="currentColor"/>',
    # an arrow back: all my targets
    "back": '<path d="M20 10L6 24l14 14M7 24h35" fill="none" stroke="currentColor" stroke-width="5" '
            'stroke-linecap="round" stroke-linejoin="round"/>',
    # an arrow on: the next one
    "next": '<path d="M28 10l14 14-14 14M41 24H6" fill="none" stroke="currentColor" stroke-width="5" '
            'stroke-linecap="round" stroke-linejoin="round"/>',
    # a padlock: for staff
    "lock": '<rect x="9" y="21" width="30" height="22" rx="4" fill="currentColor"/>'
            '<path d="M15 21v-6a9 9 0 0 1 18 0v6" '
            'fill="none" stroke="currentColor" stroke-width="4"/>',
}


def icon(name: str, size: int = 48, css: str = "er-icon") -> Markup:
    """A symbol beside the words that say the same (so hidden from screen readers)."""
    return Markup(f'<svg class="{css}" viewBox="0 0 48 48" width="{size}" height="{size}" aria-hidden="true" '
                  f'focusable="false">{ICONS[name]}</svg>')


def area_icon(area: str | None, size: int = 48) -> Markup:
    return icon(area if area in ICONS else "target", size)


# --- where they are: a path of five steps, a figure where they started and one where they are ----
LADDER_WORDS = {"both": "You started here. You are here now.", "start": "You started here."}
_W, _H = 360, 230
_STEP_W, _RISE, _BOTTOM, _LEFT = 64, 30, 214, 20


def _figure(x: float, y: float, filled: bool) -> str:
    """A person standing with their feet at (x, y): outlined where they started, filled where they are."""
    colour = BLUE if filled else GREY
    fill = colour if filled else "#ffffff"
    return (f'<circle cx="{x:.0f}" cy="{y - 44:.0f}" r="8" fill="{fill}" stroke="{colour}" stroke-width="3"/>'
            f'<path d="M{x:.0f} {y - 36:.0f}v18M{x - 10:.0f} {y - 30:.0f}h20M{x:.0f} {y - 18:.0f}l-8 16M{x:.0f} '
            f'{y - 18:.0f}l8 16" fill="none" stroke="{colour}" stroke-width="4" stroke-linecap="round"/>')


def ladder(start: int | None, now: int | None, figure_id: str) -> Markup:
    """The path of steps (one per rating, lowest first) with a figure on the
    step they started on and one on the step they are on now (none yet: only
    the start). Labelled "Start" and "Now" in words; its text alternative is
    LADDER_WORDS. Never a number."""
    steps = len(RATINGS)
    start = 0 if start is None else max(0, min(start, steps - 1))
    words = LADDER_WORDS["start" if now is None else "both"]
    parts = [f'<svg class="er-ladder" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
             f'aria-labelledby="{figure_id}-title" focusable="false">',
             f'<title id="{figure_id}-title">{escape(words)}</title>']
    for i in range(steps):
        x, top = _LEFT + i * _STEP_W, _BOTTOM - (i + 1) * _RISE
        parts.append(f'<rect x="{x}" y="{top}" width="{_STEP_W}" height="{_BOTTOM - top}" fill="{STEP}" '
                     f'stroke="{BLUE}" stroke-width="2"/>')
    # The goal: a flag on the top step.
    fx, fy = _LEFT + (steps - 1) * _STEP_W + 44, _BOTTOM - steps * _RISE
    parts.append(f'<path d="M{fx} {fy}v-34M{fx} {fy - 34}h16l-5 6 5 6h-16" fill="{GOLD}" stroke="{GOLD}" '
                 'stroke-width="3" stroke-linejoin="round"/>')

    def stand(step: int, offset: float) -> tuple[float, float]:
        return _LEFT + step * _STEP_W + _STEP_W / 2 + offset, _BOTTOM - (step + 1) * _RISE

    same = now is not None and now == start
    sx, sy = stand(start, -14 if same else 0)
    parts.append(_figure(sx, sy, filled=False))
    labels = [(sx, sy, "Start", GREY)]
    if now is not None:
        nx, ny = stand(max(0, min(now, steps - 1)), 14 if same else 0)
        parts.append(_figure(nx, ny, filled=True))
        labels.append((nx, ny, "Now", BLUE))
    for x, y, text, colour in labels:
        parts.append(f'<text x="{x:.0f}" y="{y - 58:.0f}" text-anchor="middle" font-size="17" font-weight="700" '
                     f'fill="{colour}" font-family="sans-serif">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --- when, in words -------------------------------------------------------------------------------
def _day_of(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date() if len(str(value)) > 10 else date.fromisoformat(str(value))


def on_day(value, today: date) -> str:
    """When something happened, as said to the learner: "today", "yesterday",
    "on Monday" (this past week), "on 3 October" (this year), "on 3 October 2025"."""
    d = _day_of(value)
    ago = (today - d).days
    if ago == 0:
        return "today"
    if ago == 1:
        return "yesterday"
    if 1 < ago < 7:
        return f"on {d:%A}"
    return f"on {d.day} {d:%B}" + ("" if d.year == today.year else f" {d.year}")


def in_time(value, today: date) -> str:
    """When they said something, for their answers shown back: "Today",
    "Yesterday", "On Monday", "On 3 November" (this month), "In October",
    "In October 2025"."""
    d = _day_of(value)
    ago = (today - d).days
    if ago <= 1 or (d.year, d.month) == (today.year, today.month):
        said = on_day(d, today)
        return said[:1].upper() + said[1:]
    return f"In {d:%B}" + ("" if d.year == today.year else f" {d.year}")


def moment_sentences(m: dict, today: date) -> list[str]:
    """What they did, in short sentences: "On Monday you did this at work.
    You did it on your own. It was a new place." """
    where = EASY_WORDS["contexts"].get(m.get("context") or "")
    first = f"{on_day(m['observed_at'], today)} you did this" + (f" {where}" if where else "") + "."
    said = [first[:1].upper() + first[1:]]
    if m.get("prompt_level") in EASY_WORDS["prompts"]:
        said.append(EASY_WORDS["prompts"][m["prompt_level"]])
    new = EASY_WORDS["new_to_learner"]
    said += [new[n] for n in m.get("new_to_learner") or [] if n in new]
    return said


def moment_symbol(m: dict) -> str:
    """The self-assessment symbol that says the same: on my own, or with help (none said: a day)."""
    level = m.get("prompt_level")
    if level == "independent":
        return "on_my_own"
    return "with_help" if level else ""


def answer_sentence(a: dict, today: date) -> str:
    """ "In October you said: with help." """
    return f"{in_time(a['assessed_at'], today)} you said: {EASY_WORDS['answers_said'][a['answer']]}."


def template_helpers() -> dict:
    """The pictures and words, for the templates of the learner's own pages
    (a context processor of the blueprints that render them)."""
    return {"er_icon": icon, "er_area_icon": area_icon, "er_ladder": ladder, "EASY_WORDS": EASY_WORDS}

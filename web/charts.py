"""A small server-rendered SVG chart of a target's ratings over time: no
library to load on a tablet, and it prints and works offline from the cache."""

from __future__ import annotations

from markupsafe import Markup, escape

from events.vocabulary import RATINGS, WORDS


def sparkline(points: list, baseline: str | None, title: str,
              width: int = 240, height: int = 64) -> Markup:
    """``points`` are (when, rating) pairs or dicts with a "rating". Colours are
    SVG attributes, not CSS, so the chart draws the same in the PDF renderer."""
    points = [(p["observed_at"], p["rating"]) if isinstance(p, dict) else p for p in points]
    pad = 6
    steps = len(RATINGS) - 1

    def y(rating: str) -> float:
        return height - pad - (RATINGS.index(rating) / steps) * (height - 2 * pad)

    n = len(points)
    words = WORDS["ratings"]
    if n:
        first, last = words[points[0][1]], words[points[-1][1]]
        summary = f"{n} observation{'s' if n != 1 else ''}, from {first} to {last}"
    else:
        summary = "no observations yet"
    if baseline:
        summary += f"; baseline {words[baseline]}"
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}: {escape(summary)}" focusable="false">',
        f'<rect x="0" y="0" width="{width}" height="{height}" rx="6" fill="#f1f4f7"/>',
    ]
    for i in range(len(RATINGS)):
        gy = height - pad - (i / steps) * (height - 2 * pad)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="#d9dee3" stroke-width="1"/>')
    if baseline:
        by = y(baseline)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{by:.1f}" y2="{by:.1f}" stroke="#6b6b6b" '
                     'stroke-width="1.5" stroke-dasharray="4 3"/>')
    if n:
        xs = [pad + (i / max(n - 1, 1)) * (width - 2 * pad) for i in range(n)] if n > 1 else [width / 2]
        coords = " ".join(f"{x:.1f},{y(r):.1f}" for x, (_, r) in zip(xs, points))
        if n > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="#1f4e79" stroke-width="2.5" '
                         'stroke-linejoin="round"/>')
        lx, (_, lr) = xs[-1], points[-1]
        parts.append(f'<circle cx="{lx:.1f}" cy="{y(lr):.1f}" r="4" fill="#1f4e79"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


# Symbols for the learner's self-assessment: shape and words together, never colour alone.
SYMBOLS = {
    "not_yet": '<circle cx="24" cy="24" r="17" fill="none" stroke="currentColor" stroke-width="4" stroke-dasharray="6 5"/>',
    "with_help": '<circle cx="17" cy="20" r="8" fill="currentColor"/><circle cx="32" cy="20" r="8" fill="none" '
                 'stroke="currentColor" stroke-width="3"/><path d="M6 42c2-9 20-9 22 0M22 42c2-9 20-9 22 0" '
                 'fill="none" stroke="currentColor" stroke-width="3"/>',
    "on_my_own": '<path d="M24 4l5.9 12.6 13.8 1.7-10.2 9.5 2.7 13.7L24 34.8 11.8 41.5l2.7-13.7L4.3 18.3l13.8-1.7z" '
                 'fill="currentColor"/>',
}


def self_symbol(answer: str) -> Markup:
    return Markup(f'<svg class="symbol" viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" '
                  f'focusable="false">{SYMBOLS[answer]}</svg>')

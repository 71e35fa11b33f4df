"""The cohort page's chart: distance travelled by Preparing for Adulthood
area, as a server-drawn SVG bar chart (no library on the tablet; it prints
and works from the page cache). Axes are labelled, each bar carries its value
and the number of outcomes behind it, and the SVG's <title> and <desc> are
its text alternative. Colours and sizes are SVG presentation attributes,
never style attributes (the Content-Security-Policy refuses inline styles)."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

INK = "#0b0c0c"
MUTED = "#505a5f"
GRID = "#d9dee3"
BAR = "#1f4e79"
BACK = "#a6403a"  # a bar below zero: the cohort moved back on average


def steps(value: float) -> str:
    """1.25 → "1.25 steps", 1 → "1 step", -0.5 → "−0.5 steps"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):
        text = "0"
    text = text.replace("-", "\u2212")
    return f"{text} step" + ("" if abs(value) == 1 else "s")


def outcomes(n: int) -> str:
    return f"{n} outcome" + ("" if n == 1 else "s")


def describe(areas: list[dict]) -> str:
    """The chart in words: what a screen reader says, and what a printout without it would."""
    parts = []
    for a in areas:
        if a["outcomes"]:
            parts.append(f"{a['label']}: {steps(a['mean'])} on average over {outcomes(a['outcomes'])}")
        else:
            parts.append(f"{a['label']}: no outcomes")
    return "; ".join(parts) + "."


def _wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (a long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _ticks(low: float, high: float) -> list[float]:
    step = 0.5 if high - low <= 2 else 1.0
    count = int(round((high - low) / step))
    return [low + i * step for i in range(count + 1)]


def distance_chart(areas: list[dict], *, chart_id: str = "distance-chart",
                   width: int = 720, height: int = 400) -> Markup:
    """``areas``: dicts with "label" (words), "outcomes" (how many) and
    "mean" (mean distance travelled, in rating steps), one per PfA area."""
    title = "Distance travelled by Preparing for Adulthood area"
    left, right, top, bottom = 76, 16, 28, 112
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [a["mean"] for a in areas if a["outcomes"]]
    # Whole steps, with room beyond the longest bar for its value.
    high = max(1.0, math.ceil(max(values, default=0) + 0.25))
    low = min(0.0, math.floor(min(values, default=0) - 0.35))

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    zero = y(0)
    parts = [
        f'<svg class="cohort-chart" id="{chart_id}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" focusable="false">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">Mean distance travelled per EHCP outcome, in steps on the rating '
        f'scale. {escape(describe(areas))}</desc>',
    ]
    # The value axis: gridlines, tick labels and its label, turned to read upwards.
    for tick in _ticks(low, high):
        ty = y(tick)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{GRID}" '
                     'stroke-width="1"/>')
        label = f"{tick:g}".replace("-", "\u2212")
        parts.append(f'<text x="{left - 8}" y="{ty + 5:.1f}" text-anchor="end" font-size="14" '
                     f'fill="{MUTED}">{label}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{INK}" stroke-width="1.5"/>')
    mid = top + plot_h / 2
    parts.append(f'<text class="axis-label" x="18" y="{mid:.1f}" transform="rotate(-90 18 {mid:.1f})" '
                 f'text-anchor="middle" font-size="14" fill="{INK}">Mean distance travelled (rating steps)</text>')
    # One bar per area, from zero, its value above (or below) it.
    slot = plot_w / max(len(areas), 1)
    bar_w = min(96.0, slot * 0.6)
    for i, a in enumerate(areas):
        cx = left + slot * (i + 0.5)
        if a["outcomes"]:
            v = a["mean"]
            y0, y1 = sorted((zero, y(v)))
            colour = BACK if v < 0 else BAR
            parts.append(f'<rect x="{cx - bar_w / 2:.1f}" y="{y0:.1f}" width="{bar_w:.1f}" '
                         f'height="{max(y1 - y0, 1.5):.1f}" fill="{colour}"/>')
            vy = y1 + 18 if v < 0 else y0 - 7
            value = steps(v).split()[0]
        else:
            vy, value = zero - 7, "none"
        parts.append(f'<text class="bar-value" x="{cx:.1f}" y="{vy:.1f}" text-anchor="middle" font-size="15" '
                     f'font-weight="700" fill="{INK}">{escape(value)}</text>')
        lines = _wrap(a["label"], max(int(slot / 8.5), 8))
        for k, line in enumerate(lines):
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 20 + 17 * k:.1f}" text-anchor="middle" '
                         f'font-size="14" fill="{INK}">{escape(line)}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 20 + 17 * len(lines):.1f}" text-anchor="middle" '
                     f'font-size="13" fill="{MUTED}">{outcomes(a["outcomes"])}</text>')
    # The zero line over the bars, and the category axis's label.
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="{INK}" '
                 'stroke-width="1.5"/>')
    parts.append(f'<text class="axis-label" x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                 f'font-size="14" fill="{INK}">Preparing for Adulthood area</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

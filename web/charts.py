"""A small server-rendered SVG chart of a target's ratings over time: no
library to load on a tablet, and it prints and works offline from the cache."""

from __future__ import annotations

from markupsafe import Markup, escape

from events.vocabulary import RATINGS

LABELS = {"not_yet": "not yet", "emerging": "emerging", "developing": "developing",
          "secure": "secure", "generalised": "generalised"}


def sparkline(points: list[tuple[str, str]], baseline: str | None, title: str,
              width: int = 240, height: int = 64) -> Markup:
    pad = 6
    steps = len(RATINGS) - 1

    def y(rating: str) -> float:
        return height - pad - (RATINGS.index(rating) / steps) * (height - 2 * pad)

    n = len(points)
    if n:
        first, last = LABELS[points[0][1]], LABELS[points[-1][1]]
        summary = f"{n} observation{'s' if n != 1 else ''}, from {first} to {last}"
    else:
        summary = "no observations yet"
    if baseline:
        summary += f"; baseline {LABELS[baseline]}"
    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}: {escape(summary)}" focusable="false">',
        f'<rect x="0" y="0" width="{width}" height="{height}" rx="6" class="spark-bg"/>',
    ]
    for i in range(len(RATINGS)):
        gy = height - pad - (i / steps) * (height - 2 * pad)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{gy:.1f}" y2="{gy:.1f}" class="spark-grid"/>')
    if baseline:
        by = y(baseline)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{by:.1f}" y2="{by:.1f}" class="spark-base"/>')
    if n:
        xs = [pad + (i / max(n - 1, 1)) * (width - 2 * pad) for i in range(n)] if n > 1 else [width / 2]
        coords = " ".join(f"{x:.1f},{y(r):.1f}" for x, (_, r) in zip(xs, points))
        if n > 1:
            parts.append(f'<polyline points="{coords}" class="spark-line"/>')
        lx, (_, lr) = xs[-1], points[-1]
        parts.append(f'<circle cx="{lx:.1f}" cy="{y(lr):.1f}" r="4" class="spark-last"/>')
    parts.append("</svg>")
    return Markup("".join(parts))

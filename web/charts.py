"""Server-rendered SVG charts: no library to load on a tablet, and they
print and work offline from the cache. ``rating_chart`` (a target) and
``outcome_chart`` (an EHCP outcome) have labelled axes, rating words up the
side and dates along the bottom, and carry their points as a table;
``sparkline`` is the pack's small chart."""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup, escape

from events.vocabulary import RATINGS, WORDS
from rarpa.read import rating_summary
from web.dates import day


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


# --- charts people can read: labelled axes and the points as a table ------------------------
# Colours are SVG presentation attributes (the Content-Security-Policy refuses style
# attributes); every text passes WCAG AA contrast on white.
LINE, GRID, AXIS, LABEL = "#1f4e79", "#d9dee3", "#6b6b6b", "#3d3d3d"
FONT = 13
# The card's chart is drawn near its natural size on a tablet and is still
# legible scaled down to a phone; "wide" also carries the card's drawing, which
# the style sheet shows instead on a narrow screen (text in an SVG scales with it).
SIZES = {"card": (380, 140), "wide": (680, 220)}
LEFT, RIGHT, TOP, BOTTOM = 84, 14, 10, 34  # room for the rating words and two lines of dates


def _when(iso: str) -> float:
    """An ISO date or instant as days (date ordinals, with the time as a fraction)."""
    if len(iso) <= 10:
        return float(date.fromisoformat(iso).toordinal())
    moment = datetime.fromisoformat(iso)
    return moment.date().toordinal() + (moment.hour * 3600 + moment.minute * 60 + moment.second) / 86400


def _dates(lo: float, hi: float, room: float) -> list[tuple[float, str, str | None]]:
    """Ticks for the horizontal axis: (days, label, year line or None). Under
    two months, the first and last day; otherwise the first of a month,
    thinned to what fits, with the year under the first and under each new year."""
    first, last = date.fromordinal(int(lo)), date.fromordinal(int(hi))
    if (last - first).days < 62:
        days = [(lo, first)] if first == last else [(lo, first), (hi, last)]
        return [(x, f"{d.day} {d:%b}", str(d.year) if k == 0 or d.year != first.year else None)
                for k, (x, d) in enumerate(days)]
    months = []
    m = date(first.year, first.month, 1)
    while m <= last:
        if m > first:
            months.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    most = max(2, int(room // 46))
    months = months[::-(-len(months) // most)]
    ticks, year = [], None
    for m in months:
        ticks.append((float(m.toordinal()), f"{m:%b}", str(m.year) if m.year != year else None))
        year = m.year
    return ticks


def _rating_of(value: float) -> str:
    """A step, or a mean step, in words: "secure", or "between developing and secure"."""
    words = WORDS["ratings"]
    if value == int(value):
        return words[RATINGS[int(value)]]
    return f"between {words[RATINGS[int(value)]]} and {words[RATINGS[int(value) + 1]]}"


def _slot_ticks(terms: dict, room: float) -> list[tuple[int, str, str | None]]:
    """Labels under the panel of periods: (slot, label, year line or None).
    Each term by name when there is room for it, with the year under the
    first and under each spring; else the year alone under each spring (and
    the first); or each academic year. At least 40 px apart."""
    slots, first, width, unit = terms["slots"], terms["first"], terms["width"], terms["unit"]
    step = room / max(slots, 1)
    wanted = []
    for slot in range(slots):
        key = first + slot * width
        if unit == "term" and step >= 50:
            year = str(key // 3) if slot == 0 or key % 3 == 0 else None
            wanted.append((slot, rating_summary.TERMS[key % 3].capitalize(), year))
        elif unit == "term":
            if slot == 0 or key % 3 == 0:
                wanted.append((slot, str(key // 3), None))
        else:
            wanted.append((slot, f"{key % 100:02d}/{(key + 1) % 100:02d}", None))
    out, last = [], None
    for slot, words, year in wanted:
        if last is None or (slot - last) * step >= 40:
            out.append((slot, words, year))
            last = slot
    return out


def _plot(parts: list[str], points: list[tuple[float, float]], lo_x: float, hi_x: float, y, y1: float,
          stepped: bool) -> None:
    """``points`` (days, step) drawn between ``lo_x`` and ``hi_x``, with dates under them."""
    lo, hi = points[0][0], points[-1][0]

    def x(days: float) -> float:
        return (lo_x + hi_x) / 2 if hi == lo else lo_x + (days - lo) / (hi - lo) * (hi_x - lo_x)

    for days, words, year in _dates(lo, hi, hi_x - lo_x):
        tx = x(days)
        anchor = "start" if tx - lo_x < 14 and hi != lo else ("end" if hi_x - tx < 14 and hi != lo else "middle")
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y1}" y2="{y1 + 4}" stroke="{AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{tx:.1f}" y="{y1 + 16}" text-anchor="{anchor}" fill="{LABEL}">{words}</text>')
        if year:
            parts.append(f'<text x="{tx:.1f}" y="{y1 + 30}" text-anchor="{anchor}" fill="{LABEL}">{year}</text>')
    xy = [(x(d), y(v)) for d, v in points]
    _line(parts, xy, stepped)
    for k, (px, py) in enumerate(xy):
        r = 5 if k == len(xy) - 1 else 3
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{r}" fill="{LINE}"/>')


def _line(parts: list[str], xy: list[tuple[float, float]], stepped: bool) -> None:
    if len(xy) > 1:
        if stepped:  # a mean holds until the next observation changes it
            path = f"M{xy[0][0]:.1f} {xy[0][1]:.1f}" + "".join(f" H{px:.1f} V{py:.1f}" for px, py in xy[1:])
        else:
            path = "M" + " L".join(f"{px:.1f} {py:.1f}" for px, py in xy)
        parts.append(f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="2.5" stroke-linejoin="round"/>')


# The share of the plot the panel of terms takes, when a chart has one.
TERMS_SHARE = 0.5
HEADING = 16  # room above the plot for the panels' headings


def _svg(points: list[tuple[float, float]], baseline: float | None, size: str, label: str, stepped: bool,
         shown: str = "", terms: dict | None = None, latest: str = "") -> str:
    """The chart itself: ratings (steps 0-4) up, time along; ``points`` are
    (days, step), oldest first. With ``terms`` (rating_summary's periods, each
    with a ``value`` and for a target its ``low`` and ``high``) the plot has
    two panels: each term on the left (a square at its value, a bar from its
    lowest to its highest rating), ``points`` on the right under ``latest``."""
    width, height = SIZES[size]
    top = TOP + (HEADING if terms else 0)
    x0, x1, y0, y1 = LEFT, width - RIGHT, top, height - BOTTOM
    steps = len(RATINGS) - 1

    def y(value: float) -> float:
        return y1 - 6 - (value / steps) * (y1 - y0 - 12)

    parts = [f'<svg class="chart-svg{shown}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(label)}" focusable="false" font-size="{FONT}">',
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for i, rating in enumerate(RATINGS):
        gy = y(i)
        parts.append(f'<line x1="{x0}" x2="{x1}" y1="{gy:.1f}" y2="{gy:.1f}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{x0 - 6}" y="{gy + 4:.1f}" text-anchor="end" fill="{LABEL}">'
                     f'{escape(WORDS["ratings"][rating])}</text>')
    parts.append(f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" stroke="{AXIS}" stroke-width="1"/>')
    parts.append(f'<line x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}" stroke="{AXIS}" stroke-width="1"/>')
    if baseline is not None:
        parts.append(f'<line class="baseline" x1="{x0}" x2="{x1}" y1="{y(baseline):.1f}" y2="{y(baseline):.1f}" '
                     f'stroke="{AXIS}" stroke-width="1.5" stroke-dasharray="5 4"/>')
    if not points and not terms:
        parts.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{(y0 + y1) / 2 + 4:.1f}" text-anchor="middle" '
                     f'fill="{LABEL}">Not observed yet</text></svg>')
        return "".join(parts)
    if not terms:
        _plot(parts, points, x0 + 8, x1 - 8, y, y1, stepped)
        parts.append("</svg>")
        return "".join(parts)
    split = x0 + (x1 - x0) * TERMS_SHARE
    a, b = x0 + 8, split - 8
    parts.append(f'<line x1="{split:.1f}" x2="{split:.1f}" y1="{TOP}" y2="{y1 + 34}" stroke="{AXIS}" '
                 'stroke-width="1" stroke-dasharray="2 3"/>')
    heading = {"term": "Each term", "year": "Each year"}.get(terms["unit"], "By years")
    parts.append(f'<text x="{a:.1f}" y="{TOP + 10}" fill="{LABEL}">{heading}</text>')
    parts.append(f'<text x="{split + 8:.1f}" y="{TOP + 10}" fill="{LABEL}">{escape(latest)}</text>')
    slot_w = (b - a) / max(terms["slots"], 1)

    def sx(slot: int) -> float:
        return a + (slot + 0.5) * slot_w

    for slot, words, year in _slot_ticks(terms, b - a):
        tx = sx(slot)
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y1}" y2="{y1 + 4}" stroke="{AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{tx:.1f}" y="{y1 + 16}" text-anchor="middle" fill="{LABEL}">{words}</text>')
        if year:
            parts.append(f'<text x="{tx:.1f}" y="{y1 + 30}" text-anchor="middle" fill="{LABEL}">{year}</text>')
    bar = max(3.0, min(8.0, slot_w * 0.45))
    for p in terms["periods"]:
        if p.get("low") is not None and p["high"] > p["low"]:
            parts.append(f'<rect class="term-range" x="{sx(p["slot"]) - bar / 2:.1f}" y="{y(p["high"]):.1f}" '
                         f'width="{bar:.1f}" height="{y(p["low"]) - y(p["high"]):.1f}" rx="{bar / 2:.1f}" '
                         f'fill="{LINE}" fill-opacity="0.3"/>')
    xy = [(sx(p["slot"]), y(p["value"])) for p in terms["periods"]]
    _line(parts, xy, stepped)
    for px, py in xy:
        parts.append(f'<rect class="term-end" x="{px - 3.5:.1f}" y="{py - 3.5:.1f}" width="7" height="7" fill="{LINE}"/>')
    if points:
        _plot(parts, points, split + 14, x1 - 8, y, y1, stepped)
    parts.append("</svg>")
    return "".join(parts)


def _drawn(points: list[tuple[float, float]], baseline: float | None, size: str, label: str, stepped: bool,
           **panels) -> str:
    if size == "card":
        return _svg(points, baseline, "card", label, stepped, **panels)
    return (_svg(points, baseline, size, label, stepped, " chart-wide", **panels)
            + _svg(points, baseline, "card", label, stepped, " chart-narrow", **panels))


def _figure(chart_id: str, svg: str, caption: str, head: tuple[str, ...], rows: list[tuple], table: str,
            table_caption: str, count: str | None = None) -> Markup:
    """The chart with its caption and its points as a table: in a <details>
    everyone can open, or (``table="hidden"``, where space is short) for
    screen readers only. ``count`` says what the table holds (its rows as points)."""
    cells = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    heads = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    grid = (f'<table class="chart-table"><caption>{escape(table_caption)}</caption><thead><tr>{heads}</tr></thead>'
            f"<tbody>{cells}</tbody></table>")
    count = count or f'{len(rows)} point{"s" if len(rows) != 1 else ""}'
    if not rows:
        data = ""
    elif table == "details":
        data = (f'<details class="chart-data" id="{chart_id}-data"><summary>The chart as a table '
                f'({escape(count)})</summary>{grid}</details>')
    else:
        data = f'<div class="visually-hidden" id="{chart_id}-data">{grid}</div>'
    return Markup(f'<figure class="chart" id="{chart_id}">{svg}<figcaption class="chart-caption">{escape(caption)}'
                  f'</figcaption>{data}</figure>')


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def rating_chart(points: list, baseline: str | None, title: str, chart_id: str, size: str = "card",
                 table: str = "hidden", terms: dict | None = None) -> Markup:
    """A target's ratings over time: rating words up the side, dates along the
    bottom, a dot per observation (the latest larger), the baseline dashed,
    and the same points as a table. ``points`` are (observed_at, rating) of
    the live observations, oldest first: all of them, or (rating_summary.charts)
    the last few, with the ``terms`` (rating_summary.periods) of all of them
    drawn in a panel of their own, so the chart stays the same size however
    long the record."""
    points = [(p["observed_at"], p["rating"]) if isinstance(p, dict) else tuple(p) for p in points]
    title = title.rstrip(". ")
    words = WORDS["ratings"]
    periods = (terms or {}).get("periods") or []
    n = len(points)
    base = float(RATINGS.index(baseline)) if baseline else None
    if periods:
        total = sum(p["observations"] for p in periods)
        first, last = periods[0], periods[-1]
        summary = (f"{total} observations from {day(first['first_at'])} to {day(last['last_at'])}. "
                   f"Each {'term' if terms['unit'] == 'term' else 'year'}, on the left, from {first['label']} "
                   f"({words[first['latest']]} at its end) to {last['label']} ({words[last['latest']]}); "
                   f"on the right the last {n}, from {day(points[0][0])} to {day(points[-1][0])}: "
                   f"latest {words[points[-1][1]]}")
    elif n:
        summary = (f"{n} observation{'s' if n != 1 else ''} from {day(points[0][0])} to "
                   f"{day(points[-1][0])}: first {words[points[0][1]]}, latest {words[points[-1][1]]}")
    else:
        summary = "not observed yet"
    if baseline:
        summary += f"; baseline {words[baseline]}"
    drawn = [{**p, "value": float(RATINGS.index(p["latest"])), "low": float(RATINGS.index(p["lowest"])),
              "high": float(RATINGS.index(p["highest"]))} for p in periods]
    svg = _drawn([(_when(w), float(RATINGS.index(r))) for w, r in points], base, size, f"{title}: {summary}",
                 stepped=False, terms={**terms, "periods": drawn} if periods else None, latest=f"Last {n}")
    rows = [(f"{day(w)}, {w[11:16]}", words[r]) for w, r in points]
    if not periods:
        caption = "Ratings over time" + (f" (dashed line: the baseline, {words[baseline]})" if baseline else "")
        return _figure(chart_id, svg, caption, ("When", "Rating"), rows, table, f"{title}: each observation that counts")
    unit = "term" if terms["unit"] == "term" else "year"
    caption = (f"Each {unit}: the rating at its end (square) and its range (bar). The last {n} ratings: dots."
               + (f" Dashed line: the baseline, {words[baseline]}." if baseline else ""))
    rows = [(f"{p['label']} ({_plural(p['observations'], 'observation')})", rating_summary.rating_range_words(p))
            for p in periods] + rows
    return _figure(chart_id, svg, caption, ("When", "Rating"), rows, table,
                   f"{title}: each {unit}, then the last {n} observations that count",
                   count=f"{_plural(len(periods), unit)} and the last {_plural(n, 'observation')}")


def outcome_chart(targets: list[dict], title: str, chart_id: str, size: str = "card", table: str = "details") -> Markup:
    """An EHCP outcome's progress: the mean rating of its targets over time
    (measures.mean_rating_over_time), drawn as steps (a mean holds until the
    next observation moves it), with their mean baseline dashed. ``targets``
    are the outcome's targets as on the learner page (``points``, ``before``,
    ``terms``: rating_summary.charts); once one of them has more than a few
    ratings, the mean at the end of each term is drawn in a panel of its own
    and the days only where every target's rating is known from its points
    (rating_summary.outcome_progress)."""
    progress = rating_summary.outcome_progress(targets)
    series, terms = progress["days"], progress["terms"]
    if not series and not terms:
        return Markup("")  # each target's card already says "not yet observed"
    title = title.rstrip(". ")
    baselines = [RATINGS.index(t["baseline"]) for t in targets if t.get("baseline")]
    base = sum(baselines) / len(baselines) if baselines else None
    n = len(targets)
    of = f"its {n} target{'s' if n != 1 else ''}"
    periods = terms["periods"] if terms else []
    start = (periods[0]["label"], periods[0]["mean"]) if periods else (day(series[0][0]), series[0][1])
    end = (day(series[-1][0]), series[-1][1]) if series else (periods[-1]["label"], periods[-1]["mean"])
    summary = (f"mean rating of {of}, from {_rating_of(round(start[1], 1))} in {start[0]} "
               f"to {_rating_of(round(end[1], 1))} on {end[0]}") if periods else (
        f"mean rating of {of}, from {_rating_of(round(series[0][1], 1))} on {day(series[0][0])} "
        f"to {_rating_of(round(series[-1][1], 1))} on {day(series[-1][0])}")
    if base is not None:
        summary += f"; mean baseline {_rating_of(round(base, 1))}"
    drawn = [{**p, "value": p["mean"]} for p in periods]
    svg = _drawn([(_when(d), v) for d, v, _ in series], base, size, f"{title}: {summary}", stepped=True,
                 terms={**terms, "periods": drawn} if periods else None, latest="Latest days")
    rows = [(day(d), f"{v:.1f}: {_rating_of(round(v, 1))}", str(k)) for d, v, k in series]
    head = ("Day", "Mean rating (0 not yet to 4 generalised)", "Targets observed")
    if not periods:
        caption = f"Mean rating of {of} over time" + (" (dashed line: their mean baseline)" if base is not None else "")
        return _figure(chart_id, svg, caption, head, rows, table,
                       f"{title}: mean rating at the end of each day a target was observed")
    unit = "term" if terms["unit"] == "term" else "year"
    caption = (f"Mean rating of {of}: at the end of each {unit}, then on each of the latest days one was observed"
               + (". Dashed line: their mean baseline" if base is not None else ""))
    rows = [(p["label"], f"{p['mean']:.1f}: {_rating_of(round(p['mean'], 1))}", str(p["targets"]))
            for p in periods] + rows
    return _figure(chart_id, svg, caption, ("When",) + head[1:], rows, table,
                   f"{title}: mean rating at the end of each {unit}, then at the end of each of the latest days "
                   "a target was observed",
                   count=f"{_plural(len(periods), unit)} and {_plural(len(series), 'day')}")

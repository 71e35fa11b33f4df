"""The SEND lead's cohort: counts of learners, reviews, targets, EHCP outcomes
(by PfA area and distance travelled, with a chart) and destinations, each in
words; from each count, the learners behind it; and the counts as a CSV meant
to leave the college, with small numbers suppressed.

A SEND lead sees their provider's cohort, an auditor everyone's (every view
logged, by login_required); nobody else has a cohort. The counts and the
lists come from rarpa.read.queries, which states each count's condition once."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

from flask import Blueprint, Response, g, render_template, request

from events.vocabulary import WORDS
from rarpa.read import cohort as counts_of
from web.auth import client_address, login_required
from web.cohort_chart import distance_chart
from web.common import services
from web.downloads import content_disposition

cohort = Blueprint("cohort", __name__)

# Small-number suppression in what leaves the college: a count of 1 to
# SUPPRESS_BELOW - 1 could identify a young person, so it is shown as "<5".
# 0 says nothing about anyone and stays 0.
SUPPRESS_BELOW = 5


def suppressed(count: int) -> str:
    return f"<{SUPPRESS_BELOW}" if 0 < count < SUPPRESS_BELOW else str(count)


def _today() -> date:
    return datetime.now(timezone.utc).date()


def unit_words(unit: str, n: int) -> str:
    """3 targets, 1 EHCP outcome."""
    return f"{n} {WORDS['cohort_unit' if n == 1 else 'cohort_units'][unit]}"


def _layout(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The page's sections in order: counts grouped by measure, except the EHCP
    outcomes, which are one table of PfA areas (rows) by distance travelled
    (columns), with the chart; and the distance bands' words."""
    sections: list[dict] = []
    areas: dict[str, dict] = {}
    for r in rows:
        if r["unit"] == "outcomes":
            if not areas:
                sections.append({"kind": "outcomes", "areas": areas})
            if r["measure"] == "outcomes by PfA area":
                areas[r["area"]] = {"row": r, "bands": []}
            else:
                areas[r["area"]]["bands"].append(r)
        else:
            same = next((s for s in sections if s.get("heading") == r["heading"]), None)
            if same:
                same["rows"].append(r)
            else:
                sections.append({"kind": "counts", "heading": r["heading"], "rows": [r]})
    for s in sections:
        if s["kind"] == "outcomes":
            s["areas"] = list(s["areas"].values())
    bands = [b["label"] for b in next(iter(areas.values()))["bands"]] if areas else []
    return sections, bands


@cohort.get("/cohort")
@login_required
def cohort_page():
    today = _today()
    conn = services().fresh()
    counts = counts_of.cohort(conn, g.actor, today)
    sections, bands = _layout(counts["rows"])
    by_area = counts_of.cohort_distance_by_area(conn, g.actor, today)
    return render_template("cohort.html", counts=counts, today=today, sections=sections, bands=bands, chart=distance_chart(by_area), suppress_below=SUPPRESS_BELOW,
                           unit_words=unit_words)


@cohort.get("/cohort/<key>")
@login_required
def cohort_learners(key):
    today = _today()
    behind = counts_of.cohort_learners(services().fresh(), g.actor, today, key)
    # A list of named learners: logged for every role, before it is shown.
    services().app.log_view(g.actor, None, "cohort list", address=client_address(),
                            detail=request.full_path.rstrip("?"))
    return render_template("cohort_learners.html", d=behind, today=today, unit_words=unit_words)


@cohort.get("/cohort.csv")
@login_required
def cohort_csv():
    today = _today()
    counts = counts_of.cohort(services().fresh(), g.actor, today)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Measure", "Group", "Count"])
    first = {}  # each measure's rows together, in the page's order
    for i, row in enumerate(counts["rows"]):
        first.setdefault(row["heading"], i)
    for row in sorted(counts["rows"], key=lambda r: first[r["heading"]]):
        writer.writerow([row["heading"], row["label"], suppressed(row["count"])])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": content_disposition("attachment", f"cohort-{counts['scope']}-{today}.csv")})

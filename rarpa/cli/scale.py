"""`rarpa demo --scale N`: N learners, each with years of history (five by
default), at the rates of the demo, for the scale run and store migrations.

Like the demo, every change goes through the record's own commands (so every
rule applies) with the record's clock set to when it happened, as an import
from another system would. Unlike the demo, a learner's aggregate is built in
memory and saved in a few transactions (one before each annual review, which
names the record's fingerprint as it then stood, and one at the end), with the
observation-id claims in the same transactions; staff caseloads follow, oldest
change first. Ids, names and every choice come from the seed, and every date
from ``today`` (the day the history ends): the same seed and day give the same
record.

The rates are the demo's, measured on ``load_demo``'s output (14 learners, a
year each; ``DEMO_RATES`` per learner per year) and put in term time, since the
demo's year has no holidays: its 216 observations a learner-year make 5.8 a
week of term, shared among the learner's open targets (with the demo's nine,
each is observed every week or two, as there); corrections and withdrawals one
in 216 observations each, a tenth recorded offline; reviews each term; the
demo's shares of consents, dual placements, support assistants and leavers.
What one year cannot show is set as a college would over five: a target that
has reached "generalised" is closed as achieved at the next progress review
and a new one set for the same outcome; an outcome whose targets are all done
is put forward as achieved at the annual review and a new one agreed; an
outcome falling due is extended; each September a new tutor and aim. Ratings
move as in the demo, so a target takes about a year to achieve.
"""

from __future__ import annotations

import heapq
import math
import os
import random
import secrets
import time as timer
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from events.base import clock
from events.vocabulary import CONTEXTS, OUTCOME_JUDGEMENTS, PROMPT_LEVELS, RATINGS, WORDS
from rarpa.cli import scale_content as words
from rarpa.cli.demo_content import CONTEXT_NOTES, OUTCOMES, PROMPT_NOTES, SELF_WORDS, UNPLANNED
from rarpa.record import NAMESPACE, Learner, ObservationIdClaim, Provider, User, id_source, user_id
from rarpa.service.access import system_actor
from rarpa.service.people import check_password

# Per learner per year in the demo (load_demo, 14 learners, 365 days each):
# 3,025 observations (and as many claims), 125 targets with baselines, 55
# outcomes, 39 progress reviews, 28 target revisions (14 at a review, 14
# renegotiated), 28 self-assessments, 14 targets closed, 14 corrections, 14
# withdrawals, 10 annual reviews, 6 consents, 5 unplanned outcomes, one
# leaver (summative assessments, next step, destination), one dual placement,
# 17 caseload places. tests/test_demo_scale.py checks these still describe the demo.
DEMO_RATES = {
    "observations": 216.0,
    "targets_at_start": 8.9,
    "outcomes_at_start": 3.9,
    "progress_reviews": 2.8,
    "revisions": 2.0,
    "self_assessments": 2.0,
    "corrections": 1.0,
    "withdrawals": 1.0,
    "consents": 0.43,
    "unplanned": 0.36,
}
# Term time: 36 to 38 weeks a year (three terms, each with a half-term week: Calendar).
TERM_WEEKS = 37
# Observations of a learner in a week of term: the demo's year of them in term time.
OBSERVED_A_TERM_WEEK = DEMO_RATES["observations"] / TERM_WEEKS
# Shares of observations put right later (the demo's one each per learner-year).
CORRECTED = DEMO_RATES["corrections"] / DEMO_RATES["observations"]
WITHDRAWN = DEMO_RATES["withdrawals"] / DEMO_RATES["observations"]
OFFLINE = 0.1  # recorded on a tablet without wifi, sent 2 to 20 hours later (as in the demo)
SUPPORTED = 0.3  # learners with a support assistant in a year (4 of the demo's 14)
DUAL_PLACEMENTS = 1 / 14  # learners also at a partner provider (the demo's Amir)
LEAVERS = 1 / 14  # learners who finish with a destination (the demo's Ellis)
ACHIEVED_PER_OUTCOME = 4  # targets achieved before an outcome is put forward as achieved
LEARNERS_PER_TUTOR = 10
LEARNERS_PER_SUPPORT = 8  # of those supported
LEARNERS_PER_PROVIDER = 250
MAX_YEARS = 9  # 16 at the start, at most 25 at the end

DEMO_PASSWORD_ENV = "RARPA_DEMO_PASSWORD"
SCALE_DOMAIN = "scale.example.org"


class Refused(Exception):
    """A reason not to generate anything, in one line for the operator."""


# --- the academic calendar --------------------------------------------------------------------
def _monday_on_or_after(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7)


def _terms(year: int) -> list[tuple[date, date, date]]:
    """The three terms of the academic year starting in September of ``year``:
    (first day, last day, the Monday of the half-term week)."""
    return [
        (_monday_on_or_after(date(year, 9, 4)), date(year, 12, 19), _monday_on_or_after(date(year, 10, 23))),
        (_monday_on_or_after(date(year + 1, 1, 5)), date(year + 1, 3, 27), _monday_on_or_after(date(year + 1, 2, 12))),
        (_monday_on_or_after(date(year + 1, 4, 14)), date(year + 1, 7, 17), _monday_on_or_after(date(year + 1, 5, 25))),
    ]


class Calendar:
    """Term days (weekdays in term, not in a half-term week) between two dates."""

    def __init__(self, first: date, last: date):
        self.terms = [t for y in range(first.year - 1, last.year + 1) for t in _terms(y)
                      if t[1] >= first and t[0] <= last]
        self.days: set[date] = set()
        for start, end, half in self.terms:
            d = start
            while d <= end:
                if d.weekday() < 5 and not half <= d < half + timedelta(days=7):
                    self.days.add(d)
                d += timedelta(days=1)

    def term_days(self, first: date, last: date) -> list[date]:
        return [first + timedelta(days=k) for k in range((last - first).days + 1)
                if first + timedelta(days=k) in self.days]

    def end_of_next_term(self, d: date) -> date:
        """When the next termly review is due: the end of the term after ``d``'s."""
        return next((end for start, end, _ in self.terms if start > d), d + timedelta(weeks=13))

    def on_or_after(self, d: date) -> date:
        for _ in range(120):
            if d in self.days:
                return d
            d += timedelta(days=1)
        return d


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


def _stamp(email: str, role: str, provider: str) -> dict:
    return {"recorded_by": str(user_id(email)), "role": role, "provider": provider}


def scale_learner_id(seed: str, i: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"scale-learner:{seed}:{i}")


# --- who and where ----------------------------------------------------------------------------
@dataclass
class Place:
    slug: str
    name: str
    specialist: bool
    lead: str = ""
    tutors: list[str] = field(default_factory=list)
    support: list[str] = field(default_factory=list)
    learners: list[int] = field(default_factory=list)


@dataclass
class World:
    """Everything shared by the learners of one run."""

    seed: str
    years: int
    today: date
    cutoff: datetime  # nothing is recorded after this moment
    start: date  # the history begins about here
    places: list[Place]
    learner_place: list[int]
    calendar: Calendar
    staff: dict[str, tuple[str, str | None, str]]  # email -> role, provider, display name
    caseload: list[tuple[datetime, int, str, str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def plan_world(n: int, years: int, seed: str, today: date, now: datetime) -> World:
    """Providers (general FE colleges and specialist colleges), their staff, and
    which provider each learner is enrolled at."""
    rng = random.Random(f"rarpa-scale-world:{seed}")
    n_places = max(2, math.ceil(n / LEARNERS_PER_PROVIDER))
    towns = words.TOWNS[:]
    rng.shuffle(towns)
    places = []
    for k in range(n_places):
        town = towns[k % len(towns)] + (f" {k // len(towns) + 1}" if k >= len(towns) else "")
        specialist = k % 3 == 1  # one in three (the second of two, as in the demo), smaller
        slug = town.lower().replace(" ", "-") + ("-specialist" if specialist else "")
        places.append(Place(slug, f"{town} {'Specialist College' if specialist else 'College'}", specialist))
    weights = [1 if p.specialist else 3 for p in places]
    learner_place = []
    for i in range(n):
        k = i if i < n_places else rng.choices(range(n_places), weights)[0]  # each has at least one
        learner_place.append(k)
        places[k].learners.append(i)
    staff: dict[str, tuple[str, str | None, str]] = {}
    used_names: set[str] = set()

    def person() -> str:
        for _ in range(50):
            name = f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.SURNAMES)}"
            if name not in used_names:
                break
        used_names.add(name)
        return name

    for p in places:
        host = f"{p.slug}.{SCALE_DOMAIN}"
        p.lead = f"lead@{host}"
        staff[p.lead] = ("send_lead", p.slug, person())
        for k in range(max(1, math.ceil(len(p.learners) / LEARNERS_PER_TUTOR))):
            p.tutors.append(f"tutor{k + 1}@{host}")
            staff[p.tutors[-1]] = ("tutor", p.slug, person())
        for k in range(max(1, math.ceil(len(p.learners) * SUPPORTED / LEARNERS_PER_SUPPORT))):
            p.support.append(f"support{k + 1}@{host}")
            staff[p.support[-1]] = ("support", p.slug, person())
    staff[f"auditor@{SCALE_DOMAIN}"] = ("auditor", None, person())
    staff[f"admin@{SCALE_DOMAIN}"] = ("admin", None, person())
    start = today - timedelta(days=365 * years)
    cutoff = min(now - timedelta(minutes=5), _at(today, 18))
    if cutoff.date() < today:  # just after midnight: nothing today yet
        cutoff = _at(today, 0)
    calendar = Calendar(start - timedelta(days=30), today + timedelta(days=400))
    return World(seed, years, today, cutoff, start, places, learner_place, calendar, staff)


# --- one learner's years ----------------------------------------------------------------------
@dataclass
class _Goal:
    """What the generator knows of an outcome: its wording and the targets it has had."""

    id: str
    area: str
    specs: list[tuple[str, str]]
    used: set[str] = field(default_factory=set)
    achieved: int = 0
    done: bool = False  # recommended as achieved at an annual review


@dataclass
class _Aim:
    """A target's progress as the generator plays it (the record holds the rest)."""

    id: str
    goal: _Goal
    step: int
    prompt: int
    opened: date
    at_top: int = 0


class _Batch:
    """Events to save together, handed to the application's ``save`` as one
    thing with events to collect (the library's CollectEventsProtocol): checked
    once rather than once per event, and not an aggregate the application would
    load back from the store to snapshot (``LearnerYears.snapshot`` does that
    from memory)."""

    def __init__(self, events: list):
        self.id = uuid.uuid4()
        self.events = events

    def collect_events(self) -> list:
        return self.events


class LearnerYears:
    """Builds one learner's record over the years, event by event in the order
    they were recorded, and saves it in a few transactions."""

    def __init__(self, app, world: World, i: int):
        self.app, self.world, self.i = app, world, i
        self.rng = random.Random(f"rarpa-scale:{world.seed}:{i}")
        self.ids = random.Random(f"rarpa-scale-ids:{world.seed}:{i}")
        self.id = scale_learner_id(world.seed, i)
        self.place = world.places[world.learner_place[i]]
        self.j = self.place.learners.index(i)  # the learner's place in the provider's class lists
        self.cal = world.calendar
        self.queue: list = []
        self.seq = 0
        self.claims: list = []
        self.snapshots: list = []  # sealed, waiting for their events to be saved
        self.snapped = 0
        self.every = app.snapshotting_intervals.get(Learner) if app.snapshots else None
        self.targets: list[_Aim] = []
        self.goals: dict[str, _Goal] = {}
        self.left = False
        self.partner: Place | None = None
        self.lead = _stamp(self.place.lead, "send_lead", self.place.slug)
        self.moment = _at(world.start, 9)

    # The clock the record reads while this learner is written.
    def __call__(self) -> datetime:
        return self.moment

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)

    def push(self, moment: datetime, what: str, *data) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (moment, self.seq, what, data))

    # --- the plan of the years -----------------------------------------------------------
    def write(self) -> int:
        w, rng = self.world, self.rng
        first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.SURNAMES)
        preferred = words.SHORT_NAMES.get(first, first) if rng.random() < 0.15 else first
        self.enrolled = self.cal.on_or_after(w.start + timedelta(days=rng.randint(0, 20)))
        dob = self.enrolled - timedelta(days=rng.randint(16 * 365 + 30, 19 * 365 + 300))
        self.moment = _at(self.enrolled, 9, rng.randint(0, 59))
        with clock(self), id_source(self.new_uuid):
            self.learner = Learner.enrol(stamp=self.lead, name=f"{first} {last}", preferred_name=preferred,
                                         date_of_birth=dob.isoformat(), lead_provider=self.place.slug,
                                         learner_id=self.id)
            self.name = preferred
            self._schedule()
            self._run()
            self.save()
        self.world.count("learners")
        return self.learner.version

    def _schedule(self) -> None:
        w, rng, cal = self.world, self.rng, self.cal
        day0 = self.enrolled
        self.push(_at(day0 + timedelta(days=1), 10), "plan")
        if rng.random() < DUAL_PLACEMENTS and len(w.places) > 1:
            partners = [p for p in w.places if p.specialist != self.place.specialist] or \
                       [p for p in w.places if p is not self.place]
            self.partner = rng.choice(partners)
            self.push(_at(day0 + timedelta(days=1), 9), "partner")
        consent = rng.random()
        if consent < 0.4:
            self.push(_at(cal.on_or_after(day0 + timedelta(days=rng.randint(1, 10))), 11), "consent",
                      consent >= 0.2)
            if rng.random() < 0.12:  # a change of mind, years later
                self.push(_at(cal.on_or_after(day0 + timedelta(days=rng.randint(200, 365 * w.years - 30))), 11),
                          "consent", consent < 0.2)
        # A year's class lists, the aim agreed for the year, and its termly reviews.
        year_no = 0
        for start, end, _half in cal.terms:
            if start.month == 9 and start > day0:
                year_no += 1
                self.push(_at(start, 8, 30), "year", year_no)
            if end < day0 + timedelta(days=42):
                continue
            days = cal.term_days(max(end - timedelta(days=20), day0 + timedelta(days=42)), end)
            if days:
                self.push(_at(rng.choice(days), 14, rng.choice((0, 15, 30))), "review", start.month == 9)
            if start.month == 1:  # spring: a renegotiated target, the learner's own view
                days = cal.term_days(max(start, day0 + timedelta(days=42)), end)
                if days:
                    self.push(_at(rng.choice(days), 11), "renegotiate")
                    self.push(_at(rng.choice(days), 12, 10), "self")
            if start.month == 4 and rng.random() < DEMO_RATES["unplanned"]:
                days = cal.term_days(max(start, day0 + timedelta(days=42)), end)
                if days:
                    self.push(_at(rng.choice(days), 13), "unplanned")
        # Annual reviews a year apart; for about a third the next one falls due about now.
        due = w.today + timedelta(days=rng.randint(-10, 30) if rng.random() < 0.3 else rng.randint(60, 330))
        k = 1
        while (held := due - timedelta(days=365 * k)) >= day0 + timedelta(days=150):
            self.push(_at(cal.on_or_after(held), 15), "annual")
            k += 1
        if rng.random() < LEAVERS:
            julys = [end for start, end, _ in cal.terms
                     if end.month == 7 and day0 + timedelta(days=365) <= end and _at(end, 16) < w.cutoff]
            if julys and rng.random() < 0.5:  # left last summer; followed up two terms on
                self.push(_at(julys[-1], 15), "leave", julys[-1])
            elif w.cutoff.date() - day0 > timedelta(days=300):
                day = w.cutoff.date() - timedelta(days=rng.randint(1, 10))
                while day.weekday() > 4:
                    day -= timedelta(days=1)
                self.push(_at(day, 15), "leave", None)

    def _run(self) -> None:
        """Week by week: this week's observations of the targets open now, then
        everything of the week in the order it was recorded."""
        w, rng = self.world, self.rng
        first_obs = self.enrolled + timedelta(days=rng.randint(10, 20))
        week = self.enrolled - timedelta(days=self.enrolled.weekday())
        self.year_no = 0
        self.staff_for_year(0)
        while week <= w.cutoff.date():
            following = week + timedelta(days=7)
            if not self.left:
                days = self.cal.term_days(max(week, first_obs), week + timedelta(days=4))
                aims = self.open_targets() if days else []
                # Each open target has its share of the week's observations (with
                # the demo's nine, one every week or two, as there).
                chance = min(0.9, OBSERVED_A_TERM_WEEK / 5 / len(aims)) if aims else 0
                for day in days:
                    for aim in aims:
                        if rng.random() >= chance:
                            continue
                        seen = _at(day, rng.randint(9, 15), rng.randint(0, 59))
                        sent = seen + (timedelta(hours=rng.randint(2, 20)) if rng.random() < OFFLINE
                                       else timedelta(minutes=rng.randint(1, 40)))
                        self.push(sent, "observe", seen, aim)
            end = _at(following, 0)
            while self.queue and self.queue[0][0] < end:
                moment, _, what, data = heapq.heappop(self.queue)
                if moment > w.cutoff:
                    continue  # not recorded yet
                if self.left and what in ("observe", "review", "renegotiate", "self", "unplanned", "annual", "year"):
                    continue
                self.moment = moment
                getattr(self, f"on_{what}")(*data)
                if self.every and self.learner.version // self.every > self.snapped // self.every:
                    self.snapshot()
            week = following

    # --- saving ------------------------------------------------------------------------------
    def snapshot(self) -> None:
        """A snapshot every hundred events (the application's interval), as it takes them when
        saving, but taken from the aggregate in memory rather than by loading it
        back (after a review that crossed the hundred, at its last event); sealed
        now, stored once the events it stands for are (``save``). `rarpa
        verify` checks each one against replaying the events."""
        snapshot = type(self.learner).Snapshot.take(self.learner)
        self.snapshots.append(self.app.snapshots.mapper.to_stored_event(snapshot))
        self.snapped = self.learner.version

    def save(self) -> None:
        """The learner's new events and their observation-id claims in one
        transaction, then the snapshots taken meanwhile."""
        events = self.learner.collect_events()
        for claim in self.claims:
            events += claim.collect_events()
        self.app.save(_Batch(events))
        self.claims = []
        if self.snapshots:
            self.app.snapshots.recorder.insert_events(self.snapshots)
            self.snapshots = []

    # --- people --------------------------------------------------------------------------
    def staff_for_year(self, year_no: int) -> None:
        """The tutor (and perhaps support assistant) this year, on their caseloads."""
        p, rng = self.place, self.rng
        j = self.j
        old = [e for e in (getattr(self, "tutor_email", None), getattr(self, "support_email", None)) if e]
        self.tutor_email = p.tutors[(j // LEARNERS_PER_TUTOR + year_no) % len(p.tutors)]
        self.tutor = _stamp(self.tutor_email, "tutor", p.slug)
        supported = rng.random() < SUPPORTED
        self.support_email = p.support[(j + 3 * year_no) % len(p.support)] if supported else None
        self.support = _stamp(self.support_email, "support", p.slug) if supported else None
        new = [e for e in (self.tutor_email, self.support_email) if e]
        for email in old:
            if email not in new:
                self.caseload(email, "remove", "New academic year: moved to another class")
        for email in new:
            if email not in old:
                self.caseload(email, "add", "New academic year: class lists" if year_no else "Enrolled")

    def caseload(self, email: str, change: str, reason: str) -> None:
        w = self.world
        w.caseload.append((self.moment + timedelta(minutes=5), self.i, email, change, str(self.id), reason))

    # --- the plan: outcomes, targets and aims --------------------------------------------
    def on_plan(self) -> None:
        rng = self.rng
        areas = list(OUTCOMES)
        rng.shuffle(areas)
        for k in range(rng.choice((3, 4, 5))):
            self.new_outcome(areas[k % len(areas)], due=self.enrolled + timedelta(days=730),
                             count=rng.choice((2, 3)), note="Initial assessment in the first two weeks")
        self.agree_aim()

    def new_outcome(self, area: str | None, due: date, count: int, note: str) -> _Goal | None:
        rng = self.rng
        candidates = [(a, o) for a in ([area] if area else list(OUTCOMES)) for o in OUTCOMES[a]]
        ever = {g.specs[0][0] for g in self.goals.values()}
        now = {g.specs[0][0] for g in self.goals.values() if not g.done}
        # A wording not used before; after years, one done long ago may come back.
        options = [c for c in candidates if c[1][1][0][0] not in ever] or \
                  [c for c in candidates if c[1][1][0][0] not in now]
        if not options:
            return None
        area, (text, specs) = rng.choice(options)
        oid = self.learner.record_outcome(stamp=self.lead, text=text.format(name=self.name), pfa_area=area,
                                          due=due.isoformat())
        goal = self.goals[oid] = _Goal(oid, area, list(specs))
        self.world.count("outcomes")
        for _ in range(count):
            self.new_target(goal, note)
        return goal

    def target_wording(self, goal: _Goal) -> tuple[str, str] | None:
        for text, criteria in goal.specs:
            if text not in goal.used:
                return text, criteria
        for setting in words.NEW_SETTINGS:
            for text, criteria in goal.specs:
                if f"{text} {setting}" not in goal.used:
                    return f"{text} {setting}", criteria
        return None

    def new_target(self, goal: _Goal, note: str, review_by: date | None = None) -> None:
        wording = self.target_wording(goal)
        if wording is None:
            return
        goal.used.add(wording[0])
        baseline = self.rng.choice(RATINGS[:2])
        tid = self.learner.set_target(
            stamp=self.lead, text=wording[0], success_criteria=wording[1], outcome_ids=[goal.id],
            baseline=baseline,
            review_by=review_by or self.moment.date() + timedelta(days=self.rng.choice((120, 180, 240))),
            baseline_note=note)
        self.targets.append(_Aim(tid, goal, RATINGS.index(baseline), self.rng.randint(0, 2), self.moment.date()))
        self.world.count("targets")

    def agree_aim(self) -> None:
        goals = [g for g in self.goals.values() if any(a.goal is g for a in self.open_targets())]
        areas = ", ".join(WORDS["areas"][a].lower() for a in sorted({g.area for g in goals}))
        year = f"Year {self.year_no + 1}: " if self.year_no else ""
        self.learner.agree_aim(stamp=self.lead, text=f"{year}{self.name}'s programme: {areas}",
                               outcome_ids=[g.id for g in goals])

    def open_targets(self) -> list[_Aim]:
        return [a for a in self.targets if self.learner.targets[a.id].status == "open"]

    def on_year(self, year_no: int) -> None:
        self.year_no = year_no
        self.staff_for_year(year_no)
        if self.open_targets():
            self.agree_aim()

    def on_partner(self) -> None:
        p = self.partner
        self.learner.join_provider(stamp=self.lead, provider=p.slug, lead=False,
                                   reason=f"Dual placement: two days a week at {p.name} for practical skills")
        self.learner.record_consent(stamp=self.lead, consent="sharing_with_partners", given=True,
                                    reason=f"The learner and family agreed {p.name} may see the record")
        j = self.i % len(p.tutors)
        self.partner_email = p.tutors[j]
        self.partner_stamp = _stamp(self.partner_email, "tutor", p.slug)
        self.caseload(self.partner_email, "add", "Dual placement")
        self.world.count("consents")

    def on_consent(self, given: bool) -> None:
        self.learner.record_consent(
            stamp=self.lead, consent="photographs", given=given,
            reason="The learner and family agreed to photographs of their work" if given
            else "The learner and family asked for no photographs")
        self.world.count("consents")

    # --- evidence ------------------------------------------------------------------------
    def on_observe(self, seen: datetime, aim: _Aim) -> None:
        learner, rng = self.learner, self.rng
        if learner.targets[aim.id].status != "open":
            return
        if rng.random() < 0.2 and aim.step < len(RATINGS) - 1:
            aim.step += 1
        elif rng.random() < 0.1 and aim.step > 0:
            aim.step -= 1  # a harder day: progress is not a straight line
        if rng.random() < 0.15 and aim.prompt < len(PROMPT_LEVELS) - 1:
            aim.prompt += 1
        aim.at_top = aim.at_top + 1 if aim.step == len(RATINGS) - 1 else 0
        context = rng.choices(CONTEXTS[:5], weights=(6, 2 if aim.goal.area == "employment" else 1, 2, 1, 1))[0]
        who = self.tutor
        if self.partner and rng.random() < 0.4:
            who, context = self.partner_stamp, rng.choice(("classroom", "work_placement"))
        elif self.support and rng.random() < 0.3:
            who = self.support
        prompt = PROMPT_LEVELS[aim.prompt]
        text = learner.targets[aim.id].text
        note = f"{text} {rng.choice(CONTEXT_NOTES[context])}; {PROMPT_NOTES[prompt]}."
        obs_id = str(self.new_uuid())
        learner.record_observation(stamp=who, observation_id=obs_id, target_id=aim.id, rating=RATINGS[aim.step],
                                   prompt_level=prompt, context=context, note=note, observed_at=seen,
                                   now=self.moment,
                                   new_to_learner=["people", "place"] if aim.step == len(RATINGS) - 1 else [])
        self.claims.append(ObservationIdClaim.claim(stamp=who, observation_id=obs_id, learner_id=str(self.id)))
        self.world.count("observations")
        chance = rng.random()
        if chance < CORRECTED:
            day = self.cal.on_or_after(self.moment.date() + timedelta(days=1))
            self.push(_at(day, rng.randint(9, 15), rng.randint(0, 59)), "correct", obs_id, aim.step)
        elif chance < CORRECTED + WITHDRAWN:
            self.push(self.moment + timedelta(minutes=rng.randint(1, 5)), "withdraw", obs_id, who)

    def on_correct(self, obs_id: str, step: int) -> None:
        seen = self.learner.observation(obs_id)
        if seen is None or seen.withdrawn:
            return
        rating = RATINGS[step - 1 if step else 1]
        if rating == seen.rating:
            rating = RATINGS[step + 1 if step < len(RATINGS) - 1 else step - 1]
        self.learner.correct_observation(
            stamp=self.tutor, observation_id=obs_id, rating=rating, now=self.moment,
            reason="Entered against the wrong rating on the tablet; corrected after checking the diary")
        self.world.count("corrections")

    def on_withdraw(self, obs_id: str, who: dict) -> None:
        seen = self.learner.observation(obs_id)
        if seen is None or seen.withdrawn:
            return
        self.learner.withdraw_observation(stamp=who, observation_id=obs_id,
                                          reason="Recorded for the wrong learner by mistake (undo)")
        self.world.count("withdrawals")

    def on_self(self) -> None:
        for aim in self.open_targets()[:2]:
            answer = "on_my_own" if aim.step >= 3 else self.rng.choice(("with_help", "not_yet", "with_help"))
            self.learner.record_self_assessment(stamp=self.tutor, target_id=aim.id, answer=answer,
                                                words=self.rng.choice(SELF_WORDS), assessed_at=self.moment,
                                                now=self.moment)
            self.world.count("self_assessments")

    def on_unplanned(self) -> None:
        text, area, ctx = self.rng.choice(UNPLANNED + words.UNPLANNED_EXTRA)
        self.learner.recognise_unplanned_outcome(stamp=self.tutor, text=text, pfa_area=area, context=ctx,
                                                 recognised_on=self.moment.date().isoformat())
        self.world.count("unplanned")

    # --- reviews -------------------------------------------------------------------------
    def on_renegotiate(self) -> None:
        for aim in reversed(self.open_targets()):
            text = self.learner.targets[aim.id].text
            if any(text.startswith(p) for p in words.SMALLER_STEPS) or aim.step >= 3:
                continue
            prefix = self.rng.choice(words.SMALLER_STEPS)
            self.learner.revise_target(stamp=self.lead, target_id=aim.id, kind="renegotiated",
                                       reason="Agreed with the learner: break it into a smaller step first",
                                       text=prefix + text[0].lower() + text[1:])
            self.world.count("revisions")
            return

    def on_review(self, first_of_year: bool) -> None:
        rng, held = self.rng, self.moment.date()
        open_now = self.open_targets()
        if not open_now:
            return
        decisions, closed = [], []
        revise = rng.choice(open_now) if first_of_year else None
        next_review = self.cal.end_of_next_term(held).isoformat()  # looked at again next term
        for aim in open_now:  # a review looks at every open target
            text = self.learner.targets[aim.id].text
            if aim.at_top >= 2 and rng.random() < 0.85 or aim.step == 3 and rng.random() < 0.15:
                decisions.append({"target_id": aim.id, "decision": "close", "closed_as": "achieved",
                                  "reason": f"Met the success criteria consistently since {self.moment:%B}"})
                closed.append(aim)
                aim.goal.achieved += 1
            elif held - aim.opened > timedelta(days=730) and aim.step <= 2 and rng.random() < 0.4:
                decisions.append({"target_id": aim.id, "decision": "close", "closed_as": "partly_achieved",
                                  "reason": "Two years on it: replaced by a smaller step, progress kept"})
                closed.append(aim)
            elif aim is revise and (setting := next((s for s in words.NEW_SETTINGS if s not in text), None)):
                decisions.append({"target_id": aim.id, "decision": "revise", "text": f"{text} {setting}",
                                  "reason": "Secure in class; next we check it holds somewhere new",
                                  "review_by": next_review})
                self.world.count("revisions")
            else:
                decisions.append({"target_id": aim.id, "decision": "keep", "review_by": next_review})
        self.learner.hold_progress_review(
            stamp=self.lead, held_on=held.isoformat(), learner_views=rng.choice(words.LEARNER_VIEWS),
            attendees=[self.name, "Parent/carer", "Tutor", "SEND lead"], decisions=decisions)
        self.world.count("progress_reviews")
        self.world.count("targets_closed", len(closed))
        for aim in closed:  # the next step for the same outcome, until it is done
            if aim.goal.achieved < ACHIEVED_PER_OUTCOME:
                self.new_target(aim.goal, f"Agreed at the progress review on {held.isoformat()}",
                                self.cal.end_of_next_term(held))

    def on_annual(self) -> None:
        held = self.moment.date()
        # Saved first, so the review can name the record's fingerprint as it stood.
        self.save()
        fingerprint = self.app.fingerprint(self.learner.id, self.learner.version)
        open_goals = {a.goal.id for a in self.open_targets()}
        recommendations, done, extend = [], [], []
        for oid, goal in self.goals.items():
            if goal.done:
                continue
            if oid not in open_goals:
                if goal.achieved:
                    recommendations.append({"outcome_id": oid, "recommendation": "achieved"})
                    done.append(goal)
            elif self.learner.outcomes[oid].due <= (held + timedelta(days=90)).isoformat():
                recommendations.append({"outcome_id": oid, "recommendation": "amend",
                                        "note": "Keep working towards it in the next phase"})
                extend.append(oid)
            else:
                recommendations.append({"outcome_id": oid, "recommendation": "continue"})
        self.learner.hold_annual_review(
            stamp=self.lead, held_on=held.isoformat(), period_from=(held - timedelta(days=365)).isoformat(),
            period_to=held.isoformat(), attendees=[self.name, "Parent/carer", "Local authority SEND officer",
                                                   "SEND lead"],
            learner_views=self.rng.choice(words.ANNUAL_VIEWS), recommendations=recommendations,
            fingerprint=fingerprint)
        self.world.count("annual_reviews")
        for oid in extend:
            o = self.learner.outcomes[oid]
            self.learner.amend_outcome(stamp=self.lead, outcome_id=oid, text=o.text, pfa_area=o.pfa_area,
                                       due=(held + timedelta(days=730)).isoformat(),
                                       reason="Extended to the end of the next phase at the annual review")
        for goal in done:  # the local authority agrees a new outcome in its place
            goal.done = True
            self.new_outcome(None, due=held + timedelta(days=730), count=self.rng.choice((2, 3)),
                             note=f"Agreed at the annual review on {held.isoformat()}")

    # --- the end of the programme ----------------------------------------------------------
    def on_leave(self, last_day: date | None) -> None:
        learner, rng, day = self.learner, self.rng, self.moment.date()
        for aim in self.open_targets():
            learner.record_summative_assessment(
                stamp=self.lead, target_id=aim.id, rating=RATINGS[aim.step], assessed_on=day.isoformat(),
                summary="Does this reliably with light prompting." if aim.step >= 3 else
                "Has made a start; the next provider will carry it on.")
        for oid, goal in list(self.goals.items()):
            judgement = OUTCOME_JUDGEMENTS[0 if goal.achieved >= 2 else 1 if goal.achieved else 2]
            learner.record_outcome_summative(stamp=self.lead, outcome_id=oid, judgement=judgement,
                                             summary="Judged at the end of the programme against the evidence",
                                             assessed_on=day.isoformat())
        kind, step, detail = rng.choice(words.NEXT_STEPS)
        learner.agree_next_step(stamp=self.lead, text=step, agreed_on=day.isoformat())
        starts = date(day.year, 9, 1) if day.month < 9 else day + timedelta(days=60)
        did = learner.record_destination(stamp=self.lead, kind=kind, detail=detail, starts_on=starts.isoformat())
        self.world.count("leavers")
        self.left = True
        if last_day is not None:  # left last summer: off the caseloads, followed up two terms on
            for email in (self.tutor_email, self.support_email, getattr(self, "partner_email", None)):
                if email:
                    self.caseload(email, "remove", "Left the programme")
            follow_up = date.fromisoformat(learner.destinations[did].follow_up_on)
            confirm = follow_up + timedelta(days=rng.randint(0, 21))
            if rng.random() < 0.75:
                self.push(_at(confirm, 10), "sustained", did)

    def on_sustained(self, did: str) -> None:
        self.learner.confirm_destination_sustained(
            stamp=self.lead, destination_id=did, confirmed_on=self.moment.date().isoformat(),
            note="Still there two terms on; the employer or provider confirmed by phone")
        self.world.count("sustained")


# --- the run ----------------------------------------------------------------------------------
def _staff(app, world: World, password: str) -> dict[str, User]:
    """Providers and staff, five years ago; one password for all (hashed once:
    each account still signs in by its own email)."""
    actor = system_actor("demo")
    moment = _at(world.start - timedelta(days=14), 9)
    password_hash = app.hasher.hash(password)
    users: dict[str, User] = {}
    with clock(lambda: moment):
        providers = [Provider.register(stamp=actor.stamp(""), slug=p.slug, name=p.name) for p in world.places]
        for email, (role, provider, display) in world.staff.items():
            users[email] = User.register(stamp=actor.stamp(provider or ""), email=email, display_name=display,
                                         role=role, provider=provider, password_hash=password_hash)
    app.save(*providers, *users.values())
    return users


def _caseloads(app, world: World, users: dict[str, User]) -> None:
    """Every class list of every year, oldest first, a few hundred changes a transaction."""
    actor = system_actor("demo")
    moment = [world.cutoff]
    changed: dict[str, User] = {}
    with clock(lambda: moment[0]):
        for when, _i, email, change, lid, reason in sorted(world.caseload):
            moment[0] = min(when, world.cutoff)
            user = users[email]
            stamp = actor.stamp(user.provider or "")
            if change == "add":
                user.add_to_caseload(stamp=stamp, learner_id=lid, reason=reason)
            elif lid in user.caseload:
                user.remove_from_caseload(stamp=stamp, learner_id=lid, reason=reason)
            changed[email] = user
            if sum(len(u.pending_events) for u in changed.values()) >= 500:
                app.save(*changed.values())
                changed = {}
    if changed:
        app.save(*changed.values())


def generate(app, *, learners: int, years: int = 5, seed: str = "1", today: date | None = None,
             password: str | None = None, on_learner: Callable[[int], None] | None = None,
             now: datetime | None = None) -> World:
    """Write ``learners`` generated learners with ``years`` of history each
    into an empty store; returns the world (providers, staff, counts)."""
    now = now or datetime.now(timezone.utc)
    today = today or now.date()
    world = plan_world(learners, years, seed, today, now)
    users = _staff(app, world, password or secrets.token_urlsafe(12))
    for i in range(learners):
        LearnerYears(app, world, i).write()
        if on_learner:
            on_learner(1)
    _caseloads(app, world, users)
    world.count("staff", len(world.staff))
    world.count("providers", len(world.places))
    return world


# --- the command --------------------------------------------------------------------------------
def whole_number(value: str, what: str, lowest: int, highest: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Refused(f"{what} must be a whole number from {lowest:,} to {highest:,}, not {value!r}") from None
    if not lowest <= number <= highest:
        raise Refused(f"{what} must be a whole number from {lowest:,} to {highest:,}, not {number}")
    return number


def parse_options(scale, years, seed, today, now: date) -> tuple[int, int, str, date]:
    """The options checked before anything is opened or written."""
    n = whole_number(scale, "--scale (how many learners)", 1, 1_000_000)
    y = whole_number(years if years is not None else 5, "--years", 1, MAX_YEARS)
    if today is None:
        day = now
    else:
        try:
            day = date.fromisoformat(str(today).strip())
        except ValueError:
            raise Refused(f"--today must be a date as YYYY-MM-DD, not {today!r}") from None
        if day > now:
            raise Refused(f"--today cannot be in the future ({day.isoformat()} is after {now.isoformat()})")
        if day.year < 2000:
            raise Refused(f"--today is too long ago to be right: {day.isoformat()}")
    s = str(seed if seed is not None else "1").strip()
    if not s or len(s) > 100:
        raise Refused("--seed must be some text or a number, at most 100 characters")
    return n, y, s, day


def _size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))


def _where(settings) -> str:
    """The store, named without any password a PostgreSQL URL may hold."""
    if settings.on_postgres:
        from rarpa.store.postgres import schema_of

        return f"the PostgreSQL store (schema {schema_of(settings.db)})"
    return f"the store {settings.db}"


def _sizes(settings) -> str:
    views = size_words(_size(settings.views))
    if not settings.on_postgres:
        return (f"store {size_words(_size(settings.db))}, read model {views}, "
                f"vault {size_words(_size(settings.vault))}")
    import psycopg

    with psycopg.connect(settings.db) as conn:  # the record's schema: events, snapshots, vault, photos
        (size,) = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relkind IN ('r', 'p')").fetchone()
    return f"store {size_words(int(size))} on PostgreSQL (vault included), read model {views}"


def size_words(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def command(scale, *, years, seed, today, learners_given: bool, echo, progressbar, open_app, projector) -> dict:
    """`rarpa demo --scale N`: checks first (nothing written when refused),
    then the learners with a progress bar, the read model caught up, and one
    line with what was made, how fast, and how big the files are."""
    if learners_given:
        raise Refused("--learners is for the demo of 14; with --scale, N is how many learners")
    n, y, s, day = parse_options(scale, years, seed, today, datetime.now(timezone.utc).date())
    password = os.environ.get(DEMO_PASSWORD_ENV)
    if password:
        problem = _password_problem(password)
        if problem:
            raise Refused(f"{DEMO_PASSWORD_ENV}: {problem}")
    app = open_app()
    try:
        held = app.recorder.max_notification_id() or 0
        if held:
            raise Refused(f"{_where(app.settings)} already holds {held:,} events; --scale writes only into "
                          "an empty store, so nothing was written (set RARPA_DB to a new file or schema)")
        password = password or secrets.token_urlsafe(12)
        began = timer.perf_counter()
        label = f"Learners ({y} year{'s' if y != 1 else ''} each)"
        with progressbar(length=n, label=label, show_pos=True, show_eta=True) as bar:
            world = generate(app, learners=n, years=y, seed=s, today=day, password=password, on_learner=bar.update)
        written = timer.perf_counter() - began
        events = app.recorder.max_notification_id() or 0
        caught = timer.perf_counter()
        reader = projector(app)
        try:
            with progressbar(length=events, label="Read model") as bar:
                position = reader.catch_up(on_batch=bar.update)
        finally:
            reader.close()
        read_seconds = timer.perf_counter() - caught
        total = timer.perf_counter() - began
        settings = app.settings
    finally:
        app.close()
    lead = world.places[0]
    echo(f"Sign in as {lead.lead} (SEND lead), {lead.tutors[0]} (tutor), auditor@{SCALE_DOMAIN} or "
         f"admin@{SCALE_DOMAIN}; every account's password: "
         + ("(from RARPA_DEMO_PASSWORD)" if os.environ.get(DEMO_PASSWORD_ENV) else password))
    c = world.counts
    echo(f"Scale demo: {n:,} learner{'s' if n != 1 else ''}, {y} year{'s' if y != 1 else ''} each "
         f"to {day.isoformat()} (seed {s}), "
         f"{c['providers']} providers, {c['staff']} staff: {events:,} events "
         f"({c.get('observations', 0):,} observations) in {total:,.1f} s "
         f"(writing {written:,.1f} s, {events / written if written else 0:,.0f} events/s; "
         f"read model {read_seconds:,.1f} s to event {position:,}); {_sizes(settings)}.")
    return {"learners": n, "years": y, "seed": s, "today": day, "events": events, "counts": c,
            "seconds": total, "write_seconds": written, "read_seconds": read_seconds, "world": world}


def _password_problem(password: str) -> str | None:
    try:
        check_password(password, email=f"lead@{SCALE_DOMAIN}")
    except Exception as e:  # RuleBroken: the policy's own words
        return getattr(e, "message", str(e))
    return None



def run_command(scale, *, years, seed, today) -> None:
    """The glue to the click command (rarpa/cli/__init__.py): refusals as one
    line and exit status 1, as every command of the CLI does."""
    import click
    from click.core import ParameterSource

    from rarpa.cli import _app, _fail, _projector

    ctx = click.get_current_context()
    try:
        if scale is None:
            raise Refused("--years, --seed and --today go with --scale N")
        command(scale, years=years, seed=seed, today=today,
                learners_given=ctx.get_parameter_source("learners") == ParameterSource.COMMANDLINE,
                echo=click.echo, progressbar=click.progressbar, open_app=_app, projector=_projector)
    except Refused as e:
        _fail(str(e))

"""`rarpa demo`: a realistic, repeatable year of records for two providers.

Everything goes through the domain's commands (so every rule applies) with the
record's clock set to when each thing happened, as an import from another
system would. Ids and choices come from a fixed seed, so the demo is the same
every time, and running it again adds nothing.
"""

from __future__ import annotations

import os
import random
import secrets
import uuid
from datetime import date, datetime, time, timedelta, timezone

from events.base import clock
from events.vocabulary import CONTEXTS, PROMPT_LEVELS, RATINGS, WORDS
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.cli.demo_content import (
    CONTEXT_NOTES,
    LEARNERS,
    OUTCOMES,
    PROMPT_NOTES,
    SELF_WORDS,
    UNPLANNED,
)
from rarpa.record import NAMESPACE, Learner, ObservationIdClaim, id_source, user_id

PROVIDERS = {"northfield": "Northfield College", "riverside": "Riverside Specialist College"}

# email, role, provider, display name
USERS = [
    ("tutor@example.org", "tutor", "northfield", "Sam Taylor"),
    ("support@example.org", "support", "northfield", "Jo Evans"),
    ("lead@example.org", "send_lead", "northfield", "Priya Shah"),
    ("auditor@example.org", "auditor", None, "Alex Morgan"),
    ("admin@example.org", "admin", None, "Chris Green"),
    ("tutor.riverside@example.org", "tutor", "riverside", "Robin Hale"),
    ("lead.riverside@example.org", "send_lead", "riverside", "Morgan Reid"),
]
DUAL_PLACEMENT = 0  # Amir: lead provider Northfield, two days a week at Riverside


def demo_learner_id(i: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"demo-learner:{i}")


def _stamp(email: str, role: str, provider: str) -> dict:
    return {"recorded_by": str(user_id(email)), "role": role, "provider": provider}


class _Clock:
    """The moment the demo is 'recording' at; moved forward as the year goes by."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def load_demo(app: RecordApplication, *, learners: int = 14, echo=print, today: date | None = None) -> dict:
    actor = system_actor("demo")
    for slug, name in PROVIDERS.items():
        app.register_provider(actor, slug, name)

    password = os.environ.get("RARPA_DEMO_PASSWORD")
    made_password = False
    created_users = []
    for email, role, provider, display in USERS:
        if app.exists(user_id(email)):
            if password and app.authenticate(email, password) is None:
                app.set_password(actor, email, password, "demo password set from RARPA_DEMO_PASSWORD")
            continue
        if not password:
            password = secrets.token_urlsafe(12)  # 16 characters: well within the password policy
            made_password = True
        app.add_user(actor, email=email, role=role, password=password, provider=provider, display_name=display)
        created_users.append(email)

    today = today or datetime.now(timezone.utc).date()
    count = min(learners, len(LEARNERS))
    made = 0
    for i in range(count):
        lid = demo_learner_id(i)
        if not app.exists(lid):
            # Anchored to the day it is loaded: a year of history each, and the
            # annual review of a few falling due about now.
            start = today - timedelta(days=ENROLLED_DAYS_AGO.get(i, 365))
            _make_learner(app, i, lid, start, today)
            made += 1
    _caseloads(app, actor, count)

    echo(f"Demo: {len(PROVIDERS)} providers, {count} learners ({made} new), {len(USERS)} users.")
    if created_users:
        shown = password if made_password else "(from RARPA_DEMO_PASSWORD)"
        echo("Sign in as any of: " + ", ".join(e for e, *_ in USERS))
        echo(f"Demo password: {shown}")
    elif password and os.environ.get("RARPA_DEMO_PASSWORD"):
        echo("Demo users already existed; their password is now RARPA_DEMO_PASSWORD.")
    else:
        echo("Demo users already existed; password unchanged (set RARPA_DEMO_PASSWORD to reset it).")
    return {"learners": count, "new_learners": made, "password": password if made_password else None}


# Learners whose annual review has not been held in the demo, and how long
# ago they were enrolled: one due today, two due within the month, one a
# week overdue. Everyone else had their annual review some months ago.
ENROLLED_DAYS_AGO = {0: 365, 1: 345, 3: 372, 9: 352}


def _caseloads(app, actor, count) -> None:
    northfield = [i for i in range(count) if LEARNERS[i][3] == "northfield"]
    riverside = [i for i in range(count) if LEARNERS[i][3] == "riverside"]
    plan = {
        "tutor@example.org": northfield[:6],
        "support@example.org": northfield[:4],
        "tutor.riverside@example.org": riverside[:6] + [DUAL_PLACEMENT],
    }
    for email, indexes in plan.items():
        for i in indexes:
            app.add_to_caseload(actor, email, str(demo_learner_id(i)))


def _make_learner(app: RecordApplication, i: int, lid: uuid.UUID, start: date, today: date) -> None:
    rng = random.Random(f"rarpa-demo-{i}")
    name, preferred, dob, provider = LEARNERS[i]
    lead = _stamp("lead@example.org" if provider == "northfield" else "lead.riverside@example.org",
                  "send_lead", provider)
    tutor = _stamp("tutor@example.org" if provider == "northfield" else "tutor.riverside@example.org",
                   "tutor", provider)
    support = _stamp("support@example.org", "support", "northfield")
    partner = _stamp("tutor.riverside@example.org", "tutor", "riverside")

    def at(day: int, hour: int = 9, minute: int = 0) -> datetime:
        d = start + timedelta(days=day)
        return datetime.combine(d, time(hour, minute), tzinfo=timezone.utc)

    ids = random.Random(f"rarpa-demo-ids-{i}")
    tick = _Clock(at(0))
    with clock(tick), id_source(lambda: uuid.UUID(int=ids.getrandbits(128), version=4)):
        learner = Learner.enrol(stamp=lead, name=name, preferred_name=preferred, date_of_birth=dob,
                                lead_provider=provider, learner_id=lid)
        claims = []
        if i == DUAL_PLACEMENT:
            tick.moment = at(1)
            learner.join_provider(stamp=lead, provider="riverside", lead=False,
                                  reason="Dual placement: two days a week at Riverside for practical skills")
        if i % 5 == 2:
            learner.record_consent(stamp=lead, consent="photographs", given=False,
                                   reason="The learner and family asked for no photographs")
        if i % 5 == 3:  # the record form offers a camera for these learners (web/photos.py)
            learner.record_consent(stamp=lead, consent="photographs", given=True,
                                   reason="The learner and family agreed to photographs of their work")

        # Stage 1-3: outcomes across at least three PfA areas, targets with baselines.
        areas = list(OUTCOMES)
        rng.shuffle(areas)
        n_outcomes = 3 + (i % 3)  # 3, 4 or 5
        chosen = []
        for k in range(n_outcomes):
            area = areas[k % len(areas)]
            options = [o for o in OUTCOMES[area] if o not in [c[1] for c in chosen]]
            chosen.append((area, rng.choice(options)))
        targets = []
        tick.moment = at(3, 10)
        for area, (text, target_specs) in chosen:
            oid = learner.record_outcome(stamp=lead, text=text.format(name=preferred), pfa_area=area,
                                         due=(start + timedelta(days=730)).isoformat())
            for t_text, criteria in target_specs[: rng.choice((2, 3))]:
                baseline = rng.choice(RATINGS[:2])
                tid = learner.set_target(stamp=lead, text=t_text, success_criteria=criteria,
                                         outcome_ids=[oid], baseline=baseline,
                                         review_by=(start + timedelta(days=rng.choice((120, 180, 240)))).isoformat(),
                                         baseline_note="Initial assessment in the first two weeks")
                targets.append({"id": tid, "area": area, "step": RATINGS.index(baseline), "prompt": rng.randint(0, 2)})
        areas_words = ", ".join(WORDS["areas"][a].lower() for a in sorted({a for a, _ in chosen}))
        learner.agree_aim(stamp=lead, text=f"{preferred}'s programme: {areas_words}", outcome_ids=list(learner.outcomes))

        # Stage 4: a year of observations, plus the things that happen in a year.
        timeline = []
        for t in targets:
            day = rng.randint(10, 20)
            while day < 360:
                timeline.append((day, rng.randint(9, 15), rng.randint(0, 59), "observe", t))
                day += rng.randint(7, 21)
        # Progress reviews a term apart; a few learners' last one is still to come,
        # so a fresh demo has some target reviews due, none absurdly overdue.
        reviews = (120, 240) if i % 5 == 3 else (120, 240, 330)
        timeline += [(day, 14, 0, "review", None) for day in reviews]
        if i not in ENROLLED_DAYS_AGO:
            timeline.append((200 + (i * 37) % 130, 15, 0, "annual", None))
        timeline += [(150, 11, 0, "revise", None), (200, 12, 0, "self", None), (300, 13, 0, "unplanned", None)]
        timeline.sort(key=lambda x: (x[0], x[1], x[2], x[3]))
        observed = []
        review_no = 0
        for day, hour, minute, what, t in timeline:
            if day >= (today - start).days:
                break
            moment = at(day, hour, minute)
            tick.moment = moment + timedelta(minutes=rng.randint(1, 40))
            if what == "observe":
                if learner.targets[t["id"]].status != "open":
                    continue
                if rng.random() < 0.2 and t["step"] < len(RATINGS) - 1:
                    t["step"] += 1
                elif rng.random() < 0.1 and t["step"] > 0:
                    t["step"] -= 1  # a harder day: progress is not a straight line
                if rng.random() < 0.15 and t["prompt"] < len(PROMPT_LEVELS) - 1:
                    t["prompt"] += 1
                context = rng.choices(CONTEXTS[:5], weights=(6, 2 if t["area"] == "employment" else 1, 2, 1, 1))[0]
                who = tutor
                if i == DUAL_PLACEMENT and rng.random() < 0.4:
                    who, context = partner, rng.choice(("classroom", "work_placement"))
                elif provider == "northfield" and rng.random() < 0.3:
                    who = support
                prompt = PROMPT_LEVELS[t["prompt"]]
                note = f"{learner.targets[t['id']].text} {rng.choice(CONTEXT_NOTES[context])}; {PROMPT_NOTES[prompt]}."
                obs_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
                if rng.random() < 0.1:  # recorded offline, sent when the tablet was back on wifi
                    tick.moment = moment + timedelta(hours=rng.randint(2, 20))
                learner.record_observation(stamp=who, observation_id=obs_id, target_id=t["id"],
                                           rating=RATINGS[t["step"]], prompt_level=prompt, context=context,
                                           note=note, observed_at=moment, now=tick.moment,
                                           # generalised: shown with new people in a new place
                                           new_to_learner=["people", "place"] if t["step"] == 4 else [])
                claims.append(ObservationIdClaim.claim(stamp=who, observation_id=obs_id, learner_id=str(lid)))
                observed.append(obs_id)
                if len(observed) == 5:
                    tick.moment += timedelta(days=1)
                    learner.correct_observation(stamp=tutor, observation_id=obs_id, reason=(
                        "Entered against the wrong rating on the tablet; corrected after checking the diary"),
                        rating=RATINGS[t["step"] - 1 if t["step"] else 1], now=tick.moment)
                if len(observed) == 9:
                    learner.withdraw_observation(stamp=who, observation_id=obs_id,
                                                 reason="Recorded for the wrong learner by mistake (undo)")
            elif what == "review":
                review_no += 1
                open_targets = [tid for tid, x in learner.targets.items() if x.status == "open"]
                decisions = []
                for n, tid in enumerate(open_targets):  # a review looks at every open target
                    if review_no == 2 and n == 0:
                        decisions.append({"target_id": tid, "decision": "close", "closed_as": "achieved",
                                          "reason": "Met the success criteria consistently since January"})
                    elif review_no == 1 and n == 1:
                        decisions.append({"target_id": tid, "decision": "revise",
                                          "text": learner.targets[tid].text + " in a new setting",
                                          "reason": "Secure in class; next we check it holds somewhere new"})
                    else:
                        decisions.append({"target_id": tid, "decision": "keep"})
                learner.hold_progress_review(
                    stamp=lead, held_on=moment.date().isoformat(),
                    attendees=[preferred, "Parent/carer", "Tutor", "SEND lead"],
                    learner_views=rng.choice([
                        "I like the placement. I want to do more days.",
                        "The bus is scary when it is busy but I can do it.",
                        "I am proud of my cooking. I made pasta for my mum.",
                    ]),
                    decisions=decisions,
                )
            elif what == "annual":
                # Saved first, so the review can name the record's fingerprint as it stood.
                app.save(learner, *claims)
                claims = []
                learner.hold_annual_review(
                    stamp=lead, held_on=moment.date().isoformat(),
                    period_from=(moment.date() - timedelta(days=365)).isoformat(), period_to=moment.date().isoformat(),
                    attendees=[preferred, "Parent/carer", "Local authority SEND officer", "SEND lead"],
                    learner_views="I want to keep going to placement and learn to cook more meals.",
                    recommendations=[{"outcome_id": oid, "recommendation": "continue"} for oid in learner.outcomes],
                    fingerprint=app.fingerprint(learner.id, learner.version))
            elif what == "revise":
                open_targets = [tid for tid, x in learner.targets.items() if x.status == "open"]
                if open_targets:
                    tid = open_targets[-1]
                    learner.revise_target(stamp=lead, target_id=tid, kind="renegotiated",
                                          reason="Agreed with the learner: break it into a smaller step first",
                                          text="With a visual prompt card: " + learner.targets[tid].text.lower())
            elif what == "self":
                for tid, x in list(learner.targets.items())[:2]:
                    learner.record_self_assessment(stamp=tutor, target_id=tid,
                                                   answer=rng.choice(("with_help", "on_my_own", "not_yet")),
                                                   words=rng.choice(SELF_WORDS), assessed_at=moment)
            elif what == "unplanned" and i % 3 == 0:
                text, area, ctx = UNPLANNED[i % len(UNPLANNED)]
                learner.recognise_unplanned_outcome(stamp=tutor, text=text, pfa_area=area, context=ctx,
                                                    recognised_on=moment.date().isoformat())
        if i == 4:  # a leaver: stage 5 for one learner
            tick.moment = at(min(362, (today - start).days - 1), 15)
            for tid, x in learner.targets.items():
                learner.record_summative_assessment(stamp=lead, target_id=tid, rating="secure",
                                                    summary="Does this reliably with light prompting.",
                                                    assessed_on=tick.moment.date().isoformat())
            learner.agree_next_step(stamp=lead, text="Supported internship with the NHS trust from September",
                                    agreed_on=tick.moment.date().isoformat())
            learner.record_destination(stamp=lead, kind="supported_internship", detail="NHS trust, estates team",
                                       starts_on=(today + timedelta(days=60)).isoformat())
        if i % 3 == 0:  # some learners were observed earlier today
            moment = min(datetime.combine(today, time(9, 30), tzinfo=timezone.utc),
                         datetime.now(timezone.utc) - timedelta(minutes=10 + i))
            open_targets = [t for t in targets if learner.targets[t["id"]].status == "open"]
            if moment.date() == today and open_targets:
                t = open_targets[i % len(open_targets)]
                tick.moment = moment + timedelta(minutes=2)
                obs_id = str(uuid.UUID(int=ids.getrandbits(128), version=4))
                learner.record_observation(stamp=tutor, observation_id=obs_id, target_id=t["id"],
                                           rating=RATINGS[t["step"]], prompt_level=PROMPT_LEVELS[t["prompt"]],
                                           context="classroom", note=f"{learner.targets[t['id']].text} in class today.",
                                           observed_at=moment, now=tick.moment)
                claims.append(ObservationIdClaim.claim(stamp=tutor, observation_id=obs_id, learner_id=str(lid)))
    app.save(learner, *claims)

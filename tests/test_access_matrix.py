"""Who sees which learner: a role × learner matrix over every learner route.

The rule, as a reader should see it (the tables below are the whole expectation):

- tutor, support: learners on their own caseload, nobody else;
- send_lead: learners at their provider, including both providers of a dual placement;
- auditor: every learner, read-only;
- admin: no learner at all.

A learner out of sight answers 404, the same answer, byte for byte, as a learner
who does not exist: never a 403, which would tell that the learner exists. A
learner in sight but an action the role lacks answers 403. A refused write
stores nothing (the event store's highest notification id does not move).

The routes come from the application itself (``web.api.ROUTES`` and Flask's URL
map), so a new route is covered, or fails here until it is classified.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from rarpa.service import access
from rarpa.service.access import Actor, can_see, scope, system_actor
from rarpa.service.application import RecordApplication
from rarpa.config import Settings
from tests.test_photos import noise_jpeg
from tests.test_web import sign_in, token_of
from tests.localhost import db_env
from web import create_app
from web.api import ROUTES
from web.services import Services
from web import rules
from web.rules import ROUTE_ACTIONS, action_for

PASSWORD = "correct horse battery"
TODAY = datetime.now(timezone.utc).date()

# --- the world --------------------------------------------------------------------------------
# Learners: where each attends.
LEARNERS = {
    "amy": ("Amy Jones", ["northfield"]),
    "ben": ("Ben Smith", ["riverside"]),
    "cara": ("Cara Patel", ["northfield", "riverside"]),  # dual placement: joins riverside by the API
    "dan": ("Dan Okafor", ["northfield"]),
}
# Users: role, provider, caseload.
USERS = {
    "tutor": ("tutor", "northfield", ["amy", "cara"]),
    "other_tutor": ("tutor", "northfield", []),
    "support": ("support", "northfield", ["amy"]),
    "support_off": ("support", "northfield", ["dan"]),  # support, but amy and cara are not theirs
    "riverside_tutor": ("tutor", "riverside", ["ben", "cara"]),
    "send_lead": ("send_lead", "northfield", []),
    "riverside_lead": ("send_lead", "riverside", []),
    "auditor": ("auditor", None, []),
    "admin": ("admin", None, []),
    "family": ("family", None, []),  # Amy's mum: let in to Amy's family pages (FAMILY_OF), nothing else
}
# Family members and the learners the record lets them see (their own pages only: web/family.py).
FAMILY_OF = {"family": {"amy"}}
FAMILY_ACTIONS = {"see as family", "contribute"}

class _Actions:
    """The action of each route (by endpoint, or by API rule), from web/rules.py."""

    def __init__(self, method: str, prefix: str = ""):
        self.method, self.prefix = method, prefix

    def __getitem__(self, endpoint: str) -> str:
        return action_for(endpoint, self.method)

    def get(self, rule: str, default: str) -> str:
        endpoint = next((r.endpoint for r in ROUTES if r.rule == rule and r.method == self.method), None)
        return action_for(f"api.{endpoint}", self.method) if endpoint else default


# --- the expectation ---------------------------------------------------------------------------
# Who sees whom (everyone else: 404).
SEES = {
    "tutor": {"amy", "cara"},
    "other_tutor": set(),
    "support": {"amy"},
    "support_off": {"dan"},
    "riverside_tutor": {"ben", "cara"},
    "send_lead": {"amy", "cara", "dan"},  # northfield, including cara's dual placement
    "riverside_lead": {"ben", "cara"},  # riverside, including cara's dual placement
    "auditor": {"amy", "ben", "cara", "dan"},
    "admin": set(),
    "family": set(),  # the staff record: nobody (their own pages: FAMILY_OF)
}
# What each role may do to a learner it sees (otherwise: 403).
MAY = {
    "tutor": {"read", "record", "review", "moderate"},
    "support": {"read", "record"},
    "send_lead": {"read", "record", "plan", "review", "enrol", "share", "audit", "moderate"},
    "auditor": {"read", "audit"},
    "admin": set(),
    "family": set(),
}
# The action each learner route needs comes from the application's own rule table
# (web/rules.py ROUTE_ACTIONS, each action's rule in rarpa/service/access.py RULES);
# this test checks what the app answers against SEES and MAY, stated here by hand.
PAGE_ACTION = _Actions("GET")
API_ACTION = _Actions("GET", prefix="api.")
HIDDEN = set(access.HIDDEN)


def role_of(user: str) -> str:
    return USERS[user][0]


def expected(user: str, learner: str, action: str = "read") -> int:
    if user in FAMILY_OF:  # a family member: their learner's family pages, and nothing of anyone else
        if learner not in FAMILY_OF[user]:
            return 404
        return 200 if action in FAMILY_ACTIONS else 404 if action in HIDDEN else 403
    if learner not in SEES[user]:
        return 404
    if action in MAY[role_of(user)]:
        return 200
    return 404 if action in HIDDEN else 403


def test_the_tables_agree_with_the_world():
    """SEES is derived by hand; check it against the rule stated at the top, so a slip
    in either table is caught rather than tested."""
    for user, (role, provider, caseload) in USERS.items():
        if role in ("tutor", "support"):
            rule = set(caseload)
        elif role == "send_lead":
            rule = {name for name, (_, at) in LEARNERS.items() if provider in at}
        elif role == "auditor":
            rule = set(LEARNERS)
        else:
            rule = set()  # the administrator; a family member (their own pages: FAMILY_OF)
        assert SEES[user] == rule, user


@pytest.mark.parametrize("user", list(USERS))
def test_scope_states_the_rule_can_see_states(user):
    """The lists and counts (access.scope, as SQL in rarpa.read.queries) and one
    learner (access.can_see) follow the same rule: SEES."""
    role, provider, caseload = USERS[user]
    actor = Actor(user_id=user, role=role, provider=provider, caseload=frozenset(caseload))
    kind, values = scope(actor)
    for name, (_, providers) in LEARNERS.items():
        listed = kind == "all" or (kind == "caseload" and name in values) or (
            kind == "provider" and bool(values & set(providers)))
        assert listed == can_see(actor, name, providers) == (name in SEES[user]), (user, name)


# --- building it ---------------------------------------------------------------------------------
def build_world(folder) -> dict:
    """Everything through the application as the operator, except the dual placement,
    which goes through the API (POST /learners/{id}/providers) by Northfield's SEND lead."""
    # Every user signs in from 127.0.0.1, and again before the downloads and erasure:
    # more than a staff room's tablets would (the limits are tested in test_login_limits.py).
    settings = Settings.from_env({**db_env(folder / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest",
                                  "RARPA_LOGIN_LIMIT_PER_ADDRESS": "600 per minute"})
    app = RecordApplication(settings)
    system = system_actor("test")
    app.register_provider(system, "northfield", "Northfield College")
    app.register_provider(system, "riverside", "Riverside Specialist College")
    app.register_provider(system, "hillside", "Hillside Farm Placements")  # joins and leaves in the page writes
    for user, (role, provider, _) in USERS.items():
        app.add_user(system, email=f"{user}@example.org", role=role, password=PASSWORD, provider=provider)
    ids: dict[str, dict] = {}
    for name, (full, providers) in LEARNERS.items():
        lid = app.enrol_learner(system, name=full, date_of_birth="2007-03-01", provider=providers[0]).result
        outcome = app.record_outcome(system, lid, text="Travel to college on the bus", pfa_area="independent_living",
                                     due="2027-07-01").result
        target = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                                outcome_ids=[outcome], baseline="emerging", review_by="2027-01-15").result
        observation = str(uuid.uuid4())
        app.record_observation(system, lid, observation_id=observation, target_id=target, rating="developing",
                               context="community", observed_at=datetime.now(timezone.utc) - timedelta(hours=1))
        destination = app.record_destination(system, lid, kind="employment", detail="Café",
                                             starts_on=TODAY - timedelta(days=300)).result
        app.record_consent(system, lid, consent="photographs", given=True, reason="Asked")
        photo = app.attach_photo(system, lid, observation_id=observation, photo=noise_jpeg(160, 120)).result
        # Each learner's family: someone let in, who sent something from home (with a photo) for staff.
        app.record_consent(system, lid, consent="sharing_with_family", given=True, reason="Asked")
        email = "family@example.org" if name == "amy" else f"family.{name}@example.org"
        if name != "amy":
            app.add_user(system, email=email, role="family", password=PASSWORD)
        relative = app.invite_family_member(system, lid, display_name=f"{full}'s family", relationship="Mum",
                                            email=email, reason="Annual review").result["user_id"]
        contribution = str(uuid.uuid4())
        app.send_family_contribution(app.actor_for(app.user(email)), lid, contribution_id=contribution,
                                     words="Made toast at home", happened_on=str(TODAY), photo=noise_jpeg(120, 90, seed=5))
        ids[name] = {"learner_id": lid, "outcome_id": outcome, "target_id": target, "observation_id": observation,
                     "destination_id": destination, "name": full, "photo_id": photo["photo_id"],
                     "fingerprint": app.fingerprint(uuid.UUID(lid), 1), "provider": "hillside",
                     "contribution_id": contribution, "user_id": relative}

    services = Services(settings)
    flask_app = create_app(services=services)
    client = flask_app.test_client()
    lead = {"Authorization": f"Bearer {app.create_token('send_lead@example.org')}"}
    for name, (_, providers) in LEARNERS.items():
        for provider in providers[1:]:
            joined = client.post(f"/api/v1/learners/{ids[name]['learner_id']}/providers", headers=lead,
                                 json={"provider": provider, "lead": False, "reason": "Two days a week there"})
            assert joined.status_code == 201, joined.get_data(as_text=True)
    for user, (_, _, caseload) in USERS.items():
        for name in caseload:
            app.add_to_caseload(system, f"{user}@example.org", ids[name]["learner_id"])
    return {"app": app, "services": services, "flask": flask_app, "ids": ids,
            "tokens": {u: app.create_token(f"{u}@example.org") for u in USERS}}


def close_world(w: dict) -> None:
    w["services"].close()
    w["app"].close()


class World:
    def __init__(self, w: dict):
        self.__dict__.update(w)
        self._pages: dict[str, object] = {}

    def api(self, user: str, method: str, path: str, body=None):
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        client = self.flask.test_client()
        if method == "GET":
            return client.get("/api/v1" + path, headers=headers)
        if isinstance(body, Upload):  # a file, as multipart/form-data
            return client.post("/api/v1" + path, headers=headers, content_type="multipart/form-data",
                               data={name: (io.BytesIO(data), f"{name}.jpg") for name, data in body.items()})
        return client.post("/api/v1" + path, headers=headers, json=body)

    def pages(self, user: str, fresh: bool = False):
        """A signed-in browser for this user; ``fresh``: signed in again now, as the
        downloads and erasure need a password typed in the last few minutes
        (web/sessions.py; tests/test_sessions.py tests asking for it)."""
        if user not in self._pages or fresh:
            client = self._pages.get(user) or self.flask.test_client()
            signed = sign_in(client, f"{user}@example.org", PASSWORD)
            assert signed.status_code == 302, user
            self._pages[user] = client
        return self._pages[user]

    def csrf(self, user: str) -> str:
        return token_of(self.pages(user).get("/", follow_redirects=True).get_data(as_text=True))

    def position(self) -> int:
        return self.app.recorder.max_notification_id() or 0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build_world(tmp_path_factory.mktemp("matrix"))
    yield World(w)
    close_world(w)


@pytest.fixture
def own_world(tmp_path):
    """A world of its own, for tests whose allowed cells write."""
    w = build_world(tmp_path)
    yield World(w)
    close_world(w)


UNKNOWN = {"learner_id": str(uuid.uuid4())}


def fill(rule: str, ids: dict) -> str:
    """/learners/<learner_id>/observations/<observation_id> with real ids; fails on a
    placeholder nobody knows how to fill, so a new kind of route is not skipped silently."""
    def one(match):
        key = match.group(1).split(":")[-1]
        assert key in ids, f"add a value for <{key}> to the matrix world (route {rule})"
        return ids[key]

    return re.sub(r"<([^>]+)>", one, rule)


def api_get_routes() -> list[str]:
    rules = sorted({r.rule for r in ROUTES if r.method == "GET" and "<learner_id>" in r.rule})
    assert len(rules) >= 6, rules  # one learner, progress, history, events, an observation, the pack
    return rules


def page_get_routes(flask_app) -> dict[str, str]:
    found = {}
    for rule in flask_app.url_map.iter_rules():
        if "<learner_id>" in rule.rule and "GET" in rule.methods and not rule.rule.startswith("/api/"):
            found[rule.endpoint] = rule.rule
    return found


def test_every_route_has_a_rule_and_every_rule_a_route(world):
    """Every route of the app, added without a rule in web/rules.py, fails
    here (and the app refuses to start: rules.check_table)."""
    endpoints = {r.endpoint for r in world.flask.url_map.iter_rules()}
    assert endpoints - set(ROUTE_ACTIONS) == set(), "routes with no rule in web/rules.py"
    assert set(ROUTE_ACTIONS) - endpoints == set(), "rules for routes that are gone"
    for endpoint in ROUTE_ACTIONS:
        for method in ("GET", "POST"):
            assert action_for(endpoint, method) in set(access.RULES) | rules.WORDS


def test_a_route_nobody_gave_a_rule_stops_the_app_and_is_refused(tmp_path, caplog):
    """create_app checks the table (rules.check_table) and would not start with
    this route; added behind its back, the route is refused before it runs."""
    settings = Settings.from_env({"RARPA_DB": str(tmp_path / "r.sqlite3")})
    services = Services(settings)
    try:
        flask_app = create_app(services=services)
        ran = []
        flask_app.add_url_rule("/sneaky", "sneaky", lambda: ran.append(1) or "every learner's name")
        with pytest.raises(rules.NoRule, match="sneaky"):
            rules.check_table(flask_app)
        flask_app.testing = False  # answered as in production, not re-raised
        response = flask_app.test_client().get("/sneaky")
        assert response.status_code == 500 and ran == []
        assert "every learner" not in response.get_data(as_text=True)
    finally:
        services.close()


# Flask-WTF token: base64 of a JSON string (so it starts with "I"), a timestamp, a signature.
CSRF_TOKEN = re.compile(rb"I[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")


def page_difference(a, b) -> str:
    """"" when the pages are the same but for the CSRF token (signed with the time, to
    the second); otherwise the first line that differs."""
    one = CSRF_TOKEN.sub(b"(csrf)", a.get_data()).decode(errors="replace").splitlines()
    two = CSRF_TOKEN.sub(b"(csrf)", b.get_data()).decode(errors="replace").splitlines()
    if one == two:
        return ""
    for x, y in zip(one + ["(end)"], two + ["(end)"]):
        if x != y:
            return f"{x.strip()[:150]!r} vs {y.strip()[:150]!r}"
    return "(lengths differ)"


class Cells:
    """Counts what is checked and gathers every mismatch, so one run shows the whole
    picture. A cell is one request (who, route, learner) and its status; the other
    checks are on the same answer (body, name, what was stored)."""

    cells = 0
    checks = 0

    def __init__(self):
        self.wrong: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        Cells.checks += 1
        if not ok:
            self.wrong.append(what)

    def status(self, ok: bool, what: str) -> None:
        Cells.cells += 1
        self.check(ok, what)

    def assert_none_wrong(self) -> None:
        assert not self.wrong, f"{len(self.wrong)} cells wrong:\n" + "\n".join(self.wrong)


# --- reads: the API -------------------------------------------------------------------------------
@pytest.mark.parametrize("user", list(USERS))
def test_learner_list_is_exactly_what_the_role_sees(world, user):
    response = world.api(user, "GET", "/learners")
    assert response.status_code == 200
    got = {row["id"] for row in response.get_json()["learners"]}
    assert got == {world.ids[name]["learner_id"] for name in SEES[user]}
    Cells.cells += 1; Cells.checks += 1


@pytest.mark.parametrize("user", list(USERS))
def test_api_reads_per_learner(world, user):
    cells = Cells()
    for rule in api_get_routes():
        unknown = world.api(user, "GET", fill(rule, {**world.ids["amy"], **UNKNOWN}))
        cells.status(unknown.status_code == 404, f"{user} GET {rule} (no such learner) -> {unknown.status_code}")
        for name, ids in world.ids.items():
            response = world.api(user, "GET", fill(rule, ids))
            want = expected(user, name, API_ACTION.get(rule, "read"))
            cell = f"{user} GET {rule} [{name}] -> {response.status_code}, expected {want}"
            cells.status(response.status_code == want, cell)
            if want == 404:
                # Out of sight looks exactly like not there: same status, same body.
                cells.check(response.get_data() == unknown.get_data(), cell + ": body differs from a missing learner")
                cells.check(ids["name"].split()[0] not in response.get_data(as_text=True), cell + ": name shown")
    cells.assert_none_wrong()


@pytest.mark.parametrize("user", list(USERS))
def test_other_spellings_of_an_id_do_not_open_a_learner(world, user):
    """uuid.UUID() also reads upper case, no hyphens, braces and urn:uuid: forms."""
    cells = Cells()
    for name, ids in world.ids.items():
        if name in SEES[user] or name in FAMILY_OF.get(user, ()):  # in sight: another table
            continue
        lid = ids["learner_id"]
        for spelling in (lid.upper(), lid.replace("-", ""), "{" + lid + "}", "urn:uuid:" + lid):
            for rule in api_get_routes():
                response = world.api(user, "GET", fill(rule, {**ids, "learner_id": spelling}))
                cells.status(response.status_code == 404, f"{user} GET {rule} [{name} as {spelling}] -> "
                                                          f"{response.status_code}")
    cells.assert_none_wrong()


@pytest.mark.parametrize("user", list(USERS))
def test_an_observation_is_read_only_through_its_own_learner(world, user):
    cells = Cells()
    for name, ids in world.ids.items():
        for other, other_ids in world.ids.items():
            if other == name:
                continue
            path = f"/learners/{ids['learner_id']}/observations/{other_ids['observation_id']}"
            # (a family member is refused the staff record first: 403, as for any path of it)
            want = 403 if name in FAMILY_OF.get(user, ()) else 404
            response = world.api(user, "GET", path)
            cells.status(response.status_code == want, f"{user} GET {name}'s learner with {other}'s observation -> "
                                                     f"{response.status_code}")
            page = world.pages(user).get(path)
            cells.status(page.status_code == want, f"{user} page of {name} with {other}'s observation -> "
                                                 f"{page.status_code}")
    cells.assert_none_wrong()


# --- reads: the pages ---------------------------------------------------------------------------
@pytest.mark.parametrize("user", list(USERS))
def test_learner_pages(world, user):
    cells = Cells()
    client = world.pages(user)
    for endpoint, rule in sorted(page_get_routes(world.flask).items()):
        action = PAGE_ACTION[endpoint]
        unknown = client.get(fill(rule, {**world.ids["amy"], **UNKNOWN}))
        cells.status(unknown.status_code == 404, f"{user} page {rule} (no such learner) -> {unknown.status_code}")
        for name, ids in world.ids.items():
            want = expected(user, name, action)
            response = client.get(fill(rule, ids))
            cell = f"{user} page {rule} [{name}] -> {response.status_code}, expected {want}"
            cells.status(response.status_code == want, cell)
            text = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
            first = ids["name"].split()[0]
            if want == 404:
                diff = page_difference(response, unknown)
                cells.check(not diff, cell + f": body differs from a missing learner's: {diff}")
                cells.check(first not in text, cell + ": name shown")
            elif want == 200 and endpoint in ("photos.photo", "photos.thumbnail", "family.contribution_photo"):
                cells.check(response.mimetype == "image/jpeg", cell + ": not a photo")
                cells.check(response.headers.get("Cache-Control") == "private, no-store", cell + ": may be cached")
            elif want == 200 and endpoint == "reviews.annual_review_pdf":
                cells.check(response.mimetype == "application/pdf", cell + ": not a PDF")
                cells.check(f"annual-review-{first.lower()}-" in response.headers.get("Content-Disposition", "").lower(),
                            cell + ": not this learner's pack")
            elif want == 200:
                cells.check(first in text, cell + ": the learner's name is missing")
    cells.assert_none_wrong()


@pytest.mark.parametrize("user", list(USERS))
def test_today_page_names_only_learners_in_sight(world, user):
    response = world.pages(user).get("/")
    if user in FAMILY_OF:  # a family member's own pages instead
        assert response.status_code == 302 and response.headers["Location"].endswith("/family")
        return
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name, ids in world.ids.items():
        first, surname = ids["name"].split()
        shown = f"{first} {surname[0]}." in html
        assert shown == (name in SEES[user]), (user, name)
        Cells.cells += 1; Cells.checks += 1


# --- writes -------------------------------------------------------------------------------------
def observation_body(ids: dict) -> dict:
    return {"id": str(uuid.uuid4()), "target_id": ids["target_id"], "rating": "secure", "context": "classroom",
            "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}


def outcome_body(ids: dict) -> dict:
    return {"text": "Make a friend at college", "pfa_area": "community", "due": "2027-07-01"}


def target_body(ids: dict) -> dict:
    return {"text": "Say hello to a classmate", "success_criteria": "Every day for a week",
            "outcome_ids": [ids["outcome_id"]], "baseline": "not_yet", "review_by": "2027-01-15"}


# A valid body for every API write on a learner, so a refusal is about the role, not
# the input. The order is one that works for a SEND lead on one learner in turn
# (the closure comes last: it ends the target).
class Upload(dict):
    """A body of files (name -> bytes), sent as multipart/form-data (a photo: web/photo_api.py)."""


WRITE_BODIES = {
    "/learners/<learner_id>/providers": lambda i: {"provider": "hillside", "lead": False, "reason": "Placement"},
    "/learners/<learner_id>/providers/<provider>/leave": lambda i: {"reason": "Placement ended"},  # hillside, just joined
    "/learners/<learner_id>/consents": lambda i: {"consent": "photographs", "given": True, "reason": "Asked"},
    "/learners/<learner_id>/outcomes": outcome_body,
    "/learners/<learner_id>/outcomes/<outcome_id>/amendments": lambda i: {
        "text": "Travel to college on the bus alone", "pfa_area": "independent_living", "due": "2027-07-01",
        "reason": "Agreed at review"},
    "/learners/<learner_id>/aims": lambda i: {"text": "Travel independently", "outcome_ids": [i["outcome_id"]]},
    "/learners/<learner_id>/targets": target_body,
    "/learners/<learner_id>/targets/<target_id>/revisions": lambda i: {
        "kind": "revised", "reason": "Too easy", "text": "Buy a return ticket"},
    "/learners/<learner_id>/observations": observation_body,
    "/learners/<learner_id>/observations/<observation_id>/photos": lambda i: Upload(photo=noise_jpeg(120, 90, seed=2)),
    "/learners/<learner_id>/observations/<observation_id>/corrections": lambda i: {
        "reason": "Tapped the wrong rating", "rating": "emerging"},
    "/learners/<learner_id>/observations/<observation_id>/withdrawals": lambda i: {"reason": "Wrong learner"},
    "/learners/<learner_id>/self-assessments": lambda i: {"target_id": i["target_id"], "answer": "with_help"},
    "/learners/<learner_id>/reviews": lambda i: {
        "held_on": str(TODAY), "attendees": ["The learner"],
        "decisions": [{"target_id": i["target_id"], "decision": "keep"}]},
    "/learners/<learner_id>/summative-assessments": lambda i: {
        "target_id": i["target_id"], "rating": "secure", "summary": "Can do it", "assessed_on": str(TODAY)},
    "/learners/<learner_id>/outcome-summatives": lambda i: {
        "outcome_id": i["outcome_id"], "judgement": "partly_achieved", "summary": "Travels with a buddy",
        "assessed_on": str(TODAY)},
    "/learners/<learner_id>/unplanned-outcomes": lambda i: {"text": "Joined a choir", "recognised_on": str(TODAY)},
    "/learners/<learner_id>/next-steps": lambda i: {"text": "Supported internship", "agreed_on": str(TODAY)},
    "/learners/<learner_id>/destinations": lambda i: {"kind": "employment", "starts_on": str(TODAY)},
    "/learners/<learner_id>/annual-reviews": lambda i: {
        "held_on": str(TODAY), "period_from": str(TODAY - timedelta(days=300)), "period_to": str(TODAY),
        "attendees": ["The learner"], "recommendations": [{"outcome_id": i["outcome_id"], "recommendation": "continue"}]},
    "/learners/<learner_id>/destinations/<destination_id>/sustained": lambda i: {"confirmed_on": str(TODAY)},
    "/learners/<learner_id>/targets/<target_id>/learner-words": lambda i: {"words": "Buy my bus ticket"},
    "/learners/<learner_id>/targets/<target_id>/closures": lambda i: {"closed_as": "achieved", "reason": "Done it"},
}


def api_write_routes() -> list[str]:
    rules = [r.rule for r in ROUTES if r.method == "POST" and "<learner_id>" in r.rule]
    missing = set(rules) - set(WRITE_BODIES)
    assert not missing, f"add a valid body to WRITE_BODIES for {sorted(missing)}"
    return [rule for rule in WRITE_BODIES if rule in rules]


@pytest.mark.parametrize("route, action, body", [
    ("/learners/<learner_id>/observations", "record", observation_body),
    ("/learners/<learner_id>/targets", "plan", target_body),
    ("/learners/<learner_id>/outcomes", "plan", outcome_body),
])
def test_writes_by_role_and_learner(own_world, route, action, body):
    """Every user on every learner: 404 out of sight, 403 without the right (nothing
    stored either way), 201 with it (and something stored: the check can tell)."""
    w, cells = own_world, Cells()
    for user in USERS:
        for name, ids in w.ids.items():
            want = expected(user, name, action)
            want = 201 if want == 200 else want
            before = w.position()
            response = w.api(user, "POST", fill(route, ids), body(ids))
            cell = f"{user} POST {route} [{name}] -> {response.status_code}, expected {want}"
            cells.status(response.status_code == want, cell)
            moved = w.position() != before
            cells.check(moved == (want == 201), cell + (": stored something" if moved else ": stored nothing"))
    cells.assert_none_wrong()


def test_the_auditor_writes_nothing_anywhere(own_world):
    """Every API write route, on every learner (all in an auditor's sight): refused,
    nothing stored. Then the same body by the SEND lead succeeds, which shows the
    refusal was about the role and not the body."""
    w, cells = own_world, Cells()
    routes = api_write_routes()
    for name, ids in w.ids.items():
        for rule in routes:
            before = w.position()
            response = w.api("auditor", "POST", fill(rule, ids), WRITE_BODIES[rule](ids))
            cell = f"auditor POST {rule} [{name}] -> {response.status_code}"
            cells.status(response.status_code in (403, 404), cell)
            cells.check(w.position() == before, cell + ": stored something")
    ids = w.ids["dan"]  # northfield only: the SEND lead's, and joining riverside is allowed
    for rule in routes:
        before = w.position()
        response = w.api("send_lead", "POST", fill(rule, ids), WRITE_BODIES[rule](ids))
        cell = f"control: send_lead POST {rule} [dan] -> {response.status_code} {response.get_data(as_text=True)[:200]}"
        cells.status(response.status_code == 201, cell)
        cells.check(w.position() > before, cell + ": stored nothing")
    cells.assert_none_wrong()


# The pages' own writes, as forms; {csrf} is filled in per user.
PAGE_FORMS = {
    "pages.record": lambda i: {"id": str(uuid.uuid4()), "target_id": i["target_id"], "rating": "secure"},
    "pages.observation": lambda i: {"action": "correct", "rating": "secure", "reason": "Tapped the wrong one"},
    "reviews.self_assessment": lambda i: {"target_id": i["target_id"], "answer": "on_my_own"},
    "my_progress.how_did_it_go": lambda i: {"answer": "with_help", "words": "With a reminder"},
    "my_progress.target_words": lambda i: {"words": "Buy my bus ticket"},
    "reviews.progress_review": lambda i: {"held_on": str(TODAY), "attendees": "The learner",
                                          f"decision-{i['target_id']}": "keep"},
    "reviews.annual_review_page": lambda i: {"held_on": str(TODAY), "attendees": "The learner"},
    "stage5.target_summative": lambda i: {f"rating-{i['target_id']}": "secure", f"summary-{i['target_id']}": "Can do it",
                                          f"assessed_on-{i['target_id']}": str(TODAY)},
    "stage5.outcome_summative": lambda i: {f"judgement-{i['outcome_id']}": "achieved",
                                           f"summary-{i['outcome_id']}": "Travels alone", f"assessed_on-{i['outcome_id']}": str(TODAY)},
    "stage5.unplanned_outcome": lambda i: {"text": "Joined a choir", "recognised_on": str(TODAY)},
    "stage5.next_step": lambda i: {"text": "Supported internship", "agreed_on": str(TODAY)},
    "stage5.destination": lambda i: {"kind": "employment", "starts_on": str(TODAY)},
    "stage5.destination_sustained": lambda i: {"confirmed_on": str(TODAY)},
    "stage5.consents": lambda i: {"consent": "sharing_with_family", "given": "yes"},
    "plan.add_outcome": lambda i: {"text": "Make a friend at college", "pfa_area": "community", "due": "2027-07-01"},
    "plan.amend_outcome": lambda i: {"text": "Travel to college on the bus alone", "pfa_area": "independent_living",
                                     "due": "2027-07-01", "reason": "Agreed at review"},
    "plan.agree_aim": lambda i: {"text": "Travel independently", "outcome_ids": [i["outcome_id"]]},
    "plan.set_target": lambda i: {"text": "Say hello to a classmate", "success_criteria": "Every day for a week",
                                  "outcome_ids": [i["outcome_id"]], "baseline": "not_yet", "review_by": "2027-01-15"},
    "plan.revise_target": lambda i: {"kind": "revised", "text": "Buy a return ticket", "success_criteria": "Without help",
                                     "outcome_ids": [i["outcome_id"]], "review_by": "2027-03-01", "reason": "Too easy"},
    "family.members": lambda i: {"display_name": "Sam Relative", "relationship": "Aunt",
                                 "email": "sam.relative@example.org", "reason": "Annual review"},
    "family.decide": lambda i: {"decision": "accept", "targets": i["target_id"], f"rating-{i['target_id']}": "secure"},
    "family.end": lambda i: {"reason": "Moved away"},  # the learner's mum, let in by the world
    "plan.close_target": lambda i: {"closed_as": "achieved", "reason": "Done it"},  # ends the target: after its other uses
    "placements.page": lambda i: {"provider": "hillside", "reason": "Work placement"},
    "placements.leave": lambda i: {"reason": "Placement ended"},  # hillside, just joined
    "photos.choose": lambda i: {"chosen": "yes"},
    "photos.remove": lambda i: {"reason": "Another learner is in it"},  # after its choosing
    "pages.undo": lambda i: {},  # last: it withdraws the observation the correction changed
}


def test_the_auditor_writes_nothing_through_the_pages(own_world):
    w, cells = own_world, Cells()
    rules = {}
    for rule in w.flask.url_map.iter_rules():
        if "<learner_id>" in rule.rule and "POST" in rule.methods and not rule.rule.startswith("/api/") \
                and rule.endpoint not in BUNDLE_ROUTES and rule.endpoint not in FAMILY_WRITES \
                and rule.endpoint not in LEARNER_MODE_ROUTES:  # (handing over writes nothing: its own table)
            # (downloads, which write nothing, and the family's own form: tables of their own)
            rules[rule.endpoint] = rule.rule
    assert set(rules) == set(PAGE_FORMS), "a page that writes is missing from PAGE_FORMS (or gone)"
    for user in ("auditor", "send_lead"):  # refused; then the same forms work for the lead (the control)
        token = w.csrf(user)
        for name, ids in w.ids.items():
            if name not in SEES[user]:
                continue
            for endpoint in PAGE_FORMS:
                rule = rules[endpoint]
                before = w.position()
                response = w.pages(user).post(fill(rule, ids), data={"csrf_token": token, **PAGE_FORMS[endpoint](ids)})
                cell = f"{user} POST page {rule} [{name}] -> {response.status_code}"
                if user == "auditor":
                    cells.status(response.status_code in (403, 404), cell)
                    cells.check(w.position() == before, cell + ": stored something")
                else:
                    cells.status(response.status_code in (200, 201, 302), cell)
                    cells.check(w.position() > before, cell + ": stored nothing")
    cells.assert_none_wrong()


@pytest.fixture(scope="module", autouse=True)
def report_cell_count():
    yield
    print(f"\naccess matrix: {Cells.cells} cells, {Cells.checks} checks")  # seen with -s


def test_an_erased_learner_out_of_sight_looks_like_no_learner(own_world):
    w, cells = own_world, Cells()
    dan = w.ids["dan"]
    w.app.erase_learner(system_actor("test"), dan["learner_id"], reason="Erasure request")
    for user in USERS:
        if "dan" in SEES[user]:
            continue  # those who saw the learner may be told the record was erased (410)
        for rule in api_get_routes():
            unknown = w.api(user, "GET", fill(rule, {**dan, **UNKNOWN}))
            response = w.api(user, "GET", fill(rule, dan))
            cells.status(response.status_code == 404, f"{user} GET {rule} [dan, erased] -> {response.status_code}")
            cells.check(response.get_data() == unknown.get_data(), f"{user} GET {rule} [dan, erased]: body differs")
    cells.assert_none_wrong()


# --- the cohort: counts for a provider or for everyone, and the learners behind each ------------
# Every /cohort page (a new one fails the test below until it is added), with a path to ask for.
COHORT_PAGES = {
    "cohort.cohort_page": "/cohort",
    "cohort.cohort_csv": "/cohort.csv",
    "cohort.cohort_learners": "/cohort/learners",  # the learners behind "All learners"
}
# Who has a cohort (everyone else: 403). Its drill-down names exactly whom they SEE.
HAS_COHORT = {"send_lead", "riverside_lead", "auditor"}


@pytest.mark.parametrize("user", list(USERS))
def test_cohort_pages_by_role(world, user):
    found = {r.endpoint for r in world.flask.url_map.iter_rules() if r.rule.startswith("/cohort")}
    assert found == set(COHORT_PAGES), "a cohort page is missing from COHORT_PAGES (or gone)"
    cells, client = Cells(), world.pages(user)
    for endpoint, path in COHORT_PAGES.items():
        response = client.get(path)
        want = 200 if user in HAS_COHORT else 403
        cell = f"{user} page {path} -> {response.status_code}, expected {want}"
        cells.status(response.status_code == want, cell)
        text = response.get_data(as_text=True)
        for name, ids in world.ids.items():
            first, surname = ids["name"].split()
            listed = endpoint == "cohort.cohort_learners" and want == 200 and name in SEES[user]
            cells.check((f"{first} {surname[0]}." in text) == listed, cell + f": {name} named: {not listed}")
            cells.check((f'href="/learners/{ids["learner_id"]}"' in text) == listed,
                        cell + f": {name} linked: {not listed}")
    cells.assert_none_wrong()


# --- enrolling: not about one learner, so a table of its own --------------------------------------
# Who may open /learners/new and enrol (everyone else: 403, and nothing stored).
ENROLS = {"send_lead": "northfield", "riverside_lead": "riverside"}


def test_enrolling_by_role(own_world):
    w, cells = own_world, Cells()
    for user in USERS:
        client = w.pages(user)
        page = client.get("/learners/new")
        want = 200 if user in ENROLS else 403
        cells.status(page.status_code == want, f"{user} page /learners/new -> {page.status_code}, expected {want}")
        body = {"csrf_token": w.csrf(user), "name": f"New Learner {user}", "date_of_birth": "2008-01-01",
                "provider": ENROLS.get(user, "northfield")}
        before = w.position()
        response = client.post("/learners/new", data=body)
        want = 302 if user in ENROLS else 403
        cell = f"{user} POST page /learners/new -> {response.status_code}, expected {want}"
        cells.status(response.status_code == want, cell)
        cells.check((w.position() > before) == (want == 302), cell + ": stored" + ("" if w.position() > before else " nothing"))
    cells.assert_none_wrong()


# --- erasure by an administrator: by the record's reference, not by sight, so a table of its own ------
# Every /admin route and its methods (a new one fails the test below until it is added).
ERASURE_ROUTES = {"erasure.find": {"GET", "POST"}, "erasure.confirm": {"POST"}, "erasure.done": {"GET"}}
# Who may erase (everyone else: 403 on every route, nothing stored, no learner named). The
# administrator sees no learner (SEES), yet is shown any learner's name and providers by reference.
ERASES = {"admin"}


def test_erasure_by_role(world):
    """GET the form, look a learner up by reference, send a confirmation with a wrong
    name (refused for everyone: by the form for the administrator, by role for the
    rest), and the done page of a record that is not erased. Nothing is stored."""
    w, cells = world, Cells()
    found = {r.endpoint: set(r.methods) - {"HEAD", "OPTIONS"} for r in w.flask.url_map.iter_rules()
             if r.endpoint.startswith("erasure.")}
    assert found == ERASURE_ROUTES, "an erasure route is missing from ERASURE_ROUTES (or gone)"
    for user in USERS:
        client, token, may = w.pages(user, fresh=True), w.csrf(user), user in ERASES
        before = w.position()
        page = client.get("/admin/erasure")
        cells.status(page.status_code == (200 if may else 403), f"{user} page /admin/erasure -> {page.status_code}")
        for name, ids in w.ids.items():
            lid = ids["learner_id"]
            shown = client.post("/admin/erasure", data={"csrf_token": token, "learner_id": lid})
            cell = f"{user} POST /admin/erasure [{name}] -> {shown.status_code}"
            cells.status(shown.status_code == (200 if may else 403), cell)
            cells.check((ids["name"] in shown.get_data(as_text=True)) == may, cell + f": named {not may}")
            refused = client.post("/admin/erasure/confirm", data={"csrf_token": token, "learner_id": lid,
                                                                  "typed_name": "Not Them", "reason": "Request"})
            cells.status(refused.status_code == (422 if may else 403),
                         f"{user} POST /admin/erasure/confirm [{name}, wrong name] -> {refused.status_code}")
            done = client.get(f"/admin/erasure/done?reference={lid}")
            cells.status(done.status_code == (404 if may else 403),
                         f"{user} page /admin/erasure/done [{name}, not erased] -> {done.status_code}")
        cells.check(w.position() == before, f"{user} /admin/erasure: stored something")
    cells.assert_none_wrong()


# --- administration: users, providers, caseloads, the admin audit list (web/admin.py) -----------------
# Every admin route and its methods (a new one fails the test below until it is added), with a valid
# form for each POST (so a refusal is about the role, not the input). <user_id> is other_tutor's.
ADMIN_ROUTES = {
    "admin.home": {"GET"},
    "admin.providers": {"GET"},
    "admin.add_provider": {"GET", "POST"},
    "admin.users": {"GET"},
    "admin.invite": {"GET", "POST"},
    "admin.user": {"GET"},
    "admin.change_role": {"GET", "POST"},
    "admin.deactivate": {"GET", "POST"},
    "admin.reactivate": {"GET", "POST"},
    "admin.password_link": {"GET", "POST"},
    "admin.caseloads": {"GET"},
    "admin.caseload": {"GET", "POST"},
    "admin.audit": {"GET"},
}
ADMIN_FORMS = {
    "admin.add_provider": lambda ids: {"slug": "lakeside", "name": "Lakeside College", "reason": "Partner"},
    "admin.invite": lambda ids: {"display_name": "New Person", "email": "new.person@example.org", "role": "tutor",
                                 "provider": "northfield", "reason": "New tutor"},
    "admin.change_role": lambda ids: {"role": "support", "provider": "northfield", "reason": "Changed jobs"},
    "admin.deactivate": lambda ids: {"reason": "Left"},
    "admin.reactivate": lambda ids: {"reason": "Back"},
    "admin.password_link": lambda ids: {"reason": "Forgot it"},
    "admin.caseload": lambda ids: {"learner_ids": ids["amy"]["learner_id"], "reason": "Spring term"},
}
# Who may administer (everyone else: 403 on every route and method, nothing stored, nothing logged).
ADMINISTERS = {"admin"}


def test_administration_by_role(world):
    """Every user GETs every admin page and POSTs every admin form: the administrator gets the page
    (200), and a form without its reason is refused by the form (422); everyone else gets 403 before
    anything is read, logged or stored, and no learner is named."""
    from rarpa.record import user_id

    w, cells = world, Cells()
    found = {r.endpoint: (r.rule, set(r.methods) - {"HEAD", "OPTIONS"}) for r in w.flask.url_map.iter_rules()
             if r.endpoint.startswith("admin.")}
    assert {e: m for e, (_, m) in found.items()} == ADMIN_ROUTES, "an admin route is missing from ADMIN_ROUTES (or gone)"
    assert set(ADMIN_FORMS) == {e for e, m in ADMIN_ROUTES.items() if "POST" in m}
    target = str(user_id("other_tutor@example.org"))
    for user in USERS:
        client, token, may = w.pages(user), w.csrf(user), user in ADMINISTERS
        before, logged = w.position(), len(w.app.vault.access.entries())
        for endpoint, (rule, methods) in sorted(found.items()):
            path = rule.replace("<user_id>", target)
            page = client.get(path)
            cell = f"{user} page {path} -> {page.status_code}"
            cells.status(page.status_code == (200 if may else 403), cell)
            if not may:
                cells.check(all(ids["name"].split()[0] not in page.get_data(as_text=True) for ids in w.ids.values()),
                            cell + ": a learner named")
            if "POST" in methods:
                body = ADMIN_FORMS[endpoint](w.ids)
                if may:
                    body = {**body, "reason": ""}
                sent = client.post(path, data={"csrf_token": token, **body})
                cells.status(sent.status_code == (422 if may else 403),
                             f"{user} POST {path}{' (no reason)' if may else ''} -> {sent.status_code}")
        cells.check(w.position() == before, f"{user} admin routes: stored something")
        if not may:
            cells.check(len(w.app.vault.access.entries()) == logged, f"{user} admin routes: wrote the access log")
    cells.assert_none_wrong()


# Setting a password with a one-time link: anyone holding a link, signed in or not; a link that
# is not one is a 404 for everyone, and nothing is stored.
INVITATION_ROUTES = {"invitation.set_password": {"GET", "POST"}}


@pytest.mark.parametrize("user", [*USERS, None])
def test_a_made_up_link_sets_no_password_for_anyone(world, user):
    found = {r.endpoint: set(r.methods) - {"HEAD", "OPTIONS"} for r in world.flask.url_map.iter_rules()
             if r.endpoint.startswith("invitation.")}
    assert found == INVITATION_ROUTES, "an invitation route is missing from INVITATION_ROUTES (or gone)"
    client = world.pages(user) if user else world.flask.test_client()
    token = world.csrf(user) if user else token_of(client.get("/login").get_data(as_text=True))
    before = world.position()
    assert client.get("/invite/made-up-link").status_code == 404
    sent = client.post("/invite/made-up-link", data={"csrf_token": token, "password": "kettle lantern orchard",
                                                      "confirm": "kettle lantern orchard"})
    assert sent.status_code == 404 and world.position() == before
    Cells.cells += 2; Cells.checks += 2


# --- recording for a group: several learners in one form, so a table of its own ---------------------
# Every /group route and its methods (a new one fails the test below until it is added).
GROUP_ROUTES = {"group.page": {"GET"}, "group.save": {"POST"}}


def test_group_recording_by_role_and_learner(own_world):
    """GET /group: 200 for a role that records (naming exactly whom they SEE), else 403.
    With one learner, GET /group?learner= and a plain POST answer as recording for that
    learner would: 403 for a role that does not record, 404 out of sight (nothing
    stored), 200 / 303 and one observation stored in sight."""
    w, cells = own_world, Cells()
    found = {r.endpoint: set(r.methods) - {"HEAD", "OPTIONS"} for r in w.flask.url_map.iter_rules()
             if r.rule.startswith("/group")}
    assert found == GROUP_ROUTES, "a /group route is missing from GROUP_ROUTES (or gone)"
    for user in USERS:
        client = w.pages(user)
        records = "record" in MAY[role_of(user)]
        response = client.get("/group")
        cells.status(response.status_code == (200 if records else 403), f"{user} page /group -> {response.status_code}")
        text = response.get_data(as_text=True)
        for name, ids in w.ids.items():
            first, surname = ids["name"].split()
            listed = records and name in SEES[user]
            cells.check((f"{first} {surname[0]}." in text) == listed, f"{user} page /group: {name} named: {not listed}")
        for name, ids in w.ids.items():
            lid = ids["learner_id"]
            want = expected(user, name, "record") if records else 403
            response = client.get(f"/group?learner={lid}")
            cells.status(response.status_code == want, f"{user} page /group [{name}] -> {response.status_code}, "
                                                       f"expected {want}")
            body = {"csrf_token": w.csrf(user), "learner": lid, f"id-{lid}": str(uuid.uuid4()),
                    f"target-{lid}": ids["target_id"], f"rating-{lid}": "secure", "context": "classroom",
                    "observed_at": (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()}
            before = w.position()
            response = client.post("/group", data=body)
            want = 303 if want == 200 else want
            cell = f"{user} POST page /group [{name}] -> {response.status_code}, expected {want}"
            cells.status(response.status_code == want, cell)
            moved = w.position() != before
            cells.check(moved == (want == 303), cell + (": stored something" if moved else ": stored nothing"))
    cells.assert_none_wrong()


# --- records to download: POST forms that make a ZIP and write only to the access log ----------------
# Every download of a learner's whole record (a new one fails the test below until it is added), and
# the action it needs: "share", the SEND lead's (MAY).
BUNDLE_ROUTES = {"bundles.transfer_pack_zip": "share", "bundles.subject_access_zip": "share"}
FAMILY_WRITES = {"family.send": "contribute"}


def test_only_a_learners_family_sends_from_home(own_world):
    """The family's form, by every user on every learner: their own learner's
    family member is taken (302, stored); everyone else refused, nothing stored."""
    w, cells = own_world, Cells()
    found = {r.endpoint for r in w.flask.url_map.iter_rules() if r.endpoint.startswith("family.")
             and "POST" in r.methods and ROUTE_ACTIONS.get(r.endpoint) in FAMILY_ACTIONS}
    assert found == set(FAMILY_WRITES), "a family write is missing from FAMILY_WRITES (or gone)"
    for user in USERS:
        token = w.csrf(user)
        for name, ids in w.ids.items():
            want = expected(user, name, "contribute")
            before = w.position()
            response = w.pages(user).post(f"/family/{ids['learner_id']}/send", data={
                "csrf_token": token, "contribution_id": str(uuid.uuid4()), "words": "Laid the table",
                "happened_on": str(TODAY)})
            cell = f"{user} POST /family/…/send [{name}] -> {response.status_code}, expected {want}"
            cells.status(response.status_code == (302 if want == 200 else want), cell)
            cells.check((w.position() > before) == (want == 200), cell + ": stored or not, wrongly")
    cells.assert_none_wrong()


def test_records_to_download_by_role_and_learner(world):
    """Every user POSTs each download for every learner: 404 out of sight (the same page as a
    missing learner, no name), 403 in sight without the right, else a ZIP of that learner as
    an attachment. Nothing is stored in the record, and the learner's access log gains one
    entry exactly when a ZIP is made."""
    w, cells = world, Cells()
    found = {r.endpoint: r.rule for r in w.flask.url_map.iter_rules() if r.endpoint.startswith("bundles.")}
    assert set(found) == set(BUNDLE_ROUTES), "a download is missing from BUNDLE_ROUTES (or gone)"
    for user in USERS:
        client, token = w.pages(user, fresh=True), w.csrf(user)
        for endpoint, rule in sorted(found.items()):
            unknown = client.post(fill(rule, {**w.ids["amy"], **UNKNOWN}), data={"csrf_token": token})
            cells.status(unknown.status_code == 404, f"{user} POST {rule} (no such learner) -> {unknown.status_code}")
            for name, ids in w.ids.items():
                want = expected(user, name, BUNDLE_ROUTES[endpoint])
                before, logged = w.position(), len(w.app.vault.access.entries(ids["learner_id"]))
                response = client.post(fill(rule, ids), data={"csrf_token": token})
                cell = f"{user} POST {rule} [{name}] -> {response.status_code}, expected {want}"
                cells.status(response.status_code == want, cell)
                cells.check(w.position() == before, cell + ": stored something in the record")
                entries = len(w.app.vault.access.entries(ids["learner_id"])) - logged
                cells.check(entries == (1 if want == 200 else 0), cell + f": {entries} access-log entries")
                if want == 404:
                    cells.check(not page_difference(response, unknown), cell + ": body differs from a missing learner's")
                    cells.check(ids["name"].split()[0] not in response.get_data(as_text=True), cell + ": name shown")
                elif want == 200:
                    disposition = response.headers.get("Content-Disposition", "")
                    cells.check(response.mimetype == "application/zip", cell + ": not a ZIP")
                    cells.check(disposition.startswith("attachment;") and ids["name"].lower().replace(" ", "-")
                                in disposition, cell + f": not this learner's download ({disposition})")
    cells.assert_none_wrong()


# --- handing the tablet to a learner: locks the session, writes nothing, so a table of its own ----------
# Every POST of learner mode that names a learner (a new one fails the test below until it is added), and
# the action it needs: "record", whoever records for the learner (MAY). The unlock names no learner
# (SIGNED_IN: the route table tests it with the other routes; tests/test_learner_mode.py what it does).
LEARNER_MODE_ROUTES = {"learner_mode.hand_over": "record"}


def test_handing_the_tablet_to_a_learner_by_role_and_learner(world):
    """Every user hands over every learner, each from a session of its own (a handed-over
    session is locked): 404 out of sight (the same page as a missing learner, no name), 403
    in sight without the right, and neither locks the session; else 303 to that learner's
    own pages, and the session then reaches nothing else. Nothing is stored either way."""
    w, cells = world, Cells()
    found = {r.endpoint: r.rule for r in w.flask.url_map.iter_rules()
             if r.endpoint.startswith("learner_mode.") and "<learner_id>" in r.rule}
    assert set(found) == set(LEARNER_MODE_ROUTES), "a learner-mode route is missing from LEARNER_MODE_ROUTES (or gone)"
    for endpoint, rule in sorted(found.items()):
        for user in USERS:
            for name, ids in [("(no such learner)", {**w.ids["amy"], **UNKNOWN, "name": "Nobody Here"}),
                              *w.ids.items()]:
                client = w.flask.test_client()
                assert sign_in(client, f"{user}@example.org", PASSWORD).status_code == 302
                token = token_of(client.get("/", follow_redirects=True).get_data(as_text=True))
                want = 404 if name.startswith("(") else expected(user, name, LEARNER_MODE_ROUTES[endpoint])
                before = w.position()
                response = client.post(fill(rule, ids), data={"csrf_token": token})
                cell = f"{user} POST {rule} [{name}] -> {response.status_code}, expected {want}"
                cells.status(response.status_code == (303 if want == 200 else want), cell)
                cells.check(w.position() == before, cell + ": stored something")
                today = client.get("/")
                if want == 200:
                    mine = f"/learners/{ids['learner_id']}/me"
                    cells.check(response.headers.get("Location", "").endswith(mine), cell + ": not to their pages")
                    cells.check(today.status_code == 303 and today.headers["Location"].endswith(mine),
                                cell + f": not locked (Today -> {today.status_code})")
                else:
                    home = client.get("/", follow_redirects=True)  # Today, or a family member's own page
                    cells.check(home.status_code == 200 and home.headers.get("X-Learner-Mode") == "off",
                                cell + f": locked all the same (Today -> {today.status_code})")
                    cells.check(ids["name"].split()[0] not in response.get_data(as_text=True), cell + ": name shown")
    cells.assert_none_wrong()


# --- checking a fingerprint: not about a learner in the address, so a table of its own ----------------
# Every page of the workspace outside a learner's address (a new one fails the test below until it is added).
FINGERPRINT_PAGES = {"workspace.fingerprint_page": "/fingerprint"}


@pytest.mark.parametrize("user", list(USERS))
def test_checking_a_fingerprint_by_role(world, user):
    """Anyone who may READ learners may check a fingerprint (200; the
    administrator and a family member, who read none, 403). It matches, naming the learner,
    exactly for the learners they SEE; for anyone else it does not match, and
    the learner is not named."""
    found = {r.endpoint: r.rule for r in world.flask.url_map.iter_rules()
             if r.endpoint.startswith("workspace.") and "<learner_id>" not in r.rule}
    assert found == FINGERPRINT_PAGES, "a workspace page is missing from FINGERPRINT_PAGES (or gone)"
    cells, client = Cells(), world.pages(user)
    if role_of(user) in ("admin", "family"):  # they read no learner's record
        page = client.get("/fingerprint")
        assert page.status_code == 403, page.status_code
        return
    cells.status(client.get("/fingerprint").status_code == 200, f"{user} page /fingerprint")
    for name, ids in world.ids.items():
        lid = ids["learner_id"]
        fingerprint = world.app.fingerprint(uuid.UUID(lid), 2)
        response = client.get(f"/fingerprint?learner={lid}&fingerprint={fingerprint}")
        text = response.get_data(as_text=True)
        cell = f"{user} page /fingerprint [{name}] -> {response.status_code}"
        cells.status(response.status_code == 200, cell)
        sees = name in SEES[user]
        cells.check(("It matches" in text) == sees, cell + f": matches {not sees}")
        first, surname = ids["name"].split()
        cells.check((f"{first} {surname[0]}." in text) == sees, cell + f": named {not sees}")
    cells.assert_none_wrong()


# --- signing in, and the password again before a sensitive action: no learner in the address -----
# Every route of web/auth.py (a new one fails the test below until it is added), and its methods.
SIGN_IN_ROUTES = {"auth.login": {"GET", "POST"}, "auth.logout": {"POST"}, "auth.confirm": {"GET", "POST"}}


@pytest.mark.parametrize("user", list(USERS))
def test_confirm_it_is_you_by_role(world, user):
    """"Confirm it's you" is for anyone signed in (200, naming them): a wrong password is
    refused (401), theirs goes back (303). Without a session it sends to sign in."""
    found = {r.endpoint: set(r.methods) - {"HEAD", "OPTIONS"} for r in world.flask.url_map.iter_rules()
             if r.endpoint.startswith("auth.")}
    assert found == SIGN_IN_ROUTES, "a sign-in route is missing from SIGN_IN_ROUTES (or gone)"
    cells, client = Cells(), world.pages(user)
    page = client.get("/confirm?next=/")
    cells.status(page.status_code == 200, f"{user} page /confirm -> {page.status_code}")
    cells.check(f"{user}@example.org" in page.get_data(as_text=True), f"{user} page /confirm: not their email")
    wrong = client.post("/confirm", data={"csrf_token": world.csrf(user), "password": PASSWORD + "?", "next": "/"})
    cells.status(wrong.status_code == 401, f"{user} POST /confirm (wrong password) -> {wrong.status_code}")
    sent = client.post("/confirm", data={"csrf_token": world.csrf(user), "password": PASSWORD, "next": "/"})
    cells.status(sent.status_code == 303, f"{user} POST /confirm (their password) -> {sent.status_code}")
    nobody = world.flask.test_client().get("/confirm")
    cells.status(nobody.status_code == 302 and "/login" in nobody.headers["Location"],
                 f"nobody page /confirm -> {nobody.status_code}")
    cells.assert_none_wrong()


# --- every route not about one learner: the rule table by role, and who may ask at all -----------------
# Values for the placeholders of routes that name something other than a learner.
OTHER_PLACEHOLDERS = {"key": "learners", "token": "not-a-real-invitation", "name": "htmx.min.js", "digest": "000000000000",
                      "filename": "app.css", "status": "404"}


def _other_routes(flask_app) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every route whose address names no learner."""
    from rarpa.record import user_id

    values = {**OTHER_PLACEHOLDERS, "user_id": str(user_id("other_tutor@example.org"))}
    found = []
    for rule in flask_app.url_map.iter_rules():
        if "<learner_id>" in rule.rule:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((rule.endpoint, method, fill(rule.rule, values)))
    return sorted(found)


def test_every_route_not_about_a_learner_follows_the_table_by_role(world):
    """Each role asks for every other route (a POST with only its CSRF token or
    an empty JSON body): a role the table does not allow the route's action is
    refused 403 and nothing is stored; an allowed one is never refused (it may
    be told its input is missing). Logging out is checked last, on its own."""
    cells = Cells()
    routes = [r for r in _other_routes(world.flask) if r[0] != "auth.logout"]
    assert len(routes) >= 40, routes
    for user in USERS:
        role = role_of(user)
        actor = Actor(user_id=user, role=role)
        before = world.position()
        for endpoint, method, path in routes:
            action = action_for(endpoint, method)
            allowed = action in rules.WORDS or actor.may(action)
            if path.startswith("/api/"):
                response = world.api(user, method, path.removeprefix("/api/v1"), {} if method == "POST" else None)
            elif method == "POST":
                response = world.pages(user).post(path, data={"csrf_token": world.csrf(user)})
            else:
                response = world.pages(user).get(path)
            refused = response.status_code == 403
            cells.status(refused != allowed, f"{user} {method} {path} ({action}) -> {response.status_code}, "
                                             f"{'allowed' if allowed else 'refused'} by the table")
            cells.check(response.status_code < 500, f"{user} {method} {path} -> {response.status_code}")
        cells.check(world.position() == before, f"{user}: stored something")
    cells.assert_none_wrong()


def test_only_public_routes_answer_without_signing_in(world):
    """Signed out, every route but the PUBLIC ones sends the page to sign in
    (or answers 401 on the API); the PUBLIC ones answer as themselves."""
    cells = Cells()
    client = world.flask.test_client()
    for endpoint, method, path in _other_routes(world.flask):
        public = action_for(endpoint, method) == rules.PUBLIC
        if path.startswith("/api/"):
            response = client.open(path, method=method, json={} if method == "POST" else None)
            to_sign_in = response.status_code == 401
        else:
            token = token_of(client.get("/login").get_data(as_text=True))  # a signed-out form's own CSRF token
            response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
            to_sign_in = response.status_code in (302, 303) and "/login" in response.headers.get("Location", "")
        cells.status(to_sign_in != public, f"anonymous {method} {path} -> {response.status_code}, "
                                           f"{'public' if public else 'needs signing in'}")
    for name, ids in world.ids.items():
        for rule in sorted(page_get_routes(world.flask).values()):
            response = client.get(fill(rule, ids))
            cells.status(response.status_code in (302, 303), f"anonymous GET {rule} [{name}] -> {response.status_code}")
    cells.assert_none_wrong()


def test_signing_out_is_for_whoever_is_signed_in(world):
    for user in USERS:
        client = world.flask.test_client()
        sign_in(client, f"{user}@example.org", PASSWORD)
        token = token_of(client.get("/", follow_redirects=True).get_data(as_text=True))
        out = client.post("/logout", data={"csrf_token": token})
        assert out.status_code in (302, 303), (user, out.status_code)
        assert client.get("/").status_code == 302

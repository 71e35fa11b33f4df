"""Shared fixtures: a fresh store per test, in a temporary folder, using the
real SQLite files, the real vault and the real read model."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.config import Settings
from rarpa.read.projections import Projector
from tests.localhost import PG_SERVER, db_env
from tests.saved_state import cache_differences

PASSWORD = "correct horse battery"


def pytest_addoption(parser):
    parser.addoption("--store", choices=("sqlite", "postgres"), default=os.environ.get("RARPA_TEST_STORE", "sqlite"),
                     help="the event store every test's record is kept in (default sqlite; "
                          "postgres starts a throwaway local server)")


def pytest_report_header(config):
    return f"rarpa store: {config.getoption('--store')}"


def pytest_collection_modifyitems(config, items):
    """Each run keeps the tests about its own store: a test marked
    ``sqlite_file`` examines the SQLite files themselves (bytes left in free
    space, a file copied back, a backup of files) and has its PostgreSQL
    counterpart in tests/test_postgres*.py, marked ``postgres_only``."""
    store = config.getoption("--store")
    unwanted = "postgres_only" if store == "sqlite" else "sqlite_file"
    kept = [item for item in items if unwanted not in item.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if unwanted in item.keywords])
        items[:] = kept


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server for the whole run (Debian's binaries, fsync
    off: nothing in it outlives the run)."""
    from rarpa.store import pg_local

    folder = tempfile.mkdtemp(prefix="rarpa-test-pg-")  # in /tmp: the server's own user must reach it
    server = pg_local.start(folder, durable=False)
    yield server
    server.stop("immediate")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def store_of_the_run(request):
    """With --store=postgres, every record a test makes (tests.localhost.db_env)
    goes in a schema of its own on the run's PostgreSQL server."""
    if request.config.getoption("--store") != "postgres":
        yield None
        return
    server = request.getfixturevalue("postgres")
    os.environ[PG_SERVER] = server.url()
    yield server
    os.environ.pop(PG_SERVER, None)


@pytest.fixture
def settings(tmp_path):
    # The cheapest argon2 profile: real hashing, at a cost that keeps the suite quick.
    return Settings.from_env({**db_env(tmp_path / "rarpa.sqlite3"), "RARPA_PASSWORD_PROFILE": "cheapest"})


@pytest.fixture
def app(settings):
    application = RecordApplication(settings)
    yield application
    try:
        assert cache_differences(application) == [], "a cached learner differs from its replay"
    finally:
        application.close()


@pytest.fixture
def projector(app):
    p = Projector(app.settings.views, app)
    yield p
    p.close()


@pytest.fixture
def system():
    return system_actor("test")


@pytest.fixture
def world(app, system):
    """Two providers, one learner at each, an outcome and a target each, and
    one user of every role (tutor and support with the first learner)."""
    app.register_provider(system, "northfield", "Northfield College")
    app.register_provider(system, "riverside", "Riverside Specialist College")
    users = {
        "tutor": ("tutor@example.org", "northfield"),
        "support": ("support@example.org", "northfield"),
        "send_lead": ("lead@example.org", "northfield"),
        "auditor": ("auditor@example.org", None),
        "admin": ("admin@example.org", None),
        "other_tutor": ("tutor2@example.org", "northfield"),
        "riverside_lead": ("lead.riverside@example.org", "riverside"),
    }
    for key, (email, provider) in users.items():
        role = {"other_tutor": "tutor", "riverside_lead": "send_lead"}.get(key, key)
        app.add_user(system, email=email, role=role, password=PASSWORD, provider=provider)
    amy = app.enrol_learner(system, name="Amy Jones", date_of_birth="2007-03-01", provider="northfield").result
    ben = app.enrol_learner(system, name="Ben Smith", date_of_birth="2006-05-09", provider="riverside").result
    out = {"learners": {"amy": amy, "ben": ben}, "users": {k: v[0] for k, v in users.items()}}
    for key, lid in out["learners"].items():
        oid = app.record_outcome(system, lid, text="Travel to college on the bus",
                                 pfa_area="independent_living", due="2027-07-01").result
        tid = app.set_target(system, lid, text="Buy a bus ticket", success_criteria="Without help",
                             outcome_ids=[oid], baseline="emerging", review_by="2027-01-15").result
        out[key] = {"outcome": oid, "target": tid}
    app.add_to_caseload(system, "tutor@example.org", amy)
    app.add_to_caseload(system, "support@example.org", amy)
    out["actors"] = {k: app.actor_for(app.user(v[0])) for k, v in users.items()}
    return out


@pytest.fixture
def web(settings, world):
    """Flask's test client on the app, with its own services on the same files."""
    from web import create_app
    from web.services import Services

    services = Services(settings)
    yield create_app(services=services).test_client()
    try:
        assert cache_differences(services.app) == [], "a cached learner differs from its replay"
    finally:
        services.close()


def observation(target_id, rating="developing", minutes_ago=5, **extra):
    body = {
        "observation_id": str(uuid.uuid4()),
        "target_id": target_id,
        "rating": rating,
        "observed_at": datetime.now(timezone.utc) - timedelta(minutes=minutes_ago),
    }
    body.update(extra)
    return body

"""The `rarpa` command: the same service the API uses, from a shell.

The CLI acts as the `system` role (whoever runs it already holds the database
files); every event it writes says so, with the operating-system user's name.
"""

from __future__ import annotations

import getpass
import importlib
import json
import sys

import click

from rarpa.service.access import Forbidden, NotFound, system_actor
from rarpa.service.application import Erased, RecordApplication
from rarpa.config import Settings
from rarpa.record import RuleBroken


def _actor():
    try:
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "operator"
    return system_actor(who)


def _app() -> RecordApplication:
    return RecordApplication(Settings.from_env())


def _projector(app):
    from rarpa.read.projections import Projector

    return Projector(app.settings.views, app)


def _fail(message: str, code: int = 1):
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class Group(click.Group):
    """Turns the record's own errors into one readable line and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RuleBroken as e:
            _fail(f"{e.field}: {e.message}")
        except NotFound as e:
            _fail(f"no such {e.args[0] if e.args else 'thing'}")
        except Forbidden as e:
            _fail(str(e))
        except Erased:
            _fail("that learner's data was erased")
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as e:  # say what went wrong in one line, not a traceback
            _fail(f"{type(e).__name__}: {e}")


@click.group(cls=Group)
@click.version_option(package_name="rarpa-record")
def main():
    """RARPA Record: progress records for learners with SEND.

    The store is chosen by RARPA_DB (default ./var/rarpa.sqlite3).
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host, port, threads):
    """Serve the app and API with a production WSGI server (waitress)."""
    # The web adapter is loaded by name: this package itself never imports Flask.
    importlib.import_module("web.server").serve(host=host, port=port, threads=threads)


@main.command()
@click.option("--learners", default=14, show_default=True, help="How many learners to create.")
def demo(learners):
    """Load realistic demo data (idempotent: running it again adds nothing)."""
    from rarpa.cli.demo import load_demo

    app = _app()
    load_demo(app, learners=learners, echo=click.echo)
    with click.progressbar(length=app.recorder.max_notification_id() or 0, label="Read model") as bar:
        _projector(app).catch_up(on_batch=bar.update)


@main.group()
def provider():
    """Providers (colleges) and their short codes."""


@provider.command("add")
@click.argument("slug")
@click.argument("name")
def provider_add(slug, name):
    """Add a provider, e.g.: rarpa provider add northfield "Northfield College"."""
    written = _app().register_provider(_actor(), slug, name)
    click.echo(f"{'added' if written.created else 'already there'}: {written.result}")


@main.group()
def user():
    """Staff accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["tutor", "support", "send_lead", "auditor", "admin"]))
@click.option("--provider", default=None, help="The provider's short code (tutor, support, send_lead).")
@click.option("--name", "display_name", default="", help="Name shown to colleagues.")
def user_add(email, role, provider, display_name):
    """Add a user; the password is read from standard input."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    from marshmallow import ValidationError

    from rarpa.service.schemas import UserIn

    try:
        UserIn().load({"email": email, "role": role, "provider": provider, "display_name": display_name})
    except ValidationError as e:
        _fail("; ".join(f"{k}: {' '.join(v)}" for k, v in e.messages.items()))
    written = _app().add_user(
        _actor(), email=email, role=role, password=password, provider=provider, display_name=display_name
    )
    click.echo(f"added {email} ({role}) as {written.result}")


@main.group()
def caseload():
    """Which learners a tutor or support assistant works with."""


@caseload.command("add")
@click.argument("email")
@click.argument("learner_id")
def caseload_add(email, learner_id):
    """Put a learner on a tutor's or support assistant's caseload."""
    written = _app().add_to_caseload(_actor(), email, learner_id)
    click.echo("added" if written.created else "already on the caseload")


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("email")
@click.option("--label", default="cli", show_default=True)
def token_create(email, label):
    """Create a bearer token for EMAIL and print it (alone, for scripts)."""
    click.echo(_app().create_token(email, label))


@main.command()
def rebuild():
    """Drop the read model and replay every event into it."""
    app = _app()
    total = app.recorder.max_notification_id() or 0
    with click.progressbar(length=total, label="Replaying events") as bar:
        position = _projector(app).rebuild(on_batch=bar.update)
    click.echo(f"read model rebuilt to event {position}")


def _parse_as_at(value):
    from rarpa.read.history import parse_instant

    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as e:
        _fail(f"--as-at {e}", 2)


@main.command()
@click.argument("learner_id")
@click.option("--as-at", "as_at", default=None, help="ISO date-time with offset: the record as it stood then.")
def history(learner_id, as_at):
    """The learner's events and progress (as JSON), now or as at a time."""
    from rarpa.read.history import history as history_of

    result = history_of(_app(), _actor(), learner_id, _parse_as_at(as_at))
    click.echo(json.dumps(result, indent=2))


@main.command()
@click.argument("learner_id")
def export(learner_id):
    """Every event of the learner as JSON lines (for transfer or archive)."""
    import events

    for event in _app().learner_events(_actor(), learner_id):
        click.echo(json.dumps(events.to_json(event), sort_keys=True))


@main.command()
def verify():
    """Check the hash chains, the signed head and every snapshot; exit 1 naming the first break."""
    from rarpa.store.verify import verify as run_verify

    app = _app()
    report = run_verify(app)
    if report.ok:
        click.echo(
            f"ok: {report.events} events in {report.streams} streams, "
            f"{report.snapshots} snapshots checked ({report.snapshots_skipped} of erased learners skipped), "
            f"head signed by the application at event {report.signed_head or 0}"
        )
        return
    click.secho(f"TAMPERED: {len(report.problems)} problem(s); the first:", fg="red", err=True)
    click.echo(report.problems[0], err=True)
    for line in report.problems[1:10]:
        click.echo(f"  also: {line}", err=True)
    sys.exit(1)


@main.command()
@click.argument("learner_id")
@click.option("--reason", required=True, help="Why (e.g. the learner's erasure request and its date).")
@click.confirmation_option(prompt="This cannot be undone. Erase this learner's personal data?")
def erase(learner_id, reason):
    """Erase a learner's personal data by destroying their key (crypto-shredding).

    The key is overwritten in the vault and its write-ahead log; the learner's
    rows are purged from the read model and its free space and WAL cleared.
    Backups taken before the erasure still hold the key: see the README."""
    app = _app()
    written = app.erase_learner(_actor(), learner_id, reason)
    projector = _projector(app)
    projector.catch_up()
    projector.scrub()  # also when a running server applied the erasure first
    if written.created:
        click.echo(f"erased {written.result}: events kept (chained, countable), content unreadable")
    else:
        click.echo(f"{written.result} was already erased; its key and read-model rows are cleared from every file")


@main.command()
def events():
    """The event catalogue: every event type, its version and fields."""
    import events as catalogue

    for row in catalogue.catalogue():
        click.echo(f"{row['type']} v{row['version']}{'' if row['personal'] else ' (clear)'}: "
                   f"{', '.join(row['fields'])}")


@main.command()
@click.option("--writes", default=2000, show_default=True, help="Observation writes per measurement.")
@click.option("--threads", default=8, show_default=True, help="Concurrent writers for the group-commit test.")
def bench(writes, threads):
    """Measure writes and rebuild against raw SQLite in the same run; print ratios."""
    from rarpa.cli.bench import run

    run(writes=writes, threads=threads, echo=click.echo)


if __name__ == "__main__":
    main()

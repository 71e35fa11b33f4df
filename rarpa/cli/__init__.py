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
from rarpa.config import Settings, is_postgres
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
@click.option("--scale", default=None, metavar="N", help="Instead: N generated learners with years of history "
              "each, into an empty store (README, `rarpa demo --scale`).")
@click.option("--years", default=None, metavar="Y", help="With --scale: years of history per learner [default: 5].")
@click.option("--seed", default=None, help="With --scale: the same seed and --today give the same record [default: 1].")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="With --scale: the day the history ends.")
def demo(learners, scale, years, seed, today):
    """Load realistic demo data (idempotent: running it again adds nothing).
    With --scale N: N generated learners, five years each, into an empty store."""
    if (scale, years, seed, today) != (None, None, None, None):
        from rarpa.cli.scale import run_command

        return run_command(scale, years=years, seed=seed, today=today)
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


@provider.command("leave")
@click.argument("learner_id")
@click.argument("slug")
@click.option("--reason", required=True, help="Why the provider stops working with the learner.")
def provider_leave(learner_id, slug, reason):
    """A provider stops working with a learner (the end of a dual placement):
    its staff lose sight of the learner at once; what they recorded stays."""
    written = _app().leave_provider(_actor(), learner_id, provider=slug, reason=reason)
    click.echo(f"{slug} no longer works with {written.learner_id}")


@main.group()
def user():
    """Staff accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["tutor", "support", "send_lead", "auditor", "admin"]))
@click.option("--provider", default=None, help="The provider's short code (tutor, support, send_lead).")
@click.option("--name", "display_name", default="", help="Name shown to colleagues.")
def user_add(email, role, provider, display_name):
    """Add a user; the password is read from standard input.

    The password policy (rarpa/service/passwords.py) applies: at least 12
    characters, not a common password, not the email or name."""
    from rarpa.service.passwords import password_problem

    if sys.stdin.isatty():
        for _ in range(3):
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            problem = password_problem(password, email=email, name=display_name)
            if not problem:
                break
            click.secho(problem + ".", fg="red", err=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    if problem := password_problem(password, email=email, name=display_name):
        _fail(problem)  # before anything is written (the service checks again)
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


def _input(schema, body: dict) -> dict:
    from marshmallow import ValidationError

    try:
        return schema().load(body)
    except ValidationError as e:
        _fail("; ".join(f"{k}: {' '.join(v)}" for k, v in e.messages.items()))


@user.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["tutor", "support", "send_lead", "auditor", "admin"]))
@click.option("--provider", default=None, help="The provider's short code (tutor, support, send_lead).")
@click.option("--name", "display_name", required=True, help="The person's full name.")
@click.option("--reason", default="Invited at the command line", show_default=True, help="Why they need an account.")
def user_invite(email, role, provider, display_name, reason):
    """Invite a user, as the admin pages do: prints the one-time link's path
    (/invite/...; put the server's address in front). It sets the password,
    works once, for 7 days."""
    from rarpa.service.schemas import InviteIn

    data = _input(InviteIn, {"email": email, "role": role, "provider": provider, "display_name": display_name,
                             "reason": reason})
    written = _app().invite_user(_actor(), **data)
    click.echo(f"/invite/{written.result['token']}")


@user.command("deactivate")
@click.argument("email")
@click.option("--reason", required=True, help="Why the account is deactivated (kept in the admin audit list).")
def user_deactivate(email, reason):
    """Deactivate a user at once: signed out everywhere, API tokens revoked,
    any one-time link void."""
    from rarpa.service.schemas import AdminReasonIn

    data = _input(AdminReasonIn, {"reason": reason})
    app = _app()
    app.deactivate_user(_actor(), user_id=str(app.user(email).id), reason=data["reason"])
    click.echo(f"deactivated {email.strip().lower()}")


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


def _cli_address() -> str:
    import socket

    return f"command line on {socket.gethostname()}"


def _opened(app, learner_id: str, what: str) -> str:
    """The learner's id, the view written to the access log first (as on the web)."""
    return app.open_record(_actor(), learner_id, what, address=_cli_address(), detail=" ".join(sys.argv[1:])[:500])


@main.command()
@click.argument("learner_id")
@click.option("--as-at", "as_at", default=None, help="ISO date-time with offset: the record as it stood then.")
def history(learner_id, as_at):
    """The learner's events and progress (as JSON), now or as at a time."""
    from rarpa.read.history import history as history_of

    app = _app()
    moment = _parse_as_at(as_at)
    lid = _opened(app, learner_id, "history")
    click.echo(json.dumps(history_of(app, _actor(), lid, moment), indent=2))


@main.command()
@click.argument("learner_id")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
def export(learner_id, out):
    """The learner's record as JSON lines: a first line describing the file
    (learner, count, fingerprint, checksum, signature), then every event."""
    from rarpa.read import queries, timeline
    from rarpa.service import portable

    app = _app()
    lid = _opened(app, learner_id, "export")
    projector = _projector(app)
    projector.catch_up()  # the names of people and providers travel with the file
    conn = projector.reader()
    text = portable.export_text(app, _actor(), lid, user_names=queries.user_names(conn),
                                provider_names=timeline.provider_names(conn))
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"exported {text.count(chr(10)) - 1} events of {lid} to {out}", err=True)
    else:
        click.echo(text, nl=False)


def _bundle(kind: str, learner_id: str, out: str, force: bool) -> None:
    """Make a transfer pack or a subject-access bundle (web/bundles.py renders
    it: the PDF and the pages are the presentation edge's) and write it to
    ``out``, readable by this user only; never over a file unless ``force``."""
    import os
    from pathlib import Path

    path = Path(out)
    if path.is_dir():
        _fail(f"{out} is a folder; give the ZIP file's name, e.g. {Path(out) / (kind.replace(' ', '-') + '.zip')}")
    if path.exists() and not force:
        _fail(f"{out} already exists; nothing was written (use --force to replace it)")
    if not path.parent.is_dir():
        _fail(f"the folder {path.parent} does not exist; nothing was written")
    services = importlib.import_module("web.services").Services(Settings.from_env())
    try:
        lid = _opened(services.app, learner_id, kind)  # logged before it is made, as on the web
        made = importlib.import_module("web.bundles").make(services, _actor(), lid, kind)
    finally:
        services.close()
    # Written whole or not at all: into a new file of its own, then put in place.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(made.data)
        if not force and path.exists():  # made meanwhile
            _fail(f"{out} already exists; nothing was written (use --force to replace it)")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"{kind} of {made.name} ({lid}) written to {out}: {len(made.files)} files "
               f"({', '.join(made.files)}), {made.size:,} bytes; record fingerprint {made.fingerprint}")


@main.command("transfer-pack")
@click.argument("learner_id")
@click.option("--out", required=True, type=click.Path(), help="The ZIP file to write.")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def transfer_pack(learner_id, out, force):
    """A ZIP for the learner's next provider: the annual-review pack (PDF, last
    12 months), the export, a summary to read, and manifest.json (SHA-256 of
    each file, signed)."""
    _bundle("transfer pack", learner_id, out, force)


@main.command("subject-access")
@click.argument("learner_id")
@click.option("--out", required=True, type=click.Path(), help="The ZIP file to write.")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
def subject_access(learner_id, out, force):
    """A ZIP of everything held about the learner, readable by them (index.html,
    record.json), with who has viewed their record, the export and manifest.json."""
    _bundle("subject access", learner_id, out, force)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", default=None, help="Where it came from (default: the file's name).")
@click.option("--reason", default="", help="Why (e.g. the learner moved college).")
def import_(file, source, reason):
    """Recreate a learner from another installation's export (export.jsonl),
    or from a transfer pack or subject-access ZIP, photos and all. Refuses an
    altered file (exit 1, naming the line or the file in the ZIP) or a learner
    already here."""
    import os

    from rarpa.service import portable, unpack

    app = _app()
    source = source or os.path.basename(file)
    try:
        if unpack.is_bundle(file):
            bundle = unpack.read_bundle(file)
            lines, photos = bundle.export_lines, bundle.photos
            unpack.same_record(bundle, portable.check(lines).head)
        else:
            lines, photos = list(portable.iter_file(file)), {}
        head = portable.check(lines).head
        lid, _ = portable.import_lines(app, _actor(), lines, source=source, reason=reason, photos=photos)
    except (portable.ImportRefused, unpack.BundleRefused) as e:
        _fail(f"{file}: {e} (nothing was imported)")
    except UnicodeDecodeError:
        _fail(f"{file}: the file is not UTF-8 text (nothing was imported)")
    _projector(app).catch_up()
    with_photos = f" and {len(photos)} photo{'s' if len(photos) != 1 else ''}" if photos else ""
    click.echo(f"imported {lid}: {head['events']} events{with_photos} from {source}; exported by the installation "
               f"whose public key is {head['public_key']} (confirm it with them); its fingerprint there was "
               f"{head['fingerprint']}")


@main.command()
@click.option("--fingerprint", "fingerprint", nargs=2, default=None, metavar="LEARNER_ID FINGERPRINT",
              help="Check one fingerprint (from a pack) against the learner's record instead.")
def verify(fingerprint):
    """Check the hash chains, the signed head, the access log and every
    snapshot; exit 1 naming the first break. With --fingerprint, say whether
    the record up to that fingerprint is unchanged (exit 0) or not (exit 1)."""
    from rarpa.store.verify import verify as run_verify

    app = _app()
    if fingerprint:
        _check_fingerprint(app, *fingerprint)
        return
    report = run_verify(app)
    if report.ok:
        click.echo(
            f"ok: {report.events} events in {report.streams} streams, "
            f"{report.snapshots} snapshots checked ({report.snapshots_skipped} of erased learners skipped), "
            f"head signed by the application at event {report.signed_head or 0}, "
            f"access log of {report.access_entries} entries unbroken, "
            f"{report.photos} photo{'s' if report.photos != 1 else ''} as recorded"
            + (f" ({report.photos_unnamed} sealed photo row(s) no event names)" if report.photos_unnamed else "")
            + (f"; {report.photos_not_carried} photo(s) of imported records came without their bytes"
               if report.photos_not_carried else "")
        )
        return
    click.secho(f"TAMPERED: {len(report.problems)} problem(s); the first:", fg="red", err=True)
    click.echo(report.problems[0], err=True)
    for line in report.problems[1:10]:
        click.echo(f"  also: {line}", err=True)
    sys.exit(1)


def _check_fingerprint(app, learner_id: str, fingerprint: str) -> None:
    found = app.check_fingerprint(_actor(), learner_id, fingerprint)
    if not found.matches:
        click.secho(f"NO MATCH: {fingerprint} is not a fingerprint of learner {learner_id}'s record", fg="red",
                    err=True)
        sys.exit(1)
    when = f", recorded {found.recorded_at}" if found.recorded_at else ""
    later = (f"{found.events_after} event{'s' if found.events_after != 1 else ''} recorded after it"
             if found.events_after else "nothing recorded after it")
    click.echo(f"ok: the record up to event {found.position}{when} is unchanged; {later}")


@main.command("access-log")
@click.argument("learner_id")
def access_log(learner_id):
    """Who has opened the learner's record: one line per view, oldest first."""
    app = _app()
    for e in app.access_entries(_actor(), learner_id, address=_cli_address()):
        click.echo("\t".join((e["at"], e["user_id"], e["role"], e["action"], e["address"] or "")))


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
@click.option("--postgres", is_flag=True, help="Also on a throwaway local PostgreSQL (Debian's server binaries).")
@click.option("--scale", default=None, metavar="N", help="Instead: the scale bench on N generated learners "
              "(rarpa/cli/bench_scale.py), in a temporary folder.")
@click.option("--scale-store", "store", default=None, metavar="PATH",
              help="Instead: the scale bench on an existing scale store (its RARPA_DB path; needs RARPA_DEMO_PASSWORD).")
@click.option("--years", default=None, metavar="Y", help="With --scale: years of history per learner [default: 5].")
@click.option("--seed", default=None, help="With --scale: the generator's seed [default: 1].")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="With --scale: the day the history ends.")
@click.option("--keep", default=None, metavar="DIR", help="With --scale: generate into DIR and keep it.")
@click.option("--no-rebuild", is_flag=True, help="Scale bench: skip the read-model rebuild (long at 2,000 learners).")
@click.option("--extrapolate-to", default=None, metavar="M", help="Scale bench: extrapolate to M learners [20,000].")
@click.option("--compare", default=None, metavar="FILE", help="Scale bench: a smaller run's --json, to fit growth.")
@click.option("--json", "json_out", default=None, metavar="FILE", help="Scale bench: also write the results here.")
def bench(writes, threads, postgres, **scale_options):
    """Measure writes and rebuild against raw SQLite in the same run; print ratios."""
    if any(v not in (None, False) for v in scale_options.values()):  # rarpa bench --scale N
        from rarpa.cli.bench_scale import run_command

        return run_command(**scale_options)
    from rarpa.cli.bench import run

    run(writes=writes, threads=threads, echo=click.echo)
    if postgres:
        from rarpa.cli.bench_postgres import run as run_postgres

        click.echo("")
        run_postgres(writes=writes, threads=threads, echo=click.echo)


@main.command("load")
@click.option("--seconds", default=15.0, show_default=True, type=click.FloatRange(0.5, 900),
              help="Saturation: seconds per endpoint per round.")
@click.option("--clients", default=32, show_default=True, type=click.IntRange(1, 256),
              help="Saturation: concurrent closed-loop clients.")
@click.option("--rounds", default=1, show_default=True, type=click.IntRange(1, 10),
              help="Saturation: rounds (bare, then observation); best kept.")
@click.option("--tablets", default=200, show_default=True, type=click.IntRange(1, 2000),
              help="Classroom: tablets, in classes of 8.")
@click.option("--classroom-seconds", default=120.0, show_default=True, type=click.FloatRange(1, 900),
              help="Classroom: seconds of open-loop load.")
@click.option("--compressed", is_flag=True, help="Classroom: a burst per class every 5 s instead of 60 s.")
@click.option("--postgres", is_flag=True, help="On a throwaway local PostgreSQL (or RARPA_DB=postgresql://127.0.0.1...).")
@click.option("--nodes", default=1, show_default=True, type=click.IntRange(1, 4),
              help="With PostgreSQL: `rarpa serve` nodes, round-robin.")
@click.option("--json", "json_out", default=None, type=click.Path(dir_okay=False), help="Also write the report here.")
def load_command(seconds, clients, rounds, tablets, classroom_seconds, compressed, postgres, nodes, json_out):
    """Load test over HTTP on 127.0.0.1 (rarpa/cli/load.py): the record-observation
    endpoint against a bare Flask endpoint on the same server, then a classroom day."""
    import os

    load_test = importlib.import_module("rarpa.cli.load")  # not `from rarpa.cli import load`: this function's name

    db = os.environ.get("RARPA_DB", "")
    given = db if is_postgres(db) else None
    report = load_test.run(seconds=seconds, clients=clients, rounds=rounds, tablets=tablets,
                           classroom_seconds=classroom_seconds, compressed=compressed, postgres=postgres,
                           postgres_url=given, nodes=nodes, echo=click.echo)
    if json_out:
        os.makedirs(os.path.dirname(json_out) or ".", exist_ok=True)
        with open(json_out, "w") as f:
            f.write(load_test.report_json(report))
    if wrong := load_test.problems(report):
        _fail("; ".join(wrong))


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
def backup(folder):
    """Back up the event store, the vault and the read model into FOLDER (new or
    empty), with manifest.json of checksums; safe while the server is serving."""
    from pathlib import Path

    from rarpa.store.backup import BackupError, backup as take_backup, size_words

    click.echo(f"backing up into {folder}")
    try:
        manifest = take_backup(Settings.from_env(), Path(folder), echo=click.echo)
    except BackupError as e:
        _fail(str(e), e.code)
    total = sum(f["size"] for f in manifest["files"])
    click.echo(f"backed up the record up to event {manifest['last_notification_id']} (copied {manifest['taken_at']}): "
               f"{len(manifest['files'])} files, {size_words(total)}; checksums in {Path(folder) / 'manifest.json'}")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=str))
def restore(folder):
    """Restore a backup into an empty location (RARPA_DB, RARPA_VAULT and
    RARPA_VIEWS must not exist yet): check every checksum, copy, verify."""
    from pathlib import Path

    from rarpa.store.backup import BackupError, restore as put_back
    from rarpa.store.verify import verify as run_verify

    settings = Settings.from_env()
    try:
        manifest = put_back(Path(folder), settings, echo=click.echo)
    except BackupError as e:
        _fail(str(e), e.code)
    app = RecordApplication(settings)
    with click.progressbar(length=max(0, (app.recorder.max_notification_id() or 0)
                                      - (manifest.get("read_model_position") or 0)), label="Read model") as bar:
        _projector(app).catch_up(on_batch=bar.update)
    report = run_verify(app)
    if not report.ok:
        click.secho(f"TAMPERED: the restored record does not verify: {len(report.problems)} problem(s); the first:",
                    fg="red", err=True)
        click.echo(report.problems[0], err=True)
        sys.exit(1)
    click.echo(f"verify ok: {report.events} events in {report.streams} streams, {report.snapshots} snapshots checked, "
               f"head signed by the application at event {report.signed_head or 0}")
    click.echo(f"restored the backup of {manifest['taken_at']} (up to event {manifest['last_notification_id']}) "
               f"into {settings.db}; run `rarpa erase` again for anyone erased since it was taken")


@main.command("migrate-store")
@click.argument("target_url")
def migrate_store(target_url):
    """Copy this SQLite store (RARPA_DB, its vault and photos) into an empty
    PostgreSQL schema, in one transaction, and check the copy is the same
    (README, Moving from SQLite to PostgreSQL). Stop `rarpa serve` first."""
    from rarpa.store.migrate import command

    command(target_url)


if __name__ == "__main__":
    main()

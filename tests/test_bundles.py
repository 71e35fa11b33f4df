"""The transfer pack and the subject-access bundle (issue 11): a ZIP each, from
`rarpa transfer-pack` / `rarpa subject-access` and for the SEND lead on the web.

Each test opens the ZIP itself: every file the manifest lists is there with the
SHA-256 and size it says (recomputed), the manifest lists every other file and
is signed; the PDF is a real PDF naming the learner and the full fingerprint;
the export's first line describes this learner; the pages hold the learner's
targets and (subject access) who has looked at the record, by name. Each
download writes exactly one access-log entry, before it is made; anyone but the
learner's SEND lead is refused and nothing is logged.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pypdf import PdfReader

from rarpa.cli import main as cli
from rarpa.read import bundles
from rarpa.record import RuleBroken
from rarpa.service import portable
from tests.conftest import PASSWORD, observation
from tests.test_web import sign_in, token_of
from tests.rawstore import refusing_access_log

TODAY = datetime.now(timezone.utc).date()
TRANSFER_FILES = ["annual-review-pack.pdf", "export.jsonl", "summary.html", "manifest.json"]
SUBJECT_FILES = ["index.html", "record.json", "export.jsonl", "manifest.json"]


def run(settings, *args):
    env = {"RARPA_DB": settings.db, "RARPA_VIEWS": settings.views, "RARPA_PASSWORD_PROFILE": "cheapest"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def amy(app, world, system):
    """Amy's record with something in every section: observations by a named tutor
    (one corrected, one withdrawn), her own words, a review, a next step, a
    destination, a consent refused; then the tutor opens her page (logged)."""
    lid, outcome, target = world["learners"]["amy"], world["amy"]["outcome"], world["amy"]["target"]
    app.add_user(system, email="tina@example.org", role="tutor", password=PASSWORD, provider="northfield",
                 display_name="Tina Tutor")
    app.add_user(system, email="lee@example.org", role="send_lead", password=PASSWORD, provider="northfield",
                 display_name="Lee Lead")
    app.add_to_caseload(system, "tina@example.org", lid)
    tina = app.actor_for(app.user("tina@example.org"))
    second = app.set_target(system, lid, text="Check the timetable at the stop", success_criteria="Reads it alone",
                            outcome_ids=[outcome], baseline="not_yet", review_by="2027-03-01").result
    kept = observation(target, "developing", minutes_ago=300, context="community", note="Asked the driver for a return")
    app.record_observation(tina, lid, **kept)
    corrected = observation(target, "developing", minutes_ago=200, context="community", note="Counted the coins")
    app.record_observation(tina, lid, **corrected)
    app.correct_observation(tina, lid, observation_id=corrected["observation_id"], rating="secure",
                            reason="Checked the diary: no help at all")
    withdrawn = observation(second, "emerging", minutes_ago=100, context="classroom", note="Read the board")
    app.record_observation(tina, lid, **withdrawn)
    app.withdraw_observation(tina, lid, observation_id=withdrawn["observation_id"],
                             reason="Recorded for the wrong learner")
    app.record_self_assessment(tina, lid, target_id=target, answer="on_my_own", words="I paid with my own money")
    app.hold_progress_review(system, lid, held_on=TODAY, attendees=["Amy", "Mum", "Tina Tutor"],
                             learner_views="I want to go to the big college", decisions=[
                                 {"target_id": target, "decision": "keep"}, {"target_id": second, "decision": "keep"}])
    app.agree_next_step(system, lid, text="Visit Riverside's open day", agreed_on=TODAY)
    app.record_destination(system, lid, kind="further_learning", detail="Riverside catering course", starts_on=TODAY)
    app.record_consent(system, lid, consent="photographs", given=False, reason="Amy said no at enrolment")
    app.open_record(tina, lid, "learner page", address="10.0.0.7")  # a view before the bundle, by name
    return {"id": lid, "targets": ["Buy a bus ticket", "Check the timetable at the stop"], "tina": tina,
            "lead": app.actor_for(app.user("lee@example.org"))}


def unzip(data: bytes) -> tuple[list[str], dict[str, bytes], list[zipfile.ZipInfo]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None  # every entry's CRC is right
        infos = z.infolist()
        return [i.filename for i in infos], {i.filename: z.read(i) for i in infos}, infos


def checked_manifest(app, data: bytes, expected_names: list[str], learner_id: str, kind: str) -> tuple[dict, dict]:
    """The ZIP's manifest, after checking it against the files it sits with (recomputed)."""
    names, files, infos = unzip(data)
    assert names == expected_names  # manifest.json last
    for info in infos:
        assert "/" not in info.filename and "\\" not in info.filename and ".." not in info.filename
    manifest = json.loads(files["manifest.json"])
    listed = [f["name"] for f in manifest["files"]]
    assert listed == [n for n in names if n != "manifest.json"]  # every other file, nothing else
    for f in manifest["files"]:
        body = files[f["name"]]
        assert f["sha256"] == hashlib.sha256(body).hexdigest(), f["name"]
        assert f["size"] == len(body), f["name"]
    assert manifest["kind"] == kind and manifest["learner_id"] == learner_id
    assert manifest["format"] == bundles.FORMATS[kind]
    learner = app.learner(bundles_actor(), learner_id)
    assert manifest["fingerprint"] == app.fingerprint(learner.id, learner.version)  # the record's head, in full
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["fingerprint"])
    made_at = datetime.fromisoformat(manifest["made_at"])
    assert abs(datetime.now(timezone.utc) - made_at) < timedelta(minutes=5)
    *stamp, second = made_at.astimezone(timezone.utc).timetuple()[:6]
    assert {i.date_time for i in infos} == {(*stamp, second - second % 2)}  # when it was made (ZIP: even seconds)
    # Signed by this installation's key: the same key as the export's first line.
    signed = {k: v for k, v in manifest.items() if k != "signature"}
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(manifest["public_key"])).verify(
        bytes.fromhex(manifest["signature"]), portable.canonical(signed))
    export = files["export.jsonl"].decode().splitlines()
    head = json.loads(export[0])
    assert head["format"] == portable.FORMAT and head["learner_id"] == learner_id
    assert head["fingerprint"] == manifest["fingerprint"] and head["public_key"] == manifest["public_key"]
    assert head["events"] == len(export) - 1 == learner.version
    assert portable.check(export).head == head  # whole and unaltered: importable
    return manifest, files


def bundles_actor():
    from rarpa.service.access import system_actor

    return system_actor("test-check")


def pdf_text(body: bytes) -> str:
    return " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages).split())


def access_actions(app, lid: str) -> list[tuple[str, str]]:
    return [(e["user_id"], e["action"]) for e in app.vault.access.entries(lid)]


def assert_standalone(html: str) -> None:
    """Opens on its own, offline: no script, nothing fetched, its CSS inside it."""
    lower = html.lower()
    assert "<script" not in lower and " on" + "click=" not in lower and "javascript:" not in lower
    assert not re.search(r"""(src|href)=["']?(https?:|//|/static)""", lower)
    assert "<link" not in lower and "@import" not in lower
    assert "<style>" in lower and "font-family" in lower


# --- the command line ----------------------------------------------------------------------------------
def test_transfer_pack_from_the_command_line(app, amy, tmp_path):
    out = tmp_path / "amy-transfer.zip"
    before = len(app.vault.access.entries(amy["id"]))
    result = run(app.settings, "transfer-pack", amy["id"], "--out", str(out))
    assert result.exit_code == 0, result.stderr
    line = result.stdout.strip()
    assert "\n" not in line and f"{out.stat().st_size:,} bytes" in line and "4 files" in line
    assert oct(out.stat().st_mode & 0o777) == oct(0o600)  # personal data: this user only

    manifest, files = checked_manifest(app, out.read_bytes(), TRANSFER_FILES, amy["id"], bundles.TRANSFER)
    assert manifest["made_by"].startswith("system:")

    assert files["annual-review-pack.pdf"].startswith(b"%PDF-")
    text = pdf_text(files["annual-review-pack.pdf"])
    assert "Amy Jones" in text
    assert manifest["fingerprint"] in re.sub(r"\s", "", text)  # the full fingerprint, however it wrapped
    assert "Asked the driver for a return" in text  # evidence from the last 12 months

    summary = files["summary.html"].decode()
    assert_standalone(summary)
    for words in (*amy["targets"], "Amy Jones", "Started at", "Tina Tutor", "Asked the driver for a return",
                  "Visit Riverside&#39;s open day", "Riverside catering course", "I paid with my own money",
                  manifest["fingerprint"]):
        assert words in summary, words
    assert "Read the board" not in summary  # a withdrawn observation is not recent evidence

    # One entry, by the command line, before anything else was logged for it.
    assert access_actions(app, amy["id"])[before:] == [(manifest["made_by"], "transfer pack")]


def test_subject_access_from_the_command_line(app, amy, tmp_path):
    out = tmp_path / "amy-sar.zip"
    before = len(app.vault.access.entries(amy["id"]))
    result = run(app.settings, "subject-access", amy["id"], "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"{out.stat().st_size:,} bytes" in result.stdout and "4 files" in result.stdout

    manifest, files = checked_manifest(app, out.read_bytes(), SUBJECT_FILES, amy["id"], bundles.SUBJECT_ACCESS)
    assert access_actions(app, amy["id"])[before:] == [(manifest["made_by"], "subject access")]

    index = files["index.html"].decode()
    assert_standalone(index)
    for words in (*amy["targets"], "Your record, Amy", "Who has looked at your record",
                  "Tina Tutor (tutor) opened your page",  # the view before, by name and role
                  "Counted the coins", "It first said", "Checked the diary: no help at all",  # corrected
                  "Taken back", "Read the board", "Recorded for the wrong learner",  # withdrawn, still shown
                  "I paid with my own money", "I want to go to the big college", "Visit Riverside&#39;s open day",
                  "<strong>Photographs:</strong> you said no"):
        assert words in " ".join(index.split()), words

    record = json.loads(files["record.json"])
    assert record["format"] == bundles.FORMATS[bundles.SUBJECT_ACCESS]
    assert record["learner"]["name"] == "Amy Jones" and record["learner"]["date_of_birth"] == "2007-03-01"
    assert record["fingerprint"] == manifest["fingerprint"]
    assert len(record["timeline"]) == json.loads(files["export.jsonl"].decode().splitlines()[0])["events"]
    assert {t["text"] for t in record["plan"]["targets"]} == set(amy["targets"])
    log = record["access_log"]
    tina = next(e for e in log if e["user_id"] == amy["tina"].user_id)
    assert (tina["name"], tina["role"], tina["action"]) == ("Tina Tutor", "tutor", "learner page")
    assert "address" not in tina  # a staff member's address is about them, not the learner
    assert (log[-1]["user_id"], log[-1]["action"]) == (manifest["made_by"], "subject access")  # this one, too
    statuses = sorted(o["status"] for o in record["observations"])
    assert statuses == ["active", "active", "withdrawn"]
    changed = next(o for o in record["observations"] if o["note"] == "Counted the coins")
    assert changed["rating"] == "secure" and changed["changes"][0]["reason"] == "Checked the diary: no help at all"


def test_the_command_line_never_overwrites_unless_told(app, amy, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "there.zip"
    out.write_bytes(b"someone else's file")
    logged = len(app.vault.access.entries(amy["id"]))
    for command in ("transfer-pack", "subject-access"):
        result = run(app.settings, command, amy["id"], "--out", str(out))
        assert result.exit_code == 1
        assert "already exists" in result.stderr and "--force" in result.stderr
        assert out.read_bytes() == b"someone else's file"
    assert len(app.vault.access.entries(amy["id"])) == logged  # refused before anything was opened

    result = run(app.settings, "subject-access", amy["id"], "--out", str(out), "--force")
    assert result.exit_code == 0, result.stderr
    checked_manifest(app, out.read_bytes(), SUBJECT_FILES, amy["id"], bundles.SUBJECT_ACCESS)
    assert [p.name for p in folder.iterdir()] == ["there.zip"]  # no partial file left behind


def test_the_command_line_refuses_an_unknown_learner_and_a_missing_folder(app, amy, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for command in ("transfer-pack", "subject-access"):
        out = folder / f"{command}.zip"
        result = run(app.settings, command, str(uuid.uuid4()), "--out", str(out))
        assert result.exit_code == 1 and "no such learner" in result.stderr
        assert not out.exists()
        result = run(app.settings, command, "not-an-id", "--out", str(out))
        assert result.exit_code == 1 and "no such learner" in result.stderr
        result = run(app.settings, command, amy["id"], "--out", str(folder / "nowhere" / "x.zip"))
        assert result.exit_code == 1 and "does not exist" in result.stderr
    assert list(folder.iterdir()) == []


def test_an_erased_learner_has_no_bundle(app, amy, system, tmp_path):
    app.erase_learner(system, amy["id"], reason="Erasure request")
    result = run(app.settings, "subject-access", amy["id"], "--out", str(tmp_path / "x.zip"))
    assert result.exit_code == 1 and "erased" in result.stderr
    assert not (tmp_path / "x.zip").exists()


# --- the web -------------------------------------------------------------------------------------------
def test_the_send_lead_downloads_both_from_the_learner_page(app, amy, web):
    assert sign_in(web, "lee@example.org").status_code == 302
    page = web.get(f"/learners/{amy['id']}").get_data(as_text=True)
    assert "Records to download" in page
    token = token_of(page)
    for path, names, kind in ((f"/learners/{amy['id']}/transfer-pack.zip", TRANSFER_FILES, bundles.TRANSFER),
                              (f"/learners/{amy['id']}/subject-access.zip", SUBJECT_FILES, bundles.SUBJECT_ACCESS)):
        assert f'action="{path}"' in page
        before = len(app.vault.access.entries(amy["id"]))
        response = web.post(path, data={"csrf_token": token})
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        assert response.headers["Cache-Control"] == "private, no-store"
        disposition = response.headers["Content-Disposition"]
        stem = "transfer-pack" if kind == bundles.TRANSFER else "subject-access"
        assert disposition == (f'attachment; filename="{stem}-amy-jones-{TODAY}.zip"; '
                               f"filename*=UTF-8''{stem}-Amy-Jones-{TODAY}.zip")
        manifest, _ = checked_manifest(app, response.data, names, amy["id"], kind)
        assert (manifest["made_by"], manifest["made_by_name"]) == (amy["lead"].user_id, "Lee Lead")
        new = app.vault.access.entries(amy["id"])[before:]
        assert [(e["user_id"], e["role"], e["action"]) for e in new] == [(amy["lead"].user_id, "send_lead", kind)]
        assert new[0]["address"]  # where from, as for every view on the web

    # Not a link: a GET is no download, and a POST without the form's token is refused unlogged.
    before = len(app.vault.access.entries(amy["id"]))
    assert web.get(f"/learners/{amy['id']}/transfer-pack.zip").status_code == 405
    assert web.post(f"/learners/{amy['id']}/subject-access.zip", data={}).status_code == 400
    assert len(app.vault.access.entries(amy["id"])) == before


def test_a_download_that_cannot_be_logged_is_not_made(app, amy, web, settings, tmp_path):
    """The entry is written first: when it cannot be, there is no ZIP (web: 503; CLI: exit 1, no file)."""
    assert sign_in(web, "lee@example.org").status_code == 302
    token = token_of(web.get("/").get_data(as_text=True))
    with refusing_access_log(settings):
        for kind in ("transfer-pack", "subject-access"):
            response = web.post(f"/learners/{amy['id']}/{kind}.zip", data={"csrf_token": token})
            assert response.status_code == 503 and response.mimetype == "text/html", kind
            assert "Amy" not in response.get_data(as_text=True)
            out = tmp_path / f"{kind}.zip"
            result = run(app.settings, kind, amy["id"], "--out", str(out))
            assert result.exit_code == 1 and "access log" in result.stderr and not out.exists()


@pytest.mark.parametrize("email, status", [
    ("tina@example.org", 403),  # Amy's tutor: sees her, may not hand her record over
    ("tutor2@example.org", 404),  # a tutor without Amy: no such learner
    ("auditor@example.org", 403),  # reads everything, hands nothing over
    ("lead.riverside@example.org", 404),  # the SEND lead of a provider Amy does not attend
    ("admin@example.org", 404),
])
def test_everyone_else_is_refused_and_nothing_is_logged(app, amy, web, email, status):
    assert sign_in(web, email).status_code == 302
    token = token_of(web.get("/").get_data(as_text=True))
    if status == 403:
        assert "Records to download" not in web.get(f"/learners/{amy['id']}").get_data(as_text=True)
    before = len(app.vault.access.entries(amy["id"]))
    for kind in ("transfer-pack", "subject-access"):
        response = web.post(f"/learners/{amy['id']}/{kind}.zip", data={"csrf_token": token})
        assert response.status_code == status, kind
        assert response.mimetype == "text/html" and "Amy" not in response.get_data(as_text=True)
    assert len(app.vault.access.entries(amy["id"])) == before


def test_hostile_words_are_shown_as_words(app, world, system, web, tmp_path):
    """A name or a note holding markup is text in the pages, never markup, and
    the download's name stays one safe filename."""
    hostile = 'Zoë <script>alert(1)</script> "O\'Neil"'
    lid = app.enrol_learner(system, name=hostile, date_of_birth="2006-01-02", provider="northfield").result
    outcome = app.record_outcome(system, lid, text="<img src=x onerror=alert(2)> travel", pfa_area="independent_living",
                                 due="2027-07-01").result
    target = app.set_target(system, lid, text="<b>bold</b> ticket", success_criteria="x", outcome_ids=[outcome],
                            baseline="emerging", review_by="2027-01-15").result
    app.record_observation(system, lid, **observation(target, "secure", note="</style><script>alert(3)</script>"))
    assert sign_in(web, "lead@example.org").status_code == 302
    token = token_of(web.get("/").get_data(as_text=True))
    for kind, page in (("transfer-pack", "summary.html"), ("subject-access", "index.html")):
        response = web.post(f"/learners/{lid}/{kind}.zip", data={"csrf_token": token})
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].count("filename") == 2
        assert "\n" not in response.headers["Content-Disposition"]
        html = unzip(response.data)[1][page].decode()
        assert_standalone(html)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;/style&gt;&lt;script&gt;alert(3)" in html
        assert "&lt;img src=x onerror=alert(2)&gt;" in html and "&lt;b&gt;bold&lt;/b&gt; ticket" in html


# --- the parts -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("names", [
    ["../evil.html"], ["a/b.html"], ["a\\b.html"], [".hidden.html"], ["/abs.html"], ["no-extension"],
    ["Index.html"], ["x.html", "x.html"], ["nul\x00.html"], ["dots..html"],
])
def test_a_bundle_holds_plain_file_names_only(names):
    with pytest.raises(bundles.BundleError):
        bundles.zip_bytes([(n, b"x") for n in names], datetime.now(timezone.utc))


def test_zip_entries_have_the_fixed_time_and_private_permissions():
    made = datetime(2026, 3, 1, 17, 30, 5, tzinfo=timezone.utc)
    data = bundles.zip_bytes([("a.html", b"<p>a</p>"), ("b.json", b"{}")], made)
    names, files, infos = unzip(data)
    assert names == ["a.html", "b.json"] and files["b.json"] == b"{}"
    assert {i.date_time for i in infos} == {(2026, 3, 1, 17, 30, 4)}  # ZIP keeps even seconds
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o600}


def test_made_from_one_state_of_the_record(app, world, amy, projector):
    """When something is recorded for the learner while a bundle is read, it is
    read again; when that never stops, nothing is made (503, try again)."""
    lid, target = amy["id"], world["amy"]["target"]
    reads = []

    def fresh():
        projector.catch_up()
        return projector.reader()

    def read(conn, fingerprint, keep_writing=False):
        reads.append(fingerprint)
        if len(reads) == 1 or keep_writing:
            app.record_observation(bundles_actor(), lid, **observation(target, "secure"))
        return {"fingerprint": fingerprint}

    got = bundles.steady(app, bundles_actor(), lid, fresh, read)
    head = app.learner(bundles_actor(), lid)
    assert len(reads) == 2 and reads[0] != reads[1]
    assert got["fingerprint"] == app.fingerprint(head.id, head.version)  # the second read, of the record as it is

    reads.clear()
    with pytest.raises(RuleBroken) as refused:
        bundles.steady(app, bundles_actor(), lid, fresh, lambda c, f: read(c, f, keep_writing=True))
    assert refused.value.status == 503 and len(reads) == bundles.TRIES

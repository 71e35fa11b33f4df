"""Photos in the bundles that hand a whole record over, taken in again by
`rarpa import`, and checked by `rarpa verify`.

- The subject-access bundle holds every photo kept of the learner (the JPEG and
  its thumbnail, byte for byte what the record serves), lists each beside its
  observation in record.json and index.html, and says which were removed, by
  whom and why. It holds everything about the learner, whatever consent says now.
- The transfer pack holds them while consent to photographs is given, and says
  so when it is not.
- `rarpa import transfer-pack.zip` checks every file against the signed
  manifest, then each photo against the event that pins it, before writing
  anything; the imported photos are served, sealed with the new key.
- `rarpa verify` finds a photo named by its event that is missing or changed.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest

from rarpa.config import Settings
from rarpa.read import bundles
from rarpa.service import portable
from rarpa.service.application import RecordApplication
from rarpa.store.verify import verify
from tests.conftest import observation
from tests.test_bundles import assert_standalone, checked_manifest, run, unzip
from tests.test_photos import noise_jpeg
from tests.localhost import db_env
from tests.rawstore import raw


@pytest.fixture
def amy(app, world, system):
    """Amy with three photos on two observations (one removed later)."""
    lid, target = world["learners"]["amy"], world["amy"]["target"]
    app.record_consent(system, lid, consent="photographs", given=True, reason="Amy and her mum said yes")
    first = observation(target, "secure", minutes_ago=90, context="community", note="Paid for her ticket")
    one = app.record_observation_with_photo(system, lid, photo=noise_jpeg(seed=31), **first).result["photo_id"]
    two = app.attach_photo(system, lid, observation_id=first["observation_id"], photo=noise_jpeg(seed=32)).result
    second = observation(target, "developing", minutes_ago=30, context="classroom", note="Read the timetable")
    three = app.record_observation_with_photo(system, lid, photo=noise_jpeg(seed=33), **second).result["photo_id"]
    app.remove_photo(system, lid, photo_id=three, reason="Another learner is in it")
    return {"id": lid, "kept": {one: first["observation_id"], two["photo_id"]: first["observation_id"]},
            "removed": {three: second["observation_id"]}}


def served(app, system, lid, oid, pid) -> tuple[bytes, bytes]:
    return (app.photo_file(system, lid, observation_id=oid, photo_id=pid),
            app.photo_file(system, lid, observation_id=oid, photo_id=pid, kind="thumb"))


def photo_names(kept) -> list[str]:
    return [name for pid in sorted(kept) for name in (bundles.photo_file(pid), bundles.thumb_file(pid))]


def test_the_subject_access_bundle_holds_every_photo_kept_beside_its_observation(app, system, amy, settings, tmp_path):
    out = tmp_path / "sar.zip"
    assert run(settings, "subject-access", amy["id"], "--out", str(out)).exit_code == 0
    expected = ["index.html", "record.json", "export.jsonl", *photo_names(amy["kept"]), "manifest.json"]
    _, files = checked_manifest(app, out.read_bytes(), expected, amy["id"], bundles.SUBJECT_ACCESS)
    for pid, oid in amy["kept"].items():
        jpeg, thumb = served(app, system, amy["id"], oid, pid)
        assert files[bundles.photo_file(pid)] == jpeg and files[bundles.thumb_file(pid)] == thumb
    removed = next(iter(amy["removed"]))
    assert bundles.photo_file(removed) not in files

    record = json.loads(files["record.json"])
    assert record["photo_files"] == 2
    by_observation = {o["id"]: o["photos"] for o in record["observations"]}
    listed = {p["id"]: p for photos in by_observation.values() for p in photos}
    assert set(listed) == set(amy["kept"]) | set(amy["removed"])
    for pid, oid in amy["kept"].items():
        assert listed[pid]["file"] == bundles.photo_file(pid) and pid in [p["id"] for p in by_observation[oid]]
        assert listed[pid]["status"] == "kept"
    gone = listed[removed]
    assert gone["file"] is None and gone["status"] == "removed" and gone["removed_reason"] == "Another learner is in it"

    index = files["index.html"].decode()
    assert_standalone(index)
    for pid in amy["kept"]:
        thumb = base64.b64encode(files[bundles.thumb_file(pid)]).decode()
        assert f'src="data:image/jpeg;base64,{thumb}"' in index and f'href="{bundles.photo_file(pid)}"' in index
    assert "Another learner is in it" in index and "2 photos of you" in index


def test_the_transfer_pack_carries_photos_only_while_consent_is_given(app, system, amy, settings, tmp_path):
    out = tmp_path / "transfer.zip"
    assert run(settings, "transfer-pack", amy["id"], "--out", str(out)).exit_code == 0
    names, files, _ = unzip(out.read_bytes())
    assert [n for n in names if n.startswith("photo-")] == photo_names(amy["kept"])
    assert "photo-….jpg" in files["summary.html"].decode()

    app.record_consent(system, amy["id"], consent="photographs", given=False, reason="Amy changed her mind")
    assert run(settings, "transfer-pack", amy["id"], "--out", str(out), "--force").exit_code == 0
    names, files, _ = unzip(out.read_bytes())
    assert not [n for n in names if n.startswith("photo-")]
    assert "Photos are not included: consent to photographs is not recorded as given" in files["summary.html"].decode()


def other_installation(tmp_path) -> tuple[Settings, RecordApplication]:
    settings = Settings.from_env({**db_env(tmp_path / "there" / "rarpa.sqlite3"),
                                  "RARPA_PASSWORD_PROFILE": "cheapest"})
    Path(settings.views).parent.mkdir()
    return settings, RecordApplication(settings)


def test_a_transfer_pack_is_imported_with_its_photos(app, system, amy, settings, tmp_path):
    pack = tmp_path / "transfer.zip"
    assert run(settings, "transfer-pack", amy["id"], "--out", str(pack)).exit_code == 0
    there, receiving = other_installation(tmp_path)
    try:
        result = run(there, "import", str(pack), "--reason", "Amy moved to Riverside")
        assert result.exit_code == 0, result.output
        assert "and 2 photos" in result.output
        for pid, oid in amy["kept"].items():
            assert served(receiving, system, amy["id"], oid, pid) == served(app, system, amy["id"], oid, pid)
        report = verify(receiving)
        assert report.ok, report.problems
        assert report.photos == 2 and report.photos_not_carried == 0
        # Sealed with the receiving installation's key: the JPEG's bytes are in no file there
        # (on PostgreSQL, in no file of its folder; the photo table holds only sealed bytes).
        jpeg = served(app, system, amy["id"], *next(iter(amy["kept"].items()))[::-1])[0]
        for f in Path(there.views).parent.iterdir():
            assert jpeg[200:264] not in f.read_bytes(), f.name
    finally:
        receiving.close()


def test_an_export_alone_comes_without_photos_and_verify_says_so(app, system, amy, settings, tmp_path):
    export = tmp_path / "amy.jsonl"
    assert run(settings, "export", amy["id"], "--out", str(export)).exit_code == 0
    there, receiving = other_installation(tmp_path)
    try:
        assert run(there, "import", str(export)).exit_code == 0
        report = verify(receiving)
        assert report.ok, report.problems
        assert report.photos == 0 and report.photos_not_carried == 2
        result = run(there, "verify")
        assert result.exit_code == 0 and "2 photo(s) of imported records came without their bytes" in result.output
    finally:
        receiving.close()


def rezip(data: bytes, change) -> bytes:
    """The ZIP with ``change(files)`` applied to its files (a dict, name: bytes), in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        files = {i.filename: z.read(i) for i in z.infolist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in files.items():
            z.writestr(name, body)
    return out.getvalue()


def swap_first_photo(files):
    name = next(n for n in files if n.startswith("photo-") and not n.endswith("-small.jpg"))
    files[name] = noise_jpeg(seed=99)


def add_unlisted(files):
    files["notes.txt"] = b"not from the sender"


def alter_manifest(files):
    manifest = json.loads(files["manifest.json"])
    manifest["made_by_name"] = "Someone Else"
    files["manifest.json"] = json.dumps(manifest).encode()


def alter_export(files):
    files["export.jsonl"] = files["export.jsonl"].replace(b"Paid for her ticket", b"Paid for his ticket")


@pytest.mark.parametrize("change, says", [
    (swap_first_photo, "was changed after the bundle was made"),
    (add_unlisted, "notes.txt is in the ZIP but not in its manifest"),
    (alter_manifest, "manifest.json was altered"),
    (alter_export, "export.jsonl was changed after the bundle was made"),
])
def test_an_altered_bundle_is_refused_and_nothing_is_written(app, amy, settings, tmp_path, change, says):
    pack = tmp_path / "transfer.zip"
    assert run(settings, "transfer-pack", amy["id"], "--out", str(pack)).exit_code == 0
    pack.write_bytes(rezip(pack.read_bytes(), change))
    there, receiving = other_installation(tmp_path)
    try:
        result = run(there, "import", str(pack))
        assert result.exit_code == 1 and says in result.output and "nothing was imported" in result.output
        assert (receiving.recorder.max_notification_id() or 0) == 0
        assert receiving.photo_store.count() == 0
    finally:
        receiving.close()


def test_a_photo_its_events_do_not_pin_is_refused(app, system, amy, tmp_path):
    """Past the manifest (a sender could sign anything with its own key): each
    photo must be the bytes a PhotoAttached event of the record pins."""
    lines = portable.export_lines(app, system, amy["id"])
    pid, oid = next(iter(amy["kept"].items()))
    jpeg, thumb = served(app, system, amy["id"], oid, pid)
    removed = next(iter(amy["removed"]))
    there, receiving = other_installation(tmp_path)
    try:
        for photos, says in [({pid: (noise_jpeg(seed=5), thumb)}, "is not the photo its event recorded"),
                             ({removed: (jpeg, thumb)}, "is not a photo kept in this record"),
                             ({"0" * 8 + "-0000-0000-0000-" + "0" * 12: (jpeg, thumb)}, "not a photo kept")]:
            with pytest.raises(portable.ImportRefused, match=says):
                portable.import_lines(receiving, system, lines, source="test", photos=photos)
            assert (receiving.recorder.max_notification_id() or 0) == 0 and receiving.photo_store.count() == 0
    finally:
        receiving.close()


def test_verify_names_a_photo_missing_or_changed(app, system, amy, settings):
    pid = sorted(amy["kept"])[0]
    assert verify(app).ok and verify(app).photos == 2
    conn = raw(settings)
    try:
        sealed = conn.execute("SELECT photo FROM photo_files WHERE photo_id=?", [pid]).fetchone()[0]
        flipped = bytes(sealed[:40]) + bytes([sealed[40] ^ 1]) + bytes(sealed[41:])
        with conn:
            conn.execute("UPDATE photo_files SET photo=? WHERE photo_id=?", [flipped, pid])
        report = verify(app)
        assert not report.ok and f"photo {pid} failed its integrity check" in report.problems[0]
        with conn:
            conn.execute("DELETE FROM photo_files WHERE photo_id=?", [pid])
        report = verify(app)
        assert not report.ok and f"photo {pid} (photo) is named by its event but is not kept" in report.problems[0]
        result = run(settings, "verify")
        assert result.exit_code == 1 and pid in result.output
    finally:
        conn.close()


def test_verify_names_photos_an_unfinished_erasure_left(app, system, amy, settings):
    """The key destroyed but the rows still there (a crash between the two): named, with what to do."""
    assert app.vault.destroy_key(str(amy["id"]), "test: a crash before the rows went")
    report = verify(app)
    assert any("was erased, yet 2 sealed photo row(s)" in p and f"rarpa erase {amy['id']}" in p
               for p in report.problems), report.problems

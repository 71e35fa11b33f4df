"""Taking a bundle in: `rarpa import transfer-pack.zip` (or a subject-access
bundle) carries the record on with its photos, which an export alone
(export.jsonl) does not hold.

Before anything is written the whole ZIP is checked against its manifest:
the manifest's signature (the sending installation's key, the one that
signed the export's first line), then every file it lists, by size and
SHA-256, and nothing in the ZIP that it does not list. Sizes are checked as
the ZIP declares them before a byte is read, so a ZIP that would unpack to
gigabytes is refused without unpacking it. Each photo is then checked
against the event that names it (rarpa/service/portable.py ``import_lines``).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rarpa.service.portable import canonical

MANIFEST = "manifest.json"
EXPORT = "export.jsonl"
FORMATS = ("rarpa-transfer-pack/1", "rarpa-subject-access/1")  # rarpa/read/bundles.py FORMATS
MAX_FILE = 256 * 1024 * 1024  # the export of a long record is a few MB; a photo at most a few hundred KB
MAX_TOTAL = 2 * 1024 * 1024 * 1024
_PHOTO = re.compile(r"^photo-([0-9a-f-]{36})(-small)?\.jpg$")


class BundleRefused(ValueError):
    """The ZIP is not a whole, unaltered bundle; nothing was imported."""


@dataclass(frozen=True)
class Unpacked:
    manifest: dict
    export_lines: list[str]
    photos: dict[str, tuple[bytes, bytes]]  # photo id: (the JPEG, its thumbnail)


def is_bundle(path: str) -> bool:
    return zipfile.is_zipfile(path)


def _signed_manifest(z: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(z.read(MANIFEST))
    except KeyError:
        raise BundleRefused(f"there is no {MANIFEST} in the ZIP: it is not a RARPA Record bundle") from None
    except ValueError:
        raise BundleRefused(f"{MANIFEST} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in FORMATS:
        raise BundleRefused(f"{MANIFEST} is not a RARPA Record bundle's manifest")
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(manifest["public_key"]))
        key.verify(bytes.fromhex(manifest["signature"]),
                   canonical({k: v for k, v in manifest.items() if k != "signature"}))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        raise BundleRefused(f"{MANIFEST} was altered (its signature does not match)") from None
    return manifest


def read_bundle(path: str) -> Unpacked:
    """The bundle's export and photos, every file checked; BundleRefused otherwise."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise BundleRefused(f"not a ZIP file that can be read ({e})") from None
    with z:
        manifest = _signed_manifest(z)
        listed = {f.get("name"): f for f in manifest.get("files", []) if isinstance(f, dict)}
        infos = {info.filename: info for info in z.infolist()}
        extra = sorted(set(infos) - set(listed) - {MANIFEST})
        if extra:
            raise BundleRefused(f"{extra[0]} is in the ZIP but not in its manifest")
        missing = sorted(set(listed) - set(infos))
        if missing:
            raise BundleRefused(f"{missing[0]} is in the manifest but not in the ZIP")
        if sum(info.file_size for info in infos.values()) > MAX_TOTAL:
            raise BundleRefused("the ZIP would unpack to more than 2 GB; no record is that large")
        files: dict[str, bytes] = {}
        for name, entry in listed.items():
            info = infos[name]
            if info.file_size != entry.get("size") or info.file_size > MAX_FILE:
                raise BundleRefused(f"{name} was changed after the bundle was made (it is not the size its manifest says)")
            data = z.read(info)
            if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                raise BundleRefused(f"{name} was changed after the bundle was made (its SHA-256 does not match)")
            files[name] = data
    if EXPORT not in files:
        raise BundleRefused(f"there is no {EXPORT} in the bundle")
    try:
        lines = files[EXPORT].decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        raise BundleRefused(f"{EXPORT} is not UTF-8 text") from None
    return Unpacked(manifest, lines, _photos(files))


def _photos(files: dict[str, bytes]) -> dict[str, tuple[bytes, bytes]]:
    found: dict[str, dict[str, bytes]] = {}
    for name, data in files.items():
        match = _PHOTO.fullmatch(name)
        if match:
            found.setdefault(match.group(1), {})["thumb" if match.group(2) else "photo"] = data
    for photo_id, pair in found.items():
        if set(pair) != {"photo", "thumb"}:
            raise BundleRefused(f"photo {photo_id} comes without its {'small copy' if 'photo' in pair else 'photo'}")
    return {photo_id: (pair["photo"], pair["thumb"]) for photo_id, pair in found.items()}


def same_record(unpacked: Unpacked, head: dict) -> None:
    """The manifest and the export came from the same installation and state of the record."""
    manifest = unpacked.manifest
    if manifest.get("public_key") != head.get("public_key"):
        raise BundleRefused(f"{EXPORT} was signed by another installation than {MANIFEST}")
    if manifest.get("fingerprint") != head.get("fingerprint") or manifest.get("learner_id") != head.get("learner_id"):
        raise BundleRefused(f"{EXPORT} is not the record {MANIFEST} describes")

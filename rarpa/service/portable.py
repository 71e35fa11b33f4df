"""A learner's record as a file that can move: export and import.

The file is JSON lines. The first line describes it: the learner, how many
events follow, the record's fingerprint (its chain head here), a checksum of
the lines and the installation's signature over this first line. Then one
line per event: its type, schema version, the times, the author, the
payload, the stream's own links in this installation (``link``, ``prev_link``),
and a ``seal`` chaining the line to the one before it, so an altered, removed
or reordered line is named on import.

Import recreates the learner in another installation with every event's
position and recorded time kept, so its progress now and as at any instant is
the same; it is re-encrypted with a key of that installation, and a
``LearnerImported`` event says who imported it from where. The signature
proves the first line came from the installation whose public key it names;
whether that is the college it claims to be is checked by comparing the key
with them (it is printed by ``rarpa import``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eventsourcing.utils import get_topic
from marshmallow import fields as marshmallow_fields

import events
from events.schemas import SCHEMAS
from rarpa.record import Learner, RuleBroken
from rarpa.service.access import Actor, Forbidden

FORMAT = "rarpa-learner-export/1"
GENESIS = b"\x00" * 32
_ENVELOPE = ("type", "version", "stream", "position", "recorded_at", "link", "prev_link", "seal")
_BY_TYPE = {cls.__name__: cls for cls in events.ALL_EVENTS}


class ImportRefused(ValueError):
    """The file is not a whole, unaltered export (``line`` names where; 0:
    not one line, a photo that came with it)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message


def canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(prev: bytes, line: dict) -> bytes:
    body = {k: v for k, v in line.items() if k != "seal"}
    return hashlib.sha256(b"rarpa-export\x1f" + prev + canonical(body)).digest()


def signed(app, head: dict) -> dict:
    """``head`` with the installation's public key and its signature over the
    rest (the export's first line; a bundle's manifest)."""
    key = app.vault.signing_key()
    head["public_key"] = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    head["signature"] = key.sign(canonical(head)).hex()
    return head


def export_lines(app, actor: Actor, learner_id: str, *, user_names: dict | None = None,
                 provider_names: dict | None = None) -> list[str]:
    """The export, one JSON text per line (the first describes the file).
    ``user_names`` and ``provider_names`` (from the read model) travel with
    it, so the receiving installation can say who recorded what."""
    user_names = user_names or {}
    provider_names = provider_names or {}
    learner_events = app.learner_events(actor, learner_id)
    lid = learner_events[0].originator_id
    links = dict(app.recorder.links_of(lid))
    lines = []
    prev = GENESIS
    people: dict[str, str] = {}
    providers: set[str] = set()
    for e in learner_events:
        line = events.to_json(e)
        line["link"] = links[e.originator_version].hex()
        line["prev_link"] = links[e.originator_version - 1].hex() if e.originator_version > 1 else None
        prev = seal(prev, line)
        line["seal"] = prev.hex()
        lines.append(line)
        people.setdefault(e.recorded_by, user_names.get(e.recorded_by, ""))
        providers.add(e.provider)
    for imported in (e for e in learner_events if type(e).__name__ == "LearnerImported"):
        people.update({k: v for k, v in imported.people.items() if k in people and not people[k]})
    head = {
        "format": FORMAT,
        "learner_id": str(lid),
        "events": len(lines),
        "fingerprint": links[learner_events[-1].originator_version].hex(),
        "checksum": "sha256:" + prev.hex(),
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "exported_by": actor.user_id,
        "providers": {slug: provider_names.get(slug, slug) for slug in sorted(providers)},
        "people": people,
    }
    signed(app, head)
    return [canonical(head).decode()] + [canonical(line).decode() for line in lines]


def export_text(app, actor: Actor, learner_id: str, **names) -> str:
    return "".join(line + "\n" for line in export_lines(app, actor, learner_id, **names))


@dataclass(frozen=True)
class Checked:
    head: dict
    lines: list[dict]


def check(text_lines: Iterable[str]) -> Checked:
    """The file as read, or ImportRefused naming the first line that is wrong."""
    rows = [raw for raw in text_lines]
    if not rows or not rows[0].strip():
        raise ImportRefused(1, "the file is empty; expected a line describing the export")
    head = _json(rows[0], 1)
    if head.get("format") != FORMAT:
        raise ImportRefused(1, f"this is not a RARPA Record learner export (format {head.get('format')!r})")
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(head["public_key"]))
        key.verify(bytes.fromhex(head["signature"]), canonical({k: v for k, v in head.items() if k != "signature"}))
    except (KeyError, ValueError, TypeError, InvalidSignature):
        raise ImportRefused(1, "the line describing the export was altered (its signature does not match)") from None
    lines = []
    prev = GENESIS
    for number, raw in enumerate(rows[1:], start=2):
        if not raw.strip():
            continue
        line = _json(raw, number)
        if line.get("seal") != seal(prev, line).hex():
            raise ImportRefused(number, "this line was altered, or a line before it was removed or moved")
        if line.get("stream") != head["learner_id"] or line.get("position") != len(lines) + 1:
            raise ImportRefused(number, "this line is not the next event of the exported learner")
        prev = bytes.fromhex(line["seal"])
        lines.append(line)
    if len(lines) != head["events"]:
        raise ImportRefused(len(rows) + 1, f"the file ends after {len(lines)} events; its first line says "
                                           f"{head['events']} (lines were removed from the end)")
    if "sha256:" + prev.hex() != head["checksum"]:
        raise ImportRefused(len(rows), "the events do not add up to the checksum on the first line")
    return Checked(head, lines)


def _json(raw: str, number: int) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ImportRefused(number, "this line is not JSON") from None
    if not isinstance(value, dict):
        raise ImportRefused(number, "this line is not a JSON object")
    return value


def to_event(line: dict, number: int):
    """A domain event from an export line, upcast to the current version."""
    cls = _BY_TYPE.get(line.get("type"))
    if cls is None or cls not in SCHEMAS:
        raise ImportRefused(number, f"unknown event type {line.get('type')!r}")
    version = int(line.get("version", 1))
    current = events.version_of(cls)
    if version > current:
        raise ImportRefused(number, f"{cls.__name__} version {version} is newer than this installation knows "
                                    f"({current}); upgrade RARPA Record first")
    state = {k: v for k, v in line.items() if k not in _ENVELOPE}
    for step in range(version, current):
        getattr(cls, f"upcast_v{step}_v{step + 1}")(state)
    schema = SCHEMAS[cls]()
    errors = schema.validate(state)
    if errors:
        raise ImportRefused(number, f"the event does not fit its schema: {errors}")
    # Events hold ids and dates as the strings the export has; only date-times are objects.
    values = {name: (datetime.fromisoformat(state[name])
                     if isinstance(field, marshmallow_fields.DateTime) and state.get(name) else state.get(name))
              for name, field in schema.fields.items() if not field.load_only}
    envelope = {"originator_id": uuid.UUID(line["stream"]), "originator_version": line["position"],
                "timestamp": datetime.fromisoformat(line["recorded_at"])}
    if issubclass(cls, events.learner.RecordCreated):
        envelope["originator_topic"] = get_topic(Learner)
    return cls(**envelope, **values)


def _checked_photos(domain_events: list, photos: dict[str, tuple[bytes, bytes]]) -> None:
    """Every photo that came with the export (from a bundle: rarpa/service/unpack.py)
    is one its events name, still kept there, and the very bytes they pin."""
    from rarpa.service.images import is_kept_jpeg

    attached = {e.photo_id: e for e in domain_events if type(e).__name__ == "PhotoAttached"}
    removed = {e.photo_id for e in domain_events if type(e).__name__ == "PhotoRemoved"}
    for photo_id, (jpeg, thumb) in photos.items():
        event = attached.get(photo_id)
        if event is None or photo_id in removed:
            raise ImportRefused(0, f"photo {photo_id} is not a photo kept in this record")
        if hashlib.sha256(jpeg).hexdigest() != event.sha256 or hashlib.sha256(thumb).hexdigest() != event.thumb_sha256:
            raise ImportRefused(0, f"photo {photo_id} is not the photo its event recorded")
        if not (is_kept_jpeg(jpeg) and is_kept_jpeg(thumb)):
            raise ImportRefused(0, f"photo {photo_id} does not open as a JPEG")


def import_lines(app, actor: Actor, text_lines: Iterable[str], *, source: str, reason: str = "",
                 photos: dict[str, tuple[bytes, bytes]] | None = None):
    """Recreate the exported learner here (refusing an altered file, or a
    learner already in this record), with the bytes of ``photos`` (photo id:
    the JPEG and its thumbnail) where they came too. Returns the learner's id
    and the position of the last event written."""
    if actor.role != "system":
        raise Forbidden("importing a record is done at the command line")
    checked = check(text_lines)
    head = checked.head
    lid = uuid.UUID(head["learner_id"])
    if app.exists(lid):
        raise RuleBroken("learner_id", f"learner {lid} is already in this record; nothing was imported", 409)
    domain_events = [to_event(line, n) for n, line in enumerate(checked.lines, start=2)]
    _checked_photos(domain_events, photos or {})
    names = head.get("providers") or {}
    for slug in sorted({e.provider for e in domain_events if e.provider} | set(names)):
        if not app.provider_exists(slug):
            app.register_provider(actor, slug, names.get(slug) or slug)
    if photos:
        # The bytes before the events that name them, sealed with this installation's key for the learner.
        app.vault.key_for(str(lid), create=True)
        for photo_id, (jpeg, thumb) in photos.items():
            app.photo_store.put(str(lid), photo_id, photo=jpeg, thumb=thumb)
    app.recorder.insert_events([app.mapper.to_stored_event(e) for e in domain_events])
    written = app.record_import(actor, str(lid), source=source, exported_at=datetime.fromisoformat(head["exported_at"]),
                                exported_by=head.get("exported_by", ""), source_fingerprint=head["fingerprint"],
                                file_checksum=head["checksum"], people=head.get("people") or {},
                                reason=reason or "imported from another installation")
    return str(lid), written


def iter_file(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as f:
        yield from f

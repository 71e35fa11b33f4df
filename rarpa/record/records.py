"""The small records a learner's record is made of, and how a snapshot stores them.

Each is a frozen dataclass: a change makes a new record (``dataclasses.replace``)
and never alters one in place, so copies of a learner (the aggregate cache's)
share every record they have not changed. Ids are UUID strings, dates ISO
``YYYY-MM-DD`` strings and instants ISO strings in UTC, as the events keep them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, get_origin, get_type_hints

from eventsourcing.persistence import JSONTranscoder, Transcoding

from rarpa.record import measures


@dataclass(frozen=True, slots=True)
class Outcome:
    """An EHCP Section E outcome."""

    text: str
    pfa_area: str
    due: str


@dataclass(frozen=True, slots=True)
class Aim:
    """A programme aim and the outcomes it serves."""

    text: str
    outcome_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """A target, the outcomes it serves, its baseline and whether it is still open."""

    text: str
    success_criteria: str
    outcome_ids: tuple[str, ...]
    review_by: str
    baseline: str | None = None
    status: str = "open"
    closed_as: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """A piece of evidence as it stands now (corrected, perhaps withdrawn).
    ``digest`` is of the body first recorded, so a repeat is recognised."""

    target_id: str
    digest: str
    withdrawn: bool
    rating: str
    prompt_level: str | None
    context: str | None
    note: str
    observed_at: str


@dataclass(frozen=True, slots=True)
class Destination:
    """Where the learner went next, and when it was confirmed as sustained."""

    kind: str
    starts_on: str
    sustained_on: str | None = None

    @property
    def follow_up_on(self) -> str:
        return measures.destination_follow_up(self.starts_on)


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo kept with an observation: the digest of the file as it was sent
    (a repeat is recognised by it) and of what is kept, whether it was chosen
    for the annual-review pack, and whether it was removed (its bytes deleted)."""

    observation_id: str
    received_sha256: str
    sha256: str  # of the JPEG kept, and of its thumbnail: checked whenever they are read
    thumb_sha256: str
    chosen: bool = False
    removed: bool = False


@dataclass(frozen=True, slots=True)
class FamilyMember:
    """A family member let in to see the learner (rarpa/record/family.py)."""

    relationship: str
    ended: bool = False


@dataclass(frozen=True, slots=True)
class Contribution:
    """What a family member sent from home, and where it stands: waiting for
    staff, accepted (evidence now) or declined. The photo's digests are empty
    strings when none came."""

    sent_by: str
    words: str
    happened_on: str
    photo_sha256: str = ""
    photo_received_sha256: str = ""
    photo_thumb_sha256: str = ""
    photo_width: int = 0
    photo_height: int = 0
    photo_size: int = 0
    status: str = "waiting"


RECORDS = (Outcome, Aim, Target, Observation, Destination, Photo, FamilyMember, Contribution)


class RecordAsList(Transcoding):
    """A record in a snapshot: its fields' values in their order (JSON reads a
    tuple field back as a list, made a tuple again here). A record whose fields
    change needs a new name, keeping this one to read old snapshots."""

    def __init__(self, record: type):
        self.type = record
        self.name = f"rarpa.record.{record.__name__}"
        hints = get_type_hints(record)
        self._values = attrgetter(*(f.name for f in fields(record)))
        self._tuples = [i for i, f in enumerate(fields(record)) if get_origin(hints[f.name]) is tuple]

    def encode(self, obj: Any) -> Any:
        return self._values(obj)

    def decode(self, data: list) -> Any:
        for i in self._tuples:
            data[i] = tuple(data[i])
        return self.type(*data)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Lets the application's transcoder store the records (in snapshots)."""
    for record in RECORDS:
        transcoder.register(RecordAsList(record))

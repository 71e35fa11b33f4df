"""The event catalogue: every event type in the record, its fields, its version
and its marshmallow schema. See ``catalogue()`` for the whole list."""

from __future__ import annotations

from functools import cache
from typing import Any

from events import learner, staff
from events.schemas import SCHEMAS

ALL_EVENTS = (*learner.LEARNER_EVENTS, *staff.STAFF_EVENTS)

# Fields the library puts on every event; the catalogue shows them separately.
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def version_of(event_class: type) -> int:
    return getattr(event_class, "class_version", 1)


@cache
def _schema(event_class: type):
    """One schema per event type: building one binds every field again, which
    took half of an as-at view's time when done per event (dumping keeps no state)."""
    return SCHEMAS[event_class]()


def payload(event: Any) -> dict[str, Any]:
    """An event's own fields, as JSON-ready values, through its schema."""
    schema = _schema(type(event))
    state = {k: v for k, v in vars(event).items() if k not in _ENVELOPE}
    return schema.dump(state)


def to_json(event: Any) -> dict[str, Any]:
    """The export form of one event: envelope first, then its payload."""
    body = {
        "type": type(event).__name__,
        "version": version_of(type(event)),
        "stream": str(event.originator_id),
        "position": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),
    }
    body.update(payload(event))
    return body


def catalogue() -> list[dict[str, Any]]:
    """Each event type with its version and fields (for docs and `rarpa events`)."""
    rows = []
    for cls in ALL_EVENTS:
        schema = SCHEMAS[cls]()
        rows.append(
            {
                "type": cls.__name__,
                "topic": f"{cls.__module__}:{cls.__qualname__}",
                "version": version_of(cls),
                "personal": getattr(cls, "personal", True),
                "fields": sorted(schema.fields),
            }
        )
    return rows

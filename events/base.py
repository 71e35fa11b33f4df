"""What every event in the record carries, whatever it says.

Events are frozen dataclasses (the eventsourcing library makes them so). Each one
records who made it (``recorded_by``, ``role``), at which provider (``provider``)
and, through the library's ``timestamp``, when the server recorded it. Events whose
subject may be asked to be forgotten set ``personal = True``: the mapper encrypts
them with that stream's own key, so destroying the key erases them.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterator

from eventsourcing.domain import Aggregate

# Where "now" comes from when an event is recorded. Normally the server's clock;
# an import of historical records (the demo) or a test sets it for a while.
_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("rarpa_clock", default=None)


def now() -> datetime:
    source = _clock.get()
    return source() if source else datetime.now(timezone.utc)


@contextmanager
def clock(source: Callable[[], datetime]) -> Iterator[None]:
    token = _clock.set(source)
    try:
        yield
    finally:
        _clock.reset(token)


class RecordEvent(Aggregate.Event):
    """An event that changes an aggregate already in the record."""

    personal: ClassVar[bool] = True
    recorded_by: str
    role: str
    provider: str

    @staticmethod
    def create_timestamp() -> datetime:
        return now()

    def apply(self, aggregate: Any) -> None:
        # The aggregate decides how it changes (its `when` picks the handler for this event's class).
        aggregate.when(self)


class RecordCreated(Aggregate.Created):
    """The first event of an aggregate's stream."""

    personal: ClassVar[bool] = True
    recorded_by: str
    role: str
    provider: str

    @staticmethod
    def create_timestamp() -> datetime:
        return now()

    def apply(self, aggregate: Any) -> None:
        aggregate.when(self)

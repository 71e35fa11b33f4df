"""How an event changes an aggregate: each handler is marked with the events it
applies, beside the command that raises them, in whichever class of the
aggregate (or mixin of it) that command lives.

    class EvidenceStage:
        def record_observation(self, ...):
            ...
            self.trigger_event(ev.ObservationRecorded, ...)

        @applies(ev.ObservationRecorded)
        def _observation_recorded(self, e): ...

An aggregate class that derives from ``AppliesEvents`` collects the marked
handlers of every class it is made of when it is defined, and its ``when``
(which the events in ``events/`` call) looks the event's own class up. An event
with no handler, or with two, is a programming error.
"""

from __future__ import annotations

from typing import Any, Callable

_APPLIES = "_applies_events"


def applies(*event_classes: type) -> Callable[[Callable], Callable]:
    """Marks a method as the handler of the given event classes."""

    def mark(handler: Callable) -> Callable:
        setattr(handler, _APPLIES, event_classes)
        return handler

    return mark


def events_applied_by(handler: Any) -> tuple[type, ...]:
    """The event classes a method was marked with (none for other attributes)."""
    return getattr(handler, _APPLIES, ())


class AppliesEvents:
    """Base of the aggregates: ``when`` hands each event to its handler."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        handlers: dict[type, Callable] = {}
        for part in reversed(cls.__mro__):
            for handler in vars(part).values():
                for event_class in events_applied_by(handler):
                    if event_class in handlers:
                        raise TypeError(f"{cls.__name__} has two handlers for {event_class.__name__}")
                    handlers[event_class] = handler
        cls._handlers = handlers
        super().__init_subclass__(**kwargs)

    def when(self, event: Any) -> None:
        try:
            handler = self._handlers[type(event)]
        except KeyError:
            raise NotImplementedError(f"{type(self).__name__} has no handler for {type(event).__name__}") from None
        handler(self, event)

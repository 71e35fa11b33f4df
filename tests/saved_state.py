"""The claim a write's shortcut rests on (rarpa.service.application: the
learner a command leaves is cached and snapshotted as it is, not read back):
it equals the learner a replay of the stored events gives, value for value
and type for type. Checked by tests/test_saved_state.py and, after every
test, on whatever the test's application has cached (tests/conftest.py)."""

from __future__ import annotations

import uuid

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import EventSourcingError

from rarpa.record import Learner
from rarpa.service.cache import replay
from rarpa.store.cipher import StreamErased


def _state(aggregate) -> dict:
    state = dict(vars(aggregate))
    state.pop("_pending_events")
    return state


def _typed(value):
    """A value with the type of every part, so a tuple read back as a list differs."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    if hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__, {k: _typed(getattr(value, k)) for k in value.__dataclass_fields__})
    return (type(value).__name__, value)


def _replayed(app, learner_id, version: int | None = None):
    return app.repository.get(uuid.UUID(str(learner_id)), version=version, projector_func=replay)


def cache_differences(app) -> list[str]:
    """Each cached learner that is not what a replay of its stream, to the
    same version, gives."""
    found = []
    for key in app.cache.keys():
        held = app.cache.get(key)
        if not isinstance(held, Learner):
            continue
        try:
            replayed = _replayed(app, key, held.version)
        except (StreamErased, AggregateNotFoundError, EventSourcingError):
            continue  # erased since (its key is gone), a store the test damaged or closed
        if replayed.version != held.version:
            continue  # events the test removed on purpose (tests/test_tamper.py)
        if _typed(_state(held)) != _typed(_state(replayed)):
            found.append(f"{key} at version {held.version}")
    return found

"""Aggregates kept in memory between requests, and the fast replay they use."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any


def replay(aggregate, events):
    """Apply events in order. The library's default does a runtime Protocol
    check per event, which measured at a fifth of the time of a write."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class AggregateCache:
    """Aggregates kept between requests, so a learner with years of evidence
    is not replayed for every tap. An aggregate in the cache is never
    changed: bringing it up to date works on a copy, which then takes its
    place. So a thread may copy a cached aggregate without a lock while
    another thread brings the same learner up to date."""

    def __init__(self, maxsize: int = 500):
        self.maxsize = maxsize
        self._items: OrderedDict[uuid.UUID, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: uuid.UUID):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: uuid.UUID, aggregate) -> None:
        """Keep the newer of what is cached and this (writers may finish out of order)."""
        with self._lock:
            held = self._items.get(key)
            if held is None or held.version < aggregate.version:
                self._items[key] = aggregate
                self._items.move_to_end(key)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)

    def keys(self) -> list[uuid.UUID]:
        with self._lock:
            return list(self._items)

    def evict(self, key: uuid.UUID) -> None:
        with self._lock:
            self._items.pop(key, None)

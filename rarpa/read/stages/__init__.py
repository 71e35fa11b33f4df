"""The progress projection in parts, one per stage of the record: people and
providers, the learner's plan, the evidence, reviews and stage 5, and the
numbers derived from them. ``rarpa.read.projections.ProgressProjection``
composes them; each part marks the events it applies with ``@applies``, as
the aggregates do (``rarpa.record.dispatch``)."""

from __future__ import annotations

from typing import ClassVar

import sqlite_utils

from rarpa.read.stages.derived import Derived
from rarpa.record.dispatch import applies, events_applied_by

__all__ = ["Stage", "applies"]


class Stage:
    """One part of the projection: it writes its tables through ``db`` and
    leaves derived numbers and due dates to ``derived``."""

    # event type -> name of the method that applies it (collected from @applies)
    APPLIES: ClassVar[dict[type, str]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.APPLIES = {t: name for name, method in vars(cls).items() for t in events_applied_by(method)}

    def __init__(self, db: sqlite_utils.Database, derived: Derived):
        self.db = db
        self.x = db.execute
        self.derived = derived

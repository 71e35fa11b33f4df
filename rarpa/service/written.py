"""What a service method answers with, and the one refusal that is not an
access rule: the learner's data was erased."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Erased(LookupError):
    """The learner's data was erased (410)."""


@dataclass
class Written:
    """What a command wrote: its result and the position to wait for."""

    result: Any
    position: int | None
    created: bool = True
    learner_id: str | None = None  # the learner's canonical id, for learner commands

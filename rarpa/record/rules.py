"""What every command of the record shares: the refusal it raises, the checks
of its input, and the ids it hands out.

A command checks only the rules of the record itself and raises
``RuleBroken`` naming the field at fault.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator

from rarpa.record import limits

# Names for the deterministic ids of providers and users (uuid5), so a slug or
# an email finds its stream without an index.
NAMESPACE = uuid.UUID("6f1d3c52-9a5e-4b8e-a7f4-3e2b1c0d9a81")


class RuleBroken(ValueError):
    """A command would break a rule of the record. ``field`` names the input at
    fault; ``status`` is 409 when the clash is with what is already recorded."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


# --- ids ------------------------------------------------------------------------------
def provider_id(slug: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"provider:{slug}")


def user_id(email: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"user:{email.strip().lower()}")


# Ids of things inside a record (outcomes, targets...). An import can set a
# deterministic source so the same demo gives the same ids every time.
_id_source: ContextVar[Callable[[], uuid.UUID] | None] = ContextVar("rarpa_ids", default=None)


def new_id() -> str:
    source = _id_source.get()
    return str(source() if source else uuid.uuid4())


@contextmanager
def id_source(source: Callable[[], uuid.UUID]) -> Iterator[None]:
    token = _id_source.set(source)
    try:
        yield
    finally:
        _id_source.reset(token)


# --- checks of a command's input --------------------------------------------------------
def need(value: Any, field: str, allowed: tuple[str, ...], *, optional=False) -> None:
    if value is None and optional:
        return
    if value not in allowed:
        raise RuleBroken(field, f"must be one of: {', '.join(allowed)}")


def need_text(value: str | None, field: str, what: str) -> str:
    if value is None or not str(value).strip():
        raise RuleBroken(field, f"{what} is required")
    problem = limits.text_problem(str(value))  # e.g. a lone surrogate: it could not be sealed
    if problem:
        raise RuleBroken(field, problem)
    return str(value).strip()


def iso_date(value: date | str, field: str) -> str:
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            raise RuleBroken(field, "must be a date as YYYY-MM-DD") from None
    problem = limits.date_problem(value)  # 1900..2100: date arithmetic on it cannot overflow
    if problem:
        raise RuleBroken(field, problem)
    return value.isoformat()


def aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise RuleBroken(field, "must include a timezone offset, e.g. 2026-11-23T10:15:00Z")
    problem = limits.instant_problem(value)  # before converting: year 1 at +14:00 has no UTC
    if problem:
        raise RuleBroken(field, problem)
    return value.astimezone(timezone.utc)


# --- what makes two observations the same ---------------------------------------------------
def observation_digest(
    target_id: str,
    rating: str,
    prompt_level: str | None,
    context: str | None,
    note: str,
    observed_at: datetime,
    new_to_learner: list[str] | tuple[str, ...] = (),
) -> str:
    """What makes a repeat of an observation 'the same': used for idempotency.
    (What was new is added only when there was something, so the digests of
    observations recorded before it existed are unchanged.)"""
    parts = [target_id, rating, prompt_level, context, note, observed_at.isoformat()]
    if new_to_learner:
        parts.append(list(new_to_learner))
    body = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:32]

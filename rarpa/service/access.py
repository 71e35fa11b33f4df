"""Who may do what: the one home of the access rules. The service layer
checks them for every command and read, and the read side turns ``scope``
into SQL for lists and counts, so the API, the pages and the CLI all follow
the same rules.

- tutor, support: only learners on their caseload; record and see progress
  (a tutor may also hold progress reviews);
- send_lead: learners at their provider (either provider of a dual placement);
  enrol learners, set outcomes, targets, reviews;
- auditor: read everything, never write; every view is logged;
- admin: users and providers, no learner data;
- system: the operator at the command line (already holds the database files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ, RECORD, PLAN, REVIEW, ENROL, ADMINISTER = (
    "read",
    "record",
    "plan",
    "review",
    "enrol",
    "administer",
)

ALLOWED = {
    "tutor": {READ, RECORD, REVIEW},
    "support": {READ, RECORD},
    "send_lead": {READ, RECORD, PLAN, REVIEW, ENROL},
    "auditor": {READ},
    "admin": {ADMINISTER},
    "system": {READ, RECORD, PLAN, REVIEW, ENROL, ADMINISTER},
}


class NotFound(LookupError):
    """No such thing, or not one this person may know exists (404)."""


class Forbidden(PermissionError):
    """This person may see it but not do this (403)."""


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    provider: str | None = None
    caseload: frozenset[str] = field(default_factory=frozenset)
    email: str = ""

    def stamp(self, fallback_provider: str) -> dict:
        """Who, in which role, at which provider: carried by every event."""
        return {
            "recorded_by": self.user_id,
            "role": self.role,
            "provider": self.provider or fallback_provider,
        }

    def may(self, action: str) -> bool:
        return action in ALLOWED.get(self.role, set())


def system_actor(who: str = "cli") -> Actor:
    return Actor(user_id=f"system:{who}", role="system")


def scope(actor: Actor) -> tuple[str, frozenset[str]]:
    """Which learners this person may see: ("all", {}), ("caseload", their
    learners' ids), ("provider", {their provider}) or ("none", {}). The read
    side turns it into SQL for lists and counts; ``can_see`` applies it to one."""
    if actor.role in ("system", "auditor"):
        return "all", frozenset()
    if actor.role in ("tutor", "support"):
        return "caseload", frozenset(actor.caseload)
    if actor.role == "send_lead":
        return "provider", frozenset({actor.provider}) if actor.provider else frozenset()
    return "none", frozenset()


def can_see(actor: Actor, learner_id: str, providers: set[str] | list[str] | dict) -> bool:
    """Whether this person may see this learner (who attends ``providers``)."""
    kind, values = scope(actor)
    if kind == "all":
        return True
    if kind == "caseload":
        return str(learner_id) in values
    if kind == "provider":
        return bool(values & set(providers))
    return False


def require(actor: Actor, action: str, learner_id: str, providers) -> None:
    """Raise NotFound when the learner is out of sight, Forbidden when the
    learner is in sight but the action is not this role's."""
    if not can_see(actor, learner_id, providers):
        raise NotFound("learner")
    if not actor.may(action):
        raise Forbidden(f"a {actor.role} cannot {action} here")

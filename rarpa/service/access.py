"""Who may do what: the one home of the access rules. The service layer
checks them for every command and read, and the read side turns ``scope``
into SQL for lists and counts, so the API, the pages and the CLI all follow
the same rules.

- tutor, support: only learners on their caseload; record and see progress
  (a tutor may also hold progress reviews);
- send_lead: learners at their provider (either provider of a dual placement);
  enrol learners, set outcomes, targets, reviews; hand the whole record over
  (a transfer pack for the next provider, a subject-access bundle);
- auditor: read everything, never write; every view is logged;
- admin: users and providers, no learner data; erases a learner's personal
  data by their record reference, without seeing the record;
- system: the operator at the command line (already holds the database files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

READ, RECORD, PLAN, REVIEW, ENROL, ADMINISTER, ERASE = (
    "read",
    "record",
    "plan",
    "review",
    "enrol",
    "administer",
    "erase",
)
# Handing a learner's whole record over in one file (web/bundles.py, `rarpa
# transfer-pack`, `rarpa subject-access`): the SEND lead's, who answers for it.
SHARE = "share"

ALLOWED = {
    "tutor": {READ, RECORD, REVIEW},
    "support": {READ, RECORD},
    "send_lead": {READ, RECORD, PLAN, REVIEW, ENROL, SHARE},
    "auditor": {READ},
    "admin": {ADMINISTER, ERASE},
    "system": {READ, RECORD, PLAN, REVIEW, ENROL, ADMINISTER, ERASE, SHARE},
}
# Done by record reference, not by sight: the administrator who erases a
# learner's data never sees their record (scope "none"); the service shows
# only what confirms it is the right person (LearnerService.erasure_subject).
BY_REFERENCE = frozenset({ERASE})


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
    learner is in sight but the action is not this role's. An action done by
    reference (erasure) needs the right, not sight of the learner."""
    if action in BY_REFERENCE and actor.may(action):
        return
    if not can_see(actor, learner_id, providers):
        raise NotFound("learner")
    if not actor.may(action):
        raise Forbidden(f"a {actor.role} cannot {action} here")

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
- family: a family member the SEND lead let in, while consent to share with
  family is given: an easy-read summary of the learner's progress, and
  contributions from home, which staff accept or decline; nothing else;
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
# The auditor's workspace: the timeline, compare and who opened the record.
AUDIT = "audit"
# Counts over a provider or everyone (the cohort pages), never over a caseload:
# a handful of learners would be as good as named.
COHORT = "cohort"
# The family's: an easy-read summary of progress, and sending what they saw at home.
FAMILY_VIEW, CONTRIBUTE = "see as family", "contribute"
# Staff deciding what a family member sent: evidence from home, or declined with a reason.
MODERATE = "moderate"

# How a person stands to a learner. ``CASELOAD``: the learner is on their
# caseload and their provider still works with the learner; ``PROVIDER``: the
# learner attends their provider; ``ANY``: every learner; ``BY_REFERENCE``:
# no sight of the record at all, only its reference (erasure); ``NONE``: not
# about a learner (administration); ``FAMILY``: a family member the record
# lets in now (invited, not ended, consent to share with family given).
CASELOAD, PROVIDER, ANY, BY_REFERENCE, NONE = "caseload", "provider", "any", "by reference", "none"
FAMILY = "family"

# THE RULE TABLE: for each action, which roles may do it, and to which
# learners (by how they stand to them). Everything else is refused: a learner
# the person may not READ is not there for them (404); an action on a learner
# they may read, but not do, is a 403 (a 404 for the HIDDEN actions, whose
# existence is not theirs to know). The service applies it to every command
# and read; the read side turns READ into SQL (``scope``); the web layer looks
# up the action of every route in web/rules.py and applies it here before
# the view runs.
RULES: dict[str, dict[str, str]] = {
    READ: {"tutor": CASELOAD, "support": CASELOAD, "send_lead": PROVIDER, "auditor": ANY, "system": ANY},
    RECORD: {"tutor": CASELOAD, "support": CASELOAD, "send_lead": PROVIDER, "system": ANY},
    REVIEW: {"tutor": CASELOAD, "send_lead": PROVIDER, "system": ANY},
    PLAN: {"send_lead": PROVIDER, "system": ANY},
    ENROL: {"send_lead": PROVIDER, "system": ANY},
    SHARE: {"send_lead": PROVIDER, "system": ANY},
    AUDIT: {"auditor": ANY, "send_lead": PROVIDER, "system": ANY},
    COHORT: {"auditor": ANY, "send_lead": PROVIDER, "system": ANY},
    FAMILY_VIEW: {"family": FAMILY},
    CONTRIBUTE: {"family": FAMILY},
    MODERATE: {"tutor": CASELOAD, "send_lead": PROVIDER, "system": ANY},
    ERASE: {"admin": BY_REFERENCE, "system": ANY},
    ADMINISTER: {"admin": NONE, "system": ANY},
}
HIDDEN = frozenset({AUDIT})

# What each role may do at all (to some learner, or to none), from the table.
ALLOWED = {role: {action for action, roles in RULES.items() if role in roles}
           for role in ("tutor", "support", "send_lead", "auditor", "admin", "family", "system")}


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
    """Which learners this person may READ, for lists and counts: ("all", {}),
    ("caseload", their learners' ids — the read side also requires their
    provider still to work with each), ("provider", {their provider}) or
    ("none", {}). ``can_see`` applies the same rule to one learner."""
    relation = RULES[READ].get(actor.role)
    if relation == ANY:
        return "all", frozenset()
    if relation == CASELOAD:
        return "caseload", frozenset(actor.caseload)
    if relation == PROVIDER:
        return "provider", frozenset({actor.provider}) if actor.provider else frozenset()
    return "none", frozenset()


def stands(actor: Actor, learner_id: str, providers: set[str] | list[str] | dict,
           family: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """How this person stands to this learner (who attends ``providers``, and
    whose ``family`` members the record lets in now)."""
    holds = {ANY, BY_REFERENCE, NONE}
    if actor.role == FAMILY and actor.user_id in family:
        holds.add(FAMILY)
    attends = actor.provider is not None and actor.provider in set(providers)
    if attends:
        holds.add(PROVIDER)
        if str(learner_id) in actor.caseload:
            holds.add(CASELOAD)
    return holds


def allows(actor: Actor, action: str, learner_id: str, providers, family: frozenset[str] = frozenset()) -> bool:
    """Whether the rule table lets this person do ``action`` to this learner."""
    relation = RULES.get(action, {}).get(actor.role)
    return relation is not None and relation in stands(actor, learner_id, providers, family)


def can_see(actor: Actor, learner_id: str, providers: set[str] | list[str] | dict) -> bool:
    """Whether this person may see this learner (who attends ``providers``).
    A tutor whose provider has left the learner sees them no more, caseload or not."""
    return allows(actor, READ, learner_id, providers)


def require(actor: Actor, action: str, learner_id: str, providers, family: frozenset[str] = frozenset()) -> None:
    """Raise NotFound when the learner is out of sight, Forbidden when the
    learner is in sight but the action is not this person's (NotFound for a
    hidden action). An action done by reference (erasure) needs the right,
    not sight of the learner. A family member the record lets in sees the
    learner, but only through the family's actions."""
    if RULES.get(action, {}).get(actor.role) == BY_REFERENCE:
        return
    in_sight = can_see(actor, learner_id, providers) or FAMILY in stands(actor, learner_id, providers, family)
    if not in_sight:
        raise NotFound("learner")
    if not allows(actor, action, learner_id, providers, family):
        if action in HIDDEN:
            raise NotFound("learner")
        raise Forbidden(f"a {actor.role} cannot {action} here")

"""What the record says about itself: who has opened a learner's record (the
access log) and whether a fingerprint printed on a pack is still the record's.
Mixed into RecordApplication."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from rarpa.record import RuleBroken
from rarpa.service import access
from rarpa.service.access import Actor, NotFound

# Who may read a learner's access log (and use the auditor's workspace): the
# roles the rule table gives AUDIT to, each for the learners it says.
READS_ACCESS_LOG = frozenset(access.RULES[access.AUDIT])
# A fingerprint's shortest checkable prefix: 64 bits.
MIN_FINGERPRINT = 16
FULL_FINGERPRINT = 64
_HEX = re.compile(r"^[0-9a-f]+$")

# What was opened, as the access log names it.
VIEWS = ("learner page", "evidence", "timeline", "changes", "annual-review pack", "annual-review pack (PDF)",
         "history", "progress", "export", "transfer pack", "subject access", "access log", "observation",
         "cohort list", "erasure check", "plan", "end of programme", "consents", "self-assessment",
         "progress review", "learner page (kept for offline use)", "providers",
         # The admin pages name learners (and nothing else of them): a caseload's choices, the admin audit list.
         "caseload list", "admin audit",
         # Photo evidence (web/photos.py): each photo and each thumbnail shown is a view of its own.
         "photo", "photo thumbnail",
         # The learner's own pages (web/my_progress.py), by staff or handed to the learner, and their words.
         "my progress", "my progress: a target", "my self-assessment", "target in the learner's words",
         # The family's voice (web/family.py): staff looking at family members and contributions, the
         # family member looking at the summary they are shown.
         "family members", "contribution", "contribution photo", "family summary")


@dataclass(frozen=True)
class FingerprintCheck:
    matches: bool
    position: int | None = None  # the event the fingerprint is the head of
    recorded_at: str | None = None
    events_after: int = 0
    events: int = 0  # in the stream now


def normalise_fingerprint(value: str) -> str:
    """The hex digits of a fingerprint as typed (spaces, colons and case ignored)."""
    digits = re.sub(r"[\s:-]", "", value or "").lower()
    if not _HEX.match(digits or "-"):
        raise RuleBroken("fingerprint", "a fingerprint is made of the digits 0-9 and letters a-f", 422)
    if len(digits) < MIN_FINGERPRINT:
        raise RuleBroken("fingerprint", f"enter at least {MIN_FINGERPRINT} characters of the fingerprint", 422)
    if len(digits) > FULL_FINGERPRINT:
        raise RuleBroken("fingerprint", f"a fingerprint has {FULL_FINGERPRINT} characters at most", 422)
    return digits


class AuditService:
    def log_view(self, actor: Actor, learner_id: str | None, what: str, *, address: str = "",
                 detail: str = "") -> None:
        """One entry in the access log, durably, before the view is shown
        (AccessLogUnavailable when it cannot be written: refuse the view)."""
        self.vault.access.append(user_id=actor.user_id, role=actor.role, action=what, learner_id=learner_id,
                                 address=address, detail=detail[:500])

    def open_record(self, actor: Actor, learner_id: str, what: str, *, address: str = "",
                    detail: str = "", action: str = "read") -> str:
        """The learner's id when this person may see them, the view logged."""
        lid = str(self.learner(actor, learner_id, action).id)
        self.log_view(actor, lid, what, address=address, detail=detail)
        return lid

    def access_entries(self, actor: Actor, learner_id: str, *, address: str = "", detail: str = "") -> list[dict]:
        """Who opened this learner's record, oldest first: for auditors and
        the learner's SEND lead; to anyone else there is no such log (404)."""
        lid = str(self.learner(actor, learner_id, access.AUDIT).id)  # hidden: a 404 to anyone else
        self.log_view(actor, lid, "access log", address=address, detail=detail)  # first: this view is in it
        return self.vault.access.entries(lid)

    def fingerprint(self, learner_id: uuid.UUID, version: int) -> str:
        """The learner's hash chain at one event, in full (64 hex digits)."""
        link = self.recorder.link_of(learner_id, version)
        return link.hex() if link else ""

    def check_fingerprint(self, actor: Actor, learner_id: str, fingerprint: str) -> FingerprintCheck:
        """Whether the record up to some event is the one this fingerprint was
        taken from (so nothing up to it has changed since), and how many
        events were recorded after it. A learner out of sight does not match."""
        digits = normalise_fingerprint(fingerprint)
        try:
            key = uuid.UUID(str(learner_id))
        except ValueError:
            return FingerprintCheck(False)
        links = self.recorder.links_of(key)
        if not links or not _sees(self, actor, key):
            return FingerprintCheck(False)
        for index, (version, link) in enumerate(links):
            if link.hex().startswith(digits):
                return FingerprintCheck(True, version, _recorded_at(self, key, version), len(links) - 1 - index,
                                        len(links))
        return FingerprintCheck(False, events=len(links))


def _sees(app, actor: Actor, key: uuid.UUID) -> bool:
    try:
        app.learner(actor, str(key))
    except NotFound:
        return False
    except Exception:  # erased: the chain still stands and may still be checked
        return actor.role in ("system", "auditor")
    return True


def _recorded_at(app, key: uuid.UUID, version: int) -> str | None:
    """When the event was recorded (unknown once the learner is erased)."""
    try:
        found = list(app.events.get(key, gt=version - 1, lte=version))
    except Exception:  # erased: its time is sealed with its content
        return None
    return found[0].timestamp.isoformat() if found else None

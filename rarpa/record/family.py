"""The family's voice: family members let in by the SEND lead, what they send
from home, and staff accepting it as evidence or declining it. A mixin of
``Learner``: each command beside the handler of the event it raises.

Who may come in is the record's to say: a family member sees the learner
only while they were invited, their access was not ended, and consent to
share with family is recorded as given (``family_in_sight``), so withdrawing
that consent shuts every family member out at once.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timezone

from events import learner as ev
from rarpa.record.dispatch import applies
from rarpa.record.records import Contribution, FamilyMember
from rarpa.record.rules import NAMESPACE, RuleBroken, iso_date, need_text

WORDS_LIMIT = 2000
RELATIONSHIP_LIMIT = 60
NO_FAMILY_CONSENT = ("consent to share with family is not recorded as given for this learner, so no family "
                     "member can be let in (a SEND lead records consent on the learner's Consent page)")


def observation_id_for(contribution_id: str, target_id: str) -> str:
    """Accepting the same contribution again makes the same observations: nothing new."""
    return str(uuid.uuid5(NAMESPACE, f"family:{contribution_id}:{target_id}"))


class FamilyStage:
    """Family members, their contributions, and moderation."""

    def shares_with_family(self) -> bool:
        return self.consents.get("sharing_with_family") is True

    def family_in_sight(self) -> frozenset[str]:
        """The family members who may see the learner now (access.stands' FAMILY)."""
        if not self.shares_with_family():
            return frozenset()
        return frozenset(uid for uid, m in self.family.items() if not m.ended)

    # --- letting a family member in, and out --------------------------------------------------
    def invite_family_member(self, *, stamp: dict, family_user_id: str, relationship: str, reason: str) -> bool:
        """Returns False, writing nothing, when they are in already."""
        if not self.shares_with_family():
            raise RuleBroken("relationship", NO_FAMILY_CONSENT, 409)
        uid = str(family_user_id)
        if uid in self.family and not self.family[uid].ended:
            return False
        relationship = need_text(relationship, "relationship", "Who they are to the learner")
        if len(relationship) > RELATIONSHIP_LIMIT:
            raise RuleBroken("relationship", f"who they are to the learner must be {RELATIONSHIP_LIMIT} characters "
                                             "or fewer")
        self.trigger_event(ev.FamilyMemberInvited, family_user_id=uid, relationship=relationship,
                           reason=need_text(reason, "reason", "A reason"), **stamp)
        return True

    @applies(ev.FamilyMemberInvited)
    def _family_invited(self, e: ev.FamilyMemberInvited) -> None:
        self.family[e.family_user_id] = FamilyMember(relationship=e.relationship)

    def end_family_access(self, *, stamp: dict, family_user_id: str, reason: str) -> None:
        member = self.family.get(str(family_user_id))
        if member is None:
            raise RuleBroken("family_user_id", "no such family member for this learner", 404)
        if member.ended:
            raise RuleBroken("family_user_id", "their access has already ended", 409)
        self.trigger_event(ev.FamilyAccessEnded, family_user_id=str(family_user_id),
                           reason=need_text(reason, "reason", "A reason"), **stamp)

    @applies(ev.FamilyAccessEnded)
    def _family_ended(self, e: ev.FamilyAccessEnded) -> None:
        self.family[e.family_user_id] = replace(self.family[e.family_user_id], ended=True)

    # --- what they send -----------------------------------------------------------------------
    def send_family_contribution(self, *, stamp: dict, contribution_id: str, words: str, happened_on: date | str,
                                 photo: dict | None = None, today: date | None = None) -> bool:
        """A contribution from home (``photo``: what images.keep says of a photo
        already kept). The same id again with the same words is a repeat."""
        cid = str(contribution_id)
        words = need_text(words, "words", "What you saw")
        if len(words) > WORDS_LIMIT:
            raise RuleBroken("words", f"what you saw must be {WORDS_LIMIT} characters or fewer")
        day = iso_date(happened_on, "happened_on")
        if day > (today or datetime.now(timezone.utc).date()).isoformat():
            raise RuleBroken("happened_on", "the day it happened cannot be in the future")
        if cid in self.contributions:
            if self.contributions[cid].words == words:
                return False
            raise RuleBroken("contribution_id", "this contribution id was already used", 409)
        if photo and not self.may_photograph():
            raise RuleBroken("photo", "photos cannot be sent for this learner: consent to photographs is not "
                                      "given. Send your words without a photo")
        photo = photo or {}
        self.trigger_event(
            ev.FamilyContributionSent, contribution_id=cid, words=words, happened_on=day,
            photo_sha256=photo.get("sha256", ""), photo_received_sha256=photo.get("received_sha256", ""),
            photo_thumb_sha256=photo.get("thumb_sha256", ""), photo_width=int(photo.get("width", 0)),
            photo_height=int(photo.get("height", 0)), photo_size=int(photo.get("size", 0)), **stamp)
        return True

    @applies(ev.FamilyContributionSent)
    def _contribution_sent(self, e: ev.FamilyContributionSent) -> None:
        self.contributions[e.contribution_id] = Contribution(
            sent_by=e.recorded_by, words=e.words, happened_on=e.happened_on, photo_sha256=e.photo_sha256,
            photo_received_sha256=e.photo_received_sha256, photo_thumb_sha256=e.photo_thumb_sha256,
            photo_width=e.photo_width, photo_height=e.photo_height, photo_size=e.photo_size)

    def contribution(self, contribution_id: str) -> Contribution | None:
        return self.contributions.get(str(contribution_id))

    def _waiting(self, contribution_id: str) -> Contribution:
        found = self.contribution(contribution_id)
        if found is None:
            raise RuleBroken("contribution_id", "no such contribution for this learner", 404)
        if found.status != "waiting":
            raise RuleBroken("contribution_id", f"this contribution was already {found.status}", 409)
        return found

    # --- moderation ---------------------------------------------------------------------------
    def accept_family_contribution(self, *, stamp: dict, contribution_id: str, ratings: dict[str, str],
                                   note: str = "") -> dict[str, str]:
        """Evidence from home: one observation per target in ``ratings`` (target
        id to rating), at home, on the day it happened, with the family's words;
        the photo (if any, and consent still given) attached to the first. Returns
        the observations (target id to observation id)."""
        cid = str(contribution_id)
        sent = self._waiting(cid)
        if not ratings:
            raise RuleBroken("targets", "choose at least one target this is evidence for")
        # The day is what the family gave: midday on it (or now, if that is still to come today).
        observed_at = min(datetime.combine(date.fromisoformat(sent.happened_on), time(12, 0), tzinfo=timezone.utc),
                          datetime.now(timezone.utc))
        made: dict[str, str] = {}
        for target_id, rating in ratings.items():
            oid = observation_id_for(cid, str(target_id))
            self.record_observation(stamp=stamp, observation_id=oid, target_id=str(target_id), rating=rating,
                                    observed_at=observed_at, context="home", note=sent.words)
            made[str(target_id)] = oid
        photo_id = ""
        if sent.photo_sha256 and self.may_photograph():
            photo_id, _ = self.attach_photo(
                stamp=stamp, observation_id=next(iter(made.values())), sha256=sent.photo_sha256,
                received_sha256=sent.photo_received_sha256, size=sent.photo_size, width=sent.photo_width,
                height=sent.photo_height, thumb_sha256=sent.photo_thumb_sha256)
        self.trigger_event(ev.FamilyContributionAccepted, contribution_id=cid, observations=made, photo_id=photo_id,
                           note=(note or "").strip(), **stamp)
        return made

    @applies(ev.FamilyContributionAccepted)
    def _contribution_accepted(self, e: ev.FamilyContributionAccepted) -> None:
        self.contributions[e.contribution_id] = replace(self.contributions[e.contribution_id], status="accepted")

    def decline_family_contribution(self, *, stamp: dict, contribution_id: str, reason: str) -> None:
        self._waiting(contribution_id)
        self.trigger_event(ev.FamilyContributionDeclined, contribution_id=str(contribution_id),
                           reason=need_text(reason, "reason", "A reason the family member will see"), **stamp)

    @applies(ev.FamilyContributionDeclined)
    def _contribution_declined(self, e: ev.FamilyContributionDeclined) -> None:
        self.contributions[e.contribution_id] = replace(self.contributions[e.contribution_id], status="declined")

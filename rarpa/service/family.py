"""The family's voice, one method per thing a person can do, mixed into
RecordApplication (with PhotoService, whose photo store it uses).

- The SEND lead lets a family member in (``invite_family_member``): an
  account of role family, invited by a one-time link that sets its password
  (no mail server is assumed: the lead hands the link over), and a
  ``FamilyMemberInvited`` event on the learner, saved in one transaction.
  Only while consent to share with family is given; withdrawing it shuts
  every family member out at once (rarpa/record/family.py).
- A family member sends what they saw at home (``send_family_contribution``),
  with a photo if consent to photographs is given: the photo is checked and
  re-encoded (images.keep) and sealed with the learner's key before the event.
- Staff accept it (``accept_family_contribution``: an observation at home for
  each target chosen, the photo attached to the first) or decline it with a
  reason the family member sees (its photo deleted).
"""

from __future__ import annotations

import uuid

from events.vocabulary import FAMILY_ROLE
from rarpa.record import RuleBroken
from rarpa.record.rules import NAMESPACE, need_text
from rarpa.record.rules import user_id
from rarpa.record.staff import User
from rarpa.service import access, images
from rarpa.service.access import Actor, NotFound
from rarpa.service.written import Written


def contribution_photo_key(contribution_id: str) -> str:
    """Where a waiting contribution's photo is kept (rarpa/store/photos.py), until it is decided."""
    return str(uuid.uuid5(NAMESPACE, f"contribution-photo:{contribution_id}"))


class FamilyService:
    """Needs ``learner``, ``_change``, ``photo_store``, ``user``, ``exists`` and ``_new_link``."""

    # --- letting a family member in, and out ----------------------------------------------------
    def invite_family_member(self, actor: Actor, learner_id: str, *, display_name: str, relationship: str,
                             email: str, reason: str) -> Written:
        """The result: the family member's ``user_id`` and, for a new account,
        the one-time ``token`` that sets its password (shown once) and when it
        ``expires_at``. An email that already has a family account (a parent
        of two learners) is let in with it, without a new link."""
        email = (email or "").strip().lower()
        if "@" not in email or len(email) > 254:
            raise RuleBroken("email", "Enter their email address, like name@example.com")
        account_id = user_id(email)
        uid = str(account_id)
        new_account = not self.exists(account_id)
        if not new_account and self.user(email).role != FAMILY_ROLE:
            raise RuleBroken("email", "This email belongs to a member of staff: a family member needs their own", 409)

        def invite(learner, stamp):
            return learner.invite_family_member(stamp=stamp, family_user_id=uid, relationship=relationship,
                                                reason=reason)

        def account(learner, stamp, created):
            if not (created and new_account):
                return []
            return [User.invite(stamp=stamp, email=email, display_name=display_name, role=FAMILY_ROLE,
                                provider=None, reason=reason)]

        if new_account:  # the name is checked before anything is written, as User.invite checks it
            need_text(display_name, "display_name", "The name")
        written = self._change(actor, learner_id, access.SHARE, invite, companions=account)
        result = {"user_id": uid, "token": None, "expires_at": None, "new_account": new_account}
        if new_account and written.created:
            result["token"], result["expires_at"] = self._new_link(uid, "invitation")
        written.result = result
        return written

    def end_family_access(self, actor: Actor, learner_id: str, *, family_user_id: str, reason: str) -> Written:
        return self._change(actor, learner_id, access.SHARE, lambda learner, stamp: learner.end_family_access(
            stamp=stamp, family_user_id=family_user_id, reason=reason))

    # --- what they send -------------------------------------------------------------------------
    def send_family_contribution(self, actor: Actor, learner_id: str, *, contribution_id: str, words: str,
                                 happened_on: str, photo: bytes | None = None) -> Written:
        kept = images.keep(photo) if photo else None
        facts = kept.facts() if kept else None
        copy = self.learner(actor, learner_id, access.CONTRIBUTE)
        stamp = actor.stamp(copy.lead_provider)
        copy.send_family_contribution(stamp=stamp, contribution_id=contribution_id, words=words,
                                      happened_on=happened_on, photo=facts)  # refuses as the real one would
        if kept is not None:
            self.photo_store.put(str(copy.id), contribution_photo_key(str(contribution_id)), photo=kept.jpeg,
                                 thumb=kept.thumb)
        written = self._change(actor, learner_id, access.CONTRIBUTE, lambda learner, stamp: learner.send_family_contribution(
            stamp=stamp, contribution_id=contribution_id, words=words, happened_on=happened_on, photo=facts))
        written.result = {"id": str(contribution_id)}
        return written

    # --- moderation -------------------------------------------------------------------------------
    def accept_family_contribution(self, actor: Actor, learner_id: str, *, contribution_id: str,
                                   ratings: dict[str, str], note: str = "") -> Written:
        """Evidence from home: the result maps each target to its new observation."""
        cid = str(contribution_id)
        copy = self.learner(actor, learner_id, access.MODERATE)
        sent = copy.contribution(cid)
        copy.accept_family_contribution(stamp=actor.stamp(copy.lead_provider), contribution_id=cid,
                                        ratings=ratings, note=note)  # refuses as the real one would
        photo_id = copy.pending_events[-1].photo_id
        if photo_id:  # the photo moves to the observation it is now evidence with
            key = contribution_photo_key(cid)
            jpeg = self.photo_store.get(str(copy.id), key, "photo", sent.photo_sha256)
            thumb = self.photo_store.get(str(copy.id), key, "thumb", sent.photo_thumb_sha256)
            if jpeg is None or thumb is None:
                raise RuleBroken("contribution_id", "the photo sent with this is not kept any more", 409)
            self.photo_store.put(str(copy.id), photo_id, photo=jpeg, thumb=thumb)
        written = self._change(actor, learner_id, access.MODERATE, lambda learner, stamp: learner.accept_family_contribution(
            stamp=stamp, contribution_id=cid, ratings=ratings, note=note))
        if sent.photo_sha256:
            self.photo_store.delete(written.learner_id, contribution_photo_key(cid))
        return written

    def decline_family_contribution(self, actor: Actor, learner_id: str, *, contribution_id: str,
                                    reason: str) -> Written:
        cid = str(contribution_id)
        written = self._change(actor, learner_id, access.MODERATE, lambda learner, stamp: learner.decline_family_contribution(
            stamp=stamp, contribution_id=cid, reason=reason))
        self.photo_store.delete(written.learner_id, contribution_photo_key(cid))
        return written

    def contribution_photo(self, actor: Actor, learner_id: str, *, contribution_id: str, kind: str = "photo") -> bytes:
        """The photo of a contribution still waiting, for staff deciding it (NotFound otherwise)."""
        learner = self.learner(actor, learner_id, access.MODERATE)
        sent = learner.contribution(str(contribution_id))
        if sent is None or not sent.photo_sha256 or sent.status != "waiting":
            raise NotFound("photo")
        digest = sent.photo_sha256 if kind == "photo" else sent.photo_thumb_sha256
        data = self.photo_store.get(str(learner.id), contribution_photo_key(str(contribution_id)), kind, digest)
        if data is None:
            raise NotFound("photo")
        return data

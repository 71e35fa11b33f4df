"""Photo evidence, one method per thing a person can do with a photo, mixed
into RecordApplication (before LearnerService, whose erasure it extends).

Every photo goes through ``images.keep`` (checked by content, re-encoded,
metadata gone) before anything is written; the record's own rules (consent,
the observation, a repeat) are checked on a copy of the learner next, then
the sealed bytes are kept (``rarpa/store/photos.py``), and only then the
event is written. So a refusal writes nothing, and an event never names
bytes that are not there.
"""

from __future__ import annotations

from functools import cached_property

from rarpa.record import Learner
from rarpa.service import access, images
from rarpa.service.access import Actor, NotFound
from rarpa.service.written import Written
from rarpa.store.photos import PhotoStore


class PhotoService:
    """Needs ``learner``, ``_change``, ``record_observation`` and ``vault``
    (RecordApplication)."""

    @cached_property
    def photo_store(self) -> PhotoStore:
        return PhotoStore(self.settings.db, self.vault)

    def _checked_copy(self, actor: Actor, learner_id: str, action: str) -> tuple[Learner, dict]:
        learner = self.learner(actor, learner_id, action)  # a copy: what is tried on it is dropped
        return learner, actor.stamp(learner.lead_provider)

    # --- taking a photo -----------------------------------------------------------------
    def record_observation_with_photo(self, actor: Actor, learner_id: str, *, photo: bytes,
                                      **observation) -> Written:
        """An observation and its photo, in one transaction: both are written,
        or neither. The same observation with the same file again is a repeat
        (nothing new, 200), as an observation alone is."""
        kept = images.keep(photo)
        observation_id = str(observation["observation_id"])
        learner, stamp = self._checked_copy(actor, learner_id, access.RECORD)
        learner.record_observation(stamp=stamp, **observation)  # refuses as the real one would
        photo_id, _ = learner.attach_photo(stamp=stamp, observation_id=observation_id, **kept.facts())
        self.photo_store.put(str(learner.id), photo_id, photo=kept.jpeg, thumb=kept.thumb)
        written = self.record_observation(actor, learner_id, photo=kept.facts(), **observation)
        written.result = {**written.result, "photo_id": photo_id}
        return written

    def check_observation_with_photo(self, actor: Actor, learner_id: str, *, photo: bytes,
                                     **observation) -> bool:
        """What ``record_observation_with_photo`` would answer, writing
        nothing: True (something would be new), False (an exact repeat), or
        the same refusal (the photo's content, consent, the observation's own
        rules). For a form recording for several learners, checked for all
        before any is written (web/group.py)."""
        kept = images.keep(photo)
        new = self.check_observation(actor, learner_id, **observation)  # an id held by another learner too
        learner, stamp = self._checked_copy(actor, learner_id, access.RECORD)
        learner.record_observation(stamp=stamp, **observation)
        _, attached = learner.attach_photo(stamp=stamp, observation_id=str(observation["observation_id"]),
                                           **kept.facts())
        return new or attached

    def attach_photo(self, actor: Actor, learner_id: str, *, observation_id: str, photo: bytes) -> Written:
        """A photo for an observation already recorded (the API). 201 new, or
        created=False for the same file sent again."""
        kept = images.keep(photo)
        learner, stamp = self._checked_copy(actor, learner_id, access.RECORD)
        photo_id, _ = learner.attach_photo(stamp=stamp, observation_id=str(observation_id), **kept.facts())
        self.photo_store.put(str(learner.id), photo_id, photo=kept.jpeg, thumb=kept.thumb)
        written = self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.attach_photo(
            stamp=stamp, observation_id=str(observation_id), **kept.facts()))
        written.result = {"photo_id": written.result[0], "observation_id": str(observation_id)}
        return written

    # --- the pack, and taking a photo away ------------------------------------------------
    def choose_photo_for_pack(self, actor: Actor, learner_id: str, *, photo_id: str, chosen: bool,
                              reason: str = "") -> Written:
        """The SEND lead chooses which photos the annual-review pack shows."""
        return self._change(actor, learner_id, access.PLAN, lambda learner, stamp: learner.choose_photo_for_pack(
            stamp=stamp, photo_id=photo_id, chosen=chosen, reason=reason))

    def remove_photo(self, actor: Actor, learner_id: str, *, photo_id: str, reason: str) -> Written:
        """Takes a photo away for good (the wrong learner in it, consent
        withdrawn): the event says who, when and why; the bytes are deleted
        and overwritten. Anyone who records for the learner may, at once."""
        written = self._change(actor, learner_id, access.RECORD, lambda learner, stamp: learner.remove_photo(
            stamp=stamp, photo_id=photo_id, reason=reason))
        self.photo_store.delete(written.learner_id, str(photo_id))
        return written

    # --- looking at one -------------------------------------------------------------------
    def photo_file(self, actor: Actor, learner_id: str, *, observation_id: str, photo_id: str,
                   kind: str = "photo") -> bytes:
        """The JPEG (or its thumbnail) of a photo of this observation, to
        someone who may see the learner (NotFound otherwise, and for a photo
        removed, of another observation, or not kept in this installation)."""
        learner = self.learner(actor, learner_id)
        photo = learner.photo(str(photo_id))
        if photo is None or photo.removed or photo.observation_id != str(observation_id):
            raise NotFound("photo")
        data = self.photo_store.get(str(learner.id), str(photo_id), kind,
                                    photo.sha256 if kind == "photo" else photo.thumb_sha256)
        if data is None:
            raise NotFound("photo")
        return data

    def photo_files(self, actor: Actor, learner_id: str, action: str = access.SHARE) -> dict[str, tuple[bytes, bytes]]:
        """Every photo of the learner still kept here, by photo id: (the JPEG,
        its thumbnail), each checked against its digest. For the bundles that
        hand the whole record over (rarpa/read/bundles.py); a photo removed, or
        imported without its bytes, is not among them."""
        learner = self.learner(actor, learner_id, action)
        out = {}
        for photo_id, photo in sorted(learner.photos.items()):
            if photo.removed:
                continue
            jpeg = self.photo_store.get(str(learner.id), photo_id, "photo", photo.sha256)
            thumb = self.photo_store.get(str(learner.id), photo_id, "thumb", photo.thumb_sha256)
            if jpeg is not None and thumb is not None:
                out[photo_id] = (jpeg, thumb)
        return out

    # --- erasure: the photos go with the key -----------------------------------------------
    def erase_learner(self, actor: Actor, learner_id: str, reason: str) -> Written:
        """LearnerService.erase_learner destroys the key every photo of the
        learner is sealed with; then the sealed rows are deleted too."""
        written = super().erase_learner(actor, learner_id, reason)
        self.photo_store.delete(written.learner_id)
        return written

    def close(self) -> None:
        if "photo_store" in self.__dict__:
            self.photo_store.close()
        super().close()

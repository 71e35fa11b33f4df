"""Photo evidence: a photo kept with an observation, chosen for the
annual-review pack, or removed. A mixin of ``Learner``: each command beside
the handler of the event it raises.

The record holds what a photo *is* (which observation, its digests, its size)
and the rules (consent, one observation's limit, a repeat stored once); the
JPEG itself is kept beside the events, sealed with the learner's key
(``rarpa/store/photos.py``), and checked and re-encoded before it gets here
(``rarpa/service/images.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from events import learner as ev
from rarpa.record.dispatch import applies
from rarpa.record.records import Photo
from rarpa.record.rules import NAMESPACE, RuleBroken, need_text

# One observation is a moment: a few photos of it at most.
MAX_PHOTOS_PER_OBSERVATION = 4
NO_CONSENT = ("this learner has not given consent to photographs, so no photo can be kept "
              "(a SEND lead records consent on the learner's Consent page)")


def photo_id_for(observation_id: str, received_sha256: str) -> str:
    """The same observation and the same file always make the same photo id,
    so a tablet sending again after a lost answer stores nothing new."""
    return str(uuid.uuid5(NAMESPACE, f"photo:{observation_id}:{received_sha256}"))


class PhotoStage:
    """Photos of what the learner did, within their consent."""

    def may_photograph(self) -> bool:
        """Photographs only once consent is recorded as given: never recorded
        counts as not given (the safe side for a young person who has not been asked)."""
        return self.consents.get("photographs") is True

    def attach_photo(self, *, stamp: dict, observation_id: str, sha256: str, received_sha256: str, size: int,
                     width: int, height: int, thumb_sha256: str) -> tuple[str, bool]:
        """Keeps a photo with an observation. Returns (photo id, whether it is
        new): the same observation with the same file again writes nothing."""
        observation_id = str(observation_id)
        seen = self.observation(observation_id)
        if seen is None:
            raise RuleBroken("observation_id", "no such observation for this learner", 404)
        pid = photo_id_for(observation_id, received_sha256)
        if pid in self.photos:
            return pid, False
        if not self.may_photograph():
            raise RuleBroken("photo", NO_CONSENT)
        if seen.withdrawn:
            raise RuleBroken("photo", "this observation was withdrawn: a photo cannot be added to it", 409)
        kept = [p for p in self.photos.values() if p.observation_id == observation_id and not p.removed]
        if len(kept) >= MAX_PHOTOS_PER_OBSERVATION:
            raise RuleBroken("photo", f"an observation keeps at most {MAX_PHOTOS_PER_OBSERVATION} photos")
        self.trigger_event(
            ev.PhotoAttached, observation_id=observation_id, photo_id=pid, content_type="image/jpeg",
            sha256=sha256, received_sha256=received_sha256, size=int(size), width=int(width), height=int(height),
            thumb_sha256=thumb_sha256, **stamp,
        )
        return pid, True

    @applies(ev.PhotoAttached)
    def _photo_attached(self, e: ev.PhotoAttached) -> None:
        self.photos[e.photo_id] = Photo(observation_id=e.observation_id, received_sha256=e.received_sha256,
                                        sha256=e.sha256, thumb_sha256=e.thumb_sha256)

    def choose_photo_for_pack(self, *, stamp: dict, photo_id: str, chosen: bool, reason: str = "") -> bool:
        """Chooses a photo for the annual-review pack (or takes it out).
        Returns False, writing nothing, when it already stands so."""
        photo = self._live_photo(photo_id)
        if photo.chosen == bool(chosen):
            return False
        self.trigger_event(ev.PhotoChosenForPack, photo_id=str(photo_id), chosen=bool(chosen),
                           reason=(reason or "").strip(), **stamp)
        return True

    @applies(ev.PhotoChosenForPack)
    def _photo_chosen(self, e: ev.PhotoChosenForPack) -> None:
        self.photos[e.photo_id] = replace(self.photos[e.photo_id], chosen=e.chosen)

    def remove_photo(self, *, stamp: dict, photo_id: str, reason: str) -> None:
        self._live_photo(photo_id)
        self.trigger_event(ev.PhotoRemoved, photo_id=str(photo_id),
                           reason=need_text(reason, "reason", "A reason for removing the photo"), **stamp)

    @applies(ev.PhotoRemoved)
    def _photo_removed(self, e: ev.PhotoRemoved) -> None:
        self.photos[e.photo_id] = replace(self.photos[e.photo_id], removed=True, chosen=False)

    def photo(self, photo_id: str) -> Photo | None:
        return self.photos.get(str(photo_id))

    def _live_photo(self, photo_id: str) -> Photo:
        photo = self.photo(photo_id)
        if photo is None:
            raise RuleBroken("photo_id", "no such photo for this learner", 404)
        if photo.removed:
            raise RuleBroken("photo_id", "this photo was removed", 409)
        return photo

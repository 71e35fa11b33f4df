"""Photo evidence: what each photo kept with an observation is (its size,
digests, who took it), whether the SEND lead chose it for the annual-review
pack, and whether it was removed. Never the photo itself: its bytes stay
sealed beside the events (rarpa/store/photos.py) and are opened only to be
shown."""

from __future__ import annotations

from events import learner as ev
from rarpa.read.stages import Stage, applies


class Photos(Stage):
    @applies(ev.PhotoAttached)
    def photo_attached(self, e: ev.PhotoAttached, seq: int) -> None:
        self.db["photos"].insert(
            {"id": e.photo_id, "seq": seq, "learner_id": str(e.originator_id), "observation_id": e.observation_id,
             "content_type": e.content_type, "sha256": e.sha256, "thumb_sha256": e.thumb_sha256, "size": e.size,
             "width": e.width, "height": e.height, "recorded_at": e.timestamp.isoformat(),
             "recorded_by": e.recorded_by, "provider": e.provider, "chosen": 0, "status": "kept"},
            replace=True,
        )

    @applies(ev.PhotoChosenForPack)
    def photo_chosen(self, e: ev.PhotoChosenForPack, seq: int) -> None:
        self.x("UPDATE photos SET chosen=?, chosen_at=?, chosen_by=? WHERE id=?",
               [int(e.chosen), e.timestamp.isoformat(), e.recorded_by, e.photo_id])

    @applies(ev.PhotoRemoved)
    def photo_removed(self, e: ev.PhotoRemoved, seq: int) -> None:
        self.x("UPDATE photos SET status='removed', chosen=0, removed_at=?, removed_by=?, removed_reason=? WHERE id=?",
               [e.timestamp.isoformat(), e.recorded_by, e.reason, e.photo_id])

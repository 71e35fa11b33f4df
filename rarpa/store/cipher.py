"""The mapper that seals each personal event (and snapshot) with its own
stream's key (AES-GCM, keys in the vault): destroying a learner's key erases
what their events say, while ids, positions and topics stay countable."""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent

from rarpa.store.vault import Vault

CLEAR = b"\x00"
SEALED = b"\x01"


class StreamErased(MapperDeserialisationError):
    """The stream's key was destroyed: its personal events can no longer be read."""

    def __init__(self, stream_id: str):
        super().__init__(f"stream {stream_id} was erased")
        self.stream_id = stream_id


def _with_state(stored: StoredEvent, state: bytes) -> StoredEvent:
    # dataclasses.replace looks the fields up each time: a tenth of a rebuild.
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, state)


class PerStreamCipherMapper(Mapper):
    """Encrypts the state of personal events (and snapshots) with AES-GCM under a
    key belonging to the event's own stream. Stream id, position and topic are
    bound in as associated data, so a sealed state cannot be moved to another row.
    """

    vault: Vault  # set by the application after construction

    @staticmethod
    def _aad(originator_id: Any, version: int, topic: str) -> bytes:
        return f"{originator_id}:{version}:{topic}".encode()

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if not getattr(type(domain_event), "personal", True):
            return _with_state(stored, CLEAR + stored.state)
        key = self.vault.key_for(str(stored.originator_id), create=True)
        if key is None:  # the stream was erased: nothing more is written in it
            raise StreamErased(str(stored.originator_id))
        nonce = os.urandom(12)
        aad = self._aad(stored.originator_id, stored.originator_version, stored.topic)
        sealed = AESGCM(key).encrypt(nonce, stored.state, aad)
        return _with_state(stored, SEALED + nonce + sealed)

    def open_state(self, stored: StoredEvent) -> bytes:
        state = stored.state
        if state[:1] == CLEAR:
            return state[1:]
        if state[:1] != SEALED:
            raise MapperDeserialisationError(
                f"event {stored.originator_id}@{stored.originator_version} has an unknown state format"
            )
        stream = str(stored.originator_id)
        key = self.vault.key_for(stream, create=False)
        if key is None:
            raise StreamErased(stream)
        aad = self._aad(stream, stored.originator_version, stored.topic)
        try:
            return AESGCM(key).decrypt(state[1:13], state[13:], aad)
        except Exception as e:  # InvalidTag: altered bytes or the wrong key
            raise MapperDeserialisationError(
                f"event {stored.originator_id}@{stored.originator_version} failed its integrity check"
            ) from e

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return super().to_domain_event(_with_state(stored_event, self.open_state(stored_event)))

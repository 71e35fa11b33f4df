"""Keeping a node's read model warm: on PostgreSQL every node has its own
read-model file, and another node's writes reach it here. A thread LISTENs
on the channel the recorder NOTIFYs at each commit and catches the read
model up when woken; it also catches up every ``poll_seconds`` whatever
happens (a notification is lost if the connection drops). Pages never depend
on it: each read still checks the position first (web.services.fresh), so
this only moves the catching up off the request that would otherwise wait.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("rarpa.read.follow")
TICK = 0.2  # seconds: how long stop() may wait for the thread


class Follower:
    def __init__(self, projector, url: str, channel: str, poll_seconds: float = 2.0):
        self.projector = projector
        self.url = url
        self.channel = channel
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rarpa-follow", daemon=True)
        self.woken = 0  # notifications received (for tests and diagnostics)

    def start(self) -> "Follower":
        self._thread.start()
        return self

    def _catch_up(self) -> None:
        try:
            self.projector.catch_up()
        except Exception:  # the next wake or poll tries again; a page read catches up itself
            log.exception("catching the read model up failed")

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._catch_up()  # whatever was written while we were not listening
                    waited = 0.0
                    while not self._stop.is_set():
                        # Short waits, so stop() is quick; a catch-up when woken or every poll_seconds.
                        got = sum(1 for _ in conn.notifies(timeout=TICK, stop_after=1))
                        waited += TICK
                        if got or waited >= self.poll_seconds:
                            self.woken += got
                            waited = 0.0
                            self._catch_up()
            except Exception:
                if self._stop.wait(self.poll_seconds):
                    return
                log.warning("the read model's listener lost its connection; reconnecting")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TICK + 5)

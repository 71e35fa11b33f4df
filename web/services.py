"""The one object per process that the web layer talks to: the application
service, the read model's projector and read-your-writes."""

from __future__ import annotations

from rarpa.service.application import RecordApplication, Written
from rarpa.config import Settings
from rarpa.read.follow import Follower
from rarpa.read.projections import Projector


class Services:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.app = RecordApplication(self.settings)
        self.projector = Projector(self.settings.views, self.app)
        self.projector.catch_up()
        # On PostgreSQL other nodes write too: follow their commits.
        self.follower = None
        if self.settings.on_postgres:
            self.follower = Follower(self.projector, self.settings.db, self.app.recorder.channel_name).start()

    def fresh(self):
        """A read connection on a read model that has every committed event
        (events may have come from another process, e.g. the CLI)."""
        conn = self.projector.reader()
        latest = self.app.recorder.max_notification_id() or 0
        if self.projector.position(conn) < latest:
            self.projector.catch_up(until=latest)
        return conn

    def wait_for(self, written: Written):
        """Read-your-writes: answer only once the read model has the write."""
        if written.position is not None:
            conn = self.projector.reader()
            if self.projector.position(conn) < written.position:
                self.projector.catch_up(until=written.position)
        return self.projector.reader()

    def close(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.projector.close()
        self.app.close()

"""PostgreSQL's own parts: what only exists there (several records in one
database by schema, the key table rewritten after an erasure, backup said
to be pg_dump's job). The rest of the suite runs on PostgreSQL with
--store=postgres."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from rarpa.config import Settings
from rarpa.service.access import system_actor
from rarpa.service.application import RecordApplication
from rarpa.store.backup import BackupError, backup

pytestmark = pytest.mark.postgres_only


def open_app(url: str, folder: Path, name: str) -> RecordApplication:
    return RecordApplication(Settings.from_env({"RARPA_DB": url, "RARPA_VIEWS": str(folder / f"{name}-views.sqlite3"),
                                                "RARPA_PASSWORD_PROFILE": "cheapest"}))


def test_two_records_in_one_database_are_kept_apart_by_schema(postgres, tmp_path):
    system = system_actor("test")
    suffix = uuid.uuid4().hex[:8]
    north = open_app(postgres.schema_url(f"north_{suffix}"), tmp_path, "north")
    south = open_app(postgres.schema_url(f"south_{suffix}"), tmp_path, "south")
    try:
        north.register_provider(system, "northfield", "Northfield College")
        lid = north.enrol_learner(system, name="Amy Jones", date_of_birth="2007-03-01", provider="northfield").result
        assert north.recorder.max_notification_id() == 2
        assert not south.recorder.max_notification_id()  # nothing of north's record in south's schema
        assert not south.exists(uuid.UUID(lid))
        with psycopg.connect(postgres.url()) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (f"north_{suffix}",))}
        assert {"rarpa_events", "rarpa_snapshots", "signed_head", "stream_keys", "access_log"} <= tables
    finally:
        north.close()
        south.close()


def test_an_erased_key_is_gone_from_the_key_table_file(postgres, tmp_path):
    system = system_actor("test")
    schema = f"erase_{uuid.uuid4().hex[:8]}"
    app = open_app(postgres.schema_url(schema), tmp_path, "erase")
    try:
        app.register_provider(system, "northfield", "Northfield College")
        lid = app.enrol_learner(system, name="Amy Jones", date_of_birth="2007-03-01", provider="northfield").result
        key = app.vault.key_for(lid, create=False)
        assert key and len(key) == 32

        def table_file() -> Path:
            with psycopg.connect(postgres.schema_url(schema), autocommit=True) as conn:
                conn.execute("CHECKPOINT")  # the table's pages written to its file
                (relative,) = conn.execute("SELECT pg_relation_filepath('stream_keys')").fetchone()
            return postgres.data / relative

        assert key in table_file().read_bytes()  # the search can find it
        app.erase_learner(system, lid, "Erasure request received 2026-11-20")
        assert app.vault.key_for(lid, create=False) is None
        assert key not in table_file().read_bytes()
    finally:
        app.close()


def test_backup_says_pg_dump_is_the_way_on_postgresql(postgres, tmp_path):
    settings = Settings.from_env({"RARPA_DB": postgres.schema_url(f"b_{uuid.uuid4().hex[:8]}"),
                                  "RARPA_VIEWS": str(tmp_path / "views.sqlite3")})
    with pytest.raises(BackupError) as refused:
        backup(settings, tmp_path / "backup")
    assert "pg_dump" in str(refused.value)
    assert not (tmp_path / "backup").exists()

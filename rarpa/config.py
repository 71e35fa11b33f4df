"""Where things are kept. One environment variable chooses the store; the read
model and the vault sit beside it unless told otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db: str  # event store: a file path (or, later, a postgresql:// URL)
    views: str  # read-model SQLite file, rebuildable from the events
    vault: str  # per-stream keys, API token hashes, auditor access log
    group_commit: bool = True
    # argon2 cost: "default" (argon2-cffi's RFC 9106 low-memory profile) in real
    # use; "cheapest" only to keep the test suite fast.
    password_profile: str = "default"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        db = env.get("RARPA_DB") or "./var/rarpa.sqlite3"
        if db.startswith(("postgres://", "postgresql://")):
            raise SystemExit(
                "RARPA_DB: PostgreSQL is not wired up yet in this version; use a file path."
            )
        stem = db[: -len(".sqlite3")] if db.endswith(".sqlite3") else db
        return cls(
            db=db,
            views=env.get("RARPA_VIEWS") or f"{stem}-views.sqlite3",
            vault=env.get("RARPA_VAULT") or f"{stem}-vault.sqlite3",
            group_commit=env.get("RARPA_GROUP_COMMIT", "1") not in ("0", "false", "no"),
            password_profile=env.get("RARPA_PASSWORD_PROFILE", "default"),
        )

    def ensure_dirs(self) -> None:
        for path in (self.db, self.views, self.vault):
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)

"""Where things are kept. One environment variable chooses the store; the read
model and the vault sit beside it unless told otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def is_postgres(url: str) -> bool:
    """Whether a store setting names a PostgreSQL database rather than a SQLite file."""
    return url.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class Settings:
    db: str  # event store: a SQLite file path, or a postgresql:// URL
    views: str  # read-model SQLite file, rebuildable from the events (one per node on PostgreSQL)
    vault: str  # per-stream keys, API token hashes, auditor access log (the same database on PostgreSQL)
    group_commit: bool = True
    # argon2 cost: "default" (argon2-cffi's RFC 9106 low-memory profile) in real
    # use; "cheapest" only to keep the test suite fast.
    password_profile: str = "default"
    # Sign-in under attack (README, Security). Limits are `limits` strings
    # ("20 per minute;200 per hour"); counters live in this storage, per process
    # with memory:// (one `rarpa serve` is one process).
    ratelimit_storage: str = "memory://"
    login_limit_per_address: str = "20 per minute;200 per hour"  # every POST /login
    login_limit_per_account: str = "10 per 15 minutes"  # failed checks, for addresses that failed on it
    login_lockout_after: int = 5  # failures of one (account, address) before it is locked
    login_lockout_seconds: float = 60.0  # the first lock; doubles with each further failure
    login_lockout_max_seconds: float = 900.0  # ... up to this
    login_hash_concurrency: int = 2  # argon2 checks at once, so sign-in cannot take every thread
    login_hash_wait_seconds: float = 0.1  # wait this long for a turn, then answer 503
    api_invalid_token_limit: str = "30 per minute"  # invalid bearer tokens per address, then 429
    # Sessions (README, Sessions and passwords): signed out after this long
    # without a request; a classroom tablet used now and then stays signed in.
    session_idle_minutes: float = 120.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        db = env.get("RARPA_DB") or "./var/rarpa.sqlite3"
        if is_postgres(db):
            # Every node shares the events, the vault and the photos in the
            # database; each keeps its own read model in a local file.
            views = env.get("RARPA_VIEWS") or "./var/rarpa-views.sqlite3"
            vault = env.get("RARPA_VAULT") or db
            if not is_postgres(vault):
                raise SystemExit("RARPA_VAULT: with RARPA_DB on PostgreSQL the vault is kept there too; "
                                 "leave RARPA_VAULT unset")
        else:
            stem = db[: -len(".sqlite3")] if db.endswith(".sqlite3") else db
            views = env.get("RARPA_VIEWS") or f"{stem}-views.sqlite3"
            vault = env.get("RARPA_VAULT") or f"{stem}-vault.sqlite3"
        return cls(
            db=db,
            views=views,
            vault=vault,
            group_commit=env.get("RARPA_GROUP_COMMIT", "1") not in ("0", "false", "no"),
            password_profile=env.get("RARPA_PASSWORD_PROFILE", "default"),
            ratelimit_storage=env.get("RARPA_RATELIMIT_STORAGE") or "memory://",
            login_limit_per_address=_limit(env, "RARPA_LOGIN_LIMIT_PER_ADDRESS", cls.login_limit_per_address),
            login_limit_per_account=_limit(env, "RARPA_LOGIN_LIMIT_PER_ACCOUNT", cls.login_limit_per_account),
            login_lockout_after=int(_number(env, "RARPA_LOGIN_LOCKOUT_AFTER", cls.login_lockout_after, whole=True)),
            login_lockout_seconds=_number(env, "RARPA_LOGIN_LOCKOUT_SECONDS", cls.login_lockout_seconds),
            login_lockout_max_seconds=_number(env, "RARPA_LOGIN_LOCKOUT_MAX_SECONDS", cls.login_lockout_max_seconds),
            login_hash_concurrency=int(
                _number(env, "RARPA_LOGIN_HASH_CONCURRENCY", cls.login_hash_concurrency, whole=True)),
            login_hash_wait_seconds=_number(env, "RARPA_LOGIN_HASH_WAIT_SECONDS", cls.login_hash_wait_seconds,
                                            minimum=0),
            api_invalid_token_limit=_limit(env, "RARPA_API_INVALID_TOKEN_LIMIT", cls.api_invalid_token_limit),
            session_idle_minutes=_number(env, "RARPA_SESSION_IDLE_MINUTES", cls.session_idle_minutes, minimum=1),
        )

    @property
    def on_postgres(self) -> bool:
        return is_postgres(self.db)

    def ensure_dirs(self) -> None:
        for path in (self.db, self.views, self.vault):
            if not is_postgres(path):
                Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)


def _limit(env: dict[str, str], name: str, default: str) -> str:
    """A rate-limit string such as "20 per minute;200 per hour", checked now so a
    typo stops the server with one readable line rather than at the first sign-in."""
    value = env.get(name) or default
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise SystemExit(f'{name} must be like "20 per minute" or "20 per minute;200 per hour", not {value!r}')
    return value


def _number(env: dict[str, str], name: str, default: float, *, whole: bool = False, minimum: float = 0.001) -> float:
    """A positive number (a whole one when `whole`) from the environment."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value < float("inf"):  # also refuses nan
        kind = "a whole number of at least 1" if whole else f"a number of at least {minimum:g}"
        raise SystemExit(f"{name} must be {kind}, not {raw!r}")
    return value

"""A throwaway PostgreSQL server on this machine, for the tests, `rarpa bench`
and the load and crash tests: Debian's server binaries, a cluster in a
folder of its own, listening on 127.0.0.1 at a free port and nowhere else.

Real colleges point RARPA_DB at their own PostgreSQL; this is never used
for a real record.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class NoPostgres(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def binaries() -> Path:
    """The folder of the newest installed server (Debian keeps each major
    version under /usr/lib/postgresql/<n>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise NoPostgres("PostgreSQL's server is not installed: `make postgres` installs Debian's package")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(argv: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: run them as `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_owner(argv), capture_output=True, text=True)
    if done.returncode:
        raise PostgresFailed(f"{Path(argv[0]).name} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


class PostgresFailed(RuntimeError):
    pass


@dataclass
class LocalPostgres:
    folder: Path
    port: int
    durable: bool = True

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> "LocalPostgres":
        bin_ = binaries()
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            _run([str(bin_ / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-instructions"])
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.folder}",
                   "-c max_connections=300", "-c shared_buffers=128MB"]
        if not self.durable:  # tests only: a crash of a test server loses nothing we keep
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        _run([str(bin_ / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
              "-o", " ".join(options), "-w", "-t", "60", "start"])
        return self

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_owner([str(binaries() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
                       capture_output=True)

    def schema_url(self, schema: str, dbname: str = "postgres") -> str:
        """A record of its own in ``schema`` of one database (made when first
        opened): far quicker to make than a database, for a test each."""
        return f"{self.url(dbname)}?options=-csearch_path%3D{schema}"

    def create_database(self, name: str, template: str | None = None) -> str:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url(), autocommit=True) as conn:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(statement)
        return self.url(name)


def start(folder: Path, *, durable: bool = True, port: int | None = None) -> LocalPostgres:
    """Start a new cluster in ``folder`` (made if missing); stop it with ``.stop()``."""
    for attempt in range(5):
        server = LocalPostgres(Path(folder), port or _free_port(), durable)
        try:
            return server.start()
        except PostgresFailed:
            if port or attempt == 4:  # a port taken between choosing and binding: choose again
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")

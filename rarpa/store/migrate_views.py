"""The read model rebuilt from each side of a `rarpa migrate-store` (the
SQLite source and the PostgreSQL copy), each by a process of its own, and the
two files compared row for row (rarpa/store/migrate.py runs it)."""

from __future__ import annotations

import dataclasses
import itertools
import os
import sqlite3
import time
from pathlib import Path

from rarpa.config import Settings
from rarpa.service.application import RecordApplication


class ReadModels:
    """The read model rebuilt from each store into a file of its own, each by
    a process of its own (a rebuild is mostly Python: alongside the copy and
    the checks, on a second core, it costs little of the wait), then compared
    row for row. A builder says how far it is on its standard output, then
    waits on its standard input to be released; should the migration be
    killed meanwhile, it deletes its file (it holds names) and goes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._builders: dict[str, _Builder] = {}

    def path(self, label: str) -> Path:
        return self.folder / f"{label}-views.sqlite3"

    def start(self, label: str, settings: Settings) -> None:
        self._builders[label] = _Builder(settings, self.path(label))

    def compare(self, events: int, progress) -> tuple[list[str], int, int]:
        """Wait for both files, then compare them: (differences, rows compared,
        learners). ``progress`` is (length, label) -> a bar, as click.progressbar."""
        with progress(events * len(self._builders), "Read models from both  ") as bar:
            shown = 0
            while not all(b.finished() for b in self._builders.values()):
                now = sum(b.applied for b in self._builders.values())
                bar.update(now - shown)
                shown = now
                time.sleep(0.2)
        for label, builder in self._builders.items():
            if not builder.built:
                return [f"the read model could not be built from the {label}: {builder.why()}"], 0, 0
        return compare_views(self.path("source"), self.path("target"))

    def stop(self) -> None:
        for builder in self._builders.values():
            builder.stop()


class _Builder:
    def __init__(self, settings: Settings, path: Path):
        import json
        import subprocess
        import sys
        import threading

        self.path = path
        self.applied, self.built, self.error = 0, False, ""
        spec = json.dumps({"settings": dataclasses.asdict(settings), "path": str(path), "parent": os.getpid()})
        self._log = open(path.with_suffix(".log"), "w")
        self.proc = subprocess.Popen([sys.executable, "-c", "from rarpa.store.migrate_views import builder; builder()", spec],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        self._reader = threading.Thread(target=self._read, name=f"rarpa-migrate-{path.stem}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            word, _, rest = line.rstrip("\n").partition(" ")
            if word == "applied":
                self.applied += int(rest)
            elif word == "built":
                self.built = True
            elif word == "error":
                self.error = rest

    def finished(self) -> bool:
        return self.built or self.proc.poll() is not None

    def why(self) -> str:
        self._reader.join(timeout=5)
        if self.error:
            return self.error
        self._log.flush()
        lines = self.path.with_suffix(".log").read_text().strip().splitlines()
        return lines[-1] if lines else f"exit status {self.proc.returncode}"

    def stop(self) -> None:
        """Release a builder that is done (its file is then the caller's to
        remove); end one still at work."""
        import subprocess

        if self.built and self.proc.poll() is None:
            try:
                self.proc.stdin.write("release\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        self._reader.join(timeout=5)
        self._log.close()


def builder() -> None:
    """A read-model builder (``python -c``, started by ReadModels): rebuild
    the read model of the store the settings name into the path given, say
    ``applied N`` as it goes and ``built`` at the end, then wait for
    ``release`` on standard input. Standard input ending without it (the
    migration was killed), or the migration gone mid-build: delete the file,
    and the migration's folder if that leaves it empty."""
    import json
    import sys

    from rarpa.read.projections import Projector

    spec = json.loads(sys.argv[1])
    settings, path, parent = Settings(**spec["settings"]), spec["path"], spec["parent"]

    def step(count: int) -> None:
        if os.getppid() != parent:
            raise SystemExit(3)
        print(f"applied {count}", flush=True)

    try:
        app = RecordApplication(settings)
        try:
            projector = Projector(path, app)
            try:
                projector.rebuild(on_batch=step)
            finally:
                projector.close()
        finally:
            app.close()
        print("built", flush=True)
        if sys.stdin.readline().strip() != "release":
            raise SystemExit(3)
    except BaseException as e:
        for leftover in (path, f"{path}-wal", f"{path}-shm"):
            Path(leftover).unlink(missing_ok=True)
        if isinstance(e, SystemExit) or os.getppid() != parent:  # nobody else will remove the migration's folder
            Path(path).with_suffix(".log").unlink(missing_ok=True)
            try:
                Path(path).parent.rmdir()
            except OSError:
                pass
        else:
            try:
                print(f"error {type(e).__name__}: {e}", flush=True)
            except OSError:
                pass
        sys.exit(1)


def compare_views(ours: Path, theirs: Path) -> tuple[list[str], int, int]:
    """Two read-model files, every table row for row in the order
    Projector.dump gives, streamed (bounded memory): (differences, rows
    compared, learners)."""
    from rarpa.read.tables import TABLES

    differences, rows = [], 0
    conn = sqlite3.connect(ours)
    try:
        conn.execute("ATTACH DATABASE ? AS copied", [str(theirs)])
        for name, (_, pk) in TABLES.items():
            keys = pk if isinstance(pk, tuple) else (pk,)
            order = ", ".join(keys)
            a_rows = conn.execute(f"SELECT * FROM main.[{name}] ORDER BY {order}")
            b_rows = conn.cursor().execute(f"SELECT * FROM copied.[{name}] ORDER BY {order}")
            at = [[d[0] for d in a_rows.description].index(k) for k in keys]
            for index, (a, b) in enumerate(itertools.zip_longest(a_rows, b_rows)):
                if a != b:
                    # Named by its key only: the rows hold names and notes.
                    ka, kb = _key_words(a, at), _key_words(b, at)
                    if ka == kb:
                        differences.append(f"the read model's {name}: {ka} is not the same built from the target")
                    else:
                        differences.append(f"the read model's {name}: at row {index + 1}, {ka} built from the "
                                           f"source, {kb} from the target")
                    break
                rows += 1
        learners = conn.execute("SELECT COUNT(*) FROM main.learners").fetchone()[0]
    finally:
        conn.close()
    return differences, rows, learners


def _key_words(row, at: list[int]) -> str:
    if row is None:
        return "no row"
    return "row " + "/".join(str(row[i]) for i in at)

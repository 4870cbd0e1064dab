"""Backups that survive a disk: the database and the evidence files, together, and their restore.

Records are kept for years (DOMAIN.md: ≥ 3 years after closing), so one backup must hold everything a
restore needs, checked:

* the database — SQLite through its **online backup API** (``sqlite3.Connection.backup``: a consistent copy
  while the service keeps writing, page by page), PostgreSQL through ``pg_dump --format=custom`` (one
  consistent snapshot, restored by ``pg_restore``);
* the evidence files (``TOUSU_ATTACHMENT_DIR``), copied after the database, so every file a row of the
  copy names is there (a file downloaded in between is an extra file, never a missing one);
* ``manifest.json``: the format, when, which database kind and schema revision, the row counts of the
  tables a restore is checked against, and every file with its size and SHA-256.

A backup is a directory ``tousu-backup-<UTC stamp>/``. `restore` loads one into an **empty** database only
(no table of ours in it: restoring over live records would mix two histories) and copies the files back,
checking each against the manifest; then it counts the rows again and compares them with the manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from storage import migrate
from storage.base import file_sha256

FORMAT: Final = "tousu-backup/1"
MANIFEST: Final = "manifest.json"
SQLITE_FILE: Final = "database.sqlite3"
PG_FILE: Final = "database.pgdump"
FILES_DIR: Final = "attachments"
#: The tables whose row counts the manifest keeps and a restore is checked against.
COUNTED_TABLES: Final = ("complaint", "timeline_event", "attachment", "deadline", "survey", "audit_event")
PG_TIMEOUT: Final = 3600  # seconds: a large dump or restore


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why (for the CLI's one line)."""


@dataclass
class Manifest:
    """What a backup holds (``manifest.json``)."""

    created_at: str
    dialect: str
    revision: str | None
    database_file: str
    counts: dict[str, int]
    files: list[dict[str, Any]] = field(default_factory=list)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise BackupError(f"{folder}: no {MANIFEST}: not a tousu backup") from exc
        except (OSError, ValueError) as exc:
            raise BackupError(f"{folder / MANIFEST}: unreadable ({exc})") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise BackupError(f"{folder / MANIFEST}: format {raw.get('format') if isinstance(raw, dict) else '?'!r}"
                              f" is not {FORMAT!r}")
        try:
            return cls(**{k: raw[k] for k in ("created_at", "dialect", "revision", "database_file", "counts",
                                              "files", "format")})
        except KeyError as exc:
            raise BackupError(f"{folder / MANIFEST}: missing {exc.args[0]!r}") from exc




def _files(root: Path) -> Iterator[Path]:
    """Every evidence file under ``root`` (published files only: ``.part`` files of a download are not)."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per counted table (a table that does not exist counts as absent)."""
    found: dict[str, int] = {}
    names = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in COUNTED_TABLES:
            if table in names:
                found[table] = int(conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one())  # noqa: S608
    return found


def _libpq_url(url: sa.URL) -> str:
    """The SQLAlchemy URL as libpq (pg_dump, pg_restore) reads it: no ``+driver``."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, timeout=PG_TIMEOUT, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackupError(f"{command[0]}: {exc}") from exc
    if done.returncode != 0:
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{command[0]} failed: {error[-1] if error else done.returncode}")


def backup(engine: sa.Engine, attachment_dir: Path, to: Path, *, now: dt.datetime) -> tuple[Path, Manifest]:
    """Write a backup of the database behind ``engine`` and of ``attachment_dir`` into a new folder under
    ``to``; returns the folder and its manifest."""
    folder = to / f"tousu-backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError as exc:
        raise BackupError(f"{folder} exists already") from exc
    url = engine.url
    dialect = engine.dialect.name
    if dialect == "sqlite":
        source = url.database
        if not source or source == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        target = folder / SQLITE_FILE
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
            live.backup(copy)  # the online backup API: consistent while others write
        database_file = SQLITE_FILE
    elif dialect == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / PG_FILE}",
              f"--dbname={_libpq_url(url)}"])
        database_file = PG_FILE
    else:
        raise BackupError(f"cannot back up a {dialect} database")
    # The counts of the copy (SQLite) or right after the snapshot (PostgreSQL: equal unless rows were added
    # since; the restore check compares at least these).
    if dialect == "sqlite":
        copy_engine = sa.create_engine(f"sqlite:///{folder / SQLITE_FILE}")
        try:
            row_counts, revision = counts(copy_engine), migrate.current_revision(copy_engine)
        finally:
            copy_engine.dispose()
    else:
        row_counts, revision = counts(engine), migrate.current_revision(engine)
    files = []
    root = attachment_dir.resolve()
    for path in _files(root):
        relative = path.relative_to(root)
        target_path = folder / FILES_DIR / relative
        target_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target_path)
        files.append({"path": relative.as_posix(), "size": target_path.stat().st_size,
                      "sha256": file_sha256(target_path)})
    manifest = Manifest(created_at=now.astimezone(dt.UTC).isoformat(), dialect=dialect, revision=revision,
                        database_file=database_file, counts=row_counts, files=files)
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    return folder, manifest


def is_empty(engine: sa.Engine) -> bool:
    """True when the database holds no table at all (a fresh database, the only kind we restore into)."""
    return not sa.inspect(engine).get_table_names()


def restore(engine: sa.Engine, attachment_dir: Path, folder: Path) -> Manifest:
    """Load the backup in ``folder`` into the empty database behind ``engine`` and its files into
    ``attachment_dir``; check the row counts and every file against the manifest."""
    manifest = Manifest.read(folder)
    dialect = engine.dialect.name
    if manifest.dialect != dialect:
        raise BackupError(f"the backup is of a {manifest.dialect} database; DATABASE_URL is {dialect}")
    if not is_empty(engine):
        raise BackupError(f"{engine.url.render_as_string(hide_password=True)} is not empty: "
                          "restore only into a new, empty database")
    for entry in manifest.files:  # check the backup's files before anything is written
        source = folder / FILES_DIR / entry["path"]
        if not source.is_file() or file_sha256(source) != entry["sha256"]:
            raise BackupError(f"{source}: missing or damaged (SHA-256 differs from the manifest)")
    root = attachment_dir.resolve()
    for entry in manifest.files:  # an existing different file is never overwritten
        existing = root / entry["path"]
        if existing.exists() and file_sha256(existing) != entry["sha256"]:
            raise BackupError(f"{existing} exists and differs from the backup's copy")
    database = folder / manifest.database_file
    if not database.is_file():
        raise BackupError(f"{database}: missing")
    if dialect == "sqlite":
        target = engine.url.database
        if not target or target == ":memory:":
            raise BackupError("cannot restore into an in-memory SQLite database")
        engine.dispose()
        with closing(sqlite3.connect(database)) as source_db, closing(sqlite3.connect(target)) as live:
            source_db.backup(live)
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={_libpq_url(engine.url)}", str(database)])
    for entry in manifest.files:
        target_path = root / entry["path"]
        target_path.parent.mkdir(parents=True, exist_ok=True)
        if not target_path.exists():
            shutil.copy2(folder / FILES_DIR / entry["path"], target_path)
            os.chmod(target_path, 0o640)
    found = counts(engine)
    short = {table: (found.get(table, 0), expected) for table, expected in manifest.counts.items()
             if found.get(table, 0) < expected}
    if short:
        raise BackupError(f"restored rows fewer than the manifest's: {short}")
    return manifest


__all__ = ["FORMAT", "BackupError", "Manifest", "backup", "counts", "is_empty", "restore"]

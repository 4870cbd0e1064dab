"""`tousu db backup` / `tousu db restore`: cases with their timelines and evidence files go into a backup and
come back, whole, into an empty database (SQLite here; PostgreSQL when TEST_DATABASE_URL is set, restored
into a scratch database this test creates and drops). A non-empty database is refused."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from bot.cli import main
from handlers.workflow.transitions import Actor, log_event
from storage.backup import MANIFEST, Manifest
from storage.db import Database
from storage.models import Attachment, AttachmentKind, Complaint, DownloadStatus, TimelineEvent
from tests.handlers.test_workflow_support import make_complaint, make_world


def _make_cases(db: Database, app_config: dict, files: Path) -> dict[str, tuple[int, str]]:
    """Three cases, each with timeline rows and two evidence files on disk; returns number → (timeline
    rows, sha256 of its first file)."""
    made: dict[str, tuple[int, str]] = {}
    with db.transaction() as s:
        world = make_world(s, app_config["COMPANY"])
        for i in range(3):
            c = make_complaint(world, number=f"2602{9000 + i:04d}", complainant_name=f"客户{i}")
            for j in range(i + 1):
                log_event(s, c, "progress_note", Actor.of(world["li.na"]), world.now, {"note": f"进展{j}"})
            digest = ""
            for k in range(2):
                a = Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id=None, meta={})
                s.add(a)
                s.flush()
                relative = f"{a.id // 1000:03d}/{a.id}.jpg"
                body = b"\xff\xd8\xff" + f" photo {c.number} {k} ".encode() + os.urandom(64)
                (files / relative).parent.mkdir(parents=True, exist_ok=True)
                (files / relative).write_bytes(body)
                a.meta = {"path": relative, "size": len(body)}
                a.download_status = DownloadStatus.STORED
                digest = digest or hashlib.sha256(body).hexdigest()
            s.flush()
            rows = s.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)
                            .where(TimelineEvent.complaint_id == c.id))
            made[c.number] = (int(rows or 0), digest)
    return made


def _check_restored(url: str, files: Path, made: dict[str, tuple[int, str]]) -> None:
    restored = Database(url)
    try:
        with restored.read_sessions() as s:
            for number, (timeline_rows, digest) in made.items():
                c = s.scalar(sa.select(Complaint).where(Complaint.number == number))
                assert c is not None, number
                rows = s.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)
                                .where(TimelineEvent.complaint_id == c.id))
                assert rows == timeline_rows
                attachments = list(s.scalars(sa.select(Attachment).where(Attachment.complaint_id == c.id)
                                             .order_by(Attachment.id)))
                assert len(attachments) == 2
                for a in attachments:
                    assert (files / a.meta["path"]).read_bytes()[:3] == b"\xff\xd8\xff"
                first = (files / attachments[0].meta["path"]).read_bytes()
                assert hashlib.sha256(first).hexdigest() == digest
    finally:
        restored.dispose()


@pytest.fixture
def tousu(monkeypatch, tmp_path):
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.delenv("TOUSU_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, url: str, attachments: Path):
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("TOUSU_ATTACHMENT_DIR", str(attachments))
        return CliRunner().invoke(main, list(args))

    return run


@pytest.fixture
def empty_target(database_url: str, tmp_path: Path):
    """An empty database of the test database's kind: a new SQLite file, or a scratch PostgreSQL database
    (created here, dropped afterwards)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_backup_and_restore_into_an_empty_database(db, database_url, app_config, tousu, empty_target,
                                                   tmp_path) -> None:
    files = tmp_path / "attachments"
    made = _make_cases(db, app_config, files)
    result = tousu("db", "backup", "--to", str(tmp_path / "backups"), url=database_url, attachments=files)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = Manifest.read(folder)
    assert manifest.counts["complaint"] == 3 and manifest.counts["attachment"] == 6
    assert manifest.counts["timeline_event"] == sum(rows for rows, _ in made.values())
    assert len(manifest.files) == 6

    # the backup is refused over a database that has records
    refused = tousu("db", "restore", str(folder), url=database_url, attachments=tmp_path / "other")
    assert refused.exit_code == 1 and "not empty" in refused.output

    restored_files = tmp_path / "restored-attachments"
    result = tousu("db", "restore", str(folder), url=empty_target, attachments=restored_files)
    assert result.exit_code == 0, result.output
    _check_restored(empty_target, restored_files, made)
    # a second restore into what is now a full database is refused, and changes nothing
    again = tousu("db", "restore", str(folder), url=empty_target, attachments=restored_files)
    assert again.exit_code == 1 and "not empty" in again.output
    _check_restored(empty_target, restored_files, made)


def test_a_damaged_file_stops_the_restore_before_it_writes(db, database_url, app_config, tousu, empty_target,
                                                           tmp_path) -> None:
    files = tmp_path / "attachments"
    _make_cases(db, app_config, files)
    assert tousu("db", "backup", "--to", str(tmp_path / "b"), url=database_url, attachments=files).exit_code == 0
    (folder,) = (tmp_path / "b").iterdir()
    first = Manifest.read(folder).files[0]["path"]
    (folder / "attachments" / first).write_bytes(b"tampered")
    result = tousu("db", "restore", str(folder), url=empty_target, attachments=tmp_path / "r")
    assert result.exit_code == 1 and "damaged" in result.output
    target = Database(empty_target)
    try:
        assert not sa.inspect(target.engine).get_table_names()  # nothing was written
    finally:
        target.dispose()


def test_not_a_backup_is_a_clear_refusal(tousu, tmp_path, database_url) -> None:
    (tmp_path / "nothing").mkdir()
    result = tousu("db", "restore", str(tmp_path / "nothing"), url=database_url, attachments=tmp_path / "a")
    assert result.exit_code == 1 and MANIFEST in result.output

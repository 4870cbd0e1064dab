"""The nightly evidence-orphan sweep: the downloaded files of drafts forgotten on unsubscribe (取消关注) or
purged after ``[intake].purge_days`` go; the files of filed cases, files younger than a day, and download
``.part`` files stay."""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from bot.config import load_settings
from handlers.intake import forget_customer, lock_state
from scheduler.jobs import run_draft_purge, run_orphan_file_sweep
from storage.models import Attachment, AttachmentKind
from tests.handlers.test_workflow_support import make_complaint, make_world

OLD = time.time() - 3 * 86400


def _file(root: Path, attachment_id: int, ext: str = "jpg", *, old: bool = True) -> Path:
    path = root / f"{attachment_id // 1000:03d}" / f"{attachment_id}.{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff evidence")
    if old:
        os.utime(path, (OLD, OLD))
    return path


def test_files_of_forgotten_and_purged_drafts_go(db, company_config, tmp_path) -> None:
    root = tmp_path / "evidence"
    settings = load_settings(environ={"TOUSU_DEV": "1", "TOUSU_ATTACHMENT_DIR": str(root)},
                             overrides={"COMPANY": company_config})
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as s:
        world = make_world(s, company_config, now=now)
        filed = make_complaint(world, number="26110001")
        rows = {
            "filed": Attachment(complaint_id=filed.id, kind=AttachmentKind.IMAGE),
            "unsubscribed": Attachment(draft_openid="oGONE0000000000000001", kind=AttachmentKind.VOICE),
            "stale": Attachment(draft_openid="oSTALE000000000000001", kind=AttachmentKind.IMAGE),
            "fresh_draft": Attachment(draft_openid="oHERE0000000000000001", kind=AttachmentKind.IMAGE),
        }
        s.add_all(rows.values())
        lock_state(s, "oSTALE000000000000001", now - dt.timedelta(days=8))
        lock_state(s, "oHERE0000000000000001", now)
        s.flush()
        ids = {name: row.id for name, row in rows.items()}
    files = {name: _file(root, i) for name, i in ids.items()}
    voice_mp3 = _file(root, ids["unsubscribed"], "mp3")  # the converted copy beside the original
    young_orphan = _file(root, 990_001, old=False)  # a row just gone, a file just written: not yet
    part = root / "000" / f".{ids['stale']}-abc.part"
    part.write_bytes(b"partial")
    os.utime(part, (OLD, OLD))

    with db.transaction() as s:
        forget_customer(s, "oGONE0000000000000001")  # 取消关注
    assert run_draft_purge(db, settings, now=now) == 1  # the stale draft
    assert files["unsubscribed"].exists() and files["stale"].exists()  # the rows went, the files stayed…

    assert run_orphan_file_sweep(db, settings, now=now) == 3  # …until the nightly sweep
    assert not files["unsubscribed"].exists() and not voice_mp3.exists() and not files["stale"].exists()
    assert files["filed"].exists() and files["fresh_draft"].exists()
    assert young_orphan.exists() and part.exists()
    assert run_orphan_file_sweep(db, settings, now=now) == 0


def test_no_folder_no_work(db, company_config, tmp_path) -> None:
    settings = load_settings(environ={"TOUSU_DEV": "1", "TOUSU_ATTACHMENT_DIR": str(tmp_path / "none")},
                             overrides={"COMPANY": company_config})
    assert run_orphan_file_sweep(db, settings) == 0

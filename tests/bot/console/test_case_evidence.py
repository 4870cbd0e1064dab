"""Evidence on the case page: images shown, voice playable, files downloadable — all from our own scoped
endpoint; what is only known to WeChat (a media id, a PicUrl) is listed as 尚未下载, never loaded remotely."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from storage.models import Attachment, AttachmentKind, AuditEvent, Complaint
from tests.bot.console.support import START, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import make_complaint

REMOTE = "http://mmbiz.qpic.cn/mmbiz_jpg/remote-photo/0"


@pytest.fixture
def case(db, world, app, tmp_path) -> dict[str, object]:
    root = tmp_path / "attachments"
    (root / "2602").mkdir(parents=True)
    (root / "2602" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0jpeg")
    (root / "2602" / "voice.mp3").write_bytes(b"ID3voice")
    (root / "2602" / "report.pdf").write_bytes(b"%PDF-1.4 report")
    (tmp_path / "secret.txt").write_text("outside the attachment root")
    app.config["TOUSU_ATTACHMENT_DIR"] = str(root)
    with in_transaction(db, world) as w:
        c = make_complaint(w, received_at=START)
        c.lead_office_id = w.dept("quality_office").id
        rows = {
            "image": Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id="M1", url=REMOTE,
                                meta={"path": "2602/photo.jpg"}),
            "voice": Attachment(complaint_id=c.id, kind=AttachmentKind.VOICE, media_id="M2",
                                meta={"path": "2602/voice.mp3", "format": "amr"}),
            "file": Attachment(complaint_id=c.id, kind=AttachmentKind.FILE, meta={"path": "2602/report.pdf"}),
            "pending": Attachment(complaint_id=c.id, kind=AttachmentKind.IMAGE, media_id="M3", url=REMOTE),
            "escape": Attachment(complaint_id=c.id, kind=AttachmentKind.FILE, meta={"path": "../secret.txt"}),
        }
        w.session.add_all(rows.values())
        w.session.flush()
        return {"number": c.number, **{name: row.id for name, row in rows.items()}}


def test_the_page_shows_images_plays_voice_offers_files_and_lists_what_is_not_downloaded(client, db, world,
                                                                                          case) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    number = case["number"]
    html = client.get(f"/console/cases/{number}").text
    base = f"/console/cases/{number}/attachments"
    assert re.search(rf'<img class="evidence-image" src="{base}/{case["image"]}"', html)
    assert re.search(rf'<audio class="evidence-audio" controls preload="none" src="{base}/{case["voice"]}"', html)
    assert f'<a href="{base}/{case["file"]}" download>' in html
    assert html.count("尚未下载") == 2  # the photo WeChat still holds, and the file whose path is not ours
    assert "mmbiz.qpic.cn" not in html and "http://" not in html.replace("http://localhost", "")


def test_files_are_served_inline_or_as_downloads_and_audited(client, db, world, case) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    base = f"/console/cases/{case['number']}/attachments"
    image = client.get(f"{base}/{case['image']}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data == b"\xff\xd8\xff\xe0jpeg"
    assert "attachment" not in image.headers.get("Content-Disposition", "")
    voice = client.get(f"{base}/{case['voice']}")
    assert voice.status_code == 200 and voice.mimetype == "audio/mpeg"
    pdf = client.get(f"{base}/{case['file']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/octet-stream"
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    with db.read_sessions() as s:
        events = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.viewed")).all()
        assert [e.details["attachment_id"] for e in events] == [case["image"], case["voice"], case["file"]]
        assert all(e.personal_data and e.subject == case["number"] for e in events)


def test_nothing_is_served_that_is_not_downloaded_or_lies_outside_the_root(client, db, world, case) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    base = f"/console/cases/{case['number']}/attachments"
    assert client.get(f"{base}/{case['pending']}").status_code == 404
    escape = client.get(f"{base}/{case['escape']}")
    assert escape.status_code == 404 and b"outside the attachment root" not in escape.data
    assert client.get(f"{base}/999999").status_code == 404
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "attachment.viewed")) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 1

"""档案销毁 (admin and management) and 个人信息访问记录 (admin): the due list, management's approval on the
case (a stale form refused, nobody else may approve), and the personal-data access audit filtered by person,
case and date."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from handlers import audit
from handlers.records import APPROVED, AUDIT_APPROVED
from storage.models import AuditEvent, Complaint, ComplaintStatus, TimelineEvent
from tests.bot.console.admin_support import ROLE_LOGINS, make_people, post_form, signed_in, texts
from tests.bot.console.support import in_transaction
from tests.handlers.test_workflow_support import local, make_complaint

URL = "/console/admin/records/"
NOW = local(2026, 3, 2, 10)


@pytest.fixture
def due(app, db, world, clock):
    clock.now = NOW
    make_people(db, world)
    with in_transaction(db, world) as w:
        for number, closed in (("23020001", local(2023, 2, 20)), ("25020001", local(2025, 2, 20))):
            c = make_complaint(w, number=number, received_at=closed - dt.timedelta(days=5), open_deadlines=False)
            c.status, c.closed_at, c.retain_until = ComplaintStatus.CLOSED, closed, None
            c.handling_department_id = w.dept("production").id
    return app


@pytest.mark.parametrize(("role", "status"), [(r, 200 if r.value in ("admin", "management") else 403)
                                              for r in ROLE_LOGINS])
def test_who_may_open_the_list(due, role, status) -> None:
    page = signed_in(due, ROLE_LOGINS[role]).get(URL)
    assert page.status_code == status
    if status == 200:
        text = texts(page.text)
        assert "23020001" in text and "25020001" not in text  # closed 3 years ago vs 1 year ago
        assert "洛阳某某机械厂" not in text  # the list shows no personal data


def test_a_complained_about_person_sees_neither_page(due, db, world) -> None:
    from tests.bot.console.support import give_accounts

    give_accounts(db, world, "zheng.kai")
    client = signed_in(due, "zheng.kai")
    assert client.get(URL).status_code == 403
    assert client.get("/console/admin/audit/?personal=1").status_code == 403


def test_management_approves_on_the_case_admin_cannot(due, db) -> None:
    with db.read_sessions() as s:
        case = s.scalar(sa.select(Complaint).where(Complaint.number == "23020001"))
        cid, version = case.id, case.version
    admin = signed_in(due, "root")
    listing = admin.get(URL).text
    assert "待管理层批准" in listing and "批准销毁</button>" not in listing  # no button for an admin
    assert post_form(admin, f"{URL}{cid}/approve", {"version": version}, page=URL).status_code == 403
    boss = signed_in(due, "wu.fang")
    stale = post_form(boss, f"{URL}{cid}/approve", {"version": version - 1}, page=URL)
    assert stale.status_code == 302 and "已被他人更新" in texts(boss.get(stale.location).text)
    done = post_form(boss, f"{URL}{cid}/approve", {"version": version}, page=URL)
    assert done.status_code == 302
    text = texts(boss.get(done.location).text)
    assert "已批准 吴芳" in text and "已批准销毁投诉 23020001" in text
    with db.read_sessions() as s:
        assert s.scalar(sa.select(TimelineEvent.action).where(TimelineEvent.complaint_id == cid)
                        .order_by(TimelineEvent.id.desc()).limit(1)) == APPROVED
        assert s.scalar(sa.select(AuditEvent.actor_label).where(AuditEvent.action == AUDIT_APPROVED)) == "吴芳"
    again = post_form(boss, f"{URL}{cid}/approve", {"version": version + 1}, page=URL)
    assert again.status_code == 302 and "未重复批准" in texts(boss.get(again.location).text)
    assert post_form(boss, f"{URL}999999/approve", {"version": 1}, page=URL).status_code == 404


def test_the_list_pages_oldest_closing_first(due, db, world, monkeypatch) -> None:
    """Server-side pages: every due case is reachable, each once, in closing order; the heading counts all."""
    from bot.console.admin import records as page_module

    monkeypatch.setattr(page_module, "PER_PAGE", 2)
    with in_transaction(db, world) as w:
        for n in range(2, 6):  # four more due cases, closed a day apart after 23020001
            closed = local(2023, 2, 20 + n)
            c = make_complaint(w, number=f"2302000{n}", received_at=closed - dt.timedelta(days=5),
                               open_deadlines=False)
            c.status, c.closed_at, c.retain_until = ComplaintStatus.CLOSED, closed, None
    boss = signed_in(due, "wu.fang")
    seen: list[str] = []
    for number in (1, 2, 3):
        text = texts(boss.get(f"{URL}?page={number}").text)
        assert "档案销毁 5" in text and f"第 {number} / 3 页" in text
        seen += [f"2302000{n}" for n in range(1, 6) if f"2302000{n}" in text]
    assert seen == ["23020001", "23020002", "23020003", "23020004", "23020005"]
    assert "25020001" not in seen
    for bad in ("99", "0", "-1", "x", "1e9"):
        answer = boss.get(f"{URL}?page={bad}")
        assert answer.status_code == 200, bad  # past the end: the last page; garbage: the first
    assert "23020005" in texts(boss.get(f"{URL}?page=99").text)
    assert "23020001" in texts(boss.get(f"{URL}?page=x").text)


def _viewed(db, who: str, number: str, at: dt.datetime, personal: bool, action: str = audit.CASE_VIEWED) -> None:
    with db.transaction() as s:
        audit.record(s, action, now=at, actor_label=who, subject=number, personal_data=personal)


def test_personal_data_access_audit(due, db) -> None:
    _viewed(db, "李娜", "26020001", local(2026, 2, 10, 9), True)
    _viewed(db, "赵磊", "26020001", local(2026, 2, 11, 9), False)  # masked: not personal data access
    _viewed(db, "赵磊", "26020002", local(2026, 2, 12, 9), True, "attachment.viewed")
    _viewed(db, "李娜", "ledger.xlsx", local(2026, 2, 12, 10), True, "export.ledger")
    client = signed_in(due, "root")
    text = texts(client.get("/console/admin/audit/?personal=1").text)
    assert "个人信息访问记录 3" in text and "查看佐证材料" in text and "导出台账" in text
    text = texts(client.get("/console/admin/audit/?personal=1&case=26020001").text)
    assert "个人信息访问记录 1" in text and "李娜" in text
    text = texts(client.get("/console/admin/audit/?personal=1&person=赵磊").text)
    assert "个人信息访问记录 1" in text and "26020002" in text
    text = texts(client.get("/console/admin/audit/?personal=1&since=2026-02-12&until=2026-02-12").text)
    assert "个人信息访问记录 2" in text
    text = texts(client.get("/console/admin/audit/?case=26020001").text)
    assert "安全审计 2" in text  # both views of the case, masked or not
    for login in ("wu.fang", "li.na", "zhao.lei", "viewer.prod"):
        assert signed_in(due, login).get("/console/admin/audit/?personal=1").status_code == 403


def test_a_destroyed_case_page_shows_figures_and_no_personal_data(due, db) -> None:
    from handlers.records import destroy_approved

    with db.read_sessions() as s:
        case = s.scalar(sa.select(Complaint).where(Complaint.number == "23020001"))
        cid, version = case.id, case.version
    boss = signed_in(due, "wu.fang")
    before = texts(boss.get("/console/cases/23020001").text)
    assert "洛阳某某机械厂" in before
    assert post_form(boss, f"{URL}{cid}/approve", {"version": version}, page=URL).status_code == 302
    with db.transaction() as s:
        assert destroy_approved(s, now=NOW, years=3, dry_run=False).destroyed == ["23020001"]
    page = boss.get("/console/cases/23020001")
    assert page.status_code == 200
    text = texts(page.text)
    assert "洛阳某某机械厂" not in text and "13800138000" not in text and "138****8000" not in text
    assert "批准销毁档案" in text and "档案已销毁" in text and "产品质量" in text
    assert "23020001" not in texts(boss.get(URL).text)  # no longer listed

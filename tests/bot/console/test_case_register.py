"""Manual registration (/console/cases/new): the intake form's fields and parsers, the real received time,
registered by the same function as a WeChat complaint (number, route, deadlines); only intake/office/admin."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from handlers import accounts
from handlers.workflow.scope import ConsoleRole
from storage.models import Complaint, Deadline, DeadlineStatus, OutboxMessage, Source, TimelineEvent
from tests.bot.console.support import PASSWORD, START, csrf_token, give_accounts, in_transaction, sign_in
from tests.handlers.test_workflow_support import local

QUALITY = {
    "step-category": "product_quality", "step-complainant_name": "洛阳某某机械厂", "step-contact_person": "王工",
    "step-phone": "138 0013 8000", "step-address": "洛阳市涧西区某路1号", "step-product_name": "6061-T6铝板",
    "step-spec_model": "2.0×1220×2440", "step-batch": "B2602-01", "step-purchase_date": "2026-01-15",
    "step-quantity": "3吨", "step-problem_type": "surface", "step-description": "铝板表面有划痕，影响使用",
    "step-usage_scenario": "冲压件", "step-loss": "无", "step-demands": ["replace", "apology"],
}


def _post(client, fields: dict, *, source: str = "phone", received: str = "2026-02-13T09:10", note: str = ""):
    page = client.get("/console/cases/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.text), "source": source, "received_at": received, "note": note, **fields}
    return client.post("/console/cases/new", data=data)


def _complaints(db) -> list[Complaint]:
    with db.read_sessions() as s:
        return list(s.scalars(sa.select(Complaint).order_by(Complaint.id)))


def test_office_registers_a_phone_call_received_before_it_was_typed_in(client, db, world, clock) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    assert 'href="/console/cases/new">登记投诉</a>' in client.get("/console/").text
    response = _post(client, QUALITY, note="客户来电，情绪激动")
    [c] = _complaints(db)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/console/cases/{c.number}")
    assert c.source is Source.PHONE and c.openid is None
    assert c.received_at == local(2026, 2, 13, 9, 10)  # the call, not the typing
    assert c.registered_at == START
    assert re.fullmatch(r"2602\d{4}", c.number)
    assert (c.phone, c.product_name, c.batch, c.problem_type, c.demands) == (
        "+8613800138000", "6061-T6铝板", "B2602-01", "surface", ["replace", "apology"])
    assert str(c.quantity) == "3.000" and c.quantity_unit == "吨" and c.purchase_date.isoformat() == "2026-01-15"
    assert c.status.value == "registered"
    with in_transaction(db, world) as w:
        assert c.lead_office_id == w.dept("quality_office").id  # routed by category, as intake routes
        rows = {d.milestone: d for d in w.session.scalars(sa.select(Deadline).where(Deadline.complaint_id == c.id))}
        assert rows["first_response"].status is DeadlineStatus.MET  # a call is answered as it is received
        assert rows["first_response"].met_at == local(2026, 2, 13, 9, 10)
        assert rows["whole_case"].anchor_at == local(2026, 2, 13, 9, 10)  # the clock runs from receipt
        event = w.session.scalars(sa.select(TimelineEvent).where(TimelineEvent.complaint_id == c.id)
                                  .order_by(TimelineEvent.id)).first()
        assert event.action == "registered" and event.actor_kind.value == "staff"
        assert event.details["by"] == "李娜" and event.details["source"] == "phone"
        assert event.details["note"] == "客户来电，情绪激动"
        told = w.session.scalars(sa.select(OutboxMessage.recipient)).all()
        assert "li.na" in told  # the lead office is told of the new case, as for a WeChat complaint
    page = client.get(f"/console/cases/{c.number}").text
    assert f"已登记投诉 {c.number}" in page and "电话/热线" in page and "2026-02-13 09:10" in page


def test_parsers_refuse_what_intake_refuses_and_the_input_is_kept(client, db, world) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    fields = {**QUALITY, "step-phone": "12345", "step-quantity": "很多", "step-complainant_name": ""}
    response = _post(client, fields)
    assert response.status_code == 422
    html = response.text
    errors = re.findall(r'<p class="field-error">(.*?)</p>', html)
    assert len(errors) == 3 and "请填写单位/姓名" in errors
    assert 'value="12345"' in html and 'value="6061-T6铝板"' in html  # what was typed stays
    assert re.search(r'<option value="surface" selected>', html)
    assert _complaints(db) == []


def test_a_received_time_in_the_future_is_refused(client, db, world) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    response = _post(client, QUALITY, received="2026-02-13T10:30")  # the clock says 10:00
    assert response.status_code == 422
    assert "收到时间不能晚于现在" in response.text
    assert _complaints(db) == []
    assert _post(client, QUALITY, received="").status_code == 422
    assert _complaints(db) == []


def test_product_fields_apply_only_to_quality_complaints(client, db, world) -> None:
    give_accounts(db, world, "zhang.wei")
    sign_in(client, "zhang.wei")
    fields = {"step-category": "service_attitude", "step-complainant_name": "王女士", "step-phone": "0379-65123456",
              "step-description": "营业厅工作人员态度恶劣", "step-loss": "无", "step-demands": ["apology"],
              "step-product_name": "不该记录"}
    response = _post(client, fields, source="walk_in", received="2026-02-13T08:45")
    [c] = _complaints(db)
    assert response.status_code == 302
    assert (c.source, c.category, c.product_name, c.phone) == (Source.WALK_IN, "service_attitude", None,
                                                               "+8637965123456")


def test_registering_a_case_for_another_ledger_goes_back_to_the_dashboard(client, db, world) -> None:
    """综合管理处 registers a quality objection: it is routed to 品质保障处, outside the registrar's scope."""
    give_accounts(db, world, "zhang.wei")
    sign_in(client, "zhang.wei")
    response = _post(client, QUALITY, source="government")
    [c] = _complaints(db)
    assert response.status_code == 302 and response.headers["Location"].endswith("/console/")
    assert f"已登记投诉 {c.number}" in client.get("/console/").text
    assert client.get(f"/console/cases/{c.number}").status_code == 404
    assert c.source is Source.GOVERNMENT


@pytest.mark.parametrize(("login", "allowed"), [
    ("root", True),  # admin
    ("li.na", True),  # office (intake)
    ("zhou.min", True),  # office, handler role only: a member of a lead office
    ("wu.fang", False),  # management
    ("zhao.lei", False),  # handler
    ("viewer.prod", False),  # viewer
])
def test_only_intake_office_and_admin_may_register(client, db, world, login: str, allowed: bool) -> None:
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)
    if login not in ("root", "viewer.prod"):
        give_accounts(db, world, login)
    sign_in(client, login)
    dashboard = client.get("/console/").text
    assert ('href="/console/cases/new"' in dashboard) is allowed
    page = client.get("/console/cases/new")
    assert page.status_code == (200 if allowed else 403)
    token = csrf_token(dashboard)
    response = client.post("/console/cases/new", data={"csrf_token": token, "source": "phone",
                                                       "received_at": "2026-02-13T09:10", **QUALITY})
    assert response.status_code == (302 if allowed else 403)
    assert len(_complaints(db)) == (1 if allowed else 0)


def test_wechat_is_not_a_manual_channel(client, db, world) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    response = _post(client, QUALITY, source="wechat")
    assert response.status_code == 422 and "微信投诉由公众号自动登记" in response.text
    assert _complaints(db) == []

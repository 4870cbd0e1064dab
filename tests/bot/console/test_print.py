"""The printable 《客户投诉处理闭环管理单》: for every console role, the cases it may print (and the 404 for
every other), how much of the complainant the paper shows, the audit row of each print, and the form's
fields filled from the record."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from handlers import accounts
from handlers.workflow import operations as ops
from handlers.workflow.scope import find_visible
from storage.models import AuditEvent, Complaint
from tests.bot.console.support import (
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    FREE_TEXT_PHONE,
    PASSWORD,
    START,
    give_accounts,
    in_transaction,
    scope_cases,
    sign_in,
)
from tests.bot.console.test_scope import ACCESS_ON_A, ALL, EXPECTED, _make_console_only_people
from tests.handlers.test_workflow_support import World


@pytest.fixture
def cases(db, world) -> dict[str, str]:
    numbers = scope_cases(db, world)
    _make_console_only_people(db, world)
    return numbers


def _signed_in(client, db, world, login: str) -> None:
    if login not in ("root", "viewer.prod"):
        with in_transaction(db, world) as w:
            accounts.create_account(w.session, name=w[login].name, userid=login, password=PASSWORD, now=START)
    assert sign_in(client, login).status_code == 302


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_each_role_prints_exactly_its_scope(db, cases, world, client, login: str) -> None:
    _, letters = EXPECTED[login]
    _signed_in(client, db, world, login)
    for letter in ALL:
        page = client.get(f"/console/cases/{cases[letter]}/print")
        if letter in letters:
            assert page.status_code == 200, (login, letter)
            assert "客户投诉处理闭环管理单" in page.text and f"案件{letter}" in page.text
        else:
            assert page.status_code == 404, (login, letter)  # 404, never 403
            assert f"案件{letter}" not in page.text and cases[letter] not in page.text
    assert client.get("/console/cases/26999999/print").status_code == 404
    with db.read_sessions() as s:
        printed = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.print")).all()
        assert sorted(e.subject for e in printed) == sorted(cases[letter] for letter in letters)


def test_printing_needs_a_sign_in(client, cases) -> None:
    answer = client.get(f"/console/cases/{cases['A']}/print")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]


@pytest.mark.parametrize("login", sorted(ACCESS_ON_A))
def test_the_paper_masks_per_reader(db, cases, world, client, login: str) -> None:
    identity, full_phone = ACCESS_ON_A[login][0]
    _signed_in(client, db, world, login)
    text = client.get(f"/console/cases/{cases['A']}/print").text
    assert (CUSTOMER_NAME in text) == identity
    assert ("洛阳市涧西区某路1号" in text) == identity
    assert (CUSTOMER_PHONE in text) == full_phone
    assert (FREE_TEXT_PHONE in text) == full_phone
    assert ("139****9000" in text) == (not full_phone)
    if identity and not full_phone:
        assert "138****8000" in text
    if not identity:
        assert "（保密）" in text and "138****8000" not in text and "投诉人身份已隐去" in text
    with db.read_sessions() as s:
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.print")).one()
        assert event.personal_data is identity and event.details == {"identity": identity, "full_phone": full_phone}
        assert event.ip == "127.0.0.1" and event.subject == cases["A"]


def _cells(html: str) -> dict[str, str]:
    """The form's label → the text of the cell after it."""
    pairs = re.findall(r"<th>([^<]+)</th>\s*<td[^>]*>(.*?)</td>", html, flags=re.S)
    return {label: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", value)).strip() for label, value in pairs}


def test_the_form_is_filled_from_the_record(db, cases, world: World, client) -> None:
    give_accounts(db, world, "li.na")
    with in_transaction(db, world) as w:
        c = find_visible(w.session, w["li.na"], number=cases["A"])
        assert c is not None
        ops.start_investigation(w.session, w["zhao.lei"], c, ctx=w.ctx())
        ops.record_investigation(
            w.session, w["zhao.lei"], c, ctx=w.ctx(), methods=["site_check"], findings="包装衬纸缺失",
            cause="transport_storage", responsibility="company", responsible_department=w.dept("logistics"),
            responsibility_type="direct")
        ops.submit_report(w.session, w["zhao.lei"], c, ctx=w.ctx(), report_text="包装衬纸缺失导致运输中摩擦划伤。")
        ops.propose_plan(w.session, w["zhao.lei"], c, ctx=w.ctx(), measures=["replace"], description="更换3吨",
                         due_date=dt.date(2026, 3, 3))
        ops.start_implementation(w.session, w["zhao.lei"], c, ctx=w.ctx())
        ops.complete_implementation(w.session, w["zhao.lei"], c, ctx=w.ctx(), note="已更换")
        ops.feed_back_result(w.session, w["li.na"], c, ctx=w.ctx(), text="已为您更换3吨铝板。")
    sign_in(client, "li.na")
    html = client.get(f"/console/cases/{cases['A']}/print").text
    cells = _cells(html)
    assert cells["受理部门"] == "品质保障处" and cells["诉求类型"] == "产品质量"
    assert cells["服务对象"].startswith(CUSTOMER_NAME) and cells["联系电话"] == CUSTOMER_PHONE
    assert cells["投诉来源"] == "微信公众号" and cells["投诉时间"].startswith("2026-02-1")
    assert cells["单位/地址"] == "洛阳市涧西区某路1号"
    assert "铝板表面划痕" in cells["受理内容"]
    assert cells["交办"].startswith("生产部") and "赵磊" in cells["交办"]
    assert "包装衬纸缺失导致运输中摩擦划伤" in cells["调查情况"] and "运输储存" in cells["调查情况"]
    assert "更换" in cells["处置方案"]
    assert "已为您更换3吨铝板" in cells["处理结果"] and "反馈客户" in cells["处理结果"]
    assert "承办部门（签章）" in cells["处理结果"] and "负责人签字" in cells["处理结果"]
    for label in ("回访", "满意度", "办结时间", "归口部门意见", "受理人", "受理时间", "交办时间", "办结时限"):
        assert label in cells, label
    with db.read_sessions() as s:
        complaint = s.scalar(sa.select(Complaint).where(Complaint.number == cases["A"]))
        assert complaint is not None and complaint.result_text == "已为您更换3吨铝板。"


def test_the_case_page_links_to_its_form(db, cases, world, client) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    page = client.get(f"/console/cases/{cases['A']}").text
    assert f'href="/console/cases/{cases["A"]}/print"' in page


def test_the_print_page_is_an_a4_sheet_with_no_script(db, cases, world, client) -> None:
    give_accounts(db, world, "li.na")
    sign_in(client, "li.na")
    html = client.get(f"/console/cases/{cases['A']}/print").text
    assert "<script" not in html and " style=" not in html
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/"), ref
    css = client.get("/console/static/print.css").text
    assert "@page { size: A4" in css and "@media print" in css

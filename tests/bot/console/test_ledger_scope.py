"""The ledger page and its Excel export for every console role: exactly the cases of the reader's scope,
the complainant masked per reader in the HTML and in the spreadsheet's cells, every export audited.

The five cases of `scope_cases` all have the same complainant (name, phone, and a phone inside the
description), so what each row shows depends only on who reads it.
"""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from handlers import accounts
from handlers.ledger import HIDDEN
from handlers.workflow.scope import ConsoleRole
from storage.models import AuditEvent
from tests.bot.console.support import (
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    FREE_TEXT_PHONE,
    PASSWORD,
    START,
    in_transaction,
    scope_cases,
    sign_in,
)

ALL = "ABCDE"
MASKED_PHONE = "138****8000"
MASKED_FREE_TEXT_PHONE = "139****9000"
FULL, MASKED, NONE = "full", "masked", "hidden"
# login -> (the cases of its scope, the cases of its default ledger, what it sees of the complainant)
# with the default policy: the handling department does not see who complained.
EXPECTED: dict[str, tuple[str, str, str]] = {
    "root": (ALL, ALL, NONE),  # system admin: every case, nobody's identity
    "chen.gang": (ALL, ALL, MASKED),  # admin + management: identity, phone masked
    "wu.fang": (ALL, ALL, MASKED),  # management
    "li.na": ("ACD", "AD", FULL),  # quality office: its ledger by default; + the untriaged C under 全部
    "zhou.min": ("ACD", "AD", FULL),
    "zhang.wei": ("BCE", "BE", FULL),  # general office
    "wang.qiang": ("B", "B", NONE),  # sales handler, responsible person of B
    "zheng.kai": ("", "", NONE),  # the complained-about person of B (回避): nothing at all
    "zhao.lei": ("AE", "AE", NONE),  # production
    "qian.hao": ("AE", "AE", NONE),
    "sun.li": ("D", "D", NONE),  # logistics
    "viewer.prod": ("AE", "AE", NONE),  # read-only, production
}


@pytest.fixture
def sees_complainant() -> bool:
    return False


@pytest.fixture
def app_config(app_config: dict[str, Any], sees_complainant: bool) -> dict[str, Any]:
    config = dict(app_config)
    company = copy.deepcopy(config["COMPANY"])
    company.setdefault("workflow", {})["handling_department_sees_complainant"] = sees_complainant
    config["COMPANY"] = company
    return config


@pytest.fixture
def cases(db, world) -> dict[str, str]:
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)
    return numbers


def _signed_in(client, db, world, login: str) -> None:
    if login not in ("root", "viewer.prod"):
        with in_transaction(db, world) as w:
            accounts.create_account(w.session, name=w[login].name, userid=login, password=PASSWORD, now=START)
    assert sign_in(client, login).status_code == 302


def _rows(html: str) -> dict[str, str]:
    """Case number -> the HTML of its ledger row."""
    rows = {}
    for row in re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, flags=re.S):
        number = re.search(r'data-label="投诉编号"[^>]*><a [^>]*>(\d+)</a>', row)
        assert number, row
        rows[number.group(1)] = row
    return rows


def _assert_row_shows(row: str, seen: str) -> None:
    assert (CUSTOMER_NAME in row) == (seen != NONE)
    assert (CUSTOMER_PHONE in row) == (seen == FULL)
    assert (MASKED_PHONE in row) == (seen == MASKED)
    assert (HIDDEN in row) == (seen == NONE)


def _xlsx(response) -> tuple[list[str], dict[str, dict[str, Any]]]:
    assert response.status_code == 200, response.text[:500]
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data))["台账"]
    lines = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = lines[2]
    return header, {line[0]: dict(zip(header, line, strict=True)) for line in lines[3:]}


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_ledger_page_shows_exactly_the_scope_masked_per_reader(db, world, cases, client, login: str) -> None:
    scope, default, seen = EXPECTED[login]
    _signed_in(client, db, world, login)
    pages = {"default": client.get("/console/ledger"), "all": client.get("/console/ledger?office=all")}
    for which, letters in (("default", default), ("all", scope)):
        page = pages[which]
        assert page.status_code == 200
        rows = _rows(page.text)
        assert set(rows) == {cases[x] for x in letters}, (login, which)
        for letter in ALL:
            if letter not in letters:
                assert cases[letter] not in page.text and f"案件{letter}" not in page.text
        for row in rows.values():
            _assert_row_shows(row, seen)
        assert FREE_TEXT_PHONE not in page.text  # the description is not on the page at all
    # Another office's ledger, asked for by name, is still cut to the reader's scope.
    for office in ("quality_office", "general_office", "none"):
        page = client.get(f"/console/ledger?office={office}")
        assert page.status_code == 200
        assert set(_rows(page.text)) <= {cases[x] for x in scope}


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_export_holds_exactly_the_scope_masked_per_reader(db, world, cases, client, login: str) -> None:
    scope, default, seen = EXPECTED[login]
    _signed_in(client, db, world, login)
    response = client.get("/console/ledger.xlsx?office=all")
    header, rows = _xlsx(response)
    assert header[:8] == ["投诉编号", "受理时间", "登记时间", "投诉来源", "投诉人（单位/姓名）", "联系人", "联系电话",
                          "单位/地址"]
    assert set(rows) == {cases[x] for x in scope}
    for number, row in rows.items():
        assert row["投诉人（单位/姓名）"] == {NONE: HIDDEN}.get(seen, CUSTOMER_NAME), number
        assert row["单位/地址"] == {NONE: HIDDEN}.get(seen, "洛阳市涧西区某路1号")
        assert row["联系电话"] == {FULL: CUSTOMER_PHONE, MASKED: MASKED_PHONE, NONE: HIDDEN}[seen]
        description = row["投诉内容"]
        assert (FREE_TEXT_PHONE in description) == (seen == FULL)
        assert (MASKED_FREE_TEXT_PHONE in description) == (seen != FULL)
    every_cell = repr(rows)
    assert (CUSTOMER_PHONE in every_cell) == (seen == FULL and bool(scope))
    assert (CUSTOMER_NAME in every_cell) == (seen != NONE and bool(scope))
    # the default export is the default ledger
    _, default_rows = _xlsx(client.get("/console/ledger.xlsx"))
    assert set(default_rows) == {cases[x] for x in default}
    with db.read_sessions() as s:
        events = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export.ledger")
                                .order_by(AuditEvent.id)))
    assert [e.details["rows"] for e in events] == [len(scope), len(default)]
    assert events[0].details["filters"] == {"office": "all"} and events[0].subject == "ledger.xlsx"
    assert events[0].personal_data == (seen != NONE and bool(scope))
    assert events[0].ip == "127.0.0.1" and events[0].actor_label


@pytest.mark.parametrize("sees_complainant", [True])
def test_the_policy_shows_the_handling_department_who_complained(db, world, cases, client) -> None:
    """With handling_department_sees_complainant: the responsible person sees the phone, colleagues masked."""
    _signed_in(client, db, world, "zhao.lei")
    rows = _rows(client.get("/console/ledger").text)
    assert set(rows) == {cases["A"], cases["E"]}
    _assert_row_shows(rows[cases["A"]], FULL)  # 赵磊 is A's responsible person
    _assert_row_shows(rows[cases["E"]], MASKED)  # E is his department's, 钱浩 is responsible
    _, sheet = _xlsx(client.get("/console/ledger.xlsx"))
    assert sheet[cases["A"]]["联系电话"] == CUSTOMER_PHONE and sheet[cases["E"]]["联系电话"] == MASKED_PHONE
    assert FREE_TEXT_PHONE in sheet[cases["A"]]["投诉内容"] and FREE_TEXT_PHONE not in sheet[cases["E"]]["投诉内容"]


@pytest.mark.parametrize("login", ["chen.gang", "zhao.lei", "viewer.prod"])
def test_a_keyword_never_finds_a_case_through_what_its_reader_cannot_see(db, world, cases, client, login) -> None:
    """The complainant's name and phone (and a phone inside the description) find cases only for readers who
    see them; the words of the description find every case of the scope."""
    scope, _, seen = EXPECTED[login]
    _signed_in(client, db, world, login)

    def found(keyword: str) -> set[str]:
        page = client.get("/console/ledger", query_string={"office": "all", "q": keyword})
        assert page.status_code == 200
        _, sheet = _xlsx(client.get("/console/ledger.xlsx", query_string={"office": "all", "q": keyword}))
        assert set(sheet) == set(_rows(page.text))
        return set(sheet)

    everything = {cases[x] for x in scope}
    assert found("铝板表面划痕") == everything
    assert found("洛阳某某") == (everything if seen != NONE else set())
    assert found("涧西区") == (everything if seen != NONE else set())
    assert found("13800138000") == (everything if seen == FULL else set())
    assert found("0013800") == (everything if seen == FULL else set())  # the masked middle of the phone
    assert found(FREE_TEXT_PHONE) == (everything if seen == FULL else set())


def test_lead_office_sees_phones_through_the_keyword(db, world, cases, client) -> None:
    _signed_in(client, db, world, "li.na")
    page = client.get("/console/ledger", query_string={"q": "13800138000"})
    assert set(_rows(page.text)) == {cases["A"], cases["D"]}


def test_the_export_refuses_more_than_the_cap(db, world, cases, client, monkeypatch) -> None:
    import handlers.ledger

    monkeypatch.setattr(handlers.ledger, "MAX_ROWS", 2)  # five cases, a cap of two
    _signed_in(client, db, world, "chen.gang")
    response = client.get("/console/ledger.xlsx")
    assert response.status_code == 400
    assert "筛选结果超过 2 件，无法导出" in response.text
    with db.read_sessions() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "export.ledger")) == 0
    ok = client.get("/console/ledger.xlsx", query_string={"number": cases["A"]})
    assert set(_xlsx(ok)[1]) == {cases["A"]}


def test_the_ledger_needs_a_sign_in(client, cases) -> None:
    for path in ("/console/ledger", "/console/ledger.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_spreadsheet_cells_are_never_formulas(db, world, cases, client) -> None:
    with in_transaction(db, world) as w:
        from handlers.workflow.scope import find_visible

        c = find_visible(w.session, w["chen.gang"], number=cases["A"])
        assert c is not None
        c.description = '=HYPERLINK("http://evil.example","点我")'
        c.complainant_name = "=1+1"
    _signed_in(client, db, world, "li.na")
    response = client.get("/console/ledger.xlsx", query_string={"number": cases["A"]})
    sheet = load_workbook(io.BytesIO(response.data))["台账"]
    cells = [cell for row in sheet.iter_rows(min_row=4) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = [cell.value for cell in cells]
    assert "=1+1" in values and '=HYPERLINK("http://evil.example","点我")' in values

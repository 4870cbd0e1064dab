"""The statistics pages for every console role: who may see them, what each counts, the stored reports and
their workbook, and bad parameters answered with 400/404 (never a 500)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from handlers import accounts
from handlers.stats.periods import parse_period
from handlers.stats.report import ensure_report
from handlers.workflow.scope import ConsoleRole
from tests.bot.console.support import PASSWORD, START, in_transaction, scope_cases, sign_in

# login -> how many of the five `scope_cases` (February 2026) its statistics count; None: 403
EXPECTED: dict[str, int | None] = {
    "root": 5,  # system admin
    "chen.gang": 5,  # management
    "wu.fang": 5,
    "li.na": 2,  # quality office: its own ledger, A and D (not C, which no lead office has yet)
    "zhang.wei": 2,  # general office: B and E
    "zhao.lei": None,  # a handling department
    "wang.qiang": None,
    "zheng.kai": None,  # the complained-about person of B
    "viewer.prod": None,  # read-only
}
REPORT_READERS = {"root", "chen.gang", "wu.fang"}


@pytest.fixture
def cases(db: Any, world: Any) -> dict[str, str]:
    numbers = scope_cases(db, world)
    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="管理员", role=ConsoleRole.ADMIN, login="root", password=PASSWORD,
                                now=START)
        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password=PASSWORD, now=START)
    return numbers


def signed_in(client: Any, db: Any, world: Any, login: str) -> None:
    if login not in ("root", "viewer.prod"):
        with in_transaction(db, world) as w:
            accounts.create_account(w.session, name=w[login].name, userid=login, password=PASSWORD, now=START)
    assert sign_in(client, login).status_code == 302


def received(html: str) -> int:
    match = re.search(r'<tr id="kpi-received">.*?<td class="num">(\d+) 件</td>', html, flags=re.S)
    assert match, html[:2000]
    return int(match.group(1))


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_who_sees_the_statistics_and_what_they_count(db: Any, world: Any, cases: Any, client: Any,
                                                     login: str) -> None:
    signed_in(client, db, world, login)
    page = client.get("/console/stats/?period=2026-02")
    if EXPECTED[login] is None:
        assert page.status_code == 403
        assert ">统计<" not in client.get("/console/").text  # no link in the header either
        return
    assert page.status_code == 200
    assert received(page.text) == EXPECTED[login]
    assert "已办结 ÷ 有效投诉" in page.text  # the definition beside the figure
    assert page.text.count('<svg class="chart') == 4  # trend, categories, departments, stars
    assert ">统计<" in client.get("/console/").text
    reports = client.get("/console/stats/reports/")
    assert reports.status_code == (200 if login in REPORT_READERS else 403)


def test_slices_narrow_the_count(db: Any, world: Any, cases: Any, client: Any) -> None:
    signed_in(client, db, world, "chen.gang")
    assert received(client.get("/console/stats/?period=2026-02&category=product_quality").text) == 2  # A, D
    production = world.dept("production").id
    assert received(client.get(f"/console/stats/?period=2026-02&department={production}").text) == 2  # A, E
    assert received(client.get("/console/stats/?period=2026-Q1&severity=general&channel=wechat").text) == 5
    assert received(client.get("/console/stats/?period=2026-03").text) == 0


@pytest.mark.parametrize("query", ["period=2026-13", "period=abc", "category=nope", "department=x",
                                   "severity=huge", "channel=fax", "period=2026-02-05..2026-02-01"])
def test_bad_parameters_are_400(db: Any, world: Any, cases: Any, client: Any, query: str) -> None:
    signed_in(client, db, world, "chen.gang")
    page = client.get(f"/console/stats/?{query}")
    assert page.status_code == 400 and 'role="alert"' in page.text


def test_the_stored_report_page_and_workbook(db: Any, world: Any, cases: Any, client: Any) -> None:
    with db.transaction() as s:  # a month later every case (all still open) is past its whole-case deadline
        ensure_report(s, parse_period("2026-02"), policy=world.policy, now=START + dt.timedelta(days=30))
    signed_in(client, db, world, "wu.fang")
    listing = client.get("/console/stats/reports/")
    assert "/console/stats/reports/month/2026-02" in listing.text
    page = client.get("/console/stats/reports/month/2026-02")
    assert page.status_code == 200
    assert "2026年2月投诉统计月报" in page.text and received(page.text) == 5
    overdue = page.text.split("超时案件")[1].split("低分案件")[0]
    assert all(f">{number}</a>" in overdue for number in cases.values())  # each listed, linking to its case
    book = client.get("/console/stats/reports/month/2026-02.xlsx")
    assert book.status_code == 200
    overview = {r[0]: r for r in load_workbook(io.BytesIO(book.data))["概览"].iter_rows(min_row=4, values_only=True)}
    assert overview["受理量"][2] == 5
    for missing in ("/console/stats/reports/month/2026-03", "/console/stats/reports/week/2026-02",
                    "/console/stats/reports/month/2026-Q1", "/console/stats/reports/month/2026-03.xlsx"):
        assert client.get(missing).status_code == 404


def test_an_office_may_not_open_a_report(db: Any, world: Any, cases: Any, client: Any) -> None:
    with db.transaction() as s:
        ensure_report(s, parse_period("2026-02"), policy=world.policy, now=START)
    signed_in(client, db, world, "li.na")
    assert client.get("/console/stats/reports/month/2026-02").status_code == 403
    assert client.get("/console/stats/reports/month/2026-02.xlsx").status_code == 403

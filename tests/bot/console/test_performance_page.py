"""部门绩效 page and Excel export: the hand-made November of `performance_support`, seen by every role
within its scope (admin and management all, an office its ledger, a department head its department; a
plain handler and a viewer 403), the export audited, a bad period a 400."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from handlers.performance import EXPORT_PERFORMANCE
from storage.models import AuditEvent
from tests.bot.console.admin_support import make_people, signed_in, texts
from tests.bot.console.support import give_accounts
from tests.handlers.performance_support import NOW, make_november

URL = "/console/performance/"


@pytest.fixture
def november(app, db, world, clock):
    clock.now = NOW
    make_people(db, world)
    give_accounts(db, world, "zhang.wei", "qian.hao", "zheng.kai")
    make_november(db, world)
    return app


def _departments(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-label="部门" class="num">([^<]+)<', html))


@pytest.mark.parametrize(("login", "departments"), [
    ("root", {"生产部", "销售部", "（未指派）", "合计"}),
    ("wu.fang", {"生产部", "销售部", "（未指派）", "合计"}),
    ("li.na", {"生产部", "合计"}),
    ("zhang.wei", {"销售部", "（未指派）", "合计"}),
    ("zhao.lei", {"生产部", "合计"}),
])
def test_each_role_sees_its_scope(november, login, departments) -> None:
    page = signed_in(november, login).get(f"{URL}?period=2026-11")
    assert page.status_code == 200
    assert _departments(page.text) == departments


def test_figures_and_definitions_on_the_page(november) -> None:
    text = texts(signed_in(november, "wu.fang").get(f"{URL}?period=2026-11").text)
    # 生产部: handled 2, closed 2, on time 1, late 3, 25.0 %, overdue 3, answers 2, satisfied 1, 50.0 %, 70.0,
    # praise 1, criticism 1, notice 1 (worked out in tests/handlers/performance_support.py)
    assert "生产部 2 2 1 3 25.0% 3 2 1 50.0% 70.0 1 1 1" in text
    assert "销售部 1 0 1 0 100.0% 0 1 0 0.0% 80.0 0 0 0" in text
    assert "赵磊 生产部 2 1 1 2 33.3% 2 1 1 100.0% 100.0 1 0 0" in text
    assert "口径说明" in text and "按时率：" not in text and "按时 ÷（按时 + 超时）" in text
    assert "不低于 85 分" in text


@pytest.mark.parametrize("login", ["qian.hao", "viewer.prod", "zheng.kai"])  # 郑凯: a complained-about person
def test_a_plain_handler_and_a_viewer_are_refused(november, login) -> None:
    client = signed_in(november, login)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}export.xlsx").status_code == 403


def test_bad_period_is_a_400(november) -> None:
    client = signed_in(november, "wu.fang")
    page = client.get(f"{URL}?period=2026-13")
    assert page.status_code == 400 and "期间格式" in page.text
    assert client.get(f"{URL}?start=2026-11-05&end=2026-11-01").status_code == 400
    assert client.get(f"{URL}export.xlsx?period=nope").status_code == 400


def test_export_is_a_workbook_and_audited(november, db) -> None:
    response = signed_in(november, "li.na").get(f"{URL}export.xlsx?period=2026-11")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["部门", "责任人", "说明"]
    rows = list(book["部门"].iter_rows(values_only=True))
    assert rows[2][:6] == ("部门", "承办件数", "办结件数", "按时", "超时", "按时率")
    production = next(r for r in rows if r[0] == "生产部")
    assert production[1:6] == (2, 2, 1, 3, 0.25)
    assert "销售部" not in [r[0] for r in rows]  # the quality office's ledger only
    people = {r[0]: r for r in book["责任人"].iter_rows(min_row=4, values_only=True)}
    assert set(people) == {"赵磊", "钱浩"} and people["钱浩"][1] == "生产部"
    with db.read_sessions() as s:
        event = s.scalar(sa.select(AuditEvent).where(AuditEvent.action == EXPORT_PERFORMANCE))
        assert event.actor_label == "李娜" and event.details["period"] == "2026-11"
        assert event.details["scope"] == "office"


def test_the_admin_index_links_to_it_for_those_in_scope(november) -> None:
    assert "部门绩效" in signed_in(november, "zhao.lei").get("/console/admin/").text
    assert "部门绩效" not in signed_in(november, "qian.hao").get("/console/admin/").text

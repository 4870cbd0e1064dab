"""Status queries: the asker's own complaints only; anyone else's number is a neutral 未找到."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.status import complaint_number_in, is_status_request
from storage.db import Database
from storage.models import Complaint, ComplaintStatus, Source
from tests.handlers.test_intake_chat import NOW, Chat


def add_complaint(db: Database, number: str, openid: str, *, status: ComplaintStatus = ComplaintStatus.REGISTERED,
                  due: dt.datetime | None = None, days_ago: int = 0) -> None:
    at = NOW - dt.timedelta(days=days_ago)
    with db.transaction() as s:
        s.add(Complaint(number=number, source=Source.WECHAT, received_at=at, registered_at=at, status=status,
                        openid=openid, complainant_name="张三", category="other", description="x",
                        sla_preset="general", due_at=due))


@pytest.mark.parametrize("text", ["查询", "查进度", "进度查询", "我的投诉", " 查询。"])
def test_status_words(text: str) -> None:
    assert is_status_request(text)


@pytest.mark.parametrize(("text", "number"), [
    ("26110001", "26110001"), ("投诉编号：26110001", "26110001"), ("编号 26110001", "26110001"),
    ("２６１１０００１", "26110001"), ("261110000", "261110000"), ("2611", None), ("13800138000", None),
    ("查询26110001的进度", None), (None, None),
])
def test_complaint_numbers(text: str | None, number: str | None) -> None:
    assert complaint_number_in(text) == number


def test_no_complaints_yet(db: Database, company_config: dict[str, Any]) -> None:
    assert "还没有提交过投诉" in Chat(db, company_config).send("查询")


def test_the_list_shows_only_the_askers_complaints(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, openid="oStatusMine00001")
    add_complaint(db, "26110001", chat.openid, status=ComplaintStatus.INVESTIGATING,
                  due=dt.datetime(2026, 12, 11, 15, 59, tzinfo=dt.UTC), days_ago=2)
    add_complaint(db, "26110002", "oStatusOther0001")
    add_complaint(db, "26110003", chat.openid, status=ComplaintStatus.CLOSED)
    reply = chat.send("查询")
    assert "26110001【调查中】正在调查核实，12月11日前办结" in reply
    assert "26110003【已办结】" in reply and "26110002" not in reply
    assert reply.index("26110003") < reply.index("26110001"), "newest first"


def test_the_menu_shows_the_list(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, openid="oStatusMenu00001")
    add_complaint(db, "26110001", chat.openid)
    assert "26110001【已登记】等待分类交办" in chat.click("STATUS")


def test_a_long_list_is_cut(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, openid="oStatusMany00001")
    for n in range(1, 9):
        add_complaint(db, f"2611{n:04d}", chat.openid, days_ago=10 - n)
    reply = chat.send("查询")
    assert "最近5件" in reply and "还有3件较早的投诉" in reply and "26110001" not in reply
    assert len(reply.encode()) <= 2048


def test_a_number_shows_the_askers_complaint(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, openid="oStatusNum000001")
    add_complaint(db, "26110001", chat.openid, status=ComplaintStatus.ASSIGNED,
                  due=dt.datetime(2026, 12, 11, 15, 59, tzinfo=dt.UTC))
    reply = chat.send("26110001")
    assert "投诉编号：26110001" in reply and "当前状态：已交办" in reply
    assert "承办部门将与您联系核实" in reply and "办结期限：2026年12月11日前" in reply


def test_someone_elses_number_is_not_found_like_a_missing_one(db: Database, company_config: dict[str, Any]) -> None:
    add_complaint(db, "26110001", "oStatusOther0002")
    chat = Chat(db, company_config, openid="oStatusSpy000001")
    theirs = chat.send("26110001")
    missing = chat.send("26119999")
    assert "未找到" in theirs and theirs.replace("26110001", "N") == missing.replace("26119999", "N")


def test_every_status_has_a_label_and_a_next_step(db: Database, company_config: dict[str, Any]) -> None:
    chat = Chat(db, company_config, openid="oStatusAll000001")
    for n, status in enumerate(ComplaintStatus, 1):
        add_complaint(db, f"2611{n:04d}", chat.openid, status=status)
        reply = chat.send(f"2611{n:04d}")
        assert f"当前状态：{status.value}" not in reply, f"{status} has a Chinese label"
        assert "下一步：处理中" not in reply, f"{status} has a next step"

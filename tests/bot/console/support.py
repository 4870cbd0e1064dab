"""Helpers for the console tests: a clock the test moves, accounts for the demo org chart, signing in."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from handlers import accounts
from storage.db import Database
from storage.models import ComplaintStatus, Department, Staff
from tests.handlers.test_workflow_support import World, local, make_complaint

PASSWORD = "correct-horse-42"
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@dataclass
class Clock:
    """The app's clock (create_app's ``CLOCK``), moved by hand."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


START = local(2026, 2, 13, 10, 0)


def give_accounts(db: Database, world: World, *userids: str, password: str = PASSWORD) -> None:
    """Accounts (login = userid) for these people of the org chart, committed."""
    with db.transaction() as s:
        for userid in userids:
            accounts.create_account(s, name=world[userid].name, userid=userid, password=password, now=START)


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def sign_in(client: FlaskClient, login: str, password: str = PASSWORD, *,
            environ_base: dict[str, Any] | None = None, **fields: Any) -> Any:
    """GET the sign-in page, then POST it with its CSRF token (and extra form ``fields``, e.g. next)."""
    environ_base = environ_base or {}
    page = client.get("/console/login", environ_base=environ_base)
    return client.post("/console/login", environ_base=environ_base,
                       data={"login": login, "password": password, "csrf_token": csrf_token(page.text), **fields})


@contextmanager
def in_transaction(db: Database, world: World) -> Iterator[World]:
    """``world`` bound to a new committed transaction, its people and departments reloaded in it."""
    with db.transaction() as s:
        world.session = s
        world.staff = {p.wecom_userid: p for p in s.scalars(sa.select(Staff))}
        world.departments = {d.code: d for d in s.scalars(sa.select(Department))}
        yield world


FREE_TEXT_PHONE = "13900139000"
CUSTOMER_PHONE = "+8613800138000"
CUSTOMER_NAME = "洛阳某某机械厂"


def scope_cases(db: Database, world: World) -> dict[str, str]:
    """Five cases whose routing covers every scope rule; returns letter → complaint number.

    A  quality ledger (品质保障处), handled by 生产部, responsible 赵磊            assigned
    B  general ledger (综合管理处), handled by 销售部, responsible 王强,
       complained-about person 郑凯 (销售部)                                     investigating
    C  new, no lead office yet                                                   registered
    D  quality ledger, handled by 物流部, responsible 孙丽                        plan_pending
    E  general ledger, handled by 生产部, responsible 钱浩                        investigating
    """
    S = ComplaintStatus
    routes = {
        "A": ("quality_office", "production", "zhao.lei", None, S.ASSIGNED, "product_quality"),
        "B": ("general_office", "sales", "wang.qiang", "zheng.kai", S.INVESTIGATING, "service_attitude"),
        "C": (None, None, None, None, S.REGISTERED, "delivery"),
        "D": ("quality_office", "logistics", "sun.li", None, S.PLAN_PENDING, "product_quality"),
        "E": ("general_office", "production", "qian.hao", None, S.INVESTIGATING, "management"),
    }
    numbers = {}
    with in_transaction(db, world) as w:
        for letter, (lead, handling, responsible, complained, status, category) in routes.items():
            c = make_complaint(
                w, category=category, number=f"2602{ord(letter):04d}",
                description=f"案件{letter}：铝板表面划痕，请打 {FREE_TEXT_PHONE} 联系",
                complainant_name=CUSTOMER_NAME, phone=CUSTOMER_PHONE, address="洛阳市涧西区某路1号",
            )
            c.lead_office_id = w.dept(lead).id if lead else None
            c.handling_department_id = w.dept(handling).id if handling else None
            c.responsible_staff_id = w[responsible].id if responsible else None
            c.complained_staff_id = w[complained].id if complained else None
            c.status = status
            numbers[letter] = c.number
    return numbers

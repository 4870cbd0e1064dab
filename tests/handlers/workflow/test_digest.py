"""The daily overdue notice (每日超期通报): who gets it, on which days, what it lists, and that it fits WeCom."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa

from bot.channels.sink import build_channels
from handlers.render import WECHAT_TEXT_LIMIT
from handlers.sla.calendar_store import set_exception
from handlers.workflow.digest import digest_recipients, queue_daily_digest
from handlers.workflow.notify import case_link
from scheduler.jobs import run_overdue_digest
from scheduler.outbox import dispatch_due
from storage.db import Database
from storage.models import Complaint, OutboxMessage
from tests.fakes.fake_wechat import (  # noqa: F401 (pytest fixture)
    WECOM_SEND,
    FakeWeChat,
    fake_settings,
    fake_wechat_fixture,
)
from tests.handlers.test_workflow_support import World, local, make_complaint, make_world

BASE = "https://tousu.example.com"
FRIDAY = local(2026, 2, 13, 9, 0)  # an ordinary working day
MAKEUP_SATURDAY = local(2026, 2, 14, 9, 0)  # 调休上班 before the Spring Festival
FESTIVAL_TUESDAY = local(2026, 2, 17, 9, 0)  # 春节: a weekday off
SUNDAY = local(2026, 3, 1, 9, 0)


@pytest.fixture
def world(db: Database, company_config: dict[str, Any]) -> World:
    """The example org chart, committed (expire_on_commit is off: its rows stay readable)."""
    with db.transaction() as s:
        return make_world(s, company_config, now=FRIDAY)


def cases(db: Database, world: World) -> dict[str, str]:
    """Three cases on two ledgers: overdue (quality office, 生产部), soon due (general office, not yet
    handed over), and overdue but about 李娜 herself (she is recused)."""
    with db.transaction() as s:
        world.session = s
        quality, general = world.dept("quality_office").id, world.dept("general_office").id
        overdue = make_complaint(world, received_at=local(2026, 2, 12, 10, 0), lead_office_id=quality,
                                 handling_department_id=world.dept("production").id)
        soon = make_complaint(world, received_at=local(2026, 2, 13, 8, 30), lead_office_id=general)
        recused = make_complaint(world, received_at=local(2026, 2, 12, 11, 0), lead_office_id=quality,
                                 complained_staff_id=world["li.na"].id)
        return {"overdue": overdue.number, "soon": soon.number, "recused": recused.number}


def queue(db: Database, world: World, now: dt.datetime):
    with db.transaction() as s:
        return queue_daily_digest(s, now, policy=world.policy, base_url=BASE)


def digests(db: Database) -> dict[str, list[str]]:
    """recipient → texts queued, in order."""
    with db.read_sessions() as s:
        rows = s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        found: dict[str, list[str]] = {}
        for row in rows:
            assert row.dedupe_key and row.dedupe_key.startswith("digest:")
            assert "title" not in row.payload, "a text message: a card has room for one link only"
            found.setdefault(row.recipient, []).append(row.payload["text"])
        return found


def link(number: str) -> str:
    return f'<a href="{BASE}/console/wecom/login?next=/console/cases/{number}">{number}</a>'


def test_recipients_are_the_lead_offices_and_management(db: Database, world: World) -> None:
    with db.read_sessions() as s:
        userids = {staff.wecom_userid for staff in digest_recipients(s)}
    # 张伟/李娜 head the two lead offices, 刘洋 does intake there; 陈刚 and 吴芳 are management.
    assert userids == {"zhang.wei", "liu.yang", "li.na", "chen.gang", "wu.fang"}


def test_a_working_day_tells_each_person_about_their_own_scope(db: Database, world: World) -> None:
    numbers = cases(db, world)
    report = queue(db, world, FRIDAY)
    assert report.working_day and report.recipients == 5 and report.messages == 5

    sent = digests(db)
    assert set(sent) == {"zhang.wei", "liu.yang", "li.na", "chen.gang", "wu.fang"}
    assert all(len(texts) == 1 for texts in sent.values()), "one message each"

    quality = sent["li.na"][0]
    assert quality.startswith("【每日超期通报】2026年2月13日（周五）")
    assert "品质保障处台账：超期 1 件，即将到期 0 件" in quality
    assert f"■ 生产部\n超期 {link(numbers['overdue'])} " in quality
    assert numbers["soon"] not in quality, "another ledger's case"
    assert numbers["recused"] not in quality, "a case about her (回避)"

    general = sent["zhang.wei"][0]
    assert general == sent["liu.yang"][0]
    assert "综合管理处台账：超期 0 件，即将到期 1 件" in general
    assert f"■ 未交办\n将到期 {link(numbers['soon'])} " in general
    assert numbers["overdue"] not in general and numbers["recused"] not in general

    management = sent["chen.gang"][0]
    assert "全公司：超期 2 件，即将到期 1 件" in management
    for number in numbers.values():
        assert link(number) in management
    assert management.index("■ 未交办") < management.index("■ 生产部"), "cases not yet handed over first"
    for texts in sent.values():
        assert all(len(t.encode()) <= WECHAT_TEXT_LIMIT for t in texts)
        assert "13800138000" not in "".join(texts) and "洛阳某某机械厂" not in "".join(texts)


def test_the_link_is_the_cases_console_page(db: Database, world: World) -> None:
    numbers = cases(db, world)
    queue(db, world, FRIDAY)
    text = digests(db)["chen.gang"][0]
    with db.read_sessions() as s:
        complaint = s.scalars(sa.select(Complaint).where(Complaint.number == numbers["overdue"])).one()
        assert f'href="{BASE}{case_link(complaint)}"' in text


def test_once_a_day_however_often_it_runs(db: Database, world: World) -> None:
    cases(db, world)
    queue(db, world, FRIDAY)
    again = queue(db, world, FRIDAY + dt.timedelta(minutes=1))  # a second worker, a restart
    assert (again.recipients, again.already_queued) == (0, 5)
    assert sum(len(t) for t in digests(db).values()) == 5
    assert queue(db, world, local(2026, 2, 24, 9, 0)).recipients == 5, "the next working day has its own"


@pytest.mark.parametrize("moment", [FESTIVAL_TUESDAY, SUNDAY], ids=["holiday", "weekend"])
def test_nothing_on_a_day_off(db: Database, world: World, moment: dt.datetime) -> None:
    cases(db, world)
    report = queue(db, world, moment)
    assert not report.working_day and report.recipients == 0
    assert digests(db) == {}


def test_a_makeup_saturday_is_a_working_day(db: Database, world: World) -> None:
    cases(db, world)
    report = queue(db, world, MAKEUP_SATURDAY)
    assert report.working_day and report.recipients == 5


def test_the_companys_own_day_off_counts(db: Database, world: World) -> None:
    cases(db, world)
    with db.transaction() as s:
        set_exception(s, dt.date(2026, 2, 13), False, "公司年会")
    assert not queue(db, world, FRIDAY).working_day
    assert digests(db) == {}


def test_nothing_when_nothing_is_overdue_or_due_soon(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        make_complaint(world, received_at=local(2026, 2, 10, 10, 0), category="service",
                       lead_office_id=world.dept("general_office").id)  # 3 working days: due the 13th at night
    report = queue(db, world, local(2026, 2, 9, 9, 0))  # before it was even received: nothing due
    assert report.working_day and report.recipients == 0 and report.nothing_to_say == 5
    assert digests(db) == {}


def test_a_long_digest_is_split_within_wecoms_limit(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        numbers = [make_complaint(world, received_at=local(2026, 2, 12, 10, 0),
                                  lead_office_id=world.dept("quality_office").id,
                                  handling_department_id=world.dept(["production", "sales", "logistics"][n % 3]).id
                                  ).number for n in range(45)]
    queue(db, world, FRIDAY)
    parts = digests(db)["chen.gang"]
    assert len(parts) > 1
    assert all(len(p.encode()) <= WECHAT_TEXT_LIMIT for p in parts)
    assert parts[0].startswith("【每日超期通报】2026年2月13日（周五）\n全公司：超期 45 件")
    for n, part in enumerate(parts[1:], start=2):
        assert part.startswith(f"【每日超期通报】2026年2月13日（周五）（续 {n}/{len(parts)}）\n")
    joined = "\n".join(parts)
    assert sorted(re.findall(r">(\d{8})</a>", joined)) == sorted(numbers), "every case once, none cut"
    assert queue(db, world, FRIDAY).recipients == 0, "the split digest is idempotent too"
    assert len(digests(db)["chen.gang"]) == len(parts)


def test_the_job_delivers_it_as_a_wecom_text_with_links(db: Database, world: World,
                                                        fake_wechat: FakeWeChat) -> None:
    """From the 09:00 job through the outbox to the (fake) WeCom API: one text per person, links intact."""
    numbers = cases(db, world)
    settings = fake_settings(fake_wechat, PUBLIC_BASE_URL=BASE)
    settings = type(settings)(**{**settings.__dict__, "policy": world.policy})
    report = run_overdue_digest(db, settings, now=FRIDAY)
    assert report.recipients == 5
    stats = dispatch_due(db, build_channels(settings, db), now=FRIDAY)
    assert stats.sent == 5 and stats.failed == 0
    bodies = [c.body for c in fake_wechat.deliveries if c.path == WECOM_SEND]
    assert sorted(b["touser"] for b in bodies) == ["chen.gang", "li.na", "liu.yang", "wu.fang", "zhang.wei"]
    assert {b["msgtype"] for b in bodies} == {"text"}
    management = next(b for b in bodies if b["touser"] == "chen.gang")["text"]["content"]
    assert link(numbers["overdue"]) in management and len(management.encode()) <= WECHAT_TEXT_LIMIT


def test_snapshot(db: Database, world: World) -> None:
    with db.transaction() as s:
        world.session = s
        make_complaint(world, number="26020101", received_at=local(2026, 2, 12, 10, 0),
                       lead_office_id=world.dept("quality_office").id, handling_department_id=world.dept("sales").id)
        make_complaint(world, number="26020102", received_at=local(2026, 2, 13, 8, 30),
                       lead_office_id=world.dept("quality_office").id)
    queue(db, world, FRIDAY)
    assert digests(db)["li.na"] == [
        "【每日超期通报】2026年2月13日（周五）\n"
        "品质保障处台账：超期 1 件，即将到期 1 件。\n"
        "\n"
        "■ 未交办\n"
        f"将到期 {link('26020102')} 产品质量·首次响应，2月13日（周五）09:30前\n"
        "\n"
        "■ 销售部\n"
        f"超期 {link('26020101')} 产品质量·首次响应，已超22小时"
    ]

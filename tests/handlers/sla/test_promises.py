"""Every time promise a customer reads comes from one source and agrees with the others (issue 8, bugs 2, 3, 12)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.config import load_policy
from handlers.faq import limits_by_kind
from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.calendar_store import set_exception
from handlers.sla.presets import get_preset
from handlers.sla.promises import customer_promises, next_opening
from storage.db import Database
from tests.handlers.test_intake_chat import QUALITY_ANSWERS, Chat

# Tuesday 2026-12-01 18:15 in Shanghai: a working day, after working hours (08:30–17:30).
AT_1815 = dt.datetime(2026, 12, 1, 18, 15, tzinfo=SHANGHAI).astimezone(dt.UTC)
START, END = dt.time(8, 30), dt.time(17, 30)


def test_the_next_opening_is_counted_on_the_calendar_given() -> None:
    plain = WorkCalendar()
    assert next_opening(AT_1815, plain, START, END, 30).day == dt.date(2026, 12, 2)
    company = WorkCalendar.from_rows([(dt.date(2026, 12, 2), False, "厂休")])
    opening = next_opening(AT_1815, company, START, END, 30)
    assert (opening.in_hours, opening.day, opening.today) == (False, dt.date(2026, 12, 3), False)
    morning = dt.datetime(2026, 12, 1, 7, 0, tzinfo=SHANGHAI)
    assert next_opening(morning, plain, START, END, 30).today is True
    assert next_opening(morning.replace(hour=10), plain, START, END, 30).in_hours is True


def test_a_known_start_day_shows_only_the_limit_that_applies() -> None:
    preset = get_preset("nonferrous-quality")
    first = customer_promises(preset, "general")[0]
    assert (first.text, first.from_receipt_in_hours) == ("1小时（非工作日4小时）内与您联系", True)
    assert customer_promises(preset, "general", received_on_working_day=True)[0].text == "1小时内与您联系"
    assert customer_promises(preset, "general", received_on_working_day=False)[0].text == "4小时内与您联系"
    assert not customer_promises(preset, "general")[-1].from_receipt_in_hours


def test_the_human_promise_uses_the_company_calendar(db: Database, company_config: dict[str, Any]) -> None:
    """Bug 2: 人工 after hours promised "the next working day" of the official calendar, ignoring the company's
    own days off (a bare WorkCalendar())."""
    with db.transaction() as s:
        set_exception(s, dt.date(2026, 12, 2), False, "厂休")
    chat = Chat(db, company_config, now=AT_1815)
    chat.send("人工")
    reply = chat.send("13800138000")
    assert "12月3日（下一个工作日）上班后" in reply, reply


def test_at_1815_on_a_working_day_acknowledgement_human_and_faq_agree(
    db: Database, company_config: dict[str, Any]
) -> None:
    """Bug 12: the acknowledgement promised contact within 1 hour, 人工 a call after the next start of work, and
    the FAQ 15 working days to a complaint told 3. Now all three start from the next opening and the FAQ lists
    what each kind of complaint is promised."""
    chat = Chat(db, company_config, now=AT_1815)
    chat.send("投诉")
    for answer in QUALITY_ANSWERS:
        chat.send(answer)
    chat.send("跳过")
    ack = chat.send("确认")
    assert "· 12月2日（下一个工作日）上班后1小时内与您联系" in ack, ack
    assert "· 15个工作日内办结" in ack
    human = chat.send("人工")
    assert "12月2日（下一个工作日）上班后" in human, human
    faq = chat.send("投诉处理要多久？")
    assert "1小时（非工作日4小时）内与您联系" not in faq.split("产品质量")[0], "no limit before the kind is named"
    assert "下一个工作日上班后" in faq
    quality_line = next(line for line in faq.splitlines() if "产品质量" in line)
    assert "15个工作日内办结" in quality_line and "30个工作日内办结" in quality_line
    other_line = next(line for line in faq.splitlines() if "服务态度" in line)
    assert "3个工作日内处理完毕" in other_line and "15个工作日" not in other_line


def test_the_faq_limits_follow_the_configured_presets(company_config: dict[str, Any]) -> None:
    """Bug 3: the FAQ hard-coded the nonferrous-quality limits; it now derives them from the presets."""
    policy = load_policy(company_config | {"sla": {"default_preset": "general", "categories": {}}})
    by_label = {label: dict(kind.by_severity) for kind in limits_by_kind(policy) for label in kind.labels}
    assert by_label["服务态度"]["一般投诉"] == ("3个工作日内处理完毕",)
    assert by_label["产品质量"]["一般投诉"] == ("质量异议3个工作日内给予答复", "3个工作日内处理完毕")

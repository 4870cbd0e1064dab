"""工作日历: a company day off or working day added and removed in the console, in the same store and with the
same effect as `tousu calendar set/unset` (the next deadline counts it); the month view marks 调休 and company days."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from handlers import admin
from handlers.sla.calendar_store import CalendarRules, load_calendar
from storage.models import AuditEvent, CalendarException
from tests.bot.console.admin_support import make_people, post_form, signed_in, texts

URL = "/console/admin/calendar/"


def _exceptions(db) -> list[tuple[dt.date, bool, str | None]]:
    with db.read_sessions() as s:
        return [(e.date, e.is_working_day, e.note) for e in s.scalars(sa.select(CalendarException))]


def test_the_month_view_marks_shifted_days_holidays_and_company_days(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "li.na")
    assert post_form(client, f"{URL}set", {"day": "2026-02-27", "kind": "off", "note": "公司年会放假"},
                     page=URL).status_code == 302
    page = client.get(f"{URL}?year=2026&month=2")
    assert page.status_code == 200
    html = page.text
    assert 'class="day shift_work" title="调休上班"' in html  # 2026-02-14, a Saturday worked for 春节
    assert 'class="day company_off" title="公司例外：公司年会放假"' in html
    assert 'title="春节"' in html
    text = texts(html)
    assert "2026年2月" in text and "2月14日 周六：上班（调休上班）" in text
    assert "2月27日 周五：休息（公司例外：公司年会放假）" in text
    assert "2026-02-27 周五" in text  # in the year's list, with its remove button
    march = texts(client.get(f"{URL}?year=2026&month=3").text)
    assert "2026年3月" in march and "2026-02-27 周五" in march  # the year's list stays on every month


def test_a_day_set_in_the_console_moves_the_next_deadline_like_the_cli(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "root")
    with db.read_sessions() as s:
        before = load_calendar(s, CalendarRules()).add_working_days(
            dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), 1)
    assert post_form(client, f"{URL}set", {"day": "2026-03-03", "kind": "off", "note": "停电检修"},
                     page=URL).status_code == 302
    with db.read_sessions() as s:
        after = load_calendar(s, CalendarRules()).add_working_days(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC), 1)
    assert after.date() == before.date() + dt.timedelta(days=1)  # 3 March no longer counts

    assert post_form(client, f"{URL}set", {"day": "2026-03-03", "kind": "work", "note": "补班"},
                     page=URL).status_code == 302
    assert _exceptions(db) == [(dt.date(2026, 3, 3), True, "补班")]
    assert post_form(client, f"{URL}unset", {"day": "2026-03-03"}, page=URL).status_code == 302
    assert _exceptions(db) == []
    assert "已删除 2026-03-03 的公司例外" in texts(client.get(f"{URL}?year=2026&month=3").text)
    with db.read_sessions() as s:
        trail = [(e.action, e.subject, e.details.get("outcome")) for e in s.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("calendar.%")).order_by(AuditEvent.id))]
    assert trail == [("calendar.set", "2026-03-03", "added"), ("calendar.set", "2026-03-03", "updated"),
                     ("calendar.unset", "2026-03-03", None)]


def test_a_day_needs_a_valid_date_a_kind_and_a_reason(app, db, world) -> None:
    make_people(db, world)
    client = signed_in(app, "li.na")
    refused = [
        ({"day": "2026-02-30", "kind": "off", "note": "x"}, "日期应为 YYYY-MM-DD"),
        ({"day": "1999-12-31", "kind": "off", "note": "x"}, "日期应在 2000–2099 年之间"),
        ({"day": "2026-03-02", "kind": "maybe", "note": "x"}, "请选择上班或休息"),
        ({"day": "2026-03-02", "kind": "off", "note": "  "}, "请填写原因"),
        ({"day": "2026-03-02", "kind": "off", "note": "长" * 201}, "原因不能超过 200 个字"),
    ]
    for data, message in refused:
        response = post_form(client, f"{URL}set", data, page=URL)
        assert response.status_code == 400 and message in texts(response.text), data
    assert _exceptions(db) == []


def test_day_kinds_follow_the_calendars_reasons() -> None:
    day = dt.date(2026, 2, 14)
    assert admin.day_kind(True, "调休上班", day) == "shift_work"
    assert admin.day_kind(False, "春节假期 · 休息日（由 2026-02-14 调休）", dt.date(2026, 2, 20)) == "shift_off"
    assert admin.day_kind(False, "春节假期 · 周末", dt.date(2026, 2, 15)) == "holiday"
    assert admin.day_kind(False, "周末", dt.date(2026, 3, 7)) == "weekend"
    assert admin.day_kind(True, "公司例外：补班", dt.date(2026, 3, 7)) == "company_work"
    assert admin.day_kind(True, "工作日", dt.date(2026, 3, 9)) == "workday"

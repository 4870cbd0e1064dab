"""工作日历: the company's working-day exceptions (公司例外), the store and rules of ``tousu calendar
set/unset`` (`handlers.sla.calendar_store`), and a month as ``tousu calendar show`` reads it. Admin and office."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import admin
from handlers.admin import FIRST_YEAR, LAST_YEAR, AdminArea, AdminError
from handlers.sla.calendar import SHANGHAI
from handlers.sla.calendar_store import load_calendar

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def _year_month() -> tuple[int, int]:
    today = now().astimezone(SHANGHAI).date()
    year, month = today.year, today.month
    raw_year, raw_month = request.args.get("year", ""), request.args.get("month", "")
    if raw_year.isdigit() and FIRST_YEAR <= int(raw_year) <= LAST_YEAR:
        year = int(raw_year)
        month = 1 if raw_month == "" else month
    if raw_month.isdigit() and 1 <= int(raw_month) <= 12:
        month = int(raw_month)
    return year, month


def _page(year: int, month: int, error: str | None = None, values: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    today = now().astimezone(SHANGHAI).date()
    with area_session(AdminArea.CALENDAR) as (s, _staff):
        calendar = load_calendar(s, runtime().settings.policy.calendar)
        exceptions = admin.exceptions_in_year(s, year)
    first = dt.date(year, month, 1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return render_template(
        "console/admin/calendar.html", year=year, month=month, exceptions=exceptions,
        weeks=admin.month_weeks(calendar, year, month, today=today), confirmed=calendar.is_confirmed(year),
        previous=previous if previous.year >= FIRST_YEAR else None,
        following=following if following.year <= LAST_YEAR else None,
        error=error, values=values or {"day": "", "kind": "off", "note": ""},
    ), status


@bp.get("/")
def index() -> ResponseReturnValue:
    year, month = _year_month()
    return _page(year, month)


@bp.post("/set")
def set_day() -> ResponseReturnValue:
    values = {k: request.form.get(k, "") for k in ("day", "kind", "note")}
    year, month = _year_month()
    try:
        with area_session(AdminArea.CALENDAR, write=True) as (s, staff):  # 403 before any form error
            day = admin.parse_day(values["day"])
            if values["kind"] not in ("work", "off"):
                raise AdminError("bad_kind", "请选择上班或休息")
            change = admin.set_calendar_day(s, day, values["kind"] == "work", values["note"], now=now(),
                                            origin=origin(), by=staff)
    except AdminError as exc:
        return _page(year, month, str(exc), values, 400)
    flash(day.isoformat(), f"calendar_{change.outcome}")
    return redirect(url_for("console.admin.calendar.index", year=day.year, month=day.month))


@bp.post("/unset")
def unset_day() -> ResponseReturnValue:
    year, month = _year_month()
    try:
        with area_session(AdminArea.CALENDAR, write=True) as (s, staff):
            day = admin.parse_day(request.form.get("day", ""))
            change = admin.unset_calendar_day(s, day, now=now(), origin=origin(), by=staff)
    except AdminError as exc:
        return _page(year, month, str(exc), None, 400)
    flash(day.isoformat(), f"calendar_{change.outcome}")
    return redirect(url_for("console.admin.calendar.index", year=day.year, month=day.month))

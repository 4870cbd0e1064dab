"""部门绩效: the 绩效 figures per handling department and responsible person for a period, and their Excel
export for the performance review. Thin over `handlers.performance` (figures, definitions, who sees what:
admin and management all, a lead office its ledger, a handling department's head its department; anyone
else 403). Every export is recorded in the audit trail (``export.performance``) with the period."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, Final

from flask import Blueprint, abort, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.console.labels import local_dt
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import audit
from handlers.performance import (
    EXPORT_PERFORMANCE,
    Figures,
    Period,
    PeriodError,
    Report,
    Scope,
    performance,
    performance_scope,
    period_args,
)
from storage.base import SHANGHAI
from storage.models import Staff

bp = Blueprint("performance", __name__, url_prefix="/performance")

# The columns of the page and the workbook: heading, what it reads from a row, Excel number format.
COLUMNS: Final[tuple[tuple[str, str, str | None], ...]] = (
    ("承办件数", "handled", None),
    ("办结件数", "closed", None),
    ("按时", "on_time", None),
    ("超时", "late", None),
    ("按时率", "on_time_rate", "0.0%"),
    ("超时件数", "overdue_cases", None),
    ("评价数", "answered", None),
    ("满意数", "satisfied", None),
    ("满意率", "satisfaction_rate", "0.0%"),
    ("平均分", "average_score", "0.0"),
    ("表扬", "praise", None),
    ("批评", "criticism", None),
    ("通报", "notices", None),
)


def _period() -> Period:
    today = now().astimezone(SHANGHAI).date()
    return Period.parse(request.args.get("period"), today=today, start=request.args.get("start"),
                        end=request.args.get("end"))


def _report(period: Period) -> tuple[Report, Scope, Staff]:
    rt = runtime()
    with rt.db.read_sessions() as s:
        staff = s.get(Staff, current_user.staff.id)
        scope = performance_scope(s, staff) if staff is not None else None
        if staff is None or scope is None:
            abort(403)
        report = performance(s, scope, period, now=now(), satisfied_score=rt.settings.policy.workflow.satisfied_score)
        s.expunge(staff)
    return report, scope, staff


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        period = _period()
    except PeriodError as exc:
        with runtime().db.read_sessions() as s:  # a bad period is a 400 only for those who may see the page
            staff = s.get(Staff, current_user.staff.id)
            if staff is None or performance_scope(s, staff) is None:
                abort(403)
        return render_template("console/performance.html", report=None, error=str(exc),
                               values=request.args, columns=COLUMNS, scope=None,
                               satisfied_score=runtime().settings.policy.workflow.satisfied_score), 400
    report, scope, _staff = _report(period)
    return render_template("console/performance.html", report=report, error=None, values=period_args(period),
                           columns=COLUMNS, scope=scope,
                           satisfied_score=runtime().settings.policy.workflow.satisfied_score)


def _value(row: Figures, attribute: str) -> Any:
    return getattr(row, attribute)


def workbook(report: Report, *, title: str, scope_text: str) -> bytes:
    """Two sheets (部门, 责任人) with the same columns, and the definitions (说明) an auditor recomputes from."""
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for name, rows, lead in (("部门", report.departments, ("部门",)), ("责任人", report.people, ("责任人", "部门"))):
        sheet = book.create_sheet(name)
        sheet.append([title])
        sheet["A1"].font = Font(bold=True)
        sheet.append([scope_text])
        sheet.append([*lead, *(heading for heading, _, _ in COLUMNS)])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in rows:
            names = [row.name or "（未指派）"] + ([row.department or ""] if len(lead) == 2 else [])
            sheet.append([*names, *(_value(row, attribute) for _, attribute, _ in COLUMNS)])
        if name == "部门":
            sheet.append(["合计", *(_value(report.total, attribute) for _, attribute, _ in COLUMNS)])
        for index, (_, _, number_format) in enumerate(COLUMNS, start=len(lead) + 1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = 10
            if number_format:
                for cell in sheet[letter][3:]:
                    cell.number_format = number_format
        sheet.column_dimensions["A"].width = 16
        sheet.freeze_panes = sheet.cell(row=4, column=len(lead) + 1)
    notes = book.create_sheet("说明")
    definitions = render_template("console/performance_definitions.txt",
                                  satisfied_score=runtime().settings.policy.workflow.satisfied_score)
    for line in definitions.strip().splitlines():
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@bp.get("/export.xlsx")
def export() -> ResponseReturnValue:
    try:
        period = _period()
    except PeriodError:
        abort(400)
    report, scope, staff = _report(period)
    moment = now()
    company = runtime().settings.policy.company.name
    scope_text = render_template("console/performance_scope.txt", scope=scope, period=period,
                                 last_day=period.end - dt.timedelta(days=1)).strip()
    data = workbook(report, title=f"{company} 部门绩效 {period.label}（导出于 {local_dt(moment)}）",
                    scope_text=scope_text)
    with runtime().db.transaction() as s:
        actor = s.get(Staff, staff.id)
        audit.record(s, EXPORT_PERFORMANCE, now=moment, origin=origin(), actor=actor, subject="performance.xlsx",
                     details={"period": period.label, "scope": scope.kind, "department": scope.department,
                              "departments": len(report.departments), "people": len(report.people)})
    return send_file(io.BytesIO(data), as_attachment=True,
                     download_name=f"performance-{period.label.replace('~', '_')}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

"""统计 in the console: the KPIs of any period and slice with their definitions, charts (server-rendered SVG,
no script, nothing from the network), and the stored period reports (月报/季报/年报) with their Excel workbook.

Who sees what (`handlers.workflow.scope`): management and admins count every case; a lead office (归口部门)
member counts its own ledger only (its cases, within its scope); anyone else gets 403. The stored reports are
company-wide, so they are for management and admins only. Bad parameters answer 400 with the reason.
The figures come from `handlers.stats.kpi.compute_kpis`; its definitions are shown beside each figure from
``templates/pages/console/stats/_labels.html``.
"""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.console.labels import SEVERITY_LABELS, SOURCE_LABELS
from bot.console.security import now
from bot.console.stats_workbook import report_workbook
from bot.runtime import runtime
from handlers.ledger import handling_departments
from handlers.render import render_message
from handlers.stats.access import stats_scope
from handlers.stats.kpi import (
    KpiGroup,
    Slice,
    SliceError,
    compute_kpis,
    count_kpis,
    figures,
    from_months,
    period_clauses,
    targets_for,
)
from handlers.stats.periods import Period, PeriodError, month_of, parse_period
from handlers.stats.report import stored_report, trend_period
from handlers.workflow.scope import ConsoleRole, console_roles
from storage.models import Complaint, Department, Severity, Source, Staff, StatsReport

bp = Blueprint("stats", __name__, url_prefix="/stats")
REPORT_KINDS = ("month", "quarter", "year")
PRODUCT_LIMIT = 200


def _staff(s: Session) -> Staff:
    staff = s.get(Staff, current_user.staff.id)
    if staff is None:
        abort(404)
    return staff


def may_see_reports(s: Session, staff: Staff) -> bool:
    roles = console_roles(s, staff)
    return ConsoleRole.ADMIN in roles or ConsoleRole.MANAGEMENT in roles


def nav_context() -> dict[str, Any]:
    """``may_see_stats`` for the page header's link."""
    if not current_user.is_authenticated:
        return {"may_see_stats": False}
    with runtime().db.read_sessions() as s:
        staff = s.get(Staff, current_user.staff.id)
        return {"may_see_stats": staff is not None and stats_scope(s, staff)[0]}


def _choices(s: Session) -> dict[str, Any]:
    form = runtime().settings.policy.form
    return {
        "categories": [(o.code, o.label) for o in form.options_for("category")],
        "departments": [(str(d.id), d.name) for d in handling_departments(s)],
        "severities": [(v.value, SEVERITY_LABELS[v]) for v in Severity],
        "channels": [(v.value, SOURCE_LABELS[v]) for v in Source],
    }


def _parse(choices: dict[str, Any]) -> tuple[Period, Slice, list[str]]:
    """The period and slice of the query string; errors name the field (Chinese)."""
    errors: list[str] = []
    args = request.args
    text = (args.get("period") or "").strip()
    try:
        period = parse_period(text) if text else month_of(now())
    except PeriodError:
        errors.append("统计期间格式不正确：请填写 2026-11（月）、2026-Q3（季度）、2026（年）或 2026-11-03..2026-11-20")
        period = month_of(now())

    def pick(name: str, allowed: list[tuple[str, str]], label: str) -> str | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        if value not in {code for code, _ in allowed}:
            errors.append(f"{label}不存在：{value[:20]}")
            return None
        return value

    category = pick("category", choices["categories"], "诉求类型")
    department = pick("department", choices["departments"], "承办部门")
    severity = pick("severity", choices["severities"], "严重程度")
    channel = pick("channel", choices["channels"], "投诉来源")
    product = (args.get("product") or "").strip()[:200] or None
    try:
        slice_ = Slice(category=category, department_id=int(department) if department else None,
                       severity=severity, channel=channel, product=product)
    except SliceError:  # pragma: no cover - the choices above are the allowed values
        slice_ = Slice()
    return period, slice_, errors


def _groups(per: dict[str | None, Any], targets: Any, order_by_key: bool = False) -> list[KpiGroup]:
    items = sorted(per.items(), key=lambda kv: kv[0] or "") if order_by_key else \
        sorted(per.items(), key=lambda kv: (-kv[1].received, kv[0] or ""))
    return [KpiGroup(key=k, figures=figures(c, targets), stars=dict(sorted(c.stars.items()))) for k, c in items]


@bp.get("/")
def index() -> ResponseReturnValue:
    rt = runtime()
    policy = rt.settings.policy
    moment = now()
    with rt.db.read_sessions() as s:
        staff = _staff(s)
        allowed, scope = stats_scope(s, staff)
        if not allowed:
            abort(403)
        choices = _choices(s)
        period, slice_, errors = _parse(choices)
        if errors:
            return render_template("console/stats/index.html", errors=errors, choices=choices, args=request.args,
                                   result=None, period=period, may_see_reports=may_see_reports(s, staff)), 400
        _, targets = targets_for(policy, slice_)
        counted = trend_period(period)
        per_month = count_kpis(s, counted, policy=policy, as_of=moment, slice_=slice_, scope=scope,
                               group_by="month")
        trend = _groups(per_month, targets, order_by_key=True)
        result = compute_kpis(s, period, policy=policy, as_of=moment, slice_=slice_, scope=scope,
                              total=from_months(per_month, counted, period))
        by_category = _groups(count_kpis(s, period, policy=policy, as_of=moment, slice_=slice_, scope=scope,
                                         group_by="category"), targets)
        by_department = _groups(count_kpis(s, period, policy=policy, as_of=moment, slice_=slice_, scope=scope,
                                           group_by="department"), targets)
        names = {str(i): n for i, n in s.execute(sa.select(Department.id, Department.name))}
        products = [p for (p,) in s.execute(  # the products of the period's complaints, to pick from
            sa.select(Complaint.product_name).where(Complaint.product_name.is_not(None), *period_clauses(period))
            .group_by(Complaint.product_name).order_by(Complaint.product_name).limit(PRODUCT_LIMIT))] \
            if scope is None else []
        return render_template(
            "console/stats/index.html", errors=[], choices=choices, args=request.args, result=result,
            period=period, trend=trend, by_category=by_category, by_department=by_department, as_of=moment,
            trend_rows=[(g.key or "", g.figure("received").value, g.figure("closure_rate").value) for g in trend],
            category_rows=[(policy.category_label(g.key), g.figure("received").value) for g in by_category],
            department_rows=[(names.get(g.key or "", "未交办"), g.figure("received").value) for g in by_department],
            department_names=names, products=products, scoped=scope is not None,
            may_see_reports=may_see_reports(s, staff), satisfied_score=policy.workflow.satisfied_score,
            repeat_window_days=policy.stats.repeat_window_days)


def _report_or_404(kind: str, period_key: str) -> tuple[StatsReport, Period]:
    if kind not in REPORT_KINDS:
        abort(404)
    try:
        period = parse_period(period_key, kind=kind)  # type: ignore[arg-type]
    except PeriodError:
        abort(404)
    with runtime().db.read_sessions() as s:
        if not may_see_reports(s, _staff(s)):
            abort(403)
        row = stored_report(s, period)
        if row is None:
            abort(404)
        s.expunge(row)
    return row, period


@bp.get("/reports/")
def reports() -> ResponseReturnValue:
    with runtime().db.read_sessions() as s:
        if not may_see_reports(s, _staff(s)):
            abort(403)
        rows = list(s.execute(sa.select(StatsReport.kind, StatsReport.period, StatsReport.built_at,
                                        StatsReport.notified_at)
                              .order_by(StatsReport.period.desc(), StatsReport.kind).limit(200)))
    return render_template("console/stats/reports.html", rows=rows)


@bp.get("/reports/<kind>/<period_key>")
def report(kind: str, period_key: str) -> ResponseReturnValue:
    row, period = _report_or_404(kind, period_key)
    policy = runtime().settings.policy
    return render_template("console/stats/report.html", row=row, data=row.data, period=period,
                           report_title=render_message("stats/report_card_title", report=row.data),
                           satisfied_score=policy.workflow.satisfied_score,
                           repeat_window_days=policy.stats.repeat_window_days)


@bp.get("/reports/<kind>/<period_key>.xlsx")
def report_xlsx(kind: str, period_key: str) -> ResponseReturnValue:
    row, period = _report_or_404(kind, period_key)
    policy = runtime().settings.policy
    data = report_workbook(row.data, company=policy.company.name, category_label=policy.category_label)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"report-{kind}-{period.key}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


__all__ = ["bp", "may_see_reports", "nav_context"]

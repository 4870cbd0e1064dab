"""台账: the ledger page (filters, sorting, paging) and its Excel export, both thin over `handlers.ledger`.

Which cases and how much of each a reader sees is decided there (`ledger_page`, `export_rows`,
`reader_rows`), inside `scope.scope_clause`; this module only reads the request, renders and writes the
spreadsheet. Every export is recorded in the audit trail (``export.ledger``) with its filters and row
count, and whether it carried personal data.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any, Final

from flask import Blueprint, abort, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from bot.console.labels import SEVERITY_LABELS, SOURCE_LABELS, category_label, code_labels, local_dt, status_label
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import audit
from handlers.ledger import (
    ALL_OFFICES,
    COUNT_CAP,
    DEFAULT_DESCENDING,
    MAX_ROWS,
    NO_OFFICE,
    OPEN,
    ExportTooLarge,
    LedgerPage,
    LedgerQuery,
    LedgerQueryError,
    LedgerRow,
    effective_office,
    export_rows,
    handling_departments,
    lead_offices,
    ledger_page,
)
from handlers.workflow.transitions import STATUS_LABELS
from storage.models import Severity, Source, Staff

bp = Blueprint("ledger", __name__)

EXPORT_LEDGER: Final = "export.ledger"
SORT_LABELS: Final = {"received": "受理时间", "number": "投诉编号", "due": "办结时限", "status": "状态"}


def _categories() -> list[tuple[str, str]]:
    form = runtime().settings.policy.form
    return [(o.code, o.label) for o in form.options_for("category")]


def _parse() -> LedgerQuery:
    return LedgerQuery.parse(request.args, categories=[code for code, _ in _categories()])


def _choices(s: Session) -> dict[str, Any]:
    return {
        "offices": [(ALL_OFFICES, "全部（我可查看的）"), *((d.code, d.name) for d in lead_offices(s)),
                    (NO_OFFICE, "未归口（待分类）")],
        "statuses": [(OPEN, "未办结"), *((s.value, label) for s, label in STATUS_LABELS.items())],
        "categories": _categories(),
        "severities": [(s.value, SEVERITY_LABELS[s]) for s in Severity],
        "departments": [(d.code, d.name) for d in handling_departments(s)],
        "sources": [(s.value, SOURCE_LABELS[s]) for s in Source],
        "sorts": list(SORT_LABELS.items()),
    }


def _staff(s: Session) -> Staff:
    staff = s.get(Staff, current_user.staff.id)
    if staff is None:
        abort(404)
    return staff


def _render(query: LedgerQuery | None, errors: Sequence[str] = (), status: int = 200) -> ResponseReturnValue:
    rt = runtime()
    settings = rt.settings.policy.workflow
    page: LedgerPage | None = None
    with rt.db.read_sessions() as s:
        staff = _staff(s)
        if query is not None:
            try:
                page = ledger_page(s, staff, query, now=now(), settings=settings)
            except LedgerQueryError as exc:
                errors, status = [*errors, *exc.errors], 400
        choices = _choices(s)
    query = query or LedgerQuery()
    return render_template("console/ledger.html", page=page, query=query, errors=errors, max_rows=MAX_ROWS,
                           count_cap=COUNT_CAP, office=page.office if page else (query.office or ALL_OFFICES),
                           sort_links=_sort_links(query), **choices), status


def _sort_links(query: LedgerQuery) -> dict[str, tuple[dict[str, str], str]]:
    """Per sortable column: the arguments of its header link (same column: the other direction) and an arrow."""
    links = {}
    for key in SORT_LABELS:
        current = query.sort == key
        descending = not query.descending if current else DEFAULT_DESCENDING[key]
        arrow = ("↓" if query.descending else "↑") if current else ""
        links[key] = (query.to_args(sort=key, descending=descending, page=1), arrow)
    return links


@bp.get("/ledger")
def index() -> ResponseReturnValue:
    try:
        query = _parse()
    except LedgerQueryError as exc:
        return _render(None, exc.errors, 400)
    return _render(query)


# -- the spreadsheet -------------------------------------------------------------------------------

def _yes_no(value: bool | None) -> str | None:
    return None if value is None else "是" if value else "否"


def _codes(kind: str) -> Callable[[Any], str | None]:
    return lambda value: None if value in (None, []) else code_labels(value, kind)


def _detail(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[[LedgerRow], Any]:
    return lambda row: convert(row.details.get(name))


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


# The ledger columns of DOMAIN.md ("The complaint record (台账 columns)"), in the order of the paper ledger.
COLUMNS: Final[tuple[tuple[str, int, Callable[[LedgerRow], Any]], ...]] = (
    ("投诉编号", 11, lambda r: r.number),
    ("受理时间", 17, lambda r: local_dt(r.received_at)),
    ("登记时间", 17, _detail("registered_at", local_dt)),
    ("投诉来源", 10, lambda r: SOURCE_LABELS.get(r.source, str(r.source))),
    ("投诉人（单位/姓名）", 20, lambda r: r.complainant),
    ("联系人", 10, lambda r: r.contact_person),
    ("联系电话", 15, lambda r: r.phone),
    ("单位/地址", 24, lambda r: r.address),
    ("诉求类型", 10, lambda r: category_label(r.category)),
    ("产品名称", 14, _detail("product_name")),
    ("规格型号", 12, _detail("spec_model")),
    ("生产批次", 12, _detail("batch")),
    ("购买日期", 11, _detail("purchase_date", _date)),
    ("数量", 8, lambda r: None if r.details.get("quantity") is None else
     f"{format(r.details['quantity'].normalize(), 'f')}{r.details.get('quantity_unit') or ''}"),
    ("问题类型", 12, _detail("problem_type", _codes("problem_type"))),
    ("投诉内容", 40, _detail("description")),
    ("使用场景", 20, _detail("usage_scenario")),
    ("损失情况", 20, _detail("loss")),
    ("诉求", 14, _detail("demands", _codes("demand"))),
    ("是否有效", 8, _detail("is_valid", _yes_no)),
    ("无效原因", 20, _detail("invalid_reason")),
    ("严重程度", 8, lambda r: SEVERITY_LABELS.get(r.severity, str(r.severity))),
    ("紧急", 6, lambda r: _yes_no(r.urgent)),
    ("状态", 10, lambda r: status_label(r.status)),
    ("归口部门", 12, lambda r: r.lead_office),
    ("承办部门", 12, lambda r: r.handling_department),
    ("责任人", 10, lambda r: r.responsible),
    ("原因分析", 12, _detail("cause", _codes("cause"))),
    ("责任认定", 10, _detail("responsibility", _codes("responsibility"))),
    ("责任类型", 10, _detail("responsibility_type", _codes("responsibility_type"))),
    ("责任部门", 12, _detail("responsible_department")),
    ("处置措施", 16, _detail("measures", _codes("measure"))),
    ("金额（元）", 10, _detail("amount", lambda v: None if v is None else format(v, "f"))),
    ("办结时限", 17, lambda r: local_dt(r.due_at) if r.due_at else None),
    ("下一时限", 30, lambda r: f"{r.next_due_label} {local_dt(r.next_due_at)}" if r.next_due_label else None),
    ("是否超时", 8, lambda r: _yes_no(r.overdue)),
    ("处理结果", 30, _detail("result_text")),
    ("满意度（星）", 8, _detail("satisfaction_stars")),
    ("满意度评分", 8, _detail("satisfaction_score")),
    ("客户评价", 20, _detail("satisfaction_comment")),
    ("重开次数", 8, _detail("reopen_count")),
    ("办结时间", 17, _detail("closed_at", lambda v: local_dt(v) if v else None)),
    ("保存期限", 11, _detail("retain_until", _date)),
)


def _cell(sheet: Any, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text a customer typed ("=HYPERLINK(…)") is never a formula in the sheet
    if bold:
        cell.font = Font(bold=True)
    return cell


def workbook(rows: Sequence[LedgerRow], *, title: str, filters: str) -> bytes:
    """The rows as an .xlsx file: a title line, the filters, the header, one line per case."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    for i, (_, width, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "B4"
    sheet.append([_cell(sheet, title, bold=True)])
    sheet.append([_cell(sheet, filters)])
    sheet.append([_cell(sheet, name, bold=True) for name, _, _ in COLUMNS])
    for row in rows:
        sheet.append([_cell(sheet, value(row)) for _, _, value in COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _filters_text(query: LedgerQuery, office: str, offices: dict[str, str]) -> str:
    parts = [f"台账：{offices.get(office, office)}"]
    shown = {"status": "状态", "category": "诉求类型", "severity": "严重程度", "department": "承办部门",
             "source": "投诉来源", "from": "受理日期起", "to": "受理日期止", "q": "关键词", "number": "投诉编号",
             "overdue": "仅超时"}
    args = query.to_args(page=1)
    parts += [f"{label}：{args[key]}" for key, label in shown.items() if key in args]
    return "筛选条件：" + "；".join(parts)


@bp.get("/ledger.xlsx")
def export() -> ResponseReturnValue:
    try:
        query = _parse()
    except LedgerQueryError as exc:
        return _render(None, exc.errors, 400)
    rt = runtime()
    settings = rt.settings.policy.workflow
    moment = now()
    with rt.db.transaction() as s:
        staff = _staff(s)
        try:
            rows = export_rows(s, staff, query, now=moment, settings=settings)
        except ExportTooLarge as exc:
            failure: LedgerQueryError | None = exc
        except LedgerQueryError as exc:
            failure = exc
        else:
            failure = None
        if failure is None:
            office = effective_office(s, staff, query)
            offices = dict(_choices(s)["offices"])
            personal = any(r.identity_shown or r.full_phone_shown for r in rows)
            audit.record(s, EXPORT_LEDGER, now=moment, origin=origin(), actor=staff, subject="ledger.xlsx",
                         personal_data=personal,
                         details={"filters": query.to_args(page=1), "office": office, "rows": len(rows)})
            data = workbook(rows, title=f"{rt.settings.policy.company.name} 投诉台账（导出于 {local_dt(moment)}）",
                            filters=_filters_text(query, office, offices))
    if failure is not None:
        return _render(query, failure.errors, 400)
    stamp = local_dt(moment).replace("-", "").replace(":", "").replace(" ", "-")
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"ledger-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

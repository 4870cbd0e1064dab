"""A stored period report (handlers/stats/report.py) as an Excel workbook, with charts (openpyxl).

Sheets: 概览 (every figure with its working, target, the previous period and the same period a year before,
and its definition), 部门 (the per-department table), 诉求类型, 趋势 (twelve months, with a bar chart of the
complaints received and a line chart of the closure and satisfaction rates), 主要问题, 超时案件, 低分案件.
Every text cell is written as text, so nothing in the data can become a formula. The KPI names and definitions
come from ``templates/pages/console/stats/_labels.html``, the one place they are written in Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from templates import TEMPLATE_DIR

LABELS_TEMPLATE = "pages/console/stats/_labels.html"


@cache
def _labels_module() -> Any:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True)
    return env.get_template(LABELS_TEMPLATE).module


def kpi_labels() -> dict[str, list[str]]:
    """KPI key → [name, unit, definition] (Chinese), from the labels template."""
    return dict(_labels_module().KPI)


def period_kind_labels() -> dict[str, str]:
    return dict(_labels_module().PERIOD_KINDS)


def _figures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["key"]: f for f in result["figures"]}


def _value(figure: dict[str, Any] | None) -> Any:
    return None if figure is None else figure.get("value")


def _text(sheet: Worksheet, value: Any, *, bold: bool = False) -> Cell:
    cell = Cell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def _table(sheet: Worksheet, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.append([_text(sheet, h, bold=True) for h in header])
    for row in rows:
        sheet.append([_text(sheet, v) for v in row])


def _delta(now: Any, before: Any) -> Any:
    if isinstance(now, int | float) and isinstance(before, int | float):
        return round(now - before, 2)
    return None


def _target(figure: dict[str, Any]) -> str:
    if figure.get("target") is None:
        return ""
    sign = "≥" if figure.get("direction") == "min" else "≤"
    return f"{sign}{figure['target']:g}"


def _met(figure: dict[str, Any]) -> str:
    met = figure.get("met")
    return "" if met is None else ("达标" if met else "未达标")


def report_workbook(data: dict[str, Any], *, company: str,
                    category_label: Callable[[str | None], str]) -> bytes:
    """The workbook of one stored report (``StatsReport.data``)."""
    labels = kpi_labels()
    departments: dict[str, str] = data.get("departments", {})
    kinds = period_kind_labels()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "概览"
    sheet.append([_text(sheet, f"{company} 投诉统计{kinds.get(data['kind'], '')}报表", bold=True)])
    sheet.append([_text(sheet, f"统计期间：{data['start']} 至 {data['end']}；统计时点（UTC）：{data['built_at']}")])
    current, previous, last_year = (_figures(data[k]) for k in ("current", "previous", "last_year"))
    rows = []
    for key, figure in current.items():
        name, unit, definition = labels[key]
        rows.append([name, unit, figure["value"], figure.get("numerator"), figure.get("denominator"),
                     _target(figure), _met(figure), _value(previous.get(key)),
                     _delta(figure["value"], _value(previous.get(key))), _value(last_year.get(key)),
                     _delta(figure["value"], _value(last_year.get(key))), definition])
    _table(sheet, ["指标", "单位", "本期", "分子", "分母", "目标", "是否达标", "上期", "环比增减", "去年同期",
                   "同比增减", "定义"], rows, [16, 8, 10, 8, 8, 8, 8, 10, 10, 10, 10, 80])

    group_keys = ["received", "closed", "closure_rate", "avg_handling_days", "p90_handling_days", "response_rate",
                  "on_time_rate", "satisfaction_rate", "average_score", "unrated", "repeat_rate", "reopened",
                  "overdue"]
    header = [labels[k][0] for k in group_keys]

    def groups_sheet(title: str, first: str, groups: list[dict[str, Any]], name: Callable[[Any], str]) -> None:
        ws = book.create_sheet(title)
        body = []
        for group in groups:
            figures = _figures(group)
            body.append([name(group["key"]), *[figures[k]["value"] for k in group_keys]])
        _table(ws, [first, *header], body, [18, *[10] * len(group_keys)])

    groups_sheet("部门", "承办部门", data["current"]["groups"],
                 lambda k: departments.get(str(k), "未交办") if k is not None else "未交办")
    groups_sheet("诉求类型", "诉求类型", data["by_category"], category_label)
    groups_sheet("趋势", "月份", data["trend"], lambda k: str(k))
    trend = book["趋势"]
    n = len(data["trend"])
    if n:
        bars = BarChart()
        bars.title = "受理量（件）"
        bars.add_data(Reference(trend, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
        bars.set_categories(Reference(trend, min_col=1, min_row=2, max_row=n + 1))
        bars.height, bars.width = 8, 18
        trend.add_chart(bars, f"A{n + 4}")
        lines = LineChart()
        lines.title = "办结率与满意率（%）"
        lines.add_data(Reference(trend, min_col=4, min_row=1, max_row=n + 1), titles_from_data=True)
        lines.add_data(Reference(trend, min_col=9, min_row=1, max_row=n + 1), titles_from_data=True)
        lines.set_categories(Reference(trend, min_col=1, min_row=2, max_row=n + 1))
        lines.height, lines.width = 8, 18
        trend.add_chart(lines, f"A{n + 22}")

    ws = book.create_sheet("主要问题")
    _table(ws, ["诉求类型", "问题类型", "件数"],
           [[category_label(p["category"]), p["problem_type"] or "", p["count"]] for p in data["top_problems"]],
           [16, 16, 8])
    ws = book.create_sheet("超时案件")
    _table(ws, ["投诉编号", "诉求类型", "承办部门", "收到时间", "逾期时限", "到期时间"],
           [[c["number"], category_label(c["category"]), departments.get(str(c["department_id"]), ""),
             c["received"], c["deadline"], c["due"]] for c in data["overdue_cases"]], [12, 14, 14, 17, 16, 17])
    ws = book.create_sheet("低分案件")
    _table(ws, ["投诉编号", "诉求类型", "承办部门", "收到时间", "星级", "评分"],
           [[c["number"], category_label(c["category"]), departments.get(str(c["department_id"]), ""),
             c["received"], c["stars"], c["score"]] for c in data["low_score_cases"]], [12, 14, 14, 17, 6, 6])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["kpi_labels", "period_kind_labels", "report_workbook"]

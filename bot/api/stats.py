"""``/api/v1/stats``: the KPIs of a period and slice, as the console's 统计 page counts them.

The figures are `handlers.stats.kpi.compute_kpis` (definitions there, in the README and beside each figure in
the console); who may read them and what they count is `handlers.stats.access.stats_scope` (management and
admins: every case; a lead office: its ledger; anyone else 403). Departments are named by their org-chart
code, as everywhere in the API.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from bot.api.auth import blueprint, caller
from bot.api.complaints import SeverityCode, SourceCode
from bot.api.errors import ApiError, ErrorModel, invalid
from bot.runtime import runtime
from handlers.render import render_message
from handlers.stats.access import stats_scope
from handlers.stats.kpi import Slice, compute_kpis
from handlers.stats.periods import PeriodError, month_of, parse_period
from storage.models import Department

bp = blueprint("stats", "stats", "统计")


class StatsQuery(BaseModel):
    period: str | None = Field(None, max_length=40, description="2026-11（月）、2026-Q3（季度）、2026（年）或 "
                                                                "2026-11-03..2026-11-20；默认本月（Asia/Shanghai）")
    category: str | None = Field(None, max_length=64, description="诉求类型代码")
    department: str | None = Field(None, max_length=64, description="承办部门代码")
    severity: SeverityCode | None = None
    channel: SourceCode | None = Field(None, description="投诉来源")
    product: str | None = Field(None, max_length=200)
    group_by: Literal["month", "category", "department", "severity", "channel", "product"] | None = Field(
        None, description="同时按此分组给出各组的指标（department 组以部门 id 为键）")


class FigureModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="指标：received、closure_rate、satisfaction_rate…（定义见 README）")
    unit: str = Field(description="% | days | score | count")
    value: float | None
    numerator: int | None = None
    denominator: int | None = None
    target: float | None = None
    direction: str | None = Field(None, description="min：达到目标；max：不超过目标")
    met: bool | None = None


class GroupModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str | None
    figures: list[FigureModel]
    stars: dict[int, int]


class StatsResult(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    period: str
    period_kind: str
    start: str = Field(description="第一天（含）")
    end: str = Field(description="最后一天（含）")
    as_of: str = Field(description="统计时刻（UTC）")
    slice: dict[str, Any]
    targets_preset: str
    figures: list[FigureModel]
    stars: dict[int, int] = Field(description="评价星级分布")
    handling_days: dict[int, int] = Field(description="已办结投诉的处理工作日分布")
    group_by: str | None = None
    groups: list[GroupModel] = []


@bp.get("/stats", operation_id="get_stats", summary="统计指标（期间、切片、分组）",
        responses={200: StatsResult, 403: ErrorModel})
def get_stats(query: StatsQuery) -> Any:
    rt = runtime()
    policy = rt.settings.policy
    moment = rt.clock()
    try:
        period = parse_period(query.period.strip()) if query.period and query.period.strip() else month_of(moment)
    except PeriodError:
        raise invalid("period", kind="period") from None
    categories = {o.code for o in policy.form.options_for("category")}
    if query.category is not None and query.category not in categories:
        raise invalid("category", kind="enum")
    with rt.db.read_sessions() as s:
        staff = caller(s)
        allowed, scope = stats_scope(s, staff)
        if not allowed:
            raise ApiError(403, "forbidden", reason=render_message("api/stats_forbidden"))
        department_id = None
        if query.department is not None:
            department_id = s.scalar(sa.select(Department.id).where(Department.code == query.department))
            if department_id is None:
                raise invalid("department", kind="department")
        slice_ = Slice(category=query.category, department_id=department_id, severity=query.severity,
                       channel=query.channel, product=query.product or None)
        result = compute_kpis(s, period, policy=policy, as_of=moment, slice_=slice_, scope=scope,
                              group_by=query.group_by)
    return StatsResult.model_validate(result).model_dump(mode="json")


__all__ = ["bp"]

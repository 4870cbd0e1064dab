"""The printable 《客户投诉处理闭环管理单》 of one case (seed 004's form), filled from the record.

``/console/cases/<number>/print``: the form's fields (受理部门, 诉求类型, 服务对象, 联系电话, 投诉来源, 投诉时间,
单位/地址, 诉求事项, 受理内容, 处理结果 with the handling department's seal and signature) plus what the closed
loop adds (受理, 交办, 调查, 处置, 反馈, 回访, 满意度, 办结), on one A4 page (bot/static/print.css).

The same rules as the case page: a case outside the reader's scope is a 404, the complainant's identity and
phone are shown or masked per `personal_data_access` (the case page's :class:`~bot.console.cases.Masker`),
and every print is recorded in the audit trail as ``export.print`` (paper leaves the system).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.console.cases import Masker
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import audit
from handlers.workflow.scope import find_visible, personal_data_access
from storage.models import (
    Attachment,
    Complaint,
    Department,
    FollowUp,
    Investigation,
    Plan,
    Staff,
    TimelineEvent,
)

bp = Blueprint("print", __name__, url_prefix="/cases")


@dataclass(frozen=True)
class Step:
    """When a step of the closed loop happened and who did it (from the timeline), for the form."""

    at: Any = None
    by: str | None = None


def _rows(session: Session, model: Any, complaint: Complaint) -> list[Any]:
    return list(session.scalars(sa.select(model).where(model.complaint_id == complaint.id).order_by(model.id)))


def _steps(events: list[TimelineEvent]) -> dict[str, Step]:
    """受理 (registration, then triage), 交办 (the latest assignment), 反馈, 办结: the latest of each."""
    steps: dict[str, Step] = {}
    kinds = {"registered": "registered", "triage": "triaged", "assign": "assigned", "reassign": "assigned",
             "feed_back_result": "fed_back", "close": "closed", "mark_invalid": "closed"}
    for event in events:
        kind = kinds.get(event.action)
        if kind is not None:
            steps[kind] = Step(at=event.at, by=(event.details or {}).get("by"))
    return steps


def _names(session: Session, model: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.scalars(sa.select(model).where(model.id.in_(wanted)))}


@bp.get("/<number>/print")
def form(number: str) -> ResponseReturnValue:
    rt = runtime()
    staff_id = current_user.staff.id
    with rt.db.transaction() as s:
        staff = s.get(Staff, staff_id)
        complaint = find_visible(s, staff, number=number) if staff is not None else None
        if staff is None or complaint is None:
            abort(404)
        access = personal_data_access(s, staff, complaint, rt.settings.policy.workflow)
        investigations = _rows(s, Investigation, complaint)
        plans = _rows(s, Plan, complaint)
        follow_ups = _rows(s, FollowUp, complaint)
        page = {
            "complaint": complaint,
            "masker": Masker(access),
            "access": access,
            "company": rt.settings.policy.company.name,
            "investigation": investigations[-1] if investigations else None,
            "plan": plans[-1] if plans else None,
            "follow_ups": follow_ups,
            "attachment_count": len(_rows(s, Attachment, complaint)),
            "steps": _steps(_rows(s, TimelineEvent, complaint)),
            "departments": _names(s, Department, {
                complaint.lead_office_id, complaint.handling_department_id,
                *(i.responsible_department_id for i in investigations),
                *(p.responsible_department_id for p in plans)}),
            "staff_names": _names(s, Staff, {complaint.responsible_staff_id, *(v.staff_id for v in follow_ups)}),
            "printed_at": now(),
            "printed_by": staff.name,
        }
        audit.record(s, audit.EXPORT_PRINT, now=now(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=access.any,
                     details={"identity": access.identity, "full_phone": access.full_phone})
    return render_template("console/print.html", **page)


__all__ = ["bp"]

"""The case page (案件详情), read-only for now: every field, masked per the reader, and the timeline.

A case outside the reader's scope answers 404, exactly like a number that does not exist, so the edge of
the scope cannot be probed. Each view is recorded in the audit trail (``case.viewed``), with whether
the complainant's identity or full phone number was shown (issue 12 asks who saw personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import audit
from handlers.privacy import mask_openid, mask_phone, mask_phones_in
from handlers.workflow.scope import PersonalDataAccess, find_visible, personal_data_access
from storage.models import (
    Attachment,
    Complaint,
    Deadline,
    Department,
    Extension,
    FollowUp,
    Investigation,
    Plan,
    Staff,
    TimelineEvent,
)

bp = Blueprint("cases", __name__, url_prefix="/cases")

HIDDEN: Final = "（保密）"
# Fields that say who complained; shown only with PersonalDataAccess.identity.
IDENTITY_FIELDS: Final = frozenset({"complainant_name", "contact_person", "phone", "phone_ext", "address", "openid"})
# Free text a customer or staff member typed, which may hold a phone number.
FREE_TEXT_FIELDS: Final = frozenset(
    {"description", "usage_scenario", "loss", "result_text", "satisfaction_comment", "invalid_reason"}
)
_TIMELINE_SKIP: Final = frozenset({"from", "to", "by", "sla_events"})


@dataclass(frozen=True)
class Masker:
    """Applies one reader's `PersonalDataAccess` to values on the page."""

    access: PersonalDataAccess

    def identity(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        return value if self.access.identity else HIDDEN

    def phone(self, value: str | None) -> str | None:
        if not value:
            return None
        if not self.access.identity:
            return HIDDEN
        return value if self.access.full_phone else mask_phone(value)

    def text(self, value: Any) -> Any:
        if not isinstance(value, str) or self.access.full_phone:
            return value
        return mask_phones_in(value)

    def field(self, name: str, value: Any) -> Any:
        if name == "openid":
            return self.identity(mask_openid(value) if value else None)
        if name == "phone":
            return self.phone(value)
        if name in IDENTITY_FIELDS:
            return self.identity(value)
        return self.text(value)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}: {_value_text(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def timeline_rows(events: list[TimelineEvent], masker: Masker) -> list[dict[str, Any]]:
    """Each event with its details as (field, text) pairs, identity hidden and phones masked per reader."""
    rows = []
    for event in events:
        details = event.details or {}
        items: list[tuple[str, str]] = []
        for key, value in details.items():
            if key in _TIMELINE_SKIP:
                continue
            if key == "changes" and isinstance(value, dict):
                for field, change in value.items():
                    if field in IDENTITY_FIELDS and not masker.access.identity:
                        items.append((field, HIDDEN))
                    elif isinstance(change, dict):
                        before = masker.field(field, change.get("before"))
                        after = masker.field(field, change.get("after"))
                        items.append((field, f"{_value_text(before)} → {_value_text(after)}"))
                continue
            shown = masker.field(key, value) if key in IDENTITY_FIELDS else value
            items.append((key, masker.text(_value_text(shown))))
        rows.append({"event": event, "by": details.get("by"), "from": details.get("from"), "to": details.get("to"),
                     "details": items})
    return rows


def _rows(session: Session, model: Any, complaint: Complaint) -> list[Any]:
    return list(session.scalars(sa.select(model).where(model.complaint_id == complaint.id).order_by(model.id)))


def _names(session: Session, model: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row.name for row in session.scalars(sa.select(model).where(model.id.in_(wanted)))}


@bp.get("/<number>")
def show(number: str) -> ResponseReturnValue:
    rt = runtime()
    settings = rt.settings.policy.workflow
    staff_id = current_user.staff.id
    with rt.db.transaction() as s:
        staff = s.get(Staff, staff_id)
        if staff is None:
            abort(404)
        complaint = find_visible(s, staff, number=number)
        if complaint is None:
            abort(404)
        access = personal_data_access(s, staff, complaint, settings)
        masker = Masker(access)
        investigations = _rows(s, Investigation, complaint)
        plans = _rows(s, Plan, complaint)
        page = {
            "complaint": complaint,
            "masker": masker,
            "access": access,
            "deadlines": _rows(s, Deadline, complaint),
            "investigations": investigations,
            "plans": plans,
            "extensions": _rows(s, Extension, complaint),
            "follow_ups": _rows(s, FollowUp, complaint),
            "attachments": _rows(s, Attachment, complaint),
            "timeline": timeline_rows(_rows(s, TimelineEvent, complaint), masker),
            "departments": _names(s, Department, {
                complaint.lead_office_id, complaint.handling_department_id,
                *(i.responsible_department_id for i in investigations),
                *(p.responsible_department_id for p in plans)}),
            "staff_names": _names(s, Staff, {complaint.responsible_staff_id, complaint.complained_staff_id}),
        }
        audit.record(s, audit.CASE_VIEWED, now=now(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=access.any,
                     details={"identity": access.identity, "full_phone": access.full_phone})
    return render_template("console/case.html", **page)

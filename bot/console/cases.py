"""The case page (案件详情): every field, masked per the reader, the deadlines, the evidence, the timeline,
and a form for each action the reader may take now.

A case outside the reader's scope answers 404, exactly like a number that does not exist, so the edge of
the scope cannot be probed. Each view is recorded in the audit trail (``case.viewed``), with whether
the complainant's identity or full phone number was shown (issue 12 asks who saw personal data); so is
each evidence file served (``attachment.viewed``: it is the complainant's material).

Acting (POST ``/console/cases/<number>/actions/<action>``): the actions offered are
`handlers.workflow.available.available_actions` (the case's state AND the reader's role); each form posts
to the existing operation (`bot.console.forms.ACTIONS`). The view owns the transaction: it locks the
complaint first (the lock order), checks the form's version (optimistic concurrency), runs the operation
and commits; on any refusal everything is rolled back and the page is shown again with the Chinese
reason on the form and the input kept:

* 404 — outside the reader's scope (or no such case/action);
* 409 — someone else changed the case since the page was shown (该投诉已被他人更新，请刷新后重试);
* 403 — in scope, but the reader may not do this action to this case, in any state (`PermissionDenied`:
  role, department, read-only…); checked before the state, so a viewer always gets 403;
* 422 — the reader may, but not now or not like this (the state, a missing field, an earlier step).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.console.forms import ACTIONS, ActionForm, Choices, form_action, make_form
from bot.console.labels import STAFF_IDS, DetailWords
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import audit, evidence
from handlers.config import CompanyPolicy
from handlers.privacy import mask_openid
from handlers.workflow.available import available_actions, run_action
from handlers.workflow.errors import CaseChanged, PermissionDenied, WorkflowError
from handlers.workflow.scope import HIDDEN, PersonalDataAccess, find_visible, personal_data_access
from handlers.workflow.time_left import deadline_rows
from handlers.workflow.transitions import Action
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

ATTACHMENT_VIEWED: Final = "attachment.viewed"
STALE: Final = "该投诉已被他人更新，请刷新后重试"

bp = Blueprint("cases", __name__, url_prefix="/cases")

# Fields that say who complained; shown only with PersonalDataAccess.identity.
IDENTITY_FIELDS: Final = frozenset({"complainant_name", "contact_person", "phone", "phone_ext", "address", "openid"})
# Free text a customer or staff member typed, which may hold a phone number.
FREE_TEXT_FIELDS: Final = frozenset(
    {"description", "usage_scenario", "loss", "result_text", "satisfaction_comment", "invalid_reason"}
)
# Shown in the event's head (from, to, by), or the deadline bookkeeping's own (sla_events, sla_at); a
# breach's ``milestone`` is named by its ``label`` beside it.
_TIMELINE_SKIP: Final = frozenset({"from", "to", "by", "sla_events", "sla_at", "milestone"})


@dataclass(frozen=True)
class Masker:
    """A reader's `PersonalDataAccess` applied to a record's fields by name (the rule itself is the access's)."""

    access: PersonalDataAccess

    def identity(self, value: Any) -> Any:
        return self.access.who(value) if isinstance(value, str) or value is None else value

    def phone(self, value: str | None) -> str | None:
        return self.access.phone(value)

    def text(self, value: Any) -> Any:
        return self.access.text(value) if isinstance(value, str) else value

    def field(self, name: str, value: Any) -> Any:
        if name == "openid":
            return self.identity(mask_openid(value) if value else None)
        if name == "phone":
            return self.phone(value)
        if name in IDENTITY_FIELDS:
            return self.identity(value)
        return self.text(value)


def detail_words(session: Session, complaint: Complaint, events: list[TimelineEvent],
                 policy: CompanyPolicy) -> DetailWords:
    """The names the events' details point at: the case's preset, every department, the staff they name."""
    staff_ids: set[int | None] = set()
    for event in events:
        details = event.details or {}
        pairs = [*details.items(), *((k, c.get(x)) for k, c in (details.get("changes") or {}).items()
                                     if isinstance(c, dict) for x in ("before", "after"))]
        staff_ids |= {v for k, v in pairs if k in STAFF_IDS and isinstance(v, int)}
    departments: dict[int | str, str] = {}
    for dept_id, code, name in session.execute(sa.select(Department.id, Department.code, Department.name)):
        departments[dept_id] = departments[code] = name
    return DetailWords(preset=policy.workflow.presets.get(complaint.sla_preset or ""), departments=departments,
                       staff=_names(session, Staff, staff_ids))


def timeline_rows(events: list[TimelineEvent], masker: Masker, words: DetailWords) -> list[dict[str, Any]]:
    """Each event with its details as (field, text) pairs, in the words of `DetailWords`, identity hidden and
    phones masked per reader."""
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
                        before = words.text(field, masker.field(field, change.get("before")))
                        after = words.text(field, masker.field(field, change.get("after")))
                        items.append((field, f"{before} → {after}"))
                continue
            shown = masker.field(key, value) if key in IDENTITY_FIELDS else value
            items.append((key, masker.text(words.text(key, shown))))
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


@dataclass
class Failure:
    """A refused action, shown on the page again: which form, its input, why, and the HTTP status."""

    action: Action
    form: ActionForm | None
    message: str
    status: int
    field: str | None = None


def _action_forms(session: Session, staff: Staff, complaint: Complaint,
                  failure: Failure | None) -> list[dict[str, Any]]:
    """One entry per form to show (both plan actions share one form), the failed one with its input."""
    categories = [(o.code, o.label) for o in runtime().settings.policy.form.options_for("category")]
    choices = Choices.load(session, complaint, categories)
    shown: list[dict[str, Any]] = []
    seen: set[Action] = set()
    for action in available_actions(session, staff, complaint):
        key = form_action(action)
        if key in seen:
            continue
        seen.add(key)
        failed = failure is not None and failure.action is key and failure.form is not None
        form = failure.form if failed and failure is not None else make_form(key, complaint, choices)
        shown.append({"action": key, "label": key.label, "button": ACTIONS[key].button, "form": form,
                      "error": failure.message if failed and failure is not None else None,
                      "error_field": failure.field if failed and failure is not None else None})
    return shown


def _render_case(number: str, *, failure: Failure | None = None) -> ResponseReturnValue:
    rt = runtime()
    policy = rt.settings.policy
    staff_id = current_user.staff.id
    with rt.db.transaction() as s:
        staff = s.get(Staff, staff_id)
        if staff is None:
            abort(404)
        complaint = find_visible(s, staff, number=number)
        if complaint is None:
            abort(404)
        access = personal_data_access(s, staff, complaint, policy.workflow)
        masker = Masker(access)
        investigations = _rows(s, Investigation, complaint)
        plans = _rows(s, Plan, complaint)
        deadlines = _rows(s, Deadline, complaint)
        events = _rows(s, TimelineEvent, complaint)
        page = {
            "complaint": complaint,
            "masker": masker,
            "access": access,
            "deadlines": deadline_rows(s, complaint, deadlines, now(), policy),
            "investigations": investigations,
            "plans": plans,
            "extensions": _rows(s, Extension, complaint),
            "follow_ups": _rows(s, FollowUp, complaint),
            "attachments": [(a, stored_file(a) is not None, evidence.failure_reason(a))
                            for a in _rows(s, Attachment, complaint)],
            "timeline": timeline_rows(events, masker, detail_words(s, complaint, events, policy)),
            "departments": _names(s, Department, {
                complaint.lead_office_id, complaint.handling_department_id,
                *(i.responsible_department_id for i in investigations),
                *(p.responsible_department_id for p in plans)}),
            "staff_names": _names(s, Staff, {complaint.responsible_staff_id, complaint.complained_staff_id}),
            "actions": _action_forms(s, staff, complaint, failure),
            "failure": failure,
        }
        audit.record(s, audit.CASE_VIEWED, now=now(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=access.any,
                     details={"identity": access.identity, "full_phone": access.full_phone})
    return render_template("console/case.html", **page), failure.status if failure is not None else 200


@bp.get("/<number>")
def show(number: str) -> ResponseReturnValue:
    return _render_case(number)


class _FormInvalid(Exception):
    """The browser sent something the form itself refuses (a type, a length): shown like a domain error."""


@bp.post("/<number>/actions/<action_code>")
def act(number: str, action_code: str) -> ResponseReturnValue:
    """Do one action on the case: lock, check the version, check the action is available, run it, commit."""
    try:
        action = Action(action_code)
    except ValueError:
        abort(404)
    if action not in ACTIONS or form_action(action) is not action:  # one URL per form
        abort(404)
    rt = runtime()
    ctx = rt.context()
    staff_id = current_user.staff.id
    form: ActionForm | None = None
    try:
        with rt.db.transaction() as s:
            staff = s.get(Staff, staff_id)
            visible = find_visible(s, staff, number=number) if staff is not None else None
            if staff is None or visible is None:
                abort(404)
            categories = [(o.code, o.label) for o in rt.settings.policy.form.options_for("category")]
            bound = form = make_form(action, visible, Choices.load(s, visible, categories), bound=True)

            def perform(complaint: Complaint) -> None:
                if not bound.validate():
                    raise _FormInvalid
                ACTIONS[action].perform(s, staff, complaint, ctx, bound)

            run_action(s, staff, visible.id, action, form.seen_version(), perform, same=form_action)
    except CaseChanged:
        return _render_case(number, failure=Failure(action, form, STALE, 409))
    except PermissionDenied as exc:
        return _render_case(number, failure=Failure(action, form, str(exc), 403))
    except WorkflowError as exc:
        return _render_case(number, failure=Failure(action, form, str(exc), 422, getattr(exc, "field", None)))
    except _FormInvalid:
        return _render_case(number, failure=Failure(action, form, "请检查表单中标出的内容", 422))
    flash(f"已完成：{action.label}", "success")
    return redirect(url_for("console.cases.show", number=number))


# -- evidence ----------------------------------------------------------------------------------------


def attachment_root() -> Path:
    """Where downloaded evidence files live (``TOUSU_ATTACHMENT_DIR``, default ``instance/attachments``)."""
    return Path(current_app.config.get("TOUSU_ATTACHMENT_DIR") or "instance/attachments").resolve()


def stored_file(attachment: Attachment) -> Path | None:
    """The attachment's file on this server, if one was downloaded (``meta["path"]``, relative to the
    attachment root); None when only WeChat's media id / picture URL is known, or the path leaves the root."""
    relative = (attachment.meta or {}).get("path")
    if not isinstance(relative, str) or not relative:
        return None
    root = attachment_root()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@bp.get("/<number>/attachments/<int:attachment_id>")
def attachment(number: str, attachment_id: int) -> ResponseReturnValue:
    """One evidence file of a case in the reader's scope (404 otherwise, and 404 until it is downloaded)."""
    rt = runtime()
    staff_id = current_user.staff.id
    with rt.db.transaction() as s:
        staff = s.get(Staff, staff_id)
        complaint = find_visible(s, staff, number=number) if staff is not None else None
        found = s.get(Attachment, attachment_id) if complaint is not None else None
        if complaint is None or found is None or found.complaint_id != complaint.id:
            abort(404)
        path = stored_file(found)
        if path is None:
            abort(404)
        audit.record(s, ATTACHMENT_VIEWED, now=now(), origin=origin(), actor=staff, complaint=complaint,
                     personal_data=True, details={"attachment_id": found.id, "kind": found.kind.value})
        kind = found.kind.value
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    inline = kind in ("image", "voice", "video") and mimetype.split("/")[0] in ("image", "audio", "video")
    return send_file(path, mimetype=mimetype if inline else "application/octet-stream", as_attachment=not inline,
                     download_name=f"{number}-{attachment_id}{path.suffix}", max_age=0)

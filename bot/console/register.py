"""Manual registration (人工登记, ``/console/cases/new``): a complaint taken by phone, letter, visit, 12345…

The fields are the intake form's (the policy's ``[form]``: steps, option lists, conditions), read by the
intake's own parsers (`handlers.intake.manual.read_entry`), and the complaint is registered by the same
function as a WeChat complaint (`handlers.intake.submit.register_complaint`): numbered, classified,
routed, deadlines opened from the REAL received time. Only the intake role, lead offices and admins may
register (403 for anyone else, in Chinese).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.i18n import get_translations
from wtforms.validators import InputRequired, Length

from bot.console.forms import options
from bot.console.labels import SOURCE_LABELS
from bot.runtime import runtime
from handlers.intake.form import Step
from handlers.intake.manual import MANUAL_SOURCES, ManualEntry, may_register, read_entry, register_manual
from handlers.intake.submit import IncompleteDraft
from handlers.workflow.errors import PermissionDenied, WorkflowError
from handlers.workflow.scope import find_visible
from storage.base import SHANGHAI
from storage.models import Staff

bp = Blueprint("register", __name__, url_prefix="/cases")

STEP_PREFIX: Final = "step-"
_ZH: Final = get_translations(["zh"])


class RegisterForm(FlaskForm):
    """The fields manual registration adds to the intake form's: channel, real received time, a note."""

    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _ZH

    source = SelectField("投诉来源", choices=options((s.value, SOURCE_LABELS[s]) for s in MANUAL_SOURCES),
                         default="phone", validate_choice=False)
    received_at = DateTimeLocalField("收到时间（来电/来信/来访的实际时间）",
                                     validators=[InputRequired("请填写收到时间")])
    note = TextAreaField("登记备注（仅内部可见）", validators=[Length(max=2000)])


def _staff_id() -> int:
    return int(current_user.staff.id)


def _may_register() -> bool:
    with runtime().db.read_sessions() as s:
        staff = s.get(Staff, _staff_id())
        return staff is not None and may_register(s, staff)


def _steps() -> list[Step]:
    return [step for step in runtime().settings.policy.form.steps if step.parser != "evidence"]


def _raw_answers() -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for step in _steps():
        name = STEP_PREFIX + step.key
        raw[step.key] = request.form.getlist(name) if step.parser == "choice" else request.form.get(name, "")
    return raw


def _page(form: RegisterForm, entry: ManualEntry | None, raw: dict[str, Any], error: str | None,
          status: int) -> ResponseReturnValue:
    return render_template("console/register.html", form=form, steps=_steps(), raw=raw,
                           errors=entry.errors if entry else {}, error=error, prefix=STEP_PREFIX), status


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    if not _may_register():
        abort(403)
    rt = runtime()
    ctx = rt.context()
    form = RegisterForm()
    if request.method == "GET":
        form.received_at.data = ctx.local_now.replace(second=0, microsecond=0, tzinfo=None)
        return _page(form, None, {}, None, 200)
    raw = _raw_answers()
    entry = read_entry(rt.settings.policy.form, raw, today=ctx.today)
    if not form.validate() or not entry.ok:
        return _page(form, entry, raw, "请检查表单中标出的内容", 422)
    received = form.received_at.data
    assert received is not None  # InputRequired
    received_at = received.replace(tzinfo=SHANGHAI).astimezone(dt.UTC)
    try:
        with rt.db.transaction() as s:
            staff = s.get(Staff, _staff_id())
            if staff is None:
                abort(403)
            complaint = register_manual(s, staff, ctx, source=form.source.data or "", received_at=received_at,
                                        answers=entry.answers, note=form.note.data)
            number = complaint.number
            visible = find_visible(s, staff, complaint_id=complaint.id) is not None
    except PermissionDenied as exc:
        return _page(form, entry, raw, str(exc), 403)
    except IncompleteDraft as exc:
        entry.errors.update({key: "请填写此项" for key in exc.keys})
        return _page(form, entry, raw, "请检查表单中标出的内容", 422)
    except WorkflowError as exc:
        if getattr(exc, "field", None) == "received_at":
            form.received_at.errors = [*form.received_at.errors, str(getattr(exc, "reason", "") or exc)]
        return _page(form, entry, raw, str(exc), 422)
    if visible:
        flash(f"已登记投诉 {number}", "success")
        return redirect(url_for("console.cases.show", number=number))
    flash(f"已登记投诉 {number}，已按类型转至对应归口部门办理", "success")
    return redirect(url_for("console.dashboard.index"))


def nav_context() -> dict[str, Any]:
    """``may_register`` for the page header's link (only for people signed in)."""
    if not current_user.is_authenticated:
        return {"may_register": False}
    return {"may_register": _may_register()}


__all__ = ["RegisterForm", "bp", "nav_context"]

"""人工任务 in the console: closing a task (calls to customers, callbacks, supplementary measures).

The lists are on the dashboard (`bot.console.dashboard`) and on the case page (the include
``console/_tasks.html`` calls :func:`case_tasks`); both come from `handlers.workflow.task_list`, which keeps
them inside the reader's scope. Closing (POST ``/console/tasks/<id>/complete``, CSRF like every console
POST) answers 404 for a task whose case the reader may not see, 403 when they see it but may not close its
tasks (a viewer, another department), and shows the Chinese reason when it is already closed or the outcome
is empty; then it returns to the page the form was on.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from bot.console.security import now
from bot.runtime import runtime
from handlers.workflow.errors import PermissionDenied, PreconditionFailed
from handlers.workflow.task_list import TaskList, complete_visible_task, visible_open_tasks
from storage.models import Complaint, Staff

bp = Blueprint("tasks", __name__, url_prefix="/tasks")
OUTCOME_LIMIT = 2000


def _back() -> str:
    """Where the form was (a console path only: never an open redirect)."""
    target = request.form.get("next", "")
    if target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.dashboard.index")


@bp.post("/<int:task_id>/complete")
def complete(task_id: int) -> ResponseReturnValue:
    rt = runtime()
    outcome = request.form.get("outcome", "")[:OUTCOME_LIMIT]
    staff_id = current_user.staff.id
    try:
        with rt.db.transaction() as s:
            staff = s.get(Staff, staff_id)
            done = complete_visible_task(s, staff, task_id, outcome, now=now()) if staff is not None else None
            if done is None:
                abort(404)
    except PermissionDenied:
        abort(403)
    except PreconditionFailed as exc:
        flash(str(exc), "error")
        return redirect(_back(), code=303)
    flash("任务已完成", "success")
    return redirect(_back(), code=303)


@bp.app_template_global()
def case_tasks(complaint: Complaint) -> TaskList:
    """The open tasks of ``complaint`` the signed-in person may see (the case page's include)."""
    rt = runtime()
    with rt.db.read_sessions() as s:
        staff = s.get(Staff, current_user.staff.id)
        if staff is None:
            return TaskList(0, [])
        case = s.get(Complaint, complaint.id)
        if case is None:
            return TaskList(0, [])
        found = visible_open_tasks(s, staff, rt.settings.policy.workflow, complaint=case)
        return found

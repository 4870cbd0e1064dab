"""档案销毁: the closed cases whose keeping time (``[workflow].retention_years`` after closing) is over, and
management's approval of their destruction, recorded on each case. Destruction itself is ``tousu records
purge`` (README); the rules are `handlers.records`. Admin and management see the list; only management
approves (anyone else gets the refusal as a 403)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session, page_number
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import records
from handlers.admin import AdminArea, page_count
from handlers.workflow.errors import CaseChanged, NotFound, PermissionDenied, PreconditionFailed
from handlers.workflow.permissions import is_management

bp = Blueprint("records", __name__, url_prefix="/records")
PER_PAGE = 100  # oldest closing first; the count in the heading is every due case


def _years() -> int:
    return runtime().settings.policy.workflow.retention_years


@bp.get("/")
def index() -> ResponseReturnValue:
    page = page_number()
    with area_session(AdminArea.RECORDS) as (s, staff):
        total = records.count_due(s, now=now(), years=_years())
        pages = page_count(total, PER_PAGE)
        page = min(page, pages)  # a page past the end (cases destroyed meanwhile) shows the last one
        rows = records.due_cases(s, now=now(), years=_years(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
        may_approve = is_management(s, staff)
    return render_template("console/admin/records.html", rows=rows, total=total, page=page, pages=pages,
                           years=_years(), may_approve=may_approve,
                           approved=request.args.get("approved", "")[:16], refused=request.args.get("refused", ""))


@bp.post("/<int:complaint_id>/approve")
def approve(complaint_id: int) -> ResponseReturnValue:
    raw = request.form.get("version", "")
    version = int(raw) if raw.isdigit() else None
    try:
        with area_session(AdminArea.RECORDS, write=True) as (s, staff):
            complaint = records.approve_destruction(s, staff, complaint_id, version, now=now(), years=_years(),
                                                    origin=origin())
            number = complaint.number
    except PermissionDenied:
        abort(403)
    except NotFound:
        abort(404)
    # The outcome travels in the redirect's query (Post/Redirect/Get); the page words it.
    except CaseChanged:
        return redirect(url_for("console.admin.records.index", refused="changed"))
    except PreconditionFailed:
        return redirect(url_for("console.admin.records.index", refused="not_due"))
    return redirect(url_for("console.admin.records.index", approved=number))

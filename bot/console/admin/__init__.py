"""管理: the console's administration pages, under ``/console/admin``, one child blueprint per area.

Who may use which area is `handlers.admin.ACCESS`; every query and change is a function of
`handlers.admin` (or the module it calls). Pages of an area one may not use answer 403.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from bot.console.admin import audit, calendar, faq, org, outbox, presets, records, website
from bot.runtime import runtime
from handlers.admin import areas_for
from handlers.performance import performance_scope
from storage.models import Staff

bp = Blueprint("admin", __name__, url_prefix="/admin")
for child in (faq.bp, org.bp, calendar.bp, presets.bp, outbox.bp, audit.bp, records.bp, website.bp):
    bp.register_blueprint(child)


@bp.get("/")
def index() -> ResponseReturnValue:
    with runtime().db.read_sessions() as s:
        staff = s.get(Staff, current_user.staff.id)
        areas = areas_for(s, staff) if staff is not None else []
        performance = staff is not None and performance_scope(s, staff) is not None
    return render_template("console/admin/index.html", areas=[a.value for a in areas], performance=performance)

"""时限预设: the SLA presets in force, read-only — each category's preset, every milestone's limit for
一般/重大 and what customers are promised (the acknowledgement's own sentences). Everyone signed in."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session
from bot.runtime import runtime
from handlers import admin
from handlers.admin import AdminArea
from storage.models import Severity

bp = Blueprint("presets", __name__, url_prefix="/presets")


@bp.get("/")
def index() -> ResponseReturnValue:
    with area_session(AdminArea.PRESETS):
        pass
    policy = runtime().settings.policy
    return render_template("console/admin/presets.html", views=admin.presets_in_force(policy),
                           severities=list(Severity), end_of_day=policy.calendar.end_of_day)

"""安全审计: the audit trail (sign-ins, failures, exports, views of personal data, account and settings
changes), filtered by person, action, case and date; ``personal=1`` narrows it to the accesses of personal
data (个人信息访问: case pages and evidence that showed it, exports that carried it). Admin only."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session, page_number
from bot.console.cases import ATTACHMENT_VIEWED
from bot.console.ledger import EXPORT_LEDGER
from handlers import admin, api_tokens, records
from handlers import audit as trail
from handlers.admin import AdminArea, AuditFilter
from handlers.performance import EXPORT_PERFORMANCE

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50
# Every action the code records (tests/bot/console/test_admin_audit.py finds each `audit.record` call's
# action and checks it is here), offered in the filter even before the trail holds one; the template
# (console/admin/audit.html) names each in Chinese.
KNOWN_ACTIONS = (
    trail.LOGIN_SUCCEEDED, trail.LOGIN_WECOM, trail.LOGIN_FAILED, trail.LOGIN_LOCKED, trail.LOGIN_DISABLED,
    trail.LOGOUT, trail.SESSION_EXPIRED, trail.ACCOUNT_CREATED, trail.ACCOUNT_PASSWORD_SET, trail.ACCOUNT_DISABLED,
    trail.ACCOUNT_ENABLED, trail.ACCOUNT_UNLOCKED, api_tokens.TOKEN_CREATED, api_tokens.TOKEN_REVOKED,
    trail.CASE_VIEWED, ATTACHMENT_VIEWED, admin.FAQ_CREATED, admin.FAQ_UPDATED, admin.FAQ_DISABLED,
    admin.FAQ_ENABLED, admin.CALENDAR_SET, admin.CALENDAR_UNSET, admin.OUTBOX_REQUEUED, trail.EXPORT_PRINT,
    EXPORT_LEDGER, EXPORT_PERFORMANCE, records.AUDIT_APPROVED, records.AUDIT_DESTROYED,
)


def _date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


@bp.get("/")
def index() -> ResponseReturnValue:
    where = AuditFilter(person=request.args.get("person", "")[:64], action=request.args.get("action", "")[:48],
                        since=_date("since"), until=_date("until"), case=request.args.get("case", "")[:16],
                        personal_only=request.args.get("personal") == "1")
    page = page_number()
    with area_session(AdminArea.AUDIT) as (s, _staff):
        rows, total = admin.audit_events(s, where, page=page, per_page=PER_PAGE)
        actions = admin.audit_actions(s, KNOWN_ACTIONS)
    query = {"person": where.person, "action": where.action,
             "since": where.since.isoformat() if where.since else "",
             "until": where.until.isoformat() if where.until else "", "case": where.case.strip(),
             "personal": "1" if where.personal_only else ""}
    return render_template("console/admin/audit.html", rows=rows, total=total, page=page, where=where,
                           pages=admin.page_count(total, PER_PAGE), actions=actions, query=query)

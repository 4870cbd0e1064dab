"""The console's administration pages (管理): who may use each, and the queries and changes behind them.

Plain functions taking a Session; the views in ``bot/console/admin/`` only parse forms and render. Each
rule stays where it already lives and is called from here: accounts and lock-out in `handlers.accounts`,
company calendar exceptions in `handlers.sla.calendar_store`, the FAQ in `handlers.faq`, the presets in
the policy (`handlers.sla.presets`), the outbox's never-send-twice rule in `storage.outbox`, case scope in
`handlers.workflow.scope`. Every change made here is recorded in the audit trail (`handlers.audit`).

Who may use what (a person holds every console role their org-chart roles give, `console_roles`):

=============  ==========================================  ==============================================
area           who                                         what
=============  ==========================================  ==============================================
faq            admin, office                               常见问题库: list, add, edit, disable
org            admin, management, office                   组织架构, read-only (edited in tousu.toml)
accounts       admin                                       console passwords, disable/enable, unlock
calendar       admin, office                               公司例外 (working-day exceptions)
presets        everyone signed in                          时限预设 in force, read-only
outbox         admin, office                               发送失败的消息 and 重新发送
audit          admin                                       安全审计 (and 个人信息访问: views/exports of personal data)
records        admin, management                           档案销毁: cases past their keeping time; management
                                                           approves their destruction (`handlers.records`)
=============  ==========================================  ==============================================

A page of an area someone may not use answers 403 (the pages are no secret; unlike a case, whose existence
outside one's scope is hidden behind a 404).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import accounts, audit, faq
from handlers.accounts import LockoutPolicy
from handlers.audit import Origin
from handlers.config import CompanyPolicy
from handlers.faq import category_groups
from handlers.privacy import mask_phones_in, mask_recipient
from handlers.sla import calendar_store
from handlers.sla.calendar import SHANGHAI, WorkCalendar
from handlers.sla.presets import EVENTS, SlaPreset
from handlers.sla.promises import customer_promises
from handlers.workflow.permissions import ROLES
from handlers.workflow.scope import CONSOLE_ROLE_LABELS, ConsoleRole, console_role, console_roles, scope_clause
from storage.models import (
    AuditEvent,
    CalendarException,
    Complaint,
    Department,
    FaqEntry,
    OutboxChannel,
    OutboxMessage,
    OutboxStatus,
    Severity,
    Staff,
    StaffAccount,
)
from storage.outbox import attempt_token, outcome_unknown, requeue_failed

# -- who may use what -------------------------------------------------------------------------------


class AdminArea(enum.StrEnum):
    FAQ = "faq"
    ORG = "org"
    ACCOUNTS = "accounts"
    CALENDAR = "calendar"
    PRESETS = "presets"
    OUTBOX = "outbox"
    AUDIT = "audit"
    RECORDS = "records"
    WEBSITE = "website"  # the website complaint page's links, embed snippets and QR code


_R = ConsoleRole
#: The console roles that may use each area; None: everyone signed in.
ACCESS: Final[dict[AdminArea, frozenset[ConsoleRole] | None]] = {
    AdminArea.FAQ: frozenset({_R.ADMIN, _R.OFFICE}),
    AdminArea.ORG: frozenset({_R.ADMIN, _R.MANAGEMENT, _R.OFFICE}),
    AdminArea.ACCOUNTS: frozenset({_R.ADMIN}),
    AdminArea.CALENDAR: frozenset({_R.ADMIN, _R.OFFICE}),
    AdminArea.PRESETS: None,
    AdminArea.OUTBOX: frozenset({_R.ADMIN, _R.OFFICE}),
    AdminArea.AUDIT: frozenset({_R.ADMIN}),
    AdminArea.RECORDS: frozenset({_R.ADMIN, _R.MANAGEMENT}),
    AdminArea.WEBSITE: frozenset({_R.ADMIN, _R.OFFICE}),
}


def may_use(session: Session, staff: Staff, area: AdminArea) -> bool:
    """True when ``staff`` may open the pages of ``area`` (and make the changes it offers)."""
    if not staff.active:
        return False
    allowed = ACCESS[area]
    return allowed is None or bool(allowed & console_roles(session, staff))


def areas_for(session: Session, staff: Staff) -> list[AdminArea]:
    """The areas ``staff`` may use, in menu order."""
    return [area for area in AdminArea if may_use(session, staff, area)]


class AdminError(ValueError):
    """A change the administration pages refuse; the message is for staff (Chinese)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


# -- 常见问题库: FAQ editing (the rules are handlers.faq's; this records each change) -------------------

FAQ_CREATED = "faq.created"
FAQ_UPDATED = "faq.updated"
FAQ_DISABLED = "faq.disabled"
FAQ_ENABLED = "faq.enabled"


def create_faq(session: Session, data: faq.FaqInput, *, seeds: Sequence[faq.FaqSeed], now: dt.datetime,
               origin: Origin, by: Staff) -> FaqEntry:
    """A new FAQ entry (`faq.create_entry`), audited; in force for the next message in every process. An empty
    table is seeded first: the first entry staff add must not stand in for the built-in ones."""
    faq.ensure_seeded(session, seeds)
    entry = faq.create_entry(session, data, now=now)
    audit.record(session, FAQ_CREATED, now=now, origin=origin, actor=by, subject=f"faq:{entry.id}",
                 details={"question": entry.question})
    return entry


def update_faq(session: Session, entry: FaqEntry, data: faq.FaqInput, *, now: dt.datetime, origin: Origin,
               by: Staff) -> dict[str, Any]:
    """Edit an entry (`faq.update_entry`); audited with what changed (question, keywords, answer, order)."""
    changes = faq.update_entry(session, entry, data, now=now)
    if changes:
        audit.record(session, FAQ_UPDATED, now=now, origin=origin, actor=by, subject=f"faq:{entry.id}",
                     details={"question": entry.question, "changed": sorted(changes)})
    return changes


def set_faq_active(session: Session, entry: FaqEntry, active: bool, *, now: dt.datetime, origin: Origin,
                   by: Staff) -> bool:
    """停用/启用 an entry (`faq.set_active`), audited."""
    changed = faq.set_active(session, entry, active, now=now)
    if changed:
        audit.record(session, FAQ_ENABLED if active else FAQ_DISABLED, now=now, origin=origin, actor=by,
                     subject=f"faq:{entry.id}", details={"question": entry.question})
    return changed


# -- 组织架构: departments and people, and their console accounts -------------------------------------

ACCOUNT_STATES: Final = {"none": "未开通", "active": "正常", "disabled": "已停用", "locked": "已锁定"}


@dataclass
class PersonRow:
    staff: Staff
    roles: str  # the org chart's roles in Chinese: 受理、承办
    console_role: str  # the console role shown in the header: 归口部门 …
    account: StaffAccount | None
    locked_until: dt.datetime | None

    @property
    def account_state(self) -> str:
        if self.account is None:
            return "none"
        if self.account.disabled:
            return "disabled"
        return "locked" if self.locked_until is not None else "active"


@dataclass
class DepartmentRow:
    department: Department | None  # None: people of no department (console-only admins)
    head: str | None
    people: list[PersonRow] = field(default_factory=list)


def _person(session: Session, staff: Staff, account: StaffAccount | None, *, now: dt.datetime,
            lockout: LockoutPolicy) -> PersonRow:
    role = console_role(session, staff)
    until = accounts.locked_until(session, account, now=now, policy=lockout) if account is not None else None
    return PersonRow(
        staff=staff,
        roles="、".join(ROLES.get(str(r), str(r)) for r in staff.roles or []) or "—",
        console_role=CONSOLE_ROLE_LABELS[role] if role else "—",
        account=account,
        locked_until=until,
    )


def org_chart(session: Session, *, now: dt.datetime, lockout: LockoutPolicy) -> list[DepartmentRow]:
    """Every department with its people (active first, then by name), and the people of none last."""
    departments = list(session.scalars(sa.select(Department).order_by(Department.active.desc(), Department.id)))
    people = session.execute(
        sa.select(Staff, StaffAccount).outerjoin(StaffAccount, StaffAccount.staff_id == Staff.id)
        .order_by(Staff.active.desc(), Staff.id)
    ).all()
    names = {staff.id: staff.name for staff, _ in people}
    rows = {d.id: DepartmentRow(d, names.get(d.head_id) if d.head_id else None) for d in departments}
    no_department = DepartmentRow(None, None)
    for staff, account in people:
        row = rows.get(staff.department_id) if staff.department_id is not None else None
        (row or no_department).people.append(_person(session, staff, account, now=now, lockout=lockout))
    result = list(rows.values())
    if no_department.people:
        result.append(no_department)
    return result


def person(session: Session, staff_id: int, *, now: dt.datetime, lockout: LockoutPolicy) -> PersonRow | None:
    staff = session.get(Staff, staff_id)
    if staff is None:
        return None
    return _person(session, staff, accounts.account_of(session, staff), now=now, lockout=lockout)


def give_password(session: Session, staff: Staff, password: str, *, now: dt.datetime, origin: Origin,
                  by: Staff, login: str | None = None) -> tuple[StaffAccount, bool]:
    """Open a console account for ``staff`` with ``password``, or set a new password on the one they have
    (which signs out their sessions). Returns the account and whether it was created. Audited by
    `handlers.accounts` (``account.created`` / ``account.password_set``)."""
    if not staff.active:
        raise AdminError("inactive", "该人员已停用（已从组织架构移除），不能开通或重置密码")
    account = accounts.account_of(session, staff)
    if account is None:
        account = accounts.create_account(session, name=staff.name, userid=staff.wecom_userid, password=password,
                                          now=now, login=(login or "").strip() or None, origin=origin, by=by)
        return account, True
    accounts.set_password(session, account, password, now=now, origin=origin, by=by)
    return account, False


def set_account_disabled(session: Session, staff: Staff, disabled: bool, *, now: dt.datetime, origin: Origin,
                         by: Staff) -> StaffAccount:
    """停用/启用 a console account (stopping one signs out its sessions). One cannot stop one's own."""
    account = accounts.account_of(session, staff)
    if account is None:
        raise AdminError("no_account", "该人员还没有工作台账号")
    if disabled and staff.id == by.id:
        raise AdminError("self", "不能停用自己的账号")
    if account.disabled == disabled:
        raise AdminError("unchanged", "账号已是停用状态" if disabled else "账号已是正常状态")
    accounts.set_disabled(session, account, disabled, now=now, origin=origin, by=by)
    return account


def unlock_account(session: Session, staff: Staff, *, now: dt.datetime, origin: Origin, by: Staff) -> StaffAccount:
    """解锁: the failed sign-ins so far no longer count towards a lock-out."""
    account = accounts.account_of(session, staff)
    if account is None:
        raise AdminError("no_account", "该人员还没有工作台账号")
    accounts.unlock(session, account, now=now, origin=origin, by=by)
    return account


# -- 工作日历: company exceptions -------------------------------------------------------------------

CALENDAR_SET = "calendar.set"
CALENDAR_UNSET = "calendar.unset"
FIRST_YEAR, LAST_YEAR = 2000, 2099
NOTE_MAX = 200  # CalendarException.note is VARCHAR(200)


@dataclass(frozen=True)
class DayCell:
    day: dt.date
    working: bool
    reason: str
    kind: str  # workday, weekend, holiday, shift_work (调休上班), shift_off (调休休息), company_work, company_off
    today: bool = False


def day_kind(working: bool, reason: str, day: dt.date) -> str:
    """How a day of the month view is marked, from the calendar's own reason text."""
    if reason.startswith("公司例外"):
        return "company_work" if working else "company_off"
    if "调休" in reason:
        return "shift_work" if working else "shift_off"
    if working:
        return "workday"
    return "weekend" if day.weekday() >= 5 and reason.endswith("周末") and "假期" not in reason else "holiday"


def month_weeks(calendar: WorkCalendar, year: int, month: int, *, today: dt.date | None = None
                ) -> list[list[DayCell | None]]:
    """The month as weeks from Monday (None pads the first and last week), like ``tousu calendar show``."""
    cells: list[DayCell | None] = [None] * dt.date(year, month, 1).weekday()
    for info in calendar.month(year, month):
        cells.append(DayCell(info.day, info.is_working_day, info.reason,
                             day_kind(info.is_working_day, info.reason, info.day), info.day == today))
    cells += [None] * (-len(cells) % 7)
    return [cells[i:i + 7] for i in range(0, len(cells), 7)]


def exceptions_in_year(session: Session, year: int) -> list[CalendarException]:
    return list(session.scalars(
        sa.select(CalendarException)
        .where(CalendarException.date >= dt.date(year, 1, 1), CalendarException.date <= dt.date(year, 12, 31))
        .order_by(CalendarException.date)
    ))


def parse_day(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise AdminError("bad_date", "日期应为 YYYY-MM-DD") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise AdminError("bad_date", f"日期应在 {FIRST_YEAR}–{LAST_YEAR} 年之间")
    return day


def set_calendar_day(session: Session, day: dt.date, working: bool, note: str, *, now: dt.datetime,
                     origin: Origin, by: Staff) -> calendar_store.ExceptionChange:
    """Declare ``day`` a company working day or day off (`calendar_store.set_exception`, as the CLI), with
    the reason staff gave; in force for the next deadline computed. Audited."""
    note = (note or "").strip()
    if not note:
        raise AdminError("needs_note", "请填写原因（显示在日历上，如“公司年会放假”）")
    if len(note) > NOTE_MAX:
        raise AdminError("note_too_long", f"原因不能超过 {NOTE_MAX} 个字")
    change = calendar_store.set_exception(session, day, working, note)
    if change.outcome != "unchanged":
        audit.record(session, CALENDAR_SET, now=now, origin=origin, actor=by, subject=day.isoformat(),
                     details={"outcome": change.outcome, "working": working, "note": note,
                              "before": list(change.before) if change.before else None})
    return change


def unset_calendar_day(session: Session, day: dt.date, *, now: dt.datetime, origin: Origin,
                       by: Staff) -> calendar_store.ExceptionChange:
    """Drop the company exception of ``day`` (the official calendar applies again). Audited."""
    change = calendar_store.remove_exception(session, day)
    if change.outcome == "removed":
        audit.record(session, CALENDAR_UNSET, now=now, origin=origin, actor=by, subject=day.isoformat(),
                     details={"before": list(change.before) if change.before else None})
    return change


# -- 时限预设: the SLA presets in force --------------------------------------------------------------


@dataclass(frozen=True)
class LimitView:
    duration: str  # 3个工作日, 1小时（非工作日4小时）
    anchor: str  # the event the clock starts at, in Chinese
    ceiling: str | None
    note: str


@dataclass(frozen=True)
class MilestoneView:
    key: str
    label: str
    met_by: str
    limits: dict[Severity, LimitView | None]
    condition: str | None
    promise: dict[Severity, str]  # the customer's sentence per severity, when the milestone is promised


@dataclass(frozen=True)
class PresetView:
    preset: SlaPreset
    categories: list[str]  # the form's labels of the categories it applies to
    conditions: frozenset[str]
    milestones: list[MilestoneView]
    promises: dict[Severity, list[str]]  # what the acknowledgement promises, per severity

    @property
    def severity_labels(self) -> dict[Severity, str]:
        return dict(self.preset.severity_labels)


CONDITION_LABELS: Final = {"quality_objection": "质量异议类（含复检节点）"}


def presets_in_force(policy: CompanyPolicy) -> list[PresetView]:
    """For each group of categories sharing a preset (and conditions): its milestones and each one's limit
    for 一般/重大, and the customer promises (`customer_promises`, the acknowledgement's and the FAQ's)."""
    views: list[PresetView] = []
    for (key, conditions), options in category_groups(policy).items():
        preset = policy.workflow.preset(key)
        milestones = []
        for milestone in preset.milestones:
            if milestone.condition is not None and milestone.condition not in conditions:
                continue
            limits: dict[Severity, LimitView | None] = {}
            promise: dict[Severity, str] = {}
            for severity in Severity:
                limit = milestone.limits.get(severity)
                if limit is None:
                    limits[severity] = None
                    continue
                limits[severity] = LimitView(limit.duration.label(), EVENTS.get(limit.anchor, limit.anchor),
                                             limit.ceiling.label() if limit.ceiling else None, limit.note)
                if milestone.promise:
                    promise[severity] = milestone.promise.format(limit=limit.duration.label())
            milestones.append(MilestoneView(milestone.key, milestone.label, EVENTS.get(milestone.met_by,
                                            milestone.met_by), limits, CONDITION_LABELS.get(milestone.condition
                                            or "", milestone.condition), promise))
        promises = {severity: [p.text for p in customer_promises(preset, severity, conditions=conditions)]
                    for severity in Severity}
        views.append(PresetView(preset, [label for _code, label in options], conditions, milestones, promises))
    return views


# -- 发送失败的消息: failed outbound messages, and sending one again ------------------------------------

OUTBOX_REQUEUED = "outbox.requeued"
PREVIEW_LENGTH = 60
_ERRCODE = re.compile(r"(?:^|: )(-?\d{1,6}): ")


@dataclass(frozen=True)
class FailedMessage:
    message: OutboxMessage
    recipient: str  # masked
    kind: str  # wechat_custom, wechat_template, wecom_app, wecom_card
    error_code: str | None
    error: str
    unknown: bool  # the first send may have arrived: sending again needs a confirmation
    complaint_number: str | None
    preview: str  # the start of the text, phones masked
    token: str  # `storage.outbox.attempt_token`: what the page showed, checked on 重新发送


def error_code(last_error: str | None) -> str | None:
    """The platform's errcode at the start of ``last_error`` (``43004: …``, ``gave up …: -1: busy``)."""
    found = _ERRCODE.search(last_error or "")
    return found.group(1) if found else None


def _kind(message: OutboxMessage) -> str:
    if message.channel is OutboxChannel.WECOM_APP:
        return "wecom_card" if message.payload.get("title") else "wecom_app"
    return message.channel.value


def _failed_row(message: OutboxMessage, number: str | None) -> FailedMessage:
    text = str(message.payload.get("title") or message.payload.get("text") or "")
    preview = mask_phones_in(text[:PREVIEW_LENGTH] + ("…" if len(text) > PREVIEW_LENGTH else ""))
    return FailedMessage(
        message=message,
        recipient=mask_recipient(message.recipient, staff=message.channel is OutboxChannel.WECOM_APP),
        kind=_kind(message),
        error_code=error_code(message.last_error),
        error=mask_phones_in(message.last_error or ""),
        unknown=outcome_unknown(message),
        complaint_number=number,
        preview=preview,
        token=attempt_token(message),
    )


def _failed_query(session: Session, staff: Staff) -> sa.Select[OutboxMessage, str]:
    """Failed rows ``staff`` may see: those of cases in their scope, and those of no case."""
    return (
        sa.select(OutboxMessage, Complaint.number)
        .outerjoin(Complaint, Complaint.id == OutboxMessage.complaint_id)
        .where(OutboxMessage.status == OutboxStatus.FAILED,
               sa.or_(OutboxMessage.complaint_id.is_(None), scope_clause(session, staff)))
    )


def failed_messages(session: Session, staff: Staff, *, page: int = 1, per_page: int = 50
                    ) -> tuple[list[FailedMessage], int]:
    """The failed messages, newest first, and how many there are in all."""
    query = _failed_query(session, staff)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(OutboxMessage.next_attempt_at.desc(), OutboxMessage.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return [_failed_row(message, number) for message, number in rows], int(total)


def find_failed(session: Session, staff: Staff, message_id: int) -> FailedMessage | None:
    """One failed message ``staff`` may see, or None (not failed, not there, or outside their scope)."""
    row = session.execute(_failed_query(session, staff).where(OutboxMessage.id == message_id)).first()
    return _failed_row(row[0], row[1]) if row is not None else None


def requeue_message(session: Session, staff: Staff, message_id: int, *, seen: str, confirm_duplicate: bool,
                    now: dt.datetime, origin: Origin) -> FailedMessage:
    """重新发送: queue a failed message again (`storage.outbox.requeue_failed`: failed rows only, unchanged
    since the page, an unknown outcome only with ``confirm_duplicate``). Audited with the old error.
    Raises `storage.outbox.RequeueRefused`; None-like absence is the caller's 404 (`find_failed`)."""
    found = find_failed(session, staff, message_id)
    if found is None:
        raise LookupError(message_id)
    message = found.message
    before = {"attempts": message.attempts, "last_error": found.error, "channel": message.channel.value,
              "recipient": found.recipient, "outcome_unknown": found.unknown}
    requeue_failed(session, message, now=now, seen=seen, confirm_duplicate=confirm_duplicate,
                   note=f"queued again by {staff.name} (console)")
    audit.record(session, OUTBOX_REQUEUED, now=now, origin=origin, actor=staff, subject=f"outbox:{message.id}",
                 details={**before, "confirmed_duplicate": bool(found.unknown and confirm_duplicate),
                          "complaint": found.complaint_number})
    return found


# -- 安全审计: the audit trail ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    person: str = ""  # part of the name or login recorded
    action: str = ""  # an exact action code, or a prefix ending in "." (``login.``)
    since: dt.date | None = None  # Asia/Shanghai days, inclusive
    until: dt.date | None = None
    case: str = ""  # a complaint number: the rows about that case
    personal_only: bool = False  # only views and exports that showed personal data unmasked


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def audit_events(session: Session, where: AuditFilter, *, page: int = 1, per_page: int = 50
                 ) -> tuple[list[AuditEvent], int]:
    """Audit rows matching ``where``, newest first, and how many match in all."""
    query = sa.select(AuditEvent)
    person = where.person.strip()
    if person:
        pattern = "%" + person.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(AuditEvent.actor_label.ilike(pattern, escape="\\"))
    if where.action.endswith("."):
        query = query.where(AuditEvent.action.startswith(where.action, autoescape=True))
    elif where.action:
        query = query.where(AuditEvent.action == where.action)
    if where.case.strip():
        number = where.case.strip()
        query = query.where(sa.or_(AuditEvent.subject == number, AuditEvent.complaint_id.in_(
            sa.select(Complaint.id).where(Complaint.number == number))))
    if where.personal_only:
        query = query.where(AuditEvent.personal_data.is_(True))
    if where.since is not None:
        query = query.where(AuditEvent.at >= _day_start(where.since))
    if where.until is not None:
        query = query.where(AuditEvent.at < _day_start(where.until + dt.timedelta(days=1)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(per_page).offset((max(page, 1) - 1) * per_page)))
    return rows, int(total)


def audit_actions(session: Session, known: Iterable[str] = ()) -> list[str]:
    """The action codes to filter by: the known ones and any other the trail holds."""
    found = set(session.scalars(sa.select(AuditEvent.action).distinct()))
    return sorted(found | set(known))


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


__all__ = [
    "ACCESS",
    "CALENDAR_SET",
    "CALENDAR_UNSET",
    "FAQ_CREATED",
    "FAQ_DISABLED",
    "FAQ_ENABLED",
    "FAQ_UPDATED",
    "OUTBOX_REQUEUED",
    "AdminArea",
    "AdminError",
    "AuditFilter",
    "DayCell",
    "DepartmentRow",
    "FailedMessage",
    "PersonRow",
    "PresetView",
    "areas_for",
    "audit_actions",
    "audit_events",
    "create_faq",
    "day_kind",
    "error_code",
    "exceptions_in_year",
    "failed_messages",
    "find_failed",
    "give_password",
    "may_use",
    "month_weeks",
    "org_chart",
    "page_count",
    "parse_day",
    "person",
    "presets_in_force",
    "requeue_message",
    "set_account_disabled",
    "set_calendar_day",
    "set_faq_active",
    "unlock_account",
    "unset_calendar_day",
    "update_faq",
]


"""The daily overdue notice (每日超期通报): at 09:00 on working days, one WeCom message per person.

Who gets it: the lead offices (归口部门: their 受理 members and heads, who keep the ledgers) and management
(管理层). What each person reads is their own scope (`handlers.workflow.scope.scope_clause`, the rule every
console list uses): a lead office its ledger, management every case; the complained-about person (回避) never
sees the case, here as anywhere. Cases are listed per handling department (承办部门): overdue ones (a
deadline breached, or past due before the sweep marked it — as the console's 超时 list) and soon-due ones
(an open deadline due within the console's ``due_soon_hours``), each once, by its earliest unmet deadline,
each linking to the case (`notify.case_link`, on ``PUBLIC_BASE_URL``). Nobody with nothing to hear gets a
message.

The message is a WeCom *text* message rather than a text card: a card has one link and 512 bytes, a text
has 2048 bytes and takes ``<a href>`` links, one per case. A longer digest is split at line breaks into
parts marked 续 2/3…, each within 2048 bytes.

Idempotent per day: the first part's outbox dedupe key is ``digest:<date>:<staff id>``; when it already
exists (a second worker, a restart, a manual re-run) that person's digest is not queued again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.render import WECHAT_TEXT_LIMIT, render_message, split_text
from handlers.sla.calendar import local_day
from handlers.sla.calendar_store import load_calendar
from handlers.workflow import notify
from handlers.workflow.deadlines import UNMET
from handlers.workflow.permissions import HEAD, INTAKE, has_role, is_management, is_read_only
from handlers.workflow.scope import scope_clause
from handlers.workflow.transitions import OPEN_STATES
from storage.models import Complaint, Deadline, DeadlineStatus, Department, DepartmentKind, Staff
from storage.outbox import queue_staff_text

if TYPE_CHECKING:
    from handlers.config import CompanyPolicy

DIGEST_TIME = dt.time(9, 0)  # Asia/Shanghai; the scheduler's cron trigger says the same
# Room kept in each part for the continuation line (【每日超期通报】…（续 12/12）) added in front.
_CONTINUATION_ROOM = 120


@dataclass(frozen=True)
class DigestItem:
    """One case on the list: its earliest unmet deadline and whether that one is already overdue."""

    complaint: Complaint
    deadline: Deadline
    overdue: bool


@dataclass
class Section:
    """The cases of one handling department (承办部门); ``name`` is 未交办 before assignment."""

    name: str
    overdue: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)


@dataclass
class DigestReport:
    day: dt.date
    working_day: bool
    recipients: int = 0  # people a digest was queued for now
    messages: int = 0  # outbox rows queued (a split digest counts each part)
    already_queued: int = 0  # people whose digest for the day was queued earlier
    nothing_to_say: int = 0  # people with no overdue or soon-due case in scope


def digest_recipients(session: Session) -> list[Staff]:
    """The lead offices' 受理 members and heads, and management; active, with a WeCom id, each once."""
    offices = {d.id: d for d in session.scalars(sa.select(Department).where(
        Department.kind == DepartmentKind.LEAD_OFFICE, Department.active.is_(True)))}
    heads = {d.head_id for d in offices.values() if d.head_id is not None}
    people = session.scalars(sa.select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))
    chosen = []
    for staff in people:
        if not staff.wecom_userid or is_read_only(staff):
            continue
        in_office = staff.department_id in offices and (has_role(staff, INTAKE, HEAD) or staff.id in heads)
        if in_office or staff.id in heads or is_management(session, staff):
            chosen.append(staff)
    return chosen


def digest_sections(session: Session, staff: Staff, now: dt.datetime, due_soon: dt.timedelta) -> list[Section]:
    """What ``staff`` hears about: open cases in their scope with an unmet deadline overdue or due within
    ``due_soon``, per handling department (未交办 first, then by department), overdue first in each."""
    rows = session.execute(
        sa.select(Deadline, Complaint)
        .join(Complaint, Complaint.id == Deadline.complaint_id)
        .where(scope_clause(session, staff), Complaint.status.in_(list(OPEN_STATES)),
               Deadline.status.in_(UNMET), Deadline.due_at <= now + due_soon)
        .order_by(Deadline.due_at, Deadline.id)
    ).all()
    first: dict[int, DigestItem] = {}
    for deadline, complaint in rows:
        if complaint.id not in first:
            late = deadline.status is DeadlineStatus.BREACHED or deadline.due_at < now
            first[complaint.id] = DigestItem(complaint, deadline, late)
    if not first:
        return []
    names = {row.id: row.name for row in session.execute(sa.select(Department.id, Department.name))}
    sections: dict[int | None, Section] = {}
    for item in first.values():
        key = item.complaint.handling_department_id
        section = sections.setdefault(key, Section(names.get(key, "未交办") if key is not None else "未交办"))
        (section.overdue if item.overdue else section.due_soon).append(item)
    return [sections[k] for k in sorted(sections, key=lambda k: (k is not None, k or 0))]


def _late(now: dt.datetime, due: dt.datetime) -> str:
    hours = max(int((now - due).total_seconds() // 3600), 0)
    return f"{hours // 24}天{hours % 24}小时" if hours >= 24 else f"{hours}小时"


def digest_texts(sections: Iterable[Section], *, day: dt.date, now: dt.datetime, scope_label: str,
                 base_url: str, policy: CompanyPolicy) -> list[str]:
    """The message(s) for one person: ``templates/messages/workflow/digest``, split into parts of at most
    2048 UTF-8 bytes at line breaks, every part after the first opened by ``digest_continued``."""
    blocks = list(sections)
    link = base_url.rstrip("/")

    def line(item: DigestItem) -> dict[str, str]:
        return {
            "number": item.complaint.number,
            "url": f"{link}{notify.case_link(item.complaint)}",
            "category": policy.category_label(item.complaint.category),
            "label": item.deadline.label,
            "due": notify.local_time(item.deadline.due_at),
            "late": _late(now, item.deadline.due_at),
        }

    text = render_message(
        "workflow/digest", day=notify.local_date(day), scope=scope_label,
        overdue_total=sum(len(s.overdue) for s in blocks), soon_total=sum(len(s.due_soon) for s in blocks),
        sections=[{"name": s.name, "overdue": [line(i) for i in s.overdue],
                   "due_soon": [line(i) for i in s.due_soon]} for s in blocks],
    )
    pieces = split_text(text, WECHAT_TEXT_LIMIT - _CONTINUATION_ROOM)
    if len(pieces) == 1:
        return pieces
    return [piece if n == 1 else render_message("workflow/digest_continued", day=notify.local_date(day),
                                                part=n, parts=len(pieces)) + "\n" + piece
            for n, piece in enumerate(pieces, start=1)]


def _scope_label(session: Session, staff: Staff) -> str:
    if is_management(session, staff):
        return "全公司"
    department = session.get(Department, staff.department_id) if staff.department_id else None
    return f"{department.name}台账" if department is not None else "本人"


def queue_daily_digest(session: Session, now: dt.datetime, *, policy: CompanyPolicy, base_url: str) -> DigestReport:
    """Queue today's digest for every recipient (see the module docstring); nothing on a day off.

    ``now`` is the run's clock (09:00 Asia/Shanghai from the scheduler); "today" and working days are the
    company calendar's (China's official calendar with 调休 and the company's own exceptions). Flushes.
    """
    day = local_day(now)
    if not load_calendar(session, policy.calendar).is_working_day(day):
        return DigestReport(day=day, working_day=False)
    report = DigestReport(day=day, working_day=True)
    due_soon = policy.console.due_soon
    for staff in digest_recipients(session):
        sections = digest_sections(session, staff, now, due_soon)
        if not sections:
            report.nothing_to_say += 1
            continue
        texts = digest_texts(sections, day=day, now=now, scope_label=_scope_label(session, staff),
                             base_url=base_url, policy=policy)
        key = f"digest:{day.isoformat()}:{staff.id}"
        first = queue_staff_text(session, [staff.wecom_userid], texts[0], now=now, dedupe_key=key)
        if first is None:  # queued by an earlier run today, with all its parts (same transaction)
            report.already_queued += 1
            continue
        for n, text in enumerate(texts[1:], start=2):
            queue_staff_text(session, [staff.wecom_userid], text, now=now, dedupe_key=f"{key}:{n}")
        report.recipients += 1
        report.messages += len(texts)
    return report


__all__ = [
    "DIGEST_TIME",
    "DigestItem",
    "DigestReport",
    "Section",
    "digest_recipients",
    "digest_sections",
    "digest_texts",
    "queue_daily_digest",
]

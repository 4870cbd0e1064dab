"""Factories for the workflow tests: the example company's org chart, complaints, a fixed clock.

The org chart is loaded with the real `sync_org` from bot/tousu.example.toml (plus a few people the
tests need), so the permission rules are exercised against the configuration a company would write.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.config import CompanyPolicy, load_policy
from handlers.context import HandlerContext
from handlers.org import sync_org
from handlers.sla.calendar import SHANGHAI
from handlers.workflow import operations as ops
from handlers.workflow.deadlines import open_initial_deadlines
from storage.models import (
    Complaint,
    Deadline,
    DeadlineStatus,
    Department,
    OutboxMessage,
    Severity,
    Source,
    Staff,
    TimelineEvent,
)

_serial = itertools.count(1)

# People the example file does not have: a second handler in 生产部 and a second manager/approver.
EXTRA_STAFF = [
    {"userid": "qian.hao", "name": "钱浩", "department": "production", "roles": ["handler"]},
    {"userid": "wu.fang", "name": "吴芳", "department": "management", "roles": ["management", "approver"]},
    {"userid": "zheng.kai", "name": "郑凯", "department": "sales", "roles": ["handler"]},
]


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """An Asia/Shanghai wall-clock moment (as the rules speak), converted to UTC as stored."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(dt.UTC)


def eod(year: int, month: int, day: int) -> dt.datetime:
    return local(year, month, day, 23, 59, 59)


def company(base: Mapping[str, Any], **sections: Mapping[str, Any]) -> dict[str, Any]:
    """The example configuration with some sections replaced (deep-copied: the fixture is shared)."""
    config = copy.deepcopy(dict(base))
    for name, value in sections.items():
        merged = dict(config.get(name) or {})
        merged.update(value)
        config[name] = merged
    return config


@dataclass
class World:
    """The org chart as loaded, and a clock that tests move by hand."""

    session: Session
    config: dict[str, Any]
    now: dt.datetime
    staff: dict[str, Staff] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)

    @property
    def policy(self) -> CompanyPolicy:
        """The configuration as every process sees it: parsed and checked once."""
        return load_policy(self.config)

    def ctx(self, now: dt.datetime | None = None) -> HandlerContext:
        return HandlerContext(now=now or self.now, policy=self.policy)

    def at(self, moment: dt.datetime) -> HandlerContext:
        self.now = moment
        return self.ctx()

    def __getitem__(self, userid: str) -> Staff:
        return self.staff[userid]

    def dept(self, code: str) -> Department:
        return self.departments[code]


def make_world(session: Session, config: Mapping[str, Any], *, now: dt.datetime | None = None) -> World:
    conf = copy.deepcopy(dict(config))
    org = dict(conf.get("org") or {})
    org["staff"] = [*org.get("staff", []), *EXTRA_STAFF]
    conf["org"] = org
    sync_org(session, load_policy(conf).org)
    world = World(session=session, config=conf, now=now or local(2026, 2, 13, 10, 0))
    world.staff = {s.wecom_userid: s for s in session.scalars(sa.select(Staff))}
    world.departments = {d.code: d for d in session.scalars(sa.select(Department))}
    return world


def make_complaint(
    world: World,
    *,
    received_at: dt.datetime | None = None,
    registered_at: dt.datetime | None = None,
    category: str = "product_quality",
    severity: Severity = Severity.GENERAL,
    source: Source = Source.WECHAT,
    openid: str | None = "oCUSTOMER0000000000000001",
    open_deadlines: bool = True,
    **fields: Any,
) -> Complaint:
    """A registered complaint as the intake writes it, with its initial deadlines."""
    received = received_at or world.now
    registered = registered_at or received
    serial = next(_serial)
    complaint = Complaint(
        number=fields.pop("number", f"2602{serial:04d}"),
        source=source,
        received_at=received,
        registered_at=registered,
        openid=openid if source is Source.WECHAT else fields.pop("openid", None),
        complainant_name=fields.pop("complainant_name", "洛阳某某机械厂"),
        contact_person=fields.pop("contact_person", "王工"),
        phone=fields.pop("phone", "+8613800138000"),
        category=category,
        description=fields.pop("description", "6061-T6铝板表面有划痕，约3吨"),
        severity=severity,
        sla_preset=fields.pop("sla_preset", ""),
        **fields,
    )
    world.session.add(complaint)
    world.session.flush()
    if open_deadlines:
        open_initial_deadlines(world.session, complaint, registered, policy=world.policy)
    return complaint


def triaged(world: World, complaint: Complaint, **kwargs: Any) -> Complaint:
    """Triage by the quality office (李娜), valid, with the given routing."""
    ops.triage(world.session, world["li.na"], complaint, ctx=world.ctx(), valid=True, **kwargs)
    return complaint


def assigned(world: World, complaint: Complaint, *, department: str = "production",
             responsible: str | None = "zhao.lei", **kwargs: Any) -> Complaint:
    return triaged(world, complaint, handling_department=world.dept(department),
                   responsible=world[responsible] if responsible else None, **kwargs)


def investigated(world: World, complaint: Complaint, *, actor: str = "zhao.lei") -> Complaint:
    """Assigned (if needed), investigation started, recorded (公司责任) and reported."""
    if complaint.status.value == "registered":
        assigned(world, complaint)
    staff = world[actor]
    ops.start_investigation(world.session, staff, complaint, ctx=world.ctx())
    ops.record_investigation(
        world.session, staff, complaint, ctx=world.ctx(), methods=["site_check", "retest"],
        findings="表面划痕系包装衬纸缺失所致", cause="transport_storage", responsibility="company",
        responsible_department=world.dept("logistics"), responsibility_type="direct",
    )
    ops.submit_report(world.session, staff, complaint, ctx=world.ctx(), report_text="包装衬纸缺失导致运输中摩擦划伤。")
    return complaint


def deadline(session: Session, complaint: Complaint, milestone: str, *, unmet: bool = False) -> Deadline:
    query = sa.select(Deadline).where(Deadline.complaint_id == complaint.id, Deadline.milestone == milestone)
    if unmet:
        query = query.where(Deadline.status.in_([DeadlineStatus.OPEN, DeadlineStatus.BREACHED]))
    rows = list(session.scalars(query.order_by(Deadline.id)))
    assert rows, f"no {milestone} deadline"
    return rows[-1]


def milestones(session: Session, complaint: Complaint) -> dict[str, tuple[str, dt.datetime]]:
    """milestone → (status, due) of the latest row of each milestone."""
    rows = session.scalars(sa.select(Deadline).where(Deadline.complaint_id == complaint.id).order_by(Deadline.id))
    return {row.milestone: (row.status.value, row.due_at) for row in rows}


def timeline(session: Session, complaint: Complaint) -> list[TimelineEvent]:
    return list(
        session.scalars(
            sa.select(TimelineEvent).where(TimelineEvent.complaint_id == complaint.id).order_by(TimelineEvent.id)
        )
    )


def actions(session: Session, complaint: Complaint) -> list[str]:
    return [event.action for event in timeline(session, complaint)]


def outbox(
    session: Session, *, recipient: str | None = None, complaint: Complaint | None = None
) -> list[OutboxMessage]:
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    if complaint is not None:
        query = query.where(OutboxMessage.complaint_id == complaint.id)
    return list(session.scalars(query))


def texts(session: Session, recipient: str, complaint: Complaint | None = None) -> list[str]:
    return [m.payload["text"] for m in outbox(session, recipient=recipient, complaint=complaint)]

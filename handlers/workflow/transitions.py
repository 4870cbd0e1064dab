"""The complaint lifecycle as ONE transition table, and the one function that applies it.

DOMAIN.md draws the lifecycle::

    registered → triaged ─┬→ invalid (explained, closed)
                          └→ assigned → investigating → plan_pending (重大, or money) → implementing
      → resolved → surveying → closed
    surveying/resolved --unsatisfied--> reopened → investigating

Every operation in ``operations.py`` names its `Action` and calls `apply`, which looks the pair
(current state, action) up in `TRANSITIONS`, refuses anything that is not an arrow (or an explicit
self-loop: a step recorded without leaving the state) with `IllegalTransition`, sets the new state and
writes the one timeline event of the change (`record_event`, which every timeline row goes through) — who,
when, from/to and the before/after of every field.
Guards that depend on earlier steps (a plan must be approved before it starts) are the operations'
business and raise `PreconditionFailed`; this table says only which moves exist.

How the arrows are walked:

* ``triage`` registered → triaged; ``mark_invalid`` triaged → invalid (terminal, the case is closed);
* ``assign`` triaged → assigned; ``start_investigation`` assigned/reopened → investigating;
* ``propose_plan`` stays in investigating when no approval is needed, ``submit_plan_for_approval``
  goes to plan_pending; ``approve_plan`` is recorded in plan_pending, ``reject_plan`` goes back to
  investigating; ``start_implementation`` investigating/plan_pending → implementing;
* ``feed_back_result`` implementing → resolved; ``record_follow_up`` (回访) resolved → surveying (or
  another visit in surveying), as the survey will later; ``close`` surveying → closed;
* ``reopen`` resolved/surveying → reopened (不满意, 直至客户满意).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from sqlalchemy.orm import Session

from handlers import webhooks
from handlers.privacy import mask_openid
from handlers.workflow.errors import IllegalTransition
from storage.models import ActorKind, Complaint, ComplaintStatus, Staff, TimelineEvent

S = ComplaintStatus

STATUS_LABELS: Final[Mapping[ComplaintStatus, str]] = MappingProxyType(
    {
        S.REGISTERED: "已登记",
        S.TRIAGED: "已分类",
        S.INVALID: "无效",
        S.ASSIGNED: "已交办",
        S.INVESTIGATING: "调查中",
        S.PLAN_PENDING: "方案待审批",
        S.IMPLEMENTING: "处置中",
        S.RESOLVED: "已反馈",
        S.SURVEYING: "回访中",
        S.CLOSED: "已办结",
        S.REOPENED: "重新处理",
    }
)

TERMINAL: Final = frozenset({S.CLOSED, S.INVALID})
OPEN_STATES: Final = frozenset(set(S) - TERMINAL)


class Action(enum.StrEnum):
    """Everything that can happen to a complaint, named as the operations are."""

    TRIAGE = "triage"
    MARK_INVALID = "mark_invalid"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    CHANGE_SEVERITY = "change_severity"
    RECORD_COMPLAINED_STAFF = "record_complained_staff"
    RECORD_CONTACT = "record_contact"
    START_INVESTIGATION = "start_investigation"
    RECORD_INVESTIGATION = "record_investigation"
    DECIDE_SITE_VISIT = "decide_site_visit"
    RECORD_SITE_VISIT = "record_site_visit"
    RECEIVE_SAMPLE = "receive_sample"
    RECORD_RETEST = "record_retest"
    SUBMIT_REPORT = "submit_report"
    PROPOSE_PLAN = "propose_plan"
    SUBMIT_PLAN_FOR_APPROVAL = "submit_plan_for_approval"
    APPROVE_PLAN = "approve_plan"
    REJECT_PLAN = "reject_plan"
    START_IMPLEMENTATION = "start_implementation"
    COMPLETE_IMPLEMENTATION = "complete_implementation"
    ADD_PROGRESS_NOTE = "add_progress_note"
    FEED_BACK_RESULT = "feed_back_result"
    START_SURVEY = "start_survey"
    RECORD_FOLLOW_UP = "record_follow_up"
    REQUEST_EXTENSION = "request_extension"
    ANSWER_EXTENSION = "answer_extension"
    REOPEN = "reopen"
    CLOSE = "close"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


A = Action

ACTION_LABELS: Final[Mapping[Action, str]] = MappingProxyType(
    {
        A.TRIAGE: "分类",
        A.MARK_INVALID: "判定无效",
        A.ASSIGN: "交办",
        A.REASSIGN: "改派",
        A.CHANGE_SEVERITY: "调整严重程度",
        A.RECORD_COMPLAINED_STAFF: "登记被投诉人",
        A.RECORD_CONTACT: "联系投诉人",
        A.START_INVESTIGATION: "开始调查",
        A.RECORD_INVESTIGATION: "记录调查情况",
        A.DECIDE_SITE_VISIT: "决定现场核查",
        A.RECORD_SITE_VISIT: "到达现场",
        A.RECEIVE_SAMPLE: "收到复检样品",
        A.RECORD_RETEST: "出具复检报告",
        A.SUBMIT_REPORT: "提交调查分析报告",
        A.PROPOSE_PLAN: "制定处置方案",
        A.SUBMIT_PLAN_FOR_APPROVAL: "处置方案报批",
        A.APPROVE_PLAN: "批准处置方案",
        A.REJECT_PLAN: "驳回处置方案",
        A.START_IMPLEMENTATION: "启动实施",
        A.COMPLETE_IMPLEMENTATION: "实施完成",
        A.ADD_PROGRESS_NOTE: "记录进展",
        A.FEED_BACK_RESULT: "反馈处理结果",
        A.START_SURVEY: "发起满意度评价",
        A.RECORD_FOLLOW_UP: "回访",
        A.REQUEST_EXTENSION: "申请延期",
        A.ANSWER_EXTENSION: "延期答复",
        A.REOPEN: "重新处理",
        A.CLOSE: "办结",
    }
)

# States in which the case is being worked on (after assignment, before the result is fed back).
_IN_HAND: Final = (S.ASSIGNED, S.INVESTIGATING, S.PLAN_PENDING, S.IMPLEMENTING, S.REOPENED)
_OPEN: Final = tuple(s for s in S if s not in TERMINAL)


def _stay(action: Action, states: tuple[ComplaintStatus, ...]) -> dict[tuple[ComplaintStatus, Action], ComplaintStatus]:
    return {(state, action): state for state in states}


TRANSITIONS: Final[Mapping[tuple[ComplaintStatus, Action], ComplaintStatus]] = MappingProxyType(
    {
        # the arrows of DOMAIN.md
        (S.REGISTERED, A.TRIAGE): S.TRIAGED,
        (S.TRIAGED, A.MARK_INVALID): S.INVALID,
        (S.TRIAGED, A.ASSIGN): S.ASSIGNED,
        (S.ASSIGNED, A.START_INVESTIGATION): S.INVESTIGATING,
        (S.REOPENED, A.START_INVESTIGATION): S.INVESTIGATING,
        (S.INVESTIGATING, A.SUBMIT_PLAN_FOR_APPROVAL): S.PLAN_PENDING,
        (S.PLAN_PENDING, A.REJECT_PLAN): S.INVESTIGATING,
        (S.INVESTIGATING, A.START_IMPLEMENTATION): S.IMPLEMENTING,  # plan needing no approval
        (S.PLAN_PENDING, A.START_IMPLEMENTATION): S.IMPLEMENTING,  # approved plan
        (S.IMPLEMENTING, A.FEED_BACK_RESULT): S.RESOLVED,
        (S.RESOLVED, A.START_SURVEY): S.SURVEYING,
        (S.RESOLVED, A.RECORD_FOLLOW_UP): S.SURVEYING,
        (S.SURVEYING, A.CLOSE): S.CLOSED,
        (S.RESOLVED, A.REOPEN): S.REOPENED,
        (S.SURVEYING, A.REOPEN): S.REOPENED,
        # steps recorded without leaving the state
        (S.INVESTIGATING, A.RECORD_INVESTIGATION): S.INVESTIGATING,
        (S.INVESTIGATING, A.DECIDE_SITE_VISIT): S.INVESTIGATING,
        (S.INVESTIGATING, A.RECORD_SITE_VISIT): S.INVESTIGATING,
        (S.INVESTIGATING, A.RECEIVE_SAMPLE): S.INVESTIGATING,
        (S.INVESTIGATING, A.RECORD_RETEST): S.INVESTIGATING,
        (S.INVESTIGATING, A.SUBMIT_REPORT): S.INVESTIGATING,
        (S.INVESTIGATING, A.PROPOSE_PLAN): S.INVESTIGATING,
        (S.PLAN_PENDING, A.APPROVE_PLAN): S.PLAN_PENDING,
        (S.IMPLEMENTING, A.COMPLETE_IMPLEMENTATION): S.IMPLEMENTING,
        (S.SURVEYING, A.RECORD_FOLLOW_UP): S.SURVEYING,
        **_stay(A.REASSIGN, _IN_HAND),
        **_stay(A.REQUEST_EXTENSION, (S.TRIAGED, *_IN_HAND)),
        **_stay(A.ANSWER_EXTENSION, _OPEN),  # the answer may arrive after the case moved on
        **_stay(A.CHANGE_SEVERITY, _OPEN),
        **_stay(A.RECORD_COMPLAINED_STAFF, _OPEN),
        **_stay(A.RECORD_CONTACT, _OPEN),
        **_stay(A.ADD_PROGRESS_NOTE, _OPEN),
    }
)


def allowed_actions(state: ComplaintStatus) -> list[Action]:
    """The actions the table allows in ``state`` (for the console's buttons)."""
    return [action for (from_state, action) in TRANSITIONS if from_state == state]


def target_state(state: ComplaintStatus, action: Action) -> ComplaintStatus:
    """Where ``action`` leads from ``state``; `IllegalTransition` naming both if it is not allowed."""
    target = TRANSITIONS.get((ComplaintStatus(state), Action(action)))
    if target is None:
        raise IllegalTransition(
            str(state), str(action), state_label=STATUS_LABELS[ComplaintStatus(state)], action_label=action.label
        )
    return target


@dataclass(frozen=True)
class Actor:
    """Who did it, as the timeline records it: a staff member, the complainant, or the system."""

    kind: ActorKind
    id: str | None = None
    name: str | None = None
    staff: Staff | None = None

    @classmethod
    def of(cls, staff: Staff) -> Actor:
        return cls(ActorKind.STAFF, str(staff.id), staff.name, staff)

    @classmethod
    def customer(cls, openid: str | None) -> Actor:
        return cls(ActorKind.CUSTOMER, mask_openid(openid) if openid else None, "投诉人")

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM, None, "系统")


def json_value(value: Any) -> Any:
    """A value as the timeline's JSON holds it (dates ISO 8601, decimals and enums as strings)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def changes(**pairs: tuple[Any, Any]) -> dict[str, dict[str, Any]]:
    """``changes(severity=(old, new))`` → the timeline's before/after map, leaving out what did not change."""
    return {
        name: {"before": json_value(before), "after": json_value(after)}
        for name, (before, after) in pairs.items()
        if json_value(before) != json_value(after)
    }


def apply(
    session: Session,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    at: dt.datetime,
    *,
    changed: Mapping[str, Mapping[str, Any]] | None = None,
    details: Mapping[str, Any] | None = None,
    sla_events: tuple[str, ...] = (),
) -> TimelineEvent:
    """Apply ``action`` to ``complaint``: check the table, set the state, write the timeline event.

    ``changed`` is the before/after of every field the operation changed (see `changes`);
    ``sla_events`` are the SLA events (handlers.sla.EVENTS) this step is, kept on the timeline so that
    a later recomputation knows when each anchor happened. Flushes, never commits.
    """
    before = complaint.status
    complaint.status = target_state(before, action)
    return record_event(
        session, complaint, action.value, actor, at, before=before, changed=changed, details=details,
        sla_events=sla_events,
    )


__all__ = [
    "ACTION_LABELS",
    "OPEN_STATES",
    "STATUS_LABELS",
    "TERMINAL",
    "TRANSITIONS",
    "Action",
    "Actor",
    "allowed_actions",
    "apply",
    "changes",
    "json_value",
    "log_event",
    "record_event",
    "target_state",
]


def log_event(
    session: Session, complaint: Complaint, name: str, actor: Actor, at: dt.datetime, details: Mapping[str, Any],
    *, flush: bool = True,
) -> TimelineEvent:
    """A timeline entry that is not a state change (a deadline breached, an extension expired…)."""
    return record_event(session, complaint, name, actor, at, details=details, flush=flush)


def record_event(
    session: Session,
    complaint: Complaint,
    action: str,
    actor: Actor,
    at: dt.datetime,
    *,
    before: ComplaintStatus | None = None,
    created: bool = False,
    changed: Mapping[str, Mapping[str, Any]] | None = None,
    details: Mapping[str, Any] | None = None,
    sla_events: tuple[str, ...] = (),
    flush: bool = True,
) -> TimelineEvent:
    """Write one timeline row: the one place every row (state change, event, registration, 人工) is made.

    The row says who (``actor``: kind, id — a customer's openid masked by :class:`Actor` — and ``by``, the
    name shown), what (``action``), and the state before and after (``from``/``to``: ``before`` defaults
    to the current state, a row that creates the complaint has ``from`` null). A state change (and the row
    that creates the complaint) also queues the configured webhook, in the same transaction
    (`handlers.webhooks.queue_change`). ``changed`` is the
    before/after of every field (see `changes`), ``details`` anything else, as JSON. Flushes (unless
    ``flush=False``: a job writing many rows lets the next flush write them together), never commits.
    """
    record: dict[str, Any] = {
        "from": None if created else (before or complaint.status).value,
        "to": complaint.status.value,
    }
    if changed:
        record["changes"] = {str(name): dict(pair) for name, pair in changed.items()}
    if sla_events:
        record["sla_events"] = list(sla_events)
    if actor.name:
        record["by"] = actor.name
    for key, value in (details or {}).items():
        record[key] = json_value(value)
    event = TimelineEvent(
        complaint_id=complaint.id, at=at, actor_kind=actor.kind, actor_id=actor.id, action=action, details=record,
    )
    session.add(event)
    if flush:
        session.flush()
    if created or (before is not None and before is not complaint.status):
        webhooks.queue_change(session, complaint, event)
    return event

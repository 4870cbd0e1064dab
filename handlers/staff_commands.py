"""WeCom chat commands (企业微信应用内指令): staff on the move work their cases from the app's chat.

``route_staff`` (handlers/router.py) hands every text a member of staff sends the WeCom app to
:func:`answer`. Who is asking is the message's FromUserName, a WeCom userid, looked up in the org chart
by `wecom_signin.wecom_member` (the rule the WeCom sign-in uses): anyone unknown, console-only,
deactivated or with a disabled account gets a polite refusal and nothing else.

The commands, and what each one is in the workflow (the same operations the console's case page calls,
through the same door, `available.run_action`: lock, availability, perform, version):

====================================  ==========================================================
``待办``                               the cases waiting for the reader (`task_list.my_tasks_clause`,
                                       the dashboard's 我的待办) and the open staff tasks on cases in
                                       scope (`task_list.visible_open_tasks`)
``查 26110001``                        the case as the console's case page shows it to the reader
                                       (`ledger.reader_rows`: `scope.PersonalDataAccess` masking),
                                       audited as ``case.viewed`` like the page
``接单 26110001``                      `Action.START_INVESTIGATION` (开始调查): the step a handling
                                       department takes when it picks up an assigned (or reopened)
                                       case; DOMAIN.md's 受理→交办→处理 and the SLA's "investigation
                                       starts within 2 h of hand-over" are met by it
``进度 26110001 <情况>``               `Action.ADD_PROGRESS_NOTE` (记录进展), staff-only
``反馈 26110001 <结果>``               `Action.FEED_BACK_RESULT` (反馈处理结果), to the complainant in
                                       WeChat; ``反馈 26110001 电话：<结果>`` records how a case filed
                                       elsewhere was told (the console's 反馈方式)
``延期 26110001 <天数> <原因>``        `Action.REQUEST_EXTENSION` (申请延期) to
                                       `available.extended_due_date` (N working days after the deadline)
``帮助`` / anything else               the list of commands
====================================  ==========================================================

A case outside the reader's scope answers exactly like a number that does not exist. A refused action
answers with the workflow's own Chinese reason (the text the console shows), and everything the
operation had written is rolled back (a savepoint), while the delivery itself is recorded, so WeCom's
retries of one command act once (`storage.inbound` claims each MsgId once). Long answers are split to
WeCom's 2048 bytes by the delivery (`bot.inbound.deliver`: the first piece is the passive reply, the rest
go out as WeCom app messages through the outbox).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers import audit
from handlers.context import HandlerContext
from handlers.ledger import reader_rows
from handlers.messages import IncomingMessage, Reply
from handlers.privacy import mask_openid
from handlers.render import render_message
from handlers.text import clean_text
from handlers.wecom_signin import wecom_member
from handlers.workflow import operations as ops
from handlers.workflow.available import available_actions, extended_due_date, run_action
from handlers.workflow.errors import WorkflowError
from handlers.workflow.notify import case_link, local_time
from handlers.workflow.scope import find_visible, personal_data_access, visible_complaints
from handlers.workflow.task_list import my_tasks_clause, visible_open_tasks
from handlers.workflow.transitions import STATUS_LABELS, Action
from handlers.workflow.vocab import CONTACT_METHODS
from storage.models import Complaint, Severity, Staff

log = logging.getLogger("tousu.staff_commands")

#: How the audit trail names this door (``case.viewed`` by ``查``).
WECOM_ORIGIN: Final = audit.Origin(user_agent="wecom command")
#: The longest extension a command may ask, as the console's form (延长工作日数 1–60).
MAX_EXTENSION_DAYS: Final = 60
#: How many cases and tasks ``待办`` lists (the dashboard's page size); the total is always given. With each task's
#: text cut to 60 characters (templates/messages/staff/todo.txt.j2) the longest answer is a few WeCom texts, far
#: from WeCom's 30 messages per member per minute (WECHAT.md).
AGENDA_LIMIT: Final = 50

AGENDA, SHOW, ACCEPT, PROGRESS, FEED_BACK, EXTEND, HELP = "待办", "查", "接单", "进度", "反馈", "延期", "帮助"
_WORDS = (AGENDA, SHOW, ACCEPT, PROGRESS, FEED_BACK, EXTEND, HELP)
# The command word, then a space, a digit (查26110001) or the end: 查询 is no command.
_COMMAND = re.compile(rf"^(?P<word>{'|'.join(_WORDS)})(?=\s|[0-9０-９]|$)\s*(?P<rest>.*)$", re.S)
_NUMBER = re.compile(r"^[0-9]{8,10}$")  # YYMM + serial (storage/numbering.py), as customers type it too
_DAYS = re.compile(r"^[0-9]{1,3}$")

#: The command that does each action (to tell the reader what they can do next from the chat).
COMMAND_OF: Final[dict[Action, str]] = {
    Action.START_INVESTIGATION: ACCEPT,
    Action.ADD_PROGRESS_NOTE: PROGRESS,
    Action.FEED_BACK_RESULT: FEED_BACK,
    Action.REQUEST_EXTENSION: EXTEND,
}


@dataclass(frozen=True)
class Command:
    """One parsed message: the command word, the case number as typed (None if absent), the rest."""

    word: str
    number: str | None
    rest: str


def parse(text: str | None) -> Command | None:
    """The command a message is, or None (then the help answers). Full-width digits count as digits."""
    if not text:
        return None
    cleaned = clean_text(text, fold=False)
    match = _COMMAND.match(cleaned)
    if match is None:
        return None
    rest = match["rest"].strip()
    first, _, tail = rest.partition(" ")
    number = unicodedata.normalize("NFKC", first) if first else None
    return Command(match["word"], number, tail.strip())


def answer(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Answer one message a member of staff sent the WeCom app; writes go through ``session``."""
    member = wecom_member(session, message.sender)
    if member.outcome != "ok" or member.staff is None:
        log.info("wecom command refused: %s userid=%s", member.outcome, mask_openid(message.sender))
        return _reply("refused", "staff_refused", ctx)
    staff = member.staff
    command = parse(message.text if message.kind == "text" else None)
    if command is None or command.word == HELP:
        return _reply("help", "staff_help", ctx)
    if command.word == AGENDA:
        return _todo(session, staff, ctx)
    if command.number is None or not _NUMBER.match(command.number):
        return _usage(command.word, ctx, bad_number=command.number)
    if command.word == SHOW:
        return _show(session, staff, command.number, ctx)
    return _act(session, staff, command, ctx)


def _reply(template: str, handler: str, ctx: HandlerContext, **values: Any) -> Reply:
    return Reply([render_message(f"staff/{template}", ctx=ctx, **values)], handler=handler)


def _usage(word: str, ctx: HandlerContext, *, bad_number: str | None = None) -> Reply:
    return _reply("usage", "staff_usage", ctx, word=word, bad_number=bad_number, max_days=MAX_EXTENSION_DAYS)


def _not_found(number: str, ctx: HandlerContext) -> Reply:
    """The same answer for a number that does not exist and one outside the reader's scope."""
    return _reply("not_found", "staff_not_found", ctx, number=number)


# -- reading --------------------------------------------------------------------------------------------


def _todo(session: Session, staff: Staff, ctx: HandlerContext) -> Reply:
    """``待办``: the dashboard's 我的待办 and 待办任务, within the reader's scope."""
    query = visible_complaints(session, staff).where(my_tasks_clause(session, staff))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    cases = list(session.scalars(query.order_by(Complaint.due_at.asc().nulls_last(), Complaint.id)
                                 .limit(AGENDA_LIMIT)))
    rows = reader_rows(session, staff, cases, now=ctx.now, settings=ctx.policy.workflow)
    tasks = visible_open_tasks(session, staff, ctx.policy.workflow, limit=AGENDA_LIMIT)
    return _reply("todo", "staff_todo", ctx, person=staff.name, total=total, rows=rows, tasks=tasks,
                  status_labels=STATUS_LABELS, local_time=local_time)


def _show(session: Session, staff: Staff, number: str, ctx: HandlerContext) -> Reply:
    """``查 N``: the case page's summary, masked for the reader, and what they can do next."""
    complaint = find_visible(session, staff, number=number)
    if complaint is None:
        return _not_found(number, ctx)
    access = personal_data_access(session, staff, complaint, ctx.policy.workflow)
    (row,) = reader_rows(session, staff, [complaint], now=ctx.now, settings=ctx.policy.workflow)
    actions = available_actions(session, staff, complaint)
    audit.record(session, audit.CASE_VIEWED, now=ctx.now, origin=WECOM_ORIGIN, actor=staff, complaint=complaint,
                 personal_data=access.any,
                 details={"identity": access.identity, "full_phone": access.full_phone, "via": "wecom"})
    return _reply("case", "staff_case", ctx, row=row, complaint=complaint, category=ctx.policy.category_label(
        complaint.category), major=complaint.severity is Severity.MAJOR, status=STATUS_LABELS[complaint.status],
        description=access.text(complaint.description), result=access.text(complaint.result_text),
        actions=actions, commands=[COMMAND_OF[a] for a in actions if a in COMMAND_OF], local_time=local_time,
        link=case_link(complaint))


# -- acting ---------------------------------------------------------------------------------------------

Perform = Callable[[Session, Staff, Complaint, HandlerContext, Command], Any]


def _accept(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, command: Command) -> Any:
    return ops.start_investigation(s, staff, c, ctx=ctx)


def _progress(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, command: Command) -> Any:
    return ops.add_progress_note(s, staff, c, ctx=ctx, text=command.rest)


def feed_back_channel(text: str) -> tuple[str | None, str]:
    """``电话：已电话告知…`` → ("phone", "已电话告知…"): how the complainant was told, when the result names it
    (a case not filed through WeChat must say; the console asks it as 反馈方式). Else (None, text)."""
    label, colon, body = text.partition("：") if "：" in text else text.partition(":")
    codes = {name: code for code, name in CONTACT_METHODS.items()}
    if colon and label.strip() in codes and body.strip():
        return codes[label.strip()], body.strip()
    return None, text


def _feed_back(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, command: Command) -> Any:
    channel, text = feed_back_channel(command.rest)
    return ops.feed_back_result(s, staff, c, ctx=ctx, text=text, channel=channel)


def _extend(s: Session, staff: Staff, c: Complaint, ctx: HandlerContext, command: Command) -> Any:
    days, _, reason = command.rest.partition(" ")
    new_due = extended_due_date(s, c, int(unicodedata.normalize("NFKC", days)), ctx.policy)
    return ops.request_extension(s, staff, c, ctx=ctx, reason=reason.strip(), new_due=new_due)


@dataclass(frozen=True)
class Operation:
    """What a command that acts does: its action, the call, and whether text must follow the number."""

    action: Action
    perform: Perform
    needs_text: bool


OPERATIONS: Final[dict[str, Operation]] = {
    ACCEPT: Operation(Action.START_INVESTIGATION, _accept, needs_text=False),
    PROGRESS: Operation(Action.ADD_PROGRESS_NOTE, _progress, needs_text=True),
    FEED_BACK: Operation(Action.FEED_BACK_RESULT, _feed_back, needs_text=True),
    EXTEND: Operation(Action.REQUEST_EXTENSION, _extend, needs_text=True),
}


def _well_formed(command: Command) -> bool:
    """Whether the words after the number are what the command needs (else the usage hint answers)."""
    operation = OPERATIONS[command.word]
    if operation.needs_text and not command.rest:
        return False
    if command.word == EXTEND:
        days, _, reason = command.rest.partition(" ")
        days = unicodedata.normalize("NFKC", days)
        return bool(_DAYS.match(days)) and 1 <= int(days) <= MAX_EXTENSION_DAYS and bool(reason.strip())
    return True


def _act(session: Session, staff: Staff, command: Command, ctx: HandlerContext) -> Reply:
    """Do the command's action through `run_action`, or answer why not (the console's Chinese reason)."""
    assert command.number is not None  # checked by answer()
    operation = OPERATIONS[command.word]
    if not _well_formed(command):
        return _usage(command.word, ctx)
    visible = find_visible(session, staff, number=command.number)
    if visible is None:
        return _not_found(command.number, ctx)
    label = operation.action.label
    try:
        with session.begin_nested():  # a refusal undoes the operation's writes, not the delivery's record
            # A chat command is not answered from a page that may have gone stale: it acts on the case as it
            # is once locked, so the version it "saw" is the locked row's.
            current = ops.load_complaint(session, visible.id)
            result = run_action(session, staff, visible.id, operation.action, current.version,
                                lambda complaint: operation.perform(session, staff, complaint, ctx, command))
    except WorkflowError as exc:  # CaseChanged included, though the locked row's version cannot be stale
        return _reply("failed", "staff_failed", ctx, number=command.number, label=label, reason=str(exc))
    complaint = ops.load_complaint(session, visible.id, for_update=False)
    return _reply("done", "staff_done", ctx, word=command.word, number=command.number, label=label,
                  status=STATUS_LABELS[complaint.status], result=result, local_time=local_time,
                  contact_methods=CONTACT_METHODS,
                  next_commands=[COMMAND_OF[a] for a in available_actions(session, staff, complaint)
                                 if a in COMMAND_OF])


__all__ = ["COMMAND_OF", "OPERATIONS", "WECOM_ORIGIN", "Command", "answer", "feed_back_channel", "parse"]

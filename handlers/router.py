"""The explicit router: which flow answers an inbound message.

Order matters and is written out here, not discovered:

1. events: subscribe → welcome; unsubscribe → forget the follower's draft and pending messages;
   menu clicks COMPLAIN / STATUS / FAQ;
2. the follower's conversation row is locked (two messages from one follower apply one after the other);
3. pending questions owned by other flows (:data:`PENDING_QUESTION_FLOWS`: survey answer, extension
   consent), so "1"–"5" / "同意" answer them first;
4. the FAQ menu's number, if the menu is open;
5. an active intake conversation (handlers/intake);
6. status query: ``查询`` or a complaint number (handlers/status.py);
7. ``人工`` (a phone call) and ``投诉`` / ``我要投诉``;
8. a FAQ match (handlers/faq.py); praise and price/product enquiries (handlers/text/intent.py) are answered
   (a thank-you passed to the department, a pointer to sales) and start nothing;
9. any substantive text, or a photo/file: offer (or start) a complaint, pre-filled by extraction;
10. help.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from handlers import faq, intake, staff_commands, status, survey
from handlers.context import HandlerContext
from handlers.intake import commands as cmd
from handlers.intake.state import ConversationRow
from handlers.messages import IncomingMessage, Reply
from handlers.render import render_message
from handlers.text.intent import intent_of
from handlers.workflow import consent
from storage.models import IntakeMode

PendingQuestionFlow = Callable[[Session, ConversationRow, IncomingMessage, HandlerContext], Reply | None]

#: Flows that asked the follower a question and wait for the answer (the lead adds the survey answer
#: and the extension consent here). Each returns its Reply when the message answers its question, or
#: None to let the router go on. They run after the follower's row is locked and before intake.
PENDING_QUESTION_FLOWS: list[PendingQuestionFlow] = [
    survey.try_answer,  # 1–5 stars (★★★, 五星, 很满意…) to a satisfaction survey (满意度评价)
    consent.try_answer,  # 同意/不同意 to a deadline extension (延期) the handler asked for
]

MENU_COMPLAIN = "COMPLAIN"
MENU_STATUS = "STATUS"
MENU_FAQ = "FAQ"

_DRAFT_MODES = (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.RESUME)
_MEDIA = ("image", "video", "file")


def route(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Answer one customer message; writes go through ``session`` (the caller commits)."""
    if message.kind == "event":
        return _route_event(session, message, ctx)
    if message.kind == "unknown":
        return Reply([render_message("unknown_type", ctx=ctx)], handler="unknown")
    row = intake.lock_state(session, message.sender, ctx.now)
    for flow in PENDING_QUESTION_FLOWS:
        reply = flow(session, row, message, ctx)
        if reply is not None:
            return reply
    text = intake.message_text(message)
    if row.mode is IntakeMode.FAQ_MENU:
        reply = faq.answer_menu_choice(session, row, text, ctx)
        if reply is not None:
            return reply
    if row.mode in _DRAFT_MODES and status.is_status_request(text):
        return _with_draft_note(status.list_complaints(session, message.sender, ctx), ctx)
    reply = intake.handle(session, row, message, ctx)
    if reply is not None:
        return reply
    if status.is_status_request(text):
        return status.list_complaints(session, message.sender, ctx)
    number = status.complaint_number_in(text)
    if number is not None:
        return status.show_complaint(session, message.sender, number, ctx)
    command = cmd.command_of(text)
    if command == cmd.HUMAN:
        return intake.request_callback(session, row, message, ctx)
    if command == cmd.START:
        return intake.start(session, row, ctx)
    if command == cmd.HELP:
        return Reply([render_message("help", ctx=ctx)], handler="help")
    if command == cmd.FAQ:
        return faq.show_menu(session, row, ctx)
    entry = faq.match(session, text, ctx)
    if entry is not None:
        return faq.answer(entry, ctx)
    kind = intent_of(text, ctx.policy.understanding)
    if kind is not None:  # praise or a price/product enquiry: answered, nothing started
        return intake.answer_non_complaint(session, row, kind, text or "", ctx)
    if text is not None and intake.is_substantive(text, ctx):
        return intake.offer(session, row, message, ctx)
    if message.kind in _MEDIA or (message.kind == "voice" and text is None):
        return intake.offer(session, row, message, ctx)
    return Reply([render_message("help", ctx=ctx)], handler="help")


def _route_event(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    if message.event in ("subscribe", "scan"):
        return Reply([render_message("welcome", ctx=ctx)], handler="welcome")
    if message.event == "unsubscribe":
        intake.forget_customer(session, message.sender)
        return Reply([], handler="unsubscribe")
    if message.event == "click":
        return _route_menu(session, message, ctx)
    return Reply([], handler="event_ignored")


def _route_menu(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    key = (message.event_key or "").upper()
    if key == MENU_COMPLAIN:
        row = intake.lock_state(session, message.sender, ctx.now)
        return intake.continue_or_start(session, row, ctx)
    if key == MENU_STATUS:
        row = intake.lock_state(session, message.sender, ctx.now)
        reply = status.list_complaints(session, message.sender, ctx)
        return _with_draft_note(reply, ctx) if row.mode in _DRAFT_MODES else reply
    if key == MENU_FAQ:
        row = intake.lock_state(session, message.sender, ctx.now)
        return faq.show_menu(session, row, ctx)
    return Reply([render_message("help", ctx=ctx)], handler="menu")


def _with_draft_note(reply: Reply, ctx: HandlerContext) -> Reply:
    """A status answer in the middle of a draft reminds the follower how to go on."""
    note = render_message("intake/note/draft_waiting", ctx=ctx)
    return Reply([reply.texts[0] + "\n" + note, *reply.texts[1:]], handler=reply.handler)


def route_staff(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Answer one WeCom message from a member of staff: events (entering the app…) need no answer; every
    message goes to the chat commands (handlers/staff_commands.py: 待办, 查, 接单, 进度, 反馈, 延期, 帮助)."""
    if message.kind == "event":
        return Reply([], handler="staff_event")
    return staff_commands.answer(session, message, ctx)

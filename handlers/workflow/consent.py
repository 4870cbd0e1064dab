"""Extension consent in the complainant's chat (延期征询): ``同意`` / ``不同意`` answer the pending question.

The router calls `try_answer` among its pending-question hooks, before the intake and the general help
(CONVERSATION.md: while an extension question is pending, "同意"/"不同意" answer it first). It answers
only when this follower has an extension waiting and the text is a yes or a no; anything else returns
None so the next flow (status query, intake…) gets the message, and the question stays pending.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Reply
from handlers.render import render_message
from handlers.workflow import notify
from handlers.workflow.operations import answer_extension
from handlers.workflow.transitions import TERMINAL
from storage.models import Complaint, Extension, ExtensionStatus

if TYPE_CHECKING:
    from handlers.intake.state import ConversationRow

HANDLER_NAME = "extension_consent"

# Words that answer THIS question only. Deliberately narrower than a general yes/no: 确认, 提交, 是, 1 and 2
# belong to the intake form (its summary and its numbered choices), and a follower filling in a new
# complaint while an extension question is pending must not agree to an extension by confirming the form.
_CONSENT_WORDS = frozenset({"同意", "同意延期", "可以", "可以延期", "好", "好的", "行", "没问题", "接受", "ok", "okay"})
_REFUSAL_WORDS = frozenset({"不同意", "不同意延期", "不可以", "不行", "不好", "不接受", "拒绝", "不要延期", "不能延期"})
# Answers with a reason attached ("不同意，时间太长了") still count; the whole text is kept as the answer.
_REFUSAL_PREFIX = re.compile(r"^(?:我|我们)?(?:不同意|不接受|不答应|拒绝|不可以|不行)")
_CONSENT_PREFIX = re.compile(r"^(?:我|我们)?(?:同意|可以延期|接受延期)")
_PUNCTUATION = re.compile(r"[\s.,!?~。，！？…、:：;；\"'“”‘’]+")
_PARTICLES = re.compile(r"(?:的|啊|呀|吧|呢|哈|了)+$")
_NUMBER = re.compile(r"\d{8}")


def pending_extensions_for(session: Session, openid: str, now: dt.datetime) -> list[Extension]:
    """Extension questions this follower can still answer (oldest first): pending, before the old deadline."""
    rows = session.execute(
        sa.select(Extension, Complaint)
        .join(Complaint, Complaint.id == Extension.complaint_id)
        .where(
            Complaint.openid == openid,
            Extension.status == ExtensionStatus.PENDING,
            Extension.asked_via == "wechat",
            Extension.old_due_at >= now,
        )
        .order_by(Extension.requested_at, Extension.id)
    ).all()
    return [extension for extension, complaint in rows if complaint.status not in TERMINAL]


def parse_consent(text: str) -> bool | None:
    """True for 同意 (可以, 好的, 没问题…), False for 不同意 (不行, 拒绝, "不同意，时间太长了"…), else None."""
    cleaned = _PUNCTUATION.sub("", text.strip().lower())
    for candidate in (cleaned, _PARTICLES.sub("", cleaned)):
        if candidate in _REFUSAL_WORDS:
            return False
        if candidate in _CONSENT_WORDS:
            return True
    if _REFUSAL_PREFIX.match(cleaned):
        return False
    if _CONSENT_PREFIX.match(cleaned):
        return True
    return None


def try_answer(session: Session, row: ConversationRow, message: IncomingMessage, ctx: HandlerContext) -> Reply | None:
    """Answer a pending extension question from this message, or return None to let other flows try.

    ``row`` is the follower's conversation, locked by the router (a yes/no never answers the intake form, so
    this flow does not read it).

    With several questions pending (several complaints), a complaint number in the message picks
    one; otherwise the oldest question is answered and the reply mentions the next one.
    """
    if message.kind not in ("text", "voice") or not message.text:
        return None
    # Words first: a message that is not a yes/no cannot answer the question, and this check runs on
    # every message a follower sends, so it must not cost a query when there is nothing to answer.
    consent = parse_consent(_NUMBER.sub("", message.text))
    if consent is None:
        return None
    pending = pending_extensions_for(session, message.sender, ctx.now)
    if not pending:
        return None
    numbers = set(_NUMBER.findall(message.text))
    chosen = pending[0]
    complaints = {e.id: session.get(Complaint, e.complaint_id) for e in pending}
    for extension in pending:
        complaint = complaints[extension.id]
        if complaint is not None and complaint.number in numbers:
            chosen = extension
            break
    answer_extension(session, chosen, ctx=ctx, consent=consent, answer_text=message.text.strip())
    complaint = complaints[chosen.id]
    remaining = [e for e in pending if e.id != chosen.id]
    following = complaints[remaining[0].id] if remaining else None
    text = render_message(
        "workflow/extension_answer_reply",
        complaint=complaint,
        consent=consent,
        new_due=notify.local_time(chosen.new_due_at),
        due=notify.local_time(complaint.due_at if complaint else None),
        next_complaint=following,
        next_extension=remaining[0] if remaining else None,
        next_due=notify.local_time(remaining[0].new_due_at) if remaining else None,
    )
    return Reply([text], handler=HANDLER_NAME)


__all__ = ["HANDLER_NAME", "parse_consent", "pending_extensions_for", "try_answer"]

"""Status queries (进度查询): a follower sees their own complaints, and only their own.

``查询`` (or the 进度查询 menu) lists the asker's complaints, newest first: number, status in Chinese, the
next step and the due date when the workflow has set one. Sending a complaint number shows that one
complaint if it is the asker's; any other number, existing or not, gets the same neutral "未找到", so the
reply never tells a stranger whether a number exists.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from handlers.context import SHANGHAI, HandlerContext
from handlers.intake import commands as cmd
from handlers.messages import Reply
from handlers.render import render_message
from handlers.text import clean_text
from handlers.workflow.notify import customer_case_link
from storage.models import Complaint

#: How many complaints the list shows; older ones can still be asked for by number.
LIST_LIMIT = 5

_NUMBER = re.compile(r"^(?:投诉)?(?:编号|单号|号码)?\s*[:：]?\s*(?P<number>[0-9]{8,10})$")


def is_status_request(text: str | None) -> bool:
    """``查询``, ``查进度``, ``进度查询``, ``我的投诉`` …"""
    return cmd.is_(text, cmd.STATUS)


def complaint_number_in(text: str | None) -> str | None:
    """The complaint number a message consists of (``26110001``, ``编号：26110001``), else None."""
    if not text:
        return None
    m = _NUMBER.match(clean_text(text).replace(" ", ""))
    return m.group("number") if m else None


def _view(complaint: Complaint) -> dict[str, object]:
    due = complaint.due_at.astimezone(SHANGHAI).date() if complaint.due_at is not None else None
    received = complaint.received_at.astimezone(SHANGHAI).date()
    return {"number": complaint.number, "status": complaint.status.value, "due": due, "received": received,
            "closed": complaint.closed_at is not None}


def list_complaints(session: Session, openid: str, ctx: HandlerContext) -> Reply:
    """The asker's complaints, newest first (at most :data:`LIST_LIMIT`)."""
    query = sa.select(Complaint).where(Complaint.openid == openid)
    total = int(session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)
    complaints = session.scalars(
        query.order_by(Complaint.registered_at.desc(), Complaint.id.desc()).limit(LIST_LIMIT)
    ).all()
    if not complaints:
        return Reply([render_message("status/none", ctx=ctx)], handler="status")
    views = [_view(c) for c in complaints]
    text = render_message("status/list", ctx=ctx, complaints=views, more=max(total - len(views), 0))
    return Reply([text], handler="status")


def show_complaint(session: Session, openid: str, number: str, ctx: HandlerContext) -> Reply:
    """One complaint by number, only when it belongs to the asker; otherwise a neutral 未找到."""
    complaint = session.scalar(sa.select(Complaint).where(Complaint.number == number, Complaint.openid == openid))
    if complaint is None:
        return Reply([render_message("status/not_found", ctx=ctx, number=number)], handler="status")
    link = customer_case_link(complaint, now=ctx.now)
    return Reply([render_message("status/detail", ctx=ctx, complaint=_view(complaint), link=link)], handler="status")

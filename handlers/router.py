"""The explicit router: which flow answers an inbound message.

Order matters and is written out here, not discovered: events first (subscribe, unsubscribe, menu),
then flows that own a pending question, then the general help.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.messages import IncomingMessage, Reply
from handlers.render import render_message


def route(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Answer one customer message; writes go through ``session`` (the caller commits)."""
    if message.kind == "event":
        return _route_event(session, message, ctx)
    if message.kind == "unknown":
        return Reply([render_message("unknown_type", ctx=ctx)], handler="unknown")
    return Reply([render_message("help", ctx=ctx)], handler="help")


def _route_event(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    if message.event in ("subscribe", "subscribe_scan", "scan"):
        return Reply([render_message("welcome", ctx=ctx)], handler="welcome")
    if message.event == "unsubscribe":
        return Reply([], handler="unsubscribe")
    if message.event == "click":
        return Reply([render_message("help", ctx=ctx)], handler="menu")
    return Reply([], handler="event_ignored")


def route_staff(session: Session, message: IncomingMessage, ctx: HandlerContext) -> Reply:
    """Answer one WeCom message from a member of staff (chat commands come with the workflow)."""
    if message.kind == "event":
        return Reply([], handler="staff_event")
    return Reply([render_message("staff_help", ctx=ctx)], handler="staff_help")

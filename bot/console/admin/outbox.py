"""发送失败的消息: outbound messages that failed (or whose outcome is unknown), recipient masked, and
重新发送 through `storage.outbox.requeue_failed` (an unknown outcome only with an explicit confirmation,
since the recipient may have it already). Admin and office; a message of a case outside one's scope is
neither listed nor sendable (404)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session, checkbox, page_number
from bot.console.security import now, origin
from handlers import admin
from handlers.admin import AdminArea
from storage.outbox import RequeueRefused

bp = Blueprint("outbox", __name__, url_prefix="/outbox")
PER_PAGE = 30


@bp.get("/")
def index() -> ResponseReturnValue:
    page = page_number()
    with area_session(AdminArea.OUTBOX) as (s, staff):
        rows, total = admin.failed_messages(s, staff, page=page, per_page=PER_PAGE)
    return render_template("console/admin/outbox.html", rows=rows, total=total, page=page,
                           pages=admin.page_count(total, PER_PAGE))


@bp.post("/<int:message_id>/requeue")
def requeue(message_id: int) -> ResponseReturnValue:
    try:
        with area_session(AdminArea.OUTBOX, write=True) as (s, staff):
            admin.requeue_message(s, staff, message_id, seen=request.form.get("seen", ""),
                                  confirm_duplicate=checkbox("confirm_duplicate"), now=now(), origin=origin())
    except LookupError:
        abort(404)
    except RequeueRefused as exc:  # back to the list (Post/Redirect/Get), which says why and shows the row anew
        flash(str(message_id), f"outbox_{exc.code}")
        return redirect(url_for("console.admin.outbox.index", _anchor=f"message-{message_id}"))
    flash(str(message_id), "outbox_requeued")
    return redirect(url_for("console.admin.outbox.index"))

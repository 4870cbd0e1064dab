"""常见问题库: the FAQ customers are answered from (list, add, edit, disable/enable). Admin and office."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.console.admin.common import area_session
from bot.console.security import now, origin
from bot.runtime import runtime
from handlers import admin, faq
from handlers.admin import AdminArea

bp = Blueprint("faq", __name__, url_prefix="/faq")


def _form_input() -> faq.FaqInput:
    position = request.form.get("position", "").strip()
    return faq.FaqInput(
        question=request.form.get("question", ""),
        keywords=faq.parse_keywords(request.form.get("keywords", "")),
        answer=request.form.get("answer", ""),
        position=int(position) if position.isdigit() else None,
    )


def _form_page(entry_id: int | None, values: dict[str, str], error: faq.FaqError | None = None,
               status: int = 200) -> ResponseReturnValue:
    return render_template("console/admin/faq_form.html", entry_id=entry_id, values=values, error=error,
                           placeholders=faq.PLACEHOLDERS), status


@bp.get("/")
def index() -> ResponseReturnValue:
    with area_session(AdminArea.FAQ, write=True) as (s, _staff):  # write: an empty table is seeded first
        entries = faq.list_entries(s, runtime().settings.policy.faq)
    return render_template("console/admin/faq_list.html", entries=entries)


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    if request.method == "GET":
        with area_session(AdminArea.FAQ):
            return _form_page(None, {"question": "", "keywords": "", "answer": "", "position": ""})
    try:
        with area_session(AdminArea.FAQ, write=True) as (s, staff):
            entry = admin.create_faq(s, _form_input(), seeds=runtime().settings.policy.faq, now=now(),
                                     origin=origin(), by=staff)
            question = entry.question
    except faq.FaqError as exc:
        return _form_page(None, dict(request.form), exc, 400)
    flash(question, "faq_created")
    return redirect(url_for("console.admin.faq.index"))


@bp.route("/<int:entry_id>", methods=["GET", "POST"])
def edit(entry_id: int) -> ResponseReturnValue:
    if request.method == "GET":
        with area_session(AdminArea.FAQ) as (s, _staff):
            entry = faq.get_entry(s, entry_id)
            if entry is None:
                abort(404)
            values = {"question": entry.question, "keywords": "、".join(str(k) for k in entry.keywords or []),
                      "answer": entry.answer, "position": str(entry.position)}
            return render_template("console/admin/faq_form.html", entry_id=entry_id, values=values, error=None,
                                   placeholders=faq.PLACEHOLDERS, entry=entry)
    try:
        with area_session(AdminArea.FAQ, write=True) as (s, staff):
            entry = faq.get_entry(s, entry_id)
            if entry is None:
                abort(404)
            changes = admin.update_faq(s, entry, _form_input(), now=now(), origin=origin(), by=staff)
            question = entry.question
    except faq.FaqError as exc:
        return _form_page(entry_id, dict(request.form), exc, 400)
    flash(question, "faq_saved" if changes else "unchanged")
    return redirect(url_for("console.admin.faq.index"))


@bp.post("/<int:entry_id>/active")
def set_active(entry_id: int) -> ResponseReturnValue:
    active = request.form.get("active") == "1"
    with area_session(AdminArea.FAQ, write=True) as (s, staff):
        entry = faq.get_entry(s, entry_id)
        if entry is None:
            abort(404)
        admin.set_faq_active(s, entry, active, now=now(), origin=origin(), by=staff)
        question = entry.question
    flash(question, "faq_enabled" if active else "faq_disabled")
    return redirect(url_for("console.admin.faq.index"))

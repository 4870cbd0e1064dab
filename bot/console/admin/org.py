"""组织架构: departments and people as the org chart has them (read-only: edited in tousu.toml, loaded by
``tousu org sync``), and, for admins, each person's console account: give or reset a password,
disable/enable, unlock. Every account change is audited by `handlers.accounts`."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.console.admin.common import area_session
from bot.console.security import console_settings, now, origin
from handlers import admin
from handlers.accounts import AccountError
from handlers.admin import AdminArea, AdminError, may_use
from storage.models import Staff

bp = Blueprint("org", __name__, url_prefix="/org")


@bp.get("/")
def index() -> ResponseReturnValue:
    with area_session(AdminArea.ORG) as (s, staff):
        rows = admin.org_chart(s, now=now(), lockout=console_settings().lockout)
        manage = may_use(s, staff, AdminArea.ACCOUNTS)
        return render_template("console/admin/org.html", rows=rows, manage=manage, states=admin.ACCOUNT_STATES)


def _person_page(staff_id: int, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    with area_session(AdminArea.ACCOUNTS) as (s, me):
        row = admin.person(s, staff_id, now=now(), lockout=console_settings().lockout)
        if row is None:
            abort(404)
        department = row.staff.department.name if row.staff.department else None
        return render_template("console/admin/person.html", row=row, department=department, error=error,
                               states=admin.ACCOUNT_STATES, me=me.id), status


@bp.get("/people/<int:staff_id>")
def person(staff_id: int) -> ResponseReturnValue:
    return _person_page(staff_id)


def _target(s: Session, staff_id: int) -> Staff:
    staff = s.get(Staff, staff_id)
    if staff is None:
        abort(404)
    return staff


@bp.post("/people/<int:staff_id>/password")
def password(staff_id: int) -> ResponseReturnValue:
    first = request.form.get("password", "")
    try:
        with area_session(AdminArea.ACCOUNTS, write=True) as (s, me):
            target = _target(s, staff_id)
            if first != request.form.get("confirm", ""):
                raise AdminError("mismatch", "两次输入的密码不一致")
            account, created = admin.give_password(s, target, first, now=now(), origin=origin(),
                                                   by=me, login=request.form.get("login"))
            login = account.login
    except (AccountError, AdminError) as exc:
        return _person_page(staff_id, str(exc), 400)
    flash(login, "account_created" if created else "password_set")
    return redirect(url_for("console.admin.org.person", staff_id=staff_id))


@bp.post("/people/<int:staff_id>/<any(disable, enable, unlock):change>")
def account(staff_id: int, change: str) -> ResponseReturnValue:
    try:
        with area_session(AdminArea.ACCOUNTS, write=True) as (s, me):
            target = _target(s, staff_id)
            if change == "unlock":
                admin.unlock_account(s, target, now=now(), origin=origin(), by=me)
            else:
                admin.set_account_disabled(s, target, change == "disable", now=now(), origin=origin(), by=me)
    except AdminError as exc:
        return _person_page(staff_id, str(exc), 400)
    flash("", f"account_{change}")
    return redirect(url_for("console.admin.org.person", staff_id=staff_id))

"""Sign-in and sign-out (登录/退出), and who the signed-in person is on each request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from bot.console.extensions import limiter, login_key, login_manager, retry_after
from bot.console.security import SEEN_KEY, console_settings, now, origin
from bot.runtime import runtime
from handlers import accounts, audit
from handlers.workflow.scope import CONSOLE_ROLE_LABELS, ConsoleRole, console_role
from storage.models import Department, Staff, StaffAccount

bp = Blueprint("auth", __name__)


@dataclass
class ConsoleUser:
    """The signed-in person for one request: their Staff row (detached, read-only) and account."""

    staff: Staff
    login: str
    token: str
    role: ConsoleRole | None
    department_name: str | None

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        # The token changes with the password or when the account is disabled: old cookies stop working.
        return f"{self.staff.id}:{self.token}"

    @property
    def role_label(self) -> str:
        return CONSOLE_ROLE_LABELS.get(self.role, "—") if self.role else "—"


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    staff_id, _, token = user_id.partition(":")
    if not staff_id.isdigit() or not token:
        return None
    with runtime().db.read_sessions() as s:
        row = s.execute(
            sa.select(StaffAccount, Staff).join(Staff, Staff.id == StaffAccount.staff_id)
            .where(StaffAccount.staff_id == int(staff_id))
        ).first()
        if row is None:
            return None
        account, staff = row
        if account.disabled or not staff.active or account.session_token != token:
            return None
        department = s.get(Department, staff.department_id) if staff.department_id else None
        return ConsoleUser(staff=staff, login=account.login, token=account.session_token,
                           role=console_role(s, staff), department_name=department.name if department else None)


def console_user(s: Session, staff: Staff, account: StaffAccount) -> ConsoleUser:
    """The session's user for a person whose sign-in just succeeded (password or WeCom)."""
    department = s.get(Department, staff.department_id) if staff.department_id else None
    return ConsoleUser(staff=staff, login=account.login, token=account.session_token, role=console_role(s, staff),
                       department_name=department.name if department else None)


def start_session(user: ConsoleUser, moment: dt.datetime) -> None:
    """Sign ``user`` in on this browser: the one session set-up of every way of signing in."""
    session.clear()  # nothing from before the sign-in survives it (session fixation)
    login_user(user)
    session.permanent = True  # the cookie expires with the idle timeout, refreshed by each request
    session[SEEN_KEY] = moment.timestamp()


class LoginForm(FlaskForm):
    login = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


def safe_next(target: str | None) -> str:
    """Only a path inside the console (never another site: no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/console/") and "\\" not in target:
            return target
    return url_for("console.dashboard.index")


def _page(form: LoginForm, status: int = 200, *, headers: dict[str, str] | None = None,
          **context: object) -> ResponseReturnValue:
    return render_template("console/login.html", form=form, **context), status, headers or {}


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: console_settings().login_rate_per_ip, methods=["POST"], scope="login-ip")
@limiter.limit(lambda: console_settings().login_rate_per_account, methods=["POST"], key_func=login_key,
               scope="login-account")
def login() -> ResponseReturnValue:
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        form.next.data = request.args.get("next", "")
        return _page(form, reason=request.args.get("reason"))
    if not form.validate():
        return _page(form, 400, error="missing")
    settings = console_settings()
    moment = now()
    with runtime().db.transaction() as s:
        result = accounts.authenticate(s, form.login.data or "", form.password.data or "", now=moment,
                                       origin=origin(), policy=settings.lockout)
        user = None
        if result.ok and result.staff is not None and result.account is not None:
            user = console_user(s, result.staff, result.account)
    if user is None:
        minutes = None
        if result.locked_until is not None:
            minutes = max(1, -int(-(result.locked_until - moment).total_seconds() // 60))
        status = 423 if result.outcome == "locked" else 403 if result.outcome == "disabled" else 401
        form.password.data = ""
        return _page(form, status, error=result.outcome, minutes=minutes)
    start_session(user, moment)
    return redirect(safe_next(form.next.data))


@bp.errorhandler(RateLimitExceeded)
def throttled(exc: RateLimitExceeded) -> ResponseReturnValue:
    """The sign-in page again, 429, with ``Retry-After``: the seconds until the breached window takes another."""
    breached = limiter.current_limit
    headers = retry_after(breached.window.reset_time) if breached is not None else None
    return _page(LoginForm(), 429, headers=headers, error="throttled")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    staff_id = current_user.staff.id
    with runtime().db.transaction() as s:
        audit.record(s, audit.LOGOUT, now=now(), origin=origin(), actor=s.get(Staff, staff_id))
    logout_user()
    session.clear()
    return redirect(url_for("console.auth.login", reason="logged_out"))

"""The customer's own view of a case (客户查看办理进度), and the signed links that open it.

A customer reaches ``/c/<number>`` (bot/customer.py) from a message about the case. Who is looking is known
one of two ways, and only ever for the case it is: WeChat web authorisation (snsapi_base → the follower's
openid, which must be the case's), or a signed link. A signed link names one case number and when it was
issued, signed with ``SECRET_KEY`` under its own salt, and is good for :data:`LINK_MAX_AGE`; it is how a
customer without WeChat (a phone complaint given the link by staff) or an Official Account without web
authorisation sees the page. The age is checked against the app's clock, so tests move it.

`customer_view` is everything the page shows, and only what a customer may see: the status in plain words,
the next step and its due date, the result fed back, the survey, and the history of customer-facing steps
(never staff notes, names, internal findings or other people's data).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from handlers.workflow import deadlines
from storage.models import Complaint, ComplaintStatus, Survey, TimelineEvent

LINK_SALT: Final = "tousu.customer-case-link"
LINK_MAX_AGE: Final = dt.timedelta(days=30)

# The customer-facing steps of the timeline and nothing else (staff notes, contacts, investigation details,
# reassignments, deadline alerts and tasks are the office's business).
CUSTOMER_STEPS: Final = frozenset({
    "registered", "mark_invalid", "assign", "start_investigation", "start_implementation", "feed_back_result",
    "request_extension", "answer_extension", "extension_expired", "start_survey", "survey_sent", "survey_reminded",
    "survey_answered", "survey_expired", "record_follow_up", "reopen", "close", "add_progress_note",
})
# What of each step's details the page may show (only what the customer said or was told).
_SHOWN_DETAILS: Final[Mapping[str, tuple[str, ...]]] = {
    "add_progress_note": ("text",),
    "answer_extension": ("consent",),
    "survey_answered": ("stars",),
    "close": ("outcome",),
    "record_follow_up": ("method",),
    "feed_back_result": ("channel",),
}


class LinkCheck(enum.Enum):
    OK = "ok"
    TAMPERED = "tampered"  # not our signature, or signed for another case
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkSettings:
    """What a link needs: where the site is, the key, and whether WeChat web authorisation is configured."""

    base_url: str = "http://127.0.0.1:5000"
    secret: str = "dev-secret-key-not-for-production"  # noqa: S105 (bot.config's dev default; replaced at start-up)
    oauth: bool = False


_links = LinkSettings()


def configure_links(base_url: str, secret: str, *, oauth: bool) -> None:
    """Set at start-up by the web app and the worker (bot/customer.py, scheduler/jobs.py) from their settings,
    so `handlers.workflow.notify.customer_case_link` needs no deployment setting passed around."""
    global _links
    _links = LinkSettings(base_url=base_url.rstrip("/"), secret=secret, oauth=oauth)


def link_settings() -> LinkSettings:
    return _links


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=LINK_SALT)


def sign_case(number: str, *, secret: str, now: dt.datetime) -> str:
    """A token naming case ``number``, issued ``now``."""
    return str(_serializer(secret).dumps({"n": number, "t": int(now.timestamp())}))


def check_case_token(token: str, number: str, *, secret: str, now: dt.datetime) -> LinkCheck:
    """Whether ``token`` opens case ``number`` at ``now``: OK, TAMPERED (or another case's), or EXPIRED."""
    try:
        payload = _serializer(secret).loads(token)
    except BadSignature:
        return LinkCheck.TAMPERED
    if not isinstance(payload, dict) or payload.get("n") != number or not isinstance(payload.get("t"), int):
        return LinkCheck.TAMPERED
    age = now.timestamp() - payload["t"]
    if age > LINK_MAX_AGE.total_seconds():
        return LinkCheck.EXPIRED
    return LinkCheck.OK


def case_url(number: str, *, now: dt.datetime | None = None, signed: bool = True) -> str:
    """The page's full address; signed unless the customer will be identified by WeChat instead."""
    url = f"{_links.base_url}/c/{number}"
    if not signed:
        return url
    token = sign_case(number, secret=_links.secret, now=now or dt.datetime.now(dt.UTC))
    return f"{url}?t={token}"


# -- finding the case ---------------------------------------------------------------------------------


def case_by_number(session: Session, number: str) -> Complaint | None:
    if not number.isdigit() or len(number) > 16:
        return None
    return session.scalar(sa.select(Complaint).where(Complaint.number == number))


def case_for_follower(session: Session, number: str, openid: str) -> Complaint | None:
    """The case ``number`` only when it is this follower's own (else None: the page answers 404)."""
    complaint = case_by_number(session, number)
    if complaint is None or not complaint.openid or complaint.openid != openid:
        return None
    return complaint


# -- what the page shows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    at: dt.datetime
    action: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class CustomerView:
    number: str
    status: str
    received_at: dt.datetime
    category: str
    due_at: dt.datetime | None  # the whole case, while its limit runs (moves only with the customer's consent)
    next_label: str | None  # the next step with a time limit, in the office's words
    next_due_at: dt.datetime | None
    result_text: str | None
    survey: Survey | None  # the latest survey of the case
    survey_open: bool  # the stars may be given now
    closed_at: dt.datetime | None
    history: Sequence[Step] = field(default_factory=tuple)


def latest_survey(session: Session, complaint: Complaint) -> Survey | None:
    return session.scalars(
        sa.select(Survey).where(Survey.complaint_id == complaint.id).order_by(Survey.round.desc(), Survey.id.desc())
    ).first()


def customer_history(session: Session, complaint: Complaint) -> list[Step]:
    """The customer-facing steps, oldest first, each with only the details a customer may read."""
    events = session.scalars(
        sa.select(TimelineEvent)
        .where(TimelineEvent.complaint_id == complaint.id, TimelineEvent.action.in_(CUSTOMER_STEPS))
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    steps: list[Step] = []
    for event in events:
        details = event.details or {}
        if event.action == "add_progress_note" and not details.get("to_customer"):
            continue  # a note the office kept for itself
        shown = {key: details[key] for key in _SHOWN_DETAILS.get(event.action, ()) if key in details}
        steps.append(Step(at=event.at, action=event.action, details=shown))
    return steps


def customer_view(session: Session, complaint: Complaint, *, now: dt.datetime, category_label: str) -> CustomerView:
    upcoming = deadlines.next_deadline(session, complaint)
    # The promise still running: a met, cancelled (reopened) or closed case's old date would only mislead.
    whole = [d for d in deadlines.unmet_deadlines(session, complaint) if d.milestone == "whole_case"]
    survey = latest_survey(session, complaint)
    survey_open = (
        survey is not None and survey.status.value == "sent" and complaint.status is ComplaintStatus.SURVEYING
        and now <= survey.expires_at
    )
    shows_result = complaint.status in (ComplaintStatus.RESOLVED, ComplaintStatus.SURVEYING, ComplaintStatus.CLOSED)
    return CustomerView(
        number=complaint.number,
        status=complaint.status.value,
        received_at=complaint.received_at,
        category=category_label,
        due_at=whole[0].due_at if whole else None,
        next_label=upcoming.label if upcoming is not None else None,
        next_due_at=upcoming.due_at if upcoming is not None else None,
        result_text=complaint.result_text if shows_result else None,
        survey=survey,
        survey_open=survey_open,
        closed_at=complaint.closed_at,
        history=customer_history(session, complaint),
    )


__all__ = [
    "CUSTOMER_STEPS",
    "LINK_MAX_AGE",
    "CustomerView",
    "LinkCheck",
    "LinkSettings",
    "Step",
    "case_by_number",
    "case_for_follower",
    "case_url",
    "check_case_token",
    "configure_links",
    "customer_history",
    "customer_view",
    "latest_survey",
    "link_settings",
    "sign_case",
]

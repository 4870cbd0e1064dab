"""A hand-made month of complaints (October 2026) whose every figure is worked out by hand in the tests.

The rows are written directly (complaint, deadline and survey rows as the workflow leaves them), so the
expected answers do not depend on the workflow code and are not recomputed by the statistics code: each test
states its answer and the reason beside it. See `build` for the cases; in short (all times Asia/Shanghai):

====  ===================  ==================  =========  ==========================================================
case  received             category / dept     state      what it tests
====  ===================  ==================  =========  ==========================================================
H     09-30 10:00          delivery / L        closed     September: not counted; makes D a repeat (same openid o2)
K     06-01 10:00          delivery / L        closed     outside the 90-day window of F (same openid o5)
A     10-01 00:30 (国庆)    quality / P         closed     UTC still 30 September; closed 10-09: 2 working days
B     10-08 10:00          quality / P         closed     response late; same product+problem as A (repeat); 1 reopen
C     10-12 09:00          service / L         closed     same openid as A (repeat); survey expired: 未评价
D     10-15 14:00 major    delivery / L        open       whole-case due 10-22, unmet at as_of: overdue; repeat of H
E     10-20 10:00          delivery / L        invalid    invalid: out of 办结率's denominator
I     10-05 11:00 (国庆)    management / P      closed     closed 10-12: 4 working days, whole case late; 2 reopens
F     10-31 23:30          quality / P         resolved   UTC 15:30 on the 31st: October; Saturday: 4 h response
G     11-01 00:10          quality / P         open       UTC 31 October 16:10 but November: not counted in October
====  ===================  ==================  =========  ==========================================================

``as_of`` is 2026-11-01 08:00, when the monthly report is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage.base import SHANGHAI
from storage.models import (
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    Department,
    Severity,
    Source,
    Survey,
    SurveyStatus,
)

AS_OF = dt.datetime(2026, 11, 1, 8, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)


def local(month: int, day: int, hour: int = 0, minute: int = 0, *, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


@dataclass
class Dataset:
    cases: dict[str, Complaint]
    production: Department
    logistics: Department
    quality_office: Department
    general_office: Department


def _deadline(session: Session, c: Complaint, milestone: str, due: dt.datetime, met: dt.datetime | None,
              status: DeadlineStatus | None = None) -> None:
    session.add(Deadline(
        complaint_id=c.id, preset=c.sla_preset, milestone=milestone, label=milestone, anchor_event="received",
        anchor_at=c.received_at, met_by="x", severity=c.severity, due_at=due,
        status=status or (DeadlineStatus.MET if met is not None else DeadlineStatus.OPEN), met_at=met))


def build(session: Session, departments: dict[str, Department]) -> Dataset:
    """The cases of the module docstring, flushed."""
    p, lg = departments["production"], departments["logistics"]
    qo, go = departments["quality_office"], departments["general_office"]
    cases: dict[str, Complaint] = {}

    def case(name: str, received: dt.datetime, *, category: str, dept: Department, status: ComplaintStatus,
             openid: str | None = None, phone: str | None = None, product: str | None = None,
             problem: str | None = None, closed: dt.datetime | None = None, stars: int | None = None,
             reopens: int = 0, severity: Severity = Severity.GENERAL,
             source: Source = Source.WECHAT) -> Complaint:
        quality = category == "product_quality"
        c = Complaint(
            number=f"T{len(cases) + 1:04d}", source=source, received_at=received, registered_at=received,
            status=status, openid=openid, complainant_name=f"客户{name}",
            phone=phone or f"+86139000010{len(cases):02d}",
            category=category, product_name=product, problem_type=problem, description="测试",
            severity=severity, sla_preset="nonferrous-quality" if quality else "general",
            lead_office_id=(qo if quality else go).id, handling_department_id=dept.id,
            closed_at=closed, satisfaction_stars=stars, satisfaction_score=None if stars is None else stars * 20,
            reopen_count=reopens,
        )
        session.add(c)
        session.flush()
        cases[name] = c
        return c

    closed, invalid = ComplaintStatus.CLOSED, ComplaintStatus.INVALID
    h = case("H", local(9, 30, 10), category="delivery", dept=lg, status=closed, openid="o2",
             closed=local(10, 9, 10))
    _deadline(session, h, "registration", local(10, 1, 10), local(9, 30, 10))
    k = case("K", local(6, 1, 10), category="delivery", dept=lg, status=closed, openid="o5", closed=local(6, 3))
    _deadline(session, k, "registration", local(6, 2, 10), local(6, 1, 10))

    a = case("A", local(10, 1, 0, 30), category="product_quality", dept=p, status=closed, openid="o1",
             product="铝板", problem="surface", closed=local(10, 9, 15), stars=5)
    _deadline(session, a, "first_response", local(10, 1, 4, 30), local(10, 1, 2))
    _deadline(session, a, "whole_case", local(10, 29, 23, 59), local(10, 9, 15))

    b = case("B", local(10, 8, 10), category="product_quality", dept=p, status=closed, source=Source.PHONE,
             product="铝板", problem="surface", closed=local(10, 20, 10), stars=4, reopens=1)
    _deadline(session, b, "first_response", local(10, 8, 11), local(10, 8, 12))  # an hour late
    _deadline(session, b, "whole_case", local(10, 29, 23, 59), local(10, 20, 10))

    c = case("C", local(10, 12, 9), category="service_attitude", dept=lg, status=closed, openid="o1",
             closed=local(10, 13, 9))
    _deadline(session, c, "registration", local(10, 13, 9), local(10, 12, 9))
    _deadline(session, c, "whole_case", local(10, 15, 23, 59), local(10, 13, 9))
    session.add(Survey(complaint_id=c.id, round=0, status=SurveyStatus.EXPIRED, sent_at=local(10, 12, 12),
                       remind_at=local(10, 12, 13), expires_at=local(10, 13, 9), closed_at=local(10, 13, 9)))

    d = case("D", local(10, 15, 14), category="delivery", dept=lg, status=ComplaintStatus.INVESTIGATING,
             openid="o2", severity=Severity.MAJOR)
    _deadline(session, d, "registration", local(10, 16, 14), local(10, 15, 14))
    _deadline(session, d, "whole_case", local(10, 22, 23, 59), None, DeadlineStatus.BREACHED)

    e = case("E", local(10, 20, 10), category="delivery", dept=lg, status=invalid, source=Source.PHONE)
    _deadline(session, e, "registration", local(10, 21, 10), local(10, 20, 10))
    _deadline(session, e, "whole_case", local(10, 23, 23, 59), None, DeadlineStatus.CANCELLED)

    i = case("I", local(10, 5, 11), category="management", dept=p, status=closed, openid="o4",
             closed=local(10, 12, 10), stars=2, reopens=2)
    _deadline(session, i, "registration", local(10, 6, 11), local(10, 5, 11))
    _deadline(session, i, "whole_case", local(10, 10, 23, 59), local(10, 12, 10))  # two days late

    f = case("F", local(10, 31, 23, 30), category="product_quality", dept=p, status=ComplaintStatus.RESOLVED,
             openid="o5", product="铝卷", problem="dimension")
    _deadline(session, f, "first_response", local(11, 1, 3, 30), local(10, 31, 23, 50))
    _deadline(session, f, "whole_case", local(11, 23, 23, 59), None)

    g = case("G", local(11, 1, 0, 10), category="product_quality", dept=p, status=ComplaintStatus.ASSIGNED,
             openid="o1", product="铝板", problem="surface")
    _deadline(session, g, "first_response", local(11, 1, 4, 10), local(11, 1, 1))
    session.flush()
    return Dataset(cases=cases, production=p, logistics=lg, quality_office=qo, general_office=go)

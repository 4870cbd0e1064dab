"""A hand-made month (November 2026, Asia/Shanghai) for the 绩效 figures, shared by the handler and console
tests. Every row is written by hand, so the expected figures can be worked out from this docstring:

case  lead office  department  responsible  received (Shanghai)   closed (Shanghai)
P1    quality      生产部       赵磊          11-01 00:30 (UTC: 10-31)  11-20
P2    quality      生产部       钱浩          10-31 23:30 (October)    11-15
P3    quality      生产部       赵磊          11-30 23:50              open
S1    general      销售部       王强          11-10                    12-01 00:10 (December)
U1    general      —           —             11-05                    open

deadlines: P1 d1 due 11-05 met 11-04 (on time), d2 due 11-10 met 11-12 (late); P2 d3 due 11-03 breached
(late); P3 d4 due 12-01 open (outside the month), d5 due 11-30 12:00 open (past: late), d6 due 11-29
cancelled (ignored); S1 d7 due 11-12 met exactly at its due time (on time).
surveys answered in November: P1 100 (5★), P2 40 (2★), S1 80 (4★, below 85: not satisfied); P1's second
round expired (未评价: not counted). Performance records: praise 赵磊/生产部 (P1), criticism and notice
钱浩/生产部 (P2), and one praise of 王强 dated 12-01 (December: not counted).
"""

from __future__ import annotations

import datetime as dt

from storage.db import Database
from storage.models import (
    Complaint,
    ComplaintStatus,
    Deadline,
    DeadlineStatus,
    PerformanceKind,
    PerformanceRecord,
    Severity,
    Survey,
    SurveyStatus,
)
from tests.bot.console.support import in_transaction
from tests.handlers.test_workflow_support import World, local, make_complaint

NOW = local(2026, 12, 10, 9, 0)


def _deadline(s, c: Complaint, name: str, due: dt.datetime, status: DeadlineStatus,
              met: dt.datetime | None = None) -> None:
    s.add(Deadline(complaint_id=c.id, preset="general", milestone=name, label=name, anchor_event="received",
                   anchor_at=c.received_at, met_by="x", severity=Severity.GENERAL, due_at=due, status=status,
                   met_at=met))


def _survey(s, c: Complaint, score: int | None, at: dt.datetime, status: SurveyStatus = SurveyStatus.ANSWERED,
            round_: int = 0) -> Survey:
    survey = Survey(complaint_id=c.id, round=round_, status=status, sent_at=at, remind_at=at, expires_at=at,
                    answered_at=at if status is SurveyStatus.ANSWERED else None,
                    stars=None if score is None else score // 20, score=score)
    s.add(survey)
    s.flush()
    return survey


def make_november(db: Database, world: World) -> dict[str, str]:
    """The cases above, committed; returns letter → number."""
    with in_transaction(db, world) as w:
        s = w.session
        prod, sales = w.dept("production"), w.dept("sales")
        quality, general = w.dept("quality_office"), w.dept("general_office")

        def case(number: str, lead, dept, person: str | None, received: dt.datetime,
                 closed: dt.datetime | None) -> Complaint:
            c = make_complaint(w, number=number, received_at=received, open_deadlines=False)
            c.lead_office_id = lead.id
            c.handling_department_id = dept.id if dept else None
            c.responsible_staff_id = w[person].id if person else None
            c.status = ComplaintStatus.CLOSED if closed else ComplaintStatus.INVESTIGATING
            c.closed_at = closed
            s.flush()
            return c

        p1 = case("26110001", quality, prod, "zhao.lei", local(2026, 11, 1, 0, 30), local(2026, 11, 20, 15))
        p2 = case("26100099", quality, prod, "qian.hao", local(2026, 10, 31, 23, 30), local(2026, 11, 15, 10))
        p3 = case("26110002", quality, prod, "zhao.lei", local(2026, 11, 30, 23, 50), None)
        s1 = case("26110003", general, sales, "wang.qiang", local(2026, 11, 10, 9), local(2026, 12, 1, 0, 10))
        case("26110004", general, None, None, local(2026, 11, 5, 9), None)
        _deadline(s, p1, "d1", local(2026, 11, 5, 17), DeadlineStatus.MET, local(2026, 11, 4, 12))
        _deadline(s, p1, "d2", local(2026, 11, 10, 17), DeadlineStatus.MET, local(2026, 11, 12, 9))
        _deadline(s, p2, "d3", local(2026, 11, 3, 17), DeadlineStatus.BREACHED)
        _deadline(s, p3, "d4", local(2026, 12, 1, 10), DeadlineStatus.OPEN)
        _deadline(s, p3, "d5", local(2026, 11, 30, 12), DeadlineStatus.OPEN)
        _deadline(s, p3, "d6", local(2026, 11, 29, 12), DeadlineStatus.CANCELLED)
        _deadline(s, s1, "d7", local(2026, 11, 12, 17), DeadlineStatus.MET, local(2026, 11, 12, 17))
        v1 = _survey(s, p1, 100, local(2026, 11, 21, 9))
        _survey(s, p1, None, local(2026, 11, 25, 9), SurveyStatus.EXPIRED, round_=1)
        v2 = _survey(s, p2, 40, local(2026, 11, 16, 9))
        v3 = _survey(s, s1, 80, local(2026, 11, 30, 23, 59))

        def record(kind: PerformanceKind, c: Complaint, survey: Survey, person: str, dept, at: dt.datetime) -> None:
            s.add(PerformanceRecord(kind=kind, complaint_id=c.id, survey_id=survey.id, staff_id=w[person].id,
                                    department_id=dept.id, stars=survey.stars, at=at))

        record(PerformanceKind.PRAISE, p1, v1, "zhao.lei", prod, local(2026, 11, 21, 9))
        record(PerformanceKind.CRITICISM, p2, v2, "qian.hao", prod, local(2026, 11, 16, 9))
        record(PerformanceKind.NOTICE, p2, v2, "qian.hao", prod, local(2026, 11, 16, 9))
        record(PerformanceKind.PRAISE, s1, v3, "wang.qiang", sales, local(2026, 12, 1, 0, 5))
        return {"P1": p1.number, "P2": p2.number, "P3": p3.number, "S1": s1.number}

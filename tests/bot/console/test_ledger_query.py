"""The ledger's query (handlers/ledger.py) on a hand-made data set: every filter, each sort, paging and its
cap, the Chinese errors for bad values, and the SQL forms of the access rules against the rules themselves."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.ledger import (
    HIDDEN,
    MAX_ROWS,
    PAGE_SIZE,
    LedgerQuery,
    LedgerQueryError,
    full_phone_clause,
    identity_clause,
    ledger_page,
    ledger_select,
)
from handlers.workflow.scope import personal_data_access
from handlers.workflow.settings import parse_settings
from storage.models import Complaint, ComplaintStatus, Deadline, DeadlineStatus, Severity, Source, Staff
from tests.bot.console.support import START, in_transaction, scope_cases, sign_in
from tests.handlers.test_workflow_support import local, make_complaint

S = ComplaintStatus
CATEGORIES = ["product_quality", "service_attitude", "delivery", "management", "logistics_support", "surroundings",
              "other"]


@pytest.fixture
def settings(company_config):
    return parse_settings(company_config)


def _numbers(session, staff, query: LedgerQuery, settings, now=START) -> list[str]:
    return [c.number for c in session.scalars(ledger_select(session, staff, query, now=now, settings=settings))]


def _q(**args: Any) -> LedgerQuery:
    return LedgerQuery.parse({k: str(v) for k, v in args.items()}, categories=CATEGORIES)


@pytest.fixture
def ledger(db, world) -> dict[str, str]:
    """Eight cases of the quality ledger, each different in one respect, received over two days."""
    specs = {
        # key: received (Asia/Shanghai), status, category, severity, source, handling, extra fields
        "late13": (local(2026, 2, 13, 23, 30), S.ASSIGNED, "product_quality", Severity.GENERAL, Source.WECHAT,
                   "production", {"batch": "B260213", "product_name": "6061铝板"}),
        "early14": (local(2026, 2, 14, 0, 10), S.INVESTIGATING, "product_quality", Severity.MAJOR, Source.PHONE,
                    "production", {"spec_model": "5052-H32"}),
        "closed": (local(2026, 2, 10, 9, 0), S.CLOSED, "product_quality", Severity.GENERAL, Source.EMAIL,
                   "logistics", {"description": "包装破损，已处理"}),
        "invalid": (local(2026, 2, 11, 9, 0), S.INVALID, "product_quality", Severity.GENERAL, Source.GOVERNMENT,
                    None, {"description": "无效投诉"}),
        "overdue": (local(2026, 1, 5, 9, 0), S.INVESTIGATING, "product_quality", Severity.GENERAL, Source.WECHAT,
                    "production", {"description": "卷材边部毛刺"}),
        "delivery": (local(2026, 2, 12, 9, 0), S.ASSIGNED, "delivery", Severity.GENERAL, Source.SALES_REP,
                     "logistics", {"description": "到货晚了五天"}),
        "urgent": (local(2026, 2, 12, 10, 0), S.PLAN_PENDING, "product_quality", Severity.MAJOR, Source.WALK_IN,
                   "production", {"description": "表面氧化发黑", "urgent": True}),
        "march": (local(2026, 3, 2, 9, 0), S.REGISTERED, "product_quality", Severity.GENERAL, Source.LETTER,
                  None, {"description": "三月的投诉"}),
    }
    numbers = {}
    with in_transaction(db, world) as w:
        for i, (key, (received, status, category, severity, source, handling, extra)) in enumerate(specs.items()):
            c = make_complaint(w, received_at=received, category=category, severity=severity, source=source,
                               number=f"{received.astimezone(dt.timezone(dt.timedelta(hours=8))):%y%m}{i + 1:04d}",
                               **extra)
            c.status = status
            c.lead_office_id = w.dept("quality_office").id
            c.handling_department_id = w.dept(handling).id if handling else None
            c.due_at = received + dt.timedelta(days=20)
            numbers[key] = c.number
        # Deadlines: the January case's are breached (the sweep marked them); a closed case's are met, an invalid
        # one's cancelled; every other case has its whole-case deadline open, the rest met.
        for key, number in numbers.items():
            c = w.session.scalar(sa.select(Complaint).where(Complaint.number == number))
            assert c is not None
            for d in w.session.scalars(sa.select(Deadline).where(Deadline.complaint_id == c.id)):
                d.status = (DeadlineStatus.BREACHED if key == "overdue" else DeadlineStatus.MET if key == "closed"
                            else DeadlineStatus.CANCELLED if key == "invalid"
                            else DeadlineStatus.OPEN if d.milestone == "whole_case" else DeadlineStatus.MET)
    return numbers


def test_an_empty_query_is_the_readers_default_ledger_newest_first(db, ledger, settings) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        order = _numbers(s, li_na, _q(), settings)
    by_received = ["march", "early14", "late13", "urgent", "delivery", "invalid", "closed", "overdue"]
    assert order == [ledger[k] for k in by_received]


@pytest.mark.parametrize(("args", "expected"), [
    ({"status": "investigating"}, {"early14", "overdue"}),
    ({"status": "open"}, {"late13", "early14", "overdue", "delivery", "urgent", "march"}),
    ({"category": "delivery"}, {"delivery"}),
    ({"severity": "major"}, {"early14", "urgent"}),
    ({"department": "logistics"}, {"closed", "delivery"}),
    ({"source": "wechat"}, {"late13", "overdue"}),
    ({"overdue": "1"}, {"overdue"}),
    # Asia/Shanghai dates: 23:30 on the 13th is the 13th, 00:10 on the 14th the 14th (both 13th in UTC)
    ({"from": "2026-02-13", "to": "2026-02-13"}, {"late13"}),
    ({"from": "2026-02-14"}, {"early14", "march"}),
    ({"to": "2026-01-31"}, {"overdue"}),
    ({"from": "2026-02-01", "to": "2026-02-28", "status": "assigned", "category": "product_quality"}, {"late13"}),
    ({"number": "2603"}, {"march"}),
    ({"q": "B260213"}, {"late13"}),  # batch
    ({"q": "5052-h32"}, {"early14"}),  # spec, any case
    ({"q": "6061铝"}, {"late13"}),  # product
    ({"q": "氧化发黑"}, {"urgent"}),  # description
    ({"q": "100%"}, set()),  # LIKE wildcards are literal
    ({"q": "_"}, set()),
    ({"office": "none"}, set()),
    ({"office": "general_office"}, set()),
])
def test_each_filter(db, ledger, settings, args: dict[str, str], expected: set[str]) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        assert set(_numbers(s, li_na, _q(**args), settings)) == {ledger[k] for k in expected}


def test_an_exact_number(db, ledger, settings) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        assert _numbers(s, li_na, _q(number=ledger["closed"]), settings) == [ledger["closed"]]


def test_overdue_counts_an_open_deadline_past_due_before_the_sweep(db, ledger, settings) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        later = START + dt.timedelta(days=400)  # every open deadline is past due by then
        assert set(_numbers(s, li_na, _q(overdue=1), settings, now=later)) == {
            ledger[k] for k in ("late13", "early14", "overdue", "delivery", "urgent", "march")}


@pytest.mark.parametrize(("sort", "order", "expected"), [
    ("received", "asc", ["overdue", "closed", "invalid", "delivery", "urgent", "late13", "early14", "march"]),
    ("number", "desc", ["march", "urgent", "delivery", "invalid", "closed", "early14", "late13", "overdue"]),
    ("number", "asc", ["overdue", "late13", "early14", "closed", "invalid", "delivery", "urgent", "march"]),
    ("due", "asc", ["overdue", "closed", "invalid", "delivery", "urgent", "late13", "early14", "march"]),
    ("status", "asc", ["march", "late13", "delivery", "early14", "overdue", "urgent", "closed", "invalid"]),
])
def test_sorting(db, ledger, settings, sort: str, order: str, expected: list[str]) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        assert _numbers(s, li_na, _q(sort=sort, order=order), settings) == [ledger[k] for k in expected]


def test_status_order_follows_the_lifecycle() -> None:
    from handlers.ledger import STATUS_ORDER

    assert set(STATUS_ORDER) == set(ComplaintStatus) and len(STATUS_ORDER) == len(ComplaintStatus)
    assert STATUS_ORDER.index(S.REGISTERED) < STATUS_ORDER.index(S.ASSIGNED) < STATUS_ORDER.index(S.CLOSED)


def test_paging_fifty_a_page_and_the_count(db, world, settings) -> None:
    with in_transaction(db, world) as w:
        for i in range(PAGE_SIZE + 7):
            c = make_complaint(w, received_at=START - dt.timedelta(hours=i), number=f"2602{i + 1:04d}",
                               open_deadlines=False)
            c.lead_office_id = w.dept("quality_office").id
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        first = ledger_page(s, li_na, _q(), now=START, settings=settings)
        second = ledger_page(s, li_na, _q(page=2), now=START, settings=settings)
        third = ledger_page(s, li_na, _q(page=3), now=START, settings=settings)
    assert (first.total, first.pages, len(first.rows), first.first_row, first.last_row) == (57, 2, 50, 1, 50)
    assert (len(second.rows), second.first_row, second.last_row) == (7, 51, 57)
    assert third.rows == []
    numbers = [r.number for r in first.rows + second.rows]
    assert numbers == [f"2602{i + 1:04d}" for i in range(57)]  # newest first, none twice, none lost
    assert not first.more_than_cap


def test_the_count_stops_past_the_cap(db, world, settings, monkeypatch) -> None:
    import handlers.ledger

    with in_transaction(db, world) as w:
        for i in range(5):
            make_complaint(w, received_at=START - dt.timedelta(hours=i), number=f"2602{i + 1:04d}",
                           open_deadlines=False)
    with db.read_sessions() as s:
        chen = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "chen.gang"))
        monkeypatch.setattr(handlers.ledger, "COUNT_CAP", 3)
        capped = ledger_page(s, chen, _q(), now=START, settings=settings)
        # "more than 3": counting stopped at the fourth, so no page count; the page itself is not cut
        assert (capped.total, capped.more_than_cap, capped.pages) == (4, True, None)
        assert [r.number for r in capped.rows] == [f"2602{i + 1:04d}" for i in range(5)]
        monkeypatch.setattr(handlers.ledger, "COUNT_CAP", 10)
        exact = ledger_page(s, chen, _q(), now=START, settings=settings)
        assert (exact.total, exact.more_than_cap, exact.pages) == (5, False, 1)


@pytest.mark.parametrize(("args", "message"), [
    ({"status": "done"}, "状态“done”不在可选范围内"),
    ({"category": "food"}, "诉求类型“food”不在可选范围内"),
    ({"severity": "huge"}, "严重程度“huge”不在可选范围内"),
    ({"source": "fax"}, "投诉来源“fax”不在可选范围内"),
    ({"from": "2026-13-01"}, "受理日期（起）“2026-13-01”不是有效日期"),
    ({"to": "yesterday"}, "受理日期（止）“yesterday”不是有效日期"),
    ({"from": "2026-02-14", "to": "2026-02-13"}, "受理日期的起始日不能晚于截止日"),
    ({"number": "26A1"}, "投诉编号“26A1”应为 8 位以内的数字"),
    ({"page": "0"}, "页码“0”应为正整数"),
    ({"page": "abc"}, "页码“abc”应为正整数"),
    ({"page": str(MAX_ROWS // PAGE_SIZE + 1)}, f"最多翻看前 {MAX_ROWS} 件"),
    ({"sort": "name"}, "排序“name”不在可选范围内"),
    ({"q": "很" * 51}, "关键词过长"),
])
def test_bad_values_are_refused_in_chinese(args: dict[str, str], message: str) -> None:
    with pytest.raises(LedgerQueryError) as caught:
        LedgerQuery.parse(args, categories=CATEGORIES)
    assert any(message in e for e in caught.value.errors), caught.value.errors


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(LedgerQueryError) as caught:
        LedgerQuery.parse({"status": "x", "severity": "y", "page": "-1"}, categories=CATEGORIES)
    assert len(caught.value.errors) == 3


def test_unknown_office_or_department_codes(db, ledger, settings) -> None:
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        for args, message in (({"office": "sales"}, "没有名为“sales”的归口部门台账"),
                              ({"department": "nowhere"}, "没有代码为“nowhere”的承办部门")):
            with pytest.raises(LedgerQueryError) as caught:
                ledger_select(s, li_na, _q(**args), now=START, settings=settings)
            assert caught.value.errors == [message]


def test_the_query_round_trips_through_its_arguments() -> None:
    args = {"office": "all", "status": "open", "category": "delivery", "severity": "major", "department": "sales",
            "source": "phone", "overdue": "1", "from": "2026-02-01", "to": "2026-02-28", "q": "划痕",
            "number": "2602", "sort": "due", "order": "desc", "page": "3"}
    query = LedgerQuery.parse(args, categories=CATEGORIES)
    assert query.to_args() == args
    assert LedgerQuery.parse(query.to_args(), categories=CATEGORIES) == query
    assert LedgerQuery.parse({}).to_args() == {} and not LedgerQuery().filtered


def test_the_page_shows_errors_in_chinese_with_status_400(db, world, client) -> None:
    from handlers import accounts
    from tests.bot.console.support import PASSWORD

    with in_transaction(db, world) as w:
        accounts.create_account(w.session, name="李娜", userid="li.na", password=PASSWORD, now=START)
    assert sign_in(client, "li.na").status_code == 302
    page = client.get("/console/ledger?status=done&from=x")
    assert page.status_code == 400
    assert "状态“done”不在可选范围内" in page.text and "受理日期（起）“x”不是有效日期" in page.text
    assert client.get("/console/ledger.xlsx?office=sales").status_code == 400


# -- the SQL forms of the access rules agree with the rules ------------------------------------------------

@pytest.mark.parametrize("sees", [False, True], ids=["policy-hides", "policy-shows"])
def test_sql_access_clauses_agree_with_personal_data_access(db, world, company_config, sees: bool) -> None:
    """For every person of the org chart and every case of the scope data set, the WHERE clauses the keyword
    uses select exactly the cases where `personal_data_access` shows identity / the full phone."""
    numbers = scope_cases(db, world)
    config = copy.deepcopy(company_config)
    config.setdefault("workflow", {})["handling_department_sees_complainant"] = sees
    settings = parse_settings(config)
    with in_transaction(db, world) as w:  # a read-only person and an approver outside the lead offices too
        w["sun.li"].roles = ["approver"]
        from handlers import accounts
        from handlers.workflow.scope import ConsoleRole

        accounts.create_account(w.session, name="只读员", role=ConsoleRole.VIEWER, department="production",
                                login="viewer.prod", password="x" * 12, now=START)
    with db.read_sessions() as s:
        everyone = list(s.scalars(sa.select(Staff)))
        cases = list(s.scalars(sa.select(Complaint).where(Complaint.number.in_(numbers.values()))))
        assert len(everyone) >= 10 and len(cases) == 5
        for staff in everyone:
            identity = {c.number for c in s.scalars(sa.select(Complaint).where(
                Complaint.id.in_([c.id for c in cases]), identity_clause(s, staff, settings)))}
            full = {c.number for c in s.scalars(sa.select(Complaint).where(
                Complaint.id.in_([c.id for c in cases]), full_phone_clause(s, staff, settings)))}
            for c in cases:
                access = personal_data_access(s, staff, c, settings)
                assert (c.number in identity) == access.identity, (staff.wecom_userid, c.number)
                assert (c.number in full) == access.full_phone, (staff.wecom_userid, c.number)


def test_rows_hide_identity_with_the_case_pages_marker(db, world, settings) -> None:
    numbers = scope_cases(db, world)
    with db.read_sessions() as s:
        zhao = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "zhao.lei"))
        page = ledger_page(s, zhao, _q(), now=START, settings=settings)
    assert {r.number for r in page.rows} == {numbers["A"], numbers["E"]}
    assert all(r.complainant == HIDDEN and r.phone == HIDDEN and not r.identity_shown for r in page.rows)
    assert not page.personal_data_shown


@pytest.mark.parametrize("cap", [1000, 3], ids=["ids-then-order", "ordered-walk"])
@pytest.mark.parametrize(("sort", "order"), [("received", "desc"), ("received", "asc"), ("number", "asc"),
                                             ("due", "desc"), ("status", "asc")])
def test_both_ways_of_paging_order_rows_like_the_query(db, ledger, settings, monkeypatch, cap, sort, order) -> None:
    """A selective filter pages among its matching ids, a broad one walks the ordered query: same rows, same
    order, page after page (the count says which way was taken)."""
    import handlers.ledger

    monkeypatch.setattr(handlers.ledger, "COUNT_CAP", cap)
    monkeypatch.setattr(handlers.ledger, "PAGE_SIZE", 3)
    with db.read_sessions() as s:
        li_na = s.scalar(sa.select(Staff).where(Staff.wecom_userid == "li.na"))
        expected = _numbers(s, li_na, _q(sort=sort, order=order), settings)
        seen, page = [], 1
        while True:
            result = ledger_page(s, li_na, _q(sort=sort, order=order, page=page), now=START, settings=settings)
            seen += [r.number for r in result.rows]
            assert result.more_than_cap == (cap < len(expected))
            if not result.has_next:
                break
            page += 1
    assert seen == expected and page == 3

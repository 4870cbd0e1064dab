"""``GET /api/v1/complaints``: the ledger's filters, and cursor paging (newest first, no case twice, none lost)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from storage.models import Complaint


def test_cursor_paging_walks_every_case_once_newest_first(api, cases, db) -> None:
    # give the cases distinct received times, two of them equal (the id breaks the tie)
    with db.transaction() as s:
        base = dt.datetime(2026, 2, 10, 1, 0, tzinfo=dt.UTC)
        for offset, letter in enumerate("ABCDE"):
            c = s.scalar(sa.select(Complaint).where(Complaint.number == cases[letter]))
            c.received_at = base + dt.timedelta(hours=min(offset, 3))  # D and E share a time
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("admin", "/complaints", query_string=query).json
        seen += [item["number"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == len(set(seen)) == 5
    assert seen == [cases[x] for x in ("E", "D", "C", "B", "A")]


def test_filters_are_the_ledgers(api, cases) -> None:
    def numbers(**query: str) -> set[str]:
        response = api.get("admin", "/complaints", query_string=query)
        assert response.status_code == 200, response.json
        return {item["number"] for item in response.json["items"]}

    assert numbers(status="investigating") == {cases["B"], cases["E"]}
    assert numbers(status="open") == set(cases.values())
    assert numbers(department="production") == {cases["A"], cases["E"]}
    assert numbers(office="quality_office") == {cases["A"], cases["D"]}
    assert numbers(office="none") == {cases["C"]}
    assert numbers(number=cases["B"]) == {cases["B"]}
    assert numbers(category="delivery") == {cases["C"]}


def test_bad_filters_are_422_naming_the_field(api, cases) -> None:
    for query, field in [({"status": "lost"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"),
                         ({"received_from": "2026-13-01"}, "received_from"), ({"cursor": "%%%"}, "cursor"),
                         ({"number": "abc"}, "number"), ({"overdue": "maybe"}, "overdue")]:
        response = api.get("admin", "/complaints", query_string=query)
        assert response.status_code == 422 and response.json["field"] == field, (query, response.json)
    unknown = api.get("admin", "/complaints", query_string={"department": "no_such"})
    assert unknown.status_code == 422 and unknown.json["field"] == "department"

"""The ledger benchmark's data generator and measuring script on a small data set (N=2,000), on PostgreSQL.

`make bench` is the measurement (1,000,000 cases); this keeps bench/gen_cases.py and bench/bench_console.py
working between runs: the generated data is realistic enough for the ledger's queries, generated once and
then reused, and every request of the benchmark answers 200 with its plans' indexes recorded.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import bench_console, gen_cases
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.postgres
CASES = 2_000


@pytest.fixture(scope="module")
def bench_db(monkeypatch_module: pytest.MonkeyPatch) -> str:
    """A database of its own beside the tests' one (``<test database>_gen``), dropped afterwards."""
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("the ledger benchmark runs on PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(TEST_DATABASE_URL)
    monkeypatch_module.setenv("BENCH_DATABASE_URL", url.set(database="postgres").render_as_string(False))
    name = f"{url.database}_gen"
    yield name
    with psycopg.connect(**gen_cases._connect_kwargs(gen_cases.database_url("postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_month_quotas_fit_four_digit_serials() -> None:
    quotas = gen_cases.month_quotas(1_000_000)
    assert sum(quotas) == 1_000_000 and len(quotas) == gen_cases.MONTHS
    assert max(quotas) <= 9_999 and min(quotas) > 0.6 * max(quotas)
    assert sum(gen_cases.month_quotas(2_000)) == 2_000


def test_generated_once_then_reused(bench_db: str) -> None:
    url = gen_cases.ensure_dataset(CASES, bench_db, force=True)
    started = time.perf_counter()
    assert gen_cases.ensure_dataset(CASES, bench_db) == url
    assert time.perf_counter() - started < 5  # the marker says it is there: nothing is generated again
    with psycopg.connect(**gen_cases._connect_kwargs(url)) as conn:
        def one(sql: str) -> object:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return row[0]

        assert one("SELECT count(*) FROM complaint") == CASES
        assert one("SELECT count(DISTINCT number) FROM complaint") == CASES
        assert one("SELECT count(*) FROM complaint WHERE number !~ '^[0-9]{8}$'") == 0
        assert one("SELECT min(n) FROM (SELECT count(*) n FROM deadline GROUP BY complaint_id) d") >= 3
        assert one("SELECT count(*) FROM timeline_event") == CASES
        assert one("SELECT count(DISTINCT status) FROM complaint") >= 8
        assert one("SELECT count(DISTINCT category) FROM complaint") >= 5
        assert one("SELECT count(*) FROM complaint WHERE status = 'closed'") > CASES * 0.7
        # routing: a lead office unless still registered, a responsible person only in its department
        assert one("SELECT count(*) FROM complaint WHERE lead_office_id IS NULL AND status <> 'registered'") == 0
        assert one("SELECT count(*) FROM complaint c JOIN staff s ON s.id = c.responsible_staff_id "
                   "WHERE s.department_id <> c.handling_department_id") == 0
        assert one("SELECT count(*) FROM deadline WHERE status = 'breached'") > 0  # some overdue
        assert one("SELECT count(*) FROM staff_account") == len(gen_cases.BENCH_LOGINS)
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'complaint'")}
        assert {"ix_complaint_description_trgm", "ix_complaint_received_at", "ix_complaint_due_at"} <= indexes


def test_every_request_of_the_benchmark_answers_with_its_plans(bench_db: str) -> None:
    gen_cases.ensure_dataset(CASES, bench_db)
    results = bench_console.run(CASES, 1, bench_db, verbose=False)
    assert len(results) == len(bench_console.scenarios(["1", "2"], __import__("datetime").date(2026, 1, 1)))
    for result in results:
        assert result.status == 200, result.scenario.name
        assert len(result.times_ms) == 1 and result.times_ms[0] > 0
        assert result.plans, result.scenario.name  # the SQL it ran, explained
        assert all(p["ms"] is not None for p in result.plans)
    report = bench_console.report(results, CASES, 1)
    assert "ledger, first page (all cases)" in report and "case page" in report
    assert "uq_complaint_number" in report  # the case page finds its case by the unique number

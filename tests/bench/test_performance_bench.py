"""The 绩效 benchmark on a small data set (N=2,000), on PostgreSQL: it adds the surveys and praise records once,
times every period and scope, records its plans' indexes, and its totals are the database's own counts.

`make bench` is the measurement (1,000,000 cases); this keeps bench/bench_performance.py working."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import bench_performance, gen_cases
from storage.base import SHANGHAI
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.postgres
CASES = 2_000


@pytest.fixture(scope="module")
def bench_db():
    """A database of its own beside the tests' one (``<test database>_perf``), dropped afterwards."""
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("the 绩效 benchmark runs on PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(TEST_DATABASE_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_DATABASE_URL", url.set(database="postgres").render_as_string(False))
        name = f"{url.database}_perf"
        yield name
        with psycopg.connect(**gen_cases._connect_kwargs(gen_cases.database_url("postgres")),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_periods_are_the_last_full_ones() -> None:
    assert bench_performance.periods(dt.date(2026, 12, 1)) == ["2026-11", "2026-Q3", "2025"]
    assert bench_performance.periods(dt.date(2027, 1, 15)) == ["2026-12", "2026-Q4", "2026"]


def test_the_benchmark_runs_and_its_totals_are_the_databases(bench_db: str) -> None:
    results = bench_performance.run(CASES, 2, bench_db, verbose=False)
    url = gen_cases.database_url(bench_db)
    with psycopg.connect(**gen_cases._connect_kwargs(url)) as conn:
        def one(sql: str, *args: object) -> int:
            row = conn.execute(sql, args).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return int(row[0])

        surveys = one("SELECT count(*) FROM survey WHERE status = 'answered'")
        assert surveys == one("SELECT count(*) FROM complaint WHERE status = 'closed' "
                              "AND satisfaction_score IS NOT NULL")
        assert one("SELECT count(*) FROM performance_record") == one("SELECT count(*) FROM survey WHERE stars = 5")
        today = dt.datetime.now(dt.UTC).astimezone(SHANGHAI).date()
        labels = bench_performance.periods(today)
        assert [r.period for r in results] == [label for label in labels for _ in range(2)]
        for r in results:
            assert len(r.times) == 2 and all(t > 0 for t in r.times)
            assert {p["table"] for p in r.plans} == {"complaint", "deadline", "survey", "performance_record"}
            if r.judged:
                from handlers.performance import Period

                period = Period.parse(r.period, today=today)
                handled = one("SELECT count(*) FROM complaint WHERE received_at >= %s AND received_at < %s",
                              period.start_at, period.end_at)
                answered = one("SELECT count(*) FROM survey WHERE answered_at >= %s AND answered_at < %s",
                               period.start_at, period.end_at)
                assert r.rows.startswith(f"{handled} handled, ") and f", {answered} answered, " in r.rows
                assert r.passed is True  # 2,000 cases: far under 3 s
    # A second run reuses the surveys (none added twice).
    bench_performance.ensure_surveys(url)
    with psycopg.connect(**gen_cases._connect_kwargs(url)) as conn:
        row = conn.execute("SELECT count(*) FROM survey WHERE status = 'answered'").fetchone()
        assert row is not None and row[0] == surveys
    assert "PASS" in bench_performance.report(results, CASES, 2)

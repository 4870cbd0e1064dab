"""The statistics benchmark on a small data set (N=2,000), on PostgreSQL: bench/gen_cases.py adds the 未评价
surveys and the KPI facts, and bench/bench_kpi.py measures every line with real figures (`make bench` is the
measurement on 1,000,000 cases; this keeps the script working between runs)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import bench_kpi, gen_cases
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.postgres
CASES = 2_000


@pytest.fixture(scope="module")
def bench_db() -> str:
    """A database of its own beside the tests' one (``<test database>_kpi``), dropped afterwards."""
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("the statistics benchmark runs on PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(TEST_DATABASE_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_DATABASE_URL", url.set(database="postgres").render_as_string(False))
        name = f"{url.database}_kpi"
        yield name
        with psycopg.connect(**gen_cases._connect_kwargs(gen_cases.database_url("postgres")),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_benchmark_runs_on_generated_data(bench_db: str) -> None:
    url = gen_cases.ensure_dataset(CASES, bench_db, force=True)
    with psycopg.connect(**gen_cases._connect_kwargs(url)) as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM kpi_fact), (SELECT count(*) FROM survey), "
                              "(SELECT count(*) FROM complaint WHERE status = 'closed' AND id % 20 = 0)").fetchone()
    assert counts is not None and counts[0] == CASES and counts[1] == counts[2] > 0
    results = bench_kpi.run(CASES, 1, bench_db)
    assert [r.passed for r in results if r.target_s] == [True] * 5
    assert all("cases" in r.detail or "HTTP 200" in r.detail or "departments" in r.detail for r in results)
    assert "PASS" in bench_kpi.report_text(results, CASES, 1)

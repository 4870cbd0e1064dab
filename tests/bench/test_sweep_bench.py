"""The sweep benchmark's generator and measurements on a small data set (2,000 open cases), on PostgreSQL.

`make bench` is the measurement (100,000 open cases, 1,000,000 deadline rows); this keeps bench/bench_sweep.py
working between runs: the data set has the rows it says, due rows of each kind, every due row is handled by a
tick with a bounded number of statements (batched per tick, not per row), a reset puts the due rows back, and
the two dispatch workers deliver every message exactly once to the fake server.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench import bench_sweep, gen_cases
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.postgres
CASES, ROWS, DUE = 2_000, 10, 40


@pytest.fixture(scope="module")
def bench_db() -> Iterator[str]:
    """A database of its own beside the tests' one (``<test database>_sweep``), dropped afterwards."""
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("the sweep benchmark runs on PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(TEST_DATABASE_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCH_DATABASE_URL", url.set(database="postgres").render_as_string(False))
        name = f"{url.database}_sweep"
        yield name
        with psycopg.connect(**gen_cases._connect_kwargs(gen_cases.database_url("postgres")),
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_data_set_is_generated_once_with_the_due_rows_it_promises(bench_db: str) -> None:
    url, clock = bench_sweep.ensure_dataset(CASES, ROWS, DUE, bench_db, force=True)
    again, same_clock = bench_sweep.ensure_dataset(CASES, ROWS, DUE, bench_db)
    assert (again, same_clock) == (url, clock)  # reused, at the data set's own clock
    with gen_cases.connect(url) as conn:
        def one(sql: str, *args: object) -> object:
            row = conn.execute(sql, args or None).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return row[0]

        assert one("SELECT count(*) FROM complaint WHERE status NOT IN ('closed', 'invalid')") == CASES
        assert one("SELECT count(*) FROM deadline") == CASES * ROWS
        due = "status IN ('open', 'breached') AND next_alert_at <= %s"
        assert one(f"SELECT count(*) FROM deadline WHERE {due}", clock) == DUE  # noqa: S608
        assert one(f"SELECT count(DISTINCT complaint_id) FROM deadline WHERE {due}", clock) == DUE  # noqa: S608
        # every kind of alert is among them: reminders (before the limit), breaches, supervisions
        assert one(f"SELECT count(*) FROM deadline WHERE {due} AND due_at > %s", clock, clock) > 0  # noqa: S608
        assert one(f"SELECT count(*) FROM deadline WHERE {due} AND status = 'open' AND due_at < %s",  # noqa: S608
                   clock, clock) > 0
        assert one(f"SELECT count(*) FROM deadline WHERE {due} AND status = 'breached'", clock) > 0  # noqa: S608


def test_a_tick_handles_every_due_row_in_a_few_statements_and_the_dispatch_sends_each_once(bench_db: str) -> None:
    result = bench_sweep.run(CASES, ROWS, DUE, 2, 40, bench_db)

    sweep = result["sweep"]
    assert sweep["due_rows"] == DUE and sweep["queued"] == DUE  # one alert per due row
    assert len(sweep["tick_s"]) == 2 and all(t > 0 for t in sweep["tick_s"])
    # batched per tick: a handful of statements, not several per row (it was 5.7 per due row)
    assert sweep["statements"] < DUE, sweep["statement_kinds"]
    assert sweep["idle_statements"] <= 3
    dispatch = result["dispatch"]
    assert dispatch["sent"] == dispatch["delivered"] == 40 and dispatch["duplicates"] == 0
    assert dispatch["statuses"] == {"sent": 40}
    text = bench_sweep.report(result)
    assert "sweep tick" in text and "idle tick" in text and "msg/s" in text
    assert {line.split()[0] for line in text.splitlines() if line.startswith(("PASS", "FAIL"))} <= {"PASS", "FAIL"}
    # the due rows are back as generated: the next run finds the same work
    assert bench_sweep.reset_due(gen_cases.database_url(bench_db)) == DUE

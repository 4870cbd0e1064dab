"""The benchmark's load generator against real loopback servers: a few dozen messages, sanity checks only.

`make bench` is the measurement; this keeps bench/load.py and bench/floor_app.py working between runs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from bench.floor_app import CANNED_REPLY, create_floor_app
from bench.floor_store import SqlAlchemyStore, store_for
from bench.load import Report, Scenario, get_scenario, percentile, run_load
from bot.wechat_sim import WeChatSide
from storage.db import Database
from storage.models import InboundMessage, InboundStatus, IntakeSession
from tests.conftest import count_rows

pytestmark = pytest.mark.socket


def assert_sane(report: Report, messages: int) -> None:
    assert report.errors == 0, report.error_kinds
    assert report.messages == messages
    assert report.ok_messages == messages
    assert report.msgs_per_s > 0
    assert report.elapsed_s > 0
    assert 0 < report.p50_ms <= report.p90_ms <= report.p99_ms <= report.max_ms


@pytest.fixture
def floor_url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_floor_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_floor_answers_every_message(floor_url: str, wechat: WeChatSide) -> None:
    report = run_load(floor_url, "message", concurrency=4, duration=2.0, max_messages=40, side=wechat)
    assert_sane(report, 40)
    assert report.conversations == 40  # a one-message script: each follower is one message


def test_tousu_answers_every_message(live_server: Any, wechat: WeChatSide) -> None:
    report = run_load(live_server.url, "message", concurrency=4, duration=2.0, max_messages=30, side=wechat)
    assert_sane(report, 30)


def test_tousu_conversations_run_in_order_per_follower(live_server: Any, wechat: WeChatSide) -> None:
    scenario = get_scenario("conversation")
    assert len(scenario.script) == 5
    report = run_load(live_server.url, scenario, concurrency=2, duration=3.0, max_messages=20, side=wechat)
    assert_sane(report, 20)
    assert report.conversations == 4
    assert report.convs_per_s > 0


def test_a_custom_scenario_plugs_in(floor_url: str) -> None:
    scenario = Scenario("two-step", ("你好", "投诉"))
    report = run_load(floor_url, scenario, concurrency=3, duration=2.0, max_messages=12)
    assert_sane(report, 12)
    assert report.conversations == 6


def test_only_loopback_and_only_bounded_runs() -> None:
    with pytest.raises(ValueError, match="loopback"):
        run_load("http://example.com", "message", duration=1.0)
    with pytest.raises(ValueError, match="bound"):
        run_load("http://127.0.0.1:9", "message", duration=None, max_messages=None)


def test_failures_are_counted_not_raised() -> None:
    with socket.socket() as s:  # a port nothing listens on: every request fails and counts as an error
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = run_load(f"http://127.0.0.1:{port}", "message", concurrency=2, duration=0.5, max_messages=4)
    assert report.errors == report.messages > 0
    assert report.ok_messages == 0


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


@pytest.fixture(params=["raw", "sqlalchemy"])
def durable_floor(request: pytest.FixtureRequest, db: Database, database_url: str) -> Iterator[str]:
    """The durable floor on the test database (migrated like tousu's): the floor plus one transaction, with the
    raw driver and through tousu's storage layer (the SQLAlchemy durable floor)."""
    store = store_for(database_url) if request.param == "raw" else SqlAlchemyStore(database_url)
    app = create_floor_app(store=store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_durable_floor_records_every_message_and_locks_each_follower(durable_floor: str, db: Database,
                                                                   wechat: WeChatSide) -> None:
    report = run_load(durable_floor, "message", concurrency=4, duration=3.0, max_messages=24, side=wechat)
    assert_sane(report, 24)
    assert count_rows(db, InboundMessage, status=InboundStatus.DONE) == 24
    assert count_rows(db, IntakeSession) == 24  # one follower per message in this scenario
    with db.read_sessions() as s:
        assert set(s.scalars(sa.select(InboundMessage.reply))) == {CANNED_REPLY}


def test_durable_floor_answers_a_retry_with_the_first_reply_once(durable_floor: str, db: Database,
                                                                wechat: WeChatSide) -> None:
    signed = wechat.sign(wechat.text("oFloorRetry00001", "你好", msg_id=987654321))
    replies = [requests.post(f"{durable_floor}/wechat", params=signed.params, data=signed.body, timeout=10)
               for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert {wechat.open_reply(r.content)["Content"] for r in replies} == {CANNED_REPLY}
    assert count_rows(db, InboundMessage) == 1


def _result(target: str, msgs_per_s: float, p99_ms: float, errors: int = 0) -> Any:
    from bench.run import Result

    return Result(target, "message", {"unit": "message", "msgs_per_s": msgs_per_s, "convs_per_s": 0.0,
                                      "p99_ms": p99_ms, "errors": errors, "server_exceptions": 0})


def _by_baseline(verdicts: list[Any]) -> dict[tuple[str, str], Any]:
    """The printed ratio lines by (target, "÷ baseline")."""
    return {(v.line[0], v.line[2]): v for v in verdicts}


def test_the_guard_judges_tousu_against_its_durable_floor_and_the_bare_floor_is_information() -> None:
    from bench.run import ratios

    lines = _by_baseline(ratios([_result("floor", 2000, 6.0), _result("floor-sqlite", 1600, 9.0),
                                 _result("sqlite", 1000, 12.0)]))
    assert set(lines) == {("durable/sqlite", "÷ floor"), ("tousu/sqlite", "÷ floor"),
                          ("tousu/sqlite", "÷ durable/sqlite")}
    guard = lines[("tousu/sqlite", "÷ durable/sqlite")]
    assert guard.judged and guard.passed  # 1000/1600 = 0.62 ≥ 0.5; p99 12/9 = 1.33 ≤ 2.5
    assert guard.line[3].startswith("0.62") and guard.line[4] == "1.33" and guard.line[-1] == "PASS"
    bare = lines[("tousu/sqlite", "÷ floor")]
    assert not bare.judged and bare.line[3].startswith("0.50") and bare.line[4] == "2.00"
    assert bare.line[-1] == "(information)"
    assert not lines[("durable/sqlite", "÷ floor")].judged


@pytest.mark.parametrize(
    ("msgs_per_s", "p99_ms", "why"),
    [(790, 12.0, "throughput"), (1000, 23.0, "p99"), (799, 22.6, "throughput, p99")],
)
def test_the_guard_fails_below_half_the_durable_throughput_or_above_two_and_a_half_its_p99(
    msgs_per_s: float, p99_ms: float, why: str,
) -> None:
    from bench.run import ratios

    [verdict] = ratios([_result("floor-postgres", 1600, 9.0), _result("postgres", msgs_per_s, p99_ms)])
    assert verdict.judged and not verdict.passed and verdict.line[-1] == f"FAIL ({why})"


def test_errors_fail_a_ratio_that_otherwise_passes() -> None:
    from bench.run import ratios

    [verdict] = ratios([_result("floor-postgres", 1000, 6.0), _result("postgres", 900, 6.5, errors=3)])
    assert verdict.judged and not verdict.passed and "errors" in verdict.line[-1]


def _round(msgs_per_s: float, p99_ms: float, messages: int = 100) -> dict[str, Any]:
    """One round's report as bench/load.py prints it (only what bench/run.py reads)."""
    return {"unit": "message", "scenario": "message", "msgs_per_s": msgs_per_s, "convs_per_s": msgs_per_s,
            "p50_ms": p99_ms / 2, "p90_ms": p99_ms / 1.5, "p99_ms": p99_ms, "max_ms": p99_ms * 2,
            "messages": messages, "ok_messages": messages, "conversations": messages, "errors": 0,
            "error_kinds": {}, "server_exceptions": 0, "first_exception": None, "elapsed_s": messages / msgs_per_s,
            "load_cpu_s": 0.1, "server_cpu_s": 0.2, "machine_cpu_s": 0.4, "db_cpu_s": 0.0, "notes": []}


def _rounds(target: str, *rounds: dict[str, Any]) -> Any:
    from bench.run import Result, combine

    return combine([Result(target, "message", r) for r in rounds])


def test_rounds_combine_into_one_result_with_summed_counts_and_median_latencies() -> None:
    result = _rounds("sqlite", _round(500, 20.0, 500), _round(1000, 10.0, 1000), _round(250, 40.0, 250))
    rep = result.report
    assert rep["messages"] == 1750 and rep["server_cpu_s"] == pytest.approx(0.6)
    assert rep["elapsed_s"] == pytest.approx(3.0) and rep["msgs_per_s"] == pytest.approx(1750 / 3, abs=0.1)
    assert rep["p99_ms"] == 20.0 and rep["max_ms"] == 80.0
    assert len(result.rounds) == 3


def test_the_guard_takes_the_median_of_the_paired_rounds_not_the_totals() -> None:
    """Round i of tousu is divided by round i of its floor, run beside it: a slow window on one side does not
    decide the verdict (here the totals would give 0.45, the paired rounds 0.52, 0.30 and 0.60)."""
    from bench.run import ratios

    floor = _rounds("floor-sqlite", _round(1000, 10.0, 1000), _round(1000, 10.0, 1000), _round(1000, 10.0, 1000))
    tousu = _rounds("sqlite", _round(520, 20.0, 520), _round(300, 40.0, 300), _round(600, 15.0, 600))
    [verdict] = ratios([floor, tousu])
    assert verdict.judged and verdict.passed
    assert verdict.line[3] == "0.52 (msgs/s) [0.52 0.30 0.60]" and verdict.line[4] == "2.00"
    slower = _rounds("sqlite", _round(480, 20.0, 480), _round(300, 40.0, 300), _round(900, 15.0, 900))
    [verdict] = ratios([floor, slower])
    assert not verdict.passed and verdict.line[-1] == "FAIL (throughput)"  # median 0.48, though the total is 0.56


def test_a_failed_round_fails_the_target() -> None:
    from bench.run import Result, combine

    result = combine([Result("sqlite", "message", _round(500, 20.0)), Result("sqlite", "message", problem="failed: x")])
    assert result.report is None and result.problem == "failed: x"


def test_the_sqlalchemy_floor_is_information_between_the_durable_floor_and_tousu() -> None:
    from bench.run import ratios

    lines = _by_baseline(ratios([_result("floor-sqlite", 1600, 9.0), _result("orm-sqlite", 1200, 10.0),
                                 _result("sqlite", 900, 12.0)]))
    assert set(lines) == {("tousu/sqlite", "÷ durable/sqlite"), ("durable-orm/sqlite", "÷ durable/sqlite"),
                          ("tousu/sqlite", "÷ durable-orm/sqlite")}
    assert lines[("tousu/sqlite", "÷ durable/sqlite")].judged  # the guard is still against the durable floor
    layer = lines[("durable-orm/sqlite", "÷ durable/sqlite")]
    assert not layer.judged and layer.line[3].startswith("0.75") and layer.line[-1] == "(information)"
    own = lines[("tousu/sqlite", "÷ durable-orm/sqlite")]
    assert not own.judged and own.line[3].startswith("0.75") and own.line[4] == "1.20"

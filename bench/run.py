"""`make bench`: tousu under gunicorn against the floor baseline, in one run, with the ratios.

For each target — ``floor`` (bench/floor_app.py: verify, decrypt, parse, canned encrypted reply),
``sqlite`` (tousu on a fresh SQLite file in a temporary directory) and ``postgres`` (tousu on a fresh
``tousu_bench`` database, when PostgreSQL answers), plus the *durable floors* ``floor-sqlite`` and
``floor-postgres`` (the floor plus the one transaction per message any correct implementation needs,
bench/floor_store.py, on a database of their own) and the *SQLAlchemy durable floors* ``orm-sqlite`` and
``orm-postgres`` (the same statements through tousu's storage layer) — it migrates the database (``tousu db upgrade``),
starts ``gunicorn -w 2`` on a free loopback port, waits until it is ready, and runs each scenario from a
separate load process (bench/load.py; a warm-up first, then the timed window). All servers start first and
take turns scenario by scenario, in rounds (three by default, each a third of the timed seconds; every other
round in the reverse order), so each tousu round is measured within seconds of the floors' rounds beside it.
Then it prints one table, the ratios tousu/floor against the targets, and the calendar benchmark
(bench/bench_calendar.py) if present.
Last, ``console``: the staff console's ledger and case page on 1,000,000 cases (bench/bench_console.py, on
the ``tousu_bench_1m`` database bench/gen_cases.py makes once and reuses), and ``sweep``: the SLA sweep
on 100,000 open cases with 1,000,000 deadline rows, 1 % due, and the outbox dispatch with two workers to the
fake WeChat server (bench/bench_sweep.py, on ``tousu_bench_sweep``, made once and reused), and ``kpi``: the KPI
query, the monthly report and the console's 统计 page on the 1,000,000 cases (bench/bench_kpi.py), when
PostgreSQL answers.

Errors are what the client saw (failed, non-200 or undecryptable replies, or no reply) plus the tracebacks
the server logged meanwhile (tousu answers a failing handler with a 200 apology). Tables the models define
but no migration creates yet are created as tests/conftest.py does, and listed in the printout.

The judgement (issue 8): a regression guard against the *durable floor on the same database* — tousu's
throughput at least 0.5 of the durable floor's and its p99 at most 2.5 times the durable floor's, with no
errors. The bare floor writes nothing, so no correct implementation can come near it (the durable floor
itself reaches about 0.5-0.8 of it, see the notes of issues 2 and 3); the ratios to the bare floor are still
printed, as information: how far the durable floor is from it is what durability costs on this machine, and
tousu ÷ durable floor is what tousu's own code costs. Each ratio is the median of the rounds' paired ratios
(round i of tousu ÷ round i of its baseline; the rounds' own ratios are printed in brackets): on a shared
virtual machine the speed drifts within seconds, tousu's more than the floors' (README, Benchmarks), so one
window could make either side look better than it is.

    .venv/bin/python bench/run.py [--duration 10] [--rounds 3] [--concurrency 8] [--quick]
                                  [--only floor,floor-sqlite,orm-sqlite,sqlite,floor-postgres,orm-postgres,postgres,
                                          console,sweep,performance,kpi]
                                  [--scenarios message,conversation]

PostgreSQL: ``BENCH_DATABASE_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) names the
server; the benchmark creates and afterwards drops its own databases ``tousu_bench`` and
``tousu_bench_floor`` there, so it never touches the tests' data. ``BENCH_CONVERSATION`` overrides the
conversation script (JSON list or ``a|b|c``).
Exit status: 1 when a target could not be run, requests failed, or the guard is missed (a FAIL), else 0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from sqlalchemy.exc import SQLAlchemyError  # noqa: E402 - after the path set-up above

from bench.load import SCENARIOS as LOAD_SCENARIOS  # noqa: E402
from bench.load import get_scenario, script_from_env  # noqa: E402
from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN  # noqa: E402

TARGETS = ("floor", "floor-sqlite", "orm-sqlite", "sqlite", "floor-postgres", "orm-postgres", "postgres")
CONSOLE = "console"  # bench/bench_console.py: the ledger and case page on 1,000,000 cases (PostgreSQL)
SWEEP = "sweep"  # bench/bench_sweep.py: the SLA sweep on 100,000 open cases and the outbox dispatch (PostgreSQL)
PERFORMANCE = "performance"  # bench/bench_performance.py: 绩效 for a month, quarter, year on 1,000,000 cases
KPI = "kpi"  # bench/bench_kpi.py: the KPI query, the monthly report and the 统计 page on 1,000,000 cases
EXTRAS = (CONSOLE, SWEEP, PERFORMANCE, KPI)
CHOICES = (*TARGETS, *EXTRAS)
#: The durable floor of each database: bench.floor_app with bench/floor_store.py's transaction.
DURABLE = {"sqlite": "floor-sqlite", "postgres": "floor-postgres"}
#: The same transaction through tousu's storage layer (SQLAlchemy): information, what that layer alone costs.
ORM = {"sqlite": "orm-sqlite", "postgres": "orm-postgres"}
SCENARIOS = tuple(LOAD_SCENARIOS)  # every scenario bench/load.py registers
DEFAULT_SCENARIOS = ("message", "conversation")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_DB_NAME = "tousu_bench"
THROUGHPUT_GUARD = 0.5  # tousu's msgs/s ÷ the durable floor's on the same database, at least
P99_GUARD = 2.5  # tousu's p99 ÷ the durable floor's on the same database, at most
WORKERS = 2
READY_TIMEOUT = 30.0
BIN = Path(sys.executable).parent


def log(text: str) -> None:
    """Progress goes to stderr; the results go to stdout."""
    print(text, file=sys.stderr, flush=True)


# -- the servers -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gunicorn:
    """``gunicorn -w 2`` on a free loopback port, stopped with SIGTERM (then SIGKILL) on exit."""

    def __init__(self, name: str, app_spec: str, env: dict[str, str], ready_path: str, workdir: Path) -> None:
        self.name = name
        self.app_spec = app_spec
        self.env = env
        self.ready_path = ready_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gunicorn-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{self.port}",
               "--graceful-timeout", "5", "--log-level", "warning", self.app_spec]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        started = time.perf_counter()
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        log(f"[{self.name}] gunicorn -w {WORKERS} ready on {self.url} in {time.perf_counter() - started:.1f} s")
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                conn.close()
            except OSError as exc:
                last = type(exc).__name__
            else:
                # tousu: /healthz says 200 once the database answers and is migrated; floor: any answer.
                if self.ready_path != "/healthz" or status == 200:
                    return
                last = f"HTTP {status}"
            time.sleep(0.1)
        raise RuntimeError(f"not ready after {READY_TIMEOUT:.0f} s ({last}): {self.log_tail()}")

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def exceptions_since(self, offset: int) -> tuple[int, str]:
        """Tracebacks the app logged after ``offset`` (a handler that failed still answers 200 with an
        apology, so only its log tells), and the last line of the first one."""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", errors="replace")
        count = (text.count("Traceback (most recent call last)")  # a chained exception prints several
                 - text.count("The above exception was the direct cause of the following exception")
                 - text.count("During handling of the above exception, another exception occurred"))
        first = ""
        if count:
            lines = text.split("Traceback (most recent call last)", 1)[1].splitlines()
            first = next((ln for ln in lines[1:] if ln and not ln.startswith((" ", "\t"))), "")
        return count, first[:240]

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def __exit__(self, *exc: object) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop: the master stops its workers
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def tousu_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(TOUSU_DEV="1", DATABASE_URL=database_url, WECHAT_TOKEN=DEV_WECHAT_TOKEN,
               WECHAT_AES_KEY=DEV_AES_KEY, WECHAT_APPID=DEV_APPID)
    return env


def migrate(database_url: str) -> str:
    tousu = BIN / "tousu"
    cmd = [str(tousu)] if tousu.exists() else [sys.executable, "-m", "bot.cli"]
    done = subprocess.run([*cmd, "db", "upgrade"], cwd=ROOT, env=tousu_env(database_url),
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tousu db upgrade failed: {(done.stderr or done.stdout).strip()[-800:]}")
    return done.stdout.strip()


def ensure_schema(database_url: str) -> list[str]:
    """Create tables the models define but no migration does yet (work in progress), as the tests do.

    Returns their names, which the printout flags: a table listed there needs its migration.
    """
    import sqlalchemy as sa

    import storage.models  # noqa: F401 - registers every model on Base.metadata
    from storage.base import Base
    from storage.db import Database

    db = Database(database_url)
    try:
        existing = set(sa.inspect(db.engine).get_table_names())
        missing = [t.name for t in Base.metadata.sorted_tables if t.name not in existing]
        if missing:
            Base.metadata.create_all(db.engine)
        return missing
    finally:
        db.dispose()


# -- PostgreSQL: a database of our own --------------------------------------------------------------

@dataclass
class Postgres:
    url: str | None  # the bench database's URL, or None when unavailable
    reason: str = ""
    admin: dict[str, Any] = field(default_factory=dict)
    name: str = BENCH_DB_NAME


def _pg_admin(base_url: str) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    dbname = url.database if url.database and url.database != BENCH_DB_NAME else "postgres"
    kwargs = {"host": url.host or "127.0.0.1", "port": url.port or 5432, "user": url.username,
              "password": url.password, "dbname": dbname, "connect_timeout": 3}
    return url, {k: v for k, v in kwargs.items() if v is not None}


def prepare_postgres(base_url: str, name: str = BENCH_DB_NAME) -> Postgres:
    """A fresh, empty database ``name`` on the server ``base_url`` names."""
    try:
        import psycopg
    except ImportError:
        return Postgres(None, "psycopg is not installed")
    url, admin = _pg_admin(base_url)
    safe = url.render_as_string(hide_password=True)
    try:
        with psycopg.connect(**admin, autocommit=True) as conn:
            _drop(conn, name)
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Postgres(None, f"PostgreSQL at {safe}: {first}")
    return Postgres(url.set(database=name).render_as_string(hide_password=False), admin=admin, name=name)


def _drop(conn: Any, name: str) -> None:
    import psycopg

    try:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.errors.SyntaxError:  # before PostgreSQL 13
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def drop_postgres(pg: Postgres) -> None:
    import psycopg

    try:
        with psycopg.connect(**pg.admin, autocommit=True) as conn:
            _drop(conn, pg.name)
    except psycopg.Error as exc:
        log(f"[postgres] could not drop {pg.name}: {exc}")


# -- one target, its scenarios --------------------------------------------------------------------

@dataclass
class Result:
    target: str
    scenario: str
    report: dict[str, Any] | None = None
    problem: str | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)  # each round's report, when there were several


def combine(results: Sequence[Result]) -> Result:
    """One target's rounds of one scenario as one result: counts and CPU summed, rates over the summed time,
    latencies the median round's. ``rounds`` keeps each round's report for the paired ratios."""
    first = results[0]
    problem = next((r.problem for r in results if r.problem), None)
    reports = [r.report for r in results if r.report is not None]
    if problem or len(reports) != len(results):
        return Result(first.target, first.scenario, problem=problem or "failed")
    if len(reports) == 1:
        return Result(first.target, first.scenario, reports[0], rounds=reports)
    report = dict(reports[-1])
    for key in ("messages", "ok_messages", "conversations", "errors", "server_exceptions", "elapsed_s",
                "load_cpu_s", "server_cpu_s", "machine_cpu_s", "db_cpu_s", "warmup_messages", "warmup_errors"):
        report[key] = sum(r.get(key, 0) for r in reports)
    elapsed = report["elapsed_s"] or 1.0
    report["msgs_per_s"] = round(report["ok_messages"] / elapsed, 1)
    report["convs_per_s"] = round(report["conversations"] / elapsed, 2)
    for key in ("p50_ms", "p90_ms", "p99_ms"):
        report[key] = statistics.median(r[key] for r in reports)
    report["max_ms"] = max(r["max_ms"] for r in reports)
    report["first_exception"] = next((r["first_exception"] for r in reports if r.get("first_exception")), None)
    report["notes"] = list(dict.fromkeys(n for r in reports for n in r["notes"]))
    report["error_kinds"] = {k: sum(r["error_kinds"].get(k, 0) for r in reports)
                             for k in dict.fromkeys(k for r in reports for k in r["error_kinds"])}
    return Result(first.target, first.scenario, report, rounds=reports)


def run_load(server: Gunicorn, scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.load", "--url", server.url, "--scenario", scenario,
           "--concurrency", str(args.concurrency), "--duration", f"{args.duration / args.rounds:g}",
           "--warmup", str(args.warmup), "--json"]
    if server.proc is not None:
        cmd += ["--watch-pid", str(server.proc.pid)]
    if server.name.endswith("postgres"):
        cmd += ["--watch-name", "postgres"]  # a local server's backends; nothing is found for a remote one
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=args.duration / args.rounds + args.warmup + 180)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@dataclass
class Target:
    name: str
    server: Gunicorn | None = None
    problem: str | None = None


def start_target(name: str, args: argparse.Namespace, tmp: Path, stack: ExitStack) -> Target:
    """Migrate and serve one target; everything started is stopped (and dropped) when ``stack`` closes."""
    try:
        if name == "floor":
            server = Gunicorn("floor", "bench.floor_app:app", dict(os.environ), "/", tmp)
        else:
            backend = name.split("-")[-1]
            kind = name.removesuffix(backend).rstrip("-")  # "floor" (durable), "orm" or "" (tousu)
            if backend == "sqlite":
                url = f"sqlite:///{tmp / f'{name}.sqlite3'}"
            else:
                pg = prepare_postgres(args.pg_url, BENCH_DB_NAME + (f"_{kind}" if kind else ""))
                if pg.url is None:
                    return Target(name, problem=f"skipped: {pg.reason}")
                url = pg.url
                if not args.keep_db:
                    stack.callback(drop_postgres, pg)
            log(f"[{name}] {migrate(url)}")  # the durable floors write to tousu's own schema
            missing = ensure_schema(url)
            if missing:
                args.schema_notes.append(f"{_label(name)}: created {len(missing)} table(s) no migration creates "
                                         f"yet (as tests/conftest.py does): {', '.join(missing)}")
            if kind:
                factory = "create_durable_app" if kind == "floor" else "create_sqlalchemy_app"
                server = Gunicorn(name, f"bench.floor_app:{factory}()", {**os.environ, "FLOOR_DATABASE_URL": url},
                                  "/", tmp)
            else:
                server = Gunicorn(name, "bot:create_app()", tousu_env(url), "/healthz", tmp)
        stack.enter_context(server)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, SQLAlchemyError) as exc:
        log(f"[{name}] failed: {exc}")
        return Target(name, problem=f"failed: {str(exc).splitlines()[0]}")
    return Target(name, server)


def bench_scenario(target: Target, scenario: str, args: argparse.Namespace) -> Result:
    if target.server is None:
        return Result(target.name, scenario, problem=target.problem)
    offset = target.server.log_size()
    try:
        report = run_load(target.server, scenario, args)
        report["server_exceptions"], report["first_exception"] = target.server.exceptions_since(offset)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        log(f"[{target.name}] {scenario} failed: {exc}")
        return Result(target.name, scenario, problem=f"failed: {str(exc).splitlines()[0]}")
    log(f"[{target.name}] {scenario}: {_rate(report)} p50 {report['p50_ms']} ms "
        f"p99 {report['p99_ms']} ms errors {report['errors']} server exceptions {report['server_exceptions']}")
    return Result(target.name, scenario, report)


def _rate(report: dict[str, Any]) -> str:
    if report["unit"] == "conversation":
        return f"{report['convs_per_s']} conv/s ({report['msgs_per_s']} msg/s)"
    return f"{report['msgs_per_s']} msg/s"


# -- the printout ----------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _errors(report: dict[str, Any]) -> int:
    """Client-side errors (failed, non-200, unreadable replies) plus exceptions the server logged."""
    return int(report["errors"]) + int(report.get("server_exceptions", 0))


def _other_share(report: dict[str, Any]) -> float:
    """The share of the machine's CPU capacity used by processes other than the server and the load."""
    capacity = float(report["elapsed_s"]) * (os.cpu_count() or 1)
    other = report["machine_cpu_s"] - report["server_cpu_s"] - report["db_cpu_s"] - report["load_cpu_s"]
    return max(0.0, other) / capacity if capacity else 0.0


def _label(target: str) -> str:
    if target == "floor":
        return "floor"
    if target.startswith("floor-"):
        return f"durable/{target.removeprefix('floor-')}"
    if target.startswith("orm-"):
        return f"durable-orm/{target.removeprefix('orm-')}"
    return f"tousu/{target}"


def results_table(results: Sequence[Result]) -> str:
    headers = ["target", "scenario", "conv/s", "msgs/s", "p50 ms", "p99 ms", "errors", "messages",
               "CPU ms/msg: server", "db", "load", "other"]
    rows = []
    for r in results:
        if r.report is None:
            rows.append([_label(r.target), r.scenario, *["-"] * (len(headers) - 2)])
            continue
        rep = r.report
        n = max(rep["messages"], 1)
        other = max(0.0, rep["machine_cpu_s"] - rep["server_cpu_s"] - rep["db_cpu_s"] - rep["load_cpu_s"])
        rows.append([
            _label(r.target), r.scenario,
            f"{rep['convs_per_s']:.1f}" if rep["unit"] == "conversation" else "",
            f"{rep['msgs_per_s']:.1f}", f"{rep['p50_ms']:.2f}", f"{rep['p99_ms']:.2f}",
            str(_errors(rep)), str(rep["messages"]),
            f"{rep['server_cpu_s'] / n * 1000:.2f}",
            f"{rep['db_cpu_s'] / n * 1000:.2f}" if r.target.endswith("postgres") else "-",
            f"{rep['load_cpu_s'] / n * 1000:.2f}", f"{other / n * 1000:.2f}",
        ])
    return table(headers, rows, right=set(range(2, len(headers))))


@dataclass
class Verdict:
    judged: bool  # tousu ÷ its durable floor: the guard (PASS/FAIL); other lines are information
    passed: bool
    line: list[str]


def _paired(r: Result, base: Result, key: str) -> list[float]:
    """tousu ÷ baseline for each round, paired: round i of one ran right beside round i of the other."""
    if len(r.rounds) < 2 or len(r.rounds) != len(base.rounds):
        assert r.report is not None and base.report is not None
        pairs = [(r.report, base.report)]
    else:
        pairs = list(zip(r.rounds, base.rounds, strict=True))
    if key == "p99_ms":
        return [rep[key] / ref[key] if ref[key] else float("inf") for rep, ref in pairs]
    return [rep[key] / ref[key] if ref[key] else 0.0 for rep, ref in pairs]


def _verdict(r: Result, base: Result, *, judged: bool) -> Verdict:
    """The median of the paired rounds' ratios (one round: its ratio), with each round's after it."""
    rep = r.report
    assert rep is not None
    key = "convs_per_s" if rep["unit"] == "conversation" else "msgs_per_s"
    by_round = _paired(r, base, key)
    throughput = statistics.median(by_round)
    p99 = statistics.median(_paired(r, base, "p99_ms"))
    unit = "conv/s" if rep["unit"] == "conversation" else "msgs/s"
    rounds = f" [{' '.join(f'{x:.2f}' for x in by_round)}]" if len(by_round) > 1 else ""
    line = [_label(r.target), r.scenario, f"÷ {_label(base.target)}", f"{throughput:.2f} ({unit}){rounds}",
            f"{p99:.2f}"]
    if not judged:
        return Verdict(False, True, [*line, "", "", "(information)"])
    ok_t, ok_p = throughput >= THROUGHPUT_GUARD, p99 <= P99_GUARD
    clean = _errors(rep) == 0
    passed = ok_t and ok_p and clean
    why = [w for w, bad in (("throughput", not ok_t), ("p99", not ok_p), ("errors", not clean)) if bad]
    return Verdict(True, passed, [
        *line, "PASS" if ok_t else "FAIL", "PASS" if ok_p else "FAIL",
        ("PASS" if passed else "FAIL") + (f" ({', '.join(why)})" if why else ""),
    ])


def ratios(results: Sequence[Result]) -> list[Verdict]:
    """tousu against the durable floor on the same database (the guard, judged); then, as information, the
    SQLAlchemy durable floor against the durable floor (what the required database layer alone costs) and tousu
    against it (what tousu's own code costs beyond that layer); then every target against the bare floor (what
    durability costs, and what tousu costs on top)."""
    found = {(r.target, r.scenario): r for r in results if r.report}
    verdicts = []
    for r in results:
        durable = found.get((DURABLE.get(r.target, ""), r.scenario))
        if r.report and durable:
            verdicts.append(_verdict(r, durable, judged=True))
    for backend, orm_name in ORM.items():
        for scenario in dict.fromkeys(r.scenario for r in results):
            orm = found.get((orm_name, scenario))
            pairs = ((orm, found.get((DURABLE[backend], scenario))), (found.get((backend, scenario)), orm))
            verdicts += [_verdict(top, base, judged=False) for top, base in pairs if top and base]
    for r in results:
        floor = found.get(("floor", r.scenario))
        if r.target != "floor" and r.report and floor:
            verdicts.append(_verdict(r, floor, judged=False))
    return verdicts


def run_calendar(quick: bool) -> tuple[int, str]:
    script = ROOT / "bench" / "bench_calendar.py"
    if not script.exists():
        return 0, ""
    extra = ["--calls", "5000", "--cases", "1000", "--repeat", "1"] if quick else []
    for attempt in (extra, []) if extra else ([],):
        done = subprocess.run([sys.executable, str(script), *attempt], cwd=ROOT, capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode == 2 and "usage:" in done.stderr and attempt:
            continue  # its options changed: run it with its defaults
        return done.returncode, (done.stdout + done.stderr).rstrip()
    return 1, ""


EXTRA_SCRIPTS = {
    CONSOLE: ("bench_console.py", "console: ledger and case page on 1,000,000 cases",
              "the first run generates 1,000,000 cases, about a minute"),
    SWEEP: ("bench_sweep.py", "sweep: the SLA sweep on 100,000 open cases, and the outbox dispatch",
            "the first run generates 100,000 cases and 1,000,000 deadline rows, about 15 s"),
    PERFORMANCE: ("bench_performance.py", "performance: 绩效 for a month, a quarter and a year on 1,000,000 cases",
                  "reuses console's 1,000,000 cases; the first run adds their surveys, about 20 s"),
    KPI: ("bench_kpi.py", "kpi: the KPI query, the monthly report and the 统计 page on 1,000,000 cases",
          "reuses console's 1,000,000 cases (their KPI facts are built with them)"),
}


def run_extra(name: str, args: argparse.Namespace) -> tuple[int, str]:
    """bench/<script> of ``name`` (it makes or reuses its PostgreSQL data set) when PostgreSQL answers.

    Returns (exit status, printout); a missing PostgreSQL is a skip unless BENCH_DATABASE_URL was given."""
    try:
        import psycopg

        _, admin = _pg_admin(args.pg_url)
        with psycopg.connect(**admin, autocommit=True):
            pass
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (1 if args.pg_required else 0), f"skipped: PostgreSQL does not answer ({first})"
    from sqlalchemy.engine import make_url

    script, _, note = EXTRA_SCRIPTS[name]
    server = make_url(args.pg_url).set(database="postgres").render_as_string(hide_password=False)
    cmd = [sys.executable, str(ROOT / "bench" / script), *(["--repeat", "5"] if args.quick else [])]
    log(f"[{name}] bench/{script} ({note})")
    try:
        done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "BENCH_DATABASE_URL": server}, capture_output=True,
                              text=True, timeout=1800, check=False)
    except subprocess.TimeoutExpired:
        return 1, f"{script} did not finish in 30 minutes"
    if done.returncode not in (0, 1) or not done.stdout.strip():
        return 1, (done.stdout + done.stderr).rstrip()[-3000:]
    return done.returncode, done.stdout.rstrip()


def print_extra(name: str, code: int, output: str) -> int:
    script, title, _ = EXTRA_SCRIPTS[name]
    print()
    print(f"== {title} (bench/{script}) ==")
    print(output)
    if code != 0:
        print(f"{script} exited with {code}")
    return 1 if code != 0 else 0


# -- main ------------------------------------------------------------------------------------------

def _csv(allowed: Sequence[str]) -> Any:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [t for t in items if t not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(allowed)} (got {text!r})")
        return items
    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description="tousu under gunicorn against the floor baseline.")
    parser.add_argument("--duration", type=float, default=float(env.get("BENCH_DURATION", 10)),
                        help="timed seconds per target and scenario (default 10, env BENCH_DURATION)")
    parser.add_argument("--rounds", type=int, default=int(env.get("BENCH_ROUNDS", 3)),
                        help="split each target's timed seconds into this many rounds, run in turn with the other "
                             "targets' (default 3, env BENCH_ROUNDS; 1 with --quick)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first (default 1.5)")
    parser.add_argument("--concurrency", type=int, default=int(env.get("BENCH_CONCURRENCY", 8)),
                        help="concurrent clients (default 8, env BENCH_CONCURRENCY)")
    parser.add_argument("--quick", action="store_true", help="a short run (2 s per scenario), for checks")
    parser.add_argument("--only", type=_csv(CHOICES), default=list(CHOICES), help=",".join(CHOICES))
    parser.add_argument("--scenarios", type=_csv(SCENARIOS), default=list(DEFAULT_SCENARIOS),
                        help=f"any of {','.join(SCENARIOS)} (default {','.join(DEFAULT_SCENARIOS)})")
    parser.add_argument("--no-calendar", action="store_true", help="skip bench/bench_calendar.py")
    parser.add_argument("--keep-db", action="store_true", help=f"keep the {BENCH_DB_NAME} PostgreSQL database")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = min(args.duration, 2.0)
        args.rounds = 1
    if args.warmup is None:
        args.warmup = 0.5 if args.quick else 1.5
    if not 0 < args.duration <= 600 or args.concurrency < 1 or not 1 <= args.rounds <= 20:
        parser.error("--duration must be in (0, 600], --concurrency at least 1 and --rounds from 1 to 20")
    args.pg_url = env.get("BENCH_DATABASE_URL") or DEFAULT_PG_URL
    args.pg_required = bool(env.get("BENCH_DATABASE_URL"))
    args.schema_notes = []
    return args


def _versions() -> str:
    from importlib.metadata import version

    parts = [f"Python {platform.python_version()}"]
    for dist in ("gunicorn", "flask", "wechatpy", "sqlalchemy"):
        try:
            parts.append(f"{dist} {version(dist)}")
        except Exception:  # noqa: S112 - a missing version is not worth failing over
            continue
    return ", ".join(parts)


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # in order with stderr progress
    started = time.perf_counter()
    if set(args.only) <= set(EXTRAS):
        status = 0
        for name in EXTRAS:
            if name in args.only:
                status = max(status, print_extra(name, *run_extra(name, args)))
        print()
        print(f"bench finished in {time.perf_counter() - started:.0f} s")
        return status
    results: list[Result] = []
    # All servers start first and then take turns scenario by scenario, so each tousu figure is measured
    # within seconds of the floor's (a shared machine drifts; idle servers cost nothing).
    with workdir() as tmp, ExitStack() as stack:
        targets = [start_target(name, args, tmp, stack) for name in TARGETS if name in args.only]
        for scenario in args.scenarios:
            runs: dict[str, list[Result]] = {target.name: [] for target in targets}
            for index in range(args.rounds):  # in turn, every other round backwards: drift hits both sides alike
                for target in targets if index % 2 == 0 else targets[::-1]:
                    runs[target.name].append(bench_scenario(target, scenario, args))
            results += [combine(rounds) for rounds in runs.values()]

    print(f"tousu bench: gunicorn -w {WORKERS} (sync) on 127.0.0.1; load from a separate process, "
          f"{args.concurrency} clients, {args.duration:g} s timed per scenario in {args.rounds} round(s) of "
          f"{args.duration / args.rounds:.3g} s, each after {args.warmup:g} s of warm-up")
    print(f"{_versions()}; {os.cpu_count()} CPUs; signed + AES-encrypted text messages, distinct openids")
    convo = [r for r in results if r.scenario == "conversation"]
    if convo:
        script = get_scenario("conversation", script_from_env()).script
        print(f"conversation = {len(script)} messages per follower, each after the previous reply: "
              + " / ".join(script))
    print()
    print(results_table(results))
    print("CPU ms/msg: server = gunicorn's master and workers (SQLite runs inside them); db = the local PostgreSQL "
          "server's\nprocesses; load = the load process; other = anything else running on the machine meanwhile.")
    print()
    verdicts = ratios(results)
    if verdicts:
        print(f"ratios (guard: tousu ÷ the durable floor on the same database, throughput ≥ {THROUGHPUT_GUARD}, "
              f"p99 ≤ {P99_GUARD}; ÷ floor is information)")
        print(table(["target", "scenario", "baseline", "throughput ratio", "p99 ratio", f"≥ {THROUGHPUT_GUARD}",
                     f"≤ {P99_GUARD}", "result"], [v.line for v in verdicts], right={3, 4}))
    else:
        print("no ratios: neither a durable floor nor the floor was run beside tousu")
    status = 0
    for r in results:
        on_postgres = r.target.endswith("postgres")
        required = not on_postgres or args.pg_required or all(t.endswith("postgres") for t in args.only)
        if r.report is None and (required or not (r.problem or "").startswith("skipped")):
            status = 1
        if r.report is not None and _errors(r.report):
            status = 1
    if not all(v.passed for v in verdicts if v.judged):
        status = 1
    notes = [f"{_label(r.target)} {r.scenario}: {n}" for r in results if r.report for n in r.report["notes"]]
    notes += [f"{_label(r.target)} {r.scenario}: {r.problem}" for r in results if r.problem]
    notes += [f"{_label(r.target)} {r.scenario}: errors seen by the client {r.report['error_kinds']}"
              for r in results if r.report and r.report["errors"]]
    notes += [f"{_label(r.target)} {r.scenario}: {r.report['server_exceptions']} exception(s) in the server log "
              f"(warm-up included; tousu answers those 200 with an apology): {r.report['first_exception']}"
              for r in results if r.report and r.report.get("server_exceptions")]
    noisy = [f"{_label(r.target)} {r.scenario} {share:.0%}"
             for r in results if r.report and (share := _other_share(r.report)) > 0.1]
    if noisy:
        notes.append("other processes were busy during the timed windows (share of the machine: "
                     + ", ".join(noisy) + "); the figures are noisy, run again on a quiet machine")
    notes = args.schema_notes + notes
    for note in notes:
        print(f"note: {note}")

    if not args.no_calendar:
        code, output = run_calendar(args.quick)
        if output:
            print()
            print("== calendar (bench/bench_calendar.py) ==")
            print(output)
            if code != 0:
                print(f"bench_calendar.py exited with {code}")
                status = 1
    for name in EXTRAS:
        if name in args.only:
            status = max(status, print_extra(name, *run_extra(name, args)))
    print()
    print(f"bench finished in {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())

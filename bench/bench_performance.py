"""部门绩效 (`handlers.performance.performance`) on 1,000,000 cases: a month, a quarter and a year, for the
whole company and for one handling department's head.

    .venv/bin/python bench/bench_performance.py [--cases 1000000] [--repeat 5] [--database tousu_bench_1m] [--json]

(``BENCH_PERFORMANCE_DATABASE`` names another database, for ``bench/run.py --only performance``.)

The cases are `bench/gen_cases.py`'s (made once, reused). Its only surveys are the expired ones (未评价) of one
closed case in 20, so this script adds, once (when no answered survey exists), one answered survey per closed
case that has a satisfaction score
(stars and score as generated, answered when the case closed), and a praise record (表扬) for each 5★
answer, for the case's handling department and responsible person — what `handlers/survey.py` would have
written. Each measurement is the wall time of one `performance(...)` call in this process (every query and
the folding into departments and people; no page rendering): one unmeasured run, then ``--repeat`` runs
(median and max). The statements of one run are then run again under ``EXPLAIN (ANALYZE, BUFFERS)``: the
printout names the indexes each plan used and any sequential scan of a large table.

Target (issue 12): the whole company's 绩效 for a month, a quarter and a year each under 3 s (median); the
department head's lines are information. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.bench_console import PLAN_INDEX, PLAN_SEQ, Recorder, table  # noqa: E402
from bench.gen_cases import DEFAULT_CASES, DEFAULT_DATABASE, ensure_dataset, log  # noqa: E402

TARGET_MS = 3000.0
LARGE_TABLES = {"complaint", "deadline", "survey", "performance_record", "timeline_event"}
HEAD_DEPARTMENT = "production"  # the example org chart's 生产部 (its head: a department scope)

SURVEYS = """
INSERT INTO survey (complaint_id, round, status, sent_at, remind_at, expires_at, answered_at, stars, score,
    channel, later_answers, consequences, updated_at)
SELECT id, 0, 'answered', closed_at - interval '1 day', closed_at + interval '1 day', closed_at + interval '6 days',
    closed_at, satisfaction_stars, satisfaction_score, 'wechat', '[]'::json, '[]'::json, closed_at
FROM complaint WHERE status = 'closed' AND satisfaction_score IS NOT NULL AND closed_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM survey s WHERE s.complaint_id = complaint.id AND s.round = 0)
"""
PRAISE = """
INSERT INTO performance_record (kind, complaint_id, survey_id, staff_id, department_id, stars, at, note)
SELECT 'praise', c.id, s.id, c.responsible_staff_id, c.handling_department_id, s.stars, s.answered_at, ''
FROM survey s JOIN complaint c ON c.id = s.complaint_id WHERE s.stars = 5
"""


def ensure_surveys(url: str) -> None:
    """The survey answers and praise records 绩效 reads, added once to the generated cases."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # Its own marker: gen_cases adds expired surveys (未评价) of other cases for the statistics bench.
            if conn.scalar(sa.text("SELECT EXISTS (SELECT 1 FROM survey WHERE status = 'answered')")):
                return
            started = time.perf_counter()
            surveys = conn.execute(sa.text(SURVEYS)).rowcount
            praise = conn.execute(sa.text(PRAISE)).rowcount
            log(f"[performance] added {surveys} answered surveys and {praise} praise records "
                f"in {time.perf_counter() - started:.0f} s")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE survey"))
            conn.execute(sa.text("VACUUM ANALYZE performance_record"))
    finally:
        engine.dispose()


@dataclass
class Result:
    name: str
    period: str
    judged: bool
    times: list[float] = field(default_factory=list)
    rows: str = ""
    plans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def passed(self) -> bool | None:
        return self.median < TARGET_MS if self.judged else None


def explain(engine: sa.Engine, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    plans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
        for statement, params in statements:
            text = statement.lstrip()
            if not text.upper().startswith("SELECT") or "GROUP BY" not in text:
                continue  # the four grouped queries; the name look-ups are by primary key
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {text}", params))
            total = re.search(r"Execution Time: ([\d.]+) ms", plan)
            source = re.search(r"FROM (\w+)", text)
            plans.append({
                "table": source.group(1) if source else "?",
                "ms": float(total.group(1)) if total else None,
                "indexes": sorted(set(PLAN_INDEX.findall(plan))),
                "seq_scans": sorted({f"{t} (rows={n})" for t, n in PLAN_SEQ.findall(plan) if t in LARGE_TABLES}),
                "plan": plan,
            })
        conn.rollback()
    return plans


def periods(today: dt.date) -> list[str]:
    """The last full month, the last full quarter and the last full year before ``today`` (the data set ends
    with the last full month)."""
    month = (today.replace(day=1) - dt.timedelta(days=1))
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter = quarter_start - dt.timedelta(days=1)
    return [f"{month.year}-{month.month:02d}", f"{last_quarter.year}-Q{(last_quarter.month - 1) // 3 + 1}",
            str(today.year - 1)]


def run(cases: int, repeat: int, database: str, verbose: bool) -> list[Result]:
    from handlers.config import load_policy
    from handlers.performance import Period, Scope, performance
    from storage.base import SHANGHAI
    from storage.db import Database
    from storage.models import Complaint, Department

    url = ensure_dataset(cases, database)
    ensure_surveys(url)
    from bot.config import PACKAGED_EXAMPLE, load_company_config

    policy = load_policy(load_company_config(PACKAGED_EXAMPLE, dev=True))
    satisfied = policy.workflow.satisfied_score
    db = Database(url)
    recorder = Recorder(db.engine)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(SHANGHAI).date()
    results = []
    try:
        with db.read_sessions() as s:
            department = s.scalar(sa.select(Department.id).where(Department.code == HEAD_DEPARTMENT))
        scopes = [("company", Scope(sa.true(), "all"), True)]
        if department is not None:
            scopes.append((f"department ({HEAD_DEPARTMENT})",
                           Scope(Complaint.handling_department_id == department, "department"), False))
        for label in periods(today):
            period = Period.parse(label, today=today)
            for name, scope, judged in scopes:
                result = Result(name=name, period=label, judged=judged)
                for attempt in range(repeat + 1):
                    recorder.statements.clear()
                    recorder.on = attempt == repeat
                    started = time.perf_counter()
                    with db.read_sessions() as s:
                        report = performance(s, scope, period, now=now, satisfied_score=satisfied)
                    elapsed = (time.perf_counter() - started) * 1000
                    recorder.on = False
                    if attempt:
                        result.times.append(elapsed)
                result.rows = (f"{report.total.handled} handled, {report.total.closed} closed, "
                               f"{report.total.answered} answered, {len(report.people)} people")
                result.plans = explain(db.engine, recorder.statements)
                if verbose:
                    for p in result.plans:
                        print(f"-- {name} {label} {p['table']}\n{p['plan']}\n", file=sys.stderr)
                results.append(result)
    finally:
        db.dispose()
    return results


def report(results: Sequence[Result], cases: int, repeat: int) -> str:
    lines = [f"绩效 (handlers.performance) on {cases:,} cases (PostgreSQL): wall time of one performance() call "
             f"in process; {repeat} runs after 1 warm-up"]
    rows = []
    for r in results:
        verdict = {True: "PASS", False: "FAIL", None: "(information)"}[r.passed]
        sql = " + ".join(f"{p['ms']:.0f}" for p in r.plans if p["ms"] is not None) or "-"
        rows.append([r.name, r.period, f"{r.median:.0f}", f"{max(r.times):.0f}",
                     f"< {TARGET_MS:g}" if r.judged else "-", r.rows, sql, verdict])
    lines.append(table(["scope", "period", "median ms", "max ms", "target", "totals",
                        "SQL ms (EXPLAIN ANALYZE)", "result"], rows))
    lines.append("")
    lines.append("indexes the plans used (per grouped query: the table it reads first); sequential scans of the "
                 "large tables are named with the rows they returned")
    for r in results:
        parts = []
        for p in r.plans:
            used = ", ".join(p["indexes"]) or "no index"
            seq = f" [seq scan {', '.join(p['seq_scans'])}]" if p["seq_scans"] else ""
            parts.append(f"{p['table']}: {used}{seq}")
        lines.append(f"- {r.name} {r.period}: " + " | ".join(parts))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default=os.environ.get("BENCH_PERFORMANCE_DATABASE") or DEFAULT_DATABASE,
                        help=f"database name (default {DEFAULT_DATABASE}, env BENCH_PERFORMANCE_DATABASE)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--plans", action="store_true", help="print every query plan (stderr)")
    args = parser.parse_args(argv)
    results = run(args.cases, max(1, args.repeat), args.database, args.plans)
    if args.json:
        print(json.dumps([{"scope": r.name, "period": r.period, "median_ms": round(r.median, 1),
                           "max_ms": round(max(r.times), 1), "target_ms": TARGET_MS if r.judged else None,
                           "passed": r.passed, "totals": r.rows,
                           "plans": [{k: v for k, v in p.items() if k != "plan"} for p in r.plans]}
                          for r in results], ensure_ascii=False, indent=2))
    else:
        print(report(results, args.cases, args.repeat))
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

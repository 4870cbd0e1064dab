"""The statistics on 1,000,000 cases (PostgreSQL): the KPI query, the monthly report, the console's 统计 page.

    .venv/bin/python bench/bench_kpi.py [--cases 1000000] [--repeat 5] [--database tousu_bench_1m] [--json]

The data set is `bench/gen_cases.py`'s (made once, reused; 132 months up to last month, with 未评价 surveys).
Everything runs in this process against that database, each measurement after one unmeasured warm-up, the
median and the slowest of ``--repeat`` runs:

* **KPI query** — `handlers.stats.kpi.compute_kpis` of last month, of the last 12 months, and of all 132
  months (every case; information), no scope (as management reads them);
* **monthly report** — `handlers.stats.report.build_report` of last month: the figures, per department and
  per category, previous month and same month a year before, the 12-month trend, top problems, the overdue and
  low-score lists (built in a transaction that is rolled back, so nothing is stored);
* **console** — the server time of ``GET /console/stats/?period=<last month>`` through Flask's test client
  (sign-in, every query, the template with its SVG charts), for management and for the quality office's ledger,
  and of the year (information).

Targets (issue 12): the KPI query and the monthly report each under 3 s, the statistics page under 1 s.
No pre-aggregated table: every figure is counted from the ledger rows at the moment (see README, Statistics).
Exit status 1 when a judged target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.gen_cases import BENCH_PASSWORD, DEFAULT_CASES, DEFAULT_DATABASE, MONTHS, ensure_dataset  # noqa: E402

QUERY_TARGET_S = 3.0
REPORT_TARGET_S = 3.0
PAGE_TARGET_S = 1.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Result:
    name: str
    target_s: float | None
    note: str = ""
    times_s: list[float] = field(default_factory=list)
    detail: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times_s)

    @property
    def worst(self) -> float:
        return max(self.times_s)

    @property
    def passed(self) -> bool | None:
        return None if self.target_s is None else self.worst < self.target_s


def measure(result: Result, repeat: int, work: Callable[[], str]) -> Result:
    work()  # warm-up: caches, plans, the calendar's years
    for _ in range(repeat):
        started = time.perf_counter()
        result.detail = work()
        result.times_s.append(time.perf_counter() - started)
    print(f"  {result.name}: median {result.median * 1000:.0f} ms, worst {result.worst * 1000:.0f} ms "
          f"({result.detail})", file=sys.stderr, flush=True)
    return result


def sign_in(client: Any, login: str) -> None:
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post("/console/login", data={"login": login, "password": BENCH_PASSWORD,
                                                    "csrf_token": token.group(1)})
    if response.status_code != 302:
        raise SystemExit(f"sign-in as {login} failed: HTTP {response.status_code}")


def run(cases: int, repeat: int, database: str) -> list[Result]:
    from bot import create_app
    from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN, PACKAGED_EXAMPLE, load_company_config
    from handlers.config import load_policy
    from handlers.stats.kpi import compute_kpis
    from handlers.stats.periods import Period, last_month
    from handlers.stats.report import build_report
    from storage.db import Database

    url = ensure_dataset(cases, database)
    db = Database(url)
    company = load_company_config(PACKAGED_EXAMPLE, dev=True)
    policy = load_policy(company)
    with db.engine.connect() as conn:
        newest = conn.execute(sa.text("SELECT max(received_at) FROM complaint")).scalar_one()
    now = newest + dt.timedelta(days=1)  # the 1st of the month after the data's last month, about
    month = last_month(now)
    year = Period("custom", month.end.replace(year=month.end.year - 1), month.end)
    everything = Period("custom", month.end.replace(year=month.end.year - MONTHS // 12 - 1), month.end)
    results: list[Result] = []

    def kpis(period: Period) -> Callable[[], str]:
        def work() -> str:
            with db.read_sessions() as s:
                result = compute_kpis(s, period, policy=policy, as_of=now)
            got = {f.key: f.value for f in result.figures}
            return (f"{got['received']:,} cases, 办结率 {got['closure_rate']}%, 满意率 {got['satisfaction_rate']}%, "
                    f"P90 {got['p90_handling_days']} wd, 重复 {got['repeat_rate']}%, 未评价 {got['unrated']}")
        return work

    results.append(measure(Result(f"KPI query, last month ({month.key})", QUERY_TARGET_S), repeat, kpis(month)))
    results.append(measure(Result(f"KPI query, last 12 months ({year.key})", QUERY_TARGET_S), repeat,
                           kpis(year)))
    results.append(measure(Result("KPI query, all cases (132 months)", None, "information"), max(1, repeat // 2),
                           kpis(everything)))

    def report() -> str:
        with db.sessions() as s:
            built = build_report(s, month, policy=policy, now=now)
            s.rollback()
        return (f"{len(built.current.groups)} departments, {len(built.by_category)} categories, "
                f"{len(built.trend)} months, {len(built.overdue_cases)} overdue + {len(built.low_score_cases)} "
                "low-score listed")

    results.append(measure(Result(f"monthly report ({month.key})", REPORT_TARGET_S), repeat, report))

    company["console"] = {"login_rate_per_ip": "1000 per minute", "login_rate_per_account": "1000 per minute"}
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "TOUSU_DEV": True,
                      "WECHAT_TOKEN": DEV_WECHAT_TOKEN, "WECHAT_AES_KEY": DEV_AES_KEY, "WECHAT_APPID": DEV_APPID,
                      "COMPANY": company, "SCHEDULER": False, "CLOCK": lambda: now}, database=db)
    clients: dict[str, Any] = {}

    def page(login: str, path: str) -> Callable[[], str]:
        client = clients.get(login)
        if client is None:
            client = clients[login] = app.test_client()
            sign_in(client, login)

        def work() -> str:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path} as {login}: HTTP {response.status_code}")
            shown = re.search(r'<tr id="kpi-received">.*?<td class="num">(\d+) 件</td>', response.text, re.S)
            return f"HTTP 200, 受理量 {shown.group(1) if shown else '?'}"
        return work

    results.append(measure(Result("统计 page, last month (management)", PAGE_TARGET_S), repeat,
                           page("chen.gang", f"/console/stats/?period={month.key}")))
    results.append(measure(Result("统计 page, last month (quality office)", PAGE_TARGET_S), repeat,
                           page("li.na", f"/console/stats/?period={month.key}")))
    results.append(measure(Result("统计 page, a year (management)", None, "information"), max(1, repeat // 2),
                           page("chen.gang", f"/console/stats/?period={month.start.year}")))
    db.dispose()
    return results


def report_text(results: Sequence[Result], cases: int, repeat: int) -> str:
    lines = [f"statistics on {cases:,} cases (PostgreSQL), in process; median and worst of {repeat} runs after a "
             "warm-up (information lines: fewer runs)"]
    width = max(len(r.name) for r in results)
    lines.append(f"{'measurement'.ljust(width)}  median ms  worst ms  target     result         detail")
    for r in results:
        verdict = {True: "PASS", False: "FAIL", None: "(information)"}[r.passed]
        target = f"< {r.target_s * 1000:.0f} ms" if r.target_s else "-"
        lines.append(f"{r.name.ljust(width)}  {r.median * 1000:9.0f}  {r.worst * 1000:8.0f}  {target:<9}  "
                     f"{verdict:<13}  {r.detail}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(args.cases, max(1, args.repeat), args.database)
    if args.json:
        print(json.dumps([{"name": r.name, "median_s": round(r.median, 4), "worst_s": round(r.worst, 4),
                           "target_s": r.target_s, "passed": r.passed, "detail": r.detail} for r in results],
                         ensure_ascii=False, indent=2))
    else:
        print(report_text(results, args.cases, max(1, args.repeat)))
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The console's read paths on 1,000,000 cases: the ledger's first page, filtered pages, keyword searches and
the case page, server time, with the query plans' indexes.

    .venv/bin/python bench/bench_console.py [--cases 1000000] [--repeat 20] [--database tousu_bench_1m] [--json]

The data set is `bench/gen_cases.py`'s (made once, reused). The app runs in this process (`create_app` on
that database, production settings but the dev WeChat keys) and each measurement is **server time**: the
wall time of one ``client.get(...)`` through Flask's test client — routing, the sign-in and idle checks,
every query, the template, the security headers; no network and no browser. Each request runs twice
unmeasured, then ``--repeat`` times (median and p95). The SQL each request ran is recorded (a SQLAlchemy
``before_cursor_execute`` hook) and its slowest statements are run again under ``EXPLAIN (ANALYZE,
BUFFERS)``: the printout names the indexes each plan used, and any sequential scan of a large table.

Targets (issue 9): every ledger request under 300 ms, the case page under 100 ms; a line marked
``(information)`` is measured and printed but not judged. Exit status 1 when a judged target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.gen_cases import BENCH_PASSWORD, DEFAULT_CASES, DEFAULT_DATABASE, ensure_dataset  # noqa: E402

LEDGER_TARGET_MS = 300.0
CASE_TARGET_MS = 100.0
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PLAN_INDEX = re.compile(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)")
PLAN_SEQ = re.compile(r"Seq Scan on (\w+) .*?actual time=[\d.]+\.\.[\d.]+ rows=(\d+)")
LARGE_TABLES = {"complaint", "deadline", "timeline_event"}


@dataclass
class Scenario:
    name: str
    login: str
    path: str
    target_ms: float | None  # None: information only
    note: str = ""


@dataclass
class Result:
    scenario: Scenario
    times_ms: list[float] = field(default_factory=list)
    status: int = 0
    rows_text: str = ""
    plans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def passed(self) -> bool | None:
        if self.scenario.target_ms is None:
            return None
        return self.status == 200 and self.p95 < self.scenario.target_ms


def scenarios(sample_numbers: Sequence[str], month: dt.date) -> list[Scenario]:
    first = month.isoformat()
    last = ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)).isoformat()

    def ledger(**args: str) -> str:
        return "/console/ledger" + (f"?{urlencode(args)}" if args else "")

    month_args = {"from": first, "to": last}
    return [
        Scenario("ledger, first page (all cases)", "chen.gang", ledger(), LEDGER_TARGET_MS,
                 "admin + management: 1,000,000 in scope"),
        Scenario("ledger, first page (office)", "li.na", ledger(), LEDGER_TARGET_MS,
                 "品质保障处's own ledger, its default"),
        Scenario("ledger, filtered: status+category+month", "chen.gang",
                 ledger(status="closed", category="product_quality", **month_args), LEDGER_TARGET_MS),
        Scenario("ledger, filtered: open + overdue", "chen.gang", ledger(status="open", overdue="1"),
                 LEDGER_TARGET_MS),
        Scenario("ledger, filtered: department+severity, by due", "li.na",
                 ledger(department="production", severity="major", sort="due"), LEDGER_TARGET_MS),
        Scenario("ledger, keyword (description)", "chen.gang", ledger(q="表面氧化发黑"), LEDGER_TARGET_MS,
                 "4+ characters: trigram index"),
        Scenario("ledger, keyword (complainant, office)", "li.na", ledger(q="宁波瑞丰"), LEDGER_TARGET_MS,
                 "identity searchable on the office's own cases only"),
        Scenario("ledger, keyword (batch digits)", "chen.gang", ledger(q=f"B{month:%y%m}15"), LEDGER_TARGET_MS),
        Scenario("ledger, keyword + month", "chen.gang", ledger(q="划痕", **month_args), LEDGER_TARGET_MS,
                 "2 characters: no trigram; the month bounds the scan"),
        Scenario("ledger, keyword of 2 characters, all years", "chen.gang", ledger(q="针孔"), LEDGER_TARGET_MS,
                 "no trigram in 2 characters: a scan, stopped after 1,001 matches"),
        Scenario("ledger, rare 2-character keyword (worst case)", "chen.gang", ledger(q="赵娟"), None,
                 "no trigram and few matches: the whole table is scanned (information)"),
        Scenario("ledger, page 200 (deepest)", "chen.gang", ledger(page="200"), None, "offset 9,950 (information)"),
        *(Scenario("case page", "chen.gang", f"/console/cases/{n}", CASE_TARGET_MS) for n in sample_numbers[:1]),
        Scenario("case page (office, full personal data)", "li.na", f"/console/cases/{sample_numbers[1]}",
                 CASE_TARGET_MS),
    ]


class Recorder:
    """Every statement the app sends, with its parameters (SQLAlchemy's before_cursor_execute)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if self.on:
            self.statements.append((statement, parameters))


def sign_in(client: Any, login: str) -> None:
    page = client.get("/console/login")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post("/console/login", data={"login": login, "password": BENCH_PASSWORD,
                                                    "csrf_token": token.group(1)})
    if response.status_code != 302:
        raise SystemExit(f"sign-in as {login} failed: HTTP {response.status_code}")


def explain(engine: sa.Engine, statements: list[tuple[str, Any]], label: str) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each SELECT on the complaint table the request ran."""
    plans = []
    with engine.connect() as conn:
        conn.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
        for statement, params in statements:
            text = statement.lstrip()
            if not text.upper().startswith("SELECT") or "FROM complaint" not in text:
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {text}", params).all()
            plan = "\n".join(r[0] for r in rows)
            total = re.search(r"Execution Time: ([\d.]+) ms", plan)
            kind = "case" if len(plans) == 0 and "ledger" not in label else ("ids", "page")[min(len(plans), 1)]
            plans.append({
                "kind": kind,
                "ms": float(total.group(1)) if total else None,
                "indexes": sorted(set(PLAN_INDEX.findall(plan))),
                "seq_scans": sorted({f"{t} (rows={n})" for t, n in PLAN_SEQ.findall(plan) if t in LARGE_TABLES}),
                "plan": plan,
            })
        conn.rollback()
    return plans


def run(cases: int, repeat: int, database: str, verbose: bool, only: str | None = None) -> list[Result]:
    from bot import create_app
    from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN, PACKAGED_EXAMPLE, load_company_config
    from storage.db import Database

    url = ensure_dataset(cases, database)
    db = Database(url)
    with db.engine.connect() as conn:
        numbers = [r[0] for r in conn.execute(sa.text(
            "SELECT c.number FROM complaint c JOIN department d ON d.id = c.lead_office_id "
            "WHERE d.code = 'quality_office' AND c.status = 'closed' ORDER BY c.id DESC LIMIT 2 OFFSET :skip"),
            {"skip": min(1000, cases // 10)})]  # a case from a few weeks ago, of the quality office
        newest = conn.execute(sa.text("SELECT max(received_at) FROM complaint")).scalar_one()
    month = (newest - dt.timedelta(days=200)).date().replace(day=1)
    company = load_company_config(PACKAGED_EXAMPLE, dev=True)
    company["console"] = {"login_rate_per_ip": "1000 per minute", "login_rate_per_account": "1000 per minute"}
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "TOUSU_DEV": True,
                      "WECHAT_TOKEN": DEV_WECHAT_TOKEN, "WECHAT_AES_KEY": DEV_AES_KEY, "WECHAT_APPID": DEV_APPID,
                      "COMPANY": company, "SCHEDULER": False}, database=db)
    recorder = Recorder(db.engine)
    clients: dict[str, Any] = {}
    results = []
    for scenario in scenarios(numbers, month):
        if only and only not in scenario.name:
            continue
        client = clients.get(scenario.login)
        if client is None:
            client = clients[scenario.login] = app.test_client()
            sign_in(client, scenario.login)
        result = Result(scenario)
        for _ in range(2):
            client.get(scenario.path)
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(scenario.path)
            result.times_ms.append((time.perf_counter() - started) * 1000)
            result.status = response.status_code
        body = response.get_data(as_text=True)
        shown = re.search(r'<span class="count">([^<]+)</span>', body)
        result.rows_text = shown.group(1) if shown else ""
        recorder.statements.clear()
        recorder.on = True
        client.get(scenario.path)
        recorder.on = False
        result.plans = explain(db.engine, recorder.statements, scenario.path)
        results.append(result)
        print(f"  {scenario.name}: median {result.median:.1f} ms, p95 {result.p95:.1f} ms "
              f"(HTTP {result.status}) {result.rows_text}", file=sys.stderr, flush=True)
        if verbose:
            for plan in result.plans:
                print(plan["plan"], file=sys.stderr)
    db.dispose()
    return results


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def report(results: Sequence[Result], cases: int, repeat: int) -> str:
    lines = [f"console on {cases:,} cases (PostgreSQL): server time = client.get() through Flask's test client, "
             f"in process; {repeat} runs after 2 warm-ups"]
    rows = []
    for r in results:
        verdict = {True: "PASS", False: "FAIL", None: "(information)"}[r.passed]
        target = f"< {r.scenario.target_ms:g}" if r.scenario.target_ms else "-"
        sql = " + ".join(f"{p['ms']:.1f}" for p in r.plans if p["ms"] is not None) or "-"
        rows.append([r.scenario.name, r.scenario.path[:70], f"{r.median:.1f}", f"{r.p95:.1f}", target,
                     str(r.status), r.rows_text, sql, verdict])
    lines.append(table(["request", "path", "median ms", "p95 ms", "target", "HTTP", "shown",
                        "SQL ms (EXPLAIN ANALYZE)", "result"], rows))
    lines.append("")
    lines.append("indexes the plans used (ids = the count, at most 1,001 ids | page = the 50 rows shown); "
                 "sequential scans of the large tables are named with the rows they returned")
    for r in results:
        parts = []
        for p in r.plans:
            used = ", ".join(p["indexes"]) or "no index"
            seq = f" [seq scan {', '.join(p['seq_scans'])}]" if p["seq_scans"] else ""
            parts.append(f"{p['kind']}: {used}{seq}")
        lines.append(f"- {r.scenario.name}: " + " | ".join(parts))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--plans", action="store_true", help="print every query plan (stderr)")
    parser.add_argument("--only", help="run only the requests whose name contains this text")
    args = parser.parse_args(argv)
    results = run(args.cases, max(1, args.repeat), args.database, args.plans, args.only)
    if args.json:
        print(json.dumps([{"name": r.scenario.name, "path": r.scenario.path, "median_ms": round(r.median, 2),
                           "p95_ms": round(r.p95, 2), "target_ms": r.scenario.target_ms, "status": r.status,
                           "passed": r.passed, "plans": [{k: v for k, v in p.items() if k != "plan"}
                                                         for p in r.plans]} for r in results],
                         ensure_ascii=False, indent=2))
    else:
        print(report(results, args.cases, args.repeat))
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

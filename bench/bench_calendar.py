"""Working-day arithmetic and deadline computation: `WorkCalendar` against a day-by-day baseline.

Run from the repository root::

    .venv/bin/python bench/bench_calendar.py [--calls 50000] [--cases 10000] [--repeat 3]

The baseline is what one would write first: walk forward one day at a time and ask
`holidays.China` (``day in holidays``, the weekday, ``weekend_workdays``). It is fed a
pre-populated holiday object, so it pays no lazy-loading cost either. Both sides must give the
same answers; the script checks that before printing any figure. Timings are the best of
``--repeat`` runs (``time.perf_counter``); the whole script takes well under a minute.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import holidays
from holidays.constants import PUBLIC

from handlers.sla.calendar import DEFAULT_END_OF_DAY, SHANGHAI, WorkCalendar, local_day, to_shanghai
from handlers.sla.presets import Severity, WorkingDayCalendar, compute_due, get_preset


class NaiveCalendar:
    """The baseline: one dictionary look-up per calendar day walked."""

    def __init__(self, years: range) -> None:
        self._lib = holidays.China(years=years, categories=(PUBLIC,))
        self._weekend_workdays = self._lib.weekend_workdays

    def is_working_day(self, day: date | datetime) -> bool:
        d = local_day(day)
        if d in self._lib:
            return False
        return d.weekday() < 5 or d in self._weekend_workdays

    def working_day_after(self, day: date | datetime, n: int) -> date:
        d = local_day(day)
        counted = 0
        while counted < n:
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
        return d

    def add_working_days(self, start: datetime, n: int, *, end_of_day: time | None = None) -> datetime:
        due = self.working_day_after(to_shanghai(start).date(), n)
        return datetime.combine(due, end_of_day or DEFAULT_END_OF_DAY, tzinfo=SHANGHAI)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        return (to_shanghai(start).astimezone(UTC) + timedelta(hours=hours)).astimezone(SHANGHAI)


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = clock.perf_counter()
        run()
        best = min(best, clock.perf_counter() - started)
    return best


def random_moments(rng: random.Random, count: int) -> list[datetime]:
    """Aware instants spread over 2025–2026 (Asia/Shanghai), minute resolution."""
    first = datetime(2025, 1, 1, tzinfo=SHANGHAI)
    span_minutes = int((datetime(2027, 1, 1, tzinfo=SHANGHAI) - first).total_seconds() // 60)
    return [first + timedelta(minutes=rng.randrange(span_minutes)) for _ in range(count)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000, help="add_working_days calls (part a)")
    parser.add_argument("--cases", type=int, default=10_000, help="complaints whose deadlines are computed (b)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--seed", type=int, default=20260213)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    # Cold start: what the first request after boot pays to build the year tables it touches.
    started = clock.perf_counter()
    fast = WorkCalendar()
    for year in (2025, 2026, 2027):
        fast.is_working_day(date(year, 1, 1))
    cold_ms = (clock.perf_counter() - started) * 1000
    started = clock.perf_counter()
    naive = NaiveCalendar(range(2024, 2029))
    naive_cold_ms = (clock.perf_counter() - started) * 1000

    # (a) add_working_days, n in 1..30, starts across 2025–2026
    starts = random_moments(rng, args.calls)
    counts = [rng.randint(1, 30) for _ in range(args.calls)]
    pairs = list(zip(starts, counts, strict=True))
    fast_due = [fast.add_working_days(s, n) for s, n in pairs]
    naive_due = [naive.add_working_days(s, n) for s, n in pairs]
    if fast_due != naive_due:
        bad = next(i for i, (a, b) in enumerate(zip(fast_due, naive_due, strict=True)) if a != b)
        print(f"MISMATCH at {pairs[bad]}: fast {fast_due[bad]} naive {naive_due[bad]}", file=sys.stderr)
        return 1
    fast_a = best_of(args.repeat, lambda: [fast.add_working_days(s, n) for s, n in pairs])
    naive_a = best_of(args.repeat, lambda: [naive.add_working_days(s, n) for s, n in pairs])

    # (b) every milestone of nonferrous-quality for random received times and severities
    preset = get_preset("nonferrous-quality")
    cases = [(at, rng.choice(list(Severity))) for at in random_moments(rng, args.cases)]
    keyed = [(m.key, sev) for m in preset.milestones for sev in m.limits]
    per_case = len(preset.milestones)

    def deadlines(calendar: WorkingDayCalendar) -> list[datetime]:
        out: list[datetime] = []
        for at, sev in cases:
            for key, msev in keyed:
                if msev is sev:
                    out.append(compute_due(preset, key, at, sev, calendar))
        return out

    if deadlines(fast) != deadlines(naive):
        print("MISMATCH in deadlines", file=sys.stderr)
        return 1
    fast_b = best_of(args.repeat, lambda: deadlines(fast))
    naive_b = best_of(args.repeat, lambda: deadlines(naive))

    rows = [
        (
            f"(a) add_working_days, n∈[1,30], {args.calls:,} calls",
            f"{fast_a / args.calls * 1e6:.2f} µs/call",
            f"{naive_a / args.calls * 1e6:.2f} µs/call",
            f"{naive_a / fast_a:.1f}×",
        ),
        (
            f"(b) {args.cases:,} cases × {per_case} milestones, total",
            f"{fast_b:.3f} s",
            f"{naive_b:.3f} s",
            f"{naive_b / fast_b:.1f}×",
        ),
        (
            "    per case",
            f"{fast_b / args.cases * 1e6:.1f} µs",
            f"{naive_b / args.cases * 1e6:.1f} µs",
            "",
        ),
        (
            "cold start, once per process",
            f"{cold_ms:.1f} ms (3 years)*",
            f"{naive_cold_ms:.1f} ms (5 years)",
            "",
        ),
    ]
    headers = ("measure", "WorkCalendar (bisect)", "naive day-by-day", "speed-up")
    widths = [max(_width(r[i]) for r in [headers, *rows]) for i in range(4)]
    print(f"Python {sys.version.split()[0]}, holidays {holidays.__version__}, best of {args.repeat}")
    print("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)))
    print("results identical on both sides: yes")
    print("* includes loading the library's zh_CN translations once (for the Chinese day reasons)")
    return 0


def _width(text: str) -> int:
    """Display width: CJK and full-width characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


if __name__ == "__main__":
    raise SystemExit(main())

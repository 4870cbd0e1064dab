"""How well the intake understands what complainants really write: the corpus benchmark (issue 13).

Every case of ``tests/corpus/cases.toml`` is played through the REAL conversation — ``bot.inbound.deliver``
with the router, one transaction per message, a real database, the fixed clock of the intake tests — by a
scripted complainant who answers each question the bot asks the way the case says (and plainly otherwise).
The filed complaint is then compared with the expected outcome.

    python -m tests.corpus.accuracy            # SQLite in a temporary directory (or TEST_DATABASE_URL)
    python -m tests.corpus.accuracy -v         # also every miss, case by case
    python -m tests.corpus.accuracy --questions                      # questions and turns of every case
    python -m tests.corpus.accuracy --cases tests/corpus/holdout.toml  # the held-out cases (not tuned against)

Measures (printed as a table; ``tests/corpus/test_accuracy.py`` holds the CI thresholds):

* category: the filed complaint's category is the expected one (asked or understood);
* non-complaints started: questions, price enquiries and praise that started a form or filed a complaint;
* severity: the suggested 一般/重大 is the expected one; "false 重大" counts 一般 cases flagged 重大;
* fields: each expected field holds the expected value AND its step was not refused on the way (an avoidable
  re-ask is a miss); each ``never_ask`` step that was not asked counts as a field too;
* questions: form questions the bot asked (re-asks included) per category, median and maximum;
  turns: messages the complainant sent from the first one to the acknowledgement.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import tomllib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.config import PACKAGED_EXAMPLE, load_company_config
from handlers.config import load_policy
from storage.db import Database
from storage.models import Complaint, IntakeMode, Severity

CASES = Path(__file__).with_name("cases.toml")
MAX_TURNS = 45

#: How the scripted complainant answers a step the case says nothing about.
PLAIN: Mapping[str, str] = {
    "complainant_name": "张先生",
    "contact_person": "跳过",
    "phone": "13803791234",
    "address": "跳过",
    "product_name": "铝板",
    "spec_model": "跳过",
    "batch": "跳过",
    "purchase_date": "11月10日",
    "quantity": "5吨",
    "description": "具体情况就是上面说的，请尽快处理",
    "usage_scenario": "跳过",
    "loss": "无",
    "demands": "道歉/说明",
    "evidence": "跳过",
    "problem_type": "其他",
}
SEVERITY = {"一般": Severity.GENERAL, "重大": Severity.MAJOR}
#: Which step a checked field is answered at (a refusal there is a miss of the field).
FIELD_STEP = {"demand_words": "demands"}


@dataclass
class Outcome:
    case: Mapping[str, Any]
    complaint: bool
    started: bool = False  # a non-complaint that started a form or filed one
    reply: str | None = None  # the handler that answered a non-complaint last (faq, intake_offer …)
    category_ok: bool = False
    severity_ok: bool = False
    false_major: bool = False
    fields: dict[str, bool] = field(default_factory=dict)
    questions: int = 0
    turns: int = 0
    asked: list[str] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    filed: Complaint | None = None
    misses: list[str] = field(default_factory=list)


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        return list(tomllib.load(handle)["case"])


def _label(options: Any, code: str) -> str:
    return next((o.label for o in options if o.code == code), code)


def plain_answer(step: str, case: Mapping[str, Any], policy: Any) -> str:
    """The answer a complainant gives when the case has nothing special to say at ``step``."""
    expect = case.get("expect", {})
    form = policy.form
    if step == "category":
        return _label(form.options_for("category"), case["category"])
    if step == "problem_type" and "problem_type" in expect:
        return _label(form.options_for("problem_type"), expect["problem_type"])
    if step == "demands" and "demands" in expect:
        if expect.get("demand_words"):
            return str(expect["demand_words"])
        return " ".join(_label(form.options_for("demands"), code) for code in expect["demands"])
    if step == "quantity" and "quantity" in expect:
        return str(expect["quantity"]).replace(" ", "")
    if step in ("purchase_date", "batch", "product_name", "complainant_name") and step in expect:
        return str(expect[step])
    return PLAIN.get(step, "跳过")


def _together_answer(
    text: str, open_keys: list[str], answers: dict[str, list[str]], case: Mapping[str, Any], policy: Any
) -> str:
    """A question that asks several facts (产品、规格、批号) is answered with all of them, as a person would:
    the case's own words for each (used up), else the plain answer; what the person would skip is left out."""
    parts = [] if text == "跳过" else [text]
    for key in open_keys:
        own = answers.get(key)
        part = own.pop(0) if own else plain_answer(key, case, policy)
        if part != "跳过":
            parts.append(part)
    return " ".join(parts) or "跳过"


def _quantity(complaint: Complaint) -> str:
    if complaint.quantity is None:
        return ""
    amount = Decimal(complaint.quantity).normalize()
    return f"{format(amount, 'f')} {complaint.quantity_unit or ''}".strip()


def field_value(complaint: Complaint, key: str) -> Any:
    if key == "quantity":
        return _quantity(complaint)
    if key == "purchase_date":
        return complaint.purchase_date.isoformat() if complaint.purchase_date else ""
    if key == "demands":
        return list(complaint.demands or [])
    if key == "demand_words":
        return " ".join([str(d) for d in complaint.demands or []] + [complaint.description or ""])
    value = getattr(complaint, key)
    return "" if value is None else value


def field_matches(key: str, expected: Any, actual: Any) -> bool:
    if key in ("product_name", "demand_words"):
        return str(expected) in str(actual)
    return bool(expected == actual)


def play(db: Database, company: Mapping[str, Any], case: Mapping[str, Any], openid: str) -> Outcome:
    """Play one case through the real conversation and judge the result."""
    from tests.handlers.test_intake_chat import Chat

    policy = load_policy(dict(company))
    chat = Chat(db, dict(company), openid=openid)
    is_complaint = bool(case.get("complaint", True))
    outcome = Outcome(case, is_complaint)
    chat.send(case["say"])
    outcome.turns = 1
    if chat.handlers[-1] == "intake_offer":
        chat.send(case.get("yes", "是" if is_complaint else "不是"))
        outcome.turns += 1
    if not is_complaint:
        state = chat.state()
        outcome.started = bool(chat.complaints()) or (
            state is not None and state.mode in (IntakeMode.FILLING, IntakeMode.SUMMARY, IntakeMode.OFFER)
        )
        outcome.reply = chat.handlers[-1]
        if outcome.started:
            outcome.misses.append(f"started ({chat.handlers[-1]})")
        return outcome
    answers: dict[str, list[str]] = {k: list(v) for k, v in case.get("answers", {}).items()}
    form = policy.form
    times_asked: dict[str, int] = defaultdict(int)
    last_step: str | None = None
    for _ in range(MAX_TURNS):
        state = chat.state()
        if state is None or state.mode not in (IntakeMode.FILLING, IntakeMode.SUMMARY):
            break
        if state.mode is IntakeMode.SUMMARY:
            chat.send("确认")
            outcome.turns += 1
            continue
        step = state.step or ""
        if step == last_step:
            outcome.refused.add(step)
        last_step = step
        outcome.questions += 1
        outcome.asked.append(step)
        given = answers.get(step, [])
        nth = times_asked[step]
        times_asked[step] += 1
        if nth < len(given):
            text = given[nth]
        elif nth < len(given) + 1:
            text = plain_answer(step, case, policy)
        elif nth < len(given) + 2:
            text = "跳过"
        else:  # asked four times: the complainant gives up
            chat.send("取消")
            outcome.turns += 1
            break
        if form.has(step) and nth == 0:
            text = _together_answer(text, form.together_open(form.step(step), state.answers), answers, case, policy)
        chat.send(text)
        outcome.turns += 1
    complaints = chat.complaints()
    if not complaints:
        outcome.misses.append(f"nothing filed (asked {outcome.asked})")
        for key in case.get("expect", {}):
            outcome.fields[key] = False
        for key in case.get("never_ask", []):
            outcome.fields[f"not asked {key}"] = False
        return outcome
    complaint = complaints[-1]
    outcome.filed = complaint
    outcome.category_ok = complaint.category == case["category"]
    if not outcome.category_ok:
        outcome.misses.append(f"category {complaint.category} != {case['category']}")
    expected_severity = SEVERITY[case["severity"]]
    outcome.severity_ok = complaint.severity == expected_severity
    outcome.false_major = expected_severity is Severity.GENERAL and complaint.severity is Severity.MAJOR
    if not outcome.severity_ok:
        outcome.misses.append(f"severity {complaint.severity.value} != {expected_severity.value} "
                              f"{list(complaint.severity_reasons or [])}")
    for key, expected in case.get("expect", {}).items():
        actual = field_value(complaint, key)
        step = FIELD_STEP.get(key, key)
        refusal_ok = (step in outcome.refused) == (step in case.get("must_refuse", []))
        ok = field_matches(key, expected, actual) and refusal_ok
        outcome.fields[key] = ok
        if not ok:
            outcome.misses.append(f"{key}: {actual!r} != {expected!r}"
                                  + ("" if refusal_ok else " (refused: wrong)"))
    for key in case.get("never_ask", []):
        ok = key not in outcome.asked
        outcome.fields[f"not asked {key}"] = ok
        if not ok:
            outcome.misses.append(f"asked {key}")
    return outcome


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def complaints(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.complaint]

    @property
    def non_complaints(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.complaint]

    @property
    def category(self) -> float:
        return _share(o.category_ok for o in self.complaints)

    @property
    def severity(self) -> float:
        return _share(o.severity_ok for o in self.complaints)

    @property
    def false_major(self) -> int:
        return sum(o.false_major for o in self.complaints)

    @property
    def started(self) -> int:
        return sum(o.started for o in self.non_complaints)

    @property
    def fields(self) -> float:
        return _share(ok for o in self.complaints for ok in o.fields.values())

    @property
    def field_count(self) -> int:
        return sum(len(o.fields) for o in self.complaints)

    def per_field(self) -> dict[str, tuple[int, int]]:
        table: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.complaints:
            for key, ok in o.fields.items():
                name = "never asked (neighbour/employee)" if key.startswith("not asked") else key
                table[name][0] += ok
                table[name][1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(table.items())}

    def questions(self) -> dict[str, tuple[float, int, float]]:
        """Category → (median questions, max questions, median turns to file)."""
        by: dict[str, list[Outcome]] = defaultdict(list)
        for o in self.complaints:
            by[o.case["category"]].append(o)
        return {
            category: (statistics.median(o.questions for o in items), max(o.questions for o in items),
                       statistics.median(o.turns for o in items))
            for category, items in by.items()
        }

    def text(self, verbose: bool = False) -> str:
        lines = [
            f"corpus: {len(self.outcomes)} cases ({len(self.complaints)} complaints, "
            f"{len(self.non_complaints)} non-complaints)",
            "",
            "| measure | result |",
            "|---|---|",
            f"| category | {self.category:.1%} "
            f"({sum(o.category_ok for o in self.complaints)}/{len(self.complaints)}) |",
            f"| non-complaints started | {self.started} of {len(self.non_complaints)} |",
            f"| severity | {self.severity:.1%} ({sum(o.severity_ok for o in self.complaints)}/"
            f"{len(self.complaints)}); 一般 flagged 重大: {self.false_major} |",
            f"| fields | {self.fields:.1%} ({round(self.fields * self.field_count)}/{self.field_count}) |",
            "",
            "| field | right |",
            "|---|---|",
            *(f"| {name} | {ok}/{total} |" for name, (ok, total) in self.per_field().items()),
            "",
            "| category | questions median | questions max | turns to file median |",
            "|---|---|---|---|",
            *(f"| {cat} | {med:g} | {mx} | {turns:g} |" for cat, (med, mx, turns) in self.questions().items()),
        ]
        if verbose:
            lines += ["", "misses:"]
            for o in self.outcomes:
                if o.misses:
                    lines.append(f"  {o.case['id']}: {'; '.join(o.misses)}")
        return "\n".join(lines)


def _share(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 1.0


def run(db: Database, company: Mapping[str, Any], cases: list[dict[str, Any]] | None = None) -> Report:
    outcomes = [
        play(db, company, case, openid=f"oCorpus{index:04d}{case['id']}")
        for index, case in enumerate(cases if cases is not None else load_cases())
    ]
    return Report(outcomes)


@contextmanager
def scratch_database(url: str | None = None) -> Iterator[Database]:
    """A migrated database for a run from the command line (SQLite in a temporary directory by default)."""
    import os

    from storage import migrate
    from storage.base import Base

    url = url or os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite:///{tmp}/corpus.sqlite3")
        if url:
            import sqlalchemy as sa

            with db.engine.begin() as conn:
                if db.dialect == "postgresql":
                    conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
                    conn.execute(sa.text("CREATE SCHEMA public"))
        migrate.upgrade(db.engine)
        Base.metadata.create_all(db.engine)
        try:
            yield db
        finally:
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--only", help="comma-separated case ids")
    parser.add_argument("--cases", type=Path, default=CASES, help="the corpus file (default: %(default)s)")
    parser.add_argument("--questions", action="store_true", help="list every case's questions and turns")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    company = load_company_config(PACKAGED_EXAMPLE, dev=True)
    with scratch_database() as db:
        report = run(db, company, cases)
        print(report.text(verbose=args.verbose))
        if args.questions:
            print("\nquestions per case (id: questions/turns: steps asked):")
            for o in report.complaints:
                print(f"  {o.case['id']}: {o.questions}/{o.turns}: {' '.join(o.asked)}")


if __name__ == "__main__":
    main()

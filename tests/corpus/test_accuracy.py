"""The understanding corpus in CI: the real conversation must keep the figures issue 13 asks for.

Thresholds (docs/understanding.md has the table before and after): category ≥ 97 %, no non-complaint
started, severity ≥ 95 % with no 一般 case flagged 重大, fields ≥ 95 %.
"""

from __future__ import annotations

from typing import Any

from storage.db import Database
from tests.corpus.accuracy import load_cases, run


def test_corpus_accuracy_meets_the_thresholds(db: Database, company_config: dict[str, Any]) -> None:
    cases = load_cases()
    assert len(cases) >= 100
    assert {c["category"] for c in cases if c.get("complaint", True)} >= {
        "product_quality", "service_attitude", "delivery", "management", "logistics_support", "surroundings", "other",
    }
    report = run(db, company_config, cases)
    table = report.text(verbose=True)
    assert report.category >= 0.97, table
    assert report.started == 0, table
    assert report.severity >= 0.95, table
    assert report.false_major == 0, table
    assert report.fields >= 0.95, table

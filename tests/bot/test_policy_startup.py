"""A wrong policy file stops start-up of every process with one line naming the key (issue 8, bug 1).

Before, ``create_app`` and ``tousu worker`` started with each of these files: the first two failed only when a
follower first needed the section (the follower got the apology), the third silently sent breach notices to
nobody while the deadline row was marked notified.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot import create_app
from bot.cli import main
from bot.config import PACKAGED_EXAMPLE, ConfigError

BAD_POLICIES = {
    "sla_duration": (
        '\n[sla.presets.general.milestones.whole_case]\ngeneral = "3 weeks"\n',
        r"^tousu\.toml: sla\.presets\.general\.milestones\.whole_case\.general\.limit: cannot read duration '3 weeks'",
    ),
    "form_parser": (
        '\n[[form.steps]]\nkey = "mobile"\nlabel = "手机"\nparser = "telephone"\n',
        r"^tousu\.toml: form\.steps \(mobile\)\.parser: one of .* \(got 'telephone'\)$",
    ),
    "breach_to": (
        '\n[sla.presets.general.escalation]\nbreach_to = "department_haed"\n',
        r"^tousu\.toml: sla\.presets\.general\.escalation\.breach_to: 'department_haed' is not a recipient",
    ),
}


def _policy_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "tousu.toml"
    path.write_text(PACKAGED_EXAMPLE.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extra: str) -> None:
    monkeypatch.setenv("TOUSU_DEV", "1")
    monkeypatch.setenv("TOUSU_CONFIG", str(_policy_file(tmp_path, extra)))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'startup.sqlite3'}")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_create_app_refuses_the_policy(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra, message = BAD_POLICIES[case]
    _env(monkeypatch, tmp_path, extra)
    with pytest.raises(ConfigError) as raised:
        create_app({"TESTING": True})
    assert "\n" not in str(raised.value)
    assert re.search(message, str(raised.value)), str(raised.value)


@pytest.mark.parametrize("command", [["worker"], ["db", "upgrade"], ["calendar", "show", "2026-02"], ["org", "sync"]])
@pytest.mark.parametrize("case", sorted(BAD_POLICIES))
def test_every_process_refuses_the_policy_with_one_line(
    case: str, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra, message = BAD_POLICIES[case]
    _env(monkeypatch, tmp_path, extra)
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tousu: configuration error: "), result.stderr
    assert re.search(message, lines[0].removeprefix("tousu: configuration error: ")), lines[0]
    assert "Traceback" not in result.output


def test_the_packaged_example_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, tmp_path, "")
    app: Any = create_app({"TESTING": True})
    assert app.extensions["tousu"].settings.policy.company.name == "示例铝业有限公司"

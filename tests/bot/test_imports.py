"""The worker's side of the house (scheduler/, the channel clients, settings) runs without Flask."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import repo_root

SCRIPT = """
import sys
import scheduler, scheduler.outbox, scheduler.jobs, bot.channels.sink, bot.config, bot.cli
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "werkzeug", "flask_login", "flask_wtf"))
assert not loaded, loaded
from bot import create_app  # the web process still finds its factory where it was
assert callable(create_app)
"""


def test_scheduler_and_channels_do_not_import_flask() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=repo_root(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_imported_distribution_is_declared() -> None:
    """A module imported directly must not arrive only as someone else's dependency (xmltodict did)."""
    import ast
    import importlib.metadata
    import re
    import tomllib

    root = repo_root()
    declared = {re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0].lower().replace("_", "-")
                for dep in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    imported: set[str] = set()
    for package in ("bot", "handlers", "storage", "scheduler", "templates"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    missing = sorted(
        f"{module} ({dist})" for module in imported for dist in distributions.get(module, [])
        if dist.lower().replace("_", "-") not in declared and dist.lower() != "tousu"
    )
    assert missing == []

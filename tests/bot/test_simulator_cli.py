"""Every command the README shows works as shown: `tousu simulate` against `make run`, and each command exists.

The README is a newcomer's first ten minutes; these tests read it, so a command it shows that does not exist (or
needs a setting the README does not mention) fails here, not in front of the newcomer.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from bot.cli import main
from tests.conftest import LiveServer, repo_root

README = repo_root() / "README.md"
BIN = Path(sys.executable).parent
TOUSU = BIN / "tousu"

#: Programs of the project the README tells a reader to run (pip, export, cp… are not the project's).
PROGRAMS = ("make", "tousu", ".venv/bin/tousu", "python", ".venv/bin/python", ".venv/bin/pytest", "gunicorn")

#: What a newcomer's shell has: none of tousu's settings (the README's first steps need none).
SETTINGS = re.compile(r"^(TOUSU_|SECRET_KEY$|DATABASE_URL$|TEST_DATABASE_URL$|REDIS_URL$|WECHAT_|WECOM_|MAKE)")


def newcomer_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SETTINGS.match(k) and k not in ("MFLAGS", "MAKEFLAGS")}
    return env | extra


def simulate(url: str | None, typed: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`tousu simulate` as the README writes it (the installed script, a plain shell), typing ``typed``."""
    command = [str(TOUSU), "simulate"] + (["--url", url] if url else [])
    return subprocess.run(command, input=typed, capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=newcomer_env())


def replies(output: str) -> list[str]:
    """The account's replies in what `tousu simulate` printed (each may span lines, up to the next prompt)."""
    return [part.split("我> ", 1)[0].strip() for part in output.split("公众号> ")[1:]]


def test_simulate_as_the_readme_writes_it_needs_no_setting(live_server: LiveServer, tmp_path: Path) -> None:
    """Regression: it stopped with `SECRET_KEY: required` unless TOUSU_DEV=1 was set, which the README never says."""
    result = simulate(live_server.url, "投诉\n/quit\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "请选择投诉类型" in replies(result.stdout)[0]


def test_simulate_signs_with_the_servers_keys_from_the_environment(
    db: object, app_config: dict[str, object], tmp_path: Path
) -> None:
    from bot import create_app

    keys = {"WECHAT_TOKEN": "anotherToken123", "WECHAT_AES_KEY": "b" * 43, "WECHAT_APPID": "wx0000000000other"}
    server = LiveServer(create_app(app_config | keys, database=db))  # type: ignore[arg-type]
    try:
        result = subprocess.run([str(TOUSU), "simulate", "--url", server.url], input="你好\n", capture_output=True,
                                text=True, timeout=60, cwd=tmp_path, env=newcomer_env(**keys))
        refused = simulate(server.url, "你好\n", tmp_path)  # dev keys: the server refuses the signature
    finally:
        server.stop()
    assert "投诉" in replies(result.stdout)[0]
    assert "（服务器返回 403）" in refused.stdout


# -- the commands the README shows --------------------------------------------------------------------------

def readme_commands() -> list[list[str]]:
    """The shell commands in README.md: lines of ```sh blocks and inline `code` spans, as argument lists."""
    text = README.read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            lines.append(re.sub(r"\s#.*$", "", line).strip())
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    commands = []
    for line in lines:
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words and words[0] in PROGRAMS and words != ["make"] and words not in commands:
            commands.append(words)
    return commands


COMMANDS = readme_commands()


def test_the_readme_shows_the_commands_a_newcomer_needs() -> None:
    shown = {" ".join(words) for words in COMMANDS}
    newcomer = ("make run", "make test", "make run PORT=8080", ".venv/bin/tousu simulate", ".venv/bin/tousu --help")
    assert set(newcomer) <= shown


@pytest.mark.parametrize("words", [w for w in COMMANDS if w[0] == "make"], ids=" ".join)
def test_each_make_command_exists(words: list[str]) -> None:
    result = subprocess.run(["make", "-n", *words[1:]], cwd=repo_root(), capture_output=True, text=True, timeout=60,
                            env=newcomer_env())
    assert result.returncode == 0, result.stderr
    for assignment in (w for w in words[1:] if "=" in w):  # PORT=8080 reaches the command it sets
        name, value = assignment.split("=", 1)
        assert value in result.stdout, f"{name}={value} does not reach make's commands:\n{result.stdout}"


def test_make_run_port_reaches_the_server_and_its_printed_simulator_url() -> None:
    result = subprocess.run(["make", "-n", "run", "PORT=8080"], cwd=repo_root(), capture_output=True, text=True,
                            timeout=60, env=newcomer_env())
    assert "tousu serve --host 127.0.0.1 --port 8080" in result.stdout


def click_path(words: list[str]) -> tuple[list[str], click.Command]:
    """The subcommand path of a `tousu …` command line (``show|due`` and ``set/import`` name alternatives: the
    first is walked, the others checked), failing when a word where a subcommand belongs names none."""
    command: click.Command = main
    path: list[str] = []
    for word in words:
        if word.startswith("-") or not isinstance(command, click.Group):
            break
        first, *others = re.split(r"[|/]", word)
        for name in [first, *others]:
            assert name in command.commands, f"`tousu {' '.join([*path, name])}` does not exist"
        path.append(first)
        command = command.commands[first]
    return path, command


@pytest.mark.parametrize("words", [w for w in COMMANDS if w[0].endswith("tousu")], ids=" ".join)
def test_each_tousu_command_exists_with_its_options(words: list[str]) -> None:
    path, command = click_path(words[1:])
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    known = {opt for param in command.params for opt in getattr(param, "opts", [])} | {"--help", "-h"}
    for option in (w.split("=", 1)[0] for w in words if w.startswith("-")):
        assert option in known, f"`tousu {' '.join(path)}` has no option {option}"


def test_the_installed_tousu_script_answers_help() -> None:
    result = subprocess.run([str(TOUSU), "--help"], capture_output=True, text=True, timeout=60, env=newcomer_env())
    assert result.returncode == 0, result.stderr
    assert "simulate" in result.stdout


@pytest.mark.parametrize("words", [w for w in COMMANDS if w[0] not in ("make",) and not w[0].endswith("tousu")],
                         ids=" ".join)
def test_each_other_program_exists(words: list[str], pytestconfig: pytest.Config) -> None:
    program = Path(words[0]).name
    if program == "python":  # `python bench/run.py --help`: the script exists and answers
        script = repo_root() / words[1]
        assert script.is_file()
        result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return
    assert (BIN / program).is_file(), f"{program} is not installed by `make install`"
    if program == "pytest" and "-m" in words:  # a marker expression names registered markers only
        registered = {line.split(":")[0].strip() for line in pytestconfig.getini("markers")}
        expression = words[words.index("-m") + 1]
        names = set(re.findall(r"\w+", expression)) - {"not", "and", "or"}
        assert names <= registered


# -- after `make run`, as a newcomer would --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.socket
def test_after_make_run_on_another_port_the_simulators_answer(tmp_path: Path) -> None:
    """`make run PORT=…`, then the page the README names and `tousu simulate --url …`, as a newcomer would."""
    if not (repo_root() / ".venv" / "bin" / "tousu").exists():
        pytest.skip("make run needs the project's .venv (make install)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "make-run.log").open("w")
    # The database goes to a temporary file instead of instance/; nothing else differs from a newcomer's shell.
    server = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=repo_root(), stdout=log, stderr=subprocess.STDOUT,
                              env=newcomer_env(DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}"),
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, (tmp_path / "make-run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "make-run.log").read_text()
            time.sleep(0.3)
        page = requests.get(f"{url}/dev/simulator", timeout=10)
        assert page.status_code == 200 and "/dev/simulator/send" in page.text
        result = simulate(url, "投诉\n/quit\n", tmp_path)
        assert result.returncode == 0, result.stderr
        assert "请选择投诉类型" in replies(result.stdout)[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # make and the server it started: this test's own process group
        server.wait(timeout=30)
        log.close()
    assert f"http://127.0.0.1:{port}/dev/simulator" in (tmp_path / "make-run.log").read_text()

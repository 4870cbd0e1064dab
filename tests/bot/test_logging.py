"""The one line per inbound message reaches stderr under a host that configures no logging (gunicorn)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import repo_root

SCRIPT = """
import json, sys
from bot import create_app
from bot.config import DEV_AES_KEY, DEV_APPID, DEV_WECHAT_TOKEN
from bot.wechat_sim import WeChatSide
app = create_app({"TOUSU_DEV": True, "DATABASE_URL": sys.argv[1]})
from storage import migrate
migrate.upgrade(app.extensions["tousu"].db.engine)
side = WeChatSide(DEV_WECHAT_TOKEN, DEV_AES_KEY, DEV_APPID)
signed = side.sign(side.text("oLogLine00000001", "你好", msg_id=4242))
reply = app.test_client().post("/wechat", query_string=signed.params, data=signed.body)
assert reply.status_code == 200, reply.status_code
create_app({"TOUSU_DEV": True, "DATABASE_URL": sys.argv[1]})  # a second app adds no second handler
app.test_client().post("/wechat", query_string=signed.params, data=signed.body)  # a retry: logged once more
"""


def test_inbound_lines_reach_stderr_without_any_logging_setup(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, url], cwd=repo_root(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if "tousu.inbound" in line]
    assert len(lines) == 2, done.stderr[-2000:]
    first, retry = (json.loads(line.split("tousu.inbound ", 1)[1]) for line in lines)
    assert first["msg_id"] == 4242 and first["status"] == "ok" and first["openid"] == "oLog…0001"
    assert retry["status"] == "duplicate"
    assert "oLogLine00000001" not in done.stderr, "openids are masked"

"""WeCom delivers a command again when it had no answer within 5 s, possibly while the first delivery is still
running; and two people may act on one case at once. Over a real socket, in real concurrent transactions."""

from __future__ import annotations

import requests
import sqlalchemy as sa

from storage.models import Complaint
from tests.bot.wecom.test_commands import _case, _events
from tests.conftest import run_concurrently


def _post(url: str, signed) -> int:
    return requests.post(f"{url}/wecom", params=signed.params, data=signed.body, timeout=60).status_code


def test_simultaneous_deliveries_of_one_command_act_once(live_server, wecom, db, world):
    number = _case(db, world)
    xml = wecom.text("zhao.lei", f"进度 {number} 已联系客户", msg_id=660001)
    calls = [(live_server.url, wecom.sign(xml)) for _ in range(4)]  # each delivery signed afresh, as WeCom does
    statuses, errors = run_concurrently(_post, calls)
    assert errors == [] and statuses == [200] * 4
    assert len(_events(db, number, "add_progress_note")) == 1


def test_two_people_noting_progress_at_once_both_land_one_after_the_other(live_server, wecom, db, world):
    number = _case(db, world)
    with db.read_sessions() as s:
        version = s.scalar(sa.select(Complaint.version).where(Complaint.number == number))
    calls = [(live_server.url, wecom.sign(wecom.text(userid, f"进度 {number} {userid} 已联系客户")))
             for userid in ("zhao.lei", "qian.hao")]
    statuses, errors = run_concurrently(_post, calls)
    assert errors == [] and statuses == [200, 200]
    notes = _events(db, number, "add_progress_note")
    assert sorted(n.details["by"] for n in notes) == ["赵磊", "钱浩"]
    with db.read_sessions() as s:
        assert s.scalar(sa.select(Complaint.version).where(Complaint.number == number)) == version + 2

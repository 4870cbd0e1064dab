"""The simulator's WeCom door (/dev/simulator/wecom/send): bad input is a 400, a command is answered through the
real /wecom endpoint (over a real socket: the simulator posts to its own server), long answers come whole."""

from __future__ import annotations

import requests

from tests.bot.wecom.test_commands import _case


def test_bad_input_is_a_400(client, db, world):
    assert client.post("/dev/simulator/wecom/send", json={}).status_code == 400
    assert client.post("/dev/simulator/wecom/send", json={"userid": "zhao.lei", "content": " "}).status_code == 400
    assert client.post("/dev/simulator/wecom/send", json={"userid": "x" * 65, "content": "待办"}).status_code == 400


def test_the_page_offers_the_active_people_of_the_org_chart(client, db, world):
    page = client.get("/dev/simulator").text
    assert 'value="zhao.lei"' in page and "赵磊（zhao.lei）" in page


def test_a_long_answer_comes_back_in_all_its_pieces(live_server, db, world):
    numbers = [_case(db, world) for _ in range(45)]
    response = requests.post(f"{live_server.url}/dev/simulator/wecom/send",
                             json={"userid": "zhao.lei", "content": "待办"}, timeout=30)
    data = response.json()
    assert data["status"] == 200 and len(data["replies"]) >= 2
    assert all(len(piece.encode()) <= 2048 for piece in data["replies"])
    assert all(number in "\n".join(data["replies"]) for number in numbers)
    assert data["request"]["url"].startswith("/wecom?msg_signature=")

"""Health check, and the dev simulator posting through the real endpoint."""

from __future__ import annotations

import requests

from bot import create_app


def test_healthz_reports_the_database(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"] == db.dialect


def test_healthz_is_503_when_the_database_is_down(app_config, tmp_path):
    app = create_app(app_config | {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_simulator_is_404_outside_dev_mode(db, app_config):
    prod = app_config | {"TOUSU_DEV": False, "WECHAT_SECRET": "s3cret", "WECOM_SECRET": "s3cret",
                         "PUBLIC_BASE_URL": "https://tousu.example.com"}
    client = create_app(prod, database=db).test_client()
    assert client.get("/dev/simulator").status_code == 404
    assert client.post("/dev/simulator/send", json={"openid": "x", "content": "hi"}).status_code == 404


def test_simulator_page_renders(client):
    response = client.get("/dev/simulator")
    assert response.status_code == 200
    assert "公众号模拟器" in response.get_data(as_text=True)


def test_simulator_signs_encrypts_and_posts_to_the_real_endpoint(live_server):
    for mode in ("safe", "compat", "plain"):
        response = requests.post(f"{live_server.url}/dev/simulator/send",
                                 json={"openid": "oSIMtest000001", "kind": "text", "content": "你好", "mode": mode},
                                 timeout=10)
        data = response.json()
        assert data["status"] == 200
        assert "投诉" in data["reply"]
        assert "signature" in data["request"]["params"]
        assert ("msg_signature" in data["request"]["params"]) == (mode != "plain")


def test_simulator_events_and_feed(live_server):
    send = f"{live_server.url}/dev/simulator/send"
    data = requests.post(send, json={"openid": "oSIMtest000002", "kind": "subscribe"}, timeout=10).json()
    assert "欢迎" in data["reply"]
    feed = requests.get(f"{live_server.url}/dev/simulator/feed", params={"openid": "oSIMtest000002"}, timeout=10)
    assert feed.json() == {"customer": [], "staff": []}

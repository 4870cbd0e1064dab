"""Cookie sessions (for the console): signed as Flask signs them, skipped cheaply when no cookie is sent."""

from __future__ import annotations

from typing import Any

from flask import session


def _session_routes(app: Any) -> None:
    @app.get("/_test/session/set")
    def set_value() -> str:
        session["who"] = "王工"
        return "set"

    @app.get("/_test/session/get")
    def get_value() -> str:
        return str(session.get("who", "nobody"))


def test_a_signed_session_cookie_round_trips(app: Any) -> None:
    _session_routes(app)
    client = app.test_client()
    assert client.get("/_test/session/set").status_code == 200
    assert client.get_cookie("session") is not None
    assert client.get("/_test/session/get").get_data(as_text=True) == "王工"


def test_no_cookie_is_an_empty_session_and_sets_none(app: Any) -> None:
    _session_routes(app)
    response = app.test_client().get("/_test/session/get")
    assert response.get_data(as_text=True) == "nobody"
    assert "Set-Cookie" not in response.headers


def test_a_forged_cookie_is_an_empty_session(app: Any) -> None:
    _session_routes(app)
    client = app.test_client()
    client.set_cookie("session", "eyJ3aG8iOiJtYWxsb3J5In0.forged.signature")
    assert client.get("/_test/session/get").get_data(as_text=True) == "nobody"

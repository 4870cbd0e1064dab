"""A fake business system receiving tousu's webhooks on loopback, over real HTTP.

It checks each delivery as a real receiver must (``bot/channels/webhook.py`` documents the contract): the
HMAC-SHA256 signature of ``"{X-Tousu-Timestamp}.{raw body}"`` with the shared secret, in constant time,
and records what it got. It can be told to answer errors::

    receiver.answer(500, times=1)     # the next delivery gets HTTP 500 (the outbox retries it)
    receiver.answer(400)              # every later delivery gets 400 (the outbox gives up on it)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SECRET = "business-system-shared-secret-0123"


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class WebhookReceiver:
    secret: str = SECRET
    deliveries: list[Delivery] = field(default_factory=list)
    _answers: deque[int] = field(default_factory=deque)
    _default: int = 204
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                timestamp = self.headers.get("X-Tousu-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), timestamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(expected, self.headers.get("X-Tousu-Signature", ""))
                with receiver._lock:
                    receiver.deliveries.append(Delivery(dict(self.headers), body, ok))
                    status = receiver._answers.popleft() if receiver._answers else receiver._default
                self.send_response(status if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/tousu"

    def answer(self, status: int, *, times: int | None = None) -> None:
        with self._lock:
            if times is None:
                self._default = status
            else:
                self._answers.extend([status] * times)

    def events(self) -> list[tuple[str, str]]:
        """(event, number) of every delivery whose signature checked out, in arrival order."""
        return [(d.payload["event"], d.payload["number"]) for d in self.deliveries if d.signature_ok]


@pytest.fixture(name="webhook_receiver")
def webhook_receiver_fixture() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()

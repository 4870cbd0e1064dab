"""The webhook sender: one signed POST of a state change to the business system (``[webhooks]``).

The body is the outbox row's payload as compact JSON (UTF-8). Headers:

* ``X-Tousu-Event``: the event (``registered``, ``triage``, ``close``…);
* ``X-Tousu-Delivery``: the outbox row's id; the same on every retry of one change, so a receiver can
  drop a duplicate (a retry after a timeout may repeat a delivery that did arrive);
* ``X-Tousu-Timestamp``: Unix seconds when this attempt was signed;
* ``X-Tousu-Signature``: ``sha256=`` + hex HMAC-SHA256 with the shared secret of
  ``"{timestamp}.{body}"``. The receiver recomputes it over the raw body, compares in constant time and
  refuses a timestamp more than a few minutes old (a replay).

Outcomes follow the outbox's error policy (``bot/channels/errors.py``): 2xx is sent; a timeout, a
connection error, 408, 429 or 5xx is retried with back-off; any other 4xx fails for good (the receiver
refuses this request, and repeating it will not change that).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import requests

from bot.channels import Outgoing, Receipt
from bot.channels.errors import ChannelError, ErrorKind
from handlers.webhooks import WebhookPolicy

RETRYABLE_STATUS = frozenset({408, 425, 429})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``"{timestamp}.{body}"`` (what ``X-Tousu-Signature`` carries)."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(message: Outgoing) -> bytes:
    return json.dumps(dict(message.payload), ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


class WebhookSender:
    """POSTs one outbox row to its recipient (the configured URL), signed with the shared secret."""

    def __init__(self, policy: WebhookPolicy, *, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.policy = policy
        self.http = session or requests.Session()
        self.clock = clock

    def send(self, message: Outgoing) -> Receipt:
        body = body_of(message)
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "tousu-webhook/1",
            "X-Tousu-Event": str(message.payload.get("event", "")),
            "X-Tousu-Delivery": str(message.id),
            "X-Tousu-Timestamp": timestamp,
            "X-Tousu-Signature": signature(self.policy.secret, timestamp, body),
        }
        response = self.http.post(message.recipient, data=body, headers=headers, timeout=self.policy.timeout_seconds,
                                  allow_redirects=False)  # a request exception is classified by channel_error
        status = response.status_code
        if 200 <= status < 300:
            return Receipt()
        kind = ErrorKind.RETRY if status >= 500 or status in RETRYABLE_STATUS else ErrorKind.PERMANENT
        raise ChannelError(kind, f"HTTP {status} from the webhook receiver")


__all__ = ["WebhookSender", "body_of", "signature"]

"""Webhooks out (``[webhooks]`` of tousu.toml): the business system hears of each state change of a case.

When ``[webhooks] url`` is set, every state change (a complaint registered, triaged, assigned, …, closed)
queues one outbox row (`storage.outbox.queue_message`, channel ``webhook``) in the transaction of the change
itself, so a change that rolls back sends nothing and a committed one is never lost. The hook sits in
`handlers.workflow.transitions.record_event`, the one function every timeline row goes through, so no door
(console, API, WeCom, the survey job) can forget it. The outbox dispatcher (`scheduler/outbox.py`) sends
the row with its retry rules through `bot.channels.webhook.WebhookSender`, which signs the body.

The payload carries no personal data: the number, the event, the states, the time, the channel and the
category. A receiver that needs more asks the REST API with its own token (and its own scope).

::

    [webhooks]
    url = "https://erp.example.com/hooks/tousu"   # where to POST; no url: no webhooks
    secret = "a long random string"               # HMAC-SHA256 key, shared with the receiver (≥ 16 characters)
    events = ["registered", "close"]               # optional: only these events (default: every state change)
    timeout_seconds = 5                            # optional: per request

The configuration is set per process at start-up (`configure`, called by the web app and the worker,
like `handlers.customer.configure_links`), because `record_event` is called from everywhere and takes no
policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from handlers.config import PolicyError
from storage.models import Complaint, OutboxChannel, TimelineEvent
from storage.outbox import queue_message

REGISTERED: Final = "registered"
MIN_SECRET: Final = 16


@dataclass(frozen=True)
class WebhookPolicy:
    """``[webhooks]``: where to POST state changes, the signing key, which events."""

    url: str
    secret: str
    events: frozenset[str] = frozenset()  # empty: every state change
    timeout_seconds: float = 5.0

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


def known_events() -> frozenset[str]:
    """Event names a state change can have: registration and every lifecycle action."""
    from handlers.workflow.transitions import Action

    return frozenset({REGISTERED, *(a.value for a in Action)})


def parse_webhooks(table: Mapping[str, Any]) -> WebhookPolicy | None:
    """Read ``[webhooks]``; None when absent or without a url. `PolicyError` names the bad key."""
    unknown = set(table) - {"url", "secret", "events", "timeout_seconds"}
    if unknown:
        raise PolicyError(f"webhooks.{sorted(unknown)[0]}: unknown key; known: events, secret, timeout_seconds, url")
    url = table.get("url")
    if url in (None, ""):
        return None
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise PolicyError(f"webhooks.url: expected an http(s) URL, got {url!r}")
    secret = table.get("secret")
    if not isinstance(secret, str) or len(secret) < MIN_SECRET:
        raise PolicyError(f"webhooks.secret: expected a string of at least {MIN_SECRET} characters")
    events = table.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise PolicyError("webhooks.events: expected an array of event names")
    unknown_events = set(events) - known_events()
    if unknown_events:
        raise PolicyError(f"webhooks.events: unknown event {sorted(unknown_events)[0]!r}; known: "
                          f"{', '.join(sorted(known_events()))}")
    timeout = table.get("timeout_seconds", 5)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise PolicyError("webhooks.timeout_seconds: expected a number of seconds between 0 and 60")
    return WebhookPolicy(url=url, secret=secret, events=frozenset(events), timeout_seconds=float(timeout))


_active: WebhookPolicy | None = None


def configure(policy: WebhookPolicy | None) -> None:
    """Set at start-up by the web app and the worker from their policy (None: no webhooks)."""
    global _active
    _active = policy


def active() -> WebhookPolicy | None:
    return _active


def payload(complaint: Complaint, event: TimelineEvent) -> dict[str, Any]:
    """What the receiver gets: the case's number and the change, no personal data."""
    details = event.details or {}
    return {
        "event": event.action,
        "number": complaint.number,
        "from": details.get("from"),
        "to": details.get("to"),
        "at": event.at.astimezone(dt.UTC).isoformat(),
        "by": details.get("by"),
        "source": complaint.source.value,
        "category": complaint.category,
        "severity": complaint.severity.value,
    }


def queue_change(session: Session, complaint: Complaint, event: TimelineEvent) -> None:
    """Queue the webhook of one state change, in the caller's transaction (nothing when not configured)."""
    policy = _active
    if policy is None or not policy.wants(event.action):
        return
    queue_message(session, OutboxChannel.WEBHOOK, policy.url, payload(complaint, event), now=event.at,
                  complaint_id=complaint.id)


__all__ = ["WebhookPolicy", "active", "configure", "known_events", "parse_webhooks", "payload", "queue_change"]

"""Checks every callback passes before its content is trusted: size, signature, timestamp window."""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Request
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge

MAX_BODY_BYTES = 64 * 1024


def expected_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (WeChat's scheme)


def require_signature(given: str | None, *parts: str) -> None:
    """403 unless ``given`` equals sha1(sorted(parts)); compared in constant time."""
    if not given or not hmac.compare_digest(given.encode(), expected_signature(*parts).encode()):
        raise Forbidden("invalid signature")


def require_fresh(timestamp: str | None, max_skew_seconds: int, now: float | None = None) -> str:
    """403 for a timestamp outside the window (replayed or forged requests); 0 disables the window."""
    if not timestamp or not timestamp.isdigit():
        raise Forbidden("missing or malformed timestamp")
    if max_skew_seconds and abs((now or time.time()) - int(timestamp)) > max_skew_seconds:
        raise Forbidden("timestamp outside the allowed window")
    return timestamp


def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    if not body.strip():
        raise BadRequest("empty body")
    return body

"""The Graph webhook's WSGI application (graph/webhooks, graph/webhooks-lifecycle).

- The validation handshake: a POST with `?validationToken=...` is answered 200 with the token as text/plain at
  once (Graph waits 10 s at most);
- a change or lifecycle notification: its body read up to `MAX_BODY` bytes (else 413), with a Content-Length or
  chunked (RFC 9112 section 7.1: a reverse proxy may stream it), JSON nested too deeply to parse counted malformed
  (400) like any unreadable body, each notification's
  subscription and clientState checked (constant time; unknown subscriptions and wrong clientStates ignored and
  counted), those that pass queued for the scheduler, and 202 answered at once: no pass runs in the request
  (Graph drops endpoints that answer slowly).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

from roomsops.services.serve.config import LIFECYCLE_PATH, NOTIFY_PATH
from roomsops.services.serve.metrics import ServeMetrics

#: The largest notification body taken (Graph sends batches of notifications; 1 MiB is far above its batches of
#: change notifications without resource data).
MAX_BODY = 1024 * 1024
#: The longest validation token echoed (Graph's are about 100 characters).
MAX_TOKEN = 1024
LIFECYCLE_EVENTS = ("subscriptionRemoved", "missed", "reauthorizationRequired")

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Notice:
    """One notification that passed the checks: `kind` is "change" or the lifecycle event."""

    mailbox: str
    kind: str
    received: datetime


class Wakes(Protocol):
    """What a notification queued wakes (the scheduler, and the notified passes beside a round)."""

    def set(self) -> None: ...


def webhook_app(
    lookup: Callable[[str, object], tuple[str | None, str | None]],
    notices: queue.Queue[Notice],
    wake: Wakes,
    metrics: ServeMetrics,
    clock: Callable[[], datetime],
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """`lookup(subscription id, clientState)`: (mailbox, None) or (None, why ignored)."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def answer(
            status: str, body: bytes = b"", content_type: str = "text/plain; charset=utf-8"
        ) -> list[bytes]:
            start_response(
                status,
                [
                    ("Content-Type", content_type),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"),
                    ("X-Content-Type-Options", "nosniff"),
                ],
            )
            return [body]

        if environ.get("REQUEST_METHOD") != "POST":
            metrics.webhook_refused.labels("method").inc()
            return answer("405 Method Not Allowed", b"POST only\n")
        path = str(environ.get("PATH_INFO", "")).rstrip("/")
        if not (path.endswith(NOTIFY_PATH) or path.endswith(LIFECYCLE_PATH)):
            metrics.webhook_refused.labels("path").inc()
            return answer("404 Not Found", b"not found\n")
        token = parse_qs(str(environ.get("QUERY_STRING", ""))).get("validationToken")
        if token:
            if len(token[0]) > MAX_TOKEN:
                metrics.webhook_refused.labels("too_large").inc()
                return answer("413 Content Too Large", b"validation token too long\n")
            return answer("200 OK", token[0].encode("utf-8"), "text/plain; charset=utf-8")
        body = _body(environ)
        if body is None:
            metrics.webhook_refused.labels("too_large").inc()
            return answer("413 Content Too Large", b"at most 1 MiB\n")
        try:
            values = json.loads(body)["value"]
            if not isinstance(values, list):
                raise TypeError
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: JSON nested too deeply
            metrics.notifications_ignored.labels("malformed").inc()
            return answer("400 Bad Request", b"not a notification collection\n")
        now = clock()
        taken = 0
        for note in values:
            notice, why = _checked(note, lookup, now)
            if notice is None:
                metrics.notifications_ignored.labels(why or "malformed").inc()
                continue
            metrics.notifications.labels(notice.kind).inc()
            notices.put(notice)
            taken += 1
        metrics.queue_notifications.set(notices.qsize())
        if taken:
            wake.set()
        return answer("202 Accepted")

    return app


def _body(environ: dict[str, Any]) -> bytes | None:
    """The request's body, None when over `MAX_BODY`. Chunked (no Content-Length; the server decodes it and marks
    `wsgi.input_terminated`, PEP 3333 and RFC 9112 section 7.1) is read to its end, at most MAX_BODY + 1 bytes."""
    stream = environ["wsgi.input"]
    raw = environ.get("CONTENT_LENGTH")
    if not raw:
        if "chunked" not in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
            return b""
        data = b""
        while len(data) <= MAX_BODY:
            try:
                piece = stream.read(min(64 * 1024, MAX_BODY + 1 - len(data)))
            except ValueError:  # a bad chunk size or framing: not a notification collection (400)
                return b"not chunked"
            except OSError:  # a chunk larger than the server's limit (twice MAX_BODY, run.py), or a line of
                # the chunked framing longer than the headers' limit (listener.BodyTooLarge)
                return None
            if not piece:
                return data
            data += piece
        return None
    try:
        length = int(raw)
    except ValueError:
        return None
    if length < 0 or length > MAX_BODY:
        return None
    return bytes(stream.read(length)) if length else b""


def _checked(
    note: object, lookup: Callable[[str, object], tuple[str | None, str | None]], now: datetime
) -> tuple[Notice | None, str | None]:
    """The notice of one notification, or why it is ignored."""
    if not isinstance(note, dict):
        return None, "malformed"
    mailbox, why = lookup(str(note.get("subscriptionId") or ""), note.get("clientState"))
    if mailbox is None:
        return None, why or "unknown_subscription"
    event = note.get("lifecycleEvent")
    if event is not None and event not in LIFECYCLE_EVENTS:
        return None, "malformed"
    return Notice(mailbox, str(event) if event is not None else "change", now), None

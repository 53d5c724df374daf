"""The local status listener's WSGI application: `/healthz`, `/metrics` and `/` (a read-only HTML page rendered
from the scheduler's last snapshot; no request touches the database or Exchange). Clients other than loopback are
refused (403) unless `serve.status_allow` lists them, and so is a Host header naming another host than an IP
address, localhost or a name of `serve.status_allow` (DNS rebinding: a web page whose name turns to 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import jinja2

from roomsops.core.templates import templates_dir
from roomsops.services.serve.config import Network, client_allowed, host_allowed
from roomsops.services.serve.metrics import CONTENT_TYPE, ServeMetrics


@dataclass(frozen=True)
class MailboxRow:
    mailbox: str
    service: str
    last_pass: datetime | None
    result: str  # "ok", "failed", "not yet"
    changes: str = ""
    error: str | None = None
    remedy: str | None = None
    failures: tuple[str, ...] = ()
    next_due: datetime | None = None
    #: when its next healing reconciliation is due (None: no healing schedule, or never synced)
    next_healing: datetime | None = None


@dataclass(frozen=True)
class DeclinedRow:
    booking_id: int
    mailbox: str
    state: str
    note: str | None


@dataclass(frozen=True)
class DifferenceRow:
    """An open difference (`roomsops sync diff`): a booking whose ROOMS and Exchange states differ, to settle with
    `roomsops sync resolve`."""

    booking_id: int
    mailbox: str
    kind: str  # both_changed | room_changed | attendees_changed
    fields: tuple[str, ...]
    detected: datetime


@dataclass(frozen=True)
class SubscriptionRow:
    mailbox: str
    expires: datetime | None
    #: why the mailbox has no subscription (its creation failed) or its last renewal failed; None: healthy
    problem: str | None


@dataclass(frozen=True)
class Snapshot:
    """What the page shows, as of `taken` (replaced by the scheduler after each round)."""

    taken: datetime | None = None
    ticks: int = 0
    mailboxes: tuple[MailboxRow, ...] = ()
    declined: tuple[DeclinedRow, ...] = ()
    #: the open differences, the oldest first (at most `DIFFERENCES_SHOWN`), and how many are open in all
    differences: tuple[DifferenceRow, ...] = ()
    open_differences: int = 0
    round_error: str | None = None
    round_remedy: str | None = None
    lock_busy: str | None = None
    subscriptions: tuple[SubscriptionRow, ...] = ()
    webhook: bool = False  # serve.listen is set: Graph mailboxes are subscribed
    #: rounds in a row that failed (`Serve.failed_rounds`): from `NOT_READY_AFTER` on, /healthz says not ready (503)
    failed_rounds: int = 0
    #: why the last failed round of those failed, and its remedy (kept over the rounds after it that change nothing)
    failure: str | None = None
    failure_remedy: str | None = None


#: /healthz answers 503 (not ready, with the last failed round's error) after this many rounds in a row failed (the
#: token service refusing or unreachable, the database, a bug; or passes failing while most mailboxes fail, rounds
#: with no pass not counted: `Serve._judge_passes`), and 200 again after the next round that did not fail. A single
#: failed round (a blip: the next round comes 1 s later) does not flap a readiness probe or a load balancer.
NOT_READY_AFTER = 3


#: The open differences the page lists (their number is always shown; `roomsops sync diff` lists them all).
DIFFERENCES_SHOWN = 100


@dataclass
class Board:
    """The latest snapshot, shared between the scheduler (writer) and the listener's threads (readers)."""

    snapshot: Snapshot = field(default_factory=Snapshot)
    ready: bool = False  # the first round has run
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def publish(self, snapshot: Snapshot) -> None:
        with self._lock:
            self.snapshot, self.ready = snapshot, True

    def read(self) -> tuple[Snapshot, bool]:
        with self._lock:
            return self.snapshot, self.ready


@cache
def _page() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        keep_trailing_newline=True,
    )
    return env.get_template("serve/status.html.j2")


def render_page(snapshot: Snapshot, intervals: dict[str, int]) -> str:
    return _page().render(s=snapshot, intervals=intervals)


StartResponse = Callable[..., Any]


def _not_ready(snapshot: Snapshot) -> bytes:
    """/healthz's body while rounds fail: live, not ready, and why (the last round's error, as the page shows it:
    masked, no secret)."""
    why = snapshot.failure or snapshot.round_error or "unknown"
    remedy = snapshot.failure_remedy if snapshot.failure else snapshot.round_remedy
    remedy = f" — {remedy}" if remedy else ""
    line = f"not ready: live, but the last {snapshot.failed_rounds} rounds failed: {why}{remedy}\n"
    return line.encode("utf-8")


def status_app(
    board: Board,
    metrics: ServeMetrics,
    allow: tuple[Network, ...],
    intervals: dict[str, int],
    names: tuple[str, ...] = (),
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def answer(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> list[bytes]:
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

        if not client_allowed(str(environ.get("REMOTE_ADDR", "")), allow):
            return answer("403 Forbidden", b"forbidden: this client is not in serve.status_allow\n")
        if not host_allowed(str(environ.get("HTTP_HOST", "")), names):
            return answer(
                "403 Forbidden",
                b"forbidden: the Host header names neither an IP address, localhost nor a name in "
                b"serve.status_allow\n",
            )
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return answer("405 Method Not Allowed", b"read-only: GET only\n")
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            snapshot, ready = board.read()
            if ready and snapshot.failed_rounds >= NOT_READY_AFTER:
                return answer("503 Service Unavailable", _not_ready(snapshot))
            return answer("200 OK", b"ok: live, ready\n" if ready else b"ok: live, starting\n")
        if path == "/metrics":
            return answer("200 OK", metrics.text(), CONTENT_TYPE)
        if path == "/":
            snapshot, _ = board.read()
            return answer(
                "200 OK", render_page(snapshot, intervals).encode("utf-8"), "text/html; charset=utf-8"
            )
        return answer("404 Not Found", b"not found: /, /healthz and /metrics are served\n")

    return app

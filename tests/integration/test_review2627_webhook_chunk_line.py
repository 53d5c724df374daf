"""review2627: the webhook bounds request headers (fix26v, 16 KiB) and bodies (1 MiB; the server twice that), but
not the size line of a chunked body (RFC 9112 section 7.1: `chunk-size [ chunk-ext ] CRLF`). cheroot reads that line
with an unbounded `readline()`, and checks it against `max_body` only once it is whole:

- a size line of a few MiB (zeros before the size, or a chunk extension) is read whole, then cheroot's
  `MaxSizeExceeded` escapes the app (`_body` catches ValueError and OSError only): 500 Internal Server Error with
  cheroot's traceback in the log, not 413 and not counted in `roomsops_serve_webhook_refused_total{reason=
  "too_large"}` as README says requests too large are;
- a size line is read to its end however long, as many bytes as the client sends until the read timeout or the
  request deadline (5 s), per connection, on each of the webhook's 32 threads — review26w's megabytes-of-headers
  memory problem, back through the body. Shown without a timer: 64 KiB of size line (four times the headers'
  limit) and the client's half-close are read whole and taken as the last chunk's size (0).

An operator expects the same as for headers: refused once the line passes some KiB (400 or 413), counted.

In this process: the webhook's app on a real cheroot listener built as `serve` builds it (run.py's limits, threads,
read timeout and deadline), plain HTTP on 127.0.0.1; raw requests over a socket. No timing."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from roomsops.adapters.listener import Listener
from roomsops.services.serve.metrics import ServeMetrics
from roomsops.services.serve.run import WEBHOOK_READ_TIMEOUT, WEBHOOK_REQUEST_DEADLINE, WEBHOOK_THREADS
from roomsops.services.serve.webhook import MAX_BODY, Notice, webhook_app

pytestmark = pytest.mark.integration

HEAD = (
    b"POST /graph/notifications HTTP/1.1\r\nHost: rooms.example.com\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
)
BODY = b'{"value": []}'


@pytest.fixture
def webhook() -> Iterator[tuple[tuple[str, int], ServeMetrics]]:
    metrics = ServeMetrics()
    notices: queue.Queue[Notice] = queue.Queue()
    app = webhook_app(
        lambda subscription, state: (None, "unknown_subscription"),
        notices,
        threading.Event(),
        metrics,
        lambda: datetime.now(UTC),
    )
    listener = Listener(
        "127.0.0.1",
        0,
        app,
        "serve.listen",
        max_body=2 * MAX_BODY,
        on_too_large=metrics.webhook_refused.labels("too_large").inc,
        threads=WEBHOOK_THREADS,
        timeout=WEBHOOK_READ_TIMEOUT,
        deadline=WEBHOOK_REQUEST_DEADLINE,
    )
    address = listener.start()
    try:
        yield address, metrics
    finally:
        listener.stop()


def answer_to(address: tuple[str, int], request: bytes, *, end: bool = False) -> bytes:
    """The webhook's whole answer to `request` (b"" when it closed the connection without one); `end`: the client
    says it sends no more (half-close) once the request is sent."""
    with socket.create_connection(address, timeout=30) as s:
        try:
            s.sendall(request)
            if end:
                s.shutdown(socket.SHUT_WR)
        except OSError:  # refused while it was sent: the answer may have come
            pass
        answer = b""
        while True:
            try:
                piece = s.recv(65536)
            except OSError:
                break
            if not piece:
                break
            answer += piece
    return answer


def status_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n", 1)[0]


def too_large(metrics: ServeMetrics) -> float:
    lines = [
        line
        for line in metrics.text().decode().splitlines()
        if line.startswith("roomsops_serve_webhook_refused_total{") and 'reason="too_large"' in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_review2627_a_chunk_size_line_of_megabytes_is_refused_as_too_large(
    webhook: tuple[tuple[str, int], ServeMetrics],
) -> None:
    address, metrics = webhook
    ordinary = HEAD + f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
    assert status_of(answer_to(address, ordinary)).startswith(
        b"HTTP/1.1 202"
    )  # the control: chunked is taken
    padded = HEAD + b"0" * (4 * MAX_BODY) + f"{len(BODY):x}\r\n".encode() + BODY + b"\r\n0\r\n\r\n"
    status = status_of(answer_to(address, padded))
    # fix2627b: refused once the line passes the headers' limit, as a body too large is
    assert status.startswith(b"HTTP/1.1 413"), status
    assert too_large(metrics) == 1


def test_review2627_a_chunk_size_line_is_refused_once_it_passes_the_header_limit(
    webhook: tuple[tuple[str, int], ServeMetrics],
) -> None:
    address, _ = webhook
    # 64 KiB of a size line (four times the headers' limit), then the client's half-close (no timer involved)
    answer = answer_to(address, HEAD + b"0" * (64 * 1024), end=True)
    status = status_of(answer)
    assert status.split(b" ", 2)[1:2] in ([b"400"], [b"413"]), answer[:300]
    # actual: the whole line was read and taken as the size of the last chunk (0): the app's 400 for an empty body
    assert b"not a notification collection" not in answer, answer[:300]

"""review26a: `roomsops serve`'s Graph webhook as a hostile network client (and a reverse proxy) talks to it: a
chunked notification, a deeply nested JSON body, clients that hold requests open. Against the lab with serve
started as a process (as test_serve_webhook_lab)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from .test_lab_graph import graph_client
from .test_serve_lab import metrics, stopped
from .test_serve_webhook_lab import (
    counted,
    diego_over_graph,
    serve_subscribed,
)

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped"]  # fixtures, used by name


def started(
    env: dict[str, str], tmp_path: Path, stopped: list[subprocess.Popen[str]], fresh_lab: Any, diego: str
) -> tuple[str, str, dict[str, Any]]:
    """serve with its webhook, once Diego's first pass ran and he is subscribed: (status url, webhook url, his
    subscription as the app's GET /subscriptions shows it, clientState included)."""
    _, _, url, hook, _ = serve_subscribed(env, tmp_path, stopped, fresh_lab, diego)
    (sub,) = graph_client(fresh_lab).get("/subscriptions").json()["value"]
    return url, hook, sub


@contextmanager
def held_requests(hook: str, ca: str, count: int) -> Iterator[None]:
    """`count` https clients that hold a notification POST open to the webhook while the block runs: their
    headers sent, then a byte of the body each 0.5 s (never silent long enough for a read timeout)."""
    parts = urlsplit(hook)
    held: list[socket.socket] = []
    tls = ssl.create_default_context(cafile=ca)
    done = threading.Event()

    def trickle() -> None:
        while not done.wait(0.5):
            for s in held:
                try:
                    s.sendall(b" ")
                except OSError:
                    pass

    trickler = threading.Thread(target=trickle, daemon=True)
    try:
        for _ in range(count):
            raw = socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10)
            conn = tls.wrap_socket(raw, server_hostname=parts.hostname)  # the webhook is https (Graph's rule)
            conn.sendall(
                f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 100000\r\n\r\n{".encode()
            )
            held.append(conn)
        trickler.start()
        yield
    finally:
        done.set()
        if trickler.is_alive():
            trickler.join()
        for s in held:
            s.close()


def test_review26a_a_chunked_notification_is_taken(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    diego = addr("DiegoS")
    url, hook, sub = started(env, tmp_path, stopped, fresh_lab, diego)
    note = json.dumps(
        {
            "value": [
                {
                    "subscriptionId": sub["id"],
                    "clientState": sub["clientState"],
                    "changeType": "updated",
                    "resource": "Users/x/Events/y",
                }
            ]
        }
    ).encode()

    def chunks() -> Iterator[bytes]:  # requests sends a generator chunked (HTTP/1.1, RFC 9112 section 7.1)
        yield note[:20]
        yield note[20:]

    answer = requests.post(
        hook, data=chunks(), headers={"Content-Type": "application/json"}, timeout=10, verify=fresh_lab.ca
    )
    samples = metrics(url)
    assert (
        answer.status_code,
        counted(samples, "roomsops_serve_notifications_ignored_total", reason="malformed"),
        answer.headers.get("X-Content-Type-Options"),  # no browser takes an answer for something else
    ) == (202, 0.0, "nosniff")


def test_review26a_a_deeply_nested_body_is_refused_as_malformed(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    diego = addr("DiegoS")
    url, hook, _ = started(env, tmp_path, stopped, fresh_lab, diego)
    body = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # 200 kB, under the 1 MiB limit
    answer = requests.post(
        hook, data=body, headers={"Content-Type": "application/json"}, timeout=10, verify=fresh_lab.ca
    )
    samples = metrics(url)
    assert (
        answer.status_code,
        counted(samples, "roomsops_serve_notifications_ignored_total", reason="malformed"),
    ) == (
        400,
        1.0,
    )


def test_review26a_clients_holding_requests_open_do_not_stall_the_webhook(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """Graph waits 10 s for the validation answer (graph/webhooks) and drops slow endpoints; the webhook faces
    the internet when it serves TLS itself (serve.tls_cert_file). Eight clients keep requests open by sending
    their body a byte at a time (never silent long enough for a read timeout) until the test lets them go: a
    webhook they stall answers nothing until then, so the validation's 60 s only ends a stalled request, and the
    result does not depend on the machine's speed."""
    diego = addr("DiegoS")
    _, hook, _ = started(env, tmp_path, stopped, fresh_lab, diego)
    with held_requests(hook, fresh_lab.ca, 8):  # twice the threads the webhook had
        echoed = requests.post(
            hook, params={"validationToken": "still here"}, timeout=60, verify=fresh_lab.ca
        )
        assert (echoed.status_code, echoed.text) == (200, "still here")

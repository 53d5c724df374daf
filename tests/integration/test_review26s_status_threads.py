"""review26s: four slow clients blind the status listener. It serves with cheroot's default of 4 threads and no
request deadline (the webhook got `deadline=` and 32 threads in review26e; `Listener(...)` for
`serve.status_listen` passes neither), and cheroot's `timeout` only limits each silent wait: a client that sends a
byte of its request now and then holds a thread for as long as it likes. Four of them — any local process, or any
host `serve.status_allow` lets in (a network for Prometheus) — and `/healthz` and `/metrics` answer nobody: the
service looks down (README's first alert, "/healthz not 200, or the scrape fails"), and every other alert of
README's table goes blind.

Against the lab with serve started as a process: four connections each send their request line a byte a second
(well inside cheroot's 10 s), then `/healthz` is asked with a 15 s limit (it answers in milliseconds when a thread
is free)."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import HUNG, metrics, passes, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name
SLOW_CLIENTS = 4


def test_review26s_slow_clients_do_not_blind_the_status_listener(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego = addr("DiegoS")
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    process, err, url = serve_started(env, tmp_path, stopped, ews_interval="3600")
    wait_for(lambda: passes(metrics(url), diego) >= 1, process)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 0)
    done = threading.Event()
    slow = [socket.create_connection((host, port), timeout=30) for _ in range(SLOW_CLIENTS)]

    def trickle() -> None:
        line = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 1000
        for byte in line:
            for s in slow:
                try:
                    s.sendall(bytes([byte]))
                except OSError:
                    pass
            if done.wait(1.0):
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        try:
            answered: int | str = requests.get(url + "healthz", timeout=15).status_code
        except requests.RequestException as exc:
            answered = type(exc).__name__
    finally:
        done.set()
        sender.join(timeout=10)
        for s in slow:
            s.close()
    process.terminate()
    assert process.wait(timeout=HUNG) == 0, err.read_text()
    assert answered == 200

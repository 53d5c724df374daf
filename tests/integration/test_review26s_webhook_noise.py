"""review26s: any client of the webhook (which faces the internet when serve.tls_cert_file is set) writes Python
tracebacks to serve's stderr — the service manager's journal — at will: a request line that is not HTTP, sent
over TLS by a client that closes without reading the answer, makes cheroot's 400 fail to write (SSLEOFError), and
cheroot logs each such failure with a traceback ("Unhandled error while processing an incoming connection"),
about four tracebacks (some 40 lines) per connection of a dozen bytes. `_Server.error_log` already keeps quiet
for connections the request deadline cut, not for these. Operators watch that journal (README: "journalctl -u
roomsops-serve shows the stderr lines (the addresses it listens on, errors)"); an anonymous client floods it.

Against the lab with serve started as a process and its webhook on TLS (the lab's certificate); the test sends
five such connections, stops the service (SIGTERM: its listener's threads are done once it exited) and reads its
stderr: no timing."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import HUNG, stopped
from .test_serve_webhook_lab import webhook, webhook_url

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26s_garbage_on_the_webhook_writes_no_traceback_to_stderr(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "Microsoft365", env=env))
    process, err, _ = serve_started(env, tmp_path, stopped, **webhook(fresh_lab))
    parts = urlsplit(webhook_url(err, process))
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 0)
    context = ssl.create_default_context(cafile=fresh_lab.ca)
    for _ in range(5):
        with context.wrap_socket(
            socket.create_connection((host, port), timeout=10), server_hostname=host
        ) as s:
            s.sendall(b"garbage\r\n\r\n")  # and closed at once, the answer unread
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=HUNG) == 0, err.read_text()[-2000:]
    text = err.read_text(encoding="utf-8")
    assert (text.count("Traceback"), "Unhandled error" in text) == (0, False), text[:2000]

"""review26e: SIGTERM while `roomsops serve` subscribes its Graph mailboxes (its first round, or after many persons
were added). serve.public_url is a gate of the test's (the reverse proxy Graph calls): it answers Graph's validation
requests only when the test lets it, so the test knows a create is in flight when it sends SIGTERM. Against the
lab with serve started as a process."""

from __future__ import annotations

import signal
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_lab_graph_notifications import serve_tls
from .test_serve_lab import HUNG, stopped, wait_for
from .test_serve_webhook_lab import subscriptions

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


class Gate:
    """An https endpoint that holds each validation request until `release` is set, then echoes its token."""

    def __init__(self, lab_dir: Path) -> None:
        self.held = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                token = (query.get("validationToken") or [""])[0].encode()
                with gate.lock:
                    gate.held += 1
                gate.release.wait(HUNG)
                self.send_response(200 if token else 202)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(token)))
                self.end_headers()
                self.wfile.write(token)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        serve_tls(self.server, lab_dir)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/roomsops"

    def holding(self) -> bool:
        with self.lock:
            return self.held > 0

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gate(fresh_lab: Any) -> Iterator[Gate]:
    running = Gate(fresh_lab.dir)
    yield running
    running.close()


def test_review26e_sigterm_while_subscribing_starts_no_new_subscription(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    gate: Gate,
) -> None:
    """Three persons over Graph; SIGTERM while the first one's create waits for Graph's validation. "SIGTERM
    finishes the writes in flight, then exits" (issue 26): that create, not the two after it (with a thousand
    mailboxes, a thousand creates and validations before systemd's stop timeout kills the service, and as the
    state file is written after the round, the next start deletes and makes them all again)."""
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    for alias in ("DiegoS", "AdeleV", "AlexW"):
        ok(invoke("persons", "add", addr(alias), "--sync-mode", "Microsoft365", env=env))
    process, err, _ = serve_started(
        env,
        tmp_path,
        stopped,
        listen="127.0.0.1:0",
        public_url=gate.url,
        graph_interval="3600",
        ews_interval="3600",
    )
    wait_for(gate.holding, process)  # the first create waits for its validation
    process.send_signal(signal.SIGTERM)
    gate.release.set()
    assert process.wait(timeout=HUNG) == 0, err.read_text()
    assert len(subscriptions(fresh_lab)) <= 1

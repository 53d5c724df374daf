"""review26e: `roomsops serve`'s https webhook (serve.tls_cert_file: the listener faces the internet itself) and a
client that opens a connection and sends its TLS ClientHello slowly. Against the lab with serve started as a
process (as test_review26a_webhook)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from .test_review26a_webhook import held_requests, started
from .test_serve_lab import stopped
from .test_serve_webhook_lab import diego_over_graph

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped"]  # fixtures, used by name


def test_review26e_silent_connections_do_not_stall_the_webhooks_tls(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """Five connections open before the validation request and send nothing (as many as the listen queue holds,
    so all wait there in order). A webhook that does their handshakes one after another in the thread that accepts
    connections answers the validation only after five read timeouts (25 s; they never get shorter on a slower
    machine), so the request's 15 s only end a stalled request; a webhook that handshakes beside accepting
    answers it at once. review26a's held requests took a worker thread each (there are 32); these take the one
    accepting thread, and an attacker needs only a new silent connection every 5 s to keep Graph out."""
    _, hook, _ = started(env, tmp_path, stopped, fresh_lab, addr("DiegoS"))
    parts = urlsplit(hook)
    silent = [socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10) for _ in range(5)]
    try:
        echoed = requests.post(
            hook, params={"validationToken": "still here"}, timeout=15, verify=fresh_lab.ca
        )
        assert (echoed.status_code, echoed.text) == (200, "still here")
    finally:
        for s in silent:
            s.close()


def test_review26e_more_slow_clients_than_threads_do_not_stall_the_webhook(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """As review26a's test, with more held requests than the webhook has threads (WEBHOOK_THREADS): each client
    sends its headers and then a byte of its body each 0.5 s until the test lets it go (never silent long enough
    for the read timeout), so a stalled validation ends only by the request's 30 s."""
    from roomsops.services.serve.run import WEBHOOK_THREADS

    _, hook, _ = started(env, tmp_path, stopped, fresh_lab, addr("DiegoS"))
    with held_requests(hook, fresh_lab.ca, WEBHOOK_THREADS + 8):
        echoed = requests.post(
            hook, params={"validationToken": "still here"}, timeout=30, verify=fresh_lab.ca
        )
        assert (echoed.status_code, echoed.text) == (200, "still here")

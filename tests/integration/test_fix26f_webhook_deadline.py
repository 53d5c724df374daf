"""fix26f: the webhook's request deadline (WEBHOOK_REQUEST_DEADLINE). With the TLS handshake in the worker threads,
review26e's test of more slow clients than threads throttles its own clients' handshakes (the 33rd waits for a
free thread, and the first ones go silent meanwhile and meet the read timeout), so it no longer shows that a
trickling client's thread is freed. Here exactly as many clients as threads trickle their bodies, every thread
held at once: Graph's validation is answered only because each held request ends at its deadline. Against the lab
with serve started as a process (as test_review26a_webhook)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from .test_review26a_webhook import held_requests, started
from .test_serve_lab import stopped
from .test_serve_webhook_lab import diego_over_graph

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped"]  # fixtures, used by name


def test_fix26f_a_validation_is_answered_while_every_thread_holds_a_trickling_request(
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    """Each client sends a byte of its body each 0.5 s (never silent for the read timeout) until the test lets it
    go: without a deadline the validation waits until then (the request's 30 s end it)."""
    from roomsops.services.serve.run import WEBHOOK_THREADS

    _, hook, _ = started(env, tmp_path, stopped, fresh_lab, addr("DiegoS"))
    with held_requests(hook, fresh_lab.ca, WEBHOOK_THREADS):
        echoed = requests.post(
            hook, params={"validationToken": "still here"}, timeout=30, verify=fresh_lab.ca
        )
        assert (echoed.status_code, echoed.text) == (200, "still here")

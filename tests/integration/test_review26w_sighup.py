"""review26w: `roomsops serve` run in the foreground in a terminal (README: "SIGTERM or Ctrl-C finish the writes in
flight and exit 0") dies at once on SIGHUP — the terminal or the SSH session that started it closed. Only SIGTERM
and SIGINT get a handler (`install_signals`), so SIGHUP takes its default action: the process ends by the signal in
whatever it is doing — a calendar write in flight left unrecorded, the run lock let go under it, the state file not
rewritten, `--unsubscribe-on-exit`'s DELETEs never sent (the subscriptions keep notifying a closed port for days),
no "stopped after" line, no exit 0.

An operator expects the hang-up of the session that runs the service to stop it as SIGTERM does (finish the writes
in flight, exit 0), or to be ignored (the service goes on) — not to be a SIGKILL.

Against the lab: serve with its webhook and `--unsubscribe-on-exit`, DiegoS subscribed; SIGHUP, then SIGTERM (for
a service that ignored the SIGHUP; a SIGHUP handled as SIGTERM makes the SIGTERM a second one, only said). Either
way the service should exit 0 having deleted the subscription. No timing."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

from .test_serve_lab import HUNG, stopped
from .test_serve_webhook_lab import diego_over_graph, serve_subscribed, subscriptions

pytestmark = pytest.mark.integration
__all__ = ["diego_over_graph", "stopped"]  # the fixtures, used by name


def test_review26w_a_hang_up_does_not_kill_serve_mid_way(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
    diego_over_graph: int,
) -> None:
    process, err, _, _, _ = serve_subscribed(
        env, tmp_path, stopped, fresh_lab, addr("DiegoS"), "--unsubscribe-on-exit"
    )
    process.send_signal(signal.SIGHUP)
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=HUNG)
    assert (code, subscriptions(fresh_lab)) == (0, []), err.read_text()[-2000:]

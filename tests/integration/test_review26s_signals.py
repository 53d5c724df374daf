"""review26s: a second SIGTERM while `roomsops serve` shuts down after its last round. `run.py` puts the old signal
handlers back (`restore()`) as soon as the scheduler returned, before it stops the status listener and the
webhook and (with `--unsubscribe-on-exit`) deletes the Graph subscriptions (`Subscriptions.close`): a second
SIGTERM in that stretch is no longer "only said" as README promises ("A second SIGTERM or Ctrl-C does not cut that
wait short ... Only SIGKILL ends it sooner"), it takes SIGTERM's default action: the process dies by the signal
(no exit 0, no "stopped after" line, an unsubscribe's DELETEs cut and the state file not rewritten).

Against the lab with serve started as a process. The stretch is made observable without timing: a client holds a
request to the status listener half sent, so stopping the listener waits for it (cheroot's shutdown timeout); the
listener's port refusing connections says the service is in that stop (after `restore()`); then the second
SIGTERM is sent."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import Invoke, ok

from .test_serve_lab import HUNG, metrics, passes, start, status_url, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return False
    except OSError:
        return True


def test_review26s_a_second_sigterm_while_serve_shuts_down_still_exits_0(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego = addr("DiegoS")
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    process, err = start(env, tmp_path, ews_interval="3600")
    stopped.append(process)
    url = status_url(err, process)
    wait_for(lambda: passes(metrics(url), diego) >= 1, process)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", int(parts.port or 0)
    held = socket.create_connection((host, port), timeout=30)  # a scrape under way: half a request line
    try:
        held.sendall(b"GET /metr")
        process.send_signal(signal.SIGTERM)
        # the listener no longer accepts: the service is stopping it (the old handlers are back by then)
        wait_for(lambda: _refused(host, port), process)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=HUNG)
    finally:
        held.close()
    out = process.stdout.read() if process.stdout else ""
    assert (code, out.startswith("serve: stopped after")) == (0, True), err.read_text()

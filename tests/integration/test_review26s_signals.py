"""review26s: a second SIGTERM while `roomsops serve` shuts down after its last round. `run.py` puts the old signal
handlers back (`restore()`) as soon as the scheduler returned, before it stops the status listener and the
webhook and (with `--unsubscribe-on-exit`) deletes the Graph subscriptions (`Subscriptions.close`): a second
SIGTERM in that stretch is no longer "only said" as README promises ("A second SIGTERM or Ctrl-C does not cut that
wait short ... Only SIGKILL ends it sooner"), it takes SIGTERM's default action: the process dies by the signal
(no exit 0, no "stopped after" line, an unsubscribe's DELETEs cut and the state file not rewritten).

Against the lab with serve started as a process, its webhook subscribed and `--unsubscribe-on-exit`. The stretch
is held by the test, not by a deadline (fix26u: it was a half-sent request to the status listener, which the
listener's 5 s request deadline cut, so on a loaded machine the second SIGTERM could come after the shutdown had
ended and the old handlers were back): the lab's Graph gate holds the subscription's DELETE, which the service sends
after it stopped its listeners and before it would put the old handlers back. The second SIGTERM is sent once the
DELETE is held, the gate opened once the service's log says it took that signal."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import HUNG, metrics, passes, stopped, wait_for
from .test_serve_webhook_lab import subscriptions, webhook

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26s_a_second_sigterm_while_serve_shuts_down_still_exits_0(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego = addr("DiegoS")
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    process, err, url = serve_started(env, tmp_path, stopped, "--unsubscribe-on-exit", **webhook(fresh_lab))
    wait_for(lambda: passes(metrics(url), diego) >= 1 and subscriptions(fresh_lab), process)
    log_file = Path(env["ROOMSOPS_LOG_FILE"])
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["subscriptions.delete"]})
    assert gate.status_code == 200, gate.text
    try:
        process.send_signal(signal.SIGTERM)
        # the DELETE of the subscription is held: the service is in its shutdown, its listeners stopped
        wait_for(lambda: fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1, process)
        process.send_signal(signal.SIGTERM)
        wait_for(
            lambda: "serve: SIGTERM again: already stopping" in log_file.read_text(encoding="utf-8"), process
        )
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    code = process.wait(timeout=HUNG)
    out = process.stdout.read() if process.stdout else ""
    assert (code, out.startswith("serve: stopped after")) == (0, True), err.read_text()
    assert subscriptions(fresh_lab) == []  # the unsubscribe was not cut

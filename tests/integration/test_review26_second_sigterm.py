"""review26: a second SIGTERM (or Ctrl-C pressed twice) while `roomsops serve` finishes the write in flight of a
pass it was told to stop. `Serve.on_signal` raised `Terminated` again while the round was still "in" (waiting for
the sync pool to finish the mailbox under way): that wait was cut short, the run lock let go of and the database
closed while the create was still in flight. Now the second signal is only said (log and stderr) and the service
keeps waiting. Against the lab with serve started as a process; the lab's Graph gate holds the create (the test
sees it held); each signal is sent once the service's log says it took the one before (no timing)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roomsops.services.sync.lock import LockHeld, run_lock
from tests.campaign import BOOKING_TAG, tag
from tests.conftest import Invoke, ok

from .helpers import serve_started
from .test_serve_lab import HUNG, book, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


def test_review26_a_second_sigterm_still_waits_for_the_write_in_flight(
    invoke: Invoke,
    env: dict[str, str],
    addr: Callable[[str], str],
    fresh_lab: Any,
    tmp_path: Path,
    stopped: list[subprocess.Popen[str]],
) -> None:
    diego = addr("DiegoS")
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "Microsoft365", env=env))
    booking = book(invoke, env, addr, "Twice terminated", 5)
    lock = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///") + ".sync.lock")
    gate = fresh_lab.admin("POST", "graph/gate", json={"open": False, "operations": ["events.create"]})
    assert gate.status_code == 200, gate.text
    try:
        process, err, _ = serve_started(env, tmp_path, stopped)
        wait_for(lambda: fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1, process)
        log_file = Path(env["ROOMSOPS_LOG_FILE"])
        process.send_signal(signal.SIGTERM)
        # Two signals at once are one to Python: the second is sent once the service said it took the first.
        wait_for(
            lambda: (
                "serve: SIGTERM: stopping; the mailboxes under way" in log_file.read_text(encoding="utf-8")
            ),
            process,
        )
        process.send_signal(signal.SIGTERM)
        wait_for(
            lambda: "serve: SIGTERM again: still waiting" in log_file.read_text(encoding="utf-8"), process
        )
        # The second signal was taken while the create is still held at the gate: the service holds the run lock.
        try:
            with run_lock(lock):
                held = False
        except LockHeld:
            held = True
        assert fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1
        # nor has the round ended (the defect ends it at once, the create still unanswered)
        ended_early = "serve: stopped during a round" in log_file.read_text(encoding="utf-8")
        # what a `roomsops sync` started now would do: refused (the defect: it sends the create in flight again)
        beside = invoke("sync", "--dry-run", env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    code = process.wait(timeout=HUNG)
    log = log_file.read_text(encoding="utf-8")
    again = invoke("sync", env=env)
    found = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    tagged = [str(tag(i, BOOKING_TAG)) for i in found if tag(i, BOOKING_TAG) and i["organizer"] == diego]
    # held: the run lock kept; the restart's sync finds the meeting recorded, not one to adopt by its tag
    assert (held, beside.code, code, tagged, "adopted" in again.out, ended_early) == (
        True,
        1,
        0,
        [str(booking)],
        False,
        False,
    ), (beside.out, again.out, err.read_text(), log[-3000:])
    assert "serve: SIGTERM again: still waiting" in err.read_text()

"""review26: a second SIGTERM (or Ctrl-C pressed twice) while `roomsops serve` finishes the write in flight of a
pass it was told to stop. `Serve.on_signal` raises `Terminated` again while the round is still "in" (it is waiting
for the sync pool to finish the mailbox under way): that wait is cut short, the run lock is let go and the
database closed while the create is still in flight. Against the lab with serve started as a process; the lab's
Graph gate holds the create (the test sees it held)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from roomsops.services.sync.lock import LockHeld, run_lock
from tests.campaign import BOOKING_TAG, tag
from tests.conftest import Invoke, ok

from .test_serve_lab import HUNG, book, start, stopped, wait_for

pytestmark = pytest.mark.integration
__all__ = ["stopped"]  # the fixture, used by name


@pytest.mark.xfail(
    strict=True,
    reason="review26: a second SIGTERM during the wait for the write in flight raises Terminated again, "
    "so serve lets go of the run lock and the database before the write is settled",
)
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
        process, err = start(env, tmp_path)
        stopped.append(process)
        wait_for(lambda: fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1, process)
        process.send_signal(signal.SIGTERM)
        time.sleep(
            1.0
        )  # two signals at once are one to Python: the second must come after the first was taken
        process.send_signal(signal.SIGTERM)
        # The create is still held at the gate: the service must hold the run lock until it is settled. Looked
        # at for up to 10 s (the defect lets go of it at once; the fixed service never within the test).
        deadline = time.monotonic() + 10.0
        held = True
        while held and time.monotonic() < deadline:
            try:
                with run_lock(lock):
                    held = False
            except LockHeld:
                time.sleep(0.1)
        assert fresh_lab.admin("GET", "graph").json()["throttle"]["waiting"] == 1
        # what a `roomsops sync` started now would do: send the create in flight a second time
        beside = invoke("sync", "--dry-run", env=env)
    finally:
        assert fresh_lab.admin("POST", "graph/gate", json={"open": True}).status_code == 200
    code = process.wait(timeout=HUNG)
    log = Path(env["ROOMSOPS_LOG_FILE"]).read_text(encoding="utf-8")
    again = invoke("sync", env=env)
    found = fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    tagged = [str(tag(i, BOOKING_TAG)) for i in found if tag(i, BOOKING_TAG) and i["organizer"] == diego]
    # held: the run lock kept; the restart's sync finds the meeting recorded, not one to adopt by its tag
    assert (held, code, tagged, "adopted" in again.out) == (True, 0, [str(booking)], False), (
        beside.out,
        again.out,
        err.read_text(),
        log[-3000:],
    )

"""Sync v2, intents that must be finished (issue 19): bug 4 (SIGKILL during CreateItem, then the booking
cancelled) and a lost answer on the write that tags an Outlook-made meeting (found by the checker)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [i for i in items if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def link_rows(env: dict[str, str]) -> list[tuple[Any, ...]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT booking_id, state FROM booking_sync ORDER BY booking_id"))


def bookings(invoke: Invoke, env: dict[str, str]) -> list[dict[str, Any]]:
    return list(json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"])


@pytest.fixture
def diego(invoke: Invoke, env: dict[str, str], addr: Any) -> str:
    """DiegoS synced once (no bookings yet): his mailbox has a stored sync position, so a later pass does not
    start from scratch (the recovery by tag that a first pass runs would hide the bugs)."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    return str(addr("DiegoS"))


def sync_killed_at_create(lab: Any, env: dict[str, str], cwd: Path) -> None:
    """`roomsops sync` SIGKILLed once the lab has counted its CreateItem. The lab counts a request before it
    handles it and adds 30 ms of latency meanwhile, so the kill lands while the request is in flight: the
    lab still creates the meeting, the process never records the answer."""
    lab.settings(latency_ms=30)
    lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
        env=os.environ | env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None and lab.requests().get("ews:CreateItem", 0) < 1:
            time.sleep(0.002)
        assert process.poll() is None, "the sync ended before its CreateItem was counted"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        lab.settings(latency_ms=0)


def wait_for(condition: Any, what: str) -> None:
    """Poll a condition the lab reaches by itself (a request already received being handled), bounded."""
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_bug4_killed_during_create_then_cancelled_in_rooms_cancels_the_meeting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], diego: str, addr: Any, tmp_path: Path
) -> None:
    """Bug 4: SIGKILL during CreateItem, then the booking cancelled in ROOMS: the meeting stayed live and
    held the room. A cancelled booking whose link is pending-create is looked up by its tag and cancelled; a
    failing lookup keeps the intent (pending-cancel) for the next pass."""
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            diego,
            "--room",
            addr("room-zurich"),
            "--start",
            DAY.isoformat(),
            "--end",
            (DAY + timedelta(hours=1)).isoformat(),
            "--title",
            "Planning",
            env=env,
        )
    )
    sync_killed_at_create(fresh_lab, env, tmp_path)
    wait_for(lambda: [i["subject"] for i in live(fresh_lab, diego)] == ["Planning"], "the meeting created")
    assert link_rows(env) == [(1, "pending-create")]  # the process died before the answer was recorded
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))

    fresh_lab.fault(protocol="ews", operation="FindItem", kind="drop_before", count=10)
    failed = invoke("--json", "sync", env=env)
    assert failed.code == 1
    assert link_rows(env) == [(1, "pending-cancel")]  # the lookup failed: the intent is kept, not forgotten
    assert [i["subject"] for i in live(fresh_lab, diego)] == ["Planning"]

    fresh_lab.clear_faults()
    done = ok(invoke("--json", "sync", env=env))
    (mailbox,) = json.loads(done.out)["mailboxes"]
    assert mailbox["cancelled"] == 1
    assert live(fresh_lab, diego) == []  # the room is free again
    assert link_rows(env) == [(1, "cancelled")]
    ok(invoke("sync", env=env))
    # The killed create and the CancelCalendarItem (the lab counts both as CreateItem): never a second create.
    assert fresh_lab.requests().get("ews:CreateItem", 0) == 2


@pytest.mark.parametrize("fault", ["drop_after", "drop_before"])
def test_a_lost_answer_on_tagging_an_outlook_meeting_never_books_twice(
    fault: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str], diego: str, addr: Any
) -> None:
    """Checker finding: outlook_new_meeting, then the UpdateItem that tags it lost its answer: the booking had
    no link, and the next pass created a second meeting (I1). The link is stored with the booking, before the
    tagging write."""
    start = DAY + timedelta(days=1, hours=-1)
    body = {
        "subject": "Made in Outlook",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [addr("room-zurich")],
        "location": "Zürich",
    }
    fresh_lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=body)
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200  # the room accepts it
    fresh_lab.reset_requests()
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind=fault, count=1)
    assert invoke("sync", env=env).code == 1  # the failed tagging is reported (and repaired by the next pass)
    for _ in range(2):
        ok(invoke("sync", env=env))
    assert [b["title"] for b in bookings(invoke, env)] == ["Made in Outlook"]
    (meeting,) = live(fresh_lab, diego)
    assert meeting["subject"] == "Made in Outlook"
    assert fresh_lab.requests().get("ews:CreateItem", 0) == 0  # nothing created
    assert link_rows(env) == [(1, "linked")]
    found = json.loads(ok(invoke("--json", "sync", env=env)).out)["mailboxes"][0]
    assert (found["created"], found["bookings_created"], found["failures"]) == (0, 0, [])

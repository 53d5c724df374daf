"""Sync v2, conflict rules that must stick (issue 19, bugs 9 and 10)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
TAKEN = DAY + timedelta(hours=3)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def diego_meeting(lab: Any, mailbox: str) -> dict[str, Any]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    (meeting,) = [
        i for i in items if i["organizer"].lower() == mailbox.lower() and i["subject"] == "Planning"
    ]
    return dict(meeting)


def move_in_outlook(lab: Any, mailbox: str, start: datetime) -> None:
    meeting = diego_meeting(lab, mailbox)
    body = {"start": stamp(start), "end": stamp(start + timedelta(hours=1))}
    response = lab.admin("PATCH", f"/lab/mailboxes/{mailbox}/calendar/{meeting['id']}", json=body)
    assert response.status_code == 200, response.text


@pytest.fixture
def conflict(invoke: Invoke, env: dict[str, str], addr: Any) -> Any:
    """DiegoS's bookings 1 (DAY 08:00) and 3 (DAY 14:00), AdeleV's booking 2 holding room-zurich at TAKEN, synced."""

    def make(behaviour: str) -> None:
        ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
        for person in ("DiegoS", "AdeleV"):
            ok(
                invoke(
                    "persons",
                    "add",
                    addr(person),
                    "--sync-mode",
                    "O365",
                    "--conflict-behaviour",
                    behaviour,
                    env=env,
                )
            )
        # DiegoS's second booking keeps a link in his mailbox after booking 1's meeting is let go.
        bookings = (
            ("DiegoS", DAY, "Planning"),
            ("AdeleV", TAKEN, "Other"),
            ("DiegoS", DAY + timedelta(hours=6), "Later"),
        )
        for person, start, title in bookings:
            ok(
                invoke(
                    "bookings",
                    "add",
                    "--organizer",
                    addr(person),
                    "--room",
                    addr("room-zurich"),
                    "--start",
                    start.isoformat(),
                    "--end",
                    (start + timedelta(hours=1)).isoformat(),
                    "--title",
                    title,
                    env=env,
                )
            )
        ok(invoke("sync", env=env))

    return make


def test_a_recovery_pass_never_cancels_a_meeting_the_cancel_rule_unlinked(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, conflict: Any
) -> None:
    """Bug 9: the recovery (reconciling by tag) adopted the unlinked meeting and cancelled it."""
    conflict("Cancel")
    move_in_outlook(fresh_lab, addr("DiegoS"), TAKEN)
    assert invoke("sync", env=env).code == 1  # the conflict, attempt 1 of 2
    assert invoke("sync", env=env).code == 1  # attempt 2: booking 1 cancelled, the meeting let go
    # Lose the stored position: the next pass recovers by looking up every tagged meeting.
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE mailbox_sync SET sync_state = NULL")
    run = ok(invoke("--json", "sync", env=env))
    diego = next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert (diego["adopted"], diego["cancelled"]) == (0, 0)
    meeting = diego_meeting(fresh_lab, addr("DiegoS"))
    assert (meeting["is_cancelled"], meeting["start"]) == (False, stamp(TAKEN))  # still the person's meeting


def test_a_failed_rollback_reset_is_tried_again_and_says_so(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, conflict: Any
) -> None:
    """Bug 10: a failed reset was never retried, later passes said ok, and the message said it was reset."""
    conflict("Rollback")
    move_in_outlook(fresh_lab, addr("DiegoS"), TAKEN)
    fresh_lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=1)
    first = invoke("--json", "sync", env=env)
    assert first.code == 1
    diego = next(m for m in json.loads(first.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    (failure,) = diego["failures"]
    # review20b: a reset that never reached Exchange is no attempt
    assert "the reset failed" in failure and "the reset is tried again next pass (not counted" in failure
    assert "0 of 5 rollbacks so far" in failure
    assert "meeting reset to the booking" not in failure
    assert diego_meeting(fresh_lab, addr("DiegoS"))["start"] == stamp(TAKEN)
    second = invoke("--json", "sync", env=env)  # no new edit in Outlook: the reset is tried again
    assert second.code == 1
    diego = next(m for m in json.loads(second.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert diego["rolled_back"] == 1
    assert any("meeting reset to the booking (attempt 1 of 5)" in f for f in diego["failures"])
    assert diego_meeting(fresh_lab, addr("DiegoS"))["start"] == stamp(DAY)


def test_rollback_attempts_and_cancel_attempts_are_settings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, conflict: Any
) -> None:
    """sync.rollback_attempts (ROOMS: 5, configurable) and sync.cancel_attempts (ROOMS: 2) set how many passes
    a conflict is handled before the booking is sync-disabled (Rollback) or cancelled (Cancel)."""
    conflict("Rollback")
    two = env | {"ROOMSOPS_SYNC_ROLLBACK_ATTEMPTS": "2"}
    move_in_outlook(fresh_lab, addr("DiegoS"), TAKEN)
    first = invoke("--json", "sync", env=two)
    diego = next(m for m in json.loads(first.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert any("meeting reset to the booking (attempt 1 of 2)" in f for f in diego["failures"])
    move_in_outlook(fresh_lab, addr("DiegoS"), TAKEN)
    second = invoke("--json", "sync", env=two)
    diego = next(m for m in json.loads(second.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert any("after 2 rollbacks the booking is sync-disabled" in f for f in diego["failures"])

    ok(invoke("persons", "set", addr("DiegoS"), "--conflict-behaviour", "Cancel", env=env))
    once = env | {"ROOMSOPS_SYNC_CANCEL_ATTEMPTS": "1"}
    later = diego_meeting_titled(fresh_lab, addr("DiegoS"), "Later")
    body = {"start": stamp(TAKEN), "end": stamp(TAKEN + timedelta(hours=1))}
    path = f"/lab/mailboxes/{addr('DiegoS')}/calendar/{later['id']}"
    assert fresh_lab.admin("PATCH", path, json=body).status_code == 200
    run = invoke("--json", "sync", env=once)  # the first attempt is the last
    diego = next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == addr("DiegoS"))
    assert any("booking 3 (Later)" in f and "meeting unlinked" in f for f in diego["failures"])
    bookings = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert {b["id"]: b["status"] for b in bookings}[3] == "cancelled"


def diego_meeting_titled(lab: Any, mailbox: str, subject: str) -> dict[str, Any]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    (meeting,) = [i for i in items if i["organizer"].lower() == mailbox.lower() and i["subject"] == subject]
    return dict(meeting)

"""Review of issue 19 (sync engine v2): findings as regression tests, against the lab (real exchangelib, TLS)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def items(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return [i for i in items(lab, mailbox) if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]]


def bookings(invoke: Invoke, env: dict[str, str]) -> dict[int, dict[str, Any]]:
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    return {b["id"]: b for b in found}


def mailbox(run: Any, address: str) -> dict[str, Any]:
    return next(m for m in json.loads(run.out)["mailboxes"] if m["mailbox"] == address)


def link_rows(env: dict[str, str]) -> list[tuple[Any, ...]]:
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT booking_id, state, item_id FROM booking_sync ORDER BY booking_id"))


def summary(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text()))


@pytest.fixture
def synced(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    """DiegoS with booking 1 (room-zurich, DAY 08:00-09:00), synced once."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", addr("AdeleV"), "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"),
            "--start", DAY.isoformat(), "--end", (DAY + timedelta(hours=1)).isoformat(),
            "--title", "Planning", "--attendee", addr("AdeleV"), env=env,
        )
    )
    ok(invoke("sync", env=env))


def test_a_full_pass_never_adopts_or_cancels_a_restored_meeting_of_a_cancelled_booking(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """docs/sync.md: meetings tagged by this installation whose booking was cancelled (e.g. restored from Deleted
    Items) are counted as "restored or unlinked" and never changed. An incremental pass keeps that; `sync --full`
    adopted the restored meeting back into the cancelled booking's link ("adopted": 1) and then cancelled it:
    the user's restored meeting vanished from Outlook and its attendees and room got a cancellation."""
    (meeting,) = live(fresh_lab, addr("DiegoS"))
    gone = fresh_lab.admin("DELETE", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{meeting['id']}?cancel=false")
    assert gone.status_code == 200, gone.text
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["status"] == "cancelled"  # deleting it in Outlook cancelled the booking
    back = fresh_lab.admin("POST", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{gone.json()['item']['id']}/restore")
    assert back.status_code == 200, back.text
    restored = back.json()["item"]
    normal = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert normal["skipped"].get("restored or unlinked") == 1
    full = mailbox(ok(invoke("--json", "sync", "--full", env=env)), addr("DiegoS"))
    assert (full["adopted"], full["cancelled"]) == (0, 0), full
    assert full["skipped"].get("restored or unlinked") == 1, full
    ok(invoke("sync", env=env))
    assert [(i["id"], i["is_cancelled"]) for i in live(fresh_lab, addr("DiegoS"))] == [(restored["id"], False)]
    assert bookings(invoke, env)[1]["status"] == "cancelled"
    assert [row[:2] for row in link_rows(env)] == [(1, "cancelled")]


"""Review of issue 19 (sync engine v2): findings as regression tests, against the lab (real exchangelib, TLS)."""

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


def items(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def live(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return [
        i for i in items(lab, mailbox) if i["organizer"].lower() == mailbox.lower() and not i["is_cancelled"]
    ]


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
    """DiegoS with booking 1 (room-zurich, DAY 08:00-09:00, AdeleV invited), synced once; AdeleV synced too."""
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", addr("AdeleV"), "--sync-mode", "O365", env=env))
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            DAY.isoformat(),
            "--end",
            (DAY + timedelta(hours=1)).isoformat(),
            "--title",
            "Planning",
            "--attendee",
            addr("AdeleV"),
            env=env,
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
    back = fresh_lab.admin(
        "POST", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{gone.json()['item']['id']}/restore"
    )
    assert back.status_code == 200, back.text
    restored = back.json()["item"]
    normal = mailbox(ok(invoke("--json", "sync", env=env)), addr("DiegoS"))
    assert normal["skipped"].get("restored or unlinked") == 1
    full = mailbox(ok(invoke("--json", "sync", "--full", env=env)), addr("DiegoS"))
    assert (full["adopted"], full["cancelled"]) == (0, 0), full
    assert full["skipped"].get("restored or unlinked") == 1, full
    ok(invoke("sync", env=env))
    assert [(i["id"], i["is_cancelled"]) for i in live(fresh_lab, addr("DiegoS"))] == [
        (restored["id"], False)
    ]
    assert bookings(invoke, env)[1]["status"] == "cancelled"
    assert [row[:2] for row in link_rows(env)] == [(1, "cancelled")]


def test_a_sigkilled_run_does_not_leave_the_older_success_as_the_current_state(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None, tmp_path: Path
) -> None:
    """docs/sync.md: a run that stops before finishing — ... a crash — writes "ok": false, "so an older success
    is never read as the current state". SIGKILL (the OOM killer, a host reboot, `kill -9` by a service manager
    after its stop timeout) is the crash no handler sees: the summary file still holds the previous run's
    "ok": true, and monitoring reads a run that never finished as healthy. (E.g. a summary written at the start
    saying the run is under way, replaced when it ends, would tell the truth.)"""
    assert summary(env)["ok"] is True
    previous = summary(env)
    ok(invoke("bookings", "update", "1", "--title", "Planning v2", env=env))
    fresh_lab.settings(latency_ms=30)
    fresh_lab.reset_requests()
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "sync", "--concurrency", "1"],
        env=os.environ | env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(6000):  # bounded poll of the lab's request counter (no clock involved in the outcome)
            if process.poll() is not None or fresh_lab.requests().get("ews:SyncFolderItems", 0) >= 1:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the sync ended before its first SyncFolderItems was counted"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        fresh_lab.settings(latency_ms=0)
    after = summary(env)
    assert after != previous, "the killed run left the previous run's summary as the current state"
    assert after["ok"] is False


def tags(installation: str, booking: str) -> list[dict[str, str]]:
    prop = {"distinguished_set_id": "PublicStrings", "property_type": "String"}
    return [
        {**prop, "property_name": "roomsops-installation", "value": installation},
        {**prop, "property_name": "roomsops-booking", "value": booking},
    ]


def test_a_duplicate_removed_by_a_full_pass_is_counted_and_audited(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """A second meeting with this installation's tag for the same booking (an Outlook copy carries the named
    properties) is removed by `sync --full`, as documented: the removal is a CancelCalendarItem that tells the
    copy's attendees and room. It appeared nowhere: "cancelled" 0, no audit record, the summary silent about a
    write roomsops made to someone's calendar. Every change gets an audit record; the summary tells the truth."""
    d = addr("DiegoS")
    (meeting,) = live(fresh_lab, d)
    installation = next(
        p["value"] for p in meeting["extended_properties"] if p["property_name"] == "roomsops-installation"
    )
    # An Outlook copy carries the original's tag values as they are (the booking's id and key, fix21cc).
    booking_tag = next(
        p["value"] for p in meeting["extended_properties"] if p["property_name"] == "roomsops-booking"
    )
    made = fresh_lab.admin(
        "POST",
        f"/lab/mailboxes/{d}/calendar",
        json={
            "subject": "Planning",
            "start": meeting["start"],
            "end": meeting["end"],
            "resources": [addr("room-zurich")],
            "extended_properties": tags(installation, booking_tag),
            "send": False,
        },
    )
    assert made.status_code == 201, made.text
    copy = made.json()["id"]
    audit = Path(env["ROOMSOPS_LOG_AUDIT"])
    before = audit.read_text() if audit.exists() else ""
    full = mailbox(ok(invoke("--json", "sync", "--full", env=env)), d)
    assert [i["id"] for i in live(fresh_lab, d)] == [meeting["id"]]  # the copy was removed, the original kept
    # A count of its own (fix27v): the summary must say a meeting was removed
    assert (full["duplicates_removed"], full["cancelled"]) == (1, 0), full
    assert copy in audit.read_text()[len(before) :], "no audit record of the removed duplicate"
    assert summary(env)["mailboxes"][-1]["duplicates_removed"] == 1


def test_a_room_declined_booking_is_reported_on_every_pass_until_settled(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """docs/sync.md: `room-declined` — "the room declined the meeting; reported as a failure of the booking", and
    I2: reported "on every pass until it is settled". The room declines (the booking is beyond its booking
    window, 180 days, as Exchange's default). The pass that reads the decline reports it (exit 1); the next pass,
    nothing having changed, reports nothing, exits 0 and the summary says ok — while the booking's room is not
    held in Exchange and the link is still `room-declined`."""
    far = DAY + timedelta(days=200)
    ok(
        invoke(
            "bookings",
            "add",
            "--organizer",
            addr("DiegoS"),
            "--room",
            addr("room-zurich"),
            "--start",
            far.isoformat(),
            "--end",
            (far + timedelta(hours=1)).isoformat(),
            "--title",
            "Far away",
            env=env,
        )
    )
    ok(invoke("sync", env=env))
    assert fresh_lab.admin("POST", "/lab/room-answers/process").status_code == 200
    for attempt in range(2):
        run = invoke("--json", "sync", env=env)
        assert run.code == 1, (attempt, run.out)
        (failure,) = mailbox(run, addr("DiegoS"))["failures"]
        assert "booking 2 (Far away)" in failure and "declined" in failure
        assert summary(env)["ok"] is False
        assert dict((row[0], row[1]) for row in link_rows(env))[2] == "room-declined"


def outlook_move(lab: Any, address: str, hours: int) -> None:
    (meeting,) = live(lab, address)
    moved = lab.admin(
        "PATCH",
        f"/lab/mailboxes/{address}/calendar/{meeting['id']}",
        json={
            "start": stamp(DAY + timedelta(hours=hours)),
            "end": stamp(DAY + timedelta(hours=hours + 1)),
            "send": False,
        },
    )
    assert moved.status_code == 200, moved.text


def test_a_stale_difference_does_not_undo_a_later_outlook_edit(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """Both sides move booking 1 (ROOMS to 10:00, Outlook to 12:00): ROOMS wins, a difference records Outlook's
    12:00. Then Outlook moves the meeting again, to 14:00: the next pass applies it (the booking is at 14:00,
    both sides agree) but the difference stays open, still saying ROOMS 10:00 / Exchange 12:00 (`sync diff`
    shows a state neither side holds). `sync resolve 1 --use exchange` — "take Outlook's value" — then moves
    the booking AND the meeting back to the stale 12:00: the organizer's latest move is lost on both sides,
    silently (I2). A difference whose field was since settled (applied or equal on both sides) should be
    closed, or resolve should take the meeting's current value."""
    d = addr("DiegoS")
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            (DAY + timedelta(hours=2)).isoformat(),
            "--end",
            (DAY + timedelta(hours=3)).isoformat(),
            env=env,
        )
    )
    outlook_move(fresh_lab, d, 4)
    assert mailbox(ok(invoke("--json", "sync", env=env)), d)["differences"] == 1
    outlook_move(fresh_lab, d, 6)
    ok(invoke("sync", env=env))
    latest = DAY + timedelta(hours=6)
    assert bookings(invoke, env)[1]["start"] == latest.isoformat()  # the later Outlook edit was applied
    listed = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)
    assert listed["differences"] == [], listed  # nothing differs any more
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["start"] == latest.isoformat(), resolved.out
    assert [i["start"] for i in live(fresh_lab, d)] == [stamp(latest)]


def test_resolve_use_exchange_takes_an_outlook_edit_made_after_the_difference(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, synced: None
) -> None:
    """The difference records Outlook's 12:00; Outlook then moves the meeting to 14:00 and, before any pass reads
    it, `sync resolve --use exchange` runs: it takes the meeting's current 14:00, not the recorded 12:00."""
    d = addr("DiegoS")
    start = (DAY + timedelta(hours=2)).isoformat()
    ok(
        invoke(
            "bookings",
            "update",
            "1",
            "--start",
            start,
            "--end",
            (DAY + timedelta(hours=3)).isoformat(),
            env=env,
        )
    )
    outlook_move(fresh_lab, d, 4)
    assert mailbox(ok(invoke("--json", "sync", env=env)), d)["differences"] == 1
    outlook_move(fresh_lab, d, 6)
    ok(invoke("sync", "resolve", "1", "--use", "exchange", env=env))
    latest = DAY + timedelta(hours=6)
    assert bookings(invoke, env)[1]["start"] == latest.isoformat()
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["start"] == latest.isoformat()
    assert [i["start"] for i in live(fresh_lab, d)] == [stamp(latest)]
    assert json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"] == []

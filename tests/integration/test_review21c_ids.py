"""review21c: the booking-id high-water file `rooms.db.booking-ids` (review21b, ed0789e) after a restore from a
backup of the data folder — how a Windows administrator backs up and restores an application's data."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def _subjects(lab: Any, mailbox: str) -> list[str]:
    items = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return sorted(str(i.get("subject")) for i in items if not i.get("is_cancelled"))


def test_restoring_the_data_folder_from_a_backup_does_not_cancel_a_meeting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """Booking 1 "One" is synced; the data folder is backed up (rooms.db with rooms.db.installation-id and
    rooms.db.booking-ids beside it). Booking 2 "Two" is made and synced: its meeting is in DiegoS's calendar.
    The folder is restored from the backup, so the high-water file says 1 again, and the next booking gets id 2
    — the tag of "Two"'s meeting. The next full pass (`sync --full`, or every sync.full_every passes) finds two
    meetings tagged booking 2 and cancels "Two" (CancelCalendarItem: attendees and room told). Restoring only
    rooms.db instead gives id 3 and reports "Two" as "tagged by this installation, no booking (reported, not
    deleted)": the high-water file, restored with the database it belongs to, protects nothing."""
    room, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))

    def book(title: str, day: int) -> None:
        start = TOMORROW + timedelta(days=day)
        times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
        ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", title, env=env))

    book("One", 0)
    ok(invoke("sync", env=env))
    database = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in (database.name, f"{database.name}.installation-id", f"{database.name}.booking-ids"):
        shutil.copy2(database.with_name(name), backup / name)

    book("Two", 1)
    ok(invoke("sync", env=env))
    assert _subjects(fresh_lab, diego) == ["One", "Two"]

    for name in (database.name, f"{database.name}.installation-id", f"{database.name}.booking-ids"):
        shutil.copy2(backup / name, database.with_name(name))
    book("Three", 2)
    ok(invoke("sync", env=env))
    ok(invoke("sync", "--full", env=env))
    assert "Two" in _subjects(fresh_lab, diego), _subjects(fresh_lab, diego)


def test_after_a_restore_lost_creates_and_cancels_touch_only_their_own_booking_meetings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    """fix21cc: the paths that look a meeting up by its tag (a create whose answer was lost, a booking cancelled
    before its create was answered) after the data folder was restored: bookings "Three" and "Four" get the ids
    of "Two" and "Two-b" again. Three's CreateItem never arrives and Three is cancelled: the lookup by tag must
    not cancel "Two" (or take it for Three); Four's CreateItem answer is lost: the lookup adopts Four's own
    meeting, not "Two-b". A full pass reports both old meetings (unknown_tagged) and touches neither."""
    room, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))

    def book(title: str, day: int) -> int:
        start = TOMORROW + timedelta(days=day)
        times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
        made = ok(
            invoke(
                "--json",
                "bookings",
                "add",
                "--organizer",
                diego,
                "--room",
                room,
                *times,
                "--title",
                title,
                env=env,
            )
        )
        return int(json.loads(made.out)["booking"]["id"])

    book("One", 0)
    ok(invoke("sync", env=env))
    database = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    names = (database.name, f"{database.name}.installation-id", f"{database.name}.booking-ids")
    backup = tmp_path / "backup"
    backup.mkdir()
    for name in names:
        shutil.copy2(database.with_name(name), backup / name)
    two, two_b = book("Two", 1), book("Two-b", 2)
    ok(invoke("sync", env=env))
    before = {
        i["subject"]: i for i in fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    }
    for name in names:
        shutil.copy2(backup / name, database.with_name(name))

    three = book("Three", 3)
    assert three == two  # the restored folder gives the id again: the case this guards
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)
    invoke("sync", env=env)  # the create is lost: Three stays pending-create
    ok(invoke("bookings", "cancel", str(three), "--yes", env=env))
    ok(invoke("sync", env=env))  # Three's meeting is looked up by its tag to cancel it
    assert _subjects(fresh_lab, diego) == ["One", "Two", "Two-b"]

    four = book("Four", 4)
    assert four == two_b
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    invoke("sync", env=env)  # made, its answer lost: the pass looks it up by its tag
    ok(invoke("sync", env=env))
    full = json.loads(ok(invoke("--json", "sync", "--full", env=env)).out)
    assert _subjects(fresh_lab, diego) == ["Four", "One", "Two", "Two-b"]
    after = {
        i["subject"]: i for i in fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]
    }
    for subject in ("Two", "Two-b"):  # not changed either (times, attendees told nothing)
        assert (after[subject]["start"], after[subject]["end"]) == (
            before[subject]["start"],
            before[subject]["end"],
        )
    (report,) = [m for m in full["mailboxes"] if m["mailbox"].lower() == diego.lower()]
    assert sorted(report["unknown_tagged"]) == sorted([before["Two"]["id"], before["Two-b"]["id"]]), report


def test_a_booking_made_before_tag_keys_keeps_its_plain_tag_and_its_recovery(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """fix21cc: a booking made before schema 8 has no tag key (NULL, as the upgrade leaves it): its meeting carries
    the plain id, as every installation wrote before, and the recovery by tag still finds it — a lost CreateItem
    answer is adopted (not made twice), a full pass sees its own meeting (nothing reported), a cancel reaches it."""
    room, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    times = ["--start", TOMORROW.isoformat(), "--end", (TOMORROW + timedelta(hours=1)).isoformat()]
    ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", "Old", env=env))
    database = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE bookings SET tag_key = NULL")  # as made by roomsops before schema 8
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    first = json.loads(invoke("--json", "sync", env=env).out)
    assert [m["adopted"] for m in first["mailboxes"]] == [1], first
    (meeting,) = [i for i in fresh_lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]]
    assert [
        p["value"] for p in meeting["extended_properties"] if p["property_name"] == "roomsops-booking"
    ] == ["1"]
    full = json.loads(ok(invoke("--json", "sync", "--full", env=env)).out)
    assert [m["unknown_tagged"] for m in full["mailboxes"]] == [[]], full
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    ok(invoke("sync", env=env))
    assert _subjects(fresh_lab, diego) == []

"""review21c: the booking-id high-water file `rooms.db.booking-ids` (review21b, ed0789e) after a restore from a
backup of the data folder — how a Windows administrator backs up and restores an application's data."""

from __future__ import annotations

import shutil
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

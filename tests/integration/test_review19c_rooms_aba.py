"""Review 19c (the checker's seed 4100 soak, viol19): a held Outlook edit, then ROOMS changed the same field back
and forth. Outlook set the meeting Private; ROOMS set the booking private during the pass (its version check
failed: nothing applied, the snapshot stayed Normal); then ROOMS set it not private again. The next pass saw
ROOMS equal to the stale snapshot ("ROOMS did not change it") and applied Outlook's older Private over ROOMS'
later edit: a lost change (I2)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import pytest

from roomsops.adapters.ews.backend import EwsCalendar
from roomsops.core.calendar import Meeting
from tests.conftest import Invoke, ok
from tests.integration.test_sync_v2_merge import booking, meeting, outlook_edit, synced

pytestmark = pytest.mark.integration
__all__ = ["synced"]  # the fixture


def test_a_later_rooms_edit_is_not_undone_by_an_outlook_edit_held_over_a_version_conflict(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    synced: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outlook_edit(fresh_lab, synced, {"sensitivity": "Private", "send": False})
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    original = EwsCalendar.get
    edits: list[int] = []

    def get_then_edit_in_rooms(self: EwsCalendar, mailbox: str, item_ids: Sequence[str]) -> list[Meeting]:
        found = original(self, mailbox, item_ids)
        if item_ids and not edits:  # the pass read the Outlook edit: ROOMS sets the same value now
            with sqlite3.connect(path) as conn:
                edits.append(
                    conn.execute(
                        "UPDATE bookings SET private = 1, version = version + 1 WHERE id = 1"
                    ).rowcount
                )
        return found

    monkeypatch.setattr(EwsCalendar, "get", get_then_edit_in_rooms)
    ok(invoke("sync", env=env))
    monkeypatch.setattr(EwsCalendar, "get", original)
    assert edits == [1]
    ok(invoke("bookings", "update", "1", "--no-private", env=env))  # later than Outlook's edit
    ok(invoke("sync", env=env))
    ok(invoke("sync", env=env))
    assert booking(invoke, env)["private"] is False
    assert meeting(fresh_lab, synced)["sensitivity"] == "Normal"

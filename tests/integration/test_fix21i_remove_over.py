"""fix21i (review21g (d)): `rooms remove` and `persons remove` refused when the only active bookings were over,
with the remedy to cancel them (a cancellation for a meeting that took place). A booking over in ROOMS and in
Exchange is history: it goes with the record, its meeting stays as it took place. One that Exchange still holds
ahead (moved into the past with --allow-past: no pass sends that) still refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration

TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
YESTERDAY = TOMORROW - timedelta(days=2)


def _synced_booking(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    ok(invoke("bookings", "add", "--organizer", addr("DiegoS"), "--room", addr("room-zurich"), "--title", "Plan",
              "--start", TOMORROW.isoformat(), "--end", (TOMORROW + timedelta(hours=1)).isoformat(), env=env))  # fmt: skip
    ok(invoke("sync", env=env))


def _items(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def test_a_booking_over_in_rooms_and_exchange_goes_with_the_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    _synced_booking(invoke, env, addr)
    (item,) = _items(fresh_lab, addr("DiegoS"))
    moved = {"start": YESTERDAY.isoformat(), "end": (YESTERDAY + timedelta(hours=1)).isoformat()}
    patch = fresh_lab.admin("PATCH", f"/lab/mailboxes/{addr('DiegoS')}/calendar/{item['id']}", json=moved)
    assert patch.status_code == 200, patch.text
    ok(invoke("sync", env=env))  # Outlook's move into the past becomes the booking's: over on both sides
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "active" and booking["end"] < datetime.now(UTC).isoformat(), booking

    removed = invoke("--json", "rooms", "remove", addr("room-zurich"), "--yes", env=env)
    doc = json.loads(ok(removed).out)
    assert (doc["action"], doc["cancelled"], doc["deleted_bookings"]) == ("removed", [], 1), doc
    assert "stay in their organizers' calendars as they took place" in removed.err, removed.err
    # The meeting that took place is left as it is: nothing cancelled in Exchange.
    assert [i["id"] for i in _items(fresh_lab, addr("DiegoS")) if not i.get("is_cancelled")] == [item["id"]]
    fresh_lab.reset_requests()
    ok(invoke("sync", env=env))
    assert not any(
        k in fresh_lab.requests() for k in ("ews:CancelCalendarItem", "ews:DeleteItem", "ews:UpdateItem")
    )


def test_a_booking_moved_into_the_past_that_exchange_holds_ahead_still_refuses(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    _synced_booking(invoke, env, addr)
    ok(invoke("bookings", "update", "1", "--start", YESTERDAY.isoformat(),
              "--end", (YESTERDAY + timedelta(hours=1)).isoformat(), "--allow-past", env=env))  # fmt: skip
    run = invoke("rooms", "remove", addr("room-zurich"), "--yes", env=env)
    assert run.code == 2 and "has 1 active booking(s) (1)" in run.err, run.out + run.err

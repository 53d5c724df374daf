"""review21b: booking ids are never given again (schema v6 high-water mark) — also not after the database was
re-created and took the remembered installation id (`db adopt-id --use remembered`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def calendar(lab: Any, mailbox: str) -> list[dict[str, Any]]:
    return list(lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"])


def test_a_recreated_database_with_the_remembered_id_does_not_take_over_old_meetings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Booking 1 "Old" is synced into DiegoS's calendar. rooms.db is lost and re-created; `db adopt-id --use
    remembered` gives it the old installation id (as its help says to), but ids start again at 1: the new
    booking 1 "New" (another organizer's time) carries the same tag as the old meeting. The old meeting must not
    be taken for the new booking (updated, moved, its attendees told) — it is not the new booking's.
    Found: when the new booking's CreateItem answer is lost, the next pass says "1 updated, 1 adopted" and the
    old booking's meeting has become "New" (moved to the new time); the same happens after restoring an older
    copy of rooms.db (its high-water mark is the copy's). The high-water mark must outlive the database (e.g.
    beside the installation id), or the tag must tell databases apart."""
    room, diego = addr("room-zurich"), addr("DiegoS")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    times = ["--start", TOMORROW.isoformat(), "--end", (TOMORROW + timedelta(hours=1)).isoformat()]
    ok(invoke("bookings", "add", "--organizer", diego, "--room", room, *times, "--title", "Old", env=env))
    ok(invoke("sync", env=env))
    (old,) = [i for i in calendar(fresh_lab, diego) if i.get("subject") == "Old"]

    database = Path(env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///"))
    database.unlink()
    ok(invoke("db", "adopt-id", "--use", "remembered", "--yes", env=env))
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, env=env))
    later = TOMORROW + timedelta(days=2)
    new_times = ["--start", later.isoformat(), "--end", (later + timedelta(hours=1)).isoformat()]
    json.loads(
        ok(
            invoke(
                "--json",
                "bookings",
                "add",
                "--organizer",
                diego,
                "--room",
                room,
                *new_times,
                "--title",
                "New",
                env=env,
            )
        ).out
    )
    # The CreateItem of "New" is made but its answer is lost: the next pass looks the booking's meeting up by tag.
    fresh_lab.fault(protocol="ews", operation="CreateItem", kind="drop_after", count=1)
    first = invoke("sync", env=env)
    run = invoke("sync", env=env)
    items = calendar(fresh_lab, diego)
    kept = [i for i in items if i.get("id", i.get("item_id")) == old.get("id", old.get("item_id"))]
    shown = [(i.get("subject"), i.get("start"), i.get("is_cancelled")) for i in items]
    assert kept and kept[0].get("subject") == "Old", (first.out + first.err, run.out + run.err, shown)
    assert any(i.get("subject") == "New" for i in items), (run.out, shown)

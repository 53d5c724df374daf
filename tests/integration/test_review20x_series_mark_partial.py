"""review20x: a series whose room declined one occurrence because another booking's meeting still held it is never
asked again once that meeting is cancelled: the mark is cleared or left, the occurrence declined for good.

Steps as test_fix27w_person_slot_order.py, with a series: Zürich allows one conflicting occurrence per series
(MaximumConflictInstances 1, ConflictPercentageAllowed 50) and answers at once. DiegoS's ROOMS booking 1 holds
Zürich on a Tuesday (linked, accepted); it is cancelled in ROOMS and AdeleV books Zürich weekly on four Tuesdays,
the second the slot booking 1 freed (ROOMS: free). `sync --person AdeleV` runs first: Zürich gets her series while
Diego's meeting still holds the second Tuesday and accepts it without that occurrence (the next run of her mailbox
reports it). `sync --person DiegoS` then cancels Diego's meeting (the slot is free in Exchange too) and marks her
booking (`room_asks`). Three plain passes.

Expected (review27w/fix27w, for a single booking: "a later run of AdeleV's mailbox asks the room again and the
booking ends linked"; ROOMS holds every occurrence for Adele): the room is asked again once the slot is free, its
calendar holds all four Tuesdays for Adele, the booking ends `linked` and the last pass exits 0.

Found: `_asks` re-sends only `room-declined` links; a series accepted without some occurrences is `linked` (the
note in `last_error`), so its mark is settled as "the room holds the slot" (`room_holds`) or waits for ever; the
room is never asked again; every pass exits 1 naming Diego's cancelled meeting's slot, `bookings list` shows
`room-declined`, and the room's copy keeps the second Tuesday deleted while ROOMS shows it Adele's.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import add_hour_booking
from tests.integration.test_series_sync import ZURICH

from .conftest import Addr, LabHelper
from .test_fix27w_person_slot_order import sync_column

pytestmark = pytest.mark.integration


def test_review20x_a_partly_declined_series_gets_its_room_asked_again_once_the_slot_is_freed(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    adele, diego, zurich = addr("AdeleV").lower(), addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    settings = {
        "booking_window_in_days": 1080,
        "maximum_conflict_instances": 1,
        "conflict_percentage_allowed": 50,
    }
    assert lab.admin("PATCH", f"mailboxes/{zurich}/calendar-processing", json=settings).status_code == 200
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)
    second = datetime(first.year, first.month, first.day, 9, tzinfo=ZURICH) + timedelta(weeks=1)
    add_hour_booking(invoke, env, diego, zurich, second, "Planning")
    ok(invoke("sync", env=env))
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    lab.settings(room_answer_delay=0)
    ok(invoke("sync", env=env))
    assert sync_column(invoke, env) == {1: "linked"}
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    window = ["--start", f"{first}T09:00", "--end", f"{first}T10:00", "--weekly", "tue", "--count", "4"]
    made = ok(
        invoke(
            "--json",
            "bookings",
            "add",
            "--organizer",
            adele,
            "--room",
            zurich,
            "--title",
            "Adele weekly",
            *window,
            env=env,
        )
    )
    booking = int(json.loads(made.out)["booking"]["id"])
    runs = [
        invoke("sync", "--person", adele, env=env) for _ in range(2)
    ]  # the series written; its Accept read
    assert "declined 1 occurrence" in runs[-1].out, [
        r.out for r in runs
    ]  # the premise: Diego's meeting held it
    ok(invoke("sync", "--person", diego, env=env))  # cancels Diego's meeting: the second Tuesday is free
    held = lab.admin("GET", f"/lab/mailboxes/{zurich}/calendar").json()["items"]
    assert [i for i in held if i["organizer"].lower() == diego and not i["is_cancelled"]] == []  # the premise
    after = [invoke("sync", env=env) for _ in range(3)]
    copies = [
        i
        for i in lab.admin("GET", f"/lab/mailboxes/{zurich}/calendar").json()["items"]
        if i["organizer"].lower() == adele and not i["is_cancelled"]
    ]
    assert (
        sync_column(invoke, env)[booking],
        [c["deleted_occurrences"] for c in copies],
        after[-1].code,
    ) == ("linked", [[]], 0), [r.out for r in after]

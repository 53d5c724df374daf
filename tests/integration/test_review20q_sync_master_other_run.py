"""review20q: the fix20q Sync-Master race (review20p) when the organizer's mailbox and the declined booking's mailbox
are synced by different runs (`sync --person`, as sync workers claiming separate batches do).

Steps as test_review20p_sync_master_race.py (Zürich Sync-Master; Diego's Outlook meeting accepted, Adele's ROOMS
booking of the same slot declined), then `roomsops sync --person DiegoS` (it takes Zürich off Diego's meeting), then
three full passes, the room answering after each.

Expected (issue 20 Deliver 3 and I5; fix20q: "a Sync-Master room taken off an accepted Outlook meeting frees its slot
and the declined booking is sent again"): the room ends holding the slot for exactly one meeting, whose booking is
active and linked.

Actual: the freed slot is known only to the run that freed it (`SlotLedger`, per run); Adele's mailbox was not in
it, and no later pass asks the room again: booking 1 stays `room-declined` for ever ("the room's calendar is free at
this time now") and Zürich's calendar holds nothing at 08:00 while ROOMS shows it booked.
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, items, outlook_new

pytestmark = pytest.mark.integration


def test_review20q_a_sync_master_removal_in_another_run_still_gets_the_declined_booking_sent_again(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))
    outlook_new(lab, diego, "Diego own", DAY, resources=[zurich])
    add_booking(invoke, env, adele, zurich, DAY, "Adele booked")
    invoke("sync", env=env)
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [
        ("Diego own", "Accept"),
        ("Adele booked", "Decline"),
    ]
    removal = invoke("sync", "--person", diego, env=env)
    assert "removed from the meeting" in removal.out, removal.out
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answer(lab)
    holding = [i["organizer"].lower() for i in items(lab, zurich) if not i["is_cancelled"]]
    active = sorted(
        (b["organizer"].lower(), b["sync"]) for b in bookings(invoke, env).values() if b["status"] == "active"
    )
    assert len(holding) == 1 and active == [(holding[0], "linked")], (holding, active, runs[-1].out)

"""review20p: a Sync-Master room given to a ROOMS booking and to an Outlook meeting for the same slot ends up held by
neither.

Steps: Zürich is a Sync-Master ROOMS room; DiegoS and AdeleV are synced (O365). In Outlook Diego invites Zürich to
"Diego own" tomorrow 08:00; before the room answers, the administrator books Zürich for Adele at the same hour in
ROOMS. A pass writes Adele's meeting (Diego's awaits the room's answer). Zürich answers in the order the requests
came: Diego's accepted, Adele's declined (conflict). Three more passes, the room answering after each.

Expected (issue 20, Why item 2: "Exchange accepted Diego and declined Adele for the same slot, ROOMS gave the room to
Adele (and with Sync-Master stripped the room from Diego's accepted meeting)" is the defect to fix; Deliver 3: "with
Sync-Master, the room is removed from the meeting that does not hold it"; I5: after quiet passes the room's calendar
holds exactly the slots of active bookings): the room ends holding the slot for exactly one meeting, and that
meeting's booking is active and linked — Diego's (booked from his accepted meeting, Adele's decline reported), or
Adele's (Diego's removal frees the slot and her meeting is sent to the room again).

Before fix20q: the pass strips Zürich from Diego's accepted meeting ("taken in ROOMS by booking 1 ...; the room was removed
from the meeting (sync master)") and leaves Adele's booking `room-declined`, never sent again: Zürich's calendar holds
nothing at 08:00 while ROOMS shows the room booked. Every pass repeats the decline with a reason that misleads
("the room's calendar is free at this time now: a conflict freed since, or its booking policy"): roomsops freed it.
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, items, outlook_new

pytestmark = pytest.mark.integration


def test_review20p_a_sync_master_room_claimed_by_rooms_and_outlook_at_once_ends_held_by_one_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailboxes' positions
    outlook_new(lab, diego, "Diego own", DAY, resources=[zurich])
    add_booking(invoke, env, adele, zurich, DAY, "Adele booked")
    invoke("sync", env=env)
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [
        ("Diego own", "Accept"),
        ("Adele booked", "Decline"),
    ]
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answer(lab)
    holding = [i["organizer"].lower() for i in items(lab, zurich) if not i["is_cancelled"]]
    active = sorted(
        (b["organizer"], b["sync"]) for b in bookings(invoke, env).values() if b["status"] == "active"
    )
    assert len(holding) == 1 and active == [(holding[0], "linked")], (holding, active, runs[-1].out)

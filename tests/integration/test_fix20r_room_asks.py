"""fix20r: the marks that have a room asked again (`room_asks`, schema 13) are settled, not left for ever.

Steps as test_review20p_sync_master_race.py (Zürich Sync-Master; Diego's Outlook meeting accepted, Adele's ROOMS
booking of the same slot declined), but the write taking Zürich off Diego's meeting is refused before it reaches
Exchange (`drop_before`, one fault): the removal did not happen, so Adele's booking is not sent again in that pass
(Zürich would decline it: Diego's meeting still holds the slot). Then passes without faults, the room answering
after each.

Expected: the room ends holding the slot for Adele's booking (active, linked); no mark is left in the database once
the room accepted it, and a further pass writes nothing (no request sent again for a mark never cleared).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from roomsops.adapters import store as db
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, items, outlook_new

pytestmark = pytest.mark.integration


def marks(env: dict[str, str]) -> list[tuple[int, str]]:
    store = db.open_store(env["ROOMSOPS_ROOMS_DATABASE"])
    try:
        with store.read() as conn:
            return [
                (int(r[0]), str(r[1])) for r in conn.execute(text("SELECT booking_id, room FROM room_asks"))
            ]
    finally:
        store.close()


def test_fix20r_a_refused_sync_master_removal_keeps_the_mark_and_the_room_accepted_clears_it(
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
    (adele_booking,) = [i for i, b in bookings(invoke, env).items() if b["organizer"].lower() == adele]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=1)
    refused = invoke("sync", env=env)
    lab.clear_faults()
    assert "could not be done" in refused.out, refused.out
    assert marks(env) == [(adele_booking, zurich)]  # kept: the removal did not go through
    assert [
        (a["subject"], a["response"]) for a in answer(lab)
    ] == []  # Adele's was not sent again to a held slot
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answer(lab)
    holding = [i["organizer"].lower() for i in items(lab, zurich) if not i["is_cancelled"]]
    active = sorted(
        (b["organizer"].lower(), b["sync"]) for b in bookings(invoke, env).values() if b["status"] == "active"
    )
    assert (holding, active) == ([adele], [(adele, "linked")]), [r.out for r in runs]
    assert marks(env) == []
    lab.reset_requests()
    ok(invoke("sync", env=env))
    written = {k: v for k, v in lab.requests().items() if k in ("ews:UpdateItem", "ews:CreateItem")}
    assert written == {}, written

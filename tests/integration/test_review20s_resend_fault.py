"""review20s: the Sync-Master "ask the room again" (fix20r, room_asks) when the re-sent request itself fails.

Steps as test_review20q_sync_master_other_run.py (Zürich Sync-Master; DiegoS over EWS, AdeleV over Graph; Diego's
Outlook meeting accepted, Adele's ROOMS booking of the same slot declined); `sync --person DiegoS` takes Zürich off
Diego's meeting (marks Adele's booking); then `sync --person AdeleV` with its one Graph events.update (the request
sent again) refused before it lands (drop_before: the connection drops, nothing reaches Exchange); then three full
passes, the room answering after each. (With drop_after — landed, answer lost — the same steps end well.)

Expected (issue 20 Deliver 3 and I5; fix20r: the mark is "cleared when the room's state is settled", a failed write
keeps it, as the refused removal does in test_fix20r_room_asks): the room ends holding the slot for Adele's
booking, active and linked; no mark is left. Zürich is free at 08:00 (Diego's meeting no longer lists it) and
would accept Adele's request (exchange-online.md: AutoAccept books a free slot).

Actual: after the refused write the mark is gone from room_asks while Adele's booking is still `room-declined` (the
pending-update intent is settled on the next pass and `_asks` then takes the link for settled, or clears it with
the intent); no later pass asks Zürich again: its calendar holds nothing at 08:00 while ROOMS shows Adele's booking
active — the review20q outcome, reached through one dropped connection.
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


@pytest.mark.parametrize("kind", ["drop_before"])
def test_review20s_a_failed_resend_of_a_marked_booking_is_sent_again(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, kind: str
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", "--sync-master", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("persons", "add", adele, "--sync-mode", "Microsoft365", env=env))
    ok(invoke("sync", env=env))
    outlook_new(lab, diego, "Diego own", DAY, resources=[zurich])
    add_booking(invoke, env, adele, zurich, DAY, "Adele booked")
    invoke("sync", env=env)
    assert [(a["subject"], a["response"]) for a in answer(lab)] == [
        ("Diego own", "Accept"),
        ("Adele booked", "Decline"),
    ]
    (adele_booking,) = [i for i, b in bookings(invoke, env).items() if b["organizer"].lower() == adele]
    removal = invoke("sync", "--person", diego, env=env)
    assert "removed from the meeting" in removal.out, removal.out
    assert marks(env) == [(adele_booking, zurich)]
    lab.fault(protocol="graph", operation="events.update", kind=kind, count=1)
    failed = invoke("sync", "--person", adele, env=env)
    lab.clear_faults()
    assert "dropped" in failed.out, failed.out
    answer(lab)
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answer(lab)
    holding = [i["organizer"].lower() for i in items(lab, zurich) if not i["is_cancelled"]]
    active = sorted(
        (b["organizer"].lower(), b["sync"]) for b in bookings(invoke, env).values() if b["status"] == "active"
    )
    assert (holding, active) == ([adele], [(adele, "linked")]), (marks(env), [r.out for r in runs])
    assert marks(env) == []

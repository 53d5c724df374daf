"""review20v: a room_asks mark (fix27w) made for a booking whose room then accepted at once is never cleared, and
re-sends the booking's meeting, months later, for a slot nobody freed.

Steps: Zürich; DiegoS's ROOMS booking (linked, accepted). The administrator cancels it and books the slot for AdeleV.
Zürich answers requests at once (`room_answer_delay` 0: a booking attendant answering within the second, before
the pass reads its own write back). A plain sync cancels Diego's meeting (marking Adele's booking, fix27w) and
creates Adele's, which Zürich accepts; a quiet pass. Later MeganB (no roomsops person) holds another hour of
Zürich in Outlook, and the administrator moves Adele's booking there: Zürich declines the move (conflict).

Expected: once the room accepted Adele's booking the mark is settled (docs/sync.md: "A booking the room holds has
its mark cleared without a request"); after the move the only write is the move itself — the room declined it for
Megan's meeting, which nothing freed, so nothing is sent again (each request re-invites every attendee).

Fixed (fix20w): the pass clears the marks of bookings whose accept it read after `_asks` looked (`_settle_asks`).

Was: the room's accept was read back with the create, so no later pass reads it as a change and `room_holds` is
never set: the mark stays on the linked booking for as long as it is active. When the moved booking is declined,
the next pass finds the stale mark and re-sends the whole meeting ("room asked again") for a slot no write freed;
the room declines again.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_fix20r_room_asks import marks
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, outlook_new

pytestmark = pytest.mark.integration


def test_review20v_a_mark_of_a_booking_the_room_accepted_is_settled_not_re_sent_later(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, adele, zurich = addr("DiegoS").lower(), addr("AdeleV").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    for person in (diego, adele):
        ok(invoke("persons", "add", person, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Diego booked")
    invoke("sync", env=env)
    answer(lab)
    ok(invoke("sync", env=env))
    lab.settings(room_answer_delay=0)  # the room answers each request at once
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    add_booking(invoke, env, adele, zurich, DAY, "Adele booked")
    for _ in range(2):  # cancels Diego's meeting (marking Adele's booking), creates Adele's; a quiet pass
        ok(invoke("sync", env=env))
    assert {i: b["sync"] for i, b in bookings(invoke, env).items()} == {1: "cancelled", 2: "linked"}
    settled = marks(env)
    # Later: Megan holds another hour of Zürich; Adele's booking is moved there and declined by the room.
    later = DAY + timedelta(hours=3)
    outlook_new(lab, addr("MeganB"), "Megan own", later, resources=[zurich])
    end = (later + timedelta(hours=1)).isoformat()
    ok(invoke("bookings", "update", "2", "--start", later.isoformat(), "--end", end, env=env))
    writes = []
    for _ in range(2):  # writes the move (declined at once); reads the decline
        lab.reset_requests()
        invoke("sync", env=env)
        writes.append(lab.requests().get("ews:UpdateItem", 0))
    assert bookings(invoke, env)[2]["sync"] == "room-declined"
    assert (settled, writes) == ([], [1, 0])  # the move; nothing re-sent for a slot no write freed

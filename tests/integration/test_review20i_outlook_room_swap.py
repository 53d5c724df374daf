"""review20i: an Outlook room change of a synced meeting whose booked room is listed after a room ROOMS does not
manage (issue 20 item 4, "every resource and required attendee is examined"), against the lab, over EWS and over
Microsoft Graph.

DiegoS's meeting lists Bern (a room ROOMS does not manage), then Zürich, its booked room. In Outlook he replaces
Zürich by Genf, another ROOMS room; Genf accepts. The pass reads the meeting "as booked"
(`room_as_booked(meeting, booking.room, snapshot room)`): neither Zürich nor the snapshot's room is listed, so
Exchange's first resource, Bern, is taken for the meeting's room. It records "room changed — Exchange: Bern"
(Genf, the room Outlook chose, is named nowhere: no second-room report, no difference) and
`sync resolve 1 --use exchange` refuses: "the meeting's room Bern is not a ROOMS room". ROOMS keeps Zürich (which
got a cancellation and no longer holds the slot) while Genf holds the slot in Exchange only. `sync resolve 1 --use
rooms` then replaces *Bern* by Zürich: Bern is taken off, Genf stays on the meeting holding the slot.

Why it is wrong: issue 20 Deliver 4 ("ROOMS' rule one synced room per meeting: every resource and required attendee
is examined; a second ROOMS room is reported, never silently booked"); docs/sync.md "Room and attendee changes made
in Outlook are recorded as differences" (the change made is Zürich → Genf, not → Bern); Deliver 10 / I5.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized, stamp
from tests.integration.test_review20i_room_pending import DAY

pytestmark = pytest.mark.integration


def booked_behind_bern(
    invoke: Invoke, lab: Any, env: dict[str, str], addr: Any, mode: str
) -> tuple[str, str, str, str]:
    """Zürich and Genf are ROOMS rooms, Bern is not; DiegoS (`mode`) makes "Two rooms" in Outlook with the
    resources Bern, then Zürich; both accept; two passes: booking 1 in Zürich, linked. DiegoS, Zürich, Bern, Genf."""
    diego, zurich, bern, genf = addr("DiegoS"), addr("room-zurich"), addr("room-bern"), addr("room-genf")
    made = lab.admin("POST", "mailboxes", json={"email": genf, "kind": "room"})
    assert made.status_code in (200, 201), made.text
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", genf, "--name", "Genf", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))
    start = DAY + timedelta(hours=2)
    meeting = {
        "subject": "Two rooms",
        "start": stamp(start),
        "end": stamp(start + timedelta(hours=1)),
        "resources": [bern, zurich],
    }
    assert lab.admin("POST", f"/lab/mailboxes/{diego}/calendar", json=meeting).status_code == 201
    answers(lab)
    for _ in range(2):
        ok(invoke("sync", env=env))
        answers(lab)
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [(b["id"], b["room"].lower(), b["sync"]) for b in found] == [(1, zurich.lower(), "linked")]
    return diego, zurich, bern, genf


def swapped(invoke: Invoke, lab: Any, env: dict[str, str], addr: Any, mode: str) -> tuple[str, str, str, str]:
    """`booked_behind_bern`, then Zürich replaced by Genf in Outlook (Genf accepts) and two passes."""
    diego, zurich, bern, genf = booked_behind_bern(invoke, lab, env, addr, mode)
    (item,) = organized(lab, diego, diego)
    path = f"/lab/mailboxes/{diego}/calendar/{item['id']}"
    assert lab.admin("PATCH", path, json={"resources": [bern, genf]}).status_code == 200
    assert answers(lab).get(genf.lower()) == "Accept"
    for _ in range(2):
        invoke("sync", env=env)
        answers(lab)
    return diego, zurich, bern, genf


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_an_outlook_room_swap_behind_another_resource_names_the_new_rooms_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich and Genf are ROOMS rooms, Bern is not. DiegoS (`mode`) makes "Two rooms" in Outlook with the
    resources Bern, then Zürich; both accept; two passes (booking 1 in Zürich). In Outlook DiegoS replaces Zürich by
    Genf (resources Bern, Genf); Genf accepts; two passes; `sync diff`; `sync resolve 1 --use exchange`.
    Expected: the difference names Genf as Exchange's room (not Bern), and the resolve moves booking 1 to Genf.
    Actual: "Exchange: room-bern", and the resolve fails: "room-bern is not a ROOMS room"."""
    _, _, bern, genf = swapped(invoke, fresh_lab, env, addr, mode)
    diff = invoke("sync", "diff", env=env)
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (genf.lower() in diff.out.lower(), bern.lower() in diff.out.lower()) == (True, False), diff.out
    assert (resolved.code, [b["room"].lower() for b in found]) == (0, [genf.lower()]), (
        resolved.out,
        resolved.err,
    )


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_resolve_use_rooms_after_the_swap_puts_the_booked_room_back_in_place_of_the_new_one(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: as above, then `sync resolve 1 --use rooms` (ROOMS' state: the meeting's room is Zürich).
    Expected: the meeting lists Bern and Zürich (Genf, the room Outlook swapped in, replaced; Bern kept).
    Actual: Zürich and Genf — Bern (recorded as the "room" Outlook chose) is replaced, Genf keeps the slot in
    Exchange only, a second ROOMS room on a booking of Zürich."""
    diego, zurich, bern, _ = swapped(invoke, fresh_lab, env, addr, mode)
    resolved = ok(invoke("sync", "resolve", "1", "--use", "rooms", env=env))
    answers(fresh_lab)
    (item,) = organized(fresh_lab, diego, diego)
    resources = sorted(r["email"].lower() for r in item["resources"])
    assert resources == sorted([bern.lower(), zurich.lower()]), (resources, resolved.out)

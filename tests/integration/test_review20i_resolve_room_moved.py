"""review20i: `sync resolve --use exchange` of a booking whose ROOMS room change has not reached its meeting yet,
the booked room listed after a room ROOMS does not manage (issue 20 item 4, round 6/7's snapshot fallback), against
the lab, over EWS and over Microsoft Graph.

fix20j taught the pass to read such a meeting "as booked" with the snapshot's room as fallback
(`room_as_booked(meeting, booking.room, _snapshot_room(link))`): the booking's new room not listed yet, the room the
snapshot records (still listed, second) is the meeting's room. `sync resolve --use exchange` reads the meeting with
`room_as_booked(found[0], booking.room)` alone: the new room is not listed, so the first resource (Bern, a room ROOMS
does not manage) is taken for the meeting's room, and the resolve's rewrite replaces *Bern* with the new room —
Bern is taken off the meeting, the old room (Zürich) stays on it, holding the slot.

Why it is wrong: docs/sync.md "A room write replaces only this room ... never takes another room off the meeting"
(review20f); issue 20 Deliver 4 (the one synced room; other resources left as they are) and Deliver 10 / I5 (the
room's calendar holds exactly the slots of active bookings).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20i_outlook_room_swap import booked_behind_bern

pytestmark = pytest.mark.integration
DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_resolve_use_exchange_replaces_the_booked_room_not_the_first_resource(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich and Genf are ROOMS rooms, Bern is not. DiegoS (`mode`) makes "Two rooms" in Outlook with the
    resources Bern, then Zürich; both accept; the pass books it in Zürich (booking 1). The administrator moves
    booking 1 to Genf and retitles it "ROOMS title"; DiegoS retitles the meeting "Outlook title" in Outlook; a
    pass whose meeting write is dropped (both changed the subject: ROOMS wins, a difference is recorded); then
    `sync resolve 1 --use exchange` (no fault).
    Expected: the meeting lists Bern and Genf (Zürich replaced by Genf, Bern kept), titled "Outlook title".
    Actual: Genf and Zürich (Bern taken off, Zürich kept holding the slot)."""
    diego, zurich, bern, genf = booked_behind_bern(invoke, fresh_lab, env, addr, mode)
    ok(invoke("bookings", "update", "1", "--room", genf, "--title", "ROOMS title", env=env))
    (item,) = organized(fresh_lab, diego, diego)
    edit = fresh_lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json={"subject": "Outlook title"}
    )
    assert edit.status_code == 200, edit.text
    operation = "UpdateItem" if mode == "O365" else "events.update"
    fresh_lab.fault(
        protocol="ews" if mode == "O365" else "graph", operation=operation, kind="drop_before", count=1
    )
    invoke("sync", env=env)
    fresh_lab.clear_faults()
    (item,) = organized(fresh_lab, diego, diego)
    before = sorted(r["email"].lower() for r in item["resources"])
    assert before == sorted([bern.lower(), zurich.lower()]), item  # the move not written yet
    diff = ok(invoke("sync", "diff", env=env)).out
    assert "booking 1" in diff, diff  # the subject both changed: a difference
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    answers(fresh_lab)
    (item,) = organized(fresh_lab, diego, diego)
    resources = sorted(r["email"].lower() for r in item["resources"])
    assert (resources, item["subject"]) == (sorted([bern.lower(), genf.lower()]), "Outlook title"), (
        item,
        resolved.out,
        resolved.err,
        diff,
    )

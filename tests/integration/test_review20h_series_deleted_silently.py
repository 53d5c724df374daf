"""review20h: a ROOMS series deleted in Outlook without a cancellation, its first occurrence over (issue 20
Deliver 6, with the series sync of issue 25 merged since), against the lab, over EWS and over Microsoft Graph.

DiegoS (still synced) deletes booking 1's series — daily from two days ago, four occurrences ahead — in Outlook
without sending a cancellation; Zürich keeps its copy of the series. Over EWS the pass cancels the booking but
frees nothing (`rooms_released` 0, no failure, `bookings list` "cancelled", not "room-holds"): the room's copy is
looked for, as for the purge (`held.end <= now`), only while the meeting's *first* occurrence is ahead. Over Graph
the deletion is not read at all: the booking stays "linked", both passes say nothing.

Why it is wrong: issue 20 Deliver 6 ("Delete without cancellation in Outlook: the booking is cancelled and the
room's copy is cancelled too ..., or, when it cannot, the room is reported as still holding the slot"); Deliver
10 / I5; the engine's own `meeting_over` counts a series as over only after its last occurrence.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import answer_rooms, live, synced_standup_series

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_series_deleted_without_cancellation_frees_its_room(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 made in ROOMS, "Standup" daily from two days ago,
    six occurrences; synced, Zürich accepted, a quiet pass. DiegoS deletes the series in Outlook without a
    cancellation; two passes (room answers processed between).
    Expected: booking 1 cancelled, and Zürich no longer holds the series — or the booking shows `room-holds` /
    a pass names Zürich as still holding it. Actual (EWS): cancelled, Zürich holds it, nothing said; (Graph):
    booking still linked, Zürich holds it, nothing said."""
    diego, zurich = synced_standup_series(invoke, fresh_lab, env, addr, mode, days=-2)
    (item,) = live(fresh_lab, diego, diego)
    deleted = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert deleted.status_code == 200, deleted.text
    runs = [invoke("--json", "sync", env=env)]
    answer_rooms(fresh_lab)
    runs.append(invoke("--json", "sync", env=env))
    said = [
        f
        for run in runs
        for m in json.loads(run.out)["mailboxes"]
        for f in m["failures"]
        if zurich.lower() in f.lower()
    ]
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    held = live(fresh_lab, zurich, diego)
    assert booking["status"] == "cancelled" and (
        held == [] or booking["sync"] == "room-holds" or said != []
    ), (
        booking["sync"],
        booking["status"],
        len(held),
        [r.out for r in runs],
    )

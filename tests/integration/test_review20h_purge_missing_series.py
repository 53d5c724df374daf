"""review20h: a person leaving the sync with `sync.on_person_removed = "purge"` after deleting a ROOMS series in
Outlook without a cancellation, the series' first occurrence over (issue 20 Deliver 5 and 6; fix19p's
`free_rooms_of_missing_meeting`, with the series sync of issue 25), against the lab, over EWS and over Graph.

fix19p: a purge that finds no meeting to cancel (deleted in Outlook without a cancellation before any pass read it)
removes the room's copy. It gives up when the meeting is over — `held.end <= now` with `held` the link's snapshot,
which for a series is its *first* occurrence. A series that began two days ago, four occurrences ahead, counts as
over: the pass says "purged" (exit 0, no failure, rooms_released 0), the booking is "not synced", and Zürich keeps
the whole series — every future occurrence's slot — with no word, on this and every later pass.

Why it is wrong: issue 20 Deliver 6 ("the room's copy is cancelled too ... or, when it cannot, the room is reported
as still holding the slot"); Deliver 10 / I5 (the room's calendar holds exactly the slots of active bookings, or the
difference is reported); the engine's own `meeting_over` counts a series as over only after its last occurrence.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import answer_rooms, live, synced_standup_series

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_purge_frees_the_room_of_a_series_deleted_without_cancellation(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (`mode`) has booking 1 made in ROOMS, "Standup" daily from two days ago,
    six occurrences; synced, Zürich accepted. DiegoS deletes the series in Outlook without a cancellation; he is
    switched to sync mode None; two passes with sync.on_person_removed = purge (room answers processed between).
    Expected: Zürich no longer holds the series, or a pass reports that it still does (a failure naming the room).
    Actual: "purged", exit 0, nothing released or reported; Zürich holds the series."""
    diego, zurich = synced_standup_series(invoke, fresh_lab, env, addr, mode, days=-2)
    (item,) = live(fresh_lab, diego, diego)
    deleted = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel=false")
    assert deleted.status_code == 200, deleted.text
    ok(invoke("persons", "set", diego, "--sync-mode", "None", env=env))
    purging = env | {"ROOMSOPS_SYNC_ON_PERSON_REMOVED": "purge"}
    runs = [invoke("--json", "sync", env=purging)]
    answer_rooms(fresh_lab)
    runs.append(invoke("--json", "sync", env=purging))
    said = [
        f
        for run in runs
        for m in json.loads(run.out)["mailboxes"]
        for f in m["failures"]
        if zurich.lower() in f.lower()
    ]
    held = live(fresh_lab, zurich, diego)
    assert held == [] or said != [], ([r.out for r in runs], held)

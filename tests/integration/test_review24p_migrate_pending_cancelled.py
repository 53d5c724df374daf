"""review24p: a meeting made in Outlook that became a booking, whose tagging write was lost (`pending-update`), and
whose booking is then cancelled in ROOMS: after `sync migrate --to graph` and a pass over Graph, the meeting must be
cancelled in Outlook (as a pass over EWS does), and no new booking made of it.

Steps: DiegoS (O365) makes "Own workshop" in Outlook with Zürich, Zürich accepts, the pass books it but the write
that tags the meeting is lost (twice); `roomsops bookings cancel 1`; `sync migrate --to graph --person diego`;
`roomsops sync` (twice). `stay`: the same without the move (over EWS), which passed; `full`: the same over EWS with
`sync --full` first, which failed the same way (fix24q: the full reconciliation finds meetings by their tag).

Expected (docs/sync.md "Moving persons between EWS and Graph": no meeting re-created, none duplicated; the first
pass over the new service settles a link as a pass over the old one would): the meeting is cancelled in Outlook
(the room freed), booking 1 stays cancelled, no other booking.

Found: migrate reports Diego `migrated` with booking 1 `deleted` (no UID look-up is made for it); the first pass over
Graph takes the meeting as deleted in Outlook (link 1 `cancelled`, "the room may still answer the deleted
meeting") and then books the still-standing untagged meeting anew as booking 2 (`1 bookings created`): the booking
cancelled in ROOMS comes back under another id and Zürich stays held. Cause: `migrate._settled_by_first_pass` ->
`engine.deleted_if_missing` -> `_cancelled_before_written` counts a `pending-update` link of a cancelled booking
as deleted when no meeting carries its tag, before (and instead of) fix20q's UID look-up; an untagged
`pending-update` meeting carries no tag by definition.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, links, live, outlook_new

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "to",
    [
        "graph",
        "stay",  # the same over EWS (no move)
        "full",  # over EWS, the first pass a full reconciliation (`sync --full`), as the first over Graph is (fix24q)
    ],
)
def test_review24p_a_pending_update_meeting_cancelled_in_rooms_is_cancelled_after_the_move(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, to: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol="ews", operation="UpdateItem", kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the tagging write lost, its retry too
    lab.clear_faults()
    assert links(env)[1][0] == "pending-update"
    ok(invoke("bookings", "cancel", "1", "--yes", env=env))
    if to == "graph":
        run = invoke("--json", "sync", "migrate", "--to", "graph", "--person", diego, env=env)
        (person,) = json.loads(run.out)["persons"]
        assert person["status"] == "migrated", json.dumps(person)
    first = invoke("sync", *(["--full"] if to == "full" else []), env=env)
    second = invoke("sync", env=env)
    answer(lab)
    found = bookings(invoke, env)
    assert (live(lab, diego), sorted(found), found[1]["status"]) == ([], [1], "cancelled"), (
        first.out[-800:],
        second.out[-800:],
        links(env),
    )

"""fix24q (review24p): `sync migrate` finds an untagged `pending-update` meeting (its tagging write lost) that
Outlook moved beyond the sync window by its UID over the whole calendar of the target (EWS: a FindItem without a
view; Graph: /events), in both directions: the person moves, and the first pass over the new service tags the
meeting and takes the move over; the booking is never cancelled while its meeting stands."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, links, live, outlook_new, stamp

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("mode", "to", "fault"),
    [("O365", "graph", ("ews", "UpdateItem")), ("Microsoft365", "ews", ("graph", "events.update"))],
)
def test_fix24q_a_pending_update_meeting_moved_beyond_the_window_moves_with_its_person(
    invoke: Invoke,
    env: dict[str, str],
    fresh_lab: LabHelper,
    addr: Addr,
    mode: str,
    to: str,
    fault: tuple[str, str],
) -> None:
    lab = fresh_lab
    env = {**env, "ROOMSOPS_SYNC_WINDOW_DAYS_FUTURE": "30"}
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    ok(invoke("sync", env=env))  # the mailbox's position
    outlook_new(lab, diego, "Own workshop", DAY + timedelta(hours=2), resources=[zurich])
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    lab.fault(protocol=fault[0], operation=fault[1], kind="drop_before", count=2)
    assert invoke("sync", env=env).code == 1  # the tagging write lost, its retry too
    lab.clear_faults()
    assert links(env)[1][0] == "pending-update"
    (item,) = live(lab, diego)
    far = DAY + timedelta(days=60, hours=2)
    moved = {"start": stamp(far), "end": stamp(far + timedelta(hours=1))}
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=moved).status_code == 200

    run = invoke("--json", "sync", "migrate", "--to", to, "--person", diego, env=env)
    (person,) = json.loads(run.out)["persons"]
    assert (run.code, person["status"], person["relinked"], person["deleted"]) == (0, "migrated", 1, []), (
        run.out
    )
    ok(invoke("sync", env=env))  # the first pass over the new service: tags the meeting, takes the move over
    (meeting,) = live(lab, diego)
    booking = bookings(invoke, env)[1]
    assert (booking["status"], booking["start"][:16], links(env)) == (
        "active",
        stamp(far)[:16],
        {1: ("linked", None)},
    ), booking
    assert meeting["start"] == stamp(far)

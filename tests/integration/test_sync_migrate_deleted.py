"""`sync migrate --to graph` of a person whose meetings were deleted in Outlook since the last pass, with EWS
already off for their mailbox: the links move as they are (`deleted`), and the first pass over Graph settles them as
a pass over EWS would have — the booking of a meeting deleted without a cancellation is cancelled and the room's
copy removed (over Graph: the room is opened over the organizer's service), a cancellation under way is found done.
Not one EWS request, during the move or the pass."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, live, sync

pytestmark = pytest.mark.integration


def test_meetings_deleted_before_the_move_are_settled_over_graph_without_ews(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    for hours, title in ((0, "Planning"), (2, "Review"), (4, "Retro")):
        add_booking(invoke, env, diego, zurich, DAY + timedelta(hours=hours), title)
    ok(invoke("sync", env=env))
    answer(lab)
    ok(invoke("sync", env=env))
    assert len(live(lab, zurich, organizer=diego)) == 3

    # Booking 3 cancelled in ROOMS, its CancelCalendarItem (a CreateItem) never arrives: the link is `pending-cancel`.
    ok(invoke("bookings", "cancel", "3", "--yes", env=env))
    lab.fault(protocol="ews", operation="CreateItem", kind="drop_before", count=1)
    assert sync(invoke, env)[0] == 1
    # Then, in Outlook: Planning deleted without a cancellation (the room's copy still holds its slot), Retro
    # deleted too; and EWS is switched off for Diego's mailbox.
    meetings = {i["subject"]: i for i in live(lab, diego)}
    for subject, cancel in (("Planning", "false"), ("Retro", "true")):
        gone = lab.admin(
            "DELETE", f"/lab/mailboxes/{diego}/calendar/{meetings[subject]['id']}?cancel={cancel}"
        )
        assert gone.status_code == 200, gone.text
    with lab.lab.tenant.change() as state:
        next(m for m in state.mailboxes if m.primary_smtp.lower() == diego).ews_enabled = False
    lab.reset_requests()

    migrate = ["--json", "sync", "migrate", "--to", "graph", "--person", diego]
    (planned,) = json.loads(ok(invoke(*migrate, "--dry-run", env=env)).out)["persons"]
    assert (planned["status"], planned["deleted"], planned["missing"]) == ("would migrate", [1, 3], [])
    text = ok(invoke(*migrate[1:], env=env)).out
    assert "booking(s) 1, 3: the meeting is no longer in the calendar (deleted in Outlook)" in text
    (again,) = json.loads(ok(invoke(*migrate, env=env)).out)["persons"]
    assert again["status"] == "already"

    code, passed = sync(invoke, env)  # the first pass over Graph: a full reconciliation
    report = passed[diego]
    assert (code, report["failures"], report["pass_kind"]) == (0, [], "full")
    assert (report["bookings_cancelled"], report["rooms_released"], report["created"]) == (1, 1, 0)
    found = bookings(invoke, env)
    assert [found[i]["status"] for i in (1, 2, 3)] == ["cancelled", "active", "cancelled"]
    (review,) = live(lab, diego)
    assert review["subject"] == "Review"
    assert [i["uid"] for i in live(lab, zurich, organizer=diego)] == [review["uid"]]  # the slots freed
    assert [k for k in lab.requests() if k.startswith("ews:")] == []
    code, quiet = sync(invoke, env)
    assert (code, quiet[diego]["failures"], quiet[diego]["cancelled"], quiet[diego]["created"]) == (
        0,
        [],
        0,
        0,
    )

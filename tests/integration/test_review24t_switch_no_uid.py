"""review24t: a `pending-update` link stored WITHOUT a UID (a link from before UIDs were stored — the case
fix24s's own test takes up for `sync migrate`) of an Outlook room meeting whose tagging write was lost, then the
person moved from EWS to Graph.

Over EWS, without the switch, the next pass tags the meeting and booking 1 stays active (checked). With the
switch — `persons set --sync-mode Microsoft365` followed by the pass (the heal path), or by `sync migrate --to
graph` — the meeting is found neither by tag (none) nor by UID (none stored), so `gone_over_service` takes it as
deleted in Outlook: booking 1 is CANCELLED in ROOMS and the same, untouched meeting is discovered as a new booking
2. ROOMS shows a cancellation and a new booking (new id, booking history and ROOMS-side data cut off) for a meeting
nobody changed; `sync migrate` even reports "the meeting is no longer in the calendar (deleted in Outlook)" while
it stands in the calendar. fix24s reads a link's missing UID over the service its id belongs to only for links it
relinks by tag, not for this untagged one; the pass reads nothing for it at all."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, links, live, outlook_new

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["pass", "sync migrate"])
def test_review24t_a_switch_keeps_the_booking_of_an_untagged_meeting_whose_link_has_no_uid(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, how: str
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
    # A link from before UIDs were stored (test_fix24s_migrate_after_bare_switch.py makes one the same way).
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE booking_sync SET snapshot = json_remove(snapshot, '$.uid') WHERE booking_id = 1")

    ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    if how == "sync migrate":
        ok(invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env))
    invoke("sync", env=env)
    invoke("sync", env=env)
    assert [m["subject"] for m in live(lab, diego)] == ["Own workshop"]
    # The booking the meeting had stays: not cancelled and booked again under a new id.
    assert {i: b["status"] for i, b in bookings(invoke, env).items()} == {1: "active"}

"""review24t: a mailbox synced over EWS before schema 10 (no service recorded: the v9→v10 migration leaves
`mailbox_sync.service` NULL, "recorded by their next pass") whose person is then moved to Graph without a pass
in between — the administrator upgrades to get Graph (EWS being switched off, issue 24) and at once sets
`sync.backend = "graph"` (README), or `persons set --sync-mode Microsoft365`, with or without `sync migrate` after
it (which answers "already Microsoft365": no service recorded counts as the target's).

The pass takes the unrecorded mailbox's links as the new service's (`state.service is None`: no relink) and sends
the EWS item id of the person's Outlook room meeting whose tagging write was lost (`pending-update`, untagged) to
Graph. What follows depends on the characters of that id (seen in repeated runs): Graph answers 404 and the first
Graph pass CANCELS the meeting in Exchange ("1 duplicates removed", one events.cancel; the attendees get a
cancellation, the room is freed) while ROOMS still shows booking 1 active and linked; or Graph answers 400
"Resource not found for the segment …" and EVERY pass fails on the booking, for good. Without the switch (no
service recorded, EWS pass) and with the switch when the service is recorded (the heal path, `_relink`) the meeting and its booking
stay (checked)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, answer, bookings, links, live, outlook_new

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("switch", ["sync.backend", "persons set", "persons set, sync migrate"])
def test_review24t_a_switch_of_a_mailbox_with_no_service_recorded_keeps_its_outlook_meeting(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, switch: str
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
    # Synced before schema 10: the migration to v10 leaves the service NULL (migrations._v9_to_v10).
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE mailbox_sync SET service = NULL")

    if switch == "sync.backend":  # README: sends the O365 persons over Graph too
        env = {**env, "ROOMSOPS_SYNC_BACKEND": "graph"}
    else:
        ok(invoke("persons", "set", diego, "--sync-mode", "Microsoft365", env=env))
    if switch == "persons set, sync migrate":
        ok(invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env))
    invoke("sync", env=env)
    last = invoke("sync", env=env)
    subjects = [m["subject"] for m in live(lab, diego)]
    # The meeting not cancelled in Exchange, its booking active, and the passes not failing on an EWS id.
    assert (subjects, last.code) == (["Own workshop"], 0), last.out
    assert {i: b["status"] for i, b in bookings(invoke, env).items()} == {1: "active"}

"""review20p: a room's accept that arrives while Exchange no longer accepts the mailbox's EWS sync state is never read.

Steps: DiegoS (O365) has booking 1 in Zürich, written by a pass; Zürich has not answered yet (`room-pending`).
Exchange then refuses the stored SyncFolderItems state (ErrorInvalidSyncStateData: an expired or corrupt state, here
one of another generation written into the store); Zürich accepts; three passes (the first a recovery).

Expected (issue 20 Deliver 1: "each pass that sees the organizer's copy change reads the room attendee's response
(it arrives late); `accepted` confirms the booking"; docs/sync.md: the recovery's full reconciliation loses nothing
the stored position would have shown): booking 1 is `linked`, nothing reported.

Before fix20q: the recovery pass reads a linked meeting only when its revision, its fields or a *decline* differ from the
link (`_reconcile_by_tag`, `_answer_unread`); the accept changes none of these, and the new position starts after
it. Every later pass says "room-pending: booking 1 (Planning): the room ... has not answered its meeting (its
calendar does not hold the slot)", and `bookings list` / `sync diff` say room-pending, though Zürich holds the slot,
until some other change of the meeting. The same over Graph after a 410 or `sync migrate`:
test_review24m_answer_after_recovery.py.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, room_problems

pytestmark = pytest.mark.integration


def test_review20p_a_rooms_accept_read_by_a_recovery_pass_over_ews_confirms_the_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["sync"] == "room-pending"  # the premise: not answered yet
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:  # a SyncFolderItems state Exchange no longer accepts
        stale = json.dumps({"g": "0000000000000000", "s": 1})
        db.execute("UPDATE mailbox_sync SET sync_state = ? WHERE mailbox = ?", (stale, diego))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    recovery = json.loads(invoke("--json", "sync", env=env).out)["mailboxes"][0]
    assert recovery["pass_kind"] == "full", recovery  # the state was refused: a recovery
    runs = [invoke("sync", env=env) for _ in range(2)]
    assert all(r.code == 0 for r in runs), [r.out + r.err for r in runs]
    assert (bookings(invoke, env)[1]["sync"], room_problems(invoke, env)) == ("linked", {}), runs[-1].out

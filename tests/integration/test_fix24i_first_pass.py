"""fix24i: a pass from no position reads the window's untagged meetings, over EWS and Graph alike.

A position from scratch shows no meeting (the port: `changes(mailbox, None)` returns only a state), and a mailbox
without links needs no reconciliation by tag, so before this fix an Outlook room meeting that existed before the
person joined the sync (or before their stored position was found invalid) was booked only by `sync --full`.
docs/sync.md ("The full reconciliation": "A first pass of a mailbox without links needs none"; the untagged
meetings of the window are discovered from the first pass) and issue 24 ("must sync from day one")."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, outlook_new, sync

pytestmark = pytest.mark.integration

MODES = ["O365", "Microsoft365"]


def titles(invoke: Invoke, env: dict[str, str]) -> list[str]:
    return [b["title"] for b in json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]]


@pytest.mark.parametrize("mode", MODES)
def test_fix24i_an_outlook_room_meeting_made_before_the_person_joined_is_booked_by_the_first_pass(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    assert mailboxes[diego]["bookings_created"] == 1, mailboxes
    assert titles(invoke, env) == ["Planning"]
    # The meeting is the booking's now (tagged): the next pass books nothing again.
    code, mailboxes = sync(invoke, env)
    assert (code, mailboxes[diego]["bookings_created"]) == (0, 0), mailboxes
    assert titles(invoke, env) == ["Planning"]


@pytest.mark.parametrize("mode", MODES)
def test_fix24i_after_an_invalid_position_the_windows_untagged_meetings_are_read_again(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """review24i doubt 5: a mailbox without links whose stored position the service no longer accepts starts over
    from no position; what Outlook made meanwhile is found by the window's read, not lost."""
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    assert sync(invoke, env)[0] == 0  # a position stored, no link
    outlook_new(lab, diego, "Planning", DAY, resources=[zurich])
    assert lab.admin("POST", "/lab/room-answers/process").status_code == 200
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(
        path
    ) as conn:  # a position neither EWS nor Graph accepts (ErrorInvalidSyncStateData)
        assert (
            conn.execute("UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//'").rowcount
            == 1
        )
    code, mailboxes = sync(invoke, env)
    assert code == 0, mailboxes
    assert mailboxes[diego]["bookings_created"] == 1, mailboxes
    assert titles(invoke, env) == ["Planning"]

"""fix20l: `sync resolve --use exchange` that writes nothing keeps the room's answer it read (review20i's minor
finding: `resolve._record` dropped the snapshot's answer times, so the booking read `room-pending` until the next
pass read the meeting again, though the room had accepted). Against the lab, over EWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_fix20e_leaving_resolve import answer, booked, live

pytestmark = pytest.mark.integration


def test_resolve_that_writes_nothing_keeps_the_rooms_accept(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting in Zürich (accepted, read); in Outlook its room and location become Bern; Bern
    accepts; a pass records the room difference; `sync resolve 1 --use exchange` (the meeting already holds
    Exchange's state: nothing written). Expected: booking 1 in Bern, `linked` (Bern's accept read by the resolve),
    nothing room-pending in `sync diff`."""
    diego, zurich, bern = addr("DiegoS"), addr("room-zurich"), addr("room-bern")
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", "O365", env=env))
    booked(invoke, env, diego, zurich, "Planning")
    ok(invoke("sync", env=env))
    assert answer(fresh_lab) == ["Accept"]
    ok(invoke("sync", env=env))
    (item,) = live(fresh_lab, diego)
    edit = {"resources": [bern], "location": "Bern"}
    assert (
        fresh_lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=edit).status_code
        == 200
    )
    assert answer(fresh_lab) == ["Accept"]
    invoke("sync", env=env)
    before = fresh_lab.requests().get("ews:UpdateItem", 0)
    ok(invoke("sync", "resolve", "1", "--use", "exchange", env=env))
    assert fresh_lab.requests().get("ews:UpdateItem", 0) == before  # nothing written
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [(b["room"].lower(), b["sync"]) for b in found] == [(bern.lower(), "linked")], found
    assert "room-pending" not in ok(invoke("sync", "diff", env=env)).out

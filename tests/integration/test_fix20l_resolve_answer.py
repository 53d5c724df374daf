"""fix20l: `sync resolve --use exchange` that writes nothing keeps the room's answer it read (review20i's minor
finding: `resolve._record` dropped the snapshot's answer times, so the booking read `room-pending` until the next
pass read the meeting again, though the room had accepted). Against the lab, over EWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_fix20e_leaving_resolve import _declined_in_bern

pytestmark = pytest.mark.integration


def test_resolve_that_writes_nothing_keeps_the_rooms_accept(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: DiegoS' synced meeting in Zürich (accepted, read); in Outlook its room and location become Bern; Bern
    accepts; a pass records the room difference; `sync resolve 1 --use exchange` (the meeting already holds
    Exchange's state: nothing written). Expected: booking 1 in Bern, `linked` (Bern's accept read by the resolve),
    nothing room-pending in `sync diff`."""
    bern = addr("room-bern")
    _declined_in_bern(invoke, fresh_lab, env, addr, {"resources": [bern], "location": "Bern"}, declines=False)
    before = fresh_lab.requests().get("ews:UpdateItem", 0)
    ok(invoke("sync", "resolve", "1", "--use", "exchange", env=env))
    assert fresh_lab.requests().get("ews:UpdateItem", 0) == before  # nothing written
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [(b["room"].lower(), b["sync"]) for b in found] == [(bern.lower(), "linked")], found
    assert "room-pending" not in ok(invoke("sync", "diff", env=env)).out

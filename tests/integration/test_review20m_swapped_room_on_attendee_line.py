"""review20m: Outlook replaces the booked room by another ROOMS room listed on the To or Optional line, with a room
ROOMS does not manage on the Resources line (issue 20 item 4, docs/sync.md "One synced room per meeting"), against
the lab, over EWS and over Microsoft Graph.

fix20l finds the booked room on any line, books a new Outlook meeting's ROOMS room wherever it is listed, and reads a
swapped-in room as "the first resource that is a ROOMS room, never a room ROOMS does not manage listed before it".
But the swapped-in ROOMS room is looked for on the Resources line only: here the pass reads Lobby (not a ROOMS room)
as the meeting's room ("room changed" to Lobby) and Bern as a person ("attendees changed": Bern), `sync resolve 1
--use exchange` refuses ("room-lobby ... is not a ROOMS room"), and nothing says that Bern, a ROOMS room, accepted
and holds the slot in Exchange only.

Why it is wrong: issue 20 Deliver 4 ("every resource and required attendee is examined"; a ROOMS room is never held in
Exchange only unreported); the same meeting made new in Outlook is booked in Bern.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20m_optional_room_moved import edited_in_outlook

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("line", ["attendees", "optional_attendees"])
@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_outlook_swap_to_a_rooms_room_on_an_attendee_line_is_that_rooms_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str, line: str
) -> None:
    """Steps: Zürich and Bern are ROOMS rooms, Lobby is a room ROOMS does not manage. DiegoS (`mode`) has booking 1
    in Zürich made in ROOMS; synced, Zürich accepted. In Outlook DiegoS replaces Zürich by Lobby on the Resources
    line and adds Bern on the `line` line; both accept; two passes; `sync resolve 1 --use exchange`.
    Expected: the pass reads Bern as the room Outlook chose (the difference "room changed" to Bern), and the resolve
    books Bern. Actual: the difference is "room changed" to Lobby; the resolve refuses (exit 2); Bern holds the
    slot, unreported."""
    diego, bern, lobby = addr("DiegoS"), addr("room-bern"), addr("room-lobby")
    edit = {"resources": [lobby], line: [bern]}
    edited_in_outlook(invoke, fresh_lab, env, addr, mode, edit, rooms=[bern], lab_rooms=[lobby])
    assert answers(fresh_lab) == {bern.lower(): "Accept", lobby.lower(): "Accept"}
    runs = [invoke("sync", env=env) for _ in range(2)]
    assert len(organized(fresh_lab, bern, diego)) == 1  # Bern holds the slot
    said = ok(invoke("sync", "diff", env=env)).out
    resolved = invoke("sync", "resolve", "1", "--use", "exchange", env=env)
    found = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (resolved.code, [b["room"].lower() for b in found]) == (0, [bern.lower()]), (
        [r.out for r in runs],
        said,
        resolved.out + resolved.err,
    )

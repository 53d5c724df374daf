"""review20i: a ROOMS room change of a booking whose room Outlook moved from the Resources line to the To line
(issue 20 item 4, docs/sync.md "One synced room per meeting"), against the lab, over EWS and over Microsoft Graph.

docs/sync.md: "On a synced meeting, the booking's room listed as a required attendee (moved in Outlook from the
Resources line to the To line) is still its room" and "A room write replaces only this room ... never takes another
room off the meeting". When the administrator then moves the booking from Zürich to Genf in ROOMS, the write puts
Genf on the meeting but leaves Zürich on the To line: Zürich keeps holding the slot ROOMS now thinks free, and every
pass reports the booking's *old* room as "a second ROOMS room ... holds the slot in Exchange only" (exit 1) for a
change made in ROOMS alone. With Bern (a room ROOMS does not manage) on the Resources line, the write replaces
*Bern* by Genf: Bern is taken off the meeting.

Why it is wrong: issue 20 Deliver 2/4 (the one synced room replaced wherever it is listed; other resources left as they
are); review20f's rule that a room write never takes another room off the meeting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20i_room_pending import DAY, book

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "with_bern",
    [
        False,
        True,
    ],
)
@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
def test_a_rooms_room_move_replaces_the_booked_room_listed_on_the_to_line(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str, with_bern: bool
) -> None:
    """Steps: Zürich and Genf are ROOMS rooms, Bern is not. DiegoS (`mode`) has booking 1 in Zürich made in ROOMS;
    synced, Zürich accepted. In Outlook DiegoS moves Zürich from the Resources line to the To line (the Resources
    line then holds Bern when `with_bern`, else nothing); two passes (no difference: checked). The administrator
    moves booking 1 to Genf; three passes, room answers processed after each.
    Expected: the meeting lists Genf (and Bern when `with_bern`), not Zürich; Zürich holds nothing, Genf holds it.
    Actual (with Bern): Bern is taken off the meeting."""
    diego, zurich, bern, genf = addr("DiegoS"), addr("room-zurich"), addr("room-bern"), addr("room-genf")
    made = fresh_lab.admin("POST", "mailboxes", json={"email": genf, "kind": "room"})
    assert made.status_code in (200, 201), made.text
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", genf, "--name", "Genf", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    book(invoke, env, diego, zurich, DAY + timedelta(hours=2), "Planning")
    for _ in range(2):
        ok(invoke("sync", env=env))
        answers(fresh_lab)
    (item,) = organized(fresh_lab, diego, diego)
    edit = {"resources": [bern] if with_bern else [], "attendees": [zurich]}
    assert (
        fresh_lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{item['id']}", json=edit).status_code
        == 200
    )
    answers(fresh_lab)
    for _ in range(2):
        ok(invoke("sync", env=env))
        answers(fresh_lab)
    assert "no open differences" in ok(invoke("sync", "diff", env=env)).out  # Zürich is still its room
    ok(invoke("bookings", "update", "1", "--room", genf, env=env))
    runs = []
    for _ in range(3):
        runs.append(invoke("sync", env=env))
        answers(fresh_lab)
    (item,) = organized(fresh_lab, diego, diego)
    listed = sorted(r["email"].lower() for key in ("resources", "required_attendees") for r in item[key])
    holding = (len(organized(fresh_lab, zurich, diego)), len(organized(fresh_lab, genf, diego)))
    expected = sorted([genf.lower(), *([bern.lower()] if with_bern else [])])
    assert (listed, holding) == (expected, (0, 1)), [r.out for r in runs]

"""review24m: a room's accept that arrives while the mailbox's Graph position is lost is never read.

Steps: DiegoS has booking 1 in Zürich, written by a pass; Zürich has not answered yet (`room-pending`). Then the
mailbox's position is lost before the next pass — either Graph forgets the delta state (410 syncStateNotFound,
`how` = expire) or the person is moved with `sync migrate --to graph` (which forgets the EWS position, `how` =
migrate). Zürich accepts. Three passes over Graph.

Expected (issue 20 Deliver 1: "each pass that sees the organizer's copy change reads the room attendee's response
(it arrives late); `accepted` confirms the booking"; docs/sync.md: the full reconciliation of a pass from no
position loses nothing the stored position would have shown): booking 1 is `linked`, nothing reported.

Before fix20q: the first pass over Graph is a full reconciliation that reads the meeting only when its revision, its
fields or a *decline* differ from the link (`_answer_unread` looks for a decline only); the accept changes none of
these, so the meeting is not read and the new delta position starts after the answer. Every later pass says
"room-pending: booking 1 (Planning): the room ... has not answered its meeting (its calendar does not hold the
slot)", `bookings list` and `sync diff` say room-pending, although Zürich's calendar holds the slot — until some
other change of the meeting. (`sync --full` over EWS and Graph reads it: the difference is the recovery pass.)
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, answer, bookings, room_problems

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["expire", "migrate"])
def test_review24m_a_rooms_accept_read_by_a_recovery_pass_over_graph_confirms_the_booking(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, how: str
) -> None:
    lab = fresh_lab
    diego, zurich = addr("DiegoS").lower(), addr("room-zurich").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    mode = "Microsoft365" if how == "expire" else "O365"
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    ok(invoke("sync", env=env))
    assert bookings(invoke, env)[1]["sync"] == "room-pending"  # the premise: not answered yet
    if how == "expire":
        assert lab.admin("POST", "graph/delta/expire").status_code == 200
    else:
        ok(invoke("sync", "migrate", "--to", "graph", "--person", diego, env=env))
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    runs = [invoke("sync", env=env) for _ in range(3)]
    assert all(r.code == 0 for r in runs), [r.out + r.err for r in runs]
    assert (bookings(invoke, env)[1]["sync"], room_problems(invoke, env)) == ("linked", {}), runs[-1].out

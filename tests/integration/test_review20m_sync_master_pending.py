"""review20m: the pass that removes a Sync-Master second room from a synced meeting says the booked room "has not
answered its meeting (its calendar does not hold the slot)" although the room accepted and holds the slot (issue 20
Deliver 1 and 4, docs/sync.md `room-pending`), against the lab.

Over Microsoft Graph only (EWS passes). DiegoS's ROOMS booking in Zürich is synced and accepted. In Outlook he moves Zürich to the To line and adds Bern (a
Sync-Master ROOMS room) as the resource; both accept. The next pass removes Bern (only Bern is told: Zürich is not
asked again) and, in the same summary, reports `room-pending: booking 1 ... the room room-zurich ... has not answered
its meeting (its calendar does not hold the slot)` — a false warning (Zürich's calendar holds the slot); the next pass
says nothing. The removal write's snapshot drops the answer times the pass had just read.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke
from tests.integration.test_review20g_room_change_faults import answers, organized
from tests.integration.test_review20m_optional_room_moved import edited_in_outlook

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("line", ["attendees", "optional_attendees"])
@pytest.mark.parametrize(
    "mode",
    [
        "O365",  # a regression guard: over EWS no false room-pending
        "Microsoft365",  # failed before fix20n: the Graph PATCH reset Zürich's answer (lab)
    ],
)
def test_a_sync_master_removal_does_not_call_the_accepted_booked_room_pending(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, mode: str, line: str
) -> None:
    """Steps: Zürich is a ROOMS room, Bern a Sync-Master ROOMS room; DiegoS (`mode`) has booking 1 in Zürich made in
    ROOMS; two passes, Zürich accepted. In Outlook: Bern on the Resources line, Zürich on the `line` line; both
    accept. A pass (removes Bern). Expected: Bern removed, Zürich holds the slot, no room-pending line for Zürich.
    """
    diego, zurich, bern = addr("DiegoS"), addr("room-zurich"), addr("room-bern")
    edit = {"resources": [bern], line: [zurich]}
    diego = edited_in_outlook(invoke, fresh_lab, env, addr, mode, edit, sync_master=[bern])
    assert answers(fresh_lab) == {zurich.lower(): "Accept", bern.lower(): "Accept"}
    run = invoke("sync", env=env)
    assert "removed from the meeting (sync master)" in run.out, run.out
    assert len(organized(fresh_lab, zurich, diego)) == 1  # Zürich's calendar holds the slot
    assert "room-pending" not in run.out, run.out

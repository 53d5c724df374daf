"""review24b: over Graph a ROOMS change of the room or the attendees drops the meeting's optional attendees.

Steps: DiegoS's booking is synced and the room accepts; in Outlook Diego adds MeganB as an optional attendee (a
pass reads it: nothing to apply, ROOMS has no optional attendees). Then the booking is moved to another room, or
its attendees are changed, in ROOMS; one pass writes it.

Expected (the same as over EWS, where the test passes; issue 24: "the same tests as EWS, parametrised by backend";
docs/sync.md: a ROOMS write rewrites "only the fields that differ", and I2 "no lost change"): the optional
attendee Outlook added stays on the meeting.

Actual over Graph (Microsoft365): the backend writes `room` and `attendees` as Graph's one `attendees` collection,
built from the required attendees and the room only; the PATCH replaces the whole collection, so MeganB is taken
off the meeting (and told so) without a word in the summary, `sync diff` or the log."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper
from .test_sync_rooms20_a import DAY, add_booking, addresses, answer, live, sync

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", ["O365", "Microsoft365"])
@pytest.mark.parametrize("change", ["room", "attendees"])
def test_an_optional_attendee_added_in_outlook_survives_a_rooms_change(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str, change: str
) -> None:
    lab = fresh_lab
    diego, zurich, bern = addr("DiegoS").lower(), addr("room-zurich").lower(), addr("room-bern").lower()
    megan, adele = addr("MeganB").lower(), addr("AdeleV").lower()
    ok(invoke("rooms", "add", zurich, "--name", "Zürich", env=env))
    ok(invoke("rooms", "add", bern, "--name", "Bern", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    add_booking(invoke, env, diego, zurich, DAY, "Planning")
    assert sync(invoke, env)[0] == 0
    answer(lab)
    assert sync(invoke, env)[0] == 0
    (meeting,) = live(lab, diego)
    edit = {"optional_attendees": [megan]}
    assert (
        lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{meeting['id']}", json=edit).status_code == 200
    )
    assert sync(invoke, env)[0] == 0

    if change == "room":
        ok(invoke("bookings", "update", "1", "--room", bern, env=env))
    else:
        ok(invoke("bookings", "update", "1", "--attendee", adele, env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["updated"]) == (0, 1), found
    (meeting,) = live(lab, diego)
    assert addresses(meeting["optional_attendees"]) == [megan]
    assert addresses(meeting["resources"]) == [bern if change == "room" else zurich]

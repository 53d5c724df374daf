"""review19x: an occurrence moved in ROOMS while Outlook deleted it fails every pass for good, and the remedy fails too.

What happens (EWS and Graph alike): a synced weekly series; in ROOMS `bookings update --occurrence 2027-04-05` moves
that occurrence to 15:00, and in Outlook the organizer deletes the same occurrence, before the next pass. Every pass
then fails the booking with a raw backend answer — EWS: "EWS answered ErrorCalendarOccurrenceIsDeletedFromRecurrence:
The occurrence was deleted from the recurrence."; Graph: "update: the series has no occurrence at
2027-04-05T07:00:00Z to write" — the link stays `pending-update`, and `sync diff` offers `sync resolve --use
rooms`, which fails the same way (exit 1, "Error: ..." without a remedy). ROOMS holds the room on 2027-04-05
15:00-16:00 while neither the organizer's nor the room's calendar has that occurrence: nothing converges, ever.

What Exchange/ROOMS would do: docs/sync.md / issue 19 item 5: a field both sides changed is ROOMS' ("ROOMS wins") and
the pass writes the booking; docs/series.md "Conflicts and differences of a series": `--use rooms` "rewrites the
meeting from the booking". Exchange cannot update a deleted occurrence (ews-ref/responsecode:
ErrorCalendarOccurrenceIsDeletedFromRecurrence; Graph has no instance left to PATCH), but a series written again
with its recurrence (as roomsops does for a new pattern, issue 25 item 2: "changing the pattern re-writes the series
and re-applies surviving exceptions") brings every occurrence back — so ROOMS' side can be written. Alternatively the
engine could take Outlook's deletion (a conflict for the conflict behaviour). Either way a pass must settle it, and
an error must name a remedy that works (project rule: "Error: <problem> — <remedy>").

Why it matters: an organizer deleting one occurrence ("no jour fixe at Easter") while the room manager moves it in
ROOMS is ordinary; afterwards the booking is stuck for good (I5 convergence), every sync run exits 1 and the slot
ROOMS holds is free in Exchange (I2).
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import shown
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.xfail(
    strict=True,
    reason="review19x: a ROOMS move of an occurrence Outlook deleted fails every pass and `resolve --use rooms`",
)
@pytest.mark.parametrize("mode", MODES)
def test_review19x_an_occurrence_moved_in_rooms_and_deleted_in_outlook_settles(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    moved = ["--occurrence", "2027-04-05", "--start", "2027-04-05T15:00", "--end", "2027-04-05T16:00"]
    ok(invoke("bookings", "update", str(series), *moved, env=env))
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-04-05')}")
    assert gone.status_code == 200, gone.text
    answer(lab)
    for _ in range(2):
        sync(invoke, env)
        answer(lab)
    # Whatever the two passes made of it, the remedy `sync diff` names for ROOMS' side works.
    resolved = invoke("sync", "resolve", str(series), "--use", "rooms", env=env)
    answer(lab)
    code, found = sync(invoke, env)
    answer(lab)
    assert (resolved.code, code, found[diego]["failures"]) == (0, 0, []), (resolved.err, found[diego])
    assert links(env)[series][0] == "linked", links(env)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    booked = [
        (o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z"))
        for o in rows
        if o["status"] == "active"
    ]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == booked, mailbox

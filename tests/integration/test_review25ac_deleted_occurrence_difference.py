"""review25ac: a difference naming only an occurrence Outlook deleted since stays open when ROOMS has an unwritten
change of the series at the pass that takes the deletion.

What happens (EWS and Graph alike): a synced weekly series; Outlook moves Mon 2027-03-22 to Tue 14:00 while ROOMS
retitles the occurrence of 2027-03-29: the pass records Outlook's move as a difference naming only
`occurrence:2027-03-22…`. Then ROOMS retitles the series (a change not yet written) and the organizer deletes the
2027-03-22 occurrence in Outlook. The next pass takes the deletion (`_take_outlook_deletions`: cancelled in ROOMS,
deleted on both calendars) — but fix25ab's `_settle_deleted_occurrences` runs only on the path of an Outlook edit
taken when ROOMS changed nothing, so here the difference stays open: `sync diff` keeps showing "Exchange: moved to
Tue 14:00" for an occurrence neither side has, and `sync resolve` still has it to settle.

What should be (CHANGELOG fix25ab: "The pass that takes Outlook's deletion of an occurrence closes a difference
naming only that occurrence"): closed by that pass whichever path took the deletion — `sync resolve --use exchange`
then has no open difference (as in `test_fix25ab_the_pass_taking_the_deletion_settles_a_difference_naming_only_that
_occurrence`, where ROOMS changed nothing in between)."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_fix25b_series_conflicts import move_in_outlook
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_the_pass_taking_the_deletion_beside_a_rooms_change_settles_the_difference_of_that_occurrence(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-29", "--title", "Retro", env=env))
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 1), found[diego]
    ok(
        invoke("bookings", "update", str(series), "--title", "Weekly sync", env=env)
    )  # unwritten at the deletion
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}")
    assert gone.status_code == 200, gone.text
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["status"] for o in rows if o["original_start"].startswith("2027-03-22")] == ["cancelled"], rows
    resolved = invoke("sync", "resolve", str(series), "--use", "exchange", env=env)
    assert resolved.code == 2 and "has no open difference" in resolved.err, (resolved.code, resolved.out)

"""review25aa: `sync resolve --use exchange` of a series difference naming an occurrence Outlook deleted since fails
with the raw backend error (exit 1) and still changes ROOMS: it books the room again at a time no calendar has.

What happens (EWS and Graph alike): a synced weekly series; Outlook moves Mon 2027-03-22 to Tue 2027-03-23 14:00 and
retitles the series "Review" while ROOMS retitles it "Weekly": the pass writes ROOMS' series (the move set back) and
records Outlook's edit as one difference (`review25e.both_changed`). Then the organizer deletes the 2027-03-22
occurrence in Outlook; the next pass cancels it in ROOMS — but the difference stays open, and `sync diff` still shows
it as "ROOMS: 09:00–10:00 … Exchange: moved to Tue 2027-03-23 14:00–15:00". The administrator picks Outlook's side:
`sync resolve 1 --use exchange` takes the difference's recorded state, sets the cancelled occurrence active at
2027-03-23 14:00 in ROOMS (committed), then writes the series onto an occurrence Exchange no longer has — EWS:
"Error: …: EWS answered ErrorCalendarOccurrenceIsDeletedFromRecurrence: …"; Graph: "Error: …: update: the series has
no occurrence at 2027-03-22T08:00:00Z to write" — exit 1, no remedy. ROOMS now holds the room on Tuesday 14:00
while neither the organizer's nor the room's calendar has that occurrence (until a later pass takes the deletion
again and reports ROOMS' "move" — the resolve's own — as dropped). fix19z made `--use rooms` refuse this case
(`resolve._refuse_deleted_occurrences`), not `--use exchange`.

What should be (project rule; docs/series.md): `--use exchange` takes Exchange's state as it is now (the occurrence
deleted: cancelled) or refuses in one line `Error: <problem> — <remedy>`, exit 2, nothing changed. Either way ROOMS
never holds the room at a time Exchange has no occurrence."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_fix25b_series_conflicts import move_in_outlook
from tests.integration.test_review25e_series_resolve import both_changed
from tests.integration.test_series_from_exchange import MODES, occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_resolve_use_exchange_of_an_occurrence_deleted_since_changes_nothing_or_takes_the_deletion(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    both_changed(invoke, env, lab, diego, series)
    answer(lab)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}")
    assert gone.status_code == 200, gone.text
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    resolved = invoke("sync", "resolve", str(series), "--use", "exchange", env=env)
    answer(lab)
    assert resolved.code in (0, 2), (resolved.code, resolved.err)
    if resolved.code == 2:
        assert resolved.err.startswith("Error: ") and " — " in resolved.err, resolved.err
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    monday = [(o["start"], o["status"]) for o in rows if o["original_start"].startswith("2027-03-22")]
    assert [status for _, status in monday] == ["cancelled"], monday
    others = [wall(day) for day in ("2027-03-15", "2027-03-29", "2027-04-05", "2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == others, mailbox


@pytest.mark.parametrize("mode", MODES)
def test_fix25ab_the_pass_taking_the_deletion_settles_a_difference_naming_only_that_occurrence(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """The pass that takes Outlook's deletion closes a difference that names only that occurrence (both sides agree
    now): nothing is left for `sync resolve --use exchange` to bring back (fix25ab)."""
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-29", "--title", "Retro", env=env))
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 1), found[diego]
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}")
    assert gone.status_code == 200, gone.text
    code, found = sync(invoke, env)
    answer(lab)
    assert (code, found[diego]["failures"]) == (0, []), found[diego]
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["status"] for o in rows if o["original_start"].startswith("2027-03-22")] == ["cancelled"], rows
    resolved = invoke("sync", "resolve", str(series), "--use", "exchange", env=env)
    assert resolved.code == 2 and "has no open difference" in resolved.err, (resolved.code, resolved.err)

"""review25v: after ErrorInvalidSyncStateData the recovery loses the Outlook edits of a series' occurrences.

Issue 19 bug 5 and item 3, for series: after an invalid sync state, a full reconciliation compares every linked
meeting field by field before the new state is stored. A synced weekly series; in Outlook one occurrence is deleted
and another moved a day and retitled; then the stored position is invalid (as test_fix20h makes it). The recovery
pass (pass_kind "full") counts the series unchanged and stores the new position: ROOMS keeps every occurrence
active at its old time, while the organizer's and the room's calendars have the one deleted and the other moved —
for good, later passes see nothing (I2, I5). A whole-series edit (new time, new title) is recovered; the
exceptions are not.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.conftest import Invoke
from tests.integration.test_series_from_exchange import occurrence_id, series_of, synced_series
from tests.integration.test_series_sync import local, shown, z
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_review25v_the_recovery_from_an_invalid_sync_state_keeps_outlooks_occurrence_edits(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr
) -> None:
    lab = fresh_lab
    diego, room, series = synced_series(invoke, env, lab, addr, "O365")
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-29')}")
    assert gone.status_code == 200, gone.text
    moved = {"subject": "Review", "start": z(local("2027-04-06T11:00")), "end": z(local("2027-04-06T12:00"))}
    target = occurrence_id(lab, diego, "2027-04-05")
    assert lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{target}", json=moved).status_code == 200
    answer(lab)
    path = env["ROOMSOPS_ROOMS_DATABASE"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:  # a position Exchange no longer knows: ErrorInvalidSyncStateData
        conn.execute("UPDATE mailbox_sync SET sync_state = 'H4sIAAAAAAAEAAtJLS5RSEksSQQAAP//'")
    code, found = sync(invoke, env)
    assert (code, found[diego]["pass_kind"]) == (0, "full"), found[diego]
    answer(lab)
    sync(invoke, env)
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["status"] for o in rows] == ["active", "active", "cancelled", "active", "active"], rows
    assert rows[3]["changes"] == {"title": "Review"}, rows[3]
    booked = [
        (o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z"))
        for o in rows
        if o["status"] == "active"
    ]
    assert shown(lab, room, "2027-03-10T00:00", "2027-04-25T00:00") == booked
    # The series as recovered is what the snapshot records: a later full pass compares it as unchanged (fix19w).
    again = json.loads(invoke("--json", "sync", "--full", env=env).out)["mailboxes"][0]
    assert (again["unchanged"], again["exchange_edits"], again["updated"]) == (1, 0, 0), again

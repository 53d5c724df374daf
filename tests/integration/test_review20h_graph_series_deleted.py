"""review20h: a ROOMS series deleted in Outlook by a person synced over Microsoft Graph (issue 20 item 7 / Deliver
6, with the series sync of issue 25 merged since), against the lab.

DiegoS (Microsoft365) has booking 1, a daily series made in ROOMS starting two days ahead, synced and accepted by
Zürich. He deletes the series in Outlook — with a cancellation, the ordinary delete. Two passes say nothing
(`bookings_cancelled` 0, exit 0) and `bookings list` keeps booking 1 `linked`, active: the deletion is never read.
ROOMS holds the room for a meeting that no longer exists (the same delete over EWS cancels the booking). Deleting
without a cancellation gives the same, and the room keeps the series too.

Why it is wrong: docs/sync.md — a synced meeting deleted in Outlook cancels its booking (issue 20 item 7: "Outlook
delete ... cancels the booking", Deliver 6); docs/series.md lists only a deleted *occurrence* as not read, not the
series; `linked` means "its meeting is in Exchange as synced".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.integration.helpers import answer_rooms, live, synced_standup_series

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("cancel", ["true", "false"])
def test_a_series_deleted_in_outlook_over_graph_cancels_its_booking(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, cancel: str
) -> None:
    """Steps: Zürich is a ROOMS room; DiegoS (Microsoft365) has booking 1 made in ROOMS, "Standup" daily from two
    days ahead, six occurrences; synced, Zürich accepted, a quiet pass. DiegoS deletes the series in Outlook
    (cancel=`cancel`); two passes. Expected (as over EWS): booking 1 cancelled. Actual: active, linked."""
    diego, _zurich = synced_standup_series(invoke, fresh_lab, env, addr, "Microsoft365", days=2)
    (item,) = live(fresh_lab, diego, diego)
    deleted = fresh_lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{item['id']}?cancel={cancel}")
    assert deleted.status_code == 200, deleted.text
    assert live(fresh_lab, diego, diego) == []  # gone from the calendar
    runs = [invoke("--json", "sync", env=env)]
    answer_rooms(fresh_lab)
    runs.append(invoke("--json", "sync", env=env))
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert booking["status"] == "cancelled", (booking["sync"], [r.out for r in runs])

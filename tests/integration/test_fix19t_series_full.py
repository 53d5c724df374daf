"""fix19t: soak seed 37002 (the 10-minute soak s37000 on fix19t; docs/sync-checker.md, "fix19t"): "I5: room
room-zurich holds 2026-12-09T10:00:00Z–2026-12-09T11:00:00Z (AdeleV…): no booking, and no pass reported why (meeting
"Series 5 Zoë's plan" …)". An engine gap, not fixed here.

Shrunk to three steps: an Outlook series by AdeleV inviting Zürich (`outlook_room_series(op='create')`), the room's
answer (`room_answers`: Zürich accepts), and `invalid_sync_state` (a full reconciliation). An incremental pass books
such a series (docs/series.md, "An Outlook series inviting a ROOMS room"); the full reconciliation's discovery looks
only at untagged single items (EWS `find_untagged`: a CalendarView keeps type Single; `_discover` drops recurring
ones), so after a reset position a series made since the last pass is never booked nor reported. Without the room's
answer the settle's answer processing changes the series, an incremental pass reads it and books it. Fixing it
needs the discovery to find series masters from the view's occurrences over EWS and Graph.

series36 fixed it: the discovery reads the masters of untagged series too (EWS: SyncFolderItems' masters as
candidates, a CalendarView's occurrences' t:RecurringMasterItemId; Graph: an occurrence's `seriesMasterId`), over
both backends (parametrized here; `mixed` syncs AdeleV over EWS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.sync_checker.families import FAMILIES
from tests.sync_checker.machine import machine_for

pytestmark = [pytest.mark.integration]


@pytest.mark.parametrize("backend", ["ews", "graph"])
def test_an_outlook_series_made_before_a_reset_position_is_booked_or_reported(
    lab: Any, tmp_path: Path, backend: str
) -> None:
    state = machine_for(lab.lab, tmp_path, frozenset(FAMILIES), backend=backend)()
    state.outlook_room_series(
        day=4, hour=11, op="create", person="AdeleV", pick=0, room="room-zurich", which=2
    )
    state.room_answers()
    state.invalid_sync_state()
    state.settle()
    state.teardown()

"""review25v: a weekly series at 02:30-03:15 (Zürich) whose second occurrence falls on the night clocks go back.

On 2027-10-31 02:00-03:00 happens twice. ROOMS takes the first 02:30 (docs/series.md) and keeps the series'
duration, so its occurrence ends at 01:15Z (the second 02:15); Exchange expands the series by wall clock, so the
occurrence ends at 03:15 local, 02:15Z. ROOMS and both calendars then disagree on that occurrence's end by an hour,
for good: the first pass counts a phantom "Outlook edit" (exchange_edits 1, nothing changed), later passes and
`sync diff` see nothing (I5). Over EWS and Graph alike. The spring-forward night (02:30 does not exist) agrees.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Invoke
from tests.integration.test_series_from_exchange import MODES, series_of
from tests.integration.test_series_sync import setup, shown
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("mode", MODES)
def test_review25v_an_occurrence_in_the_repeated_hour_ends_where_exchange_ends_it(
    invoke: Invoke, env: dict[str, str], fresh_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = fresh_lab
    assert lab.admin("POST", "graph/reset").status_code == 200
    diego, room = setup(invoke, env, lab, addr, mode)
    times = ["--start", "2027-10-24T02:30", "--end", "2027-10-24T03:15", "--weekly", "sun", "--count", "3"]
    run = invoke(
        "--json", "bookings", "add", "--organizer", diego, "--room", room, "--title", "Night", *times, env=env
    )
    assert run.code == 0, run.err
    series = int(json.loads(run.out)["booking"]["id"])
    code, found = sync(invoke, env)
    assert (code, found[diego]["created"], found[diego]["exchange_edits"]) == (0, 1, 0), found[diego]
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    booked = [(o["start"].replace("+00:00", "Z"), o["end"].replace("+00:00", "Z")) for o in rows]
    assert shown(lab, diego, "2027-10-24T00:00", "2027-11-08T00:00") == booked

"""fix25b: a series changed on both sides (issue 25 item 4), over EWS and Graph, against the lab.

- ROOMS' own unwritten occurrence change is no Outlook edit when the meeting changed in Exchange by the room's answer
  alone (three-way against the link's snapshot, not against the booking): the pass writes ROOMS' series, no report;
- a real Outlook occurrence edit while ROOMS changed the series too is still reported, and ROOMS' series written.
"""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import MODES, occurrence_id, synced_series
from tests.integration.test_series_sync import book_series, setup, shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


@pytest.mark.parametrize("mode", MODES)
def test_fix25b_a_rooms_occurrence_move_after_the_rooms_answer_is_written_without_report(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--count", "3")
    assert sync(invoke, env)[0] == 0
    answer(lab)  # the meeting changes in Exchange (the room's answer), read by the next pass
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-29", "--yes", env=env))
    moved = ["--start", "2027-03-23T14:00", "--end", "2027-03-23T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *moved, env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 0), found
    assert found[diego]["updated"] == 1, found
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-01T00:00") == [
        wall("2027-03-15"),
        wall("2027-03-23", 14),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_fix25b_an_outlook_occurrence_move_while_rooms_changed_the_series_is_reported(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    moved = {"start": wall("2027-03-23", 14)[0], "end": wall("2027-03-23", 14)[1], "send": False}
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}", json=moved
    )
    assert edit.status_code == 200, edit.text
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-29", "--yes", env=env))
    code, found = sync(invoke, env)
    assert code == 1, found
    assert [
        f for f in found[diego]["failures"] if "edited in Outlook" in f and "changed in ROOMS too" in f
    ], found
    # ROOMS wins: its series is written (the Outlook move set back, its own cancellation a deleted occurrence).
    days = ["2027-03-15", "2027-03-22", "2027-04-05", "2027-04-12"]
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00") == [wall(d) for d in days]

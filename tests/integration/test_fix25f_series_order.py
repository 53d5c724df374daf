"""fix25f: an occurrence moves only between its neighbours as they stand (moved ones where they are now), in the lab
as in Exchange (ErrorOccurrenceCrossingBoundary), and the sync writes a series' exceptions in an order Exchange
accepts one write after the other — over EWS and Graph against the lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exchangelib.errors import ErrorOccurrenceCrossingBoundary
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, NumberedPattern, Recurrence

from tests.conftest import Invoke, ok
from tests.integration.test_fix25b_series_conflicts import move_in_outlook
from tests.integration.test_series_from_exchange import MODES, synced_series
from tests.integration.test_series_sync import shown, wall
from tests.integration.test_sync_rooms20_a import sync

from .conftest import Addr, LabHelper
from .test_lab_ews import MONDAY, EwsHelper, H, exchangelib_against
from .test_lab_series import series as lab_series
from .test_lab_series import stored, utc

pytestmark = pytest.mark.integration

DAY = 24 * H


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def test_an_occurrence_is_not_moved_onto_or_across_a_moved_neighbour(ews: EwsHelper) -> None:
    """Every other day from Monday (Mon, Wed, Fri, Sun). Friday's occurrence moved to Thursday: Wednesday's may no
    longer move to Thursday (the pattern's days alone allowed it: after Monday, before Friday), nor to Friday; Monday
    moved to Tuesday bounds Wednesday from below the same way. Within the moved neighbours' days it still moves."""
    diego = ews.account("DiegoS")
    daily = Recurrence(
        pattern=DailyPattern(interval=2), boundary=NumberedPattern(start=MONDAY.date(), number=4)
    )
    master = lab_series(diego, "Every other day", MONDAY, daily)
    master.save(send_meeting_invitations=SEND_TO_NONE)

    def move(index: int, start: object) -> None:
        occurrence = master.occurrence(index)
        occurrence.refresh()
        occurrence.start, occurrence.end = start, start + H  # type: ignore[operator]
        occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)

    move(3, MONDAY + 3 * DAY + 4 * H)  # Friday's to Thursday 13:00
    # onto Thursday (its new day), onto Friday (across it)
    for refused in (MONDAY + 3 * DAY, MONDAY + 4 * DAY):
        with pytest.raises(ErrorOccurrenceCrossingBoundary):
            move(2, refused)
    move(1, MONDAY + DAY)  # Monday's to Tuesday
    with pytest.raises(ErrorOccurrenceCrossingBoundary):
        move(2, MONDAY + DAY + 2 * H)  # onto Tuesday, after the moved Monday one
    move(2, MONDAY + 2 * DAY + 2 * H)  # Wednesday, later that day: between both moved neighbours' days
    window = (MONDAY - H, MONDAY + 8 * DAY)
    assert [i["start"] for i in stored(ews, "DiegoS", expand=window)] == [
        utc(MONDAY + DAY),
        utc(MONDAY + 2 * DAY + 2 * H),
        utc(MONDAY + 3 * DAY + 4 * H),
        utc(MONDAY + 6 * DAY),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_exceptions_are_written_in_an_order_exchange_accepts(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Outlook moves Mon 03-29 to Tue 03-23 while ROOMS moves Mon 03-22 to Wed 03-24: ROOMS wins, so the pass writes
    the 03-22 move and sets the 03-29 one back. Written in the series' order, the 03-22 move comes first and lands
    after the 03-29 occurrence where Exchange holds it then (Tue 03-23): refused (ErrorOccurrenceCrossingBoundary) on
    every pass. Setting 03-29 back first, then moving 03-22, is accepted."""
    lab = graph_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    move_in_outlook(lab, diego, "2027-03-29", "2027-03-23", 9)
    moved = ["--start", "2027-03-24T09:00", "--end", "2027-03-24T10:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *moved, env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 1), found
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00") == [
        wall("2027-03-15"),
        wall("2027-03-24"),
        *(wall(d) for d in ("2027-03-29", "2027-04-05", "2027-04-12")),
    ]

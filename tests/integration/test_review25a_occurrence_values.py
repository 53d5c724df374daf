"""review25a: a ROOMS occurrence's own values (issue 25 items 1-2) against the lab, over EWS and Graph."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_sync import (
    MODES,
    book_series,
    local,
    setup,
    z,
)
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def subjects(lab: LabHelper, mailbox: str, first: str, last: str) -> dict[str, str]:
    window = f"{z(local(first))},{z(local(last))}"
    found = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar?expand={window}").json()["items"]
    return {i["start"]: i["subject"] for i in found if i["type"] in ("Occurrence", "Exception")}


@pytest.mark.parametrize("mode", MODES)
def test_review25a_an_occurrence_with_its_own_reminder_syncs(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--count", "3")
    assert sync(invoke, env)[0] == 0
    answer(lab)
    assert sync(invoke, env)[0] == 0
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", "--reminder", "30", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    # Exchange holds the reminder on that occurrence alone (MS-OXOCAL 2.2.1.44.2, ARO_REMINDERDELTA).
    window = f"{z(local('2027-03-14T00:00'))},{z(local('2027-04-01T00:00'))}"
    items = lab.admin("GET", f"/lab/mailboxes/{diego}/calendar?expand={window}").json()["items"]
    reminders = {i["start"][:10]: i["reminder"] for i in items if i["type"] in ("Occurrence", "Exception")}
    assert reminders["2027-03-22"] == 30, reminders
    assert [m for day, m in reminders.items() if day != "2027-03-22"] == [None, None], reminders


@pytest.mark.parametrize("mode", MODES)
def test_review25a_a_series_title_reaches_an_occurrence_that_had_its_own(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--count", "3")
    assert sync(invoke, env)[0] == 0
    answer(lab)
    assert sync(invoke, env)[0] == 0
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", "--title", "Review", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    assert sorted(subjects(lab, diego, "2027-03-14T00:00", "2027-04-01T00:00").values()) == [
        "Jour fixe",
        "Jour fixe",
        "Review",
    ]
    # The whole series renamed: ROOMS drops the occurrence's own title (docs/series.md, "For the whole series").
    ok(invoke("bookings", "update", str(series), "--title", "Weekly", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    assert sorted(subjects(lab, diego, "2027-03-14T00:00", "2027-04-01T00:00").values()) == ["Weekly"] * 3


@pytest.mark.parametrize("mode", MODES)
def test_review25a_a_start_off_the_pattern_is_written_as_the_first_occurrence(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """--start on a Sunday for a series on Mondays: the master starts on the first Monday and its range starts that
    day (Graph: recurrenceRange.startDate "must be the same value as the start property of the recurring event")."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    book_series(invoke, env, diego, room, "2027-03-14T09:00", "--weekly", "mon", "--count", "2")
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    (master,) = [i for i in lab.admin("GET", f"/lab/mailboxes/{diego}/calendar").json()["items"]]
    assert master["type"] == "RecurringMaster"
    assert (master["start"], master["recurrence"]["start_date"][:10]) == (
        z(local("2027-03-15T09:00")),
        "2027-03-15",
    )
    assert sorted(subjects(lab, diego, "2027-03-14T00:00", "2027-03-30T00:00")) == [
        z(local("2027-03-15T09:00")),
        z(local("2027-03-22T09:00")),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_review25a_a_series_reminder_reaches_a_moved_occurrence_that_had_its_own(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """An occurrence moved with its own reminder stays an exception in ROOMS when the whole series gets a reminder:
    its own is dropped (docs/series.md), and its write carries the series' reminder."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--count", "3")
    assert sync(invoke, env)[0] == 0
    answer(lab)
    moved = ["--start", "2027-03-23T14:00", "--end", "2027-03-23T15:00", "--reminder", "30"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *moved, env=env))
    assert sync(invoke, env)[0] == 0
    ok(invoke("bookings", "update", str(series), "--reminder", "10", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    window = f"{z(local('2027-03-14T00:00'))},{z(local('2027-04-01T00:00'))}"
    items = lab.admin("GET", f"/lab/mailboxes/{diego}/calendar?expand={window}").json()["items"]
    held = {i["start"]: i["reminder"] for i in items if i["type"] in ("Occurrence", "Exception")}
    assert held == {
        z(local("2027-03-15T09:00")): 10,
        z(local("2027-03-23T14:00")): 10,
        z(local("2027-03-29T09:00")): 10,
    }

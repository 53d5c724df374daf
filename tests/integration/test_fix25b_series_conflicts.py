"""fix25b: a series changed on both sides (issue 25 item 4), over EWS and Graph, against the lab.

- ROOMS' own unwritten occurrence change is no Outlook edit when the meeting changed in Exchange by the room's answer
  alone (three-way against the link's snapshot, not against the booking): the pass writes ROOMS' series, no report;
- an Outlook edit of occurrences and series fields while ROOMS changed the series too: ROOMS' series written, Outlook's
  edit one difference per occurrence (by original start) and per series field, listed by `sync diff` and taken over
  by `sync resolve --use exchange`.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_series_from_exchange import (
    MODES,
    occurrence_id,
    occurrences,
    series_of,
    synced_series,
)
from tests.integration.test_series_sync import book_series, masters, setup, shown, wall
from tests.integration.test_sync_rooms20_a import answer, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def move_in_outlook(lab: LabHelper, mailbox: str, day: str, to_day: str, hour: int) -> None:
    """The organizer moves the series' occurrence of `day` to `to_day` at `hour` (Zürich) in Outlook, no notices."""
    moved = {"start": wall(to_day, hour)[0], "end": wall(to_day, hour)[1], "send": False}
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{mailbox}/calendar/{occurrence_id(lab, mailbox, day)}", json=moved
    )
    assert edit.status_code == 200, edit.text


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
def test_fix25b_both_sides_changed_a_series_is_a_difference_per_occurrence_and_series(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Outlook moves one occurrence and retitles the series while ROOMS retitles it too: ROOMS wins (its series
    written), Outlook's edit is one difference — "series subject" and the occurrence by its original start — that
    `sync diff` lists readably and `sync resolve --use exchange` takes over, occurrence included."""
    lab = graph_lab
    diego, _room, series = synced_series(invoke, env, lab, addr, mode)
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    (master,) = masters(lab, diego, diego)
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json={"subject": "Review"})
    assert edit.status_code == 200, edit.text
    ok(invoke("bookings", "update", str(series), "--title", "Weekly", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["differences"]) == (0, [], 1), (
        found,
        invoke("sync", "diff", env=env).out,
    )
    days = ["2027-03-15", "2027-03-22", "2027-03-29", "2027-04-05", "2027-04-12"]
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00") == [wall(d) for d in days]
    listed = json.loads(ok(invoke("--json", "sync", "diff", env=env)).out)["differences"]
    assert [(d["booking_id"], d["fields"]) for d in listed] == [
        (series, ["subject", "occurrence:" + datetime.fromisoformat(wall("2027-03-22")[0]).isoformat()])
    ]
    text = ok(invoke("sync", "diff", env=env)).out.splitlines()
    assert [line.split() for line in text[:3]] == [
        ["booking", str(series), f"({diego}):", "both", "changed", "(series)"],
        ["series", "subject", "ROOMS:", "Weekly", "Exchange:", "Review"],
        [
            "occurrence",
            "Mon",
            "2027-03-22",
            "09:00",
            "ROOMS:",
            "09:00–10:00",
            "Exchange:",
            "moved",
            "to",
            "Tue",
            "2027-03-23",
            "14:00–15:00",
        ],
    ], text
    ok(invoke("sync", "resolve", str(series), "--use", "exchange", env=env))
    held = series_of(invoke, env, series)
    assert held["title"] == "Review", held
    assert occurrences(held)[1] == (wall("2027-03-22")[0], wall("2027-03-23", 14)[0], "active"), held
    assert sync(invoke, env)[0] == 0
    moved_days = [wall("2027-03-15"), wall("2027-03-23", 14), *(wall(d) for d in days[2:])]
    assert shown(lab, diego, "2027-03-14T00:00", "2027-04-20T00:00") == moved_days
    assert subjects_of(lab, diego) == {"Review"}


def subjects_of(lab: LabHelper, mailbox: str) -> set[str]:
    return {m["subject"] for m in masters(lab, mailbox, mailbox)}


@pytest.mark.parametrize("mode", MODES)
def test_fix25b_cancel_behaviour_cancels_the_occurrence_moved_onto_a_taken_slot_not_the_series(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """SyncConflictBehaviour Cancel per occurrence: an occurrence moved in Outlook onto a slot ROOMS gave to another
    booking is tried `sync.cancel_attempts` (2) times, reported each time (and listed by `sync diff`); at the last
    that occurrence alone is cancelled in ROOMS, the series stays active with its other occurrences."""
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    ok(invoke("persons", "set", diego, "--conflict-behaviour", "Cancel", env=env))
    other = ["--organizer", diego, "--room", room, "--title", "Taken", "--start", "2027-03-23T14:00"]
    ok(invoke("bookings", "add", *other, "--end", "2027-03-23T15:00", env=env))
    move_in_outlook(lab, diego, "2027-03-22", "2027-03-23", 14)
    code, found = sync(invoke, env)
    assert (code, found[diego]["rolled_back"]) == (1, 0), found
    assert [f for f in found[diego]["failures"] if "attempt 1 of 2" in f and "taken occurrences" in f], found
    listed = ok(invoke("sync", "diff", env=env)).out
    assert f"booking {series} ({diego}): conflict (Cancel), attempt 1 of 2" in listed, listed
    assert occurrences(series_of(invoke, env, series))[1][2] == "active"
    code, found = sync(invoke, env)
    assert code == 1, found
    assert [f for f in found[diego]["failures"] if "2027-03-22 09:00" in f and "cancelled in ROOMS" in f], (
        found
    )
    held = series_of(invoke, env, series)
    assert held["status"] == "active", held
    assert [o[2] for o in occurrences(held)] == ["active", "cancelled", "active", "active", "active"]
    # Settled: the next pass has nothing to do, and no conflict is listed any more.
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["updated"]) == (0, [], 0), found
    assert "conflict" not in ok(invoke("sync", "diff", env=env)).out

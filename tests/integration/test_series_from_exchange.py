"""Issue 25, item 3: Outlook edits of a series reach ROOMS, over EWS and over Graph (docs/series.md, "Outlook edits
of a series"). Against the lab over TLS, rooms answering only when asked (deterministic):

- an occurrence moved in Outlook moves that occurrence in ROOMS (keyed by its original start);
- an occurrence deleted in Outlook cancels it in ROOMS (the room frees it);
- the whole series edited in Outlook (its title, its pattern) is the ROOMS series' again;
- an Outlook series inviting a ROOMS room is a ROOMS series booking once the room accepted it, with its exceptions;
- an occurrence moved in Outlook onto a slot ROOMS gave to someone else is a conflict (Rollback: set back).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Invoke, ok
from tests.graph_client import GraphClient
from tests.integration.test_series_sync import ZURICH, book_series, local, masters, setup, shown, wall, z
from tests.integration.test_sync_rooms20_a import answer, links, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

MODES = ["O365", "Microsoft365"]  # EWS, Graph


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def series_of(invoke: Invoke, env: dict[str, str], booking: int) -> dict[str, Any]:
    listed = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    (found,) = [b for b in listed if b["id"] == booking]
    return dict(found)


def occurrences(found: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(original start, start, status) of each occurrence, as `...Z` UTC times."""
    rows = found["series"]["occurrences"]
    return [(_z(o["original_start"]), _z(o["start"]), o["status"]) for o in rows]


def _z(text: str) -> str:
    return z(datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC))


def occurrence_id(lab: LabHelper, mailbox: str, day: str) -> str:
    """The item id of the series' occurrence on a Zürich day (the organizer's calendar view)."""
    window = f"{z(local(f'{day}T00:00'))},{z(local(f'{day}T23:59'))}"
    found = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar?expand={window}").json()["items"]
    (item,) = [i for i in found if i["type"] in ("Occurrence", "Exception")]
    return str(item["id"])


def synced_series(
    invoke: Invoke, env: dict[str, str], lab: LabHelper, addr: Addr, mode: str
) -> tuple[str, str, int]:
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    assert links(env)[series][0] == "linked"
    return diego, room, series


def quiet(invoke: Invoke, env: dict[str, str], diego: str) -> None:
    """A pass that finds nothing to do: no write, no failure (the series as Outlook left it is ROOMS' now)."""
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found
    assert found[diego]["created"] == found[diego]["updated"] == found[diego]["rolled_back"] == 0, found


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_moved_in_outlook_moves_that_occurrence_in_rooms(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    moved = {"start": wall("2027-03-23", 14)[0], "end": wall("2027-03-23", 14)[1]}
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}", json=moved
    )
    assert edit.status_code == 200, edit.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["updated"]) == (0, [], 0), found
    assert found[diego]["exchange_edits"] == 1, found
    assert occurrences(series_of(invoke, env, series)) == [
        (wall("2027-03-15")[0], wall("2027-03-15")[0], "active"),
        (wall("2027-03-22")[0], wall("2027-03-23", 14)[0], "active"),
        (wall("2027-03-29")[0], wall("2027-03-29")[0], "active"),
        (wall("2027-04-05")[0], wall("2027-04-05")[0], "active"),
        (wall("2027-04-12")[0], wall("2027-04-12")[0], "active"),
    ]
    answer(lab)  # the room takes the moved occurrence
    quiet(invoke, env, diego)
    assert links(env)[series][0] == "linked"
    expected = [wall(d) for d in ("2027-03-15",)] + [wall("2027-03-23", 14)]
    expected += [wall(d) for d in ("2027-03-29", "2027-04-05", "2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
    # ROOMS holds the room at the new time: a single booking there is refused, the old time is free.
    taken = ["--organizer", diego, "--room", room, "--title", "Other", "--start", "2027-03-23T14:30"]
    refused = invoke("bookings", "add", *taken, "--end", "2027-03-23T15:30", env=env)
    assert refused.code == 2 and f"booking {series}" in refused.err, refused.err
    free = ["--organizer", diego, "--room", room, "--title", "Other", "--start", "2027-03-22T09:00"]
    ok(invoke("bookings", "add", *free, "--end", "2027-03-22T10:00", env=env))


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_deleted_in_outlook_is_cancelled_in_rooms(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-29')}")
    assert gone.status_code == 200, gone.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["exchange_edits"]) == (0, [], 1), found
    assert [o[2] for o in occurrences(series_of(invoke, env, series))] == [
        "active",
        "active",
        "cancelled",
        "active",
        "active",
    ]
    answer(lab)
    quiet(invoke, env, diego)
    (master,) = masters(lab, diego, diego)
    assert master["deleted_occurrences"] == [wall("2027-03-29")[0]]
    expected = [wall(d) for d in ("2027-03-15", "2027-03-22", "2027-04-05", "2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
    # The slot is free in ROOMS.
    free = ["--organizer", diego, "--room", room, "--title", "Other", "--start", "2027-03-29T09:00"]
    ok(invoke("bookings", "add", *free, "--end", "2027-03-29T10:00", env=env))


@pytest.mark.parametrize("mode", MODES)
def test_the_whole_series_edited_in_outlook_is_the_rooms_series(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """A new title and new times of the whole series in Outlook are the booking's: every occurrence at 11:00."""
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    (master,) = masters(lab, diego, diego)
    edit = {
        "subject": "Renamed in Outlook",
        "start": wall("2027-03-15", 11)[0],
        "end": wall("2027-03-15", 11)[1],
    }
    response = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json=edit)
    assert response.status_code == 200, response.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["rolled_back"]) == (0, [], 0), found
    assert found[diego]["exchange_edits"] == 1, found
    booking = series_of(invoke, env, series)
    assert booking["title"] == "Renamed in Outlook"
    days = ("2027-03-15", "2027-03-22", "2027-03-29", "2027-04-05", "2027-04-12")
    assert occurrences(booking) == [(wall(d, 11)[0], wall(d, 11)[0], "active") for d in days]
    answer(lab)
    quiet(invoke, env, diego)
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == [wall(d, 11) for d in days]


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_moved_in_outlook_onto_a_taken_slot_is_set_back(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """ROOMS cannot accept the move (the room is booked then in ROOMS): SyncConflictBehaviour Rollback, the
    occurrence written back at its time in ROOMS; the booking unchanged."""
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    other = ["--organizer", diego, "--room", room, "--title", "Taken", "--start", "2027-03-23T14:00"]
    ok(invoke("bookings", "add", *other, "--end", "2027-03-23T15:00", env=env))
    moved = {"start": wall("2027-03-23", 14)[0], "end": wall("2027-03-23", 14)[1], "send": False}
    edit = lab.admin(
        "PATCH", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, '2027-03-22')}", json=moved
    )
    assert edit.status_code == 200, edit.text
    code, found = sync(invoke, env)
    assert code == 1 and found[diego]["rolled_back"] == 1, found
    assert any("taken" in f or "already booked" in f for f in found[diego]["failures"]), found
    assert occurrences(series_of(invoke, env, series))[1] == (
        wall("2027-03-22")[0],
        wall("2027-03-22")[0],
        "active",
    )
    (master,) = masters(lab, diego, diego)
    # Set back: an exception at its pattern's time (Exchange keeps it an exception), which reads as none.
    assert [(e["original_start"], e["start"]) for e in master["modified_occurrences"]] == [
        (wall("2027-03-22")[0], wall("2027-03-22")[0])
    ]
    answer(lab)
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["rolled_back"]) == (0, [], 0), found


@pytest.mark.parametrize("mode", MODES)
def test_an_outlook_series_the_room_accepted_is_a_rooms_series_booking(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Made in Outlook (here with Graph as Diego's client app), weekly on Tuesdays, one occurrence deleted before
    the room answers: taken over whole once the room accepted, with the deleted occurrence cancelled; once."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    info = lab.app("rooms")
    graph = GraphClient(lab.base_url, lab.ca, lab.token_url, str(info["app_id"]), str(info["secret"]))
    # Within the sync window (90 days ahead): Outlook meetings beyond it are left alone.
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (1 - today.weekday()) % 7)  # a Tuesday two to three weeks ahead
    days = [str(first + timedelta(weeks=n)) for n in range(4)]
    body = {
        "subject": "Outlook jour fixe",
        "start": {"dateTime": f"{days[0]}T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": f"{days[0]}T10:00:00", "timeZone": "Europe/Zurich"},
        "attendees": [{"emailAddress": {"address": room}, "type": "resource"}],
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
            "range": {
                "type": "endDate",
                "startDate": days[0],
                "endDate": days[3],
                "recurrenceTimeZone": "Europe/Zurich",
            },
        },
    }
    made = graph.post(f"/users/{diego}/events", body)
    assert made.status_code == 201, made.text
    code, found = sync(invoke, env)  # the room has not answered: nothing booked yet
    assert found[diego]["bookings_created"] == 0, found
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{occurrence_id(lab, diego, days[2])}")
    assert gone.status_code == 200, gone.text
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["bookings_created"]) == (0, [], 1), json.dumps(found)
    (booking,) = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert (booking["title"], booking["room"]) == ("Outlook jour fixe", room)
    # Over EWS the zone is StartTimeZone's Windows id, W. Europe Standard Time, read as CLDR's zone for it.
    assert booking["series"]["time_zone"] in ("Europe/Zurich", "Europe/Berlin"), booking["series"]
    assert occurrences(booking) == [
        (wall(d)[0], wall(d)[0], "cancelled" if d == days[2] else "active") for d in days
    ]
    for _ in range(2):
        code, found = sync(invoke, env)
        assert (code, found[diego]["failures"], found[diego]["bookings_created"]) == (0, [], 0), found
    assert links(env)[booking["id"]][0] == "linked"
    (master,) = masters(lab, diego, diego)  # one series, tagged, not written again
    assert master["deleted_occurrences"] == [wall(days[2])[0]]


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_retitled_in_outlook_is_that_occurrences_title_in_rooms(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """One occurrence's own subject (an exception's own value): over EWS read by GetItem of the modified
    occurrence, over Graph from its instance."""
    lab = graph_lab
    diego, _, series = synced_series(invoke, env, lab, addr, mode)
    target = occurrence_id(lab, diego, "2027-04-05")
    edit = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{target}", json={"subject": "Review"})
    assert edit.status_code == 200, edit.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["exchange_edits"]) == (0, [], 1), found
    rows = series_of(invoke, env, series)["series"]["occurrences"]
    assert [o["changes"] for o in rows] == [{}, {}, {}, {"title": "Review"}, {}]
    quiet(invoke, env, diego)


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_moved_back_in_rooms_is_back_at_its_time_in_exchange(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Item 2's gap closed: the write sets back an exception Exchange held that ROOMS no longer has; the room
    follows; the next passes take nothing of it for an Outlook edit."""
    lab = graph_lab
    diego, room, series = synced_series(invoke, env, lab, addr, mode)
    away = ["--start", "2027-03-23T14:00", "--end", "2027-03-23T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *away, env=env))
    assert sync(invoke, env)[0] == 0
    answer(lab)
    assert sync(invoke, env)[0] == 0
    back = ["--start", "2027-03-22T09:00", "--end", "2027-03-22T10:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *back, env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["updated"]) == (0, [], 1), found
    answer(lab)
    quiet(invoke, env, diego)
    days = ("2027-03-15", "2027-03-22", "2027-03-29", "2027-04-05", "2027-04-12")
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == [wall(d) for d in days], mailbox
    assert [o[1] for o in occurrences(series_of(invoke, env, series))] == [wall(d)[0] for d in days]


@pytest.mark.parametrize("mode", MODES)
def test_a_series_deleted_in_outlook_cancels_the_booking(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """The sync checker's rooms_series soak finding over Graph (seed 2601): Graph's calendarView delta names a
    deleted series by its occurrences' ids, never its master's; the booking stayed active without a meeting."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    today = datetime.now(ZURICH).date()
    first = today + timedelta(days=14 + (0 - today.weekday()) % 7)  # a Monday within Graph's delta window
    series = book_series(invoke, env, diego, room, f"{first}T09:00", "--weekly", "mon", "--count", "3")
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0
    (master,) = masters(lab, diego, diego)
    gone = lab.admin("DELETE", f"/lab/mailboxes/{diego}/calendar/{master['id']}")
    assert gone.status_code == 200, gone.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["bookings_cancelled"]) == (0, [], 1), found
    assert series_of(invoke, env, series)["status"] == "cancelled"
    answer(lab)
    days = [str(first + timedelta(weeks=n)) for n in range(3)]
    assert shown(lab, room, f"{days[0]}T00:00", f"{days[2]}T23:00") == []
    quiet(invoke, env, diego)

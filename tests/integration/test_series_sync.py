"""Issue 25, item 2: a ROOMS series becomes one recurring meeting in Exchange, over EWS and over Graph
(docs/series.md, "Sync of series"). Against the lab over TLS, rooms answering only when asked (deterministic):

- a weekly series across the daylight-saving changes of 28 March 2027 and 31 October 2027 (Europe/Zurich) keeps
  its local times in the organizer's and in the room's calendar;
- an occurrence cancelled in ROOMS is a deleted occurrence in Exchange, one moved in ROOMS a modified one;
- a new pattern rewrites the series in Exchange and the surviving exceptions are written again;
- a room declining a series (an occurrence conflicts with a meeting ROOMS does not know) is reported, and the
  booking is `room-declined`, on every pass.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Invoke, ok
from tests.integration.test_sync_rooms20_a import answer, links, room_problems, sync

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration

ZURICH = ZoneInfo("Europe/Zurich")
MODES = ["O365", "Microsoft365"]  # EWS, Graph


@pytest.fixture
def graph_lab(fresh_lab: LabHelper) -> LabHelper:
    assert fresh_lab.admin("POST", "graph/reset").status_code == 200
    return fresh_lab


def local(text: str) -> datetime:
    """A Zürich wall-clock time as the lab shows it (UTC, `...Z`)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZURICH).astimezone(UTC)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def setup(invoke: Invoke, env: dict[str, str], lab: LabHelper, addr: Addr, mode: str) -> tuple[str, str]:
    diego, room = addr("DiegoS").lower(), addr("room-zurich")
    ok(invoke("rooms", "add", room, "--name", "Zürich", env=env))
    ok(invoke("persons", "add", diego, "--sync-mode", mode, env=env))
    # The series reach up to eleven months ahead: the room's booking window holds them (as `rooms check` sets it).
    window = {"booking_window_in_days": 1080}
    assert lab.admin("PATCH", f"mailboxes/{room}/calendar-processing", json=window).status_code == 200
    return diego, room


def book_series(invoke: Invoke, env: dict[str, str], diego: str, room: str, first: str, *repeat: str) -> int:
    start = datetime.fromisoformat(first)
    args = ["--organizer", diego, "--room", room, "--title", "Jour fixe"]
    times = [
        "--start",
        f"{start:%Y-%m-%dT%H:%M}",
        "--end",
        f"{start.replace(hour=start.hour + 1):%Y-%m-%dT%H:%M}",
    ]
    run = ok(invoke("--json", "bookings", "add", *args, *times, *repeat, env=env))
    return int(json.loads(run.out)["booking"]["id"])


def masters(lab: LabHelper, mailbox: str, organizer: str) -> list[dict[str, Any]]:
    found = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar").json()["items"]
    return [
        i
        for i in found
        if i["organizer"].lower() == organizer and i["type"] == "RecurringMaster" and not i["is_cancelled"]
    ]


def shown(lab: LabHelper, mailbox: str, first: str, last: str) -> list[tuple[str, str]]:
    """(start, end) of what a calendar view of the mailbox shows between two Zürich days."""
    window = f"{z(local(first))},{z(local(last))}"
    found = lab.admin("GET", f"/lab/mailboxes/{mailbox}/calendar?expand={window}").json()["items"]
    # The room's copy is titled by its organizer (AddOrganizerToSubject): the series' occurrences are what counts.
    series = ("Occurrence", "Exception")
    return [(i["start"], i["end"]) for i in found if i["type"] in series and not i["is_cancelled"]]


def wall(day: str, hour: int = 9) -> tuple[str, str]:
    return z(local(f"{day}T{hour:02d}:00")), z(local(f"{day}T{hour + 1:02d}:00"))


@pytest.mark.parametrize("mode", MODES)
def test_a_weekly_series_keeps_its_local_times_across_both_dst_changes_on_both_sides(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    spring = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-05"
    )
    autumn = book_series(invoke, env, diego, room, "2027-10-20T09:00", "--weekly", "wed", "--count", "3")
    code, found = sync(invoke, env)
    assert code == 0, found
    assert found[diego]["created"] == 2
    assert [a["response"] for a in answer(lab)] == ["Accept", "Accept"]
    code, found = sync(invoke, env)
    assert code == 0, found
    assert {b: links(env)[b][0] for b in (spring, autumn)} == {spring: "linked", autumn: "linked"}

    (first, second) = sorted(masters(lab, diego, diego), key=lambda m: m["start"])
    assert first["recurrence"]["pattern"] == "WeeklyRecurrence"
    assert first["recurrence"]["days_of_week"] == ["Monday"]
    assert second["recurrence"]["days_of_week"] == ["Wednesday"]
    # 09:00–10:00 in Zürich before and after 28 March 2027 (08:00 UTC, then 07:00 UTC) and 31 October 2027.
    spring_days = ["2027-03-15", "2027-03-22", "2027-03-29", "2027-04-05"]
    autumn_days = ["2027-10-20", "2027-10-27", "2027-11-03"]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-10T00:00") == [wall(d) for d in spring_days]
        assert shown(lab, mailbox, "2027-10-19T00:00", "2027-11-10T00:00") == [wall(d) for d in autumn_days]
    assert wall("2027-03-22")[0].endswith("T08:00:00Z") and wall("2027-03-29")[0].endswith("T07:00:00Z")
    assert wall("2027-10-27")[0].endswith("T07:00:00Z") and wall("2027-11-03")[0].endswith("T08:00:00Z")

    # Nothing changed: the next pass writes nothing and costs what a pass over single meetings costs (the series'
    # exceptions are not read back): EWS one SyncFolderItems; Graph one delta request and one batched read of the
    # linked meetings starting beyond the delta's window (these series are months ahead), as for single meetings.
    code, found = sync(invoke, env)
    assert code == 0 and found[diego]["created"] == found[diego]["updated"] == 0, found
    assert found[diego]["requests"] == (1 if mode == "O365" else 2), found


@pytest.mark.parametrize("mode", MODES)
def test_cancelled_and_moved_occurrences_and_a_new_pattern_keep_the_surviving_exceptions(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    assert sync(invoke, env)[0] == 0
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    assert sync(invoke, env)[0] == 0

    # One occurrence cancelled, one moved (after the change to summer time), in ROOMS.
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-22", "--yes", env=env))
    moved = ["--start", "2027-04-05T14:00", "--end", "2027-04-05T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-04-05", *moved, env=env))
    code, found = sync(invoke, env)
    assert code == 0, found[diego]["failures"]
    assert found[diego]["updated"] == 1
    (master,) = masters(lab, diego, diego)
    assert master["deleted_occurrences"] == [wall("2027-03-22")[0]]
    assert [(e["original_start"], e["start"]) for e in master["modified_occurrences"]] == [
        (wall("2027-04-05")[0], wall("2027-04-05", 14)[0])
    ]
    answer(lab)
    expected = [wall("2027-03-15"), wall("2027-03-29"), wall("2027-04-05", 14), wall("2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
    assert sync(invoke, env)[0] == 0
    assert links(env)[series][0] == "linked"

    # A new pattern: Mondays and Wednesdays. Exchange drops the exceptions with the old recurrence; the sync
    # writes the surviving ones again (the cancelled Monday stays cancelled, the moved one stays moved).
    ok(invoke("bookings", "update", str(series), "--weekly", "mon,wed", env=env))
    code, found = sync(invoke, env)
    assert code == 0, found
    (master,) = masters(lab, diego, diego)
    assert master["recurrence"]["days_of_week"] == ["Monday", "Wednesday"]
    assert master["deleted_occurrences"] == [wall("2027-03-22")[0]]
    assert [(e["original_start"], e["start"]) for e in master["modified_occurrences"]] == [
        (wall("2027-04-05")[0], wall("2027-04-05", 14)[0])
    ]
    answer(lab)
    days = ["2027-03-15", "2027-03-17", "2027-03-24", "2027-03-29", "2027-03-31", "2027-04-07", "2027-04-12"]
    expected = sorted([wall(d) for d in days] + [wall("2027-04-05", 14)])
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
    code, found = sync(invoke, env)
    assert code == 0, found
    assert links(env)[series][0] == "linked"
    listed = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    assert [b["sync"] for b in listed if b["id"] == series] == ["linked"]

    # The whole series cancelled in ROOMS: the meeting is cancelled, the room frees every occurrence.
    ok(invoke("bookings", "cancel", str(series), "--yes", env=env))
    code, found = sync(invoke, env)
    assert (code, found[diego]["cancelled"]) == (0, 1), found
    answer(lab)
    assert masters(lab, diego, diego) == []
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == [], mailbox
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"]) == (0, []), found


@pytest.mark.parametrize("mode", MODES)
def test_a_room_declining_a_conflicting_series_is_reported_and_room_declined(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    # Adele (no ROOMS person) holds the room on the third Monday: ROOMS does not know it, the room does.
    adele = addr("AdeleV")
    taken = {"subject": "Adele's own", "start": wall("2027-03-29")[0], "end": wall("2027-03-29")[1]}
    body = {**taken, "resources": [room]}
    assert lab.admin("POST", f"/lab/mailboxes/{adele}/calendar", json=body).status_code == 201
    assert [a["response"] for a in answer(lab)] == ["Accept"]
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    sync(invoke, env)
    assert [a["response"] for a in answer(lab)] == ["Decline"]  # a room decides a series whole
    for _ in range(2):  # reported on every pass until settled
        code, found = sync(invoke, env)
        assert code == 1, found
        failures = found[diego]["failures"]
        assert any("declined" in f and "2027-03-29" in f for f in failures), failures
        assert links(env)[series][0] == "room-declined"
        assert room_problems(invoke, env)[series]["kind"] == "room-declined"
    assert masters(lab, room, diego) == []  # the room holds none of it


#: (mode, the lab's protocol, its create operation, its operation deleting an occurrence)
FAULTS = [
    ("O365", "ews", "CreateItem", "DeleteItem"),
    ("Microsoft365", "graph", "events.create", "events.cancel"),
]


@pytest.mark.parametrize(("mode", "protocol", "create", "delete"), FAULTS, ids=["ews", "graph"])
@pytest.mark.parametrize("lost", ["create", "occurrence", "update"])
def test_a_series_whose_write_was_lost_is_one_meeting_with_its_exceptions(
    invoke: Invoke,
    env: dict[str, str],
    graph_lab: LabHelper,
    addr: Addr,
    mode: str,
    protocol: str,
    create: str,
    delete: str,
    lost: str,
) -> None:
    """The pending intent holds across a lost answer: the answer of the master's create lost after it landed, or
    the connection dropped before the first exception's write (the master made, its cancelled occurrence not yet
    deleted), or before the exception's write of an update of a linked series. The sync finds the master by its tag
    (or its link) and writes the exceptions: one series, never two, with its exceptions."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    if lost == "update":  # synced first; the occurrence is cancelled in ROOMS afterwards
        assert sync(invoke, env)[0] == 0
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-22", "--yes", env=env))
    if lost == "create":
        lab.fault(protocol=protocol, operation=create, kind="drop_after", count=1)
    else:
        lab.fault(protocol=protocol, operation=delete, kind="drop_before", count=1)
    sync(invoke, env)
    assert lab.admin("GET", "faults").json() == []  # the fault struck this pass
    for _ in range(2):
        sync(invoke, env)
    (master,) = masters(lab, diego, diego)
    assert master["deleted_occurrences"] == [wall("2027-03-22")[0]]
    assert links(env)[series][0] == "linked"
    answer(lab)
    expected = [wall(d) for d in ("2027-03-15", "2027-03-29", "2027-04-05", "2027-04-12")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-20T00:00") == expected, mailbox
    code, found = sync(invoke, env)
    assert (code, found[diego]["failures"], found[diego]["created"]) == (0, [], 0)


@pytest.mark.parametrize("mode", MODES)
def test_an_outlook_edit_of_a_synced_series_title_is_the_bookings_and_keeps_its_exceptions(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    """Item 3 (docs/series.md, "Outlook edits of a series"): a new title of the whole series in Outlook is the
    booking's; the occurrence cancelled in ROOMS stays cancelled on both sides; nothing is written back."""
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-12"
    )
    ok(invoke("bookings", "cancel", str(series), "--occurrence", "2027-03-22", "--yes", env=env))
    assert sync(invoke, env)[0] == 0
    answer(lab)
    (master,) = masters(lab, diego, diego)
    edit = {"subject": "Renamed in Outlook"}
    response = lab.admin("PATCH", f"/lab/mailboxes/{diego}/calendar/{master['id']}", json=edit)
    assert response.status_code == 200, response.text
    code, found = sync(invoke, env)
    assert (code, found[diego]["rolled_back"], found[diego]["exchange_edits"]) == (0, 0, 1), found
    assert found[diego]["updated"] == 0, found
    (master,) = masters(lab, diego, diego)
    assert (master["subject"], master["deleted_occurrences"]) == (
        "Renamed in Outlook",
        [wall("2027-03-22")[0]],
    )
    listed = json.loads(ok(invoke("--json", "bookings", "list", env=env)).out)["bookings"]
    (booking,) = [b for b in listed if b["id"] == series]
    assert booking["title"] == "Renamed in Outlook"
    assert [o["status"] for o in booking["series"]["occurrences"]][:2] == ["active", "cancelled"]


@pytest.mark.parametrize("mode", MODES)
def test_an_occurrence_moved_twice_in_rooms_is_found_where_the_first_move_put_it(
    invoke: Invoke, env: dict[str, str], graph_lab: LabHelper, addr: Addr, mode: str
) -> None:
    lab = graph_lab
    diego, room = setup(invoke, env, lab, addr, mode)
    series = book_series(
        invoke, env, diego, room, "2027-03-15T09:00", "--weekly", "mon", "--until", "2027-04-05"
    )
    assert sync(invoke, env)[0] == 0
    first = ["--start", "2027-03-22T14:00", "--end", "2027-03-22T15:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *first, env=env))
    assert sync(invoke, env)[0] == 0
    again = ["--start", "2027-03-24T10:00", "--end", "2027-03-24T11:00"]
    ok(invoke("bookings", "update", str(series), "--occurrence", "2027-03-22", *again, env=env))
    code, found = sync(invoke, env)
    assert code == 0, found[diego]["failures"]
    (master,) = masters(lab, diego, diego)
    assert [(e["original_start"], e["start"]) for e in master["modified_occurrences"]] == [
        (wall("2027-03-22")[0], wall("2027-03-24", 10)[0])
    ]
    answer(lab)
    expected = [wall("2027-03-15"), wall("2027-03-24", 10), wall("2027-03-29"), wall("2027-04-05")]
    for mailbox in (diego, room):
        assert shown(lab, mailbox, "2027-03-14T00:00", "2027-04-10T00:00") == expected, mailbox

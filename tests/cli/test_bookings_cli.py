"""`roomsops bookings ...` through the real CLI: local times for people, UTC in JSON, no double booking;
bad input exits 2 with one line and leaves the database unchanged."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.store.schema import SCHEMA_VERSION
from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.conftest import Invoke

V1_FIXTURE = Path(__file__).resolve().parents[1] / "data" / "rooms-v1.db"
DIEGO, ADELE, EIGER, MOENCH = (
    "diego@contoso.com",
    "adele@contoso.com",
    "eiger@contoso.com",
    "moench@contoso.com",
)


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ROOMS groups on the real CLI (a no-op once roomsops.cli registers them), Zurich time, an audit log."""
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")
    monkeypatch.setenv("ROOMSOPS_LOG_AUDIT", "audit.jsonl")


def dump() -> str:
    with closing(sqlite3.connect("rooms.db")) as conn:
        return "\n".join(conn.iterdump())


def audit() -> list[dict[str, Any]]:
    path = Path("audit.jsonl")
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def add(
    invoke: Invoke, start: str, end: str, title: str = "Weekly sync", room: str = EIGER, *more: str
) -> int:
    run = invoke(
        "--json",
        "bookings",
        "add",
        "--organizer",
        DIEGO,
        "--room",
        room,
        "--start",
        start,
        "--end",
        end,
        "--title",
        title,
        *more,
    )
    assert run.code == 0, run.err
    return int(json.loads(run.out)["booking"]["id"])


@pytest.fixture
def setup(invoke: Invoke) -> None:
    """Two persons, two rooms; booking 1 on 2031-03-31 09:00-10:00 in Eiger; booking 2 cancelled."""
    for args in (
        ("persons", "add", DIEGO, "--name", "Diego"),
        ("persons", "add", ADELE),
        ("rooms", "add", EIGER, "--name", "Eiger"),
        ("rooms", "add", MOENCH, "--name", "Mönch"),
    ):
        assert invoke(*args).code == 0
    assert add(invoke, "2031-03-31T09:00", "2031-03-31T10:00") == 1
    assert add(invoke, "2031-04-01T14:00", "2031-04-01T15:00", "Old plan", MOENCH) == 2
    assert invoke("bookings", "cancel", "2", "--yes").code == 0


@pytest.fixture
def unchanged(setup: None) -> Iterator[None]:
    before = dump()
    records = len(audit())
    yield
    assert dump() == before
    assert len(audit()) == records


def without_times(doc: dict[str, Any]) -> dict[str, Any]:
    """The JSON document with `created`/`updated` checked for form and taken out."""
    for booking in [doc["booking"]] if "booking" in doc else doc["bookings"]:
        for key in ("created", "updated"):
            assert booking.pop(key).endswith("+00:00")
    return doc


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_add_shows_local_times_and_audits(invoke: Invoke) -> None:
    run = invoke(
        "bookings", "add", "--organizer", "Diego@Contoso.com", "--room", MOENCH, "--start", "2031-03-31T09:00",
        "--end", "2031-03-31T10:30", "--title", "Budget; \"Q2\" $(x)", "--attendee", ADELE, "--attendee",
        "ADELE@contoso.com", "--attendee", "lee@fabrikam.com", "--private", "--reminder", "15", "--free-busy", "oof",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "booking 3 added",
        '  title      Budget; "Q2" $(x)',
        f"  room       Mönch ({MOENCH})",
        "  when       2031-03-31 09:00–10:30 (Europe/Zurich)",
        f"  organizer  {DIEGO}",
        f"  attendees  {ADELE}, lee@fabrikam.com",
        "  private    yes",
        "  reminder   15 minutes",
        "  free/busy  OOF",
        "  status     active",
    ]
    record = audit()[-1]
    assert (record["action"], record["target"]) == ("bookings.add", "booking 3")
    assert record["params"]["start"] == "2031-03-31T07:00:00+00:00"


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_add_json_shape_in_utc(invoke: Invoke) -> None:
    run = invoke(
        "--json", "bookings", "add", "--organizer", DIEGO, "--room", EIGER,
        "--start", "2031-03-31T12:00+02:00", "--end", "2031-03-31T11:00Z", "--title", "Lunch",
    )  # fmt: skip
    assert run.code == 0, run.err
    assert without_times(json.loads(run.out)) == {
        "action": "added",
        "booking": {
            "id": 3,
            "organizer": DIEGO,
            "room": EIGER,
            "room_name": "Eiger",
            "title": "Lunch",
            "start": "2031-03-31T10:00:00+00:00",
            "end": "2031-03-31T11:00:00+00:00",
            "attendees": [],
            "private": False,
            "reminder_minutes": None,
            "free_busy": "Busy",
            "status": "active",
            "version": 1,
            "series": None,
        },
        "changed": [],
        "occurrence": None,
        "dropped": [],
        "ok": True,
    }


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_touching_bookings_and_cancelled_ones_do_not_conflict(invoke: Invoke) -> None:
    assert add(invoke, "2031-03-31T10:00", "2031-03-31T11:00", "right after") == 3
    assert add(invoke, "2031-03-31T08:00", "2031-03-31T09:00", "right before") == 4
    # booking 2 (Mönch, 2031-04-01 14:00-15:00) is cancelled: the slot is free again
    assert add(invoke, "2031-04-01T14:00", "2031-04-01T15:00", "new plan", MOENCH) == 5


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_list_in_local_time_with_filters(invoke: Invoke) -> None:
    add(invoke, "2031-03-31T10:00", "2031-04-01T01:00", "Night shift", MOENCH)
    run = invoke("bookings", "list")
    assert run.code == 0
    assert run.out.splitlines() == [
        "times in Europe/Zurich",
        "id  start             end               room   organizer          status     sync       title",
        f"1   2031-03-31 09:00  2031-03-31 10:00  Eiger  {DIEGO}  active     pending    Weekly sync",
        f"3   2031-03-31 10:00  2031-04-01 01:00  Mönch  {DIEGO}  active     pending    Night shift",
        f"2   2031-04-01 14:00  2031-04-01 15:00  Mönch  {DIEGO}  cancelled  cancelled  Old plan",
    ]

    def ids(*args: str) -> list[int]:
        run = invoke("--json", "bookings", "list", *args)
        assert run.code == 0, run.err
        return [b["id"] for b in json.loads(run.out)["bookings"]]

    assert ids("--status", "active") == [1, 3]
    assert ids("--room", MOENCH) == [3, 2]
    assert ids("--from", "2031-03-31T10:00", "--to", "2031-04-01T14:00") == [3]  # half-open overlap
    assert ids("--organizer", ADELE) == []
    assert ids("--status", "cancelled", "--status", "SYNC_DISABLED") == [2]


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_list_json_shape(invoke: Invoke) -> None:
    run = invoke("--json", "bookings", "list", "--status", "cancelled")
    assert without_times(json.loads(run.out)) == {
        "bookings": [
            {
                "id": 2,
                "organizer": DIEGO,
                "room": MOENCH,
                "room_name": "Mönch",
                "title": "Old plan",
                "start": "2031-04-01T12:00:00+00:00",
                "end": "2031-04-01T13:00:00+00:00",
                "attendees": [],
                "private": False,
                "reminder_minutes": None,
                "free_busy": "Busy",
                "status": "cancelled",
                "version": 2,
                "series": None,
                "sync": "cancelled",
            }
        ],
        "ok": True,
    }


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_update_changes_fields_bumps_the_version_and_audits(invoke: Invoke) -> None:
    run = invoke(
        "--json", "bookings", "update", "1", "--start", "2031-03-31T09:30", "--room", MOENCH,
        "--attendee", ADELE, "--reminder", "10", "--free-busy", "Tentative", "--title", "Weekly sync",
    )  # fmt: skip
    assert run.code == 0, run.err
    doc = without_times(json.loads(run.out))
    assert doc["action"] == "updated"
    assert doc["changed"] == ["start", "room", "attendees", "free_busy", "reminder_minutes"]
    assert (doc["booking"]["start"], doc["booking"]["room"], doc["booking"]["version"]) == (
        "2031-03-31T07:30:00+00:00",
        MOENCH,
        2,
    )
    record = audit()[-1]
    assert (record["action"], record["target"], record["result"]["version"]) == (
        "bookings.update",
        "booking 1",
        2,
    )
    run = invoke("bookings", "update", "1", "--no-reminder", "--no-attendees", "--private")
    assert run.out.splitlines()[0] == "booking 1 updated: attendees, private, reminder_minutes"
    assert "  reminder   -" in run.out.splitlines()
    same = invoke("bookings", "update", "1", "--title", "Weekly sync", "--no-private")
    assert same.out.splitlines()[0] == "booking 1 updated: private"
    again = invoke("bookings", "update", "1", "--no-private", "--room", MOENCH)
    assert (again.code, again.out.splitlines()[0]) == (0, "booking 1 unchanged")


@pytest.mark.usefixtures("setup")
def test_moving_a_booking_within_its_own_slot_is_no_conflict(invoke: Invoke) -> None:
    run = invoke("bookings", "update", "1", "--end", "2031-03-31T10:15")
    assert (run.code, run.out.splitlines()[0]) == (0, "booking 1 updated: end")


@pytest.mark.both_databases
@pytest.mark.usefixtures("setup")
def test_cancel_with_yes_and_again(invoke: Invoke) -> None:
    run = invoke("--json", "bookings", "cancel", "1", "--yes")
    assert run.code == 0, run.err
    doc = without_times(json.loads(run.out))
    assert (doc["action"], doc["booking"]["status"], doc["booking"]["version"]) == (
        "cancelled",
        "cancelled",
        2,
    )
    record = audit()[-1]
    assert (record["action"], record["target"], record["params"]) == (
        "bookings.cancel",
        "booking 1",
        {"previous_status": "active"},
    )
    again = invoke("bookings", "cancel", "1")
    assert (again.code, again.out.splitlines()[0]) == (0, "booking 1 was already cancelled")


def test_an_upgraded_v1_database_is_used_as_it_is(invoke: Invoke) -> None:
    shutil.copyfile(V1_FIXTURE, "rooms.db")
    run = invoke("bookings", "list", "--status", "active")
    assert run.code == 0, run.err
    assert run.out.splitlines()[2] == (
        "1   2031-03-31 09:00  2031-03-31 10:00  Eiger  DiegoS@contoso.com  active  pending  Weekly sync"
    )


def test_a_database_from_a_newer_roomsops_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    assert (
        invoke("rooms", "add", "room-zurich@contoso.com", "--name", "Zürich", "--no-check").code == 0
    )  # creates rooms.db
    with closing(sqlite3.connect("rooms.db")) as conn, conn:
        conn.execute(
            "INSERT INTO schema_version VALUES (?, '2.3.0', '2032-01-01 00:00:00.000000')",
            (SCHEMA_VERSION + 1,),
        )
    before = dump()
    run = invoke("bookings", "list")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        f"Error: the database {tmp_path / 'rooms.db'} has schema version {SCHEMA_VERSION + 1} (written by roomsops 2.3.0), but "
        f"this roomsops 0.1.0.dev0 knows schema versions up to {SCHEMA_VERSION} — upgrade roomsops to 2.3.0 or newer; a "
        "database is never downgraded\n"
    )
    assert dump() == before


def _add(*more: str) -> list[str]:
    return ["bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--title", "T", *more]


BAD: list[tuple[str, list[str], str]] = [
    (
        "end before start",
        _add("--start", "2031-03-31T15:00", "--end", "2031-03-31T14:00"),
        "Error: the end 2031-03-31 14:00 is not after the start 2031-03-31 15:00 (Europe/Zurich) — give an end "
        "time after the start",
    ),
    (
        "end equals start",
        _add("--start", "2031-03-31T15:00", "--end", "2031-03-31T13:00Z"),
        "Error: the end 2031-03-31 15:00 is not after the start 2031-03-31 15:00 (Europe/Zurich) — give an end "
        "time after the start",
    ),
    (
        "nonexistent local time",
        _add("--start", "2031-03-30T02:30", "--end", "2031-03-30T04:00"),
        "Error: 2031-03-30T02:30 does not exist in Europe/Zurich (the clock jumps forward at that time) — choose "
        "a time outside the daylight-saving change",
    ),
    (
        "ambiguous local time",
        _add("--start", "2031-10-26T01:30", "--end", "2031-10-26T02:30"),
        "Error: 2031-10-26T02:30 is ambiguous in Europe/Zurich (the clock is set back at that time) — give the "
        "time with its UTC offset, e.g. 2026-10-25T02:30+02:00",
    ),
    (
        "not a time",
        _add("--start", "tomorrow", "--end", "2031-03-31T10:00"),
        "Error: 'tomorrow' is not a time — write it as YYYY-MM-DDTHH:MM, e.g. 2026-12-01T09:00",
    ),
    (
        "double booking",
        _add("--start", "2031-03-31T09:30", "--end", "2031-03-31T11:00"),
        'Error: Eiger (eiger@contoso.com) is already booked 2031-03-31 09:00–10:00 (Europe/Zurich) by booking 1 "Weekly '
        "sync\" — choose another time or room; see 'roomsops bookings list --room eiger@contoso.com'",
    ),
    (
        "double booking given in UTC",
        _add("--start", "2031-03-31T06:00Z", "--end", "2031-03-31T07:01Z"),
        'Error: Eiger (eiger@contoso.com) is already booked 2031-03-31 09:00–10:00 (Europe/Zurich) by booking 1 "Weekly '
        "sync\" — choose another time or room; see 'roomsops bookings list --room eiger@contoso.com'",
    ),
    (
        "unknown organizer",
        [
            "bookings",
            "add",
            "--organizer",
            "lee@contoso.com",
            "--room",
            EIGER,
            "--title",
            "T",
            "--start",
            "2031-05-01T09:00",
            "--end",
            "2031-05-01T10:00",
        ],
        "Error: lee@contoso.com is not a known person — add it first with 'roomsops persons add lee@contoso.com' (it looks the address up "
        "in Exchange), or see 'roomsops persons list'",
    ),
    (
        "unknown room",
        [
            "bookings",
            "add",
            "--organizer",
            DIEGO,
            "--room",
            "jungfrau@contoso.com",
            "--title",
            "T",
            "--start",
            "2031-05-01T09:00",
            "--end",
            "2031-05-01T10:00",
        ],
        "Error: jungfrau@contoso.com is not a known room — add it first with 'roomsops rooms add "
        "jungfrau@contoso.com --name NAME'",
    ),
    (
        "bad attendee",
        _add("--start", "2031-05-01T09:00", "--end", "2031-05-01T10:00", "--attendee", "adele"),
        "Error: attendee 'adele' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    (
        "the room as attendee",
        _add("--start", "2031-05-01T09:00", "--end", "2031-05-01T10:00", "--attendee", "Eiger@contoso.com"),
        "Error: attendee Eiger@contoso.com is the booked room — leave the room out of --attendee",
    ),
    (
        "negative reminder",
        _add("--start", "2031-05-01T09:00", "--end", "2031-05-01T10:00", "--reminder", "-5"),
        "Error: the reminder -5 is negative — give the minutes before the start, e.g. 15",
    ),
    (
        "unknown free/busy",
        _add("--start", "2031-05-01T09:00", "--end", "2031-05-01T10:00", "--free-busy", "Away"),
        "Error: free/busy 'Away' is not one of Free, Tentative, Busy, OOF — use one of Free, Tentative, Busy, OOF",
    ),
    (
        "empty title",
        [
            "bookings",
            "add",
            "--organizer",
            DIEGO,
            "--room",
            EIGER,
            "--title",
            "  ",
            "--start",
            "2031-05-01T09:00",
            "--end",
            "2031-05-01T10:00",
        ],
        "Error: the title is empty — give a title",
    ),
    (
        "update with the times reversed",
        ["bookings", "update", "1", "--start", "2031-04-01T14:00", "--end", "2031-04-01T13:00"],
        "Error: the end 2031-04-01 13:00 is not after the start 2031-04-01 14:00 (Europe/Zurich) — give an end "
        "time after the start",
    ),
    (
        "update the end before the start",
        ["bookings", "update", "1", "--end", "2031-03-31T08:00"],
        "Error: the end 2031-03-31 08:00 is not after the start 2031-03-31 09:00 (Europe/Zurich) — give an end "
        "time after the start",
    ),
    (
        "update a cancelled booking",
        ["bookings", "update", "2", "--title", "revived"],
        "Error: booking 2 is cancelled — book again with 'roomsops bookings add'",
    ),
    (
        "update an unknown booking",
        ["bookings", "update", "99", "--title", "x"],
        "Error: there is no booking 99 — see 'roomsops bookings list'",
    ),
    (
        "update nothing",
        ["bookings", "update", "1"],
        "Error: nothing to change — pass at least one of --start, --end, --title, --room, --attendee, --private, "
        "--reminder, --free-busy (for a series also --daily, --weekly, --monthly, --yearly, --interval, --until, "
        "--count, --no-end)",
    ),
    (
        "update with contradicting options",
        ["bookings", "update", "1", "--reminder", "5", "--no-reminder"],
        "Error: --reminder and --no-reminder exclude each other — give one of them",
    ),
    (
        "cancel without a terminal",
        ["bookings", "cancel", "1"],
        'Error: Cancel booking 1 "Weekly sync" (Eiger, 2031-03-31 09:00–10:00 Europe/Zurich): this needs '
        "confirmation — run it on a terminal to confirm, or pass --yes",
    ),
    (
        "cancel an unknown booking",
        ["bookings", "cancel", "7", "--yes"],
        "Error: there is no booking 7 — see 'roomsops bookings list'",
    ),
    (
        "list with the window reversed",
        ["bookings", "list", "--from", "2031-04-01T00:00", "--to", "2031-03-01T00:00"],
        "Error: the end 2031-03-01 00:00 is not after the start 2031-04-01 00:00 (Europe/Zurich) — give an end "
        "time after the start",
    ),
    (
        "list an unknown status",
        ["bookings", "list", "--status", "deleted"],
        "Error: status 'deleted' is not one of active, cancelled, sync_disabled — use one of active, cancelled, "
        "sync_disabled",
    ),
    (
        "list an unknown room",
        ["bookings", "list", "--room", "jungfrau@contoso.com"],
        "Error: jungfrau@contoso.com is not a known room — add it first with 'roomsops rooms add "
        "jungfrau@contoso.com --name NAME'",
    ),
]


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
@pytest.mark.usefixtures("unchanged")
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    invoke: Invoke, args: list[str], message: str
) -> None:
    run = invoke(*args)
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err.splitlines() == [message]


@pytest.mark.usefixtures("setup")
def test_update_into_a_taken_slot_names_the_other_booking(invoke: Invoke) -> None:
    assert add(invoke, "2031-03-31T11:00", "2031-03-31T12:00", "Later", MOENCH) == 3
    before = dump()
    run = invoke("bookings", "update", "3", "--room", EIGER, "--start", "2031-03-31T09:59")
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        'Error: Eiger (eiger@contoso.com) is already booked 2031-03-31 09:00–10:00 (Europe/Zurich) by booking 1 "Weekly '
        "sync\" — choose another time or room; see 'roomsops bookings list --room eiger@contoso.com'\n"
    )
    assert dump() == before


def _local(moment: Any) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    assert isinstance(moment, datetime)
    return moment.astimezone(ZoneInfo("Europe/Zurich")).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.usefixtures("unchanged")
def test_a_booking_in_the_past_is_refused_and_nothing_changes(invoke: Invoke) -> None:
    """Issue 21.11: yesterday is a wrong date, most likely: exit 2, database and audit log unchanged."""
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    run = invoke(*_add("--start", _local(start), "--end", _local(start + timedelta(hours=1))))
    assert run.code == 2
    assert run.err.startswith(
        f"Error: the start {_local(start).replace('T', ' ')} (Europe/Zurich) is in the past"
    )
    assert "add --allow-past to record a booking that already started" in run.err
    moved = invoke(
        "bookings", "update", "1", "--start", _local(start), "--end", _local(start + timedelta(hours=1))
    )
    assert moved.code == 2 and "is in the past" in moved.err


@pytest.mark.usefixtures("setup")
def test_allow_past_records_a_booking_that_already_started(invoke: Invoke) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    end = start + timedelta(hours=1)
    booking = add(invoke, _local(start), _local(end), "Caught up", EIGER, "--allow-past")
    assert booking == 3
    listed = json.loads(invoke("--json", "bookings", "list", "--organizer", DIEGO).out)["bookings"]
    assert any(b["id"] == 3 and b["title"] == "Caught up" for b in listed)
    # Another field of a booking that is over can still be changed without --allow-past.
    assert invoke("bookings", "update", "3", "--title", "Caught up later").code == 0


@pytest.mark.usefixtures("unchanged")
def test_remedies_point_the_right_way(invoke: Invoke) -> None:
    """Issue 21.6: a room as organizer is not sent to `persons add`; neither is an address looked up by `list`."""
    as_organizer = invoke(
        "bookings", "add", "--organizer", EIGER, "--room", MOENCH, "--title", "T",
        "--start", "2031-04-02T09:00", "--end", "2031-04-02T10:00",
    )  # fmt: skip
    assert as_organizer.code == 2
    assert as_organizer.err == (
        f"Error: {EIGER} is a room, not a person — give the person who organizes the meeting as --organizer (the "
        "room goes in --room)\n"
    )
    listed = invoke("bookings", "list", "--organizer", "diego.alias@contoso.com")
    assert listed.code == 2
    assert "roomsops persons add" not in listed.err
    assert "see 'roomsops persons list' for the persons' addresses" in listed.err

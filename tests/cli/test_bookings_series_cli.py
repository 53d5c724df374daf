"""Series through the real CLI (issue 25, item 1): `bookings add --weekly|--daily|--monthly|--yearly`, one occurrence
changed or cancelled with `--occurrence DATE`, the whole series changed; the room checked at every occurrence, all
or nothing; bad input exits 2 with one line and changes nothing.

Dates are counted from today (a series is booked up to the booking horizon, counted from today): the series of the
fixture starts on the Monday four to five weeks ahead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from roomsops.cli import cli
from roomsops.cli.bookings import bookings
from roomsops.cli.persons import persons
from roomsops.cli.rooms import rooms
from tests.cli.test_bookings_cli import ADELE, DIEGO, EIGER, MOENCH, audit, dump
from tests.conftest import Invoke, ok

TODAY = date.today()
MON = TODAY + timedelta(days=35 - TODAY.weekday())  # the series' first day: Mondays and Wednesdays, 6 times
WED, MON2, WED2, MON3, WED3 = (MON + timedelta(days=d) for d in (2, 7, 9, 14, 16))
SERIES = [MON, WED, MON2, WED2, MON3, WED3]


@pytest.fixture(autouse=True)
def rooms_cli(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for group in (persons, rooms, bookings):
        if group.name not in cli.commands:
            monkeypatch.setitem(cli.commands, str(group.name), group)
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")
    monkeypatch.setenv("ROOMSOPS_LOG_AUDIT", "audit.jsonl")


def add(invoke: Invoke, start: str, end: str, *more: str, title: str = "Jour fixe", room: str = EIGER) -> Any:
    args = ["--organizer", DIEGO, "--room", room, "--start", start, "--end", end, "--title", title, *more]
    return json.loads(ok(invoke("--json", "bookings", "add", *args)).out)["booking"]


def series_of(invoke: Invoke, booking_id: int) -> dict[str, Any]:
    listed = json.loads(ok(invoke("--json", "bookings", "list")).out)["bookings"]
    return next(b for b in listed if b["id"] == booking_id)


@pytest.fixture
def setup(invoke: Invoke) -> None:
    """Booking 1: Mondays and Wednesdays 09:00-10:00 in Eiger, 6 times from MON; booking 2: Mönch on the Tuesday."""
    for args in (
        ("persons", "add", DIEGO, "--name", "Diego"),
        ("persons", "add", ADELE),
        ("rooms", "add", EIGER, "--name", "Eiger"),
        ("rooms", "add", MOENCH, "--name", "Mönch"),
    ):
        ok(invoke(*args))
    assert add(invoke, f"{MON}T09:00", f"{MON}T10:00", "--weekly", "mon,wed", "--count", "6")["id"] == 1
    tuesday = MON + timedelta(days=1)
    assert add(invoke, f"{tuesday}T14:00", f"{tuesday}T15:00", title="Other", room=MOENCH)["id"] == 2


@pytest.fixture
def unchanged(setup: None) -> Iterator[None]:
    before, records = dump(), len(audit())
    yield
    assert dump() == before
    assert len(audit()) == records


@pytest.mark.usefixtures("setup")
def test_a_weekly_series_is_one_booking_with_its_occurrences(invoke: Invoke) -> None:
    shown = ok(invoke("bookings", "list")).out.splitlines()
    assert shown[2].split()[:5] == ["1", str(MON), "09:00", str(MON), "10:00"]
    assert shown[2].endswith("active  pending  Jour fixe")  # synced as one meeting (issue 25, item 2)
    assert shown[3] == f"    repeats weekly on Monday, Wednesday from {MON}, 6 times: 6 occurrences"
    booking = series_of(invoke, 1)
    assert (booking["sync"], booking["start"][:10]) == ("pending", str(MON))
    series = booking["series"]
    assert series["pattern"] == {
        "type": "weekly",
        "interval": 1,
        "days_of_week": ["monday", "wednesday"],
        "day_of_month": None,
        "index": None,
        "month": None,
        "first_day_of_week": "monday",
    }
    assert series["range"] == {
        "type": "numbered",
        "start_date": str(MON),
        "end_date": None,
        "number_of_occurrences": 6,
    }
    assert [o["original_start"][:10] for o in series["occurrences"]] == [str(d) for d in SERIES]
    assert {(o["start"] == o["original_start"], o["status"], o["moved"]) for o in series["occurrences"]} == {
        (True, "active", False)
    }
    assert series["booked_until"] == str(WED3)
    (record,) = [r for r in audit() if r.get("action") == "bookings.add" and r["target"] == "booking 1"]
    assert (record["params"]["series"], record["params"]["occurrences"]) == (series["description"], 6)


def test_a_start_off_the_pattern_makes_the_first_occurrence_the_series_start(invoke: Invoke) -> None:
    """--start on a Sunday for a series on Mondays: the series starts on its first occurrence, and so does its range
    (Graph's recurrenceRange.startDate must equal the event's start, graph/api/resources/recurrencerange)."""
    ok(invoke("persons", "add", DIEGO))
    ok(invoke("rooms", "add", EIGER, "--name", "Eiger"))
    sunday = MON - timedelta(days=1)
    booking = add(invoke, f"{sunday}T09:00", f"{sunday}T10:00", "--weekly", "mon", "--count", "2")
    series = series_of(invoke, booking["id"])
    assert (series["start"][:10], series["series"]["range"]["start_date"]) == (str(MON), str(MON))
    assert [o["original_start"][:10] for o in series["series"]["occurrences"]] == [str(MON), str(MON2)]
    # A new pattern whose first day is later than the series' start: the range starts there too.
    ok(invoke("bookings", "update", str(booking["id"]), "--weekly", "wed"))
    series = series_of(invoke, booking["id"])
    assert (series["start"][:10], series["series"]["range"]["start_date"]) == (str(WED), str(WED))
    assert [o["original_start"][:10] for o in series["series"]["occurrences"]] == [str(WED), str(WED2)]


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def test_a_series_keeps_its_wall_clock_across_the_march_and_october_changes(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Europe/Zurich changes on the last Sundays of March and October: the occurrences stay 09:00-10:00 local, so
    their UTC times move by an hour."""
    monkeypatch.setenv("ROOMSOPS_ROOMS_BOOKING_HORIZON_DAYS", "1080")
    ok(invoke("persons", "add", DIEGO))
    ok(invoke("rooms", "add", EIGER, "--name", "Eiger"))
    for month, before, after in ((3, "08:00", "07:00"), (10, "07:00", "08:00")):
        change = next(
            d for d in (last_sunday(TODAY.year + y, month) for y in (0, 1)) if d > TODAY + timedelta(days=8)
        )
        friday = change - timedelta(days=2)
        booking = add(
            invoke, f"{friday}T09:00", f"{friday}T10:00", "--weekly", "fri", "--count", "2", title=f"m{month}"
        )
        starts = [
            (o["start"][:10], o["start"][11:16], o["end"][11:16]) for o in booking["series"]["occurrences"]
        ]
        later = friday + timedelta(days=7)
        end_before, end_after = (f"{int(t[:2]) + 1:02}:00" for t in (before, after))
        assert starts == [(str(friday), before, end_before), (str(later), after, end_after)]
        listed = ok(invoke("bookings", "list", "--from", f"{later}T00:00", "--to", f"{later}T23:00")).out
        assert f"{friday} 09:00  {friday} 10:00" in listed


@pytest.mark.parametrize(
    ("options", "pattern", "first"),
    [
        (["--daily", "--interval", "2"], {"type": "daily", "interval": 2}, 0),
        (
            ["--weekly", "weekdays"],
            {"type": "weekly", "days_of_week": ["monday", "tuesday", "wednesday", "thursday", "friday"]},
            0,
        ),
        (["--monthly", "31"], {"type": "absolute_monthly", "day_of_month": 31}, None),
        (
            ["--monthly", "last-fri"],
            {"type": "relative_monthly", "days_of_week": ["friday"], "index": "last"},
            None,
        ),
        (["--monthly", "first weekday"], {"type": "relative_monthly", "index": "first"}, None),
        (["--yearly", "feb-29"], {"type": "absolute_yearly", "day_of_month": 29, "month": 2}, None),
        (["--yearly", "12-24"], {"type": "absolute_yearly", "day_of_month": 24, "month": 12}, None),
        (["--yearly", "last-fri-of-mar"], {"type": "relative_yearly", "index": "last", "month": 3}, None),
    ],
)
def test_the_readable_repeat_options_become_exchanges_patterns(
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    pattern: dict[str, Any],
    first: int | None,
) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_BOOKING_HORIZON_DAYS", "1080")
    ok(invoke("persons", "add", DIEGO))
    ok(invoke("rooms", "add", EIGER, "--name", "Eiger"))
    booking = add(invoke, f"{MON}T09:00", f"{MON}T10:00", *options, "--count", "2")
    found = booking["series"]["pattern"]
    assert {k: found[k] for k in pattern} == pattern
    days = [date.fromisoformat(o["start"][:10]) for o in booking["series"]["occurrences"]]
    assert len(days) == 2 and days[0] >= MON
    if first is not None:
        assert days[0] == MON + timedelta(days=first)
    assert booking["start"][:10] == str(days[0])  # the booking's own times are its first occurrence's


def zurich_today() -> date:
    return datetime.now(ZoneInfo("Europe/Zurich")).date()


def test_a_series_without_end_is_booked_up_to_the_horizon(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_BOOKING_HORIZON_DAYS", "20")
    ok(invoke("persons", "add", DIEGO))
    ok(invoke("rooms", "add", EIGER, "--name", "Eiger"))
    first = zurich_today() + timedelta(days=3)
    before = zurich_today()
    booking = add(invoke, f"{first}T09:00", f"{first}T10:00", "--daily")
    horizons = {str(day + timedelta(days=20)) for day in (before, zurich_today())}  # the same but at midnight
    series = booking["series"]
    assert series["range"]["type"] == "no_end" and series["booked_until"] in horizons
    last = date.fromisoformat(series["booked_until"])
    assert [o["start"][:10] for o in series["occurrences"]] == [
        str(first + timedelta(days=i)) for i in range((last - first).days + 1)
    ]
    refused = invoke("bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--title", "t", "--start",
                     f"{first}T11:00", "--end", f"{first}T12:00", "--daily", "--count", "20")  # fmt: skip
    assert refused.code == 2
    assert refused.err in {
        f"Error: the series reaches beyond {horizon}, the booking horizon (rooms.booking_horizon_days = 20 days "
        f"ahead); nothing was changed — end it by {horizon} with a smaller --count, or leave out --until and "
        "--count: a series without end is booked up to the horizon (rooms' booking windows end there too)\n"
        for horizon in horizons
    }


@pytest.mark.usefixtures("setup")
def test_a_series_with_taken_occurrences_is_refused_whole_naming_every_date(invoke: Invoke) -> None:
    add(invoke, f"{WED2}T09:30", f"{WED2}T11:00", title="Board", room=MOENCH)
    add(invoke, f"{MON3}T08:00", f"{MON3}T09:30", title="Early", room=MOENCH)
    before = dump()
    run = invoke("bookings", "add", "--organizer", DIEGO, "--room", MOENCH, "--title", "Standup", "--start",
                 f"{MON}T09:00", "--end", f"{MON}T10:00", "--weekly", "mon,wed", "--until", str(WED3))  # fmt: skip
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "Error: Mönch (moench@contoso.com) is already booked at 2 of the series' 6 occurrences (Europe/Zurich): "
        f'{WED2} 09:00–10:00 by booking 3 "Board", {MON3} 09:00–10:00 by booking 4 "Early"; nothing was booked '
        "— a series is booked whole or not at all: choose another time or room, or end the series before the first "
        "of them; see 'roomsops bookings list --room moench@contoso.com'\n"
    )
    assert dump() == before
    # A single booking on a slot a series holds is refused like any other; the slot after it is free.
    single = invoke("bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--title", "x",
                    "--start", f"{WED2}T09:30", "--end", f"{WED2}T10:30")  # fmt: skip
    assert (
        single.code == 2
        and f'already booked {WED2} 09:00–10:00 (Europe/Zurich) by booking 1 "Jour fixe"' in single.err
    )
    add(invoke, f"{WED2}T10:00", f"{WED2}T11:00", title="After")


@pytest.mark.usefixtures("setup")
def test_one_occurrence_moved_changed_and_cancelled(invoke: Invoke) -> None:
    moved = invoke("bookings", "update", "1", "--occurrence", str(WED), "--start", f"{WED}T14:00",
                   "--end", f"{WED}T15:30", "--title", "Review")  # fmt: skip
    assert ok(moved).out.splitlines()[:6] == [
        f"booking 1 occurrence {WED} updated: start, end, title",
        "  title      Jour fixe",
        f"  room       Eiger ({EIGER})",
        f"  first      {MON} 09:00–10:00 (Europe/Zurich)",
        f"  repeats    weekly on Monday, Wednesday from {MON}, 6 times: 6 occurrences; moved {WED} to {WED} 14:00–15:30;"
        f" changed {WED} (title)",
        f'  occurrence {WED} 14:00–15:30, moved from {WED} 09:00, title "Review"',
    ]
    # Its old slot is free, its new one taken.
    add(invoke, f"{WED}T09:00", f"{WED}T10:00", title="In the old slot")
    taken = invoke("bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--title", "x",
                   "--start", f"{WED}T15:00", "--end", f"{WED}T16:00")  # fmt: skip
    assert f'already booked {WED} 14:00–15:30 (Europe/Zurich) by booking 1 "Review"' in taken.err
    cancelled = ok(invoke("bookings", "cancel", "1", "--occurrence", str(MON2), "--yes")).out.splitlines()
    assert cancelled[0] == f"booking 1 occurrence {MON2} cancelled"
    assert ok(invoke("bookings", "cancel", "1", "--occurrence", str(MON2), "--yes")).out.splitlines()[0] == (
        f"booking 1 occurrence {MON2} was already cancelled"
    )
    add(invoke, f"{MON2}T09:00", f"{MON2}T10:00", title="In the cancelled slot")
    occurrences = {o["original_start"][:10]: o for o in series_of(invoke, 1)["series"]["occurrences"]}
    assert (occurrences[str(WED)]["changes"], occurrences[str(WED)]["moved"]) == ({"title": "Review"}, True)
    assert occurrences[str(MON2)]["status"] == "cancelled"
    # The title set back to the series' own is no change of the occurrence any more; the move stays.
    ok(invoke("bookings", "update", "1", "--occurrence", str(WED), "--title", "Jour fixe"))
    occurrence = {o["original_start"][:10]: o for o in series_of(invoke, 1)["series"]["occurrences"]}[
        str(WED)
    ]
    assert (occurrence["changes"], occurrence["moved"]) == ({}, True)
    done = [(r["action"], r["target"]) for r in audit()]
    assert ("bookings.update", f"booking 1 occurrence {WED}") in done
    assert ("bookings.cancel", f"booking 1 occurrence {MON2}") in [
        (r["action"], r["target"]) for r in audit()
    ]


@pytest.mark.usefixtures("setup")
def test_the_whole_series_changes_its_fields_room_and_pattern(invoke: Invoke) -> None:
    ok(invoke("bookings", "update", "1", "--occurrence", str(WED2), "--title", "Special", "--reminder", "5"))
    ok(invoke("bookings", "cancel", "1", "--occurrence", str(MON2), "--yes"))
    # A title for the whole series is the series' again in every occurrence; the reminder stays WED2's own.
    run = ok(invoke("--json", "bookings", "update", "1", "--title", "Weekly"))
    assert json.loads(run.out)["changed"] == ["title"]
    occurrences = {o["original_start"][:10]: o for o in series_of(invoke, 1)["series"]["occurrences"]}
    assert occurrences[str(WED2)]["changes"] == {"reminder_minutes": 5}
    # Another room: each active occurrence must be free there (the cancelled one is not asked for).
    add(invoke, f"{MON2}T09:00", f"{MON2}T10:00", title="On the cancelled day", room=MOENCH)
    add(invoke, f"{WED3}T09:00", f"{WED3}T09:15", title="Blocker", room=MOENCH)
    refused = invoke("bookings", "update", "1", "--room", MOENCH)
    assert refused.code == 2
    assert refused.err == (
        "Error: Mönch (moench@contoso.com) is already booked at 1 of the series' 5 occurrences (Europe/Zurich): "
        f'{WED3} 09:00–10:00 by booking 4 "Blocker"; nothing was booked — a series is booked whole or not at all: '
        "choose another time or room, or end the series before the first of them; see 'roomsops bookings list "
        "--room moench@contoso.com'\n"
    )
    ok(invoke("bookings", "cancel", "4", "--yes"))
    assert json.loads(ok(invoke("--json", "bookings", "update", "1", "--room", MOENCH)).out)["changed"] == [
        "room"
    ]
    # A new pattern: the exceptions of the days that stay are kept, the others dropped (and said so).
    changed = ok(invoke("bookings", "update", "1", "--weekly", "mon,thu")).out.splitlines()
    assert changed[0] == "booking 1 updated: repeat"
    assert changed[4] == (
        f"  repeats    weekly on Monday, Thursday from {MON}, 6 times: 5 occurrences; cancelled {MON2}"
    )
    assert changed[-1] == f"  dropped    {WED2} reminder minutes changed (its day is no longer in the series)"
    # New times move every occurrence; a start in the past is refused as for single bookings.
    later = json.loads(
        ok(
            invoke("--json", "bookings", "update", "1", "--start", f"{MON}T10:00", "--end", f"{MON}T11:00")
        ).out
    )
    assert later["changed"] == ["start", "end"]
    assert {o["start"][11:16] for o in later["booking"]["series"]["occurrences"]} <= {"08:00", "09:00"}  # UTC


BOOK = ["bookings", "add", "--organizer", DIEGO, "--room", EIGER, "--title", "t"]
AT = ["--start", f"{MON}T11:00", "--end", f"{MON}T12:00"]
BAD = [
    ("unknown day", [*BOOK, *AT, "--weekly", "mon,someday"],
     "Error: --weekly 'mon,someday': 'someday' is not a day of the week — give days as mon,tue,wed,thu,fri,sat,sun "
     "(or weekdays), e.g. --weekly mon,wed"),
    ("two patterns", [*BOOK, *AT, "--weekly", "mon", "--daily"],
     "Error: --daily and --weekly exclude each other — give one of --daily, --weekly, --monthly or --yearly"),
    ("until and count", [*BOOK, *AT, "--daily", "--until", str(WED), "--count", "3"],
     "Error: --until and --count exclude each other — end a series by a date or by a number of occurrences"),
    ("until without a pattern", [*BOOK, *AT, "--until", str(WED)],
     "Error: --until without a pattern — give one of --daily, --weekly, --monthly or --yearly, e.g. --weekly mon"),
    ("until not a date", [*BOOK, *AT, "--daily", "--until", "next week"],
     "Error: --until 'next week' is not a date — write it as YYYY-MM-DD, e.g. --until 2027-06-30 (the last day, "
     "local)"),
    ("until before the start", [*BOOK, *AT, "--daily", "--until", str(MON - timedelta(days=1))],
     f"Error: --until {MON - timedelta(days=1)} is before the series' first day {MON} — give the date of the last "
     "day the series may fall on"),
    ("no occurrences", [*BOOK, *AT, "--daily", "--count", "0"],
     "Error: --count 0 is not a number of occurrences — give at least 1, e.g. --count 10"),
    ("interval 100", [*BOOK, *AT, "--daily", "--interval", "100"],
     "Error: --interval 100 is not between 1 and 99 — give the days, weeks or months between occurrences, e.g. "
     "--interval 2 (Exchange allows 1 to 99)"),
    ("yearly interval", [*BOOK, *AT, "--yearly", "feb-29", "--interval", "2"],
     "Error: --interval with --yearly: a yearly series repeats every year — leave out --interval (Exchange's "
     "yearly patterns over EWS have none)"),
    ("no 31 April", [*BOOK, *AT, "--yearly", "apr-31"],
     "Error: --yearly 'apr-31': April has no day 31 — give a month and a day, e.g. --yearly feb-29 (or 02-29), or "
     "a weekday of a month: --yearly last-fri-mar"),
    ("monthly day 32", [*BOOK, *AT, "--monthly", "32"],
     "Error: --monthly '32': the day of the month is not between 1 and 31 — give a day from 1 to 31 (31: the "
     "month's last day in shorter months), e.g. --monthly 15"),
    ("monthly nonsense", [*BOOK, *AT, "--monthly", "last-payday"],
     "Error: --monthly 'last-payday' is not a day of the month — give an index (first, second, third, fourth, "
     "last) and a day (mon..sun, day, weekday, weekend-day), e.g. --monthly last-fri"),
    ("occurrences overlapping", [*BOOK, "--start", f"{MON}T11:00", "--end", f"{MON + timedelta(days=1)}T12:00",
                                 "--daily", "--count", "3"],
     f"Error: the occurrence of {MON} 11:00 – {MON + timedelta(days=1)} 12:00 (Europe/Zurich) overlaps the next "
     f"one ({MON + timedelta(days=1)} 11:00); nothing was changed — shorten the booking or repeat it less often "
     "(Exchange refuses a series whose occurrences overlap)"),
    ("occurrence of a single booking", ["bookings", "update", "2", "--occurrence", str(MON), "--title", "x"],
     "Error: booking 2 is not a series: it has no occurrences — leave out --occurrence"),
    ("occurrence not a date", ["bookings", "update", "1", "--occurrence", "monday", "--title", "x"],
     "Error: --occurrence 'monday' is not a date — give the occurrence's date as YYYY-MM-DD (local, as first "
     "booked), e.g. --occurrence 2031-04-07"),
    ("no occurrence that day", ["bookings", "cancel", "1", "--occurrence", str(MON + timedelta(days=1)), "--yes"],
     f"Error: booking 1 has no occurrence on {MON + timedelta(days=1)} (Europe/Zurich); the nearest are {MON}, "
     f"{WED} — give the date of one of its occurrences (as first booked; see 'roomsops bookings list --json')"),
    ("room of one occurrence", ["bookings", "update", "1", "--occurrence", str(WED), "--room", MOENCH],
     f"Error: --room with --occurrence: they belong to the whole series — leave out --occurrence to change the "
     f"series, or cancel the occurrence ('roomsops bookings cancel 1 --occurrence {WED}') and book that day apart"),
    ("occurrence past its neighbour", ["bookings", "update", "1", "--occurrence", str(WED),
                                       "--start", f"{MON2}T07:00", "--end", f"{MON2}T08:00"],
     f"Error: the occurrence of {WED} cannot move to {MON2} 07:00–08:00 (Europe/Zurich): on or after the day of the "
     f"next occurrence ({MON2}) — move it to a day between its neighbours, or cancel it and book that time apart "
     "(Exchange keeps a series' occurrences in order)"),
    ("a pattern for a single booking", ["bookings", "update", "2", "--weekly", "tue"],
     "Error: booking 2 is a single booking; a repeat pattern is given when a series is booked — book the series "
     "with 'roomsops bookings add ... --weekly DAYS' (or --daily, --monthly, --yearly) and cancel booking 2"),
    ("cancel an occurrence without a terminal", ["bookings", "cancel", "1", "--occurrence", str(WED)],
     f'Error: Cancel the occurrence of {WED} 09:00–10:00 Europe/Zurich of booking 1 "Jour fixe" (Eiger): this '
     "needs confirmation — run it on a terminal to confirm, or pass --yes"),
    ("cancel a series without a terminal", ["bookings", "cancel", "1"],
     f'Error: Cancel booking 1 "Jour fixe" (Eiger, weekly on Monday, Wednesday from {MON}, 6 times, every '
     "occurrence): this needs confirmation — run it on a terminal to confirm, or pass --yes"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
@pytest.mark.usefixtures("unchanged")
def test_bad_series_input_exits_2_with_one_line_and_changes_nothing(
    invoke: Invoke, args: list[str], message: str
) -> None:
    run = invoke(*args)
    assert (run.code, run.out) == (2, ""), run.err
    assert run.err.splitlines() == [message]


@pytest.mark.usefixtures("setup")
def test_an_occurrence_moved_onto_a_taken_slot_and_the_last_occurrence_are_refused(invoke: Invoke) -> None:
    tuesday = MON + timedelta(days=1)
    add(invoke, f"{tuesday}T09:30", f"{tuesday}T10:30", title="Taken")
    before = dump()
    run = invoke("bookings", "update", "1", "--occurrence", str(MON), "--start", f"{tuesday}T09:00",
                 "--end", f"{tuesday}T10:00")  # fmt: skip
    assert (run.code, run.err) == (
        2,
        "Error: Eiger (eiger@contoso.com) is already booked at 1 of the series' 1 occurrences (Europe/Zurich): "
        f'{tuesday} 09:00–10:00 by booking 3 "Taken"; nothing was booked — a series is booked whole or not at all: '
        "choose another time or room, or end the series before the first of them; see 'roomsops bookings list "
        "--room eiger@contoso.com'\n",
    )
    assert dump() == before
    for day in SERIES[1:]:
        ok(invoke("bookings", "cancel", "1", "--occurrence", str(day), "--yes"))
    before = dump()
    last = invoke("bookings", "cancel", "1", "--occurrence", str(MON), "--yes")
    assert (last.code, last.err) == (
        2,
        f"Error: the occurrence of {MON} is the last one left of booking 1 — cancel the whole booking with 'roomsops "
        "bookings cancel 1' (Exchange holds no series without an occurrence)\n",
    )
    assert dump() == before
    assert ok(invoke("bookings", "cancel", "1", "--yes")).out.splitlines()[0] == "booking 1 cancelled"
    assert series_of(invoke, 1)["sync"] == "cancelled"

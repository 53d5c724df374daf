"""Review of issue 16: numbers a confused administrator types that reached SQLite or Exchange unchecked.

A booking id beyond SQLite's INTEGER (2**63-1) was "unexpected OverflowError" (exit 1) in `bookings cancel`,
`bookings update` and `sync resolve`; a reminder beyond it the same, and one beyond EWS's
ReminderMinutesBeforeStartType (0..2629800) was stored and then refused by Exchange on every sync pass.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import Invoke, ok, one_line_error

HUGE = "99999999999999999999"  # > 2**63 - 1


@pytest.fixture
def booked(invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ROOMSOPS_ROOMS_TIME_ZONE", "Europe/Zurich")
    ok(invoke("persons", "add", "diego@contoso.com"))
    ok(invoke("rooms", "add", "eiger@contoso.com", "--name", "Eiger"))
    ok(
        invoke(
            "bookings", "add", "--organizer", "diego@contoso.com", "--room", "eiger@contoso.com",
            "--start", "2031-05-01T09:00", "--end", "2031-05-01T10:00", "--title", "Planning",
        )
    )  # fmt: skip
    return tmp_path / "rooms.db"


def dump(db: Path) -> str:
    with closing(sqlite3.connect(db)) as conn:
        return "\n".join(conn.iterdump())


@pytest.mark.parametrize(
    "args",
    [
        ("bookings", "cancel", HUGE, "--yes"),
        ("bookings", "update", HUGE, "--title", "x"),
        ("sync", "resolve", HUGE, "--use", "rooms"),
        ("bookings", "cancel", "0", "--yes"),
    ],
    ids=["cancel", "update", "resolve", "cancel-0"],
)
def test_a_booking_id_beyond_sqlite_is_exit_2(args: tuple[str, ...], invoke: Invoke, booked: Path) -> None:
    before = dump(booked)
    run = invoke(*args)
    assert (run.code, run.out) == (2, ""), run.err
    assert one_line_error(run) == f"Error: there is no booking {args[2]} — see 'roomsops bookings list'"
    assert dump(booked) == before


@pytest.mark.parametrize("minutes", [HUGE, "20161"])
@pytest.mark.parametrize("command", ["add", "update"])
def test_a_reminder_beyond_exchanges_limit_is_exit_2(
    minutes: str, command: str, invoke: Invoke, booked: Path
) -> None:
    before = dump(booked)
    where = (
        ["add", "--organizer", "diego@contoso.com", "--room", "eiger@contoso.com", "--title", "Later",
         "--start", "2031-06-01T09:00", "--end", "2031-06-01T10:00"]
        if command == "add"
        else ["update", "1"]
    )  # fmt: skip
    run = invoke("bookings", *where, "--reminder", minutes)
    assert (run.code, run.out) == (2, ""), run.err
    assert one_line_error(run) == (
        f"Error: the reminder {minutes} is more than 20160 minutes (two weeks) — give the "
        "minutes before the start, e.g. 15"
    )
    assert dump(booked) == before


def test_the_largest_reminder_outlook_offers_is_taken(invoke: Invoke, booked: Path) -> None:
    ok(invoke("bookings", "update", "1", "--reminder", "20160"))

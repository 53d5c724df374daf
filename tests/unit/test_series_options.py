"""The readable repeat options (`services.rooms.series`) as Exchange's patterns and ranges, and what they refuse."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from roomsops.core import recurrence as r
from roomsops.core.errors import InputError
from roomsops.services.rooms.series import Repeat, recurrence_of

ZURICH = ZoneInfo("Europe/Zurich")
FIRST = date(2031, 3, 3)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


@pytest.mark.parametrize(
    ("repeat", "pattern"),
    [
        (Repeat(daily=True, interval=3), r.Pattern(r.DAILY, interval=3)),
        (Repeat(weekly="Wed, MON,monday"), r.Pattern(r.WEEKLY, days_of_week=("monday", "wednesday"))),
        (Repeat(weekly="weekdays"), r.Pattern(r.WEEKLY, days_of_week=WEEKDAYS)),
        (Repeat(weekly="tues,thurs"), r.Pattern(r.WEEKLY, days_of_week=("tuesday", "thursday"))),
        (Repeat(monthly="31"), r.Pattern(r.ABSOLUTE_MONTHLY, day_of_month=31)),
        (Repeat(monthly="last-fri"), r.Pattern(r.RELATIVE_MONTHLY, days_of_week=("friday",), index="last")),
        (
            Repeat(monthly="2nd tuesday"),
            r.Pattern(r.RELATIVE_MONTHLY, days_of_week=("tuesday",), index="second"),
        ),
        (
            Repeat(monthly="first weekday"),
            r.Pattern(r.RELATIVE_MONTHLY, days_of_week=WEEKDAYS, index="first"),
        ),
        (
            Repeat(monthly="last-weekend-day"),
            r.Pattern(r.RELATIVE_MONTHLY, days_of_week=("saturday", "sunday"), index="last"),
        ),
        (Repeat(yearly="feb-29"), r.Pattern(r.ABSOLUTE_YEARLY, day_of_month=29, month=2)),
        (Repeat(yearly="29 February"), r.Pattern(r.ABSOLUTE_YEARLY, day_of_month=29, month=2)),
        (Repeat(yearly="12-24"), r.Pattern(r.ABSOLUTE_YEARLY, day_of_month=24, month=12)),
        (
            Repeat(yearly="last-fri-of-mar"),
            r.Pattern(r.RELATIVE_YEARLY, days_of_week=("friday",), index="last", month=3),
        ),
    ],
)
def test_each_option_is_exchanges_pattern(repeat: Repeat, pattern: r.Pattern) -> None:
    assert recurrence_of(repeat, FIRST, ZURICH).pattern == pattern


def test_the_range_options() -> None:
    assert recurrence_of(Repeat(daily=True), FIRST, ZURICH).range == r.Range(r.NO_END, FIRST)
    assert recurrence_of(Repeat(daily=True, count=4), FIRST, ZURICH).range == r.Range(
        r.NUMBERED, FIRST, number_of_occurrences=4
    )
    until = recurrence_of(Repeat(daily=True, until="2031-06-30"), FIRST, ZURICH)
    assert (until.range, until.time_zone) == (
        r.Range(r.END_DATE, FIRST, end_date=date(2031, 6, 30)),
        ZURICH.key,
    )


def test_on_update_an_option_changes_only_itself() -> None:
    current = recurrence_of(Repeat(weekly="mon", interval=2, count=5), FIRST, ZURICH)
    later = date(2031, 3, 10)
    assert recurrence_of(Repeat(until="2031-05-01"), later, ZURICH, current) == r.Recurrence(
        r.Pattern(r.WEEKLY, interval=2, days_of_week=("monday",)),
        r.Range(r.END_DATE, later, end_date=date(2031, 5, 1)),
        ZURICH.key,
    )
    assert recurrence_of(Repeat(interval=3), FIRST, ZURICH, current).pattern.interval == 3
    assert recurrence_of(Repeat(no_end=True), FIRST, ZURICH, current).range == r.Range(r.NO_END, FIRST)
    # A new pattern replaces the old one, interval included; the range stays.
    replaced = recurrence_of(Repeat(weekly="tue"), FIRST, ZURICH, current)
    assert (replaced.pattern.interval, replaced.range) == (1, current.range)


@pytest.mark.parametrize(
    ("repeat", "message"),
    [
        (Repeat(weekly=" , "), "--weekly names no day"),
        (Repeat(monthly=""), "--monthly is empty"),
        (Repeat(monthly="last fri foo"), "--monthly 'last fri foo' is not a day of the month"),
        (Repeat(monthly="fifth-mon"), "--monthly 'fifth-mon' is not a day of the month"),
        (Repeat(yearly="last-fri-foo-mar"), "--yearly 'last-fri-foo-mar' is not a day of the year"),
        (Repeat(yearly="13-01"), "--yearly '13-01': there is no month 13"),
        (Repeat(yearly="feb-30"), "--yearly 'feb-30': February has no day 30"),
        (Repeat(yearly="feb"), "--yearly 'feb' is not a day of the year"),
        (Repeat(count=3), "--count without a pattern"),
        (
            Repeat(daily=True, until="2031-03-02"),
            "--until 2031-03-02 is before the series' first day 2031-03-03",
        ),
        (
            Repeat(daily=True, monthly="1", yearly="jan-1"),
            "--daily and --monthly and --yearly exclude each other",
        ),
    ],
)
def test_what_the_options_refuse(repeat: Repeat, message: str) -> None:
    with pytest.raises(InputError) as refused:
        recurrence_of(repeat, FIRST, ZURICH)
    assert refused.value.message == message

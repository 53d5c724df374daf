"""The pattern maths of a series (`core.recurrence`): Exchange's rules for dates, zoneinfo for the wall clock.

Every expected date below was worked out by hand from a calendar, not by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from roomsops.core import recurrence as r
from roomsops.core.recurrence import Pattern, Range, Recurrence

ZURICH = ZoneInfo("Europe/Zurich")


def series(pattern: Pattern, start: date, *, end: date | None = None, count: int | None = None) -> Recurrence:
    if end is not None:
        span = Range(r.END_DATE, start, end_date=end)
    elif count is not None:
        span = Range(r.NUMBERED, start, number_of_occurrences=count)
    else:
        span = Range(r.NO_END, start)
    rec = Recurrence(pattern, span, "Europe/Zurich")
    r.check(rec)
    return rec


def dates(rec: Recurrence, last: date = date(2040, 1, 1)) -> list[date]:
    return list(r.series_dates(rec, last).dates)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def times(rec: Recurrence, clock: time, minutes: int) -> list[tuple[datetime, datetime]]:
    return [r.occurrence(d, clock, timedelta(minutes=minutes), ZURICH) for d in dates(rec)]


def test_weekly_across_the_march_change_keeps_the_wall_clock() -> None:
    # Europe/Zurich springs forward on Sunday 2027-03-28 (02:00 CET -> 03:00 CEST).
    rec = series(Pattern(r.WEEKLY, days_of_week=("monday", "wednesday")), date(2027, 3, 22), count=4)
    assert dates(rec) == [date(2027, 3, 22), date(2027, 3, 24), date(2027, 3, 29), date(2027, 3, 31)]
    assert times(rec, time(9, 0), 60) == [
        (utc(2027, 3, 22, 8), utc(2027, 3, 22, 9)),  # 09:00 CET = 08:00 UTC
        (utc(2027, 3, 24, 8), utc(2027, 3, 24, 9)),
        (utc(2027, 3, 29, 7), utc(2027, 3, 29, 8)),  # 09:00 CEST = 07:00 UTC
        (utc(2027, 3, 31, 7), utc(2027, 3, 31, 8)),
    ]


def test_weekly_across_the_october_change_keeps_the_wall_clock() -> None:
    # Falls back on Sunday 2027-10-31 (03:00 CEST -> 02:00 CET).
    rec = series(Pattern(r.WEEKLY, days_of_week=("friday",)), date(2027, 10, 22), end=date(2027, 11, 5))
    assert times(rec, time(17, 30), 90) == [
        (utc(2027, 10, 22, 15, 30), utc(2027, 10, 22, 17)),  # 17:30 CEST
        (utc(2027, 10, 29, 15, 30), utc(2027, 10, 29, 17)),
        (utc(2027, 11, 5, 16, 30), utc(2027, 11, 5, 18)),  # 17:30 CET
    ]


def test_a_night_spanning_the_change_keeps_its_wall_clock_end() -> None:
    """Saturday 22:00 to Sunday 06:00 lasts 7 hours on the night of the spring change and 9 on the autumn one (MS-
    OXOCAL: the end is minutes after local midnight, like the start)."""
    rec = series(Pattern(r.DAILY), date(2027, 3, 27), count=1)
    ((start, end),) = times(rec, time(22, 0), 8 * 60)
    assert (start, end, end - start) == (utc(2027, 3, 27, 21), utc(2027, 3, 28, 4), timedelta(hours=7))
    rec = series(Pattern(r.DAILY), date(2027, 10, 30), count=1)
    ((start, end),) = times(rec, time(22, 0), 8 * 60)
    assert (start, end, end - start) == (utc(2027, 10, 30, 20), utc(2027, 10, 31, 5), timedelta(hours=9))


def test_a_time_the_clock_skips_is_read_before_the_change_and_one_it_repeats_is_the_first() -> None:
    rec = series(Pattern(r.DAILY), date(2027, 3, 27), count=3)
    assert times(rec, time(2, 30), 30) == [
        (utc(2027, 3, 27, 1, 30), utc(2027, 3, 27, 2)),  # 02:30 CET
        # 02:30 does not exist on the 28th: read as CET it is 01:30 UTC = 03:30 CEST, and its end (03:00 wall) would
        # come before it, so the occurrence lasts its 30 minutes.
        (utc(2027, 3, 28, 1, 30), utc(2027, 3, 28, 2)),
        (utc(2027, 3, 29, 0, 30), utc(2027, 3, 29, 1)),  # 02:30 CEST
    ]
    rec = series(Pattern(r.DAILY), date(2027, 10, 31), count=1)
    assert times(rec, time(2, 30), 15) == [
        (utc(2027, 10, 31, 0, 30), utc(2027, 10, 31, 0, 45))
    ]  # the first 02:30


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    rec = series(Pattern(r.ABSOLUTE_MONTHLY, day_of_month=31), date(2027, 1, 1), count=7)
    assert dates(rec) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
        date(2027, 6, 30),
        date(2027, 7, 31),
    ]
    leap = series(Pattern(r.ABSOLUTE_MONTHLY, interval=12, day_of_month=31), date(2028, 2, 1), count=2)
    assert dates(leap) == [date(2028, 2, 29), date(2029, 2, 28)]


def test_monthly_skips_the_start_month_when_its_day_has_passed_and_counts_the_interval_from_it() -> None:
    rec = series(Pattern(r.ABSOLUTE_MONTHLY, interval=2, day_of_month=15), date(2027, 1, 20), count=3)
    assert dates(rec) == [date(2027, 3, 15), date(2027, 5, 15), date(2027, 7, 15)]


def test_relative_monthly_on_the_last_friday() -> None:
    rec = series(
        Pattern(r.RELATIVE_MONTHLY, days_of_week=("friday",), index="last"),
        date(2027, 1, 1),
        end=date(2027, 5, 31),
    )
    assert dates(rec) == [
        date(2027, 1, 29),
        date(2027, 2, 26),
        date(2027, 3, 26),
        date(2027, 4, 30),
        date(2027, 5, 28),
    ]


def test_relative_monthly_on_a_day_group() -> None:
    first_weekday = Pattern(r.RELATIVE_MONTHLY, days_of_week=r.DAY_GROUPS["weekday"], index="first")
    # 2027-05-01 is a Saturday, 2027-08-01 a Sunday.
    assert dates(series(first_weekday, date(2027, 5, 1), count=4)) == [
        date(2027, 5, 3),
        date(2027, 6, 1),
        date(2027, 7, 1),
        date(2027, 8, 2),
    ]
    last_weekend_day = Pattern(r.RELATIVE_MONTHLY, days_of_week=r.DAY_GROUPS["weekend_day"], index="last")
    assert dates(series(last_weekend_day, date(2027, 2, 1), count=2)) == [
        date(2027, 2, 28),
        date(2027, 3, 28),
    ]


def test_yearly_on_29_february_is_the_28th_in_other_years() -> None:
    rec = series(Pattern(r.ABSOLUTE_YEARLY, day_of_month=29, month=2), date(2028, 1, 1), count=5)
    assert dates(rec) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_yearly_starts_the_next_year_when_the_day_has_passed_and_relative_yearly() -> None:
    rec = series(Pattern(r.ABSOLUTE_YEARLY, day_of_month=1, month=3), date(2027, 3, 2), count=2)
    assert dates(rec) == [date(2028, 3, 1), date(2029, 3, 1)]
    last_friday_of_march = Pattern(r.RELATIVE_YEARLY, days_of_week=("friday",), index="last", month=3)
    assert dates(series(last_friday_of_march, date(2027, 1, 1), count=2)) == [
        date(2027, 3, 26),
        date(2028, 3, 31),
    ]


def test_weekly_with_an_interval_counts_weeks_from_the_first_one() -> None:
    # Every second week on Monday and Thursday from Wednesday 2027-01-06 (weeks start on Monday): that week's
    # Thursday, then the Monday and Thursday two weeks on.
    rec = series(
        Pattern(r.WEEKLY, interval=2, days_of_week=("monday", "thursday")), date(2027, 1, 6), count=4
    )
    assert dates(rec) == [date(2027, 1, 7), date(2027, 1, 18), date(2027, 1, 21), date(2027, 2, 1)]
    # Weeks starting on Sunday move the Monday-Sunday split: a Sunday start is the first day of its week.
    sunday_weeks = Pattern(
        r.WEEKLY, interval=2, days_of_week=("sunday", "monday"), first_day_of_week="sunday"
    )
    assert dates(series(sunday_weeks, date(2027, 1, 3), count=4)) == [
        date(2027, 1, 3),
        date(2027, 1, 4),
        date(2027, 1, 17),
        date(2027, 1, 18),
    ]


def test_the_horizon_caps_a_series_without_end_and_tells_whether_a_range_ends_by_it() -> None:
    daily = Pattern(r.DAILY, interval=3)
    capped = r.series_dates(series(daily, date(2027, 1, 1)), date(2027, 1, 10))
    assert (capped.dates, capped.complete) == (
        (date(2027, 1, 1), date(2027, 1, 4), date(2027, 1, 7), date(2027, 1, 10)),
        False,
    )
    ends_by_it = r.series_dates(series(daily, date(2027, 1, 1), count=4), date(2027, 1, 10))
    assert (len(ends_by_it.dates), ends_by_it.complete) == (4, True)
    beyond = r.series_dates(series(daily, date(2027, 1, 1), count=5), date(2027, 1, 10))
    assert (len(beyond.dates), beyond.complete) == (4, False)
    # An end date past the horizon with no occurrence between the two still ends by it.
    no_more = r.series_dates(series(daily, date(2027, 1, 1), end=date(2027, 1, 12)), date(2027, 1, 10))
    assert (len(no_more.dates), no_more.complete) == (4, True)


def test_the_calendars_last_day_ends_every_pattern() -> None:
    rec = series(Pattern(r.DAILY), date(9999, 12, 30))
    assert r.series_dates(rec, date.max) == r.Dates((date(9999, 12, 30), date(9999, 12, 31)), True)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        (Pattern(r.ABSOLUTE_YEARLY, interval=2, day_of_month=1, month=1), "repeats every year"),
        (Pattern(r.ABSOLUTE_YEARLY, day_of_month=31, month=4), "April has no day 31"),
        (Pattern(r.DAILY, interval=100), "not between 1 and 99"),
        (Pattern(r.WEEKLY), "at least one day"),
        (Pattern(r.RELATIVE_MONTHLY, days_of_week=("monday", "friday"), index="first"), "one weekday"),
        (Pattern(r.ABSOLUTE_MONTHLY, day_of_month=32), "not between 1 and 31"),
    ],
)
def test_check_refuses_what_exchange_cannot_hold(pattern: Pattern, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        r.check(Recurrence(pattern, Range(r.NO_END, date(2027, 1, 1)), "Europe/Zurich"))


def test_describe_says_the_pattern_and_range_in_words() -> None:
    start = date(2027, 1, 4)
    said = [
        r.describe(series(p, start, end=date(2027, 6, 30)))
        for p in (
            Pattern(r.WEEKLY, days_of_week=("monday", "wednesday")),
            Pattern(r.DAILY, interval=2),
            Pattern(r.ABSOLUTE_MONTHLY, day_of_month=31),
            Pattern(r.RELATIVE_MONTHLY, days_of_week=("friday",), index="last"),
            Pattern(r.RELATIVE_MONTHLY, days_of_week=r.DAY_GROUPS["weekday"], index="first", interval=3),
        )
    ]
    assert said == [
        "weekly on Monday, Wednesday from 2027-01-04 until 2027-06-30",
        "every 2 days from 2027-01-04 until 2027-06-30",
        "monthly on day 31 from 2027-01-04 until 2027-06-30",
        "monthly on the last Friday from 2027-01-04 until 2027-06-30",
        "every 3 months on the first weekday from 2027-01-04 until 2027-06-30",
    ]
    assert r.describe(series(Pattern(r.ABSOLUTE_YEARLY, day_of_month=29, month=2), start, count=3)) == (
        "yearly on 29 February from 2027-01-04, 3 times"
    )
    assert r.describe(
        series(Pattern(r.RELATIVE_YEARLY, days_of_week=("friday",), index="last", month=3), start)
    ) == ("yearly on the last Friday of March from 2027-01-04, no end")

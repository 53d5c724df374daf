"""A series' recurrence as Exchange models it, and the dates and times of its occurrences.

The model is Microsoft Graph's `patternedRecurrence` (a pattern: daily, weekly, absolute or relative monthly,
absolute or relative yearly, with an interval; a range: an end date, a number of occurrences, or no end; the
series' time zone), restricted to what EWS's `RecurrenceType` can say as well, so that a series maps one-to-one
onto either service (docs/series.md has the mapping): yearly patterns have no interval (EWS's yearly patterns have
none), a relative pattern names one weekday or one of EWS's day groups (any day, a weekday, a weekend day).

Occurrences are expanded in the series' own zone with zoneinfo: a 09:00–10:00 meeting stays 09:00–10:00 local
time across a daylight-saving change (its UTC time moves), as Exchange keeps a series' start and end as minutes
after local midnight (MS-OXOCAL 2.2.1.44.5). A day of the month past the month's end means the month's last day,
as EWS documents for DayOfMonth ("the last day of the month is assumed"): the 31st is the 30th in April, and a
yearly 29 February is the 28th in other years. python-dateutil's rrule follows RFC 5545 instead, which skips such
months: our own small expansion says Exchange's rules directly.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Graph's dayOfWeek names, in `date.weekday()` order (Monday first).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: The day groups a relative pattern may name instead of one weekday (EWS DayOfWeekType Day, Weekday, WeekendDay;
#: Graph: the days as a list).
DAY_GROUPS = {"day": WEEKDAYS, "weekday": WEEKDAYS[:5], "weekend_day": WEEKDAYS[5:]}
#: Graph's weekIndex (EWS DayOfWeekIndex First..Last).
INDEXES = ("first", "second", "third", "fourth", "last")
MONTHS = tuple(calendar.month_name)[1:]

DAILY = "daily"
WEEKLY = "weekly"
ABSOLUTE_MONTHLY = "absolute_monthly"
RELATIVE_MONTHLY = "relative_monthly"
ABSOLUTE_YEARLY = "absolute_yearly"
RELATIVE_YEARLY = "relative_yearly"
PATTERN_TYPES = (DAILY, WEEKLY, ABSOLUTE_MONTHLY, RELATIVE_MONTHLY, ABSOLUTE_YEARLY, RELATIVE_YEARLY)
END_DATE = "end_date"
NUMBERED = "numbered"
NO_END = "no_end"
RANGE_TYPES = (END_DATE, NUMBERED, NO_END)
#: EWS: "The range of valid values is from 1 to 99" (Interval of the daily, weekly and monthly patterns).
MAX_INTERVAL = 99


@dataclass(frozen=True)
class Pattern:
    """How often a series repeats (Graph recurrencePattern; EWS's six pattern elements)."""

    type: str  # one of PATTERN_TYPES
    interval: int = 1  # days, weeks or months between occurrences; 1 for the yearly patterns
    days_of_week: tuple[str, ...] = ()  # weekly: the days; relative: one day, or a DAY_GROUPS group's days
    day_of_month: int | None = None  # absolute patterns: 1..31
    index: str | None = None  # relative patterns: one of INDEXES
    month: int | None = None  # yearly patterns: 1..12
    first_day_of_week: str = "monday"  # weekly: where a week starts (counts with an interval above 1)


@dataclass(frozen=True)
class Range:
    """Where a series starts and ends (Graph recurrenceRange; EWS's three range elements). Dates are local."""

    type: str  # one of RANGE_TYPES
    start_date: date
    end_date: date | None = None  # END_DATE: the last date an occurrence may fall on
    number_of_occurrences: int | None = None  # NUMBERED


@dataclass(frozen=True)
class Recurrence:
    pattern: Pattern
    range: Range
    time_zone: str  # an IANA name: the zone the dates and the wall-clock times are in


def check(rec: Recurrence) -> None:
    """Refuse a recurrence neither EWS nor Graph could hold (ValueError with a sentence saying why)."""
    p, r = rec.pattern, rec.range
    if p.type not in PATTERN_TYPES:
        raise ValueError(f"unknown pattern {p.type!r}")
    if r.type not in RANGE_TYPES:
        raise ValueError(f"unknown range {r.type!r}")
    yearly = p.type in (ABSOLUTE_YEARLY, RELATIVE_YEARLY)
    if yearly and p.interval != 1:
        raise ValueError("a yearly series repeats every year (EWS's yearly patterns have no interval)")
    if not 1 <= p.interval <= MAX_INTERVAL:
        raise ValueError(f"the interval {p.interval} is not between 1 and {MAX_INTERVAL}")
    if any(d not in WEEKDAYS for d in (*p.days_of_week, p.first_day_of_week)):
        raise ValueError(f"unknown day among {', '.join(p.days_of_week)}")
    if p.type == WEEKLY and not p.days_of_week:
        raise ValueError("a weekly series names at least one day of the week")
    if p.type in (RELATIVE_MONTHLY, RELATIVE_YEARLY):
        if p.index not in INDEXES:
            raise ValueError(f"the week index {p.index!r} is not one of {', '.join(INDEXES)}")
        if len(p.days_of_week) != 1 and day_group(p.days_of_week) is None:
            raise ValueError("a relative pattern names one weekday, or any day, a weekday or a weekend day")
    if p.type in (ABSOLUTE_MONTHLY, ABSOLUTE_YEARLY) and not 1 <= (p.day_of_month or 0) <= 31:
        raise ValueError(f"the day of the month {p.day_of_month} is not between 1 and 31")
    if yearly and not 1 <= (p.month or 0) <= 12:
        raise ValueError(f"the month {p.month} is not between 1 and 12")
    if p.type == ABSOLUTE_YEARLY and p.month and p.day_of_month and p.day_of_month > _longest(p.month):
        raise ValueError(f"{MONTHS[p.month - 1]} has no day {p.day_of_month}")
    if r.type == END_DATE and (r.end_date is None or r.end_date < r.start_date):
        raise ValueError("the end date is before the start date")
    if r.type == NUMBERED and (r.number_of_occurrences or 0) < 1:
        raise ValueError("a numbered series has at least one occurrence")


def _longest(month: int) -> int:
    return calendar.monthrange(2000, month)[1]  # a leap year: 29 February exists


def day_group(days: tuple[str, ...]) -> str | None:
    """The DAY_GROUPS name of exactly these days (any order), or None."""
    for name, group in DAY_GROUPS.items():
        if set(days) == set(group) and len(days) == len(group):
            return name
    return None


def _pattern_dates(p: Pattern, start: date) -> Iterator[date]:
    """Every date the pattern names on or after `start`, in order, without end."""
    if p.type == DAILY:
        day = start
        while True:
            yield day
            day += timedelta(days=p.interval)
    elif p.type == WEEKLY:
        wanted = {WEEKDAYS.index(d) for d in p.days_of_week}
        # The week that holds `start`, from its first day; then every `interval` weeks.
        week = start - timedelta(days=(start.weekday() - WEEKDAYS.index(p.first_day_of_week)) % 7)
        while True:
            for offset in range(7):
                day = week + timedelta(days=offset)
                if day >= start and day.weekday() in wanted:
                    yield day
            week += timedelta(weeks=p.interval)
    else:
        yearly = p.type in (ABSOLUTE_YEARLY, RELATIVE_YEARLY)
        year, month = start.year, start.month
        if yearly:
            assert p.month is not None
            year, month = (start.year, p.month) if p.month >= start.month else (start.year + 1, p.month)
        step = 12 if yearly else p.interval
        while True:
            day = _day_in_month(p, year, month)
            if day >= start:
                yield day
            month += step
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _day_in_month(p: Pattern, year: int, month: int) -> date:
    length = calendar.monthrange(year, month)[1]
    if p.type in (ABSOLUTE_MONTHLY, ABSOLUTE_YEARLY):
        assert p.day_of_month is not None
        return date(year, month, min(p.day_of_month, length))  # past the month's end: its last day
    wanted = {WEEKDAYS.index(d) for d in p.days_of_week}
    matching = [d for d in range(1, length + 1) if date(year, month, d).weekday() in wanted]
    assert p.index is not None
    # Every weekday falls at least four times in a month, and every group at least four times too.
    return date(year, month, matching[-1] if p.index == "last" else matching[INDEXES.index(p.index)])


@dataclass(frozen=True)
class Dates:
    """The dates of a series up to a last date (the booking horizon)."""

    dates: tuple[date, ...]
    #: Whether the range ends by the last date: False when it has a date beyond it (always, for no end).
    complete: bool


def series_dates(rec: Recurrence, last: date) -> Dates:
    """The occurrence dates of `rec` from its range's start, as its range bounds them, up to `last`."""
    r = rec.range
    found: list[date] = []
    try:
        for day in _pattern_dates(rec.pattern, r.start_date):
            if r.type == END_DATE and r.end_date is not None and day > r.end_date:
                return Dates(tuple(found), True)
            if r.type == NUMBERED and len(found) >= (r.number_of_occurrences or 0):
                return Dates(tuple(found), True)
            if day > last:
                return Dates(tuple(found), False)
            found.append(day)
    except (OverflowError, ValueError):  # the calendar's last day (9999-12-31) ends every pattern
        pass
    return Dates(tuple(found), True)


def wall_clock(start: datetime, end: datetime, tz: ZoneInfo) -> tuple[time, timedelta]:
    """The local start time and the wall-clock duration of a first occurrence (both aware)."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    return local_start.time().replace(tzinfo=None), local_end.replace(tzinfo=None) - local_start.replace(
        tzinfo=None
    )


def at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """`day` at wall-clock `clock` in `tz`, in UTC. A time the clock skips (the hour of the spring change) is read
    with the offset before the change, so 02:30 is 03:30 summer time; a time that happens twice (the autumn change)
    is the first of the two."""
    return datetime.combine(day, clock, tzinfo=tz).replace(fold=0).astimezone(UTC)


def occurrence(day: date, clock: time, duration: timedelta, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start and end (UTC) of the occurrence on `day`: both at their wall-clock times. Should the end's wall
    time be no later than the start (the start in the skipped hour), the occurrence lasts the wall duration."""
    start = at(day, clock, tz)
    local_end = datetime.combine(day, clock) + duration
    end = local_end.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return start, end if end > start else start + duration


def describe(rec: Recurrence) -> str:
    """The recurrence in words, e.g. "weekly on Monday, Wednesday until 2027-06-30"."""
    p, r = rec.pattern, rec.range
    every = {DAILY: "day", WEEKLY: "week", ABSOLUTE_MONTHLY: "month", RELATIVE_MONTHLY: "month"}
    if p.type in (ABSOLUTE_YEARLY, RELATIVE_YEARLY):
        head = "yearly"
    elif p.interval == 1:
        head = {DAILY: "daily", WEEKLY: "weekly"}.get(p.type, "monthly")
    else:
        head = f"every {p.interval} {every[p.type]}s"
    if p.type == WEEKLY:
        head += " on " + ", ".join(d.capitalize() for d in WEEKDAYS if d in p.days_of_week)
    elif p.type == ABSOLUTE_MONTHLY:
        head += f" on day {p.day_of_month}"
    elif p.type == ABSOLUTE_YEARLY:
        assert p.month is not None
        head += f" on {p.day_of_month} {MONTHS[p.month - 1]}"
    elif p.type in (RELATIVE_MONTHLY, RELATIVE_YEARLY):
        group = day_group(p.days_of_week)
        days = (group or p.days_of_week[0]).replace("_", " ")
        head += f" on the {p.index} {days if group else days.capitalize()}"
        if p.type == RELATIVE_YEARLY:
            assert p.month is not None
            head += f" of {MONTHS[p.month - 1]}"
    if r.type == END_DATE:
        return f"{head} from {r.start_date} until {r.end_date}"
    if r.type == NUMBERED:
        return f"{head} from {r.start_date}, {r.number_of_occurrences} times"
    return f"{head} from {r.start_date}, no end"

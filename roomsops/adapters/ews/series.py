"""A series over EWS (docs/series.md, "Sync of series"): `core.calendar.SeriesFields` as exchangelib's Recurrence
and back, and the exceptions written as occurrences of the master (OccurrenceItemId: RecurringMasterId and
InstanceIndex, the occurrence's 1-based position in the series, deleted ones counted)."""

from __future__ import annotations

from datetime import date
from typing import Any

from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from roomsops.core import recurrence as r
from roomsops.core.calendar import SeriesFields

#: exchangelib's weekday numbers (EWS DayOfWeekType): Monday 1 … Sunday 7, then the groups Day, Weekday, WeekendDay.
_DAY = {name: number for number, name in enumerate(r.WEEKDAYS, start=1)}
_GROUP = {"day": 8, "weekday": 9, "weekend_day": 10}
_INDEX = {name: number for number, name in enumerate(r.INDEXES, start=1)}  # DayOfWeekIndex First 1 … Last 5


def _relative_day(days: tuple[str, ...]) -> int:
    group = r.day_group(days)
    return _GROUP[group] if group else _DAY[days[0]]


def _days_of(number: int) -> tuple[str, ...]:
    for name, value in _GROUP.items():
        if value == number:
            return r.DAY_GROUPS[name]
    return (r.WEEKDAYS[number - 1],)


def _day(value: Any) -> date | None:
    """A boundary's date as a plain date (exchangelib reads an EWSDate, or a datetime for some servers)."""
    if value is None:
        return None
    return date(value.year, value.month, value.day)


def to_recurrence(series: SeriesFields) -> Recurrence:
    p, rng = series.pattern, series.range
    pattern: Any
    if p.type == r.DAILY:
        pattern = DailyPattern(interval=p.interval)
    elif p.type == r.WEEKLY:
        pattern = WeeklyPattern(
            interval=p.interval,
            weekdays=[_DAY[d] for d in p.days_of_week],
            first_day_of_week=_DAY[p.first_day_of_week],
        )
    elif p.type == r.ABSOLUTE_MONTHLY:
        pattern = AbsoluteMonthlyPattern(interval=p.interval, day_of_month=p.day_of_month)
    elif p.type == r.RELATIVE_MONTHLY:
        assert p.index is not None
        pattern = RelativeMonthlyPattern(
            interval=p.interval, weekday=_relative_day(p.days_of_week), week_number=_INDEX[p.index]
        )
    elif p.type == r.ABSOLUTE_YEARLY:
        pattern = AbsoluteYearlyPattern(day_of_month=p.day_of_month, month=p.month)
    else:
        assert p.index is not None
        pattern = RelativeYearlyPattern(
            weekday=_relative_day(p.days_of_week), week_number=_INDEX[p.index], month=p.month
        )
    boundary: Any
    if rng.type == r.END_DATE:
        boundary = EndDatePattern(start=rng.start_date, end=rng.end_date)
    elif rng.type == r.NUMBERED:
        boundary = NumberedPattern(start=rng.start_date, number=rng.number_of_occurrences)
    else:
        boundary = NoEndPattern(start=rng.start_date)
    return Recurrence(pattern=pattern, boundary=boundary)


def from_recurrence(recurrence: Any, time_zone: str = "UTC") -> SeriesFields | None:
    """The series an exchangelib Recurrence says (None: a pattern ROOMS cannot hold, e.g. a task's regeneration)."""
    p, b = getattr(recurrence, "pattern", None), getattr(recurrence, "boundary", None)
    pattern: r.Pattern
    if isinstance(p, DailyPattern):
        pattern = r.Pattern(r.DAILY, interval=p.interval)
    elif isinstance(p, WeeklyPattern):
        first = r.WEEKDAYS[(p.first_day_of_week or 1) - 1]
        days = tuple(r.WEEKDAYS[d - 1] for d in p.weekdays or [])
        pattern = r.Pattern(r.WEEKLY, interval=p.interval, days_of_week=days, first_day_of_week=first)
    elif isinstance(p, AbsoluteMonthlyPattern):
        pattern = r.Pattern(r.ABSOLUTE_MONTHLY, interval=p.interval, day_of_month=p.day_of_month)
    elif isinstance(p, RelativeMonthlyPattern):
        pattern = r.Pattern(
            r.RELATIVE_MONTHLY,
            interval=p.interval,
            days_of_week=_days_of(p.weekday),
            index=r.INDEXES[p.week_number - 1],
        )
    elif isinstance(p, AbsoluteYearlyPattern):
        pattern = r.Pattern(r.ABSOLUTE_YEARLY, day_of_month=p.day_of_month, month=p.month)
    elif isinstance(p, RelativeYearlyPattern):
        pattern = r.Pattern(
            r.RELATIVE_YEARLY,
            days_of_week=_days_of(p.weekday),
            index=r.INDEXES[p.week_number - 1],
            month=p.month,
        )
    else:
        return None
    start = _day(getattr(b, "start", None))
    if start is None:
        return None
    if isinstance(b, EndDatePattern):
        rng = r.Range(r.END_DATE, start, end_date=_day(b.end))
    elif isinstance(b, NumberedPattern):
        rng = r.Range(r.NUMBERED, start, number_of_occurrences=b.number)
    elif isinstance(b, NoEndPattern):
        rng = r.Range(r.NO_END, start)
    else:
        return None
    return SeriesFields(pattern=pattern, range=rng, time_zone=time_zone)

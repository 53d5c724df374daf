"""Recurring series: the recurrence pattern and range of a RecurringMaster, and their expansion into occurrences.

Patterns and ranges as types.xsd defines them (RecurrenceType: one of the six patterns, one of three ranges).
Occurrences are expanded in the series' own time zone (StartTimeZone), so that a 09:00 meeting stays at 09:00
local time across a daylight-saving change (its UTC time moves). Exceptions (a modified occurrence) and deleted
occurrences are kept on the master, keyed by the occurrence's original start (UTC), as Exchange keys them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.windows_zones import WINDOWS_ZONES

if TYPE_CHECKING:
    from roomsops.lab.ews.store import CalendarItem

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_GROUPS = {"Day": DAYS, "Weekday": DAYS[:5], "WeekendDay": DAYS[5:]}
INDEXES = ("First", "Second", "Third", "Fourth", "Last")
MONTHS = tuple(calendar.month_name)[1:]
PATTERNS = (
    "RelativeYearlyRecurrence",
    "AbsoluteYearlyRecurrence",
    "RelativeMonthlyRecurrence",
    "AbsoluteMonthlyRecurrence",
    "WeeklyRecurrence",
    "DailyRecurrence",
)
RANGES = ("NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence")
#: A whole-series expansion without any bound (`series_dates` without `until`: the first occurrence, whether a series
#: extends beyond a room's booking window) stops after this many occurrences. No answer depends on it: those
#: questions are settled by the first occurrences (5,000 days are beyond the longest booking window, 1,080 days).
#: Bounded expansions (a calendar view, an occurrence by id or index, the last occurrence) have no cap: Exchange
#: documents none, only the last date a series may reach (LAST_RECURRENCE_DATE).
MAX_OCCURRENCES = 5000

#: The last date a recurrence may reach: "the end date for the recurrence is after 9/1/4500" is
#: ErrorRecurrenceEndDateTooBig (ews-ref/responsecode).
LAST_RECURRENCE_DATE = dt.date(4500, 9, 1)
#: How many occurrences the lab compares to find a pattern's shortest gap (ErrorOccurrenceTimeSpanTooBig): enough
#: to meet every month length and every weekday gap.
_GAP_SAMPLE = 60


def known_zone(zone_id: str) -> bool:
    """Whether a time zone id names a zone: a Windows id (CLDR's table, windows_zones.py) or an IANA name."""
    name = WINDOWS_ZONES.get(zone_id, zone_id)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(zone_id: str | None) -> dt.tzinfo:
    """The tzinfo of a Windows zone id (any of CLDR's, windows_zones.py) or IANA name; UTC when missing. EWS
    refuses an unknown id before it is stored (`check_zone`, ErrorTimeZone), so UTC for an unknown one only
    reaches a value stored by an older lab."""
    if not zone_id:
        return dt.UTC
    name = WINDOWS_ZONES.get(zone_id, zone_id)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def check_zone(zone_id: str | None) -> None:
    """An item's StartTimeZone/EndTimeZone or a request's TimeZoneContext naming a zone the lab does not know:
    ErrorTimeZone ("there is a time zone error", responsecode.md; Exchange answers a TimeZoneDefinition it cannot
    use with ErrorTimeZone, OfficeDev/ews-managed-api#74). The text is the lab's."""
    if zone_id and not known_zone(zone_id):
        raise EwsError("ErrorTimeZone", f"The time zone '{zone_id}' isn't valid.")


@dataclass
class Recurrence:
    """A series' pattern and range (RecurrenceType). Dates are `YYYY-MM-DD` in the series' time zone."""

    pattern: str  # one of PATTERNS
    range: str  # one of RANGES
    start_date: str
    interval: int = 1
    days_of_week: list[str] = field(
        default_factory=list
    )  # Weekly; Relative*: one name or a DAY_GROUPS key (Graph: several)
    first_day_of_week: str = "Sunday"
    day_of_month: int = 0  # Absolute*
    day_of_week_index: str = ""  # Relative*: First..Last
    month: str = ""  # *Yearly
    end_date: str | None = None  # EndDateRecurrence
    number: int | None = None  # NumberedRecurrence


@dataclass
class ModifiedOccurrence:
    """An exception: one occurrence changed on its own (its original start identifies it)."""

    original_start: str  # UTC `...Z`
    start: str
    end: str
    id: str  # the occurrence's own ItemId (stable)
    change_key: str
    subject: str | None = None
    location: str | None = None
    body: str | None = None
    free_busy: str | None = None
    sensitivity: str | None = None
    reminder_minutes: int | None = None
    reminder_is_set: bool | None = None
    modified: str = ""
    #: A room's copy keeps an occurrence its organizer cancelled as a cancelled exception (RemoveCanceledMeetings
    #: $false): shown IsCancelled and free, it no longer blocks the slot.
    is_cancelled: bool = False


@dataclass(frozen=True)
class Occurrence:
    """One expanded occurrence: its original start, its actual times (an exception may move it), its index."""

    index: int  # 1-based position in the series (InstanceIndex)
    original_start: dt.datetime
    start: dt.datetime
    end: dt.datetime
    exception: ModifiedOccurrence | None


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise EwsError.schema(f"'{value}' is not a valid {name}") from None


def _dates(rec: Recurrence) -> Iterator[dt.date]:
    """Every date the pattern names from the range's start, in order (without end; the calendar's last day, 9999-12-31,
    ends it, so that no stored or asked-for date overflows)."""
    try:
        yield from _pattern_dates(rec)
    except (OverflowError, ValueError):
        return


def _pattern_dates(rec: Recurrence) -> Iterator[dt.date]:
    start = _date(rec.start_date, "StartDate")
    interval = max(rec.interval, 1)
    if rec.pattern == "DailyRecurrence":
        day = start
        while True:
            yield day
            day += dt.timedelta(days=interval)
    elif rec.pattern == "WeeklyRecurrence":
        wanted = sorted(DAYS.index(d) for d in rec.days_of_week) or [start.weekday()]
        first = DAYS.index(rec.first_day_of_week) if rec.first_day_of_week in DAYS else 6
        week = start - dt.timedelta(days=(start.weekday() - first) % 7)
        while True:
            for offset in range(7):
                day = week + dt.timedelta(days=offset)
                if day.weekday() in wanted and day >= start:
                    yield day
            week += dt.timedelta(weeks=interval)
    else:
        yearly = rec.pattern.endswith("YearlyRecurrence")
        step = 12 if yearly else interval
        year, month = start.year, start.month
        if yearly and rec.month in MONTHS:
            month = MONTHS.index(rec.month) + 1
            if month < start.month:
                year += 1
        while True:
            found = _day_in_month(rec, year, month)
            if found is not None and found >= start:
                yield found
            month += step
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1


def _day_in_month(rec: Recurrence, year: int, month: int) -> dt.date | None:
    last = calendar.monthrange(year, month)[1]
    if rec.pattern.startswith("Absolute"):
        return dt.date(year, month, min(max(rec.day_of_month, 1), last))
    # Every listed day counts (Graph's daysOfWeek may list several, recurrencepattern "index"); one name, or a
    # group (Day, Weekday, WeekendDay), as EWS writes it.
    names = rec.days_of_week or ["Day"]
    allowed = {DAYS.index(d) for name in names for d in DAY_GROUPS.get(name, (name,)) if d in DAYS}
    matching = [d for d in range(1, last + 1) if dt.date(year, month, d).weekday() in allowed]
    if not matching:
        return None
    index = INDEXES.index(rec.day_of_week_index) if rec.day_of_week_index in INDEXES else 0
    return dt.date(year, month, matching[-1] if index == 4 else matching[min(index, len(matching) - 1)])


def series_dates(
    rec: Recurrence, *, until: dt.date | None = None, limit: int | None = MAX_OCCURRENCES
) -> Iterator[dt.date]:
    """The dates of the series as its range bounds them (and `until`); without `until`, at most `limit` dates."""
    end: dt.date | None = None
    if rec.range == "EndDateRecurrence" and rec.end_date:
        end = _date(rec.end_date, "EndDate")
    for count, day in enumerate(_dates(rec), start=1):
        if rec.range == "NumberedRecurrence" and rec.number is not None and count > rec.number:
            return
        if end is not None and day > end:
            return
        if until is not None and day > until:
            return
        if until is None and limit is not None and count > limit:
            return
        yield day


def plus_days(day: dt.date, days: int) -> dt.date:
    """`day` + `days`, within the calendar's first and last day (a window or series near year 1 or 9999 must not
    overflow)."""
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.max if days > 0 else dt.date.min


def last_date(rec: Recurrence) -> dt.date | None:
    """The date of the series' last occurrence (NumberedRecurrence) or its range's end date; None without end."""
    return _last_date(rec)


def _last_date(rec: Recurrence) -> dt.date | None:
    """The date of the last occurrence (NumberedRecurrence), or the range's end date; None for a series without
    end. Daily and weekly patterns are counted by arithmetic, so that a huge NumberOfOccurrences costs nothing."""
    if rec.range == "EndDateRecurrence" and rec.end_date:
        return _date(rec.end_date, "EndDate")
    if rec.range != "NumberedRecurrence" or rec.number is None or rec.number < 1:
        return None
    try:
        return _nth_date(rec, rec.number)
    except OverflowError:
        return dt.date.max


def _nth_date(rec: Recurrence, n: int) -> dt.date | None:
    start = _date(rec.start_date, "StartDate")
    interval = max(rec.interval, 1)
    if rec.pattern == "DailyRecurrence":
        return start + dt.timedelta(days=(n - 1) * interval)
    if rec.pattern == "WeeklyRecurrence":
        first = DAYS.index(rec.first_day_of_week) if rec.first_day_of_week in DAYS else 6
        week = start - dt.timedelta(days=(start.weekday() - first) % 7)
        wanted = {DAYS.index(d) for d in rec.days_of_week} or {start.weekday()}
        offsets = [o for o in range(7) if (week + dt.timedelta(days=o)).weekday() in wanted]
        first_week = [week + dt.timedelta(days=o) for o in offsets if week + dt.timedelta(days=o) >= start]
        if n <= len(first_week):
            return first_week[n - 1]
        weeks, index = divmod(n - len(first_week) - 1, len(offsets))
        return week + dt.timedelta(weeks=(weeks + 1) * interval, days=offsets[index])
    months = (n - 1) * (12 if rec.pattern.endswith("YearlyRecurrence") else interval)
    if start.year + months // 12 > LAST_RECURRENCE_DATE.year:
        return dt.date.max  # one date a month at most: the n-th is past the limit whatever the pattern
    last = None  # monthly and yearly: counted up to the limit
    for count, day in enumerate(_dates(rec), start=1):
        last = day
        if count >= n or day > LAST_RECURRENCE_DATE:
            break
    return last


def check(rec: Recurrence) -> None:
    """Refuse what Exchange refuses for a pattern (ErrorCalendarInvalidRecurrence, unverified texts)."""
    if rec.interval < 1:
        raise EwsError("ErrorCalendarInvalidRecurrence", "The recurrence interval must be at least 1.")
    if rec.pattern == "WeeklyRecurrence" and (
        not rec.days_of_week or any(d not in DAYS for d in rec.days_of_week)
    ):
        # responsecode.md: "invalid values of Day, WeekDay, and WeekendDay are used to specify the weekly
        # recurrence"; an empty list (which DaysOfWeekType, an xs:list, lets through) is refused the same way.
        raise EwsError(
            "ErrorCalendarInvalidDayForWeeklyRecurrence",
            "A weekly recurrence names one or more days of the week (Monday to Sunday).",
        )
    if rec.pattern.startswith("Absolute") and not 1 <= rec.day_of_month <= 31:
        raise EwsError("ErrorCalendarInvalidRecurrence", "DayOfMonth must be between 1 and 31.")
    if rec.range == "NumberedRecurrence" and (rec.number is None or rec.number < 1):
        raise EwsError("ErrorCalendarInvalidRecurrence", "NumberOfOccurrences must be at least 1.")
    if rec.range == "EndDateRecurrence" and (
        rec.end_date is None or _date(rec.end_date, "EndDate") < _date(rec.start_date, "StartDate")
    ):
        raise EwsError(
            "ErrorCalendarInvalidRecurrence", "The end date of the recurrence is before its start date."
        )
    last = _last_date(rec)
    if _date(rec.start_date, "StartDate") > LAST_RECURRENCE_DATE or (
        last is not None and last > LAST_RECURRENCE_DATE
    ):
        raise EwsError(
            "ErrorRecurrenceEndDateTooBig", "Recurrence end date can not exceed Sep 1, 4500 00:00:00."
        )


def shortest_gap(rec: Recurrence) -> dt.timedelta | None:
    """The shortest time between two consecutive occurrences' starts (in days of the series' zone); None with one."""
    days = list(itertools.islice(series_dates(rec), _GAP_SAMPLE))
    return min((b - a for a, b in itertools.pairwise(days)), default=None)


def parse_utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def format_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def occurrence_end(item: CalendarItem, original: dt.datetime) -> dt.datetime:
    """The end of the occurrence of `item` starting (originally) at `original`: the master's end as local wall-clock
    time after the start, so a series keeps its local start and end times across a DST change (MS-OXOCAL
    2.2.1.44.5: StartTimeOffset and EndTimeOffset are minutes after local midnight); an all-day occurrence ends at
    a local midnight even on a 23- or 25-hour day."""
    tz = zone(item.start_time_zone)
    start, end = parse_utc(item.start).astimezone(tz), parse_utc(item.end).astimezone(tz)
    wall = end.replace(tzinfo=None) - start.replace(tzinfo=None)
    local = original.astimezone(tz).replace(tzinfo=None) + wall
    return local.replace(tzinfo=tz).astimezone(dt.UTC)


def expand(
    item: CalendarItem,
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    *,
    until: dt.date | None = None,
) -> list[Occurrence]:
    """The occurrences of an item (a single item is one) overlapping [window_start, window_end), by start.
    A series is expanded in its StartTimeZone; deleted occurrences are left out, exceptions carry their times."""
    start, end = parse_utc(item.start), parse_utc(item.end)
    rec = item.recurrence
    if rec is None:
        occurrences = [Occurrence(1, start, start, end, None)]
    else:
        tz = zone(item.start_time_zone)
        local = start.astimezone(tz)
        duration = end - start
        if until is None and window_end is not None:
            until = plus_days(window_end.astimezone(tz).date(), 1)
        if until is None and rec.range == "NoEndRecurrence":
            until = plus_days(local.date(), 3 * 366)
        deleted = set(item.deleted_occurrences)
        exceptions = {e.original_start: e for e in item.modified_occurrences}
        # Days well before the window cannot overlap it (an exception moves an occurrence within its neighbours'
        # days only): they are counted for InstanceIndex without being built.
        skip_before = (
            plus_days(window_start.astimezone(tz).date(), -(duration.days + 2 + 3100))
            if window_start is not None and window_start.year > 1
            else None
        )
        occurrences = []
        for index, day in enumerate(series_dates(rec, until=until), start=1):
            if skip_before is not None and day < skip_before:
                continue
            original = dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz).astimezone(
                dt.UTC
            )
            key = format_utc(original)
            if key in deleted:
                continue
            exception = exceptions.get(key)
            if exception is not None:
                occurrences.append(
                    Occurrence(
                        index, original, parse_utc(exception.start), parse_utc(exception.end), exception
                    )
                )
            else:
                occurrences.append(
                    Occurrence(index, original, original, occurrence_end(item, original), None)
                )
        occurrences.sort(key=lambda o: o.start)
    return [
        o
        for o in occurrences
        if (window_start is None or o.end >= window_start) and (window_end is None or o.start < window_end)
    ]

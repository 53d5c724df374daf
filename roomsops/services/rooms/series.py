"""Bookings that repeat: the readable repeat options, the occurrences up to the booking horizon, and the rules
Exchange holds a series to, checked before anything is stored so that no series exists in ROOMS that Exchange
would refuse (docs/series.md).

`bookings.py` calls these inside its write transaction; the pattern maths is `core.recurrence`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from roomsops.adapters import store as db
from roomsops.adapters.store import Booking, Occurrence, Room, Series
from roomsops.core import recurrence
from roomsops.core.errors import InputError
from roomsops.core.recurrence import (
    ABSOLUTE_MONTHLY,
    ABSOLUTE_YEARLY,
    DAILY,
    END_DATE,
    INDEXES,
    MAX_INTERVAL,
    MONTHS,
    NO_END,
    NUMBERED,
    RELATIVE_MONTHLY,
    RELATIVE_YEARLY,
    WEEKDAYS,
    WEEKLY,
    Pattern,
    Range,
    Recurrence,
)
from roomsops.core.templates import shellword
from roomsops.services.rooms.common import local_span, local_time

#: What the repeat options are called, for messages.
PATTERN_OPTIONS = "--daily, --weekly, --monthly or --yearly"
#: The fields one occurrence may change on its own (an exception in Exchange); the others belong to the series.
OCCURRENCE_FIELDS = ("title", "private", "reminder_minutes", "free_busy")

_DAY_NAMES = {name[:3]: name for name in WEEKDAYS} | {name: name for name in WEEKDAYS} | {"tues": "tuesday"}
_DAY_NAMES |= {"thur": "thursday", "thurs": "thursday"}
#: Day groups in a relative pattern (EWS DayOfWeekType Day, Weekday, WeekendDay).
_GROUPS = {"day": "day", "weekday": "weekday", "weekend-day": "weekend_day", "weekendday": "weekend_day"}
_INDEX_NAMES = {name: name for name in INDEXES} | {
    "1st": "first",
    "2nd": "second",
    "3rd": "third",
    "4th": "fourth",
}
_MONTH_NAMES = {m.lower()[:3]: i for i, m in enumerate(MONTHS, start=1)} | {
    m.lower(): i for i, m in enumerate(MONTHS, start=1)
}
_WORDS = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class Repeat:
    """The repeat options as given: `--daily`, `--weekly DAYS`, `--monthly DAY`, `--yearly DATE`, `--interval N`,
    `--until DATE` or `--count N` (`--no-end` on update)."""

    daily: bool = False
    weekly: str | None = None
    monthly: str | None = None
    yearly: str | None = None
    interval: int | None = None
    until: str | None = None
    count: int | None = None
    no_end: bool = False

    @property
    def patterns(self) -> list[str]:
        given = [("--daily", self.daily), ("--weekly", self.weekly), ("--monthly", self.monthly)]
        return [name for name, value in (*given, ("--yearly", self.yearly)) if value not in (None, False)]

    @property
    def given(self) -> bool:
        return self != Repeat()


def _days(text: str, option: str) -> tuple[str, ...]:
    """`mon,wed` (also full names, `weekdays`) as Graph's day names in week order."""
    found: set[str] = set()
    for word in (w for w in re.split(r"[\s,]+", text.strip().lower()) if w):
        if word in ("weekdays", "workdays"):
            found |= set(WEEKDAYS[:5])
        elif word in _DAY_NAMES:
            found.add(_DAY_NAMES[word])
        else:
            raise InputError(
                f"{option} {text!r}: {word!r} is not a day of the week",
                f"give days as mon,tue,wed,thu,fri,sat,sun (or weekdays), e.g. {option} mon,wed",
            )
    if not found:
        raise InputError(
            f"{option} names no day", f"give days as mon,tue,wed,thu,fri,sat,sun, e.g. {option} mon,wed"
        )
    return tuple(d for d in WEEKDAYS if d in found)


def _relative(words: list[str], text: str, option: str, example: str) -> tuple[str, tuple[str, ...]]:
    """[index, day] words: ("last", ("friday",)), or a day group's days (`weekday`, `weekend-day`, `day`)."""
    index = _INDEX_NAMES.get(words[0])
    named = "-".join(words[1:])
    group = _GROUPS.get(named)
    if index is None or (group is None and named not in _DAY_NAMES):
        raise InputError(
            f"{option} {text!r} is not a day of the {'year' if option == '--yearly' else 'month'}",
            f"give an index (first, second, third, fourth, last) and a day (mon..sun, day, weekday, weekend-day), "
            f"e.g. {option} {example}",
        )
    return index, recurrence.DAY_GROUPS[group] if group else (_DAY_NAMES[named],)


def _monthly(text: str) -> Pattern:
    words = [w for w in _WORDS.split(text.strip().lower()) if w and w != "of"]
    if len(words) == 1 and words[0].isdigit():
        day = int(words[0])
        if not 1 <= day <= 31:
            raise InputError(
                f"--monthly {text!r}: the day of the month is not between 1 and 31",
                "give a day from 1 to 31 (31: the month's last day in shorter months), e.g. --monthly 15",
            )
        return Pattern(ABSOLUTE_MONTHLY, day_of_month=day)
    if not words:
        raise InputError("--monthly is empty", "give a day, e.g. --monthly 15 or --monthly last-fri")
    index, days = _relative(words, text, "--monthly", "last-fri")
    return Pattern(RELATIVE_MONTHLY, days_of_week=days, index=index)


def _yearly(text: str) -> Pattern:
    words = [w for w in _WORDS.split(text.strip().lower()) if w and w != "of"]
    remedy = "give a month and a day, e.g. --yearly feb-29 (or 02-29), or a weekday of a month: --yearly last-fri-mar"
    if len(words) == 2:
        numbers = [w for w in words if w.isdigit()]
        named = [w for w in words if w in _MONTH_NAMES]
        if len(numbers) == 2:  # MM-DD
            month, day = int(words[0]), int(words[1])
        elif len(numbers) == 1 and len(named) == 1:
            month, day = _MONTH_NAMES[named[0]], int(numbers[0])
        else:
            raise InputError(f"--yearly {text!r} is not a day of the year", remedy)
        if not 1 <= month <= 12:
            raise InputError(f"--yearly {text!r}: there is no month {month}", remedy)
        longest = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
        if not 1 <= day <= longest:
            raise InputError(f"--yearly {text!r}: {MONTHS[month - 1]} has no day {day}", remedy)
        return Pattern(ABSOLUTE_YEARLY, day_of_month=day, month=month)
    if len(words) >= 3 and words[-1] in _MONTH_NAMES:
        index, days = _relative(words[:-1], text, "--yearly", "last-fri-mar")
        return Pattern(RELATIVE_YEARLY, days_of_week=days, index=index, month=_MONTH_NAMES[words[-1]])
    raise InputError(f"--yearly {text!r} is not a day of the year", remedy)


def _until(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--until {text!r} is not a date",
            "write it as YYYY-MM-DD, e.g. --until 2027-06-30 (the last day, local)",
        ) from None


def recurrence_of(
    repeat: Repeat, first_day: date, tz: ZoneInfo, current: Recurrence | None = None
) -> Recurrence:
    """The recurrence the options ask for, from `first_day` on; on update, `current` with what the options change
    (a new pattern option replaces the pattern; --interval, --until, --count, --no-end change only themselves)."""
    if len(repeat.patterns) > 1:
        raise InputError(
            f"{' and '.join(repeat.patterns)} exclude each other", f"give one of {PATTERN_OPTIONS}"
        )
    ranges = {"--until": repeat.until, "--count": repeat.count, "--no-end": repeat.no_end or None}
    ends = [name for name, value in ranges.items() if value is not None]
    if len(ends) > 1:
        raise InputError(
            f"{' and '.join(ends)} exclude each other", "end a series by a date or by a number of occurrences"
        )
    if not repeat.patterns and current is None:
        alone = (["--interval"] if repeat.interval is not None else []) + ends
        raise InputError(
            f"{', '.join(alone)} without a pattern", f"give one of {PATTERN_OPTIONS}, e.g. --weekly mon"
        )
    rec = Recurrence(_pattern(repeat, current), _range(repeat, first_day, current), tz.key)
    try:
        recurrence.check(rec)  # the options above leave nothing it refuses: a guard for later changes
    except ValueError as exc:
        raise InputError(
            f"the series cannot be held by Exchange: {exc}", "change the repeat options"
        ) from None
    return rec


def _pattern(repeat: Repeat, current: Recurrence | None) -> Pattern:
    if repeat.daily:
        pattern = Pattern(DAILY)
    elif repeat.weekly is not None:
        pattern = Pattern(WEEKLY, days_of_week=_days(repeat.weekly, "--weekly"))
    elif repeat.monthly is not None:
        pattern = _monthly(repeat.monthly)
    elif repeat.yearly is not None:
        pattern = _yearly(repeat.yearly)
    else:
        assert current is not None
        pattern = current.pattern
    if repeat.interval is None:
        return pattern
    if pattern.type in (ABSOLUTE_YEARLY, RELATIVE_YEARLY) and repeat.interval != 1:
        raise InputError(
            "--interval with --yearly: a yearly series repeats every year",
            "leave out --interval (Exchange's yearly patterns over EWS have none)",
        )
    if not 1 <= repeat.interval <= MAX_INTERVAL:
        raise InputError(
            f"--interval {repeat.interval} is not between 1 and {MAX_INTERVAL}",
            "give the days, weeks or months between occurrences, e.g. --interval 2 (Exchange allows 1 to 99)",
        )
    return replace(pattern, interval=repeat.interval)


def _range(repeat: Repeat, first_day: date, current: Recurrence | None) -> Range:
    if repeat.until is not None:
        until = _until(repeat.until)
        if until < first_day:
            raise InputError(
                f"--until {until} is before the series' first day {first_day}",
                "give the date of the last day the series may fall on",
            )
        return Range(END_DATE, first_day, end_date=until)
    if repeat.count is not None:
        if repeat.count < 1:
            raise InputError(
                f"--count {repeat.count} is not a number of occurrences", "give at least 1, e.g. --count 10"
            )
        return Range(NUMBERED, first_day, number_of_occurrences=repeat.count)
    if repeat.no_end or current is None:
        return Range(NO_END, first_day)
    span = replace(current.range, start_date=first_day)
    if span.end_date is not None and span.end_date < first_day:
        raise InputError(
            f"the series' end date {span.end_date} is before its new first day {first_day}",
            "give a new end with --until or --count, or --no-end",
        )
    return span


def horizon_date(tz: ZoneInfo, horizon_days: int, now: datetime) -> date:
    """The last day ROOMS books (rooms.booking_horizon_days after today, local)."""
    return now.astimezone(tz).date() + timedelta(days=horizon_days)


def plan(
    rec: Recurrence, start: datetime, end: datetime, tz: ZoneInfo, horizon: date, horizon_days: int
) -> tuple[Occurrence, ...]:
    """Every occurrence of `rec` up to the booking horizon, each at the wall-clock times of `start`–`end`. A series
    that reaches beyond the horizon is refused (a room declines a series reaching beyond its booking window, and
    rooms check sets that window to the horizon); one without end is booked up to it."""
    dates = recurrence.series_dates(rec, horizon)
    if rec.range.type != NO_END and not dates.complete:
        last = "--until" if rec.range.type == END_DATE else "--count"
        raise InputError(
            f"the series reaches beyond {horizon}, the booking horizon (rooms.booking_horizon_days = {horizon_days} "
            "days ahead); nothing was changed",
            f"end it by {horizon} with a smaller {last}, or leave out --until and --count: a series without end is "
            "booked up to the horizon (rooms' booking windows end there too)",
            code="beyond_horizon",
        )
    if not dates.dates:
        raise InputError(
            f"the series has no occurrence from {rec.range.start_date} to {min(horizon, rec.range.end_date or horizon)}"
            " (the pattern names no day in that time); nothing was changed",
            "check the pattern and --start, or end the series later",
            code="no_occurrence",
        )
    clock, duration = recurrence.wall_clock(start, end, tz)
    occurrences = tuple(
        Occurrence(original_start=s, start=s, end=e)
        for s, e in (recurrence.occurrence(day, clock, duration, tz) for day in dates.dates)
    )
    for one, other in pairwise(occurrences):
        if one.end > other.start:
            # EWS ErrorOccurrenceTimeSpanTooBig: an occurrence may not overlap the next one.
            raise InputError(
                f"the occurrence of {local_span(one.start, one.end, tz)} ({tz.key}) overlaps the next one "
                f"({local_time(other.start, tz)}); nothing was changed",
                "shorten the booking or repeat it less often (Exchange refuses a series whose occurrences overlap)",
            )
    return occurrences


def anchored(rec: Recurrence, first: Occurrence, tz: ZoneInfo) -> Recurrence:
    """`rec` with its range starting on its first occurrence's day (not on --start's, when --start is not on the
    pattern): a series' start is its first occurrence's (docs/series.md), and Graph's recurrenceRange.startDate
    "must be the same value as the start property of the recurring event" (graph/api/resources/recurrencerange).
    The occurrences stay the same: the first one is on the pattern, and a monthly pattern's months or a weekly
    pattern's weeks counted from its day are those counted from the earlier day."""
    return replace(rec, range=replace(rec.range, start_date=first.original_start.astimezone(tz).date()))


def taken_occurrences(
    conn: Connection,
    room: Room,
    occurrences: Sequence[Occurrence],
    exclude_id: int | None = None,
    exclude_occurrence: tuple[int, datetime] | None = None,
) -> list[tuple[Occurrence, Booking]]:
    """The active occurrences another booking holds the room at, each with the first such booking, in time order
    (in the caller's write transaction: the room is locked first)."""
    active = sorted((o for o in occurrences if o.status == "active"), key=lambda o: o.start)
    if not active:
        return []
    db.lock_room(conn, room.id)
    others = db.overlapping_bookings(
        conn, room.id, active[0].start, max(o.end for o in active), exclude_id, exclude_occurrence
    )
    if not others:
        return []
    starts = [b.start for b in others]
    latest_end = list(accumulate((b.end for b in others), max))  # the latest end among the first i+1
    taken: list[tuple[Occurrence, Booking]] = []
    for o in active:
        j = bisect.bisect_left(starts, o.end) - 1  # others[: j + 1] start before the occurrence ends
        while j >= 0 and latest_end[j] > o.start:
            if others[j].end > o.start:
                taken.append((o, others[j]))
                break
            j -= 1
    return taken


def refuse_conflicts(
    conn: Connection,
    room: Room,
    occurrences: Sequence[Occurrence],
    tz: ZoneInfo,
    exclude_id: int | None = None,
    total: int | None = None,
    exclude_occurrence: tuple[int, datetime] | None = None,
) -> None:
    """All or nothing: when another booking holds the room at any of these active occurrences, refuse, naming every
    date it holds (in the caller's write transaction, the room locked first)."""
    active = [o for o in occurrences if o.status == "active"]
    taken = taken_occurrences(conn, room, occurrences, exclude_id, exclude_occurrence)
    if not taken:
        return
    listed = ", ".join(f'{local_span(o.start, o.end, tz)} by booking {b.id} "{b.title}"' for o, b in taken)
    raise InputError(
        f"{room.name} ({room.email}) is already booked at {len(taken)} of the series' {total or len(active)} "
        f"occurrences ({tz.key}): {listed}; nothing was booked",
        f"a series is booked whole or not at all: choose another time or room, or end the series before the first "
        f"of them; see 'roomsops bookings list --room {shellword(room.email)}'",
        code="room_taken",
    )


def find(series: Series, booking_id: int, day: date, tz: ZoneInfo) -> Occurrence:
    """The occurrence whose original start falls on `day` (local); else the one that was moved to that day."""
    for o in series.occurrences:
        if o.original_start.astimezone(tz).date() == day:
            return o
    moved = [o for o in series.occurrences if o.start.astimezone(tz).date() == day]
    if len(moved) == 1:
        return moved[0]
    days = sorted({o.original_start.astimezone(tz).date() for o in series.occurrences})
    i = bisect.bisect_left(days, day)
    near = ", ".join(str(d) for d in days[max(i - 1, 0) : i + 1])
    raise InputError(
        f"booking {booking_id} has no occurrence on {day} ({tz.key}); the nearest are {near}",
        "give the date of one of its occurrences (as first booked; see 'roomsops bookings list --json')",
        code="no_occurrence",
    )


def check_move(series: Series, moving: Occurrence, start: datetime, end: datetime, tz: ZoneInfo) -> None:
    """An occurrence stays between its neighbours: after the previous occurrence's day and before the next one's,
    cancelled ones included, and never overlapping them (EWS ErrorOccurrenceCrossingBoundary; Graph: "an occurrence
    cannot be moved to or before the day of the previous occurrence, and cannot be moved to or after the day of the
    following occurrence")."""
    ordered = sorted(series.occurrences, key=lambda o: o.original_start)
    i = next(k for k, o in enumerate(ordered) if o.original_start == moving.original_start)
    day = start.astimezone(tz).date()
    if i > 0:
        before = ordered[i - 1]
        limit = max(before.original_start, before.start).astimezone(tz).date()
        if day <= limit or start < before.end:
            raise InputError(
                f"the occurrence of {moving.original_start.astimezone(tz).date()} cannot move to "
                f"{local_span(start, end, tz)} ({tz.key}): on or before the day of the previous occurrence ({limit})",
                "move it to a day between its neighbours, or cancel it and book that time apart "
                "(Exchange keeps a series' occurrences in order)",
            )
    if i + 1 < len(ordered):
        after = ordered[i + 1]
        limit = min(after.original_start, after.start).astimezone(tz).date()
        if day >= limit or end > after.start:
            raise InputError(
                f"the occurrence of {moving.original_start.astimezone(tz).date()} cannot move to "
                f"{local_span(start, end, tz)} ({tz.key}): on or after the day of the next occurrence ({limit})",
                "move it to a day between its neighbours, or cancel it and book that time apart "
                "(Exchange keeps a series' occurrences in order)",
            )


def carry_exceptions(
    old: Series, new: tuple[Occurrence, ...], tz: ZoneInfo
) -> tuple[tuple[Occurrence, ...], tuple[str, ...]]:
    """The new occurrences with the old exceptions that survive a change of the series: an exception (cancelled,
    moved or changed) stays with the occurrence of the same original day, with the new original start; one whose
    day is no longer in the series is dropped (returned as words, e.g. "2031-04-09 cancelled")."""
    exceptions = {
        o.original_start.astimezone(tz).date(): o
        for o in old.occurrences
        if o.status != "active" or o.moved or o.changes
    }
    kept: list[Occurrence] = []
    for o in new:
        day = o.original_start.astimezone(tz).date()
        was = exceptions.pop(day, None)
        if was is None:
            kept.append(o)
            continue
        start, end = (was.start, was.end) if was.moved else (o.start, o.end)
        kept.append(replace(o, start=start, end=end, status=was.status, changes=was.changes, moved=was.moved))
    dropped = tuple(f"{day} {exception_words(o)}" for day, o in sorted(exceptions.items()))
    return tuple(kept), dropped


def exception_words(o: Occurrence) -> str:
    if o.status == "cancelled":
        return "cancelled"
    parts = (["moved"] if o.moved else []) + [f"{k.replace('_', ' ')} changed" for k in sorted(o.changes)]
    return ", ".join(parts) or "as the series"

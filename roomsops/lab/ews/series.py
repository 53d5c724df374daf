"""Recurring series over EWS: the Recurrence element, occurrences and exceptions as items, their ids.

A series is one stored item, its RecurringMaster (`CalendarItem.recurrence` set); occurrences are never stored but
expanded from it (recurrence.py: in the series' StartTimeZone, so local times survive a DST change). What EWS
shows of an occurrence is an `OccurrenceItem`: the master's properties, the occurrence's own times, an exception's
changes. Its ItemId is derived from the master's id and its original start (store.occurrence_id), so it stays the
same while the series does; its ChangeKey is the master's ("The ChangeKey is the same for the recurring master and
all occurrences", ews-ref/occurrenceitemid).

- An update of an occurrence makes it an exception (ModifiedOccurrences on the master); the lab keeps Start, End,
  Subject, Location, Body, LegacyFreeBusyStatus, Sensitivity and the reminder per exception (`EXCEPTION_FIELDS`).
- A deleted occurrence is kept by its original start (DeletedOccurrences).
- A new pattern, or new times for the series, drops exceptions and deleted occurrences (`reset_exceptions`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.recurrence import (
    DAY_GROUPS,
    DAYS,
    INDEXES,
    MONTHS,
    PATTERNS,
    RANGES,
    ModifiedOccurrence,
    Occurrence,
    Recurrence,
    check,
    expand,
    format_utc,
    last_date,
    occurrence_end,
    parse_utc,
    plus_days,
    series_dates,
    shortest_gap,
    zone,
)
from roomsops.lab.ews.soap import T_NS, Element, local_name, parse_int, t, t_opt
from roomsops.lab.ews.store import CalendarItem, OccurrenceItem, occurrence_id

#: The properties an exception keeps of its own; the others always follow the master. The reminder too: MS-OXOCAL
#: 2.2.1.44.2 ExceptionInfo (OverrideFlags ARO_REMINDERDELTA, ARO_REMINDER: an exception's own ReminderDelta and
#: ReminderSet).
EXCEPTION_FIELDS = (
    "subject",
    "location",
    "body",
    "free_busy",
    "sensitivity",
    "reminder_minutes",
    "reminder_is_set",
)
#: Properties an update of an occurrence may also carry (exchangelib sends the time zones with Start and End).
OCCURRENCE_FIELDS = (*EXCEPTION_FIELDS, "body_type", "start", "end")
_TIME_ZONE_FIELDS = ("start_time_zone", "start_time_zone_name", "end_time_zone", "end_time_zone_name")


def item_type(item: CalendarItem) -> str:
    """CalendarItemType: Single, Occurrence, Exception or RecurringMaster (ews-ref/calendaritemtype)."""
    if isinstance(item, OccurrenceItem):
        return "Exception" if item.is_exception else "Occurrence"
    return "RecurringMaster" if item.recurrence is not None else "Single"


def is_recurring(item: CalendarItem) -> bool:
    """IsRecurring as ews-ref/isrecurring tabulates it: false for a single item, true for occurrences and
    exceptions, and for a master false on the organizer's side (the page calls that value incorrect) and true
    on an attendee's."""
    kind = item_type(item)
    if kind == "RecurringMaster":
        return not item.is_organizer
    return kind != "Single"


# --- the Recurrence element ------------------------------------------------------------------------------


def _text(element: Element, tag: str) -> str:
    return (element.findtext(f"{{{T_NS}}}{tag}") or "").strip()


def _date_text(value: str, name: str) -> str:
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise EwsError.schema(f"'{value}' is not a valid xs:date for {name}") from None


def _weekly_days(pattern: Element, days: list[str]) -> tuple[list[str], str]:
    """A weekly pattern's DaysOfWeek and FirstDayOfWeek. DaysOfWeek is an xs:list of DayOfWeekType and FirstDayOfWeek a
    DayOfWeekType (types.xsd): a value outside the enumeration fails schema validation before anything else; the
    group names pass it (and are ErrorCalendarInvalidDayForWeeklyRecurrence in DaysOfWeek, check())."""
    first = _text(pattern, "FirstDayOfWeek")
    for day in [*days, *([first] if first else [])]:
        if day not in DAYS and day not in DAY_GROUPS:
            raise EwsError.schema(f"'{day}' is not a valid DayOfWeekType")
    return days, first or "Sunday"


def parse_recurrence(element: Element) -> Recurrence:
    """A t:Recurrence (RecurrenceType: one pattern, one range) as a Recurrence, checked as Exchange checks it."""
    parts = list(element)
    if len(parts) != 2:
        raise EwsError.schema("Recurrence holds one recurrence pattern and one recurrence range.")
    pattern, boundary = parts
    kind, range_kind = local_name(pattern.tag), local_name(boundary.tag)
    if kind not in PATTERNS:
        raise EwsError.schema(f"'{kind}' is not a recurrence pattern of a calendar item")
    if range_kind not in RANGES:
        raise EwsError.schema(f"'{range_kind}' is not a recurrence range")
    rec = Recurrence(
        pattern=kind,
        range=range_kind,
        start_date=_date_text(_text(boundary, "StartDate"), "StartDate"),
    )
    if not kind.endswith("YearlyRecurrence"):
        rec.interval = parse_int(_text(pattern, "Interval"), "Interval")
    days = _text(pattern, "DaysOfWeek").split()
    if kind == "WeeklyRecurrence":
        rec.days_of_week, rec.first_day_of_week = _weekly_days(pattern, days)
    elif kind.startswith("Relative"):
        if len(days) != 1 or (days[0] not in DAYS and days[0] not in DAY_GROUPS):
            raise EwsError.schema(f"'{' '.join(days)}' is not a valid DayOfWeekType")
        rec.days_of_week = days
        rec.day_of_week_index = _text(pattern, "DayOfWeekIndex")
        if rec.day_of_week_index not in INDEXES:
            raise EwsError.schema(f"'{rec.day_of_week_index}' is not a valid DayOfWeekIndex")
    if kind.startswith("Absolute"):
        rec.day_of_month = parse_int(_text(pattern, "DayOfMonth"), "DayOfMonth")
    if kind.endswith("YearlyRecurrence"):
        rec.month = _text(pattern, "Month")
        if rec.month not in MONTHS:
            raise EwsError.schema(f"'{rec.month}' is not a valid MonthNamesType")
    if range_kind == "EndDateRecurrence":
        rec.end_date = _date_text(_text(boundary, "EndDate"), "EndDate")
    elif range_kind == "NumberedRecurrence":
        rec.number = parse_int(_text(boundary, "NumberOfOccurrences"), "NumberOfOccurrences")
    check(rec)
    return rec


def recurrence_element(rec: Recurrence) -> Element:
    """The t:Recurrence of a master, pattern then range, each in schema order (types.xsd)."""
    interval = t("Interval", text=str(rec.interval))
    days = t("DaysOfWeek", text=" ".join(rec.days_of_week) or "Day")
    if rec.pattern == "RelativeYearlyRecurrence":
        parts = [days, t("DayOfWeekIndex", text=rec.day_of_week_index), t("Month", text=rec.month)]
    elif rec.pattern == "AbsoluteYearlyRecurrence":
        parts = [t("DayOfMonth", text=str(rec.day_of_month)), t("Month", text=rec.month)]
    elif rec.pattern == "RelativeMonthlyRecurrence":
        parts = [interval, days, t("DayOfWeekIndex", text=rec.day_of_week_index)]
    elif rec.pattern == "AbsoluteMonthlyRecurrence":
        parts = [interval, t("DayOfMonth", text=str(rec.day_of_month))]
    elif rec.pattern == "WeeklyRecurrence":
        parts = [interval, days, t("FirstDayOfWeek", text=rec.first_day_of_week)]
    else:
        parts = [interval]
    boundary = t(
        rec.range,
        t("StartDate", text=rec.start_date),
        t_opt("EndDate", rec.end_date if rec.range == "EndDateRecurrence" else None),
        t_opt("NumberOfOccurrences", str(rec.number) if rec.range == "NumberedRecurrence" else None),
    )
    return t("Recurrence", t(rec.pattern, *parts), boundary)


# --- occurrences ---------------------------------------------------------------------------------------


def original_start(master: CalendarItem, day: dt.date) -> dt.datetime:
    """The start (UTC) of the occurrence on `day`: the series' local start time on that day in its time zone."""
    tz = zone(master.start_time_zone)
    local = parse_utc(master.start).astimezone(tz)
    return dt.datetime.combine(day, local.time().replace(tzinfo=None), tzinfo=tz).astimezone(dt.UTC)


def normalise_master(item: CalendarItem) -> None:
    """A master's Start and End are its first occurrence's (the first date of the pattern from the range's start,
    at the item's local start time); a pattern without any occurrence is ErrorRecurrenceHasNoOccurrence."""
    rec = item.recurrence
    if rec is None:
        return
    first = next(series_dates(rec), None)
    if first is None:
        raise EwsError("ErrorRecurrenceHasNoOccurrence", "The recurrence pattern has no occurrences.")
    duration = parse_utc(item.end) - parse_utc(item.start)
    gap = shortest_gap(rec)
    if gap is not None and duration > gap:
        # Graph (the same store) words it: "One occurrence of the recurring calendar item overlaps with another
        # occurrence of the same calendar item." (ews-ref/responsecode: ErrorOccurrenceTimeSpanTooBig)
        raise EwsError(
            "ErrorOccurrenceTimeSpanTooBig",
            "One occurrence of the recurring calendar item overlaps with another occurrence of the same calendar "
            "item.",
        )
    start = original_start(item, first)
    item.start, item.end = format_utc(start), format_utc(start + duration)


def reset_exceptions(before: CalendarItem, after: CalendarItem) -> None:
    """A new pattern, or new times for the whole series, re-expands it: exceptions and deleted occurrences (kept
    by their original starts, which no longer exist) are dropped."""
    if after.recurrence is None:
        after.modified_occurrences, after.deleted_occurrences = [], []
        return
    if (before.recurrence, before.start, before.end, before.start_time_zone) != (
        after.recurrence,
        after.start,
        after.end,
        after.start_time_zone,
    ):
        after.modified_occurrences, after.deleted_occurrences = [], []


def _occurrence(master: CalendarItem, index: int, original: dt.datetime) -> Occurrence:
    key = format_utc(original)
    if key in master.deleted_occurrences:
        raise EwsError(
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "The occurrence was deleted from the recurrence.",
        )
    exception = next((e for e in master.modified_occurrences if e.original_start == key), None)
    if exception is not None:
        return Occurrence(index, original, parse_utc(exception.start), parse_utc(exception.end), exception)
    return Occurrence(index, original, original, occurrence_end(master, original), None)


def occurrence_at(master: CalendarItem, index: int) -> Occurrence:
    """The occurrence at InstanceIndex `index` (1-based, counting deleted occurrences as Exchange does)."""
    rec = master.recurrence
    if rec is None:
        raise EwsError("ErrorCalendarCannotUseIdForOccurrenceId")
    if index >= 1:
        for number, day in enumerate(series_dates(rec, limit=index), start=1):
            if number == index:
                return _occurrence(master, number, original_start(master, day))
    raise EwsError(
        "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
        "The occurrence index is out of the recurrence range.",
    )


def occurrence_from(master: CalendarItem, original: dt.datetime) -> Occurrence:
    """The occurrence an occurrence ItemId names. Deleted from the series: ErrorCalendarOccurrenceIsDeletedFromRecurrence
    ("Reference a deleted occurrence of a recurring appointment", ews/handling-deletion-related-errors-in-ews-in-
    exchange, Table 1); no longer in it (the pattern changed): ErrorItemNotFound."""
    rec = master.recurrence
    if rec is not None:
        last_day = original.astimezone(zone(master.start_time_zone)).date() + dt.timedelta(days=1)
        for number, day in enumerate(series_dates(rec, until=last_day), start=1):
            if original_start(master, day) == original:
                return _occurrence(master, number, original)
    raise EwsError("ErrorItemNotFound")


def as_item(master: CalendarItem, occurrence: Occurrence) -> OccurrenceItem:
    """What EWS shows of one occurrence (or exception) of `master`."""
    values = {f.name: getattr(master, f.name) for f in dataclasses.fields(CalendarItem)}
    item = OccurrenceItem(
        **values,
        master_id=master.id,
        original_start=format_utc(occurrence.original_start),
        instance_index=occurrence.index,
        is_exception=occurrence.exception is not None,
    )
    item.id = occurrence_id(master.id, occurrence.original_start)
    item.start, item.end = format_utc(occurrence.start), format_utc(occurrence.end)
    item.recurrence, item.modified_occurrences, item.deleted_occurrences = None, [], []
    if occurrence.exception is not None:
        for name in EXCEPTION_FIELDS:
            value = getattr(occurrence.exception, name)
            if value is not None:
                setattr(item, name, value)
        if occurrence.exception.is_cancelled:
            item.is_cancelled = True
    return item


def occurrences_between(master: CalendarItem, start: dt.datetime, end: dt.datetime) -> list[OccurrenceItem]:
    """The occurrences and exceptions of a series that a calendar view from `start` to `end` shows."""
    return [as_item(master, o) for o in expand(master, start, end)]


def record_exception(
    master: CalendarItem, occurrence: Occurrence, changed: OccurrenceItem, before: OccurrenceItem, now: str
) -> None:
    """Keep an updated occurrence as an exception on the master; refuse changes the lab cannot keep on one."""
    for f in dataclasses.fields(CalendarItem):
        if f.name in (*OCCURRENCE_FIELDS, *_TIME_ZONE_FIELDS):
            continue
        if getattr(changed, f.name) != getattr(before, f.name):
            raise EwsError(
                "ErrorInvalidPropertySet",
                "The lab keeps only Start, End, Subject, Body, Location, LegacyFreeBusyStatus, Sensitivity, "
                "ReminderMinutesBeforeStart and ReminderIsSet on an occurrence; other properties follow the "
                "recurring master.",
            )
    _check_within_neighbours(master, occurrence, changed)
    key = format_utc(occurrence.original_start)
    exception = ModifiedOccurrence(
        original_start=key,
        start=changed.start,
        end=changed.end,
        id=changed.id,
        change_key="",
        modified=now,
        # a cancelled occurrence (a room's, RemoveCanceledMeetings $false) stays cancelled when changed
        is_cancelled=occurrence.exception is not None and occurrence.exception.is_cancelled,
    )
    for name in EXCEPTION_FIELDS:
        value = getattr(changed, name)
        setattr(exception, name, None if value == getattr(master, name) else value)
    others = [e for e in master.modified_occurrences if e.original_start != key]
    master.modified_occurrences = sorted([*others, exception], key=lambda e: e.original_start)


def _check_within_neighbours(master: CalendarItem, occurrence: Occurrence, changed: CalendarItem) -> None:
    """ "An occurrence cannot be moved to or before the day of the previous occurrence, and cannot be moved to or
    after the day of the following occurrence" (graph/api/event-update; ews-ref/responsecode:
    ErrorOccurrenceCrossingBoundary: "Modified occurrence is crossing or overlapping adjacent occurrence"). Days are
    the series' zone's; neighbours are the pattern's dates, deleted occurrences included (unverified; an
    observation says Outlook counts them). A neighbour moved itself (an exception) bounds the move where it is now
    too — its day and its times, whichever is nearer (unverified: the response code's "adjacent occurrence" read as
    the occurrence where it stands; review25e)."""
    rec = master.recurrence
    assert rec is not None
    tz = zone(master.start_time_zone)
    day = occurrence.original_start.astimezone(tz).date()
    previous = next_day = None
    # The next occurrence is at most 99 months (an interval's maximum) after this one's day.
    for candidate in series_dates(rec, until=plus_days(day, 3100)):
        if candidate < day:
            previous = candidate
        elif candidate > day:
            next_day = candidate
            break
    start, end = parse_utc(changed.start), parse_utc(changed.end)
    moved = {e.original_start: e for e in master.modified_occurrences}
    crossing = False
    if previous is not None:
        first = original_start(master, previous)
        bounds = [(previous, occurrence_end(master, first))]
        if (e := moved.get(format_utc(first))) is not None:
            bounds.append((parse_utc(e.start).astimezone(tz).date(), parse_utc(e.end)))
        crossing = any(start.astimezone(tz).date() <= d or start < until for d, until in bounds)
    if next_day is not None and not crossing:
        following = original_start(master, next_day)
        bounds = [(next_day, following)]
        if (e := moved.get(format_utc(following))) is not None:
            bounds.append((parse_utc(e.start).astimezone(tz).date(), parse_utc(e.start)))
        crossing = any(start.astimezone(tz).date() >= d or end > begins for d, begins in bounds)
    if crossing:
        raise EwsError(
            "ErrorOccurrenceCrossingBoundary",
            "Modified occurrence is crossing or overlapping adjacent occurrence.",
        )


def delete_occurrence(master: CalendarItem, occurrence: Occurrence) -> None:
    key = format_utc(occurrence.original_start)
    master.modified_occurrences = [e for e in master.modified_occurrences if e.original_start != key]
    master.deleted_occurrences = sorted({*master.deleted_occurrences, key})


# --- the master's occurrence properties ------------------------------------------------------------------


def _info(tag: str, master: CalendarItem, occurrence: Occurrence) -> Element:
    """An OccurrenceInfoType: ItemId, Start, End, OriginalStart."""
    return t(
        tag,
        t("ItemId", Id=occurrence_id(master.id, occurrence.original_start), ChangeKey=master.change_key),
        t("Start", text=format_utc(occurrence.start)),
        t("End", text=format_utc(occurrence.end)),
        t("OriginalStart", text=format_utc(occurrence.original_start)),
    )


def first_occurrence(master: CalendarItem) -> Element | None:
    if master.recurrence is None:
        return None
    found = expand(master)
    return _info("FirstOccurrence", master, found[0]) if found else None


def last_occurrence(master: CalendarItem) -> Element | None:
    """The last occurrence; a series without end has none (the lab leaves the element out, unverified)."""
    if master.recurrence is None or master.recurrence.range == "NoEndRecurrence":
        return None
    last_day = last_date(master.recurrence)
    if last_day is None:
        return None
    # Expanded near its end only (a long series is not built whole); deleted occurrences there are skipped.
    tz = zone(master.start_time_zone)
    start = dt.datetime.combine(plus_days(last_day, -3100), dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(plus_days(last_day, 2), dt.time(0), tzinfo=tz)
    found = expand(master, start, end) or expand(master)
    return _info("LastOccurrence", master, found[-1]) if found else None


def modified_occurrences(master: CalendarItem) -> Element | None:
    if master.recurrence is None or not master.modified_occurrences:
        return None
    infos = []
    for exception in master.modified_occurrences:
        original = parse_utc(exception.original_start)
        occurrence = Occurrence(0, original, parse_utc(exception.start), parse_utc(exception.end), exception)
        infos.append(_info("Occurrence", master, occurrence))
    return t("ModifiedOccurrences", *infos)


def deleted_occurrences(master: CalendarItem) -> Element | None:
    if master.recurrence is None or not master.deleted_occurrences:
        return None
    return t(
        "DeletedOccurrences",
        *(t("DeletedOccurrence", t("Start", text=key)) for key in master.deleted_occurrences),
    )

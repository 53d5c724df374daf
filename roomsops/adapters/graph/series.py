"""A series over Microsoft Graph (docs/series.md, "Sync of series"): `core.calendar.SeriesFields` as an event's
`patternedRecurrence` and back. Graph names the days of a relative pattern as a list (a group: all its days)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import available_timezones

from tzlocal.windows_tz import win_tz

from roomsops.core import recurrence as r
from roomsops.core.calendar import SeriesFields

_PATTERNS = {
    r.DAILY: "daily",
    r.WEEKLY: "weekly",
    r.ABSOLUTE_MONTHLY: "absoluteMonthly",
    r.RELATIVE_MONTHLY: "relativeMonthly",
    r.ABSOLUTE_YEARLY: "absoluteYearly",
    r.RELATIVE_YEARLY: "relativeYearly",
}
_RANGES = {r.END_DATE: "endDate", r.NUMBERED: "numbered", r.NO_END: "noEnd"}
_IANA = frozenset(available_timezones())
#: The ids Exchange gives beyond CLDR's Windows ids, as exchangelib's `MS_TIMEZONE_TO_IANA_MAP` adds them to
#: `win_tz` (its only addition; checked against exchangelib 5): Exchange names UTC so in a StartTimeZone and a
#: `recurrenceTimeZone` (review24r). Mirrored here, the Graph adapter importing nothing of EWS.
_EXCHANGE_IDS = {"tzone://Microsoft/Utc": "UTC"}


class UnknownTimeZone(ValueError):
    """A time zone Graph named that is neither an IANA nor a Windows time zone id."""

    def __init__(self, label: str) -> None:
        super().__init__(
            f"its time zone {label!r} is neither an IANA nor a Windows time zone id — set the meeting's time zone "
            "in Outlook to a standard one (such as W. Europe Standard Time)"
        )


def iana_zone(label: str) -> str:
    """The IANA name of a zone Graph names (`dateTimeTimeZone.timeZone`, `recurrenceTimeZone`): an IANA name as
    is, a Windows id (what Outlook for Windows sets, e.g. "W. Europe Standard Time") by the default ("001")
    mapping of Unicode CLDR's windowsZones.xml (tzlocal's `win_tz`: the same table exchangelib's EWS backend reads
    StartTimeZone by, without importing exchangelib, which goes with EWS), or one of the ids exchangelib adds to
    it (`_EXCHANGE_IDS`). Anything else: `UnknownTimeZone`."""
    if label.upper() in ("UTC", "ETC/UTC"):
        return "UTC"
    if (exchange := _EXCHANGE_IDS.get(label)) is not None:
        return exchange
    if label in _IANA:
        return label
    if (mapped := win_tz.get(label)) is not None:
        return mapped
    raise UnknownTimeZone(label)


def to_recurrence(series: SeriesFields) -> dict[str, Any]:
    p, rng = series.pattern, series.range
    pattern: dict[str, Any] = {"type": _PATTERNS[p.type], "interval": p.interval}
    if p.days_of_week:
        pattern["daysOfWeek"] = list(p.days_of_week)
    if p.type == r.WEEKLY:
        pattern["firstDayOfWeek"] = p.first_day_of_week
    if p.day_of_month is not None:
        pattern["dayOfMonth"] = p.day_of_month
    if p.index is not None:
        pattern["index"] = p.index
    if p.month is not None:
        pattern["month"] = p.month
    boundary: dict[str, Any] = {
        "type": _RANGES[rng.type],
        "startDate": rng.start_date.isoformat(),
        "recurrenceTimeZone": series.time_zone,
    }
    if rng.end_date is not None:
        boundary["endDate"] = rng.end_date.isoformat()
    if rng.number_of_occurrences is not None:
        boundary["numberOfOccurrences"] = rng.number_of_occurrences
    return {"pattern": pattern, "range": boundary}


def from_recurrence(value: Any, time_zone: str = "UTC") -> SeriesFields | None:
    """The series a seriesMaster's `recurrence` says (None: none, or one ROOMS cannot hold), its zone an IANA name
    (`iana_zone`; `UnknownTimeZone` if it names none)."""
    if not isinstance(value, dict):
        return None
    p, b = value.get("pattern") or {}, value.get("range") or {}
    kinds = {v: k for k, v in _PATTERNS.items()}
    ranges = {v: k for k, v in _RANGES.items()}
    kind, range_type = kinds.get(str(p.get("type"))), ranges.get(str(b.get("type")))
    if kind is None or range_type is None or not b.get("startDate"):
        return None
    relative = kind in (r.RELATIVE_MONTHLY, r.RELATIVE_YEARLY)
    absolute = kind in (r.ABSOLUTE_MONTHLY, r.ABSOLUTE_YEARLY)
    yearly = kind in (r.ABSOLUTE_YEARLY, r.RELATIVE_YEARLY)
    pattern = r.Pattern(
        type=kind,
        interval=1 if yearly else int(p.get("interval") or 1),
        days_of_week=tuple(str(d) for d in p.get("daysOfWeek") or ()) if kind == r.WEEKLY or relative else (),
        day_of_month=int(p.get("dayOfMonth") or 0) if absolute else None,
        index=str(p.get("index") or "first") if relative else None,
        month=int(p.get("month") or 0) if yearly else None,
        first_day_of_week=str(p.get("firstDayOfWeek") or "monday"),
    )
    end = b.get("endDate")
    rng = r.Range(
        type=range_type,
        start_date=date.fromisoformat(str(b["startDate"])),
        end_date=date.fromisoformat(str(end)) if range_type == r.END_DATE and end else None,
        number_of_occurrences=int(b.get("numberOfOccurrences") or 0) if range_type == r.NUMBERED else None,
    )
    zone = iana_zone(str(b.get("recurrenceTimeZone") or time_zone))
    return SeriesFields(pattern=pattern, range=rng, time_zone=zone)

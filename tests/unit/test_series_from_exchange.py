"""Issue 25, item 3: an Exchange series as the ROOMS series it is (docs/series.md, "Outlook edits of a series"):
by original start, deleted occurrences cancelled, modified ones moved with their own values; a series ROOMS holds
keeps its rows (and stays without end); and the writes that set back an exception ROOMS no longer has."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from roomsops.adapters.store import Occurrence, Series
from roomsops.core import recurrence as r
from roomsops.core.calendar import Exception_, MeetingFields, SeriesFields, with_resets
from roomsops.core.errors import InputError
from roomsops.services.sync.model import occurrence_rows, series_from_exchange

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2027, 1, 1, tzinfo=UTC)
WEEKLY = r.Pattern(r.WEEKLY, days_of_week=("monday",))


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=ZURICH).astimezone(UTC)


DAYS = ["2027-03-15", "2027-03-22", "2027-03-29", "2027-04-05"]  # across the change to summer time (28 March)


def meeting(**series: object) -> MeetingFields:
    values = {
        "pattern": WEEKLY,
        "range": r.Range(r.END_DATE, date(2027, 3, 15), end_date=date(2027, 4, 5)),
        "time_zone": "Europe/Zurich",
        "exceptions_read": True,
    } | series
    return MeetingFields(
        subject="Jour fixe",
        start=at(DAYS[0]),
        end=at(DAYS[0], 10),
        location="Zürich",
        room="room@contoso.com",
        attendees=(),
        reminder_minutes=15,
        private=False,
        free_busy="Busy",
        series=SeriesFields(**values),  # type: ignore[arg-type]
    )


def test_a_series_from_exchange_keeps_its_wall_clock_times_and_its_exceptions_by_original_start() -> None:
    moved = Exception_(at(DAYS[1]), at("2027-03-23", 14), at("2027-03-23", 15), (("subject", "Review"),))
    fields = meeting(cancelled=(at(DAYS[2]),), exceptions=(moved,), changes_read=True)
    series = series_from_exchange(fields, NOW, 365)
    assert [(o.original_start, o.start, o.status, o.changes) for o in series.occurrences] == [
        (at(DAYS[0]), at(DAYS[0]), "active", {}),
        (at(DAYS[1]), at("2027-03-23", 14), "active", {"title": "Review"}),
        (at(DAYS[2]), at(DAYS[2]), "cancelled", {}),
        (at(DAYS[3]), at(DAYS[3]), "active", {}),
    ]
    assert at(DAYS[0]).hour == 8 and at(DAYS[3]).hour == 7  # 09:00 local on both sides of the change
    assert series.booked_until == date(2027, 4, 5)


def test_a_series_rooms_holds_keeps_its_rows_and_its_own_values_where_ews_read_none() -> None:
    """EWS's ModifiedOccurrences carry times only (`changes_read` False): an occurrence keeps ROOMS' own title; a
    series without end written up to booked_until stays without end; one cancelled in ROOMS stays cancelled."""
    rows = tuple(Occurrence(at(d), at(d), at(d, 10)) for d in DAYS)
    rows = (
        rows[0],
        replace(rows[1], changes={"title": "Review"}),
        replace(rows[2], status="cancelled"),
        rows[3],
    )
    ours = Series(WEEKLY, r.Range(r.NO_END, date(2027, 3, 15)), "Europe/Zurich", date(2027, 4, 5), "", rows)
    written = meeting().series
    moved = Exception_(at(DAYS[1]), at("2027-03-23", 14), at("2027-03-23", 15))
    fields = meeting(exceptions=(moved,))
    series = series_from_exchange(fields, NOW, 365, ours, written)
    assert (series.range.type, series.booked_until) == (r.NO_END, date(2027, 4, 5))
    assert [(o.start, o.status, o.changes) for o in series.occurrences] == [
        (at(DAYS[0]), "active", {}),
        (at("2027-03-23", 14), "active", {"title": "Review"}),
        (at(DAYS[2]), "cancelled", {}),
        (at(DAYS[3]), "active", {}),
    ]
    # Exchange holding what ROOMS holds is no difference.
    same = meeting(
        cancelled=(at(DAYS[2]),), exceptions=(Exception_(at(DAYS[1]), at(DAYS[1]), at(DAYS[1], 10)),)
    )
    again = series_from_exchange(same, NOW, 365, ours, written)
    assert occurrence_rows(again.occurrences) == occurrence_rows(rows)


def test_a_series_rooms_cannot_hold_is_refused() -> None:
    every = tuple(at(d) for d in DAYS)
    with pytest.raises(InputError, match="no occurrence left"):
        series_from_exchange(meeting(cancelled=every), NOW, 365)
    with pytest.raises(InputError, match="beyond"):
        series_from_exchange(
            meeting(range=r.Range(r.END_DATE, date(2027, 3, 15), end_date=date(2029, 1, 1))), NOW, 365
        )


def test_an_exception_rooms_no_longer_has_is_written_at_its_pattern_time() -> None:
    before = meeting(exceptions=(Exception_(at(DAYS[1]), at("2027-03-23", 14), at("2027-03-23", 15)),))
    target = meeting(original_starts=tuple(at(d) for d in DAYS))
    written = with_resets(target, before)
    assert written.series is not None
    assert written.series.exceptions == (
        Exception_(at(DAYS[1]), at(DAYS[1]), at(DAYS[1]) + timedelta(hours=1)),
    )
    # A new pattern rewrites the recurrence (Exchange drops every exception): nothing to set back.
    other = meeting(pattern=r.Pattern(r.WEEKLY, days_of_week=("monday", "wednesday")))
    assert with_resets(other, before) == other and with_resets(other, before).series.exceptions == ()  # type: ignore[union-attr]

"""Issue 25, item 2: a series' pattern and range as EWS's Recurrence and Graph's patternedRecurrence and back
(what the sync writes is what it reads back, so an unchanged series is no change), and as a link's snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from roomsops.adapters.ews.series import from_recurrence as from_ews
from roomsops.adapters.ews.series import to_recurrence as to_ews
from roomsops.adapters.graph.backend import meeting_from_event
from roomsops.adapters.graph.series import UnknownTimeZone, iana_zone
from roomsops.adapters.graph.series import from_recurrence as from_graph
from roomsops.adapters.graph.series import to_recurrence as to_graph
from roomsops.core import recurrence as r
from roomsops.core.calendar import Exception_, MeetingFields, SeriesFields

START = date(2027, 3, 15)
SERIES = [
    SeriesFields(r.Pattern(r.DAILY, interval=2), r.Range(r.NUMBERED, START, number_of_occurrences=10)),
    SeriesFields(
        r.Pattern(r.WEEKLY, days_of_week=("wednesday", "monday")),
        r.Range(r.END_DATE, START, date(2027, 6, 30)),
    ),
    SeriesFields(
        r.Pattern(r.WEEKLY, interval=2, days_of_week=("friday",), first_day_of_week="sunday"),
        r.Range(r.END_DATE, START, date(2027, 12, 31)),
    ),
    SeriesFields(
        r.Pattern(r.ABSOLUTE_MONTHLY, day_of_month=31), r.Range(r.NUMBERED, START, number_of_occurrences=6)
    ),
    SeriesFields(
        r.Pattern(r.RELATIVE_MONTHLY, days_of_week=("friday",), index="last"),
        r.Range(r.END_DATE, START, date(2027, 12, 31)),
    ),
    SeriesFields(
        r.Pattern(r.RELATIVE_MONTHLY, interval=3, days_of_week=r.DAY_GROUPS["weekday"], index="first"),
        r.Range(r.NUMBERED, START, number_of_occurrences=4),
    ),
    SeriesFields(r.Pattern(r.ABSOLUTE_YEARLY, day_of_month=29, month=2), r.Range(r.NO_END, START)),
    SeriesFields(
        r.Pattern(r.RELATIVE_YEARLY, days_of_week=("thursday",), index="fourth", month=11),
        r.Range(r.NUMBERED, START, number_of_occurrences=3),
    ),
]


@pytest.mark.parametrize("series", SERIES, ids=lambda s: s.pattern.type)
def test_a_series_reads_back_as_written_over_ews_and_graph(series: SeriesFields) -> None:
    assert from_ews(to_ews(series)) == series
    assert from_graph(to_graph(series)) == series


def test_only_the_pattern_and_range_are_compared_and_days_are_in_week_order() -> None:
    weekly = SERIES[1]
    assert weekly.pattern.days_of_week == ("monday", "wednesday")
    moved = Exception_(
        datetime(2027, 3, 22, 8, tzinfo=UTC),
        datetime(2027, 3, 22, 13, tzinfo=UTC),
        datetime(2027, 3, 22, 14, tzinfo=UTC),
    )
    with_exceptions = SeriesFields(
        weekly.pattern, weekly.range, "Europe/Zurich", cancelled=(moved.original_start,), exceptions=(moved,)
    )
    assert with_exceptions == weekly  # exceptions are written on every write of a series, never compared
    assert SERIES[2] != SeriesFields(SERIES[2].pattern, SERIES[1].range)  # another range is another series
    # Where a week starts counts only for a weekly series repeating every two weeks or more.
    assert SeriesFields(
        r.Pattern(r.WEEKLY, days_of_week=("monday",), first_day_of_week="sunday"), weekly.range
    ) == (SeriesFields(r.Pattern(r.WEEKLY, days_of_week=("monday",)), weekly.range))


def test_a_snapshot_keeps_the_series_and_a_single_meeting_none() -> None:
    fields = MeetingFields(
        subject="Jour fixe",
        start=datetime(2027, 3, 15, 8, tzinfo=UTC),
        end=datetime(2027, 3, 15, 9, tzinfo=UTC),
        location="Zürich",
        room="room@contoso.com",
        attendees=(),
        reminder_minutes=15,
        private=False,
        free_busy="Busy",
        series=SeriesFields(SERIES[4].pattern, SERIES[4].range, "Europe/Zurich"),
    )
    back = MeetingFields.from_json(fields.to_json())
    assert back == fields and back.series is not None and back.series.time_zone == "Europe/Zurich"
    single = MeetingFields.from_json({**fields.to_json(), "series": None})
    assert single.series is None and single != fields
    assert "series" not in MeetingFields.from_json(single.to_json()).to_json()


def test_instance_index_counts_cancelled_occurrences() -> None:
    starts = tuple(datetime(2027, 3, d, 8, tzinfo=UTC) for d in (15, 22, 29))
    series = SeriesFields(SERIES[1].pattern, SERIES[1].range, cancelled=starts[1:2], original_starts=starts)
    assert [series.index(s) for s in starts] == [1, 2, 3]
    with pytest.raises(ValueError):
        series.index(datetime(2027, 3, 16, 8, tzinfo=UTC))


def _master(zone: str) -> dict[str, object]:
    """A seriesMaster as Graph gives one Outlook for Windows made: its zone a Windows id (fix25c)."""
    recurrence = to_graph(SERIES[1])
    recurrence["range"]["recurrenceTimeZone"] = zone
    return {
        "id": "AAMk-1",
        "type": "seriesMaster",
        "subject": "Series 1",
        "start": {"dateTime": "2027-03-15T08:00:00.0000000", "timeZone": zone},
        "end": {"dateTime": "2027-03-15T09:00:00.0000000", "timeZone": zone},
        "attendees": [{"type": "resource", "emailAddress": {"address": "Room-Zurich@example.com"}}],
        "recurrence": recurrence,
    }


@pytest.mark.parametrize(
    ("zone", "iana"),
    [("W. Europe Standard Time", "Europe/Berlin"), ("Europe/Zurich", "Europe/Zurich"), ("UTC", "UTC")],
)
def test_a_graph_series_zone_reads_as_an_iana_name_windows_ids_by_cldr(zone: str, iana: str) -> None:
    """Issue 25 item 5: Graph's recurrenceTimeZone / start.timeZone may be a Windows id; read as IANA (CLDR)."""
    meeting = meeting_from_event(_master(zone))
    assert meeting.problem is None and meeting.fields is not None and meeting.fields.series is not None
    assert meeting.fields.series.time_zone == iana
    assert meeting.fields.start == datetime(2027, 3, 15, 8, tzinfo=ZoneInfo(iana)).astimezone(UTC)


def test_a_graph_series_in_an_unknown_zone_is_a_problem_that_keeps_its_subject_and_room() -> None:
    """A zone that is neither IANA nor Windows: the meeting is parked with a remedy, its subject and room read."""
    event = _master("W. Europe Standard Time")
    event["recurrence"]["range"]["recurrenceTimeZone"] = "Mars Standard Time"  # type: ignore[index]
    meeting = meeting_from_event(event)
    assert meeting.problem is not None and "'Mars Standard Time'" in meeting.problem
    assert "— set the meeting's time zone" in meeting.problem
    assert (
        meeting.fields is not None and meeting.fields.series is None and meeting.fields.subject == "Series 1"
    )
    assert meeting.resources == ("room-zurich@example.com",)
    with pytest.raises(UnknownTimeZone):
        iana_zone("Mars Standard Time")


def test_the_graph_zone_table_reads_every_id_exchangelibs_ews_backend_reads() -> None:
    """review24r: the Graph backend reads a zone as the EWS backend does — every id of exchangelib's table (CLDR's
    Windows ids and its own additions such as 'tzone://Microsoft/Utc') to the same IANA zone (UTC by either name)."""
    from exchangelib.winzone import MS_TIMEZONE_TO_IANA_MAP

    same = {"Etc/UTC": "UTC"}
    differ = {
        ms: (iana, _zone_or_none(ms))
        for ms, iana in MS_TIMEZONE_TO_IANA_MAP.items()
        if _zone_or_none(ms) != same.get(iana, iana)
    }
    assert differ == {}


def _zone_or_none(label: str) -> str | None:
    try:
        return iana_zone(label)
    except UnknownTimeZone:
        return None

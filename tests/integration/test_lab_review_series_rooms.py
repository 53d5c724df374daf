"""Findings of the hostile review of issue 18 (series, all-day items, rooms), each pinned by a test.

Every test here failed before its fix: see the docstrings for what the lab did. EWS is driven by exchangelib, raw
SOAP where exchangelib would refuse to send, and every SOAP answer provoked is validated against messages.xsd.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.errors import ErrorOccurrenceCrossingBoundary
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, NoEndPattern, NumberedPattern, Recurrence, WeeklyPattern

from roomsops.lab.ews import capture
from roomsops.lab.tenant import TenantState, decode

from .conftest import LabHelper
from .test_lab_ews import (
    MONDAY,
    EwsHelper,
    H,
    by_subject,
    exchangelib_against,
    meeting,
    monday_ahead,
    room_attendee,
)
from .test_lab_ews_schema import SCHEMA_DIR, EwsSchema, assert_all_valid, envelope
from .test_lab_series import series, stored, utc

pytestmark = pytest.mark.integration

DAY = 24 * H


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


@pytest.fixture(scope="module")
def ews_schema() -> EwsSchema:
    return EwsSchema(SCHEMA_DIR)


@pytest.fixture
def answers() -> Iterator[capture.ResponseLog]:
    with capture.capture() as log:
        yield log


def answered(ews: EwsHelper) -> list[tuple[str, str]]:
    return [(a["response"], a["reason"]) for a in ews.lab.admin("GET", "room-answers").json()["answered"]]


def processing(ews: EwsHelper, room: str, **changes: Any) -> None:
    path = f"mailboxes/{ews.address(room)}/calendar-processing"
    response = ews.lab.admin("PATCH", path, json=changes)
    assert response.status_code == 200, response.text


def create_series(ews: EwsHelper, pattern: str, boundary: str, start: str, end: str) -> tuple[str, str]:
    """A raw CreateItem of a series (exchangelib refuses to send some of these); (ResponseCode, MessageText)."""
    item = (
        f"<t:CalendarItem><t:Subject>Raw series</t:Subject><t:Recurrence>{pattern}{boundary}</t:Recurrence>"
        f"<t:Start>{start}</t:Start><t:End>{end}</t:End></t:CalendarItem>"
    )
    body = f'<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>{item}</m:Items></m:CreateItem>'
    response = ews.post(envelope(ews.address("DiegoS"), body), token=ews.token())
    assert response.status_code == 200, response.text
    code = re.findall(r"<m:ResponseCode>([^<]+)<", response.text)[0]
    text = re.findall(r"<m:MessageText>([^<]+)<", response.text)
    return code, text[0] if text else ""


def calendar_view(ews: EwsHelper, start: str, end: str) -> int:
    body = (
        '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape>'
        f'<m:CalendarView StartDate="{start}" EndDate="{end}"/>'
        '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>'
    )
    return ews.post(envelope(ews.address("DiegoS"), body), token=ews.token()).status_code


# --- time zones beyond the lab's first 18 ----------------------------------------------------------------------


def test_review_all_day_items_in_odd_offset_zones_are_one_local_day(ews: EwsHelper) -> None:
    """Before: only 18 Windows zone ids were known, any other counted as UTC: an all-day item in Kathmandu (what
    exchangelib sends as 'Nepal Standard Time') became two UTC days."""
    diego = ews.account("DiegoS")
    for name, subject in (("Asia/Kathmandu", "Kathmandu"), ("Pacific/Chatham", "Chatham")):
        tz = EWSTimeZone(name)
        start = EWSDateTime(2031, 1, 6, 0, 0, tzinfo=tz)
        item = CalendarItem(
            account=diego,
            folder=diego.calendar,
            subject=subject,
            start=start,
            end=start + DAY,
            is_all_day=True,
        )
        item.save(send_meeting_invitations=SEND_TO_NONE)
    kathmandu = by_subject(ews.calendar("DiegoS"), "Kathmandu")
    assert (kathmandu["start"], kathmandu["end"]) == ("2031-01-05T18:15:00Z", "2031-01-06T18:15:00Z")
    chatham = by_subject(ews.calendar("DiegoS"), "Chatham")  # +13:45 in its summer
    assert (chatham["start"], chatham["end"]) == ("2031-01-05T10:15:00Z", "2031-01-06T10:15:00Z")


def test_review_a_series_in_chatham_keeps_its_local_time_across_the_dst_change(ews: EwsHelper) -> None:
    """Chatham leaves summer time (+13:45 → +12:45) on Sunday 6 April 2031; 09:00 local stays 09:00."""
    diego = ews.account("DiegoS")
    tz = EWSTimeZone("Pacific/Chatham")
    start = EWSDateTime(2031, 3, 31, 9, 0, tzinfo=tz)
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
        boundary=NumberedPattern(start=start.date(), number=2),
    )
    series(diego, "Chatham weekly", start, weekly).save(send_meeting_invitations=SEND_TO_NONE)
    window = (dt.datetime(2031, 3, 25, tzinfo=dt.UTC), dt.datetime(2031, 4, 20, tzinfo=dt.UTC))
    assert [i["start"] for i in stored(ews, "DiegoS", expand=window)] == [
        "2031-03-30T19:15:00Z",
        "2031-04-06T20:15:00Z",
    ]


def test_review_working_hours_take_known_time_zones_only(ews: EwsHelper) -> None:
    """Before: any text was stored as WorkingHoursTimeZone and silently meant UTC to the attendant."""
    path = f"mailboxes/{ews.address('room-zurich')}/calendar-processing"
    refused = ews.lab.admin("PATCH", path, json={"working_hours_time_zone": "Mars Standard Time"})
    assert refused.status_code == 400 and "working" in refused.text.lower()
    accepted = ews.lab.admin("PATCH", path, json={"working_hours_time_zone": "Nepal Standard Time"})
    assert accepted.status_code == 200 and accepted.json()["working_hours_time_zone"] == "Nepal Standard Time"


# --- series Exchange refuses ------------------------------------------------------------------------------------


def test_review_series_past_4500_are_refused_and_views_near_9999_answer(
    ews: EwsHelper, ews_schema: EwsSchema, answers: capture.ResponseLog
) -> None:
    """Before: a series starting in 9999 was stored, and from then on every FindItem of the mailbox was HTTP 500
    (its expansion overflowed the calendar); a CalendarView starting in 9998 was HTTP 500 too. A NumberedRecurrence
    of 2^31-1 occurrences was stored as if it ended."""
    daily = "<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>"
    too_big = ("ErrorRecurrenceEndDateTooBig", "Recurrence end date can not exceed Sep 1, 4500 00:00:00.")
    for day in ("9999-12-31", "4500-09-02"):
        no_end = f"<t:NoEndRecurrence><t:StartDate>{day}</t:StartDate></t:NoEndRecurrence>"
        assert create_series(ews, daily, no_end, f"{day}T09:00:00Z", f"{day}T10:00:00Z") == too_big
    numbered = (
        "<t:NumberedRecurrence><t:StartDate>2031-01-01</t:StartDate>"
        "<t:NumberOfOccurrences>2147483647</t:NumberOfOccurrences></t:NumberedRecurrence>"
    )
    assert create_series(ews, daily, numbered, "2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z") == too_big
    end_date = (
        "<t:EndDateRecurrence><t:StartDate>2031-01-01</t:StartDate>"
        "<t:EndDate>4501-01-01</t:EndDate></t:EndDateRecurrence>"
    )
    assert create_series(ews, daily, end_date, "2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z") == too_big
    huge_interval = "<t:DailyRecurrence><t:Interval>2147483647</t:Interval></t:DailyRecurrence>"
    three = numbered.replace("2147483647", "3")
    assert create_series(ews, huge_interval, three, "2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z") == too_big
    # Up to the limit is fine, and a series without end is still expanded where asked.
    assert create_series(ews, daily, three, "2031-01-01T09:00:00Z", "2031-01-01T10:00:00Z")[0] == "NoError"
    forever = "<t:NoEndRecurrence><t:StartDate>2031-01-01</t:StartDate></t:NoEndRecurrence>"
    assert create_series(ews, daily, forever, "2031-01-01T12:00:00Z", "2031-01-01T13:00:00Z")[0] == "NoError"
    assert calendar_view(ews, "9998-01-01T00:00:00Z", "9999-12-31T23:00:00Z") == 200
    assert calendar_view(ews, "2031-01-01T00:00:00Z", "2031-01-04T00:00:00Z") == 200
    assert len(list(ews.account("DiegoS").calendar.all())) == 2
    assert_all_valid(ews_schema, answers)


def test_review_an_occurrence_longer_than_the_pattern_allows_is_refused(ews: EwsHelper) -> None:
    """Before: a daily series of 25-hour occurrences was stored, its occurrences overlapping each other."""
    daily = "<t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence>"
    numbered = (
        "<t:NumberedRecurrence><t:StartDate>2031-01-01</t:StartDate>"
        "<t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence>"
    )
    assert create_series(ews, daily, numbered, "2031-01-01T09:00:00Z", "2031-01-02T10:00:00Z") == (
        "ErrorOccurrenceTimeSpanTooBig",
        "One occurrence of the recurring calendar item overlaps with another occurrence of the same calendar item.",
    )
    # Exactly the gap (24 hours, back to back) does not overlap.
    assert create_series(ews, daily, numbered, "2031-01-01T09:00:00Z", "2031-01-02T09:00:00Z")[0] == "NoError"


def test_review_an_occurrence_moved_onto_a_neighbours_day_is_refused(ews: EwsHelper) -> None:
    """Before: an occurrence could be moved onto the next occurrence's day or past the end of the series."""
    diego = ews.account("DiegoS")
    daily = Recurrence(
        pattern=DailyPattern(interval=2), boundary=NumberedPattern(start=MONDAY.date(), number=4)
    )
    master = series(diego, "Every other day", MONDAY, daily)
    master.save(send_meeting_invitations=SEND_TO_NONE)
    # onto the next one's day, onto the previous one's day, past the next one (the last has no next)
    for index, moved in ((2, MONDAY + 4 * DAY), (2, MONDAY), (3, MONDAY + 8 * DAY)):
        occurrence = master.occurrence(index)
        occurrence.refresh()
        occurrence.start, occurrence.end = moved, moved + 2 * H
        with pytest.raises(ErrorOccurrenceCrossingBoundary):
            occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    # Within the days between its neighbours an occurrence moves; the last one has no next to cross.
    occurrence = master.occurrence(2)
    occurrence.refresh()
    occurrence.start, occurrence.end = MONDAY + 3 * DAY, MONDAY + 3 * DAY + H
    occurrence.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    last = master.occurrence(4)
    last.refresh()
    last.start, last.end = MONDAY + 9 * DAY, MONDAY + 9 * DAY + H
    last.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
    window = (MONDAY - H, MONDAY + 10 * DAY)
    assert [i["start"] for i in stored(ews, "DiegoS", expand=window)] == [
        utc(MONDAY),
        utc(MONDAY + 3 * DAY),
        utc(MONDAY + 4 * DAY),
        utc(MONDAY + 9 * DAY),
    ]


# --- the booking window -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("weekday", range(7))
def test_review_a_year_long_series_is_declined_whatever_its_weekday(ews: EwsHelper, weekday: int) -> None:
    """Before: the attendant expanded the series only up to the window's last day and took "the last occurrence
    found is inside" for "the series ends inside": a weekly series of 52 was accepted on six weekdays out of seven
    despite EnforceSchedulingHorizon $true (Microsoft's default)."""
    start = monday_ahead(7) + weekday * DAY
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[start.isoweekday()], first_day_of_week=1),
        boundary=NumberedPattern(start=start.date(), number=52),
    )
    master = series(ews.account("DiegoS"), "A year of meetings", start, weekly)
    master.resources = [room_attendee(ews, "room-zurich")]
    master.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert answered(ews) == [
        ("Decline", "The recurring meeting extends beyond the resource's booking window of 180 days.")
    ]
    assert ews.calendar("room-zurich") == []


def test_review_a_series_starting_beyond_the_booking_window_is_declined(ews: EwsHelper) -> None:
    """Before: nothing of the series fell inside the window, which the attendant read as "nothing to check" and
    accepted the whole series."""
    processing(ews, "room-zurich", booking_window_in_days=10)
    start = monday_ahead(21)
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
        boundary=NumberedPattern(start=start.date(), number=2),
    )
    master = series(ews.account("DiegoS"), "Later", start, weekly)
    master.resources = [room_attendee(ews, "room-zurich")]
    master.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert answered(ews) == [("Decline", "The meeting is outside the resource's booking window of 10 days.")]
    assert ews.calendar("room-zurich") == []


def test_review_without_enforce_scheduling_horizon_the_rooms_series_ends_at_the_window(
    ews: EwsHelper,
) -> None:
    """Before: with EnforceSchedulingHorizon $false the room accepted a series without end and its calendar held
    every occurrence, years past the booking window."""
    processing(ews, "room-zurich", booking_window_in_days=30, enforce_scheduling_horizon=False)
    start = monday_ahead(7)
    weekly = Recurrence(
        pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
        boundary=NoEndPattern(start=start.date()),
    )
    master = series(ews.account("DiegoS"), "Forever", start, weekly)
    master.resources = [room_attendee(ews, "room-zurich")]
    master.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    assert [a[0] for a in answered(ews)] == ["Accept"]
    # The window ends with the 30th day in the room's zone (Pacific, its default working hours time zone).
    pacific = ZoneInfo("America/Los_Angeles")
    horizon = dt.datetime.combine(dt.datetime.now(pacific).date() + 31 * DAY, dt.time(), pacific)
    booked = stored(ews, "room-zurich", expand=(start - H, start + 300 * DAY))
    assert booked and all(dt.datetime.fromisoformat(i["start"]) < horizon for i in booked)
    assert len(booked) >= 3
    [copy] = ews.calendar("room-zurich")
    assert copy["recurrence"]["range"] == "EndDateRecurrence"
    organizer = stored(ews, "DiegoS", expand=(start - H, start + 300 * DAY))
    assert len(organizer) > len(booked)  # the organizer's series is untouched


# --- the attendant answers the request it received --------------------------------------------------------------


def test_review_the_room_answers_the_request_it_received(fresh_lab: LabHelper) -> None:
    """Before: the attendant looked at the organizer's item when it answered, not at the request: an organizer
    deleting without a cancellation (SendToNone) before the answer left the room unbooked, though with no delay the
    same deletion leaves the room booked; a time changed without sending (SendToNone) was booked by the room though
    it never received it."""
    with exchangelib_against(fresh_lab) as ews:
        diego = ews.account("DiegoS")
        gone = meeting(diego, "Deleted silently", MONDAY)
        gone.resources = [room_attendee(ews, "room-zurich")]
        gone.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        gone.delete(send_meeting_cancellations=SEND_TO_NONE)
        moved = meeting(diego, "Moved silently", MONDAY + 3 * H)
        moved.resources = [room_attendee(ews, "room-zurich")]
        moved.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        moved.start, moved.end = MONDAY + 5 * H, MONDAY + 6 * H
        moved.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_NONE)
        pending = ews.lab.admin("GET", "room-answers").json()["pending"]
        assert sorted(p["subject"] for p in pending) == ["Deleted silently", "Moved silently"]
        # The request waits in tenant.json with what was sent (a restart answers it as sent).
        state = decode(TenantState, json.loads((fresh_lab.dir / "tenant.json").read_text(encoding="utf-8")))
        assert sorted(str(p.request.start) for p in state.pending_answers if p.request) == [
            utc(MONDAY),
            utc(MONDAY + 3 * H),
        ]
        fresh_lab.admin("POST", "room-answers/process")
        assert sorted(i["start"] for i in ews.calendar("room-zurich")) == [utc(MONDAY), utc(MONDAY + 3 * H)]
        assert [i["subject"] for i in ews.calendar("DiegoS")] == ["Moved silently"]
        assert by_subject(ews.calendar("DiegoS"), "Moved silently")["resources"][0]["response"] == "Accept"

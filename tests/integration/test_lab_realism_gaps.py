"""The last gaps of issue 18 "Lab realism", with the real exchangelib where a client can reach them:

- cancelling one occurrence (exchangelib `occurrence.cancel()`: CancelCalendarItem with the occurrence's id);
- a meeting request from an organizer outside the tenant to a room (ProcessExternalMeetingMessages, both values);
- the review notes: an unknown time zone id is ErrorTimeZone, a weekly pattern without valid days is
  ErrorCalendarInvalidDayForWeeklyRecurrence, and a long series expands in full where a view or an index asks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from exchangelib import Attendee, EWSDateTime, Mailbox
from exchangelib.items import SEND_TO_NONE
from exchangelib.recurrence import DailyPattern, EndDatePattern, NoEndPattern, NumberedPattern, Recurrence

from .conftest import LabHelper
from .test_lab_ews import MONDAY, EwsHelper, H, exchangelib_against, meeting, room_attendee, z
from .test_lab_ews_schema import envelope
from .test_lab_series import series, stored, utc, weekly_meeting

pytestmark = pytest.mark.integration

DAY = 24 * H


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    # Rooms answer at once unless a test says otherwise: most of these are about what the answer is, not when.
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


# --- cancelling one occurrence ---------------------------------------------------------------------------


def test_cancelling_one_occurrence_cancels_it_for_attendees_and_rooms(ews: EwsHelper) -> None:
    adele = Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    master = weekly_meeting(
        ews, "Weekly planning", required_attendees=[adele], resources=[room_attendee(ews, "room-zurich")]
    )
    [room_before] = stored(ews, "room-zurich")
    assert (room_before["my_response"], room_before["deleted_occurrences"]) == ("Accept", [])

    second = master.occurrence(2)
    second.refresh()
    second.cancel()  # CreateItem with a CancelCalendarItem whose ReferenceItemId is the occurrence's id

    cancelled = utc(MONDAY + 7 * DAY)
    [organizer] = stored(ews, "DiegoS")  # the master stays in the calendar
    assert (organizer["type"], organizer["is_cancelled"]) == ("RecurringMaster", False)
    assert organizer["deleted_occurrences"] == [cancelled]
    fresh = ews.account("DiegoS").calendar.get(id=master.id)
    assert [d.start for d in fresh.deleted_occurrences] == [MONDAY + 7 * DAY]
    [copy] = stored(ews, "AdeleV")
    assert (copy["deleted_occurrences"], copy["is_cancelled"]) == ([cancelled], False)
    window = (MONDAY - H, MONDAY + 30 * DAY)
    shown = stored(ews, "AdeleV", expand=window)
    assert [o["start"] for o in shown] == [utc(MONDAY), utc(MONDAY + 14 * DAY), utc(MONDAY + 21 * DAY)]
    # The room (RemoveCanceledMeetings $false, the default) keeps the occurrence, cancelled and free.
    [room] = stored(ews, "room-zurich")
    assert (room["deleted_occurrences"], room["is_cancelled"]) == ([], False)
    assert [(e["original_start"], e["is_cancelled"]) for e in room["modified_occurrences"]] == [
        (cancelled, True)
    ]
    shown = stored(ews, "room-zurich", expand=window)
    assert [(o["start"], o["is_cancelled"], o["free_busy"]) for o in shown] == [
        (utc(MONDAY), False, "Busy"),
        (cancelled, True, "Free"),
        (utc(MONDAY + 14 * DAY), False, "Busy"),
        (utc(MONDAY + 21 * DAY), False, "Busy"),
    ]
    assert shown[1]["subject"].startswith("Canceled: "), shown[1]
    # With RemoveCanceledMeetings $true the next cancelled occurrence leaves the room's series.
    processing = ews.lab.admin(
        "PATCH",
        f"mailboxes/{ews.address('room-zurich')}/calendar-processing",
        json={"remove_canceled_meetings": True},
    )
    assert processing.status_code == 200, processing.text
    fourth = master.occurrence(4)
    fourth.refresh()
    fourth.cancel()
    [room] = stored(ews, "room-zurich")
    assert room["deleted_occurrences"] == [utc(MONDAY + 21 * DAY)]
    assert [o["start"] for o in stored(ews, "room-zurich", expand=window)] == [
        utc(MONDAY),
        cancelled,
        utc(MONDAY + 14 * DAY),
    ]
    # The other occurrences stay booked: the room still blocks the third Monday for someone else.
    other = series(
        ews.account("LeeG"),
        "Taken",
        MONDAY + 14 * DAY,
        Recurrence(
            pattern=DailyPattern(interval=1),
            boundary=NumberedPattern(start=(MONDAY + 14 * DAY).date(), number=1),
        ),
        resources=[room_attendee(ews, "room-zurich")],
    )
    other.save(send_meeting_invitations="SendToAllAndSaveCopy")
    # The cancelled occurrence the room keeps no longer blocks its slot.
    freed = meeting(
        ews.account("LeeG"), "Freed slot", MONDAY + 7 * DAY, resources=[room_attendee(ews, "room-zurich")]
    )
    freed.save(send_meeting_invitations="SendToAllAndSaveCopy")
    answers = ews.lab.admin("GET", "room-answers").json()["answered"]
    assert [a["response"] for a in answers if a["subject"] == "Taken"] == ["Decline"]
    assert [a["response"] for a in answers if a["subject"] == "Freed slot"] == ["Accept"]


def test_cancelling_an_occurrence_of_a_meeting_one_does_not_organize_is_refused(ews: EwsHelper) -> None:
    adele = Attendee(mailbox=Mailbox(email_address=ews.address("AdeleV")), response_type="Unknown")
    weekly_meeting(ews, "Not mine", required_attendees=[adele])
    [copy] = ews.account("AdeleV").calendar.view(MONDAY + 6 * DAY, MONDAY + 8 * DAY)
    with pytest.raises(Exception, match=r"ErrorCalendarIsNotOrganizer|not the organizer"):
        copy.cancel()
    assert stored(ews, "AdeleV")[0]["deleted_occurrences"] == []


# --- meeting requests from outside the organization -------------------------------------------------------


def external_request(ews: EwsHelper, subject: str, start: EWSDateTime) -> dict[str, Any]:
    response = ews.lab.admin(
        "POST",
        f"mailboxes/{ews.address('room-zurich')}/external-meeting-requests",
        json={
            "organizer": "partner@fabrikam.example",
            "subject": subject,
            "start": start.isoformat(),
            "end": (start + H).isoformat(),
        },
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_a_room_declines_external_organizers_unless_process_external_meeting_messages(ews: EwsHelper) -> None:
    refused = external_request(ews, "From Fabrikam", MONDAY)
    assert refused["answer"]["response"] == "Decline"
    assert refused["answer"]["reason"] == (
        "Meeting requests from outside the organization aren't accepted by this resource."
    )
    assert stored(ews, "room-zurich") == []

    room = ews.address("room-zurich")
    changed = ews.lab.admin(
        "PATCH", f"mailboxes/{room}/calendar-processing", json={"process_external_meeting_messages": True}
    )
    assert changed.status_code == 200, changed.text
    ews.lab.settings(room_answer_delay=600)  # this one waits for the attendant, as in Exchange
    waiting = external_request(ews, "From Fabrikam again", MONDAY + 2 * H)
    assert (waiting["pending"], waiting["answer"]) == (True, None)
    [pending] = ews.lab.admin("GET", "room-answers").json()["pending"]
    assert (pending["organizer"], pending["subject"]) == ("partner@fabrikam.example", "From Fabrikam again")
    [answer] = ews.lab.admin("POST", "room-answers/process").json()["answered"]
    assert (answer["response"], answer["organizer"]) == ("Accept", "partner@fabrikam.example")
    [booking] = stored(ews, "room-zurich")
    assert (booking["organizer"], booking["my_response"]) == ("partner@fabrikam.example", "Accept")

    inside = ews.lab.admin(
        "POST",
        f"mailboxes/{room}/external-meeting-requests",
        json={
            "organizer": ews.address("DiegoS"),
            "subject": "x",
            "start": "2031-01-01T10:00:00Z",
            "end": "2031-01-01T11:00:00Z",
        },
    )
    assert (inside.status_code, inside.json()["error"]["code"]) == (400, "bad_field")


# --- review notes -----------------------------------------------------------------------------------------


def create_raw(ews: EwsHelper, calendar_item: str) -> str:
    body = (
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>Raw</t:Subject>'
        f"{calendar_item}</t:CalendarItem></m:Items></m:CreateItem>"
    )
    response = ews.post(envelope(ews.address("DiegoS"), body), token=ews.token())
    assert response.status_code == 200, response.text
    return response.text


def test_an_unknown_time_zone_is_error_time_zone_and_nothing_is_stored(ews: EwsHelper) -> None:
    answer = create_raw(
        ews,
        "<t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End>"
        '<t:StartTimeZone Id="Mars Standard Time"/>',
    )
    assert "<m:ResponseCode>ErrorTimeZone</m:ResponseCode>" in answer
    known = create_raw(
        ews,
        "<t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End>"
        '<t:StartTimeZone Id="W. Europe Standard Time"/>',
    )
    assert "<m:ResponseCode>NoError</m:ResponseCode>" in known
    assert len(stored(ews, "DiegoS")) == 1


@pytest.mark.parametrize("days", ["", "Weekday", "Monday Day"])
def test_a_weekly_pattern_without_valid_days_is_refused(ews: EwsHelper, days: str) -> None:
    answer = create_raw(
        ews,
        "<t:Start>2031-03-03T10:00:00Z</t:Start><t:End>2031-03-03T11:00:00Z</t:End>"
        f"<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>{days}</t:DaysOfWeek>"
        "</t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2031-03-03</t:StartDate>"
        "<t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>",
    )
    assert "<m:ResponseCode>ErrorCalendarInvalidDayForWeeklyRecurrence</m:ResponseCode>" in answer
    assert stored(ews, "DiegoS") == []


def test_a_long_series_expands_in_full_where_a_view_or_an_index_asks(ews: EwsHelper) -> None:
    diego = ews.account("DiegoS")
    # Daily since 2006 without end: more than 5,000 occurrences before the view (the lab once stopped there).
    old_start = EWSDateTime(2006, 1, 2, 9, 0, tzinfo=MONDAY.tzinfo)
    endless = series(
        diego,
        "Daily since 2006",
        old_start,
        Recurrence(pattern=DailyPattern(interval=1), boundary=NoEndPattern(start=old_start.date())),
    )
    endless.save(send_meeting_invitations=SEND_TO_NONE)
    start = MONDAY.replace(hour=0)
    shown = [o for o in diego.calendar.view(start, start + 3 * DAY) if o.subject == "Daily since 2006"]
    assert len(shown) == 3
    index = (MONDAY.date() - old_start.date()).days + 1
    assert index > 5000 and shown[0].type == "Occurrence"
    far = endless.occurrence(index)
    far.refresh()  # GetItem with an OccurrenceItemId past the 5,000th
    assert far.start == old_start + (index - 1) * DAY
    # The admin API's expanded view is bounded as EWS's CalendarView is (two years): 730 days are answered in
    # full, a thousand years (which would hold the lab for minutes) or an end before the start are bad input.
    assert len(stored(ews, "DiegoS", expand=(start, start + 730 * DAY))) == 730
    calendar = f"mailboxes/{ews.address('DiegoS')}/calendar"
    for first, last, why in (
        (start, start + 732 * DAY, "two years"),
        (start, start.replace(year=start.year + 1000), "two years"),
        (start, old_start, "before its start"),
    ):
        refused = ews.lab.admin("GET", f"{calendar}?expand={z(first)},{z(last)}")
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "bad_field"), refused.text
        assert why in refused.json()["error"]["message"], refused.text

    # 6,000 daily occurrences (an end date: exchangelib bounds NumberOfOccurrences to 999): the master's
    # LastOccurrence is the 6,000th.
    last_day = (MONDAY + 5999 * DAY).date()
    long = series(
        diego,
        "Six thousand",
        MONDAY,
        Recurrence(
            pattern=DailyPattern(interval=1), boundary=EndDatePattern(start=MONDAY.date(), end=last_day)
        ),
    )
    long.save(send_meeting_invitations=SEND_TO_NONE)
    long.refresh()
    assert (long.first_occurrence.start, long.last_occurrence.start) == (MONDAY, MONDAY + 5999 * DAY)


# --- calendar-processing rules that decline (audit of issue 18: each with exchangelib) ---------------------


def room_processing(ews: EwsHelper, room: str, **changes: Any) -> None:
    response = ews.lab.admin("PATCH", f"mailboxes/{ews.address(room)}/calendar-processing", json=changes)
    assert response.status_code == 200, response.text


def answer_for(ews: EwsHelper, subject: str) -> tuple[str, str]:
    answers = ews.lab.admin("GET", "room-answers").json()["answered"]
    [answer] = [(a["response"], a["reason"]) for a in answers if a["subject"] == subject]
    return answer


def test_allow_recurring_meetings_false_declines_a_series_and_accepts_a_single_meeting(
    ews: EwsHelper,
) -> None:
    room_processing(ews, "room-zurich", allow_recurring_meetings=False)
    weekly_meeting(ews, "A series", resources=[room_attendee(ews, "room-zurich")])
    assert answer_for(ews, "A series") == ("Decline", "Recurring meetings aren't allowed for this resource.")
    single = meeting(
        ews.account("DiegoS"), "Once", MONDAY + 3 * H, resources=[room_attendee(ews, "room-zurich")]
    )
    single.save(send_meeting_invitations="SendToAllAndSaveCopy")
    assert answer_for(ews, "Once") == ("Accept", "")
    # The room keeps the single meeting only (its subject is the organizer's name: AddOrganizerToSubject $true).
    assert [i["type"] for i in stored(ews, "room-zurich")] == ["Single"]
    [organizer] = [i for i in stored(ews, "DiegoS") if i["subject"] == "A series"]
    assert organizer["resources"][0]["response"] == "Decline"


def test_conflict_percentage_allowed_declines_a_series_with_too_many_conflicts(ews: EwsHelper) -> None:
    # Two conflicts allowed by count, but only 25 %: 2 of 4 occurrences (50 %) is too many.
    room_processing(ews, "room-bern", maximum_conflict_instances=2, conflict_percentage_allowed=25)
    diego = ews.account("DiegoS")
    for week in (1, 2):
        taken = series(
            diego,
            f"Taken {week}",
            MONDAY + week * 7 * DAY,
            Recurrence(
                pattern=DailyPattern(interval=1), boundary=NumberedPattern(start=MONDAY.date(), number=1)
            ),
        )
        taken.recurrence = None
        taken.resources = [room_attendee(ews, "room-bern")]
        taken.save(send_meeting_invitations="SendToAllAndSaveCopy")
    weekly_meeting(ews, "Half taken", resources=[room_attendee(ews, "room-bern")])
    response, reason = answer_for(ews, "Half taken")
    assert response == "Decline"
    assert "2 of 4 occurrences" in reason and "(allowed: 2 occurrences, 25%)" in reason
    assert [i["type"] for i in stored(ews, "room-bern")] == ["Single", "Single"]  # the series left nothing

"""Every answer the lab's EWS gives about recurring series validates against Microsoft's schema (messages.xsd).

The checks of test_lab_ews_schema.py (same schema copy, same validation), applied to series: masters with every
pattern and range, calendar views of occurrences and exceptions, GetItem/UpdateItem/DeleteItem by OccurrenceItemId
and RecurringMasterItemId, SyncFolderItems, and the series' error answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
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

from roomsops.lab.ews import capture

from .conftest import LabHelper
from .test_lab_ews import MONDAY, EwsHelper, H, exchangelib_against, meeting, room_attendee
from .test_lab_ews_schema import SCHEMA_DIR, EwsSchema, assert_all_valid, envelope
from .test_lab_series import series

pytestmark = pytest.mark.integration


@pytest.fixture
def ews(fresh_lab: LabHelper) -> Iterator[EwsHelper]:
    fresh_lab.settings(room_answer_delay=0)
    with exchangelib_against(fresh_lab) as helper:
        yield helper


@pytest.fixture
def answers() -> Iterator[capture.ResponseLog]:
    with capture.capture() as log:
        yield log


def test_every_series_answer_validates(ews: EwsHelper, answers: capture.ResponseLog) -> None:
    diego = ews.account("DiegoS")
    calendar = diego.calendar
    day = MONDAY.date()
    patterns = [
        (DailyPattern(interval=1), EndDatePattern(start=day, end=day + dt.timedelta(days=3))),
        (
            WeeklyPattern(interval=1, weekdays=[1, 3], first_day_of_week=1),
            NumberedPattern(start=day, number=4),
        ),
        (AbsoluteMonthlyPattern(interval=1, day_of_month=15), NoEndPattern(start=day)),
        (RelativeMonthlyPattern(interval=2, weekday=9, week_number=5), NumberedPattern(start=day, number=3)),
        (AbsoluteYearlyPattern(day_of_month=1, month=3), NumberedPattern(start=day, number=2)),
        (RelativeYearlyPattern(weekday=5, week_number=1, month=6), NoEndPattern(start=day)),
    ]
    masters = []
    for offset, (pattern, boundary) in enumerate(patterns):
        master = series(
            diego, f"Series {offset}", MONDAY + offset * H, Recurrence(pattern=pattern, boundary=boundary)
        )
        master.save(send_meeting_invitations=SEND_TO_NONE)
        masters.append(master)
    weekly = series(
        diego,
        "Weekly with a room",
        MONDAY + 8 * H,
        Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=[1], first_day_of_week=1),
            boundary=NumberedPattern(start=day, number=4),
        ),
        resources=[room_attendee(ews, "room-bern")],
    )
    weekly.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    meeting(diego, "Single", MONDAY + 9 * H).save(send_meeting_invitations=SEND_TO_NONE)

    list(calendar.view(MONDAY - H, MONDAY + 60 * 24 * H))  # FindItem CalendarView, GetItem of occurrences
    list(calendar.all())  # masters and single items, every property
    list(calendar.sync_items())
    second = weekly.occurrence(2)
    second.refresh()
    second.start, second.end = second.start + H, second.end + H
    second.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    third = weekly.occurrence(3)
    third.refresh()  # named by its ItemId from here on
    third_id = third.id
    third.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    master = second.recurring_master()
    master.refresh()  # ModifiedOccurrences, DeletedOccurrences, First/LastOccurrence
    list(calendar.view(MONDAY - H, MONDAY + 60 * 24 * H))  # an exception
    for account in (ews.account("room-bern"),):
        list(account.calendar.all())
    masters[1].recurrence = Recurrence(
        pattern=DailyPattern(interval=2), boundary=NumberedPattern(start=day, number=2)
    )
    masters[1].save(update_fields=["recurrence"])

    # Error answers of series.
    token = ews.token()
    address = ews.address("DiegoS")
    single = next(i for i in calendar.all() if i.subject == "Single")
    raw = [
        "<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>"
        f'<t:OccurrenceItemId RecurringMasterId="{weekly.id}" InstanceIndex="3"/>'
        f'<t:OccurrenceItemId RecurringMasterId="{weekly.id}" InstanceIndex="9"/>'
        f'<t:OccurrenceItemId RecurringMasterId="{single.id}" InstanceIndex="1"/>'
        f'<t:RecurringMasterItemId OccurrenceId="{single.id}"/>'
        f'<t:RecurringMasterItemId OccurrenceId="{second.id}"/>'
        "</m:ItemIds></m:GetItem>",
        '<m:MoveItem><m:ToFolderId><t:DistinguishedFolderId Id="deleteditems"/></m:ToFolderId>'
        f'<m:ItemIds><t:ItemId Id="{second.id}"/></m:ItemIds></m:MoveItem>',
        '<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items>'
        "<t:CalendarItem><t:Subject>No occurrence</t:Subject><t:Start>2031-03-03T10:00:00Z</t:Start>"
        "<t:End>2031-03-03T11:00:00Z</t:End><t:Recurrence><t:AbsoluteYearlyRecurrence><t:DayOfMonth>1"
        "</t:DayOfMonth><t:Month>May</t:Month></t:AbsoluteYearlyRecurrence><t:EndDateRecurrence>"
        "<t:StartDate>2031-03-03</t:StartDate><t:EndDate>2031-04-01</t:EndDate></t:EndDateRecurrence>"
        "</t:Recurrence></t:CalendarItem>"
        "<t:CalendarItem><t:Subject>Bad interval</t:Subject><t:Start>2031-03-03T10:00:00Z</t:Start>"
        "<t:End>2031-03-03T11:00:00Z</t:End><t:Recurrence><t:DailyRecurrence><t:Interval>0</t:Interval>"
        "</t:DailyRecurrence><t:NoEndRecurrence><t:StartDate>2031-03-03</t:StartDate></t:NoEndRecurrence>"
        "</t:Recurrence></t:CalendarItem></m:Items></m:CreateItem>",
    ]
    for body in raw:
        assert ews.post(envelope(address, body), token=token).status_code == 200
    # The deleted occurrence's ItemId in UpdateItem and DeleteItem: a deleted occurrence (Table 1 of
    # handling-deletion-related-errors-in-ews-in-exchange), not a missing item.
    on_deleted = [
        '<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone">'
        f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{third_id}"/><t:Updates><t:SetItemField>'
        '<t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Back</t:Subject></t:CalendarItem>'
        "</t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
        '<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
        f'<m:ItemIds><t:ItemId Id="{third_id}"/></m:ItemIds></m:DeleteItem>',
    ]
    for body in on_deleted:
        text = ews.post(envelope(address, body), token=token).text
        assert re.findall(r"ResponseCode>([^<]+)<", text) == [
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence"
        ], text

    codes = assert_all_valid(EwsSchema(SCHEMA_DIR), answers)
    seen = {c for found in codes.values() for c in found}
    expected = {
        "NoError",
        "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
        "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
        "ErrorCalendarCannotUseIdForOccurrenceId",
        "ErrorCalendarCannotUseIdForRecurringMasterId",
        "ErrorCalendarCannotMoveOrCopyOccurrence",
        "ErrorRecurrenceHasNoOccurrence",
        "ErrorCalendarInvalidRecurrence",
    }
    assert expected <= seen, f"answers never given: {expected - seen}"
    assert {"CreateItem", "FindItem", "GetItem", "UpdateItem", "DeleteItem", "SyncFolderItems"} <= set(codes)
    print(f"series answers validated: {len(answers.entries)}")

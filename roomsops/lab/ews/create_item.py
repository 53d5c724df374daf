"""CreateItem: new calendar items (appointments and meetings), and CancelCalendarItem (what `item.cancel()` sends).

SendMeetingInvitations (createitem.md): SendToNone saves without sending; SendOnlyToAll and SendToAllAndSaveCopy
deliver to the attendees (see delivery.py). A CalendarItem with a Recurrence is a series' RecurringMaster (series.py;
how-to-create-a-recurring-series-by-using-ews-in-exchange), sent to attendees and rooms as one meeting. A cancellation
(how-to-delete-appointments-and-cancel-meetings-...) cancels every attendee copy and moves the organizer's item to
Deleted Items, marked cancelled; a cancellation of one occurrence (its ItemId as ReferenceItemId, exchangelib's
`occurrence.cancel()`) makes it a deleted occurrence of the master and cancels that occurrence for every attendee
and room (graph/api/event-cancel; how-to-delete-appointments-in-a-recurring-series-by-using-ews-in-exchange).
"""

from __future__ import annotations

import datetime as dt

from roomsops.lab.ews.common import Call, Operation, find_target, items_container, required, resolve_folder
from roomsops.lab.ews.delivery import cancel, cancel_occurrence, organizer_of, resolve_recipients, send
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import apply_properties
from roomsops.lab.ews.recurrence import check_zone, format_utc, zone
from roomsops.lab.ews.series import delete_occurrence, normalise_master
from roomsops.lab.ews.soap import (
    M_NS,
    T_NS,
    Element,
    child,
    failure,
    format_datetime,
    local_name,
    parse_datetime,
    success,
    t,
)
from roomsops.lab.ews.store import CALENDAR, DELETED_ITEMS, CalendarItem, new_item_id, new_uid

SEND_INVITATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")


def new_calendar_item(call: Call, source: Element, folder: str) -> CalendarItem:
    """A calendar item of the impersonated mailbox from a request's t:CalendarItem (not yet stored)."""
    store = call.store
    item = CalendarItem(
        id=new_item_id(call.mailbox.id),
        change_key="",
        folder=folder,
        uid=new_uid(),
        start="",
        end="",
        organizer=organizer_of(call.mailbox),
        created=call.now,
        modified=call.now,
        created_seq=store.seq + 1,
        modified_seq=store.seq + 1,
        delivered_to=[],
    )
    apply_properties(item, source)
    check_times(item)
    normalise_all_day(item, call.request.time_zone)
    normalise_master(item)  # a Recurrence makes it a series' RecurringMaster, timed as its first occurrence
    item.is_meeting = bool(item.attendees())
    resolve_recipients(call.state, item)
    return item


def normalise_all_day(item: CalendarItem, context_zone: str | None) -> None:
    """An all-day item runs from local midnight to local midnight in the organizer's time zone (StartTimeZone,
    else the request's TimeZoneContext, else UTC): Exchange moves clock times there; an end that is not midnight
    ends at the next one, and at least one day passes."""
    if not item.is_all_day:
        return
    check_zone(item.start_time_zone or context_zone)
    tz = zone(item.start_time_zone or context_zone)
    start = parse_datetime(item.start, "Start").astimezone(tz)
    end = parse_datetime(item.end, "End").astimezone(tz)
    first = start.date()
    last = (
        end.date() if end.time() == dt.time(0) and end.date() > first else end.date() + dt.timedelta(days=1)
    )
    item.start = format_datetime(dt.datetime.combine(first, dt.time(0), tzinfo=tz))
    item.end = format_datetime(
        dt.datetime.combine(max(last, first + dt.timedelta(days=1)), dt.time(0), tzinfo=tz)
    )


def check_times(item: CalendarItem) -> None:
    if not item.start or not item.end:
        raise EwsError("ErrorCalendarInvalidPropertyState", "A calendar item needs Start and End.")
    if parse_datetime(item.end, "End") < parse_datetime(item.start, "Start"):
        raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate")
    check_zone(item.start_time_zone)
    check_zone(item.end_time_zone)


def create_item(call: Call) -> list[Element]:
    body = call.body
    invitations = body.get("SendMeetingInvitations")
    saved = child(body, M_NS, "SavedItemFolderId")
    messages = []
    for source in required(body, M_NS, "Items"):
        kind = local_name(source.tag)
        try:
            if kind == "CalendarItem":
                created = _create_calendar_item(call, source, saved, invitations)
            elif kind == "CancelCalendarItem":
                created = _cancel_meeting(call, source)
            else:
                raise EwsError("ErrorInvalidOperation", f"The lab creates calendar items only, not {kind}.")
        except EwsError as error:
            messages.append(failure("CreateItem", error, items_container()))
            continue
        messages.append(success("CreateItem", items_container(created)))
    return messages


def _create_calendar_item(
    call: Call, source: Element, saved: Element | None, invitations: str | None
) -> Element:
    if invitations is None:
        raise EwsError("ErrorSendMeetingInvitationsRequired")
    if invitations not in SEND_INVITATIONS:
        raise EwsError.schema(f"'{invitations}' is not a valid SendMeetingInvitations value")
    folder = resolve_folder(call, saved[0]) if saved is not None and len(saved) else CALENDAR
    if not call.store.is_calendar(folder):
        # responsecode.md: "ErrorCannotCreateCalendarItemInNonCalendarFolder".
        raise EwsError("ErrorCannotCreateCalendarItemInNonCalendarFolder")
    item = new_calendar_item(call, source, folder)
    store = call.store
    store.items.append(item)
    store.touch(item, call.now)
    answered = t("CalendarItem", t("ItemId", Id=item.id, ChangeKey=item.change_key))
    if invitations != "SendToNone" and item.attendees():
        send(call.state, call.mailbox, item, call.now)
    return answered


def _cancel_meeting(call: Call, source: Element) -> Element:
    reference = child(source, T_NS, "ReferenceItemId")
    if reference is None:
        raise EwsError("ErrorMissingInformationReferenceItemId")
    target = find_target(call, reference)
    item = target.item
    if not item.is_organizer:
        raise EwsError("ErrorCalendarIsNotOrganizer")
    if not call.store.is_calendar(item.folder) or item.is_cancelled:
        raise EwsError("ErrorInvalidReferenceItem")
    if target.occurrence is not None:
        # One occurrence: it becomes a deleted occurrence of the master, which stays in the calendar; attendees and
        # rooms get the cancellation of that occurrence (delivery.cancel_occurrence).
        key = format_utc(target.occurrence.original_start)
        delete_occurrence(item, target.occurrence)
        item.sequence += 1
        call.store.touch(item, call.now)
        cancel_occurrence(call.state, call.mailbox, item, key, call.now)
        return t("CalendarItem", t("ItemId", Id=item.id, ChangeKey=item.change_key))
    cancel(call.state, call.mailbox, item, call.now)
    item.is_cancelled = True
    moved = call.store.move(item, DELETED_ITEMS, call.now)
    return t("CalendarItem", t("ItemId", Id=moved.id, ChangeKey=moved.change_key))


OPERATION = Operation("CreateItem", create_item, writes=True)

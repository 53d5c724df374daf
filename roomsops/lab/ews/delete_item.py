"""DeleteItem: HardDelete and SoftDelete remove an item, MoveToDeletedItems moves it (with a new ItemId).

SendMeetingCancellations (deleteitem-operation.md) other than SendToNone, on the organizer's meeting, cancels every
attendee copy; with SendToNone the copies stay (a room stays booked), as in Exchange. An occurrence's id deletes
that occurrence only (how-to-delete-appointments-in-a-recurring-series-by-using-ews-in-exchange); a master's the
whole series.
"""

from __future__ import annotations

from roomsops.lab.ews.common import Call, Operation, Target, find_target, item_ids
from roomsops.lab.ews.delivery import cancel, cancel_occurrence
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.recurrence import format_utc
from roomsops.lab.ews.series import delete_occurrence
from roomsops.lab.ews.soap import Element, failure, success
from roomsops.lab.ews.store import DELETED_ITEMS, CalendarItem, is_change_key

DELETE_TYPES = ("HardDelete", "SoftDelete", "MoveToDeletedItems")
SEND_CANCELLATIONS = ("SendToNone", "SendOnlyToAll", "SendToAllAndSaveCopy")


def delete_item(call: Call) -> list[Element]:
    body = call.body
    delete_type = body.get("DeleteType", "")
    if delete_type not in DELETE_TYPES:
        raise EwsError.schema(f"'{delete_type}' is not a valid DeleteType value")
    cancellations = body.get("SendMeetingCancellations")
    if cancellations is not None and cancellations not in SEND_CANCELLATIONS:
        raise EwsError.schema(f"'{cancellations}' is not a valid SendMeetingCancellations value")
    messages = []
    for element in item_ids(call):
        try:
            target = find_target(call, element)
            change_key = element.get("ChangeKey")
            if change_key is not None and not is_change_key(change_key):
                # A ChangeKey that is not one is refused, a stale one is not checked (deleteitem-operation.md
                # lists ChangeKey as optional; responsecode.md: ErrorInvalidChangeKey).
                raise EwsError("ErrorInvalidChangeKey")
            if cancellations is None:
                raise EwsError("ErrorSendMeetingCancellationsRequired")
            if target.occurrence is not None:
                _delete_occurrence(call, target, cancellations)
            else:
                delete(call, target.item, delete_type, cancellations)
        except EwsError as error:
            messages.append(failure("DeleteItem", error))
            continue
        messages.append(success("DeleteItem"))
    return messages


def delete(call: Call, item: CalendarItem, delete_type: str, cancellations: str) -> None:
    """Delete or move one item of the impersonated mailbox (also used by the admin API's Outlook-style edits)."""
    if item.is_organizer and item.is_meeting and not item.is_cancelled and cancellations != "SendToNone":
        cancel(call.state, call.mailbox, item, call.now)
        item.is_cancelled = True
    store = call.store
    if delete_type == "MoveToDeletedItems" and item.folder != DELETED_ITEMS:
        store.move(item, DELETED_ITEMS, call.now)
    else:
        store.remove(item)


def _delete_occurrence(call: Call, target: Target, cancellations: str) -> None:
    """One occurrence of a series: a deleted occurrence of its master (whatever the DeleteType); unless
    SendToNone, the organizer's attendees and rooms get the cancellation of that occurrence."""
    master = target.item
    assert target.occurrence is not None
    key = format_utc(target.occurrence.original_start)
    delete_occurrence(master, target.occurrence)
    call.store.touch(master, call.now)
    if (
        master.is_organizer
        and master.is_meeting
        and not master.is_cancelled
        and cancellations != "SendToNone"
    ):
        master.sequence += 1
        cancel_occurrence(call.state, call.mailbox, master, key, call.now)


OPERATION = Operation("DeleteItem", delete_item, writes=True)

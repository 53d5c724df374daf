"""UpdateItem: SetItemField / AppendToItemField / DeleteItemField on calendar items, with ChangeKey checks.

ConflictResolution (updateitem.md): NeverOverwrite fails with ErrorIrresolvableConflict when the ChangeKey sent is
not the item's current one; AutoResolve and AlwaysOverwrite apply the change (the lab does not merge property by
property: AutoResolve never conflicts, unverified). A ChangeKey is required for any update
(ErrorChangeKeyRequiredForWriteOperations, responsecode.md). SendMeetingInvitationsOrCancellations other than
SendToNone re-delivers the meeting (delivery.py): SendOnlyToChanged and SendToChangedAndSaveCopy only to the
attendees the update added (a request) or removed (a cancellation), the others keeping their answers on the
organizer's item (MS-OXWSMTGS 2.2.5.3 CalendarItemUpdateOperationType).

An occurrence (its ItemId or an OccurrenceItemId) becomes an exception of its series; a master (its ItemId or a
RecurringMasterItemId) changes the whole series, and a new pattern or new series times drop the exceptions
(series.py).
"""

from __future__ import annotations

import copy

from roomsops.lab.ews.common import Call, Operation, find_target, items_container, required
from roomsops.lab.ews.create_item import check_times, normalise_all_day
from roomsops.lab.ews.delivery import resolve_recipients, send
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import BY_URI, apply_properties, parse_extended_path
from roomsops.lab.ews.recurrence import format_utc
from roomsops.lab.ews.series import normalise_master, record_exception, reset_exceptions
from roomsops.lab.ews.soap import M_NS, T_NS, Element, child, failure, local_name, m, success, t
from roomsops.lab.ews.store import DELETED_ITEMS, CalendarItem, OccurrenceItem, is_change_key

ITEM_ID_ELEMENTS = ("ItemId", "OccurrenceItemId", "RecurringMasterItemId")
CONFLICT_RESOLUTIONS = ("NeverOverwrite", "AutoResolve", "AlwaysOverwrite")
SEND_UPDATES = (
    "SendToNone",
    "SendOnlyToAll",
    "SendOnlyToChanged",
    "SendToAllAndSaveCopy",
    "SendToChangedAndSaveCopy",
)


def update_item(call: Call) -> list[Element]:
    body = call.body
    resolution = body.get("ConflictResolution", "AutoResolve")
    if resolution not in CONFLICT_RESOLUTIONS:
        raise EwsError.schema(f"'{resolution}' is not a valid ConflictResolution value")
    sending = body.get("SendMeetingInvitationsOrCancellations")
    messages = []
    for change in required(body, M_NS, "ItemChanges"):
        try:
            item_id, change_key = _apply_change(call, change, resolution, sending)
        except EwsError as error:
            messages.append(failure("UpdateItem", error, items_container()))
            continue
        answered = t("CalendarItem", t("ItemId", Id=item_id, ChangeKey=change_key))
        messages.append(
            success("UpdateItem", items_container(answered), m("ConflictResults", t("Count", text="0")))
        )
    return messages


def _apply_change(call: Call, change: Element, resolution: str, sending: str | None) -> tuple[str, str]:
    """Apply one ItemChange; (ItemId, ChangeKey) of the updated item as the update left it."""
    id_element = next((e for e in change if local_name(e.tag) in ITEM_ID_ELEMENTS), None)
    if id_element is None:
        raise EwsError.schema("ItemChange needs an ItemId, OccurrenceItemId or RecurringMasterItemId")
    target = find_target(call, id_element)
    item = target.item
    change_key = id_element.get("ChangeKey")
    if not change_key:
        raise EwsError("ErrorChangeKeyRequiredForWriteOperations")
    if not is_change_key(change_key):
        raise EwsError("ErrorInvalidChangeKey")
    # An occurrence's ChangeKey is its master's (ews-ref/occurrenceitemid).
    if change_key != item.change_key and resolution == "NeverOverwrite":
        raise EwsError("ErrorIrresolvableConflict")
    if sending is None and item.is_meeting:
        raise EwsError("ErrorSendMeetingInvitationsRequired")
    if sending is not None and sending not in SEND_UPDATES:
        raise EwsError.schema(f"'{sending}' is not a valid SendMeetingInvitationsOrCancellations value")
    if item.folder == DELETED_ITEMS:
        # handling-deletion-related-errors-in-ews-in-exchange: ErrorCalendarCannotUpdateDeletedItem only when the
        # update "would result in sending a meeting invite to attendees"; an update sending nothing is made.
        if sending not in (None, "SendToNone") and item.is_organizer and item.attendees():
            raise EwsError(
                "ErrorCalendarCannotUpdateDeletedItem",
                "A calendar item in Deleted Items cannot be updated with a meeting update sent to attendees.",
            )
    elif not call.store.is_calendar(item.folder):
        raise EwsError("ErrorInvalidOperation", "The lab updates items of calendar folders only.")
    # Changes go to a copy first: an invalid update of one item must leave it untouched (others still apply).
    if target.occurrence is not None:
        before = target.shown()
        shown = copy.deepcopy(before)
        for update in required(change, T_NS, "Updates"):
            _apply_update(shown, update)
        check_times(shown)
        updated = copy.deepcopy(item)
        assert isinstance(before, OccurrenceItem) and isinstance(shown, OccurrenceItem)
        record_exception(updated, target.occurrence, shown, before, call.now)
        answered_id = shown.id
    else:
        updated = copy.deepcopy(item)
        for update in required(change, T_NS, "Updates"):
            _apply_update(updated, update)
        check_times(updated)
        normalise_all_day(updated, call.request.time_zone)
        normalise_master(updated)
        reset_exceptions(item, updated)
        answered_id = updated.id
    updated.is_meeting = updated.is_meeting or bool(updated.attendees())
    added = _sent_to_changed(item, updated, sending)
    resolve_recipients(call.state, updated)
    store = call.store
    store.items[store.items.index(item)] = updated
    store.touch(updated, call.now)
    answered = (answered_id, updated.change_key)
    # The last attendee removed is sent too: send() then cancels the copies of those no longer invited. A changed
    # occurrence goes out as an update of the series, which carries its exceptions.
    if (
        sending not in (None, "SendToNone")
        and updated.is_organizer
        and (updated.attendees() or item.attendees())
    ):
        updated.sequence += 1
        changed = format_utc(target.occurrence.original_start) if target.occurrence is not None else None
        send(call.state, call.mailbox, updated, call.now, changed, only=added)
    # The answer carries the ChangeKey of the update itself; responses recorded afterwards make it stale.
    return answered


def _sent_to_changed(item: CalendarItem, updated: CalendarItem, sending: str | None) -> set[str] | None:
    """SendOnlyToChanged / SendToChangedAndSaveCopy: the addresses (casefolded) the update added, the only ones it
    is sent to; the attendees kept are sent nothing and keep their answers on the organizer's item. None: the
    update goes to everyone (or to no one)."""
    if sending not in ("SendOnlyToChanged", "SendToChangedAndSaveCopy"):
        return None
    before = {a.email.casefold(): a for a in item.attendees()}
    for attendee in updated.attendees():
        kept = before.get(attendee.email.casefold())
        if kept is not None:
            attendee.response, attendee.last_response_time = kept.response, kept.last_response_time
    return {a.email.casefold() for a in updated.attendees()} - set(before)


def _apply_update(item: CalendarItem, update: Element) -> None:
    kind = local_name(update.tag)
    path = next(
        (e for e in update if local_name(e.tag) in ("FieldURI", "ExtendedFieldURI", "IndexedFieldURI")), None
    )
    if path is None:
        raise EwsError.schema(f"{kind} needs a property path")
    if kind == "DeleteItemField":
        _delete_field(item, path)
        return
    source = child(update, T_NS, "CalendarItem")
    if source is None:
        raise EwsError("ErrorUpdatePropertyMismatch", "The lab updates calendar items only.")
    if kind not in ("SetItemField", "AppendToItemField"):
        raise EwsError.schema(f"'{kind}' is not an item change")
    apply_properties(item, source, append=kind == "AppendToItemField")


def _delete_field(item: CalendarItem, path: Element) -> None:
    kind = local_name(path.tag)
    if kind == "ExtendedFieldURI":
        wanted = parse_extended_path(path).path()
        item.extended = [p for p in item.extended if p.path() != wanted]
        return
    f = BY_URI.get(path.get("FieldURI", "")) if kind == "FieldURI" else None
    if f is None or f.reset is None:
        raise EwsError("ErrorInvalidPropertyDelete", values={"FieldURI": path.get("FieldURI", "")})
    f.reset(item)


OPERATION = Operation("UpdateItem", update_item, writes=True)

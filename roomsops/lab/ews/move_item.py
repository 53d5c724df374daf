"""MoveItem: an item to another folder of its mailbox (Outlook's drag to Deleted Items, and back: a restore; or to
a second calendar the mailbox created, folders.py).

A move gives the item a new ItemId in the target folder and a Delete in the source folder's SyncFolderItems
(moveitem-operation.md; ews-identifiers-in-exchange.md: the id changes with the folder). A move sends nothing:
attendee and room copies stay as they are, as when Outlook deletes a meeting without sending a cancellation.
"""

from __future__ import annotations

from roomsops.lab.ews.common import (
    Call,
    Operation,
    find_item,
    item_ids,
    items_container,
    required,
    resolve_folder,
)
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.soap import M_NS, Element, child_text, failure, success, t
from roomsops.lab.ews.store import CalendarItem


def move(call: Call, item: CalendarItem, folder: str) -> CalendarItem:
    """Move one item of the impersonated mailbox (also the admin API's Outlook-style move and restore)."""
    if not call.store.holds_items(folder):
        # Calendar items live in calendar folders or Deleted Items here; Exchange would refuse other item folders
        # for a calendar item less often (unverified).
        raise EwsError(
            "ErrorMoveCopyFailed",
            "The lab keeps calendar items in the calendar, created calendar folders and deleteditems only.",
        )
    if item.folder == folder:
        return item  # Exchange moves within a folder as a copy and delete too; the lab keeps the item
    return call.store.move(item, folder, call.now)


def move_item(call: Call) -> list[Element]:
    target = required(call.body, M_NS, "ToFolderId")
    if len(target) != 1:
        raise EwsError.schema("ToFolderId needs one folder id")
    folder = resolve_folder(call, target[0])
    # ews-ref/returnnewitemids: "A value of false indicates that the new item identifiers are not returned in the
    # response" (absent: returned, as Exchange Online answers exchangelib).
    return_ids = (child_text(call.body, M_NS, "ReturnNewItemIds") or "true").strip().lower() not in (
        "false",
        "0",
    )
    messages = []
    for element in item_ids(call):
        try:
            # ews-ref/occurrenceitemid: MoveItem works with single items and recurring masters only.
            item = find_item(call, element, "ErrorCalendarCannotMoveOrCopyOccurrence")
            moved = move(call, item, folder)
        except EwsError as error:
            messages.append(failure("MoveItem", error, items_container()))
            continue
        if not return_ids:
            messages.append(success("MoveItem", items_container()))
            continue
        answered = t("CalendarItem", t("ItemId", Id=moved.id, ChangeKey=moved.change_key))
        messages.append(success("MoveItem", items_container(answered)))
    return messages


OPERATION = Operation("MoveItem", move_item, writes=True)

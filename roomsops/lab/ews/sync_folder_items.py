"""SyncFolderItems: the changes of a folder since a SyncState, in pages of at most MaxChangesReturned (≤ 512).

No SyncState: every item is a Create. The new SyncState covers the changes returned; IncludesLastItemInRange tells
whether more are waiting (syncfolderitems-operation.md). A SyncState this mailbox did not issue (or issued before a
lab reset) is ErrorInvalidSyncStateData, answered with an empty SyncState as the page's example shows. Bodies are not
returned (like FindItem); each item appears once, with its latest state.
"""

from __future__ import annotations

from roomsops.lab.ews.common import Call, Operation, parse_shape, required, resolve_folder
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import View, render_item
from roomsops.lab.ews.soap import (
    M_NS,
    Element,
    child,
    child_text,
    failure,
    m,
    parse_int,
    success,
    t,
    xml_bool,
)
from roomsops.lab.ews.store import changes_since, decode_marker, encode_marker

MAX_CHANGES = 512


def sync_folder_items(call: Call) -> list[Element]:
    body = call.body
    shape = parse_shape(child(body, M_NS, "ItemShape"))
    folder_element = required(body, M_NS, "SyncFolderId")
    if len(folder_element) != 1:
        raise EwsError.schema("SyncFolderId needs one folder id")
    wanted = parse_int(child_text(body, M_NS, "MaxChangesReturned"), "MaxChangesReturned")
    if not 1 <= wanted <= MAX_CHANGES:
        raise EwsError.schema(f"MaxChangesReturned must be between 1 and {MAX_CHANGES}")
    try:
        folder = resolve_folder(call, folder_element[0])
    except EwsError as error:
        return [failure("SyncFolderItems", error)]
    store = call.store
    state_text = (child_text(body, M_NS, "SyncState") or "").strip()
    since = 0
    if state_text:
        decoded = decode_marker(store, state_text, folder)
        if decoded is None:
            invalid = EwsError("ErrorInvalidSyncStateData")
            return [
                failure("SyncFolderItems", invalid, m("SyncState"), m("IncludesLastItemInRange", text="true"))
            ]
        since = decoded
    ignore = child(body, M_NS, "Ignore")
    ignored = {e.get("Id") for e in ignore} if ignore is not None else set()
    changes = changes_since(store, folder, since) if store.holds_items(folder) else []
    page = changes[:wanted]
    last = len(changes) <= wanted
    new_since = page[-1].seq if page and not last else store.seq
    view = View(call.mailbox.id, sync=True)
    rendered = []
    for change in page:
        if change.item_id in ignored:
            continue
        if change.item is None:
            rendered.append(t("Delete", t("ItemId", Id=change.item_id)))
        else:
            rendered.append(t(change.kind, render_item(change.item, shape, view)))
    return [
        success(
            "SyncFolderItems",
            m("SyncState", text=encode_marker(store, new_since, folder)),
            m("IncludesLastItemInRange", text=xml_bool(last)),
            m("Changes", *rendered),
        )
    ]


OPERATION = Operation("SyncFolderItems", sync_folder_items, writes=False)

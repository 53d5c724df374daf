"""What every EWS operation of the lab shares: the call context, folders, item ids and response shapes.

An operation is a function `Call -> list of response messages`; it runs under the tenant lock (a change for
operations that write), sees the impersonated mailbox, and raises EwsError for an error message or SoapFault for
a whole-request fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import Shape, parse_extended_path
from roomsops.lab.ews.recurrence import Occurrence
from roomsops.lab.ews.series import as_item, occurrence_at, occurrence_from
from roomsops.lab.ews.soap import (
    M_NS,
    T_NS,
    Element,
    SoapRequest,
    child,
    format_datetime,
    local_name,
    m,
    parse_int,
)
from roomsops.lab.ews.store import (
    CalendarItem,
    MailboxStore,
    item_id_mailbox,
    parse_folder_id,
    parse_occurrence_id,
)
from roomsops.lab.tenant import Mailbox, TenantState


@dataclass(frozen=True)
class FolderInfo:
    display_name: str
    folder_class: str | None
    parent: str | None
    element: str  # Folder | CalendarFolder


#: The distinguished folders the lab answers for; only calendar and deleteditems hold items.
FOLDERS: dict[str, FolderInfo] = {
    "root": FolderInfo("", None, None, "Folder"),
    "msgfolderroot": FolderInfo("Top of Information Store", "IPF.Note", "root", "Folder"),
    "calendar": FolderInfo("Calendar", "IPF.Appointment", "msgfolderroot", "CalendarFolder"),
    "deleteditems": FolderInfo("Deleted Items", "IPF.Note", "msgfolderroot", "Folder"),
    "inbox": FolderInfo("Inbox", "IPF.Note", "msgfolderroot", "Folder"),
    "sentitems": FolderInfo("Sent Items", "IPF.Note", "msgfolderroot", "Folder"),
    "drafts": FolderInfo("Drafts", "IPF.Note", "msgfolderroot", "Folder"),
    "outbox": FolderInfo("Outbox", "IPF.Note", "msgfolderroot", "Folder"),
}


def folder_info(store: MailboxStore | None, name: str) -> FolderInfo | None:
    """What the lab answers for a distinguished folder or a calendar folder the mailbox created; None: no such
    folder."""
    known = FOLDERS.get(name)
    if known is not None:
        return known
    created = store.folder(name) if store is not None else None
    if created is None:
        return None
    return FolderInfo(created.display_name, created.folder_class, created.parent, "CalendarFolder")


def child_folders(store: MailboxStore | None, name: str) -> list[str]:
    """The folders directly under `name`: distinguished ones, then created ones in the order of creation."""
    created = [f.key for f in store.folders if f.parent == name] if store is not None else []
    return [other for other, info in FOLDERS.items() if info.parent == name] + created


@dataclass
class Call:
    """One EWS request being answered: the live tenant state (under its lock), the impersonated mailbox and its
    store, and the moment of the request."""

    state: TenantState
    mailbox: Mailbox
    request: SoapRequest
    now_utc: dt.datetime

    @property
    def body(self) -> Element:
        return self.request.body

    @property
    def now(self) -> str:
        return format_datetime(self.now_utc)

    @property
    def store(self) -> MailboxStore:
        return store_of(self.state, self.mailbox.id)


Handler = Callable[[Call], list[Element]]


@dataclass(frozen=True)
class Operation:
    name: str
    handle: Handler
    writes: bool  # run under tenant.change() (saved), else under tenant.read()


def store_of(state: TenantState, mailbox_id: str) -> MailboxStore:
    """The mailbox's EWS store, created on first use (only within a change: callers that read check first)."""
    store = state.calendars.get(mailbox_id)
    if store is None:
        store = MailboxStore(mailbox_id=mailbox_id)
        state.calendars[mailbox_id] = store
    return store


# --- request parts -------------------------------------------------------------------------------------


def required(element: Element, ns: str, tag: str) -> Element:
    found = child(element, ns, tag)
    if found is None:
        raise EwsError.schema(f"The element '{local_name(element.tag)}' needs a child '{tag}'.")
    return found


def resolve_folder(call: Call, element: Element) -> str:
    """The distinguished name of a DistinguishedFolderId or FolderId of the impersonated mailbox."""
    kind = local_name(element.tag)
    if kind == "DistinguishedFolderId":
        name = element.get("Id", "")
        address = element.findtext(f"{{{T_NS}}}Mailbox/{{{T_NS}}}EmailAddress")
        if address and not call.mailbox.has_address(address):
            # Another mailbox's folder is delegate access, which the lab does not grant (unverified).
            raise EwsError("ErrorAccessDenied", values={"SmtpAddress": address})
        if name not in FOLDERS:
            raise EwsError("ErrorFolderNotFound")
        return name
    if kind == "FolderId":
        parsed = parse_folder_id(element.get("Id", ""))
        if parsed is None:
            raise EwsError("ErrorInvalidIdMalformed")
        mailbox_id, name = parsed
        if mailbox_id != call.mailbox.id or folder_info(call.state.calendars.get(mailbox_id), name) is None:
            raise EwsError("ErrorFolderNotFound")
        return name
    raise EwsError.schema(f"'{kind}' is not a folder id")


@dataclass(frozen=True)
class Target:
    """What an item id names: a stored item (a single item or a series' master), or one occurrence of a master."""

    item: CalendarItem
    occurrence: Occurrence | None = None

    def shown(self) -> CalendarItem:
        """The item as EWS shows it (an occurrence as an OccurrenceItem)."""
        return as_item(self.item, self.occurrence) if self.occurrence is not None else self.item


def _stored(call: Call, item_id: str) -> CalendarItem:
    owner = item_id_mailbox(item_id)
    if owner is None:
        raise EwsError("ErrorInvalidIdMalformed")
    found = call.store.find(item_id) if owner == call.mailbox.id else None
    if found is None:
        raise EwsError("ErrorItemNotFound")
    return found


def find_target(call: Call, element: Element) -> Target:
    """What a t:ItemId (an item's or an occurrence's id), t:OccurrenceItemId (RecurringMasterId + InstanceIndex)
    or t:RecurringMasterItemId (an occurrence's id naming its master) names in the impersonated mailbox."""
    kind = local_name(element.tag)
    if kind == "OccurrenceItemId":
        master = _stored(call, element.get("RecurringMasterId", ""))
        if master.recurrence is None:
            raise EwsError("ErrorCalendarCannotUseIdForOccurrenceId")
        index = parse_int(element.get("InstanceIndex"), "InstanceIndex")
        return Target(master, occurrence_at(master, index))
    if kind == "RecurringMasterItemId":
        occurrence_id = element.get("OccurrenceId", "")
        parsed = parse_occurrence_id(occurrence_id)
        if parsed is None:
            _stored(call, occurrence_id)  # a malformed or unknown id is that error first
            raise EwsError("ErrorCalendarCannotUseIdForRecurringMasterId")
        return Target(_stored(call, parsed[0]))
    if kind not in ("ItemId", "ReferenceItemId"):
        raise EwsError.schema(f"'{kind}' is not an item id")
    item_id = element.get("Id", "")
    parsed = parse_occurrence_id(item_id)
    if parsed is None:
        return Target(_stored(call, item_id))
    master = _stored(call, parsed[0])
    return Target(master, occurrence_from(master, parsed[1]))


def find_item(call: Call, element: Element, occurrence_error: str = "ErrorInvalidOperation") -> CalendarItem:
    """The impersonated mailbox's stored item named by a t:ItemId (or ReferenceItemId); an occurrence's id is
    `occurrence_error` (for operations that take single items and masters only)."""
    target = find_target(call, element)
    if target.occurrence is not None:
        raise EwsError(occurrence_error)
    return target.item


def parse_shape_names(element: Element) -> tuple[str, set[str]]:
    """(BaseShape, the FieldURIs of AdditionalProperties) of an ItemShape or FolderShape."""
    base = (element.findtext(f"{{{T_NS}}}BaseShape") or "").strip()
    if base not in ("IdOnly", "Default", "AllProperties"):
        raise EwsError.schema(f"'{base}' is not a valid BaseShape")
    extra = child(element, T_NS, "AdditionalProperties")
    uris = (
        {p.get("FieldURI", "") for p in extra if local_name(p.tag) == "FieldURI"}
        if extra is not None
        else set()
    )
    return base, uris


def parse_shape(element: Element | None) -> Shape:
    """An ItemShape: BaseShape and AdditionalProperties (FieldURIs and ExtendedFieldURIs)."""
    if element is None:
        raise EwsError.schema("ItemShape is required.")
    base, uris = parse_shape_names(element)
    extra = child(element, T_NS, "AdditionalProperties")
    extended = [
        parse_extended_path(p)
        for p in (extra if extra is not None else ())
        if local_name(p.tag) == "ExtendedFieldURI"
    ]
    return Shape(base, frozenset(uris), tuple(extended))


def item_ids(call: Call, container_tag: str = "ItemIds") -> list[Element]:
    container = required(call.body, M_NS, container_tag)
    return list(container)


def items_container(*items: Element) -> Element:
    """m:Items, which ItemInfoResponseMessageType requires even when empty (errors included)."""
    return m("Items", *items)

"""CreateFolder and FindFolder: a user's second calendar (a subfolder of the Calendar, or a secondary calendar under
the mailbox's root) and the folder hierarchy clients walk to find it.

CreateFolder (createfolder-operation.md; ms-oxwsfold 3.1.4.2 "Trying to create a folder that already exists results
in an error": ErrorFolderExists) creates calendar folders only: a t:CalendarFolder (FolderClass IPF.Appointment, a
t:CalendarFolder with another class is ErrorNoFolderClassOverride, responsecode.md), or a t:Folder whose FolderClass
is IPF.Appointment, under the Calendar, msgfolderroot or another created calendar. Items move there with MoveItem
(a new ItemId; a Delete in the source folder's SyncFolderItems, a Create in the target's) and are read with
FindItem, GetItem and SyncFolderItems as in the Calendar.

FindFolder (findfolder-operation.md): the folders below each parent, Shallow (children) or Deep (all descendants),
in pages of an IndexedPageFolderView; exchangelib's folder cache (`account.root`, `calendar.children`,
`calendar / "name"`) is a Deep FindFolder of the root.
"""

from __future__ import annotations

from roomsops.lab.ews.common import (
    Call,
    Operation,
    child_folders,
    folder_info,
    parse_shape_names,
    required,
    resolve_folder,
)
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.get_folder import folder_element
from roomsops.lab.ews.soap import M_NS, T_NS, Element, child, failure, local_name, m, parse_int, success, t
from roomsops.lab.ews.store import (
    CALENDAR,
    MSG_FOLDER_ROOT,
    Folder,
    MailboxStore,
    folder_id,
    new_folder_key,
)

CALENDAR_CLASS = "IPF.Appointment"
#: Folders keep one ChangeKey (the lab does not version folders; GetFolder answers the same).
CHANGE_KEY = "AQAAAA=="
#: The lab's limit on a folder's display name (Exchange's is unverified: 255 like an item's subject).
MAX_NAME = 255


def add_calendar_folder(
    store: MailboxStore, parent: str, display_name: str, folder_class: str, now: str
) -> Folder:
    """A new calendar folder of the mailbox under `parent` (also the admin API's "as Outlook" folder)."""
    name = display_name.strip()
    if not name:
        raise EwsError("ErrorInvalidOperation", "A calendar folder needs a DisplayName.")
    if len(name) > MAX_NAME:
        raise EwsError("ErrorInvalidOperation", f"A folder name has at most {MAX_NAME} characters.")
    if not folder_class.startswith(CALENDAR_CLASS):
        raise EwsError(
            "ErrorInvalidOperation",
            f"The lab creates calendar folders only (FolderClass {CALENDAR_CLASS}), not {folder_class!r}.",
        )
    if parent not in (CALENDAR, MSG_FOLDER_ROOT) and store.folder(parent) is None:
        raise EwsError(
            "ErrorInvalidOperation",
            "The lab creates calendar folders under the calendar, msgfolderroot or a created calendar only.",
        )
    for sibling in child_folders(store, parent):
        info = folder_info(store, sibling)
        if info is not None and info.display_name.casefold() == name.casefold():
            raise EwsError("ErrorFolderExists", "A folder with the specified name already exists.")
    folder = Folder(new_folder_key(), name, parent, folder_class, now)
    store.folders.append(folder)
    store.next_seq()  # the hierarchy changed
    return folder


def create_folder(call: Call) -> list[Element]:
    parent_element = required(call.body, M_NS, "ParentFolderId")
    if len(parent_element) != 1:
        raise EwsError.schema("ParentFolderId needs one folder id")
    sources = list(required(call.body, M_NS, "Folders"))
    try:
        parent = resolve_folder(call, parent_element[0])
    except EwsError as error:
        return [failure("CreateFolder", error) for _ in sources]
    messages = []
    for source in sources:
        kind = local_name(source.tag)
        try:
            if kind not in ("Folder", "CalendarFolder"):
                raise EwsError(
                    "ErrorInvalidOperation", f"The lab creates calendar folders only, not a {kind}."
                )
            given = (source.findtext(f"{{{T_NS}}}FolderClass") or "").strip()
            if kind == "CalendarFolder" and given and not given.startswith(CALENDAR_CLASS):
                raise EwsError("ErrorNoFolderClassOverride")
            folder_class = given or (CALENDAR_CLASS if kind == "CalendarFolder" else "IPF.Note")
            name = source.findtext(f"{{{T_NS}}}DisplayName") or ""
            created = add_calendar_folder(call.store, parent, name, folder_class, call.now)
        except EwsError as error:
            messages.append(failure("CreateFolder", error))
            continue
        answered = t(
            "CalendarFolder", t("FolderId", Id=folder_id(call.mailbox.id, created.key), ChangeKey=CHANGE_KEY)
        )
        messages.append(success("CreateFolder", m("Folders", answered)))
    return messages


def _descendants(store: MailboxStore, name: str, deep: bool) -> list[str]:
    found = []
    for other in child_folders(store, name):
        found.append(other)
        if deep:
            found += _descendants(store, other, deep)
    return found


def find_folder(call: Call) -> list[Element]:
    body = call.body
    traversal = body.get("Traversal", "")
    if traversal not in ("Shallow", "Deep", "SoftDeleted"):
        raise EwsError.schema(f"'{traversal}' is not a valid FolderQueryTraversalType")
    base, wanted = parse_shape_names(required(body, M_NS, "FolderShape"))
    if child(body, M_NS, "FractionalPageFolderView") is not None:
        raise EwsError("ErrorInvalidOperation", "The lab supports no FractionalPageFolderView.")
    if child(body, M_NS, "Restriction") is not None:
        raise EwsError("ErrorInvalidOperation", "The lab finds folders without a restriction only.")
    view = child(body, M_NS, "IndexedPageFolderView")
    wanted_count = (
        parse_int(view.get("MaxEntriesReturned"), "MaxEntriesReturned")
        if view is not None and view.get("MaxEntriesReturned")
        else None
    )
    offset = parse_int(view.get("Offset", "0"), "Offset") if view is not None else 0
    from_end = view is not None and view.get("BasePoint", "Beginning") == "End"
    messages = []
    for parent_element in required(body, M_NS, "ParentFolderIds"):
        try:
            parent = resolve_folder(call, parent_element)
            if wanted_count is not None and wanted_count < 1:
                raise EwsError("ErrorInvalidPagingMaxRows")
            if offset < 0:
                raise EwsError(
                    "ErrorInvalidIndexedPagingParameters", "The paging offset must not be negative."
                )
        except EwsError as error:
            messages.append(failure("FindFolder", error))
            continue
        # SoftDeleted: folders deleted softly, which the lab never keeps.
        found = [] if traversal == "SoftDeleted" else _descendants(call.store, parent, traversal == "Deep")
        ordered = list(reversed(found)) if from_end else found
        page = ordered[offset : offset + wanted_count] if wanted_count is not None else ordered[offset:]
        if from_end:
            page.reverse()
        next_offset = offset + len(page)
        root = m(
            "RootFolder",
            t("Folders", *(folder_element(call, name, wanted, base) for name in page)),
            IndexedPagingOffset=str(next_offset),
            TotalItemsInView=str(len(found)),
            IncludesLastItemInRange="true" if next_offset >= len(found) else "false",
        )
        messages.append(success("FindFolder", root))
    return messages


CREATE_FOLDER = Operation("CreateFolder", create_folder, writes=True)
FIND_FOLDER = Operation("FindFolder", find_folder, writes=False)

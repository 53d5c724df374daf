"""GetFolder: the distinguished folders of the impersonated mailbox (root, msgfolderroot, calendar, ...).

Properties come in BaseFolderType order; a FolderShape's AdditionalProperties decide the optional ones.
"""

from __future__ import annotations

from roomsops.lab.ews.common import (
    FOLDERS,
    Call,
    Operation,
    child_folders,
    folder_info,
    parse_shape_names,
    required,
    resolve_folder,
)
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.soap import M_NS, Element, failure, m, success, t, t_opt
from roomsops.lab.ews.store import folder_id


def folder_element(call: Call, name: str, wanted: set[str], base: str) -> Element:
    """A t:Folder or t:CalendarFolder with FolderId and the asked-for properties, in schema order."""
    mailbox_id = call.mailbox.id
    store = call.state.calendars.get(mailbox_id)
    info = folder_info(store, name)
    assert info is not None  # resolve_folder() found it
    everything = base == "AllProperties"
    default = everything or base == "Default"

    def asked(uri: str, in_default: bool = False) -> bool:
        return uri in wanted or everything or (default and in_default)

    count = len(store.in_folder(name)) if store is not None else 0
    children = len(child_folders(store, name))
    parent = info.parent
    return t(
        info.element,
        t("FolderId", Id=folder_id(mailbox_id, name), ChangeKey="AQAAAA=="),
        t("ParentFolderId", Id=folder_id(mailbox_id, parent), ChangeKey="AQAAAA==")
        if parent and asked("folder:ParentFolderId")
        else None,
        t_opt("FolderClass", info.folder_class) if asked("folder:FolderClass") else None,
        t("DisplayName", text=info.display_name) if asked("folder:DisplayName", True) else None,
        # BaseShape Default of a calendar folder: FolderId, DisplayName, ChildFolderCount (baseshape.md).
        t("TotalCount", text=str(count)) if asked("folder:TotalCount", info.element == "Folder") else None,
        t("ChildFolderCount", text=str(children)) if asked("folder:ChildFolderCount", True) else None,
        t("DistinguishedFolderId", text=name)
        if name in FOLDERS and asked("folder:DistinguishedFolderId")
        else None,
        t("UnreadCount", text="0")
        if info.element == "Folder" and asked("folder:UnreadCount", True)
        else None,
    )


def get_folder(call: Call) -> list[Element]:
    base, wanted = parse_shape_names(required(call.body, M_NS, "FolderShape"))
    messages = []
    for folder in required(call.body, M_NS, "FolderIds"):
        try:
            name = resolve_folder(call, folder)
        except EwsError as error:
            messages.append(failure("GetFolder", error))
            continue
        messages.append(success("GetFolder", m("Folders", folder_element(call, name, wanted, base))))
    return messages


OPERATION = Operation("GetFolder", get_folder, writes=False)

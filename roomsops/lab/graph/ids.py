"""Graph's ids for the EWS store's items: REST ids, immutable ids, and the translations between them.

A REST id is the EWS ItemId in URL-safe base64 ('/' -> '-', '+' -> '_'), as Exchange's REST ids are
(graph/api/user-translateexchangeids: ewsId and restId name the same item). An immutable id
(Prefer: IdType="ImmutableId", graph/outlook-immutable-id) must survive a move to another folder, where the EWS id
changes: the lab derives it from the mailbox, the item's iCalendar UID and its entry key (CalendarItem.entry_key,
kept across moves, new for each item: a meeting delivered again after its copy was deleted is another item) and
an occurrence's original start.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid

from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.series import as_item, occurrence_from
from roomsops.lab.ews.store import (
    CalendarItem,
    MailboxStore,
    OccurrenceItem,
    item_id_mailbox,
    occurrence_id,
    parse_occurrence_id,
)

_IMMUTABLE_TAG = b"LABM"


def rest_id(ews_id: str) -> str:
    return ews_id.replace("/", "-").replace("+", "_")


def ews_id(rest: str) -> str:
    return rest.replace("-", "/").replace("_", "+")


def _item_hash(uid: str, entry_key: str) -> bytes:
    return hashlib.sha256(uid.encode("utf-8") + b"\0" + entry_key.encode("utf-8")).digest()[:16]


def immutable_id_of_entry(mailbox_id: str, uid: str, entry_key: str) -> str:
    """The immutable id of a (non-occurrence) item of the mailbox with this UID and entry key, e.g. a deleted one."""
    raw = _IMMUTABLE_TAG + uuid.UUID(mailbox_id).bytes + _item_hash(uid, entry_key)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def immutable_id(mailbox_id: str, item: CalendarItem) -> str:
    raw = _IMMUTABLE_TAG + uuid.UUID(mailbox_id).bytes + _item_hash(item.uid, item.entry_key)
    if isinstance(item, OccurrenceItem):
        moment = dt.datetime.fromisoformat(item.original_start.replace("Z", "+00:00"))
        raw += int(moment.timestamp()).to_bytes(8, "big", signed=True)
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _parse_immutable(value: str) -> tuple[str, bytes, dt.datetime | None] | None:
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if not raw.startswith(_IMMUTABLE_TAG) or len(raw) not in (36, 44):
        return None
    mailbox = str(uuid.UUID(bytes=raw[4:20]))
    moment = None
    if len(raw) == 44:
        moment = dt.datetime.fromtimestamp(int.from_bytes(raw[36:], "big", signed=True), dt.UTC)
    return mailbox, raw[20:36], moment


def is_lab_id(graph_id: str) -> bool:
    """Whether a Graph id has the form of the lab's REST or immutable ids (whether or not the item exists)."""
    return _parse_immutable(graph_id) is not None or item_id_mailbox(ews_id(graph_id)) is not None


def find_event(store: MailboxStore, graph_id: str) -> CalendarItem | None:
    """The stored item (or an occurrence of a master) a REST or immutable id names, in this mailbox; None if not."""
    immutable = _parse_immutable(graph_id)
    if immutable is not None:
        mailbox, digest, moment = immutable
        if mailbox != store.mailbox_id:
            return None
        found = next(
            (
                i
                for folder in store.item_folders()  # the Calendar, Deleted Items and second calendars: an
                for i in store.in_folder(folder)  # immutable id survives a move within the mailbox
                if _item_hash(i.uid, i.entry_key) == digest
            ),
            None,
        )
        if found is None or moment is None:
            return found
        return _occurrence(found, occurrence_id(found.id, moment))
    item_id = ews_id(graph_id)
    occurrence = parse_occurrence_id(item_id)
    if occurrence is not None:
        master = store.find(occurrence[0])
        return None if master is None else _occurrence(master, item_id)
    return store.find(item_id)


def _occurrence(master: CalendarItem, item_id: str) -> OccurrenceItem | None:
    parsed = parse_occurrence_id(item_id)
    if parsed is None or master.recurrence is None:
        return None
    try:
        return as_item(master, occurrence_from(master, parsed[1]))
    except EwsError:  # the occurrence is gone (deleted, or the pattern changed)
        return None

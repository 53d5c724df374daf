"""The EWS part of the tenant state: per mailbox, its calendar items, a change log and pull subscriptions.

Plain dataclasses (persisted inside tenant.json through `roomsops.lab.tenant.decode`); this module imports nothing
from the tenant, which imports it. Every change bumps the mailbox's `seq`; an item remembers the seq of its
creation and last change, a deleted one leaves a tombstone, and sync states and watermarks are seqs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass, field

from roomsops.lab.ews.recurrence import ModifiedOccurrence, Recurrence

CALENDAR = "calendar"
DELETED_ITEMS = "deleteditems"
MSG_FOLDER_ROOT = "msgfolderroot"
#: Distinguished folders whose items the lab keeps; other distinguished folders exist but stay empty. Calendar
#: folders a mailbox creates (`MailboxStore.folders`) hold items too.
ITEM_FOLDERS = (CALENDAR, DELETED_ITEMS)
#: What the key of a created folder starts with (distinguished folder names never do).
CREATED_FOLDER_PREFIX = "cal-"

_ITEM_ID_TAG = b"LABI"
_OCCURRENCE_ID_TAG = b"LABO"
_FOLDER_ID_TAG = b"LABF"


@dataclass
class Attendee:
    email: str
    name: str
    response: str = "Unknown"  # ResponseTypeType
    last_response_time: str | None = None
    mailbox_type: str = "Mailbox"  # MailboxTypeType: Mailbox for the tenant's mailboxes, OneOff otherwise


@dataclass
class ExtendedProperty:
    """One extended (MAPI) property: its path (`ExtendedFieldURI` attributes) and value(s)."""

    property_type: str
    distinguished_set_id: str | None = None
    property_set_id: str | None = None
    property_tag: str | None = None
    property_name: str | None = None
    property_id: str | None = None
    value: str | None = None
    values: list[str] | None = None

    def path(self) -> tuple[str, ...]:
        """What identifies the property (its value excluded); GUIDs and tags compare case-insensitively."""
        return (
            (self.distinguished_set_id or "").lower(),
            (self.property_set_id or "").lower(),
            (self.property_tag or "").lower(),
            self.property_name or "",
            self.property_id or "",
            self.property_type.lower(),
        )


@dataclass
class CalendarItem:
    """A calendar item (single or a recurring series' master), organizer's or attendee's copy; times are UTC
    `...Z` strings (a master's are its first occurrence's)."""

    id: str
    change_key: str
    folder: str  # CALENDAR, DELETED_ITEMS or a created calendar folder's key
    uid: str  # iCalendar UID: the same on the organizer's item and every attendee copy
    start: str
    end: str
    organizer: Attendee
    created: str
    modified: str
    created_seq: int
    modified_seq: int
    subject: str | None = None
    body: str | None = None
    body_type: str = "Text"
    sensitivity: str = "Normal"
    importance: str = "Normal"
    categories: list[str] = field(default_factory=list)
    reminder_is_set: bool = True
    reminder_minutes: int = 15
    reminder_due_by: str | None = None  # as the client set it; None: the start
    is_all_day: bool = False
    free_busy: str = "Busy"  # LegacyFreeBusyType
    location: str | None = None
    start_time_zone: str | None = None  # TimeZoneDefinition Id as the client sent it
    start_time_zone_name: str | None = None
    end_time_zone: str | None = None
    end_time_zone_name: str | None = None
    is_meeting: bool = False
    is_cancelled: bool = False
    meeting_request_was_sent: bool = False
    is_response_requested: bool = True
    my_response: str = "Organizer"
    required: list[Attendee] = field(default_factory=list)
    optional: list[Attendee] = field(default_factory=list)
    resources: list[Attendee] = field(default_factory=list)
    sequence: int = 0  # AppointmentSequenceNumber: bumped when invitations for a change go out
    extended: list[ExtendedProperty] = field(default_factory=list)
    transaction_id: str | None = None  # Graph's event.transactionId, as the creating client set it
    # The organizer's item: ids of the mailboxes its meeting was delivered to (where copies may be), so that an
    # update cancels the copies of attendees no longer invited without looking into every mailbox. None: not
    # recorded (an item from an older tenant.json, or made outside EWS and the admin API): every mailbox is looked
    # at once. Copies keep [].
    delivered_to: list[str] | None = None
    # A RecurringMaster: its pattern and range, its exceptions and deleted occurrences (original starts, UTC).
    recurrence: Recurrence | None = None
    modified_occurrences: list[ModifiedOccurrence] = field(default_factory=list)
    deleted_occurrences: list[str] = field(default_factory=list)
    # The item's own identity in its mailbox, kept across moves (which change the EWS id): Graph's immutable id is
    # derived from it with the UID, so a meeting delivered again after the attendee deleted their copy is another
    # item with another immutable id (graph/outlook-immutable-id). An item of an older tenant.json gets one when
    # it is loaded.
    entry_key: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def is_organizer(self) -> bool:
        return self.my_response == "Organizer"

    def attendees(self) -> list[Attendee]:
        return [*self.required, *self.optional, *self.resources]


@dataclass
class OccurrenceItem(CalendarItem):
    """One occurrence of a series as EWS shows it (never stored): the master's properties, the occurrence's own
    times and id, and an exception's changes. `original_start` is UTC `...Z`, `instance_index` 1-based."""

    master_id: str = ""
    original_start: str = ""
    instance_index: int = 0
    is_exception: bool = False


@dataclass
class Folder:
    """A calendar folder the mailbox's user or an app created (CreateFolder, or the admin API as Outlook): a
    subfolder of the Calendar, or a secondary calendar under the mailbox's root (msgfolderroot)."""

    key: str  # CREATED_FOLDER_PREFIX + hex: what the lab's FolderId encodes and CalendarItem.folder holds
    display_name: str
    parent: str  # CALENDAR, MSG_FOLDER_ROOT or another created folder's key
    folder_class: str = "IPF.Appointment"
    created: str = ""


@dataclass
class Tombstone:
    """An item that left a folder (deleted, or moved: a move gives the item a new id in the other folder)."""

    id: str
    folder: str
    created_seq: int
    deleted_seq: int
    uid: str = (
        ""  # the item's UID and entry key (Graph's immutable ids of deleted items are derived from them)
    )
    entry_key: str = ""


@dataclass
class Subscription:
    """A pull subscription (Subscribe/GetEvents/Unsubscribe)."""

    id: str
    folders: list[str]  # distinguished names; empty = all folders
    event_types: list[str]
    created: str
    timeout_minutes: int


@dataclass
class PendingAnswer:
    """A meeting request delivered to a room whose resource booking attendant has not answered yet."""

    id: str
    room_id: str
    organizer_id: str
    uid: str
    sent: str  # when the request arrived
    due: str  # when the attendant answers (sent + the lab's room answer delay)
    # The meeting request as it was sent (the organizer's item then): the attendant answers what it received, even
    # when the organizer has since deleted, moved or silently changed the item. None (an older tenant.json): the
    # organizer's item as it is now.
    request: CalendarItem | None = None
    # The original start (UTC `...Z`) of the one occurrence this request changes (an update of an exception, as
    # Exchange sends it: MS-OXOCAL 4.2.2), or None for the whole meeting.
    occurrence: str | None = None


@dataclass
class RoomAnswer:
    """An answer of a room's resource booking attendant, with the reason it gives the organizer."""

    room: str  # primary SMTP addresses
    organizer: str
    uid: str
    subject: str | None
    response: str  # Accept | Decline
    reason: str
    answered: str


@dataclass
class MailboxStore:
    """One mailbox's EWS state. `generation` changes when the store is created anew (a lab reset), which makes
    every sync state and watermark issued before invalid, as a rebuilt mailbox's would be."""

    mailbox_id: str
    generation: str = field(default_factory=lambda: secrets.token_hex(8))
    seq: int = 0
    items: list[CalendarItem] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    folders: list[Folder] = field(default_factory=list)

    def folder(self, key: str) -> Folder | None:
        """The created folder with this key, or None."""
        return next((f for f in self.folders if f.key == key), None)

    def holds_items(self, folder: str) -> bool:
        """Whether the lab keeps items in `folder`: the calendar, Deleted Items, or a created calendar folder."""
        return folder in ITEM_FOLDERS or self.folder(folder) is not None

    def is_calendar(self, folder: str) -> bool:
        """Whether `folder` is a calendar folder (the Calendar or a created one), where items can be edited."""
        return folder == CALENDAR or self.folder(folder) is not None

    def item_folders(self) -> list[str]:
        return [*ITEM_FOLDERS, *(f.key for f in self.folders)]

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def find(self, item_id: str) -> CalendarItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def in_folder(self, folder: str) -> list[CalendarItem]:
        return [i for i in self.items if i.folder == folder]

    def by_uid(self, uid: str, folder: str = CALENDAR) -> CalendarItem | None:
        return next((i for i in self.items if i.uid == uid and i.folder == folder), None)

    def touch(self, item: CalendarItem, now: str) -> None:
        """Record a change of `item`: a new ChangeKey, LastModifiedTime and change seq."""
        item.change_key = new_change_key()
        item.modified = now
        item.modified_seq = self.next_seq()

    def remove(self, item: CalendarItem) -> None:
        self.items.remove(item)
        self.tombstones.append(
            Tombstone(item.id, item.folder, item.created_seq, self.next_seq(), item.uid, item.entry_key)
        )

    def move(self, item: CalendarItem, folder: str, now: str) -> CalendarItem:
        """Move to another folder: Exchange copies and deletes, so the item gets a new id there."""
        self.remove(item)
        item.id = new_item_id(self.mailbox_id)
        item.folder = folder
        item.created_seq = self.seq + 1
        self.touch(item, now)
        self.items.append(item)
        return item


@dataclass(frozen=True)
class Change:
    """One entry of a folder's changes since a seq: what SyncFolderItems and GetEvents report."""

    seq: int
    kind: str  # Create | Update | Delete
    item_id: str
    item: CalendarItem | None  # None for Delete


def changes_since(store: MailboxStore, folder: str, since: int) -> list[Change]:
    """The folder's changes after `since`, one per item (its latest), oldest first. An item created and
    removed after `since` never shows; one created before and removed after is a Delete."""
    found = [
        Change(item.modified_seq, "Create" if item.created_seq > since else "Update", item.id, item)
        for item in store.in_folder(folder)
        if item.modified_seq > since
    ]
    found += [
        Change(tomb.deleted_seq, "Delete", tomb.id, None)
        for tomb in store.tombstones
        if tomb.folder == folder and tomb.deleted_seq > since and tomb.created_seq <= since
    ]
    return sorted(found, key=lambda change: change.seq)


# --- identifiers ---------------------------------------------------------------------------------------


def new_item_id(mailbox_id: str) -> str:
    """An opaque base64 ItemId naming its mailbox (so an id of another mailbox is recognisably foreign)."""
    raw = _ITEM_ID_TAG + uuid.UUID(mailbox_id).bytes + secrets.token_bytes(16)
    return base64.b64encode(raw).decode("ascii")


def item_id_mailbox(item_id: str) -> str | None:
    """The mailbox id inside an ItemId (an occurrence's too), or None when the id is malformed."""
    raw = _b64(item_id)
    if raw is None:
        return None
    if not (len(raw) == 36 and raw.startswith(_ITEM_ID_TAG)) and parse_occurrence_id(item_id) is None:
        return None
    return str(uuid.UUID(bytes=raw[4:20]))


def occurrence_id(master_id: str, original_start: dt.datetime) -> str:
    """The ItemId of one occurrence: derived from its master's id and its original start, so it is stable (as
    Exchange's occurrence ids are) and names the master."""
    raw = _b64(master_id) or b""
    stamp = int(original_start.astimezone(dt.UTC).timestamp())
    return base64.b64encode(_OCCURRENCE_ID_TAG + raw[4:36] + stamp.to_bytes(8, "big", signed=True)).decode(
        "ascii"
    )


def parse_occurrence_id(item_id: str) -> tuple[str, dt.datetime] | None:
    """(master ItemId, original start in UTC) of an occurrence's ItemId, or None when it is not one."""
    raw = _b64(item_id)
    if raw is None or len(raw) != 44 or not raw.startswith(_OCCURRENCE_ID_TAG):
        return None
    master = base64.b64encode(_ITEM_ID_TAG + raw[4:36]).decode("ascii")
    try:
        moment = dt.datetime.fromtimestamp(int.from_bytes(raw[36:], "big", signed=True), dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return master, moment


def folder_id(mailbox_id: str, folder: str) -> str:
    raw = _FOLDER_ID_TAG + uuid.UUID(mailbox_id).bytes + folder.encode("ascii")
    return base64.b64encode(raw).decode("ascii")


def parse_folder_id(value: str) -> tuple[str, str] | None:
    """(mailbox id, distinguished folder name) of a lab FolderId, or None when malformed."""
    raw = _b64(value)
    if raw is None or len(raw) <= 20 or not raw.startswith(_FOLDER_ID_TAG):
        return None
    try:
        return str(uuid.UUID(bytes=raw[4:20])), raw[20:].decode("ascii")
    except UnicodeDecodeError:
        return None


def new_folder_key() -> str:
    return CREATED_FOLDER_PREFIX + secrets.token_hex(8)


def new_change_key() -> str:
    # Exchange's change keys are base64 blobs that change with every save; only equality matters to clients.
    return base64.b64encode(b"\x10\x00\x00\x00" + secrets.token_bytes(16)).decode("ascii")


def is_change_key(value: str) -> bool:
    raw = _b64(value)
    return raw is not None and len(raw) > 0


def new_uid() -> str:
    return secrets.token_hex(56).upper()  # the length of Exchange's hex GlobalObjectId-based UIDs


def new_subscription_id() -> str:
    return base64.b64encode(b"\x1a\x00" + secrets.token_bytes(30)).decode("ascii")


# --- sync states and watermarks ------------------------------------------------------------------------


def encode_marker(store: MailboxStore, seq: int, folder: str | None = None) -> str:
    """A SyncState (with its folder) or a Watermark: opaque base64 naming the store generation and a seq."""
    payload = {"g": store.generation, "s": seq, **({"f": folder} if folder else {})}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8")).decode("ascii")


def decode_marker(store: MailboxStore, value: str, folder: str | None = None) -> int | None:
    """The seq of a marker issued by this store (and for this folder), or None when it is not one."""
    raw = _b64(value.strip())
    if raw is None:
        return None
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("g") != store.generation or payload.get("f") != folder:
        return None
    seq = payload.get("s")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= store.seq:
        return None
    return seq


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None

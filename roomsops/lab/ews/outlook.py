"""The admin API's view of calendars and its edits "as if in Outlook" (not EWS requests, never counted).

`calendar_json` is what tests read instead of trusting a client's EWS reading. The edits change items the way a
person in Outlook would: a new ChangeKey, a change the mailbox's SyncFolderItems and GetEvents report, and meeting
delivery (invitations, updates, cancellations) to the tenant's other mailboxes.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from roomsops.lab.ews.common import store_of
from roomsops.lab.ews.delivery import (
    cancel,
    cancel_occurrence,
    is_external,
    organizer_of,
    receive_external,
    resolve_recipients,
    send,
)
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.fields import FREE_BUSY, SENSITIVITIES, set_extended
from roomsops.lab.ews.find_item import two_years_after
from roomsops.lab.ews.folders import add_calendar_folder
from roomsops.lab.ews.recurrence import Occurrence, format_utc
from roomsops.lab.ews.series import (
    as_item,
    delete_occurrence,
    item_type,
    normalise_master,
    occurrence_from,
    occurrences_between,
    record_exception,
    reset_exceptions,
)
from roomsops.lab.ews.soap import format_datetime, utc_now
from roomsops.lab.ews.store import (
    CALENDAR,
    DELETED_ITEMS,
    ITEM_FOLDERS,
    Attendee,
    CalendarItem,
    ExtendedProperty,
    Folder,
    MailboxStore,
    OccurrenceItem,
    folder_id,
    new_item_id,
    new_uid,
    parse_occurrence_id,
)
from roomsops.lab.tenant import Mailbox, Tenant, TenantState

DELETE_MODES = ("MoveToDeletedItems", "SoftDelete", "HardDelete")
#: Fields of POST (all) and PATCH (all but extended_properties) bodies, with their JSON types.
EDIT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "subject": str,
    "start": str,
    "end": str,
    "location": (str, type(None)),
    "body": (str, type(None)),
    "attendees": list,
    "optional_attendees": list,
    "resources": list,
    "sensitivity": str,
    "free_busy": str,
    "reminder": (int, type(None)),
    "send": bool,
    "extended_properties": list,
}


class EditError(Exception):
    """An edit the admin API refuses: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


# --- reading -------------------------------------------------------------------------------------------


def calendar_json(
    tenant: Tenant, address: str, folder: str = CALENDAR, expand: str | None = None
) -> dict[str, Any]:
    """The items of a folder (series as their masters), or with `expand="<start>,<end>"` (ISO times with offset)
    what a calendar view of that range shows: single items and the occurrences and exceptions of series (at most
    two years, as EWS's CalendarView). `folder` is calendar, deleteditems or the key of a calendar folder the
    mailbox created."""
    window = None
    if expand is not None:
        parts = expand.split(",")
        if len(parts) != 2:
            raise EditError(400, "bad_field", "expand is '<start>,<end>' (ISO 8601 times with an offset)")
        window = (_moment("expand", parts[0].strip()), _moment("expand", parts[1].strip()))
        # The longest window is EWS's CalendarView limit (two years, ErrorCalendarViewRangeTooBig): a
        # thousand-year expansion of a daily series would hold the lab for minutes.
        first, last = (w.astimezone(dt.UTC) for w in window)
        if last < first:
            raise EditError(400, "bad_field", "expand's end must not be before its start")
        if last > two_years_after(first):
            raise EditError(
                400,
                "bad_field",
                "expand covers at most two years (EWS's CalendarView limit); ask for a shorter window",
            )
    with tenant.read() as state:
        mailbox = _mailbox(state, address)
        store = state.calendars.get(mailbox.id)
        _check_folder(store, folder)
        items: list[CalendarItem] = list(store.in_folder(folder)) if store else []
        if window is not None:
            start, end = (w.astimezone(dt.UTC) for w in window)
            shown: list[CalendarItem] = []
            for item in items:
                if item.recurrence is not None:
                    shown += occurrences_between(item, start, end)
                elif _moment("end", item.end) >= start and _moment("start", item.start) < end:
                    shown.append(item)
            items = shown
        items.sort(key=lambda i: (i.start, i.created_seq))
        return {"mailbox": mailbox.primary_smtp, "items": [item_json(i) for i in items]}


def _recurrence_json(item: CalendarItem) -> dict[str, Any] | None:
    rec = item.recurrence
    if rec is None:
        return None
    return {
        "pattern": rec.pattern,
        "interval": rec.interval,
        "days_of_week": rec.days_of_week,
        "first_day_of_week": rec.first_day_of_week,
        "day_of_month": rec.day_of_month,
        "day_of_week_index": rec.day_of_week_index,
        "month": rec.month,
        "range": rec.range,
        "start_date": rec.start_date,
        "end_date": rec.end_date,
        "number": rec.number,
        "time_zone": item.start_time_zone,
    }


def item_json(item: CalendarItem) -> dict[str, Any]:
    """An item as plain JSON: what tests assert on."""

    def people(attendees: list[Attendee]) -> list[dict[str, Any]]:
        return [{"email": a.email, "name": a.name, "response": a.response} for a in attendees]

    return {
        "id": item.id,
        "change_key": item.change_key,
        "folder": item.folder,
        "uid": item.uid,
        "subject": item.subject,
        "body": item.body,
        "start": item.start,
        "end": item.end,
        "location": item.location,
        "organizer": item.organizer.email,
        "organizer_name": item.organizer.name,
        "required_attendees": people(item.required),
        "optional_attendees": people(item.optional),
        "resources": people(item.resources),
        "sensitivity": item.sensitivity,
        "free_busy": item.free_busy,
        "reminder": item.reminder_minutes if item.reminder_is_set else None,
        "is_all_day": item.is_all_day,
        "is_meeting": item.is_meeting,
        "is_cancelled": item.is_cancelled,
        "my_response": item.my_response,
        "sequence": item.sequence,
        "extended_properties": [
            {
                "distinguished_set_id": p.distinguished_set_id,
                "property_set_id": p.property_set_id,
                "property_tag": p.property_tag,
                "property_name": p.property_name,
                "property_id": p.property_id,
                "property_type": p.property_type,
                "value": p.value if p.values is None else p.values,
            }
            for p in item.extended
        ],
        "created": item.created,
        "last_modified": item.modified,
        "type": item_type(item),
        "recurrence": _recurrence_json(item),
        "modified_occurrences": [
            {
                "original_start": e.original_start,
                "start": e.start,
                "end": e.end,
                "subject": e.subject,
                "location": e.location,
                "is_cancelled": e.is_cancelled,
            }
            for e in item.modified_occurrences
        ],
        "deleted_occurrences": list(item.deleted_occurrences),
        **(
            {
                "master_id": item.master_id,
                "original_start": item.original_start,
                "instance_index": item.instance_index,
            }
            if isinstance(item, OccurrenceItem)
            else {}
        ),
    }


# --- edits ---------------------------------------------------------------------------------------------


def create(tenant: Tenant, address: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A new appointment or meeting organized by the mailbox; invitations go out unless `send` is false."""
    _check(body, required=("subject", "start", "end"))
    now = format_datetime(utc_now())
    with tenant.change() as state:
        organizer = _mailbox(state, address)
        store = store_of(state, organizer.id)
        item = CalendarItem(
            id=new_item_id(organizer.id),
            change_key="",
            folder=CALENDAR,
            uid=new_uid(),
            start="",
            end="",
            organizer=organizer_of(organizer),
            created=now,
            modified=now,
            created_seq=store.seq + 1,
            modified_seq=store.seq + 1,
            delivered_to=[],
        )
        _apply(item, body)
        item.is_meeting = bool(item.attendees())
        resolve_recipients(state, item)
        store.items.append(item)
        store.touch(item, now)
        if body.get("send", True) and item.attendees():
            send(state, organizer, item, now)
        return item_json(item)


def update(tenant: Tenant, address: str, item_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Change fields of an item; an organizer's meeting is re-sent (unless `send` is false)."""
    _check(body, required=())
    if "extended_properties" in body:
        raise EditError(400, "bad_field", "extended properties cannot be edited in Outlook")
    now = format_datetime(utc_now())
    with tenant.change() as state:
        mailbox = _mailbox(state, address)
        store = store_of(state, mailbox.id)
        master, occurrence = _target(state, mailbox, item_id)
        if occurrence is not None:
            return _update_occurrence(state, mailbox, master, occurrence, body, now)
        item = master
        updated = copy.deepcopy(item)
        _apply(updated, body)
        # A series' master edited as a whole (Outlook's "Open the series") is stored as UpdateItem stores it: its
        # Start and End are its first occurrence's (new times on a day the pattern has not are moved to the
        # pattern's first date), and new times re-expand it. Kept as sent, the master started on a day without an
        # occurrence and the rooms' copies held that slot (fix19r, soak seed 33805).
        try:
            normalise_master(updated)
        except EwsError as error:
            raise EditError(400, "bad_field", f"{error.code}: {error.text or error.code}") from None
        reset_exceptions(item, updated)
        updated.is_meeting = updated.is_meeting or bool(updated.attendees())
        resolve_recipients(state, updated)
        store.items[store.items.index(item)] = updated
        store.touch(updated, now)
        if body.get("send", True) and updated.is_organizer and updated.is_meeting:
            updated.sequence += 1
            send(state, mailbox, updated, now)
        return item_json(updated)


#: What an edit of one occurrence may change (an exception keeps these; the rest follows the series' master).
OCCURRENCE_EDITS = ("subject", "location", "body", "start", "end", "free_busy", "sensitivity", "send")


def _update_occurrence(
    state: TenantState,
    mailbox: Mailbox,
    master: CalendarItem,
    occurrence: Occurrence,
    body: Mapping[str, Any],
    now: str,
) -> dict[str, Any]:
    """Outlook's "Open this occurrence" edit: the occurrence becomes an exception of its series (as UpdateItem of
    an occurrence does); an organizer's change goes out (unless `send` is false) as an update of that occurrence."""
    others = sorted(set(body) - set(OCCURRENCE_EDITS))
    if others:
        raise EditError(
            400,
            "bad_field",
            f"an occurrence takes only {', '.join(OCCURRENCE_EDITS)}; {', '.join(others)} follow the series: "
            f"PATCH its master {master.id}",
        )
    store = store_of(state, mailbox.id)
    before = as_item(master, occurrence)
    shown = copy.deepcopy(before)
    _apply(shown, body)
    updated = copy.deepcopy(master)
    try:
        record_exception(updated, occurrence, shown, before, now)
    except EwsError as error:
        raise EditError(400, "bad_field", f"{error.code}: {error.text or error.code}") from None
    store.items[store.items.index(master)] = updated
    store.touch(updated, now)
    if body.get("send", True) and updated.is_organizer and updated.is_meeting and not updated.is_cancelled:
        updated.sequence += 1
        send(state, mailbox, updated, now, format_utc(occurrence.original_start))
    return item_json(as_item(updated, occurrence_from(updated, occurrence.original_start)))


def delete(tenant: Tenant, address: str, item_id: str, mode: str, send_cancellations: bool) -> dict[str, Any]:
    """Delete (Outlook moves to Deleted Items) an item; an organizer's meeting is cancelled for its attendees."""
    if mode not in DELETE_MODES:
        raise EditError(400, "bad_field", f"mode must be one of {', '.join(DELETE_MODES)}")
    now = format_datetime(utc_now())
    with tenant.change() as state:
        mailbox = _mailbox(state, address)
        store = store_of(state, mailbox.id)
        item, occurrence = _target(state, mailbox, item_id)
        if occurrence is not None:
            # One occurrence (Outlook's "Delete this occurrence"): a deleted occurrence of its series whatever the
            # mode, as DeleteItem of an occurrence; an organizer's attendees and rooms get its cancellation.
            key = format_utc(occurrence.original_start)
            delete_occurrence(item, occurrence)
            store.touch(item, now)
            if send_cancellations and item.is_organizer and item.is_meeting and not item.is_cancelled:
                item.sequence += 1
                cancel_occurrence(state, mailbox, item, key, now)
            return {"deleted": item_id, "moved_to": None, "item": None, "series": item_json(item)}
        if send_cancellations and item.is_organizer and item.is_meeting and not item.is_cancelled:
            cancel(state, mailbox, item, now)
            item.is_cancelled = True
        if mode == "MoveToDeletedItems" and item.folder != DELETED_ITEMS:
            moved = store.move(item, DELETED_ITEMS, now)
            return {"deleted": item_id, "moved_to": DELETED_ITEMS, "item": item_json(moved)}
        store.remove(item)
        return {"deleted": item_id, "moved_to": None, "item": None}


def move(tenant: Tenant, address: str, item_id: str, folder: str) -> dict[str, Any]:
    """Move an item to another folder as Outlook's drag does (to Deleted Items, or back: a restore; or to a second
    calendar); nothing is sent, so attendee and room copies stay."""
    now = format_datetime(utc_now())
    with tenant.change() as state:
        mailbox = _mailbox(state, address)
        store = store_of(state, mailbox.id)
        _check_folder(store, folder)
        item, occurrence = _target(state, mailbox, item_id)
        if occurrence is not None:
            raise EditError(
                400,
                "bad_field",
                f"{item_id} is one occurrence of a series: only single items and series' masters move between "
                f"folders (MoveItem's ErrorCalendarCannotMoveOrCopyOccurrence); move the master {item.id}, or PATCH "
                "the occurrence's start and end to move it in time",
            )
        moved = item if item.folder == folder else store.move(item, folder, now)
        return {"moved": item_id, "folder": folder, "item": item_json(moved)}


def external_request(tenant: Tenant, address: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A meeting request from an organizer outside the tenant to a room (`organizer`, `subject`, `start`, `end`):
    what reaches a room when someone at another company invites it. Its attendant answers it as any request
    (after the room answer delay), ProcessExternalMeetingMessages deciding whether it is processed at all."""
    known = {"organizer", "subject", "start", "end"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise EditError(
            400, "unknown_field", f"unknown field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    for name in sorted(known):
        if not isinstance(body.get(name), str) or not body[name].strip():
            raise EditError(400, "missing_field", f"field {name!r} is required (a string)")
    organizer = body["organizer"].strip()
    if "@" not in organizer:
        raise EditError(400, "bad_field", "organizer must be an e-mail address")
    start, end = _moment("start", body["start"]), _moment("end", body["end"])
    if end < start:
        raise EditError(400, "bad_field", "end is before start")
    now = format_datetime(utc_now())
    with tenant.change() as state:
        room = _mailbox(state, address)
        if room.kind != "room":
            raise EditError(400, "bad_field", f"{room.primary_smtp} is not a room mailbox")
        if not is_external(state, organizer):
            raise EditError(
                400,
                "bad_field",
                f"{organizer} is inside the organization: send as that mailbox (POST /lab/mailboxes/<address>/calendar)",
            )
        request = CalendarItem(
            id="",
            change_key="",
            folder=CALENDAR,
            uid=new_uid(),
            start=format_datetime(start),
            end=format_datetime(end),
            organizer=Attendee(email=organizer, name=organizer, response="Organizer", mailbox_type="OneOff"),
            created=now,
            modified=now,
            created_seq=0,
            modified_seq=0,
            subject=body["subject"],
            is_meeting=True,
            meeting_request_was_sent=True,
            resources=[Attendee(email=room.primary_smtp, name=room.display_name)],
            delivered_to=[],
        )
        pending = receive_external(state, room, request, now)
        answered = [a for a in state.room_answers if a.uid == request.uid]  # a new uid: this request's answer
        return {
            "uid": request.uid,
            "room": room.primary_smtp,
            "pending": any(p.id == pending.id for p in state.pending_answers),
            "answer": dataclasses.asdict(answered[-1]) if answered else None,
        }


def folders_json(tenant: Tenant, address: str) -> dict[str, Any]:
    """The calendar folders the mailbox created (second calendars), with their EWS FolderIds."""
    with tenant.read() as state:
        mailbox = _mailbox(state, address)
        store = state.calendars.get(mailbox.id)
        return {
            "mailbox": mailbox.primary_smtp,
            "folders": [_folder_json(mailbox.id, f) for f in (store.folders if store else [])],
        }


def create_folder(tenant: Tenant, address: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A second calendar as Outlook creates one: `display_name`, under `parent` (calendar: a subfolder of the
    Calendar, the default; msgfolderroot: a secondary calendar; or a created calendar's key)."""
    unknown = sorted(set(body) - {"display_name", "parent"})
    if unknown:
        raise EditError(
            400, "unknown_field", f"unknown field(s): {', '.join(unknown)}; known: display_name, parent"
        )
    name, parent = body.get("display_name"), body.get("parent", CALENDAR)
    if not isinstance(name, str) or not name.strip():
        raise EditError(400, "missing_field", "field 'display_name' is required (a non-empty string)")
    if not isinstance(parent, str):
        raise EditError(400, "bad_field", "field 'parent' has the wrong type")
    now = format_datetime(utc_now())
    with tenant.change() as state:
        mailbox = _mailbox(state, address)
        store = store_of(state, mailbox.id)
        try:
            folder = add_calendar_folder(store, parent, name, "IPF.Appointment", now)
        except EwsError as error:
            status, code = (409, "conflict") if error.code == "ErrorFolderExists" else (400, "bad_field")
            raise EditError(status, code, error.text) from None
        return _folder_json(mailbox.id, folder)


def _folder_json(mailbox_id: str, folder: Folder) -> dict[str, Any]:
    return {
        "folder": folder.key,
        "id": folder_id(mailbox_id, folder.key),
        "display_name": folder.display_name,
        "parent": folder.parent,
        "folder_class": folder.folder_class,
    }


def _check_folder(store: MailboxStore | None, folder: str) -> None:
    if folder in ITEM_FOLDERS or (store is not None and store.folder(folder) is not None):
        return
    raise EditError(
        400,
        "bad_field",
        f"folder must be one of {', '.join(ITEM_FOLDERS)} or a created calendar folder's key "
        "(GET /lab/mailboxes/<address>/folders)",
    )


def _mailbox(state: TenantState, address: str) -> Mailbox:
    mailbox = state.find_mailbox(address)
    if mailbox is None:
        raise EditError(404, "mailbox_not_found", f"no mailbox has the address {address}")
    return mailbox


def _item(state: TenantState, mailbox: Mailbox, item_id: str) -> CalendarItem:
    store = state.calendars.get(mailbox.id)
    item = store.find(item_id) if store else None
    if item is None:
        raise EditError(404, "item_not_found", f"{mailbox.primary_smtp} has no item {item_id}")
    return item


def _target(state: TenantState, mailbox: Mailbox, item_id: str) -> tuple[CalendarItem, Occurrence | None]:
    """What an item id names: a stored item (single item or master), or one occurrence of a master (its ItemId as
    EWS and the expanded calendar view give it)."""
    parsed = parse_occurrence_id(item_id)
    if parsed is None:
        return _item(state, mailbox, item_id), None
    master = _item(state, mailbox, parsed[0])
    try:
        return master, occurrence_from(master, parsed[1])
    except EwsError as error:
        if error.code == "ErrorCalendarOccurrenceIsDeletedFromRecurrence":
            raise EditError(
                404, "item_not_found", f"{item_id} is an occurrence deleted from its series {master.id}"
            ) from None
        raise EditError(
            404, "item_not_found", f"{mailbox.primary_smtp} has no occurrence {item_id} in series {master.id}"
        ) from None


def _check(body: Mapping[str, Any], *, required: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(EDIT_FIELDS))
    if unknown:
        raise EditError(
            400, "unknown_field", f"unknown field(s): {', '.join(unknown)}; known: {', '.join(EDIT_FIELDS)}"
        )
    for name in required:
        if name not in body:
            raise EditError(400, "missing_field", f"field {name!r} is required")
    for name, value in body.items():
        kinds = EDIT_FIELDS[name]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            raise EditError(400, "bad_field", f"field {name!r} has the wrong type")


def _apply(item: CalendarItem, body: Mapping[str, Any]) -> None:
    for name, value in body.items():
        if name in ("subject", "location", "body"):
            setattr(item, name, value)
        elif name in ("start", "end"):
            setattr(item, name, format_datetime(_moment(name, value)))
        elif name in ("attendees", "optional_attendees", "resources"):
            attr = {"attendees": "required", "optional_attendees": "optional", "resources": "resources"}[name]
            setattr(item, attr, [_attendee(name, a) for a in value])
        elif name == "sensitivity":
            item.sensitivity = _choice(name, value, SENSITIVITIES)
        elif name == "free_busy":
            item.free_busy = _choice(name, value, FREE_BUSY)
        elif name == "reminder":
            item.reminder_is_set = value is not None
            item.reminder_minutes = 15 if value is None else int(value)
        elif name == "extended_properties":
            for prop in value:
                set_extended(item, _extended(prop))
    if _moment("end", item.end) < _moment("start", item.start):
        raise EditError(400, "bad_field", "end is before start")


def _moment(name: str, value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EditError(400, "bad_field", f"{name} must be an ISO 8601 time with an offset") from None
    if moment.tzinfo is None:
        raise EditError(400, "bad_field", f"{name} must carry an offset (e.g. Z)")
    try:
        moment.astimezone(
            dt.UTC
        )  # 0001-01-01 at +01:00 or 9999-12-31 at -05:00 is outside datetime's range in UTC
    except OverflowError:
        raise EditError(400, "bad_field", f"{name} is out of range once in UTC") from None
    return moment


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise EditError(400, "bad_field", f"{name} must be one of {', '.join(allowed)}")
    return value


def _attendee(name: str, value: Any) -> Attendee:
    if not isinstance(value, str) or "@" not in value:
        raise EditError(400, "bad_field", f"{name} must be a list of e-mail addresses")
    return Attendee(email=value.strip(), name=value.strip())


def _extended(value: Any) -> ExtendedProperty:
    if not isinstance(value, dict) or not isinstance(value.get("value"), str):
        raise EditError(400, "bad_field", "extended_properties holds objects with a string value")
    known = {"distinguished_set_id", "property_set_id", "property_name", "property_type", "value"}
    if set(value) - known or not value.get("property_name"):
        raise EditError(
            400, "bad_field", f"an extended property has property_name, value and {', '.join(sorted(known))}"
        )
    if not (value.get("distinguished_set_id") or value.get("property_set_id")):
        raise EditError(
            400, "bad_field", "an extended property needs distinguished_set_id or property_set_id"
        )
    return ExtendedProperty(
        property_type=str(value.get("property_type") or "String"),
        distinguished_set_id=value.get("distinguished_set_id"),
        property_set_id=value.get("property_set_id"),
        property_name=str(value["property_name"]),
        value=str(value["value"]),
    )

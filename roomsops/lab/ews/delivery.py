"""Meeting delivery inside the tenant: attendee copies, the resource booking attendant, cancellations.

What Exchange does asynchronously (transport, Calendar Attendant, resource booking attendant) the lab does at once,
inside the request that sent the meeting, but as a *separate* change of the organizer's item: the ChangeKey that
CreateItem/UpdateItem answers with is already stale when a room's response has been recorded, as it soon is in
Exchange Online (Set-CalendarProcessing.md; details in FIDELITY.md):

- a user's mailbox (Calendar Attendant, AddNewRequestsTentatively $true) gets a copy: IsMeeting, MyResponseType
  NoResponseReceived, LegacyFreeBusyStatus Tentative; the organizer's item keeps the attendee's ResponseType
  Unknown (nobody answers for a person);
- a room with AutomateProcessing AutoAccept accepts when free ("free = accept; busy = decline"): its copy is
  Accept and Busy, with the organizer's name as subject (AddOrganizerToSubject, DeleteSubject), no body
  (DeleteComments) and no private flag (RemovePrivateProperty); when the slot is taken (AllowConflicts $false)
  it declines and keeps no copy; the organizer's item records Accept/Decline and the response time;
- AutomateProcessing None processes nothing (the request would wait in the inbox);
- a cancellation marks every copy cancelled and free ("Canceled: " subject); rooms keep the cancelled item
  (RemoveCanceledMeetings $false), which no longer blocks the slot;
- an update re-delivers: copies follow the organizer's item, a room re-evaluates the new slot, attendees no
  longer invited get a cancellation.
"""

from __future__ import annotations

import copy
import datetime as dt

from roomsops.lab.ews.common import store_of
from roomsops.lab.ews.soap import parse_datetime
from roomsops.lab.ews.store import CALENDAR, Attendee, CalendarItem, MailboxStore, new_item_id
from roomsops.lab.tenant import Mailbox, TenantState

CANCELED_PREFIX = "Canceled: "


def resolve_recipients(state: TenantState, item: CalendarItem) -> None:
    """Attendees that are mailboxes of the tenant get their display name and MailboxType Mailbox; others are
    one-off addresses (Exchange resolves recipients against the directory when it saves a meeting)."""
    for attendee in item.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is None:
            attendee.mailbox_type = "OneOff"
            continue
        attendee.mailbox_type = "Mailbox"
        if not attendee.name or attendee.name == attendee.email:
            attendee.name = mailbox.display_name


def organizer_of(mailbox: Mailbox) -> Attendee:
    return Attendee(email=mailbox.primary_smtp, name=mailbox.display_name, response="Organizer")


def send(state: TenantState, organizer: Mailbox, item: CalendarItem, now: str) -> None:
    """Deliver the organizer's meeting to every invited mailbox of the tenant, then record the responses on the
    organizer's item (a change of its own, like a response arriving later)."""
    item.meeting_request_was_sent = True
    changed = False
    invited: set[str] = set()
    for attendee in item.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is None or mailbox.id == organizer.id:
            continue
        invited.add(mailbox.id)
        response = _deliver_to(state, mailbox, item, now)
        if response is not None and response != attendee.response:
            attendee.response = response
            attendee.last_response_time = now
            changed = True
    _cancel_uninvited(state, organizer, item, invited, now)
    if changed:
        store_of(state, organizer.id).touch(item, now)


def cancel(state: TenantState, organizer: Mailbox, item: CalendarItem, now: str) -> None:
    """Send a cancellation of the organizer's meeting to every attendee copy in the tenant."""
    for attendee in item.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is not None and mailbox.id != organizer.id:
            _cancel_copy(store_of(state, mailbox.id), item.uid, now)


def _deliver_to(state: TenantState, mailbox: Mailbox, item: CalendarItem, now: str) -> str | None:
    """Put the meeting into one attendee's calendar; the response the organizer gets (None: no answer)."""
    if mailbox.automate_processing == "None":
        return None
    store = store_of(state, mailbox.id)
    existing = store.by_uid(item.uid)
    if mailbox.kind == "room" and mailbox.automate_processing == "AutoAccept":
        return _book_resource(mailbox, store, item, existing, now)
    retimed = existing is not None and (existing.start, existing.end) != (item.start, item.end)
    attendee_copy = _copy_for(store.mailbox_id, item, existing, now)
    if existing is None or retimed or existing.is_cancelled:
        # A new or moved meeting waits for the person's answer again (tentative in the calendar).
        attendee_copy.my_response = "NoResponseReceived"
        attendee_copy.free_busy = "Tentative"
    _save_copy(store, attendee_copy, existing, now)
    return None


def _book_resource(
    mailbox: Mailbox, store: MailboxStore, item: CalendarItem, existing: CalendarItem | None, now: str
) -> str:
    if not mailbox.allow_conflicts and _slot_taken(store, item):
        if existing is not None:
            store.remove(existing)  # a declined request leaves nothing in the room's calendar
        return "Decline"
    booking = _copy_for(store.mailbox_id, item, existing, now)
    booking.subject = item.organizer.name  # AddOrganizerToSubject + DeleteSubject (defaults)
    booking.body = None  # DeleteComments (default)
    booking.sensitivity = "Normal"  # RemovePrivateProperty (default)
    booking.my_response = "Accept"
    booking.free_busy = "Busy"
    _save_copy(store, booking, existing, now)
    return "Accept"


def _slot_taken(store: MailboxStore, item: CalendarItem) -> bool:
    start, end = parse_datetime(item.start, "Start"), parse_datetime(item.end, "End")
    return any(
        other.uid != item.uid and blocks(other) and _overlaps(other, start, end)
        for other in store.in_folder(CALENDAR)
    )


def blocks(item: CalendarItem) -> bool:
    """Whether an item makes its owner busy (a room's booking, an appointment): cancelled or free ones do not."""
    return not item.is_cancelled and item.free_busy != "Free" and item.my_response != "Decline"


def _overlaps(item: CalendarItem, start: dt.datetime, end: dt.datetime) -> bool:
    return parse_datetime(item.start, "Start") < end and parse_datetime(item.end, "End") > start


def _copy_for(mailbox_id: str, item: CalendarItem, existing: CalendarItem | None, now: str) -> CalendarItem:
    """The attendee's version of the organizer's item (keeping the copy's identity and its own answer)."""
    attendee_copy = copy.deepcopy(item)
    attendee_copy.delivered_to = []
    attendee_copy.folder = CALENDAR
    attendee_copy.is_meeting = True
    attendee_copy.is_cancelled = False
    attendee_copy.meeting_request_was_sent = False
    if existing is None:
        attendee_copy.id = new_item_id(mailbox_id)
        attendee_copy.created = now
        attendee_copy.my_response = "NoResponseReceived"
    else:
        attendee_copy.id = existing.id
        attendee_copy.created = existing.created
        attendee_copy.created_seq = existing.created_seq
        attendee_copy.my_response = existing.my_response
        attendee_copy.free_busy = existing.free_busy
        attendee_copy.reminder_is_set = existing.reminder_is_set
        attendee_copy.reminder_minutes = existing.reminder_minutes
    return attendee_copy


def _save_copy(
    store: MailboxStore, attendee_copy: CalendarItem, existing: CalendarItem | None, now: str
) -> None:
    if existing is not None:
        store.items[store.items.index(existing)] = attendee_copy
    else:
        attendee_copy.created_seq = store.seq + 1
        store.items.append(attendee_copy)
    store.touch(attendee_copy, now)


def _cancel_copy(store: MailboxStore, uid: str, now: str) -> None:
    existing = store.by_uid(uid)
    if existing is None or existing.is_cancelled:
        return
    existing.is_cancelled = True
    existing.free_busy = "Free"
    subject = existing.subject or ""
    existing.subject = subject if subject.startswith(CANCELED_PREFIX) else CANCELED_PREFIX + subject
    store.touch(existing, now)


def _cancel_uninvited(
    state: TenantState, organizer: Mailbox, item: CalendarItem, invited: set[str], now: str
) -> None:
    """Copies of this meeting in mailboxes that are no longer invited get a cancellation. Only mailboxes it was
    delivered to can hold one (`delivered_to`; an item without that record has every mailbox looked at)."""
    if item.delivered_to is None:
        reached = [
            mailbox_id
            for mailbox_id, store in state.calendars.items()
            if mailbox_id != organizer.id and store.by_uid(item.uid) is not None
        ]
    else:
        reached = item.delivered_to
    for mailbox_id in reached:
        store = state.calendars.get(mailbox_id)
        if store is not None and mailbox_id != organizer.id and mailbox_id not in invited:
            _cancel_copy(store, item.uid, now)
    item.delivered_to = sorted(set(reached) | invited)

"""Meeting delivery inside the tenant: attendee copies, the resource booking attendant, cancellations.

Transport and the Calendar Attendant deliver at once, inside the request that sent the meeting; the resource
booking attendant of a room answers later (Exchange processes the request asynchronously): the request waits in
`TenantState.pending_answers` for the lab's room answer delay (`--room-answer-delay`, POST /lab/settings; 0 answers
inside the sending request) or for `POST /lab/room-answers/process`. Its answer changes the organizer's item (the
room's ResponseType, a new ChangeKey), as a response arriving does (Set-CalendarProcessing.md; FIDELITY.md):

- a user's mailbox (Calendar Attendant, AddNewRequestsTentatively $true) gets a copy: IsMeeting, MyResponseType
  NoResponseReceived, LegacyFreeBusyStatus Tentative; the organizer's item keeps the attendee's ResponseType
  Unknown (nobody answers for a person);
- a room with AutomateProcessing AutoAccept applies its calendar processing (`decide()`): booking window,
  maximum duration, recurring meetings, working hours, conflicts (AllowConflicts, ConflictPercentageAllowed,
  MaximumConflictInstances), external organizers; accepted, its copy is Accept and Busy, subject and body as
  AddOrganizerToSubject/DeleteSubject/DeleteComments say, private flag cleared by RemovePrivateProperty; declined,
  it keeps no copy; every answer is logged with its reason (`TenantState.room_answers`);
- AutomateProcessing AutoUpdate (Calendar Attendant only) gives a room a tentative copy and no answer; None
  processes nothing (the request would wait in the inbox);
- a cancellation marks every copy cancelled and free ("Canceled: " subject); rooms keep the cancelled item unless
  RemoveCanceledMeetings, and it no longer blocks the slot; a pending request of a cancelled meeting is dropped;
- an update re-delivers: copies follow the organizer's item, a room answers the new request, attendees no longer
  invited get a cancellation.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import secrets

from roomsops.lab.ews.common import store_of
from roomsops.lab.ews.errors import EwsError
from roomsops.lab.ews.recurrence import (
    DAYS,
    ModifiedOccurrence,
    Occurrence,
    expand,
    format_utc,
    parse_utc,
    zone,
)
from roomsops.lab.ews.series import occurrence_from
from roomsops.lab.ews.store import (
    CALENDAR,
    Attendee,
    CalendarItem,
    MailboxStore,
    PendingAnswer,
    RoomAnswer,
    new_item_id,
    occurrence_id,
)
from roomsops.lab.tenant import Mailbox, TenantState

#: How many room answers the log keeps (GET /lab/room-answers).
ANSWER_LOG = 500
#: The longest room answer delay the lab takes (a year; tests that answer on demand use a day).
MAX_ROOM_ANSWER_DELAY = 366 * 24 * 3600.0


def valid_room_answer_delay(seconds: float) -> bool:
    """Whether `seconds` is a room answer delay: a finite number from 0 through MAX_ROOM_ANSWER_DELAY (NaN or an
    infinite delay would make every meeting with a room fail)."""
    return math.isfinite(seconds) and 0 <= seconds <= MAX_ROOM_ANSWER_DELAY


CANCELED_PREFIX = "Canceled: "
#: PendingAnswer.organizer_id of a request from outside the tenant.
EXTERNAL = "external"


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


def send(
    state: TenantState,
    organizer: Mailbox,
    item: CalendarItem,
    now: str,
    occurrence: str | None = None,
    only: set[str] | None = None,
) -> None:
    """Deliver the organizer's meeting to every invited mailbox of the tenant; rooms' attendants answer after
    the room answer delay (at once with 0), each answer a change of the organizer's item of its own.
    `occurrence` (an original start): the update changes that occurrence only, and a room that holds the series
    answers for that occurrence alone. `only` (addresses, casefolded): the update goes to these attendees alone
    (SendToChanged: those added), the others invited still and sent nothing; those removed get a cancellation."""
    item.meeting_request_was_sent = True
    invited: set[str] = set()
    for attendee in item.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is None or mailbox.id == organizer.id:
            continue
        invited.add(mailbox.id)
        if only is not None and attendee.email.casefold() not in only:
            continue
        if mailbox.kind == "room" and mailbox.automate_processing == "AutoAccept":
            _queue_request(state, mailbox, organizer, item, now, occurrence)
        else:
            _deliver_to(state, mailbox, item, now)
    _cancel_uninvited(state, organizer, item, invited, now)
    if state.flags.room_answer_delay <= 0:
        answer_due(state, now)


def is_external(state: TenantState, address: str) -> bool:
    """Whether an address is outside the organization: its domain is none of the tenant's accepted domains (the
    tenant's domain and the domains of its mailboxes' addresses)."""
    accepted = {state.domain.casefold()} | {
        a.rsplit("@", 1)[-1].casefold() for mailbox in state.mailboxes for a in mailbox.addresses()
    }
    return address.rsplit("@", 1)[-1].strip().casefold() not in accepted


def receive_external(state: TenantState, room: Mailbox, request: CalendarItem, now: str) -> PendingAnswer:
    """A meeting request from an organizer outside the tenant reaches a room (through the lab's admin API: the
    lab has no inbound mail); its attendant answers it after the room answer delay, like a request from inside."""
    state.pending_answers = [
        p for p in state.pending_answers if not (p.room_id == room.id and p.uid == request.uid)
    ]
    due = format_utc(parse_utc(now) + dt.timedelta(seconds=max(state.flags.room_answer_delay, 0.0)))
    pending = PendingAnswer(
        secrets.token_hex(8), room.id, EXTERNAL, request.uid, now, due, copy.deepcopy(request)
    )
    state.pending_answers.append(pending)
    if state.flags.room_answer_delay <= 0:
        answer_due(state, now)
    return pending


def _queue_request(
    state: TenantState,
    room: Mailbox,
    organizer: Mailbox,
    item: CalendarItem,
    now: str,
    occurrence: str | None = None,
) -> None:
    """A request reaches the room's attendant; an earlier request of the same meeting not yet answered is
    replaced (the attendant answers the latest version, as a whole unless both changed the same occurrence)."""
    earlier = [p for p in state.pending_answers if p.room_id == room.id and p.uid == item.uid]
    if any(p.occurrence != occurrence for p in earlier):
        occurrence = None
    state.pending_answers = [p for p in state.pending_answers if p not in earlier]
    due = format_utc(parse_utc(now) + dt.timedelta(seconds=max(state.flags.room_answer_delay, 0.0)))
    request = copy.deepcopy(item)
    request.delivered_to = []
    state.pending_answers.append(
        PendingAnswer(secrets.token_hex(8), room.id, organizer.id, item.uid, now, due, request, occurrence)
    )


def answer_due(state: TenantState, now: str, *, all_pending: bool = False) -> list[RoomAnswer]:
    """Let the rooms' attendants answer the requests that are due (every pending one with `all_pending`)."""
    moment = parse_utc(now)
    due = [p for p in state.pending_answers if all_pending or parse_utc(p.due) <= moment]
    if not due:
        return []
    state.pending_answers = [p for p in state.pending_answers if p not in due]
    answers = [a for a in (_answer(state, p, now) for p in sorted(due, key=lambda p: p.due)) if a]
    state.room_answers = (state.room_answers + answers)[-ANSWER_LOG:]
    return answers


def next_due(state: TenantState) -> str | None:
    return min((p.due for p in state.pending_answers), default=None)


def _answer(state: TenantState, pending: PendingAnswer, now: str) -> RoomAnswer | None:
    room = next((m for m in state.mailboxes if m.id == pending.room_id), None)
    organizer = next((m for m in state.mailboxes if m.id == pending.organizer_id), None)
    if room is None or (organizer is None and pending.organizer_id != EXTERNAL):
        return None
    organizer_store = store_of(state, organizer.id) if organizer is not None else None
    # The organizer's item in the calendar, or in a calendar folder the organizer created or moved it to (an
    # external organizer's item is outside the tenant).
    item = (
        organizer_store.by_uid(pending.uid)
        or next(
            (
                i
                for i in organizer_store.items
                if i.uid == pending.uid and organizer_store.is_calendar(i.folder)
            ),
            None,
        )
        if organizer_store is not None
        else None
    )
    # The attendant answers the request it received: the organizer deleting or moving the item without a
    # cancellation (SendToNone, MoveItem), or changing it without sending, does not reach the room.
    request = pending.request if pending.request is not None else item
    if request is None or request.is_cancelled:
        return None  # cancelled before the attendant got to it (a cancellation drops the request too)
    if not any(room.has_address(a.email) for a in request.attendees()):
        return None
    if room.automate_processing != "AutoAccept":
        # Calendar processing changed while the request waited: AutoUpdate leaves it to the Calendar Attendant (a
        # tentative copy, no answer), None processes nothing (Set-CalendarProcessing: AutomateProcessing).
        if room.automate_processing == "AutoUpdate" and pending.organizer_id != EXTERNAL:
            _deliver_to(state, room, request, now)
        return None
    store = store_of(state, room.id)
    existing = store.by_uid(request.uid)
    single = _changed_occurrence(request, existing, pending.occurrence)
    if single is not None:
        assert existing is not None and pending.occurrence is not None
        return _answer_occurrence(
            state, room, organizer, organizer_store, item, request, existing, single, pending.occurrence, now
        )
    response, reason, declined, last_day = decide(state, room, request, parse_utc(now))
    if response == "Decline":
        if existing is not None:
            store.remove(existing)  # a declined request leaves nothing in the room's calendar
    else:
        _save_copy(store, _booking(room, request, existing, declined, last_day, now), existing, now)
    attendee = (
        next((a for a in item.attendees() if room.has_address(a.email)), None)
        if item is not None and not item.is_cancelled
        else None
    )
    if item is not None and attendee is not None and organizer_store is not None:
        attendee.response = response
        attendee.last_response_time = now
        organizer_store.touch(item, now)
    return RoomAnswer(
        room.primary_smtp,
        organizer.primary_smtp if organizer is not None else request.organizer.email,
        request.uid,
        request.subject,
        response,
        reason,
        now,
    )


def _changed_occurrence(
    request: CalendarItem, existing: CalendarItem | None, key: str | None
) -> CalendarItem | None:
    """The one occurrence an occurrence update changes, as a single item, when the room holds the series it belongs
    to (else None: the request is answered as a whole)."""
    if key is None or existing is None or existing.is_cancelled or existing.recurrence is None:
        return None
    if request.recurrence is None or key in existing.deleted_occurrences:
        return None
    original = parse_utc(key)
    reach = dt.timedelta(days=800)  # an exception stays between its neighbours (a year apart at most)
    found = next(
        (
            o
            for o in expand(request, original - reach, original + reach)
            if format_utc(o.original_start) == key
        ),
        None,
    )
    if found is None:
        return None
    single = copy.deepcopy(request)
    single.recurrence, single.modified_occurrences, single.deleted_occurrences = None, [], []
    single.start, single.end = format_utc(found.start), format_utc(found.end)
    return single


def _answer_occurrence(
    state: TenantState,
    room: Mailbox,
    organizer: Mailbox | None,
    organizer_store: MailboxStore | None,
    item: CalendarItem | None,
    request: CalendarItem,
    existing: CalendarItem,
    single: CalendarItem,
    key: str,
    now: str,
) -> RoomAnswer:
    """The attendant answers an update of one occurrence of a series it holds (MS-OXOCAL 4.2.2: an exception is
    sent, and answered, on its own): accepted, its copy takes the organizer's series with the change; declined,
    that occurrence leaves the room's calendar and the rest of the series stays booked."""
    response, reason, _, _ = decide(state, room, single, parse_utc(now))
    store = store_of(state, room.id)
    booking = _booking(room, request, existing, list(existing.deleted_occurrences), None, now)
    booking.recurrence = (
        existing.recurrence
    )  # an occurrence update keeps the pattern (and a cut at the window)
    if response == "Decline":
        _drop_occurrence(booking, key)
        reason = f"{reason} (this occurrence only)"
    _save_copy(store, booking, existing, now)
    if item is not None and organizer_store is not None and not item.is_cancelled:
        organizer_store.touch(item, now)  # the response to the occurrence reaches the organizer's item
    return RoomAnswer(
        room.primary_smtp,
        organizer.primary_smtp if organizer is not None else request.organizer.email,
        request.uid,
        request.subject,
        response,
        reason,
        now,
    )


def _booking(
    room: Mailbox,
    item: CalendarItem,
    existing: CalendarItem | None,
    declined: list[str],
    last_day: dt.date | None,
    now: str,
) -> CalendarItem:
    """The room's accepted copy, shaped by its calendar processing (a series cut at `last_day`, the booking
    window's end, when EnforceSchedulingHorizon is $false)."""
    settings = room.calendar_processing
    booking = _copy_for(room.id, item, existing, now)
    if settings.add_organizer_to_subject:
        booking.subject = item.organizer.name  # "The meeting organizer's name replaces any existing Subject"
    elif settings.delete_subject:
        booking.subject = None
    if settings.delete_comments:
        booking.body = None
    if settings.remove_private_property and booking.sensitivity == "Private":
        booking.sensitivity = "Normal"
    booking.my_response = "Accept"
    booking.free_busy = "Busy"
    # The organizer's exceptions get the same treatment: an occurrence's own subject, body, private flag or
    # free/busy would otherwise reach the room's calendar as the organizer wrote them (None: the master's value).
    booking.modified_occurrences = [
        dataclasses.replace(
            exception,
            subject=None
            if settings.add_organizer_to_subject or settings.delete_subject
            else exception.subject,
            body=None if settings.delete_comments else exception.body,
            sensitivity=None
            if settings.remove_private_property and exception.sensitivity == "Private"
            else exception.sensitivity,
            free_busy=None,
        )
        for exception in booking.modified_occurrences
    ]
    # Occurrences the room declined (conflicts within the allowance) are not in its calendar.
    booking.deleted_occurrences = sorted(set(booking.deleted_occurrences) | set(declined))
    # Occurrences the organizer cancelled that the room keeps as cancelled exceptions (RemoveCanceledMeetings
    # $false) stay so when a later update of the series arrives (the organizer's item has them deleted).
    kept = [
        e
        for e in (existing.modified_occurrences if existing is not None else [])
        if e.is_cancelled
        and e.original_start in item.deleted_occurrences
        and e.original_start not in declined
    ]
    if kept:
        keys = {e.original_start for e in kept}
        booking.deleted_occurrences = [d for d in booking.deleted_occurrences if d not in keys]
        others = [e for e in booking.modified_occurrences if e.original_start not in keys]
        booking.modified_occurrences = sorted([*others, *kept], key=lambda e: e.original_start)
    if last_day is not None and booking.recurrence is not None:
        booking.recurrence = dataclasses.replace(
            booking.recurrence, range="EndDateRecurrence", end_date=last_day.isoformat(), number=None
        )
    return booking


# --- the resource booking attendant's rules ------------------------------------------------------------------


def decide(
    state: TenantState, room: Mailbox, item: CalendarItem, now: dt.datetime
) -> tuple[str, str, list[str], dt.date | None]:
    """(Accept or Decline, the reason given to the organizer, original starts of occurrences declined within an
    accepted series, the last day of an accepted series cut at the booking window) by the room's calendar
    processing (Set-CalendarProcessing.md)."""
    settings = room.calendar_processing
    if is_external(state, item.organizer.email) and not settings.process_external_meeting_messages:
        return (
            "Decline",
            "Meeting requests from outside the organization aren't accepted by this resource.",
            [],
            None,
        )
    if item.recurrence is not None and not settings.allow_recurring_meetings:
        return "Decline", "Recurring meetings aren't allowed for this resource.", [], None
    window = settings.booking_window_in_days
    # The window is counted in days of the room's own time zone: "The value 0 means today" (Set-CalendarProcessing,
    # BookingWindowInDays), so a meeting starting any time on the last day is inside it (which zone: unverified).
    room_zone = zone(settings.working_hours_time_zone)
    last = now.astimezone(room_zone).date() + dt.timedelta(days=window + 1)
    horizon = dt.datetime.combine(last, dt.time(), room_zone) - dt.timedelta(microseconds=1)
    limit = horizon.date() + dt.timedelta(days=1)
    occurrences = expand(item, until=limit if item.recurrence is not None else None)
    if not occurrences:
        if item.recurrence is not None and expand(item):
            # Nothing inside the window, yet the series has occurrences: all of them are beyond it.
            return (
                "Decline",
                f"The meeting is outside the resource's booking window of {window} days.",
                [],
                None,
            )
        return "Accept", "", [], None
    longest = max(o.end - o.start for o in occurrences)
    maximum = settings.maximum_duration_in_minutes
    if maximum > 0 and longest > dt.timedelta(minutes=maximum):
        return (
            "Decline",
            f"The meeting is longer than the maximum of {maximum} minutes for this resource.",
            [],
            None,
        )
    if occurrences[0].start > horizon:
        return "Decline", f"The meeting is outside the resource's booking window of {window} days.", [], None
    beyond = item.recurrence is not None and _extends_beyond(item, horizon)
    if beyond and settings.enforce_scheduling_horizon:
        return (
            "Decline",
            f"The recurring meeting extends beyond the resource's booking window of {window} days.",
            [],
            None,
        )
    inside = [o for o in occurrences if o.start <= horizon]
    if settings.schedule_only_during_work_hours and not all(_in_work_hours(room, o) for o in inside):
        return "Decline", "The meeting is outside the resource's working hours.", [], None
    conflicts = [] if room.allow_conflicts else _conflicts(state, room, item, inside)
    declined = [format_utc(o.original_start) for o in conflicts]
    # EnforceSchedulingHorizon $false: "the number of meetings is automatically reduced": the room's copy of the
    # series ends with the last occurrence inside the window (the series' day, in its zone).
    last_day = (
        max(o.original_start for o in inside).astimezone(zone(item.start_time_zone)).date()
        if beyond and inside
        else None
    )
    if not conflicts:
        return "Accept", "", declined, last_day
    if item.recurrence is None:
        return "Decline", "The resource is already booked at this time.", [], None
    percentage = 100 * len(conflicts) / len(inside)
    if (
        len(conflicts) > settings.maximum_conflict_instances
        or percentage > settings.conflict_percentage_allowed
    ):
        return (
            "Decline",
            f"The resource is already booked for {len(conflicts)} of {len(inside)} occurrences of this "
            f"recurring meeting (allowed: {settings.maximum_conflict_instances} occurrences, "
            f"{settings.conflict_percentage_allowed}%).",
            [],
            None,
        )
    return "Accept", f"{len(conflicts)} conflicting occurrence(s) declined.", declined, last_day


def _extends_beyond(item: CalendarItem, horizon: dt.datetime) -> bool:
    """Whether the series has an occurrence after the horizon: its whole range is looked at, not only what was
    expanded up to the horizon (a weekly series whose next occurrence falls after the horizon's day extends too)."""
    rec = item.recurrence
    assert rec is not None
    if rec.range == "NoEndRecurrence":
        return True
    found = expand(item)
    return bool(found) and max(o.start for o in found) > horizon


def _in_work_hours(room: Mailbox, occurrence: Occurrence) -> bool:
    settings = room.calendar_processing
    tz = zone(settings.working_hours_time_zone)
    start, end = occurrence.start.astimezone(tz), occurrence.end.astimezone(tz)
    opens = dt.time.fromisoformat(settings.working_hours_start)
    closes = dt.time.fromisoformat(settings.working_hours_end)
    return (
        DAYS[start.weekday()] in settings.work_days
        and start.date() == end.date()
        and opens <= start.time()
        and end.time() <= closes
    )


def _conflicts(
    state: TenantState, room: Mailbox, item: CalendarItem, occurrences: list[Occurrence]
) -> list[Occurrence]:
    """The occurrences of `item` that overlap a booking of another meeting in the room's calendar."""
    store = store_of(state, room.id)
    first, last = occurrences[0].start, max(o.end for o in occurrences)
    busy = [
        (o.start, o.end)
        for other in store.in_folder(CALENDAR)
        if other.uid != item.uid and blocks(other)
        for o in expand(other, first, last)
        if o.exception is None or not (o.exception.is_cancelled or o.exception.free_busy == "Free")
    ]
    return [o for o in occurrences if any(s < o.end and e > o.start for s, e in busy)]


def cancel(state: TenantState, organizer: Mailbox, item: CalendarItem, now: str) -> None:
    """Send a cancellation of the organizer's meeting to every attendee copy in the tenant."""
    state.pending_answers = [p for p in state.pending_answers if p.uid != item.uid]
    for attendee in item.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is not None and mailbox.id != organizer.id:
            cancel_copy(state, mailbox, item.uid, now)


def cancel_occurrence(
    state: TenantState, organizer: Mailbox, master: CalendarItem, original_start: str, now: str
) -> None:
    """Send the cancellation of one occurrence of the organizer's series (original start, UTC `...Z`): each
    attendee's copy of the series gets it as a deleted occurrence (an exception there is dropped); a room keeps it
    as a cancelled exception ("Canceled: ", free: it no longer blocks the slot) unless RemoveCanceledMeetings is
    $true, which makes it a deleted occurrence too (Set-CalendarProcessing: RemoveCanceledMeetings); a request still
    waiting for a room's attendant no longer holds it (graph/api/event-cancel: "The organizer can also cancel an
    occurrence of a recurring meeting"; how-to-delete-appointments-in-a-recurring-series)."""
    for pending in state.pending_answers:
        if pending.uid == master.uid and pending.request is not None:
            _drop_occurrence(pending.request, original_start)
    for attendee in master.attendees():
        mailbox = state.find_mailbox(attendee.email)
        if mailbox is None or mailbox.id == organizer.id:
            continue
        store = store_of(state, mailbox.id)
        existing = store.by_uid(master.uid)
        if existing is None or existing.recurrence is None or existing.is_cancelled:
            continue
        if original_start in existing.deleted_occurrences:
            continue
        if mailbox.kind == "room" and not mailbox.calendar_processing.remove_canceled_meetings:
            if _cancel_occurrence_of(existing, original_start, now):
                store.touch(existing, now)
            continue
        _drop_occurrence(existing, original_start)
        store.touch(existing, now)


def _cancel_occurrence_of(series: CalendarItem, original_start: str, now: str) -> bool:
    """Keep one occurrence of a room's series as a cancelled exception: IsCancelled, Free, "Canceled: " subject,
    at its times (moved or not). False when the series has no such occurrence (cut at the booking window, say) or it
    is cancelled already."""
    try:
        occurrence = occurrence_from(series, parse_utc(original_start))
    except EwsError:
        return False
    previous = occurrence.exception
    if previous is not None and previous.is_cancelled:
        return False
    subject = (
        previous.subject if previous is not None and previous.subject is not None else series.subject
    ) or ""
    cancelled = ModifiedOccurrence(
        original_start=original_start,
        start=format_utc(occurrence.start),
        end=format_utc(occurrence.end),
        id=occurrence_id(series.id, occurrence.original_start),
        change_key="",
        subject=subject if subject.startswith(CANCELED_PREFIX) else CANCELED_PREFIX + subject,
        location=previous.location if previous is not None else None,
        body=previous.body if previous is not None else None,
        free_busy="Free",
        sensitivity=previous.sensitivity if previous is not None else None,
        modified=now,
        is_cancelled=True,
    )
    others = [e for e in series.modified_occurrences if e.original_start != original_start]
    series.modified_occurrences = sorted([*others, cancelled], key=lambda e: e.original_start)
    return True


def _drop_occurrence(series: CalendarItem, original_start: str) -> None:
    series.modified_occurrences = [
        e for e in series.modified_occurrences if e.original_start != original_start
    ]
    series.deleted_occurrences = sorted({*series.deleted_occurrences, original_start})


def cancel_copy(state: TenantState, mailbox: Mailbox, uid: str, now: str) -> None:
    """A cancellation reaches one attendee: the copy is marked cancelled, or removed by a room whose
    RemoveCanceledMeetings is $true."""
    store = store_of(state, mailbox.id)
    existing = store.by_uid(uid)
    if mailbox.kind == "room" and mailbox.calendar_processing.remove_canceled_meetings and existing:
        store.remove(existing)
        return
    _cancel_copy(store, uid, now)


def _deliver_to(state: TenantState, mailbox: Mailbox, item: CalendarItem, now: str) -> None:
    """The Calendar Attendant puts the meeting into one attendee's calendar (tentative until answered)."""
    if mailbox.automate_processing == "None":
        return
    store = store_of(state, mailbox.id)
    existing = store.by_uid(item.uid)
    if item.is_cancelled:
        # An update of a cancelled meeting reaches attendees as what the meeting is: cancelled. A copy follows the
        # organizer's item (cancelled, free; removed by a room with RemoveCanceledMeetings); a mailbox without a
        # copy gets none (a cancellation of a meeting it does not hold changes nothing).
        if existing is None:
            return
        if mailbox.kind == "room" and mailbox.calendar_processing.remove_canceled_meetings:
            store.remove(existing)
            return
        _save_copy(store, _copy_for(store.mailbox_id, item, existing, now), existing, now)
        return
    retimed = existing is not None and (existing.start, existing.end) != (item.start, item.end)
    attendee_copy = _copy_for(store.mailbox_id, item, existing, now)
    if existing is None or retimed or existing.is_cancelled:
        # A new or moved meeting waits for the person's answer again (tentative in the calendar).
        attendee_copy.my_response = "NoResponseReceived"
        attendee_copy.free_busy = "Tentative"
    _save_copy(store, attendee_copy, existing, now)


def blocks(item: CalendarItem) -> bool:
    """Whether an item makes its owner busy (a room's booking, an appointment): cancelled or free ones do not."""
    return not item.is_cancelled and item.free_busy != "Free" and item.my_response != "Decline"


def _copy_for(mailbox_id: str, item: CalendarItem, existing: CalendarItem | None, now: str) -> CalendarItem:
    """The attendee's version of the organizer's item (keeping the copy's identity and its own answer; cancelled
    when the organizer's item is)."""
    attendee_copy = copy.deepcopy(item)
    attendee_copy.delivered_to = []
    attendee_copy.folder = CALENDAR
    attendee_copy.is_meeting = True
    attendee_copy.meeting_request_was_sent = False
    # Graph's transactionId belongs to the organizer's POST: an attendee's copy has none (else the attendee's own
    # POST with the same transactionId would answer the organizer's meeting).
    attendee_copy.transaction_id = None
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
    if item.is_cancelled:
        # The copy follows the organizer's item: a cancelled meeting's copy is cancelled and free, with the
        # "Canceled: " subject a cancellation gives it (_cancel_copy), never a live meeting.
        attendee_copy.is_cancelled = True
        attendee_copy.free_busy = "Free"
        subject = attendee_copy.subject or ""
        if not subject.startswith(CANCELED_PREFIX):
            attendee_copy.subject = CANCELED_PREFIX + subject
    return attendee_copy


def _save_copy(
    store: MailboxStore, attendee_copy: CalendarItem, existing: CalendarItem | None, now: str
) -> None:
    if existing is not None:
        attendee_copy.entry_key = existing.entry_key
        store.items[store.items.index(existing)] = attendee_copy
    else:
        # Another item than any copy the mailbox had (one the attendee deleted stays another item).
        attendee_copy.entry_key = secrets.token_hex(8)
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
        mailbox = next((m for m in state.mailboxes if m.id == mailbox_id), None)
        if mailbox is not None and mailbox_id != organizer.id and mailbox_id not in invited:
            state.pending_answers = [
                p for p in state.pending_answers if not (p.room_id == mailbox_id and p.uid == item.uid)
            ]
            cancel_copy(state, mailbox, item.uid, now)
    item.delivered_to = sorted(set(reached) | invited)

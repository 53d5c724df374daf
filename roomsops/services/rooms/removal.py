"""`persons remove` and `rooms remove`: a record goes only with nothing left that needs it.

Active bookings still to come refuse the removal (exit 2) unless --cancel-bookings (those that are over do not:
they go with the record, their meetings left as they took place); cancelled ones whose meeting the sync
still has to settle in Exchange keep the record until a sync pass settled them (said, with what to run): a meeting
to cancel (also one whose create was never answered: no item known, it may exist), or a room still holding the
slot of a meeting deleted in Outlook without a cancellation (the link is the watch that removes the room's copy);
then the record goes with its past and cancelled bookings. When the sync cannot settle them (its last pass
failed in the organizer's mailbox: the person left, their mailbox is gone or out of the app's reach), that is
said instead of "run the sync", and --leave-meetings removes the record leaving those meetings in Exchange."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from roomsops.adapters import store as db
from roomsops.adapters.store import Booking, BookingQuery, Store
from roomsops.adapters.store.schema import NOT_SYNCED_NOTE, PENDING_STATES
from roomsops.core.calendar import MeetingFields
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import BLOCKING_STATUSES
from roomsops.services.rooms.common import check_email

if TYPE_CHECKING:
    from sqlalchemy import Connection

Kind = Literal["person", "room"]
Confirm = Callable[[str], None]


@dataclass(frozen=True)
class RecordRemoval(Result):
    kind: str  # person | room
    email: str
    action: str  # removed | waiting_for_sync
    cancelled: tuple[int, ...] = ()  # bookings cancelled by this command
    deleted_bookings: int = 0  # cancelled or finished bookings deleted with the record
    waiting: tuple[int, ...] = ()  # cancelled bookings whose meetings the next sync cancels in Exchange
    #: Of `waiting`: the bookings whose meeting was deleted in Outlook without a cancellation while their room
    #: still holds the slot (or may, answering late): every pass looks for the room's copy and removes it.
    rooms_holding: tuple[int, ...] = ()
    #: A person whose sync mode the sync does not handle: the sync will not cancel the meetings, a purge does.
    not_synced: bool = False
    #: Mailbox → the error of the sync's last pass there, for the mailboxes holding waiting meetings whose last
    #: pass failed: the sync cannot settle them as things are (running it again fails the same way).
    sync_errors: dict[str, str] = field(default_factory=dict)
    #: --leave-meetings: the cancelled bookings whose meetings were left in Exchange when the record went.
    left_in_exchange: tuple[int, ...] = ()
    #: --leave-meetings: where each meeting left in Exchange is (its organizer's mailbox, title, room, start and
    #: end in UTC, as Exchange holds it: the sync's snapshot; `room_copy`: only the room's copy is left, its
    #: meeting deleted in Outlook without a cancellation), read before its booking was deleted: the booking ids are
    #: gone once the record went.
    meetings_left: tuple[dict[str, str | bool], ...] = ()

    @property
    def ok(self) -> bool:
        return self.action == "removed"

    def lines(self) -> list[str]:
        out = [f"cancelled booking(s) {', '.join(map(str, self.cancelled))}"] if self.cancelled else []
        if self.action == "removed":
            extra = (
                f" with {self.deleted_bookings} cancelled or past booking(s)" if self.deleted_bookings else ""
            )
            out.append(f"{self.kind} {self.email} removed{extra}")
            if self.left_in_exchange:
                out.append(
                    f"left in Exchange (--leave-meetings): {len(self.left_in_exchange)} meeting(s); cancel each "
                    "one in its organizer's calendar (Outlook, or with the organizer's consent Outlook on the web) "
                    "if it still exists — only these, not the organizer's other meetings:"
                )
                out += [
                    f"  {m['room']}: the room's copy of {m['organizer']}'s meeting \"{m['title']}\", {m['start']} – "
                    f"{m['end']} UTC (deleted in Outlook without a cancellation): remove it in the room's calendar"
                    if m.get("room_copy")
                    else f'  {m["organizer"]}: "{m["title"]}" in {m["room"]}, {m["start"]} – {m["end"]} UTC'
                    for m in self.meetings_left
                ]
            return out
        if self.sync_errors:
            failed = "; ".join(
                error if mailbox.casefold() in error.casefold() else f"{mailbox}: {error}"
                for mailbox, error in sorted(self.sync_errors.items())
            )
            return [
                *out,
                f"{self.kind} {self.email} NOT removed yet: the meetings of booking(s) "
                f"{', '.join(map(str, self.waiting))} are still in Exchange, and the last sync could not cancel "
                f"them: {failed}",
                f"if that mailbox is gone or stays out of the sync app's reach: 'roomsops {self.kind}s remove "
                f"{shellword(self.email)} --leave-meetings --yes' (the meetings stay in Exchange: cancel them there); if the "
                "sync app should reach it, settle what the error says, let a sync pass cancel them, then remove again",
            ]
        settle = (
            "run 'roomsops sync' (it cancels them, although the person's sync mode is not synced by roomsops: a "
            "cancellation still reaches the meetings roomsops made)"
            if self.not_synced
            else "run 'roomsops sync' (it cancels them)"
        )
        meetings = [i for i in self.waiting if i not in self.rooms_holding]
        why = []
        if meetings:
            why.append(
                f"the meetings of booking(s) {', '.join(map(str, meetings))} are still in Exchange — {settle}"
            )
        if self.rooms_holding:
            why.append(
                f"the rooms of booking(s) {', '.join(map(str, self.rooms_holding))} still hold the slot (or may "
                "hold it again, answering late) of a meeting deleted in Outlook without a cancellation — every "
                "'roomsops sync' pass removes the room's copy once the sync app can open the room's mailbox, until "
                f"the slot is over (--leave-meetings removes the {self.kind} now, leaving the room's copy)"
            )
        return [
            *out,
            f"{self.kind} {self.email} NOT removed yet: {'; '.join(why)}, "
            f"then 'roomsops {self.kind}s remove {shellword(self.email)}' again",
        ]


def _ahead(conn: Connection, booking: Booking, now: datetime) -> bool:
    """An active booking still to come (or under way), in ROOMS or in Exchange: it refuses the removal, or
    --cancel-bookings cancels it. A booking over in ROOMS whose meeting Exchange holds later (moved into the past
    with --allow-past: no pass sends that) is still ahead, and so is one whose meeting's times are not known."""
    if booking.status not in BLOCKING_STATUSES:
        return False
    if booking.end > now:
        return True
    link = db.get_booking_sync(conn, booking.id)
    if link is None or (link.item_id is None and link.state not in PENDING_STATES):
        return False  # never reached Exchange
    held = None
    if link.item_id is not None and link.snapshot:
        with contextlib.suppress(KeyError, TypeError, ValueError):  # a snapshot that cannot be read
            held = MeetingFields.from_json(link.snapshot)
    return held is None or held.end > now


def _over(conn: Connection, booking: Booking, now: datetime) -> bool:
    """An active booking that is over, in ROOMS and in Exchange: history. It neither refuses the removal nor is
    cancelled (no cancellation for a meeting that took place); it goes with the record, its meeting (if any) stays
    in Exchange as it took place."""
    return booking.status in BLOCKING_STATUSES and not _ahead(conn, booking, now)


def _read(conn: Connection, kind: Kind, address: str) -> tuple[int, str, list[Booking]]:
    record = db.get_person(conn, address) if kind == "person" else db.get_room(conn, address)
    if record is None:
        raise InputError(f"{address} is not a known {kind}", f"see 'roomsops {kind}s list'")
    where = BookingQuery(organizer_id=record.id) if kind == "person" else BookingQuery(room_id=record.id)
    return record.id, record.email, db.list_bookings(conn, where)


def remove_record(
    store: Store,
    audit: AuditLog,
    kind: Kind,
    email: str,
    cancel_bookings: bool,
    confirm: Confirm,
    leave_meetings: bool = False,
) -> RecordRemoval:
    address = check_email(email)
    with store.read() as conn:
        _, shown, found = _read(conn, kind, address)
        active = [b.id for b in found if _ahead(conn, b, db.now_utc())]
    if active and not cancel_bookings:
        raise InputError(
            f"the {kind} {shown} has {len(active)} active booking(s) ({', '.join(map(str, active[:10]))}); "
            "nothing was changed",
            "cancel them ('roomsops bookings cancel ID'), or add --cancel-bookings to cancel them with it",
            code="active_bookings",
        )
    question = f"Remove the {kind} {shown}"
    if active:
        question += f" and cancel its {len(active)} active booking(s)"
    if leave_meetings:
        question += " (meetings the sync has not cancelled yet stay in Exchange)"
    confirm(question + "?")
    with store.write() as conn:  # read again: a booking may have been made meanwhile
        record_id, shown, found = _read(conn, kind, address)
        person = db.get_person(conn, address) if kind == "person" else None
        person_synced = person is None or person.handled_by_sync
        now = db.now_utc()
        cancelled = []
        for booking in found:
            if _ahead(conn, booking, now):
                if not cancel_bookings:
                    raise InputError(
                        f"booking {booking.id} of {shown} was made meanwhile; nothing was changed",
                        "run the command again",
                    )
                db.update_booking(conn, booking.id, {"status": "cancelled"}, now)
                cancelled.append(booking.id)
        # A booking that is over stays as it is in Exchange (its meeting took place): nothing for the sync to do.
        over = {b.id for b in found if _over(conn, b, now)}
        waiting = db.unsettled_links(conn, [b.id for b in found if b.id not in over], now)
        holding = db.rooms_still_held(conn, waiting, now)
        left: list[int] = []
        if waiting and leave_meetings:
            left, waiting = waiting, []
        meetings_left = [
            _where(conn, booking, booking.id in holding) for booking in found if booking.id in left
        ]
        errors = _sync_errors(conn, waiting)
        # The organizers of a room's past meetings are still synced: a full pass finds those meetings' tags.
        past_meetings = [
            b.id
            for b in found
            if kind == "room" and b.id in over and (link := db.get_booking_sync(conn, b.id)) and link.item_id
        ]
        if not waiting:
            db.delete_bookings(conn, [b.id for b in found])
            if kind == "person":
                db.delete_person(conn, record_id, shown)
            else:
                db.delete_room(conn, record_id)
    for booking_id in cancelled:
        audit.record(
            "bookings.cancel", f"booking {booking_id}", params={"by": f"{kind}s remove"}, result="cancelled"
        )
    action = "waiting_for_sync" if waiting else "removed"
    if not waiting:
        params: dict[str, object] = {"bookings_deleted": len(found)}
        if left:
            params["meetings_left_in_exchange"] = left
        audit.record(f"{kind}s.remove", shown, params=params, result="removed")
    return RecordRemoval(
        kind=kind,
        email=shown,
        action=action,
        cancelled=tuple(cancelled),
        deleted_bookings=0 if waiting else len(found),
        waiting=tuple(waiting),
        rooms_holding=tuple(i for i in holding if i in waiting),
        not_synced=bool(waiting) and kind == "person" and not person_synced,
        sync_errors=errors,
        left_in_exchange=tuple(left),
        meetings_left=tuple(meetings_left),
        notes=(
            (
                f"The meetings of {len(past_meetings)} booking(s) that are over stay in their organizers' calendars "
                "as they took place; a full sync pass lists them as meetings tagged by this installation without a "
                "booking (reported, never changed).",
            )
            if past_meetings and not waiting
            else ()
        ),
    )


def _where(conn: Connection, booking: Booking, room_copy: bool) -> dict[str, str | bool]:
    """Where a booking's meeting is in Exchange and how it looks there: the mailbox the sync made it in (else the
    organizer's), and the title, room and times of the link's snapshot (what the sync last wrote or read of the
    meeting), not the booking's: a change made in ROOMS that no pass carried to Exchange is in no meeting. A link
    without a readable snapshot (a create whose answer was lost) gives the booking's values, as it was sent. With
    `room_copy` (deleted in Outlook without a cancellation): the room's copy holding the slot the meeting held."""
    link = db.get_booking_sync(conn, booking.id)
    held = None
    if link is not None and link.snapshot:
        with contextlib.suppress(KeyError, TypeError, ValueError):  # a snapshot that cannot be read
            held = MeetingFields.from_json(link.snapshot)
    title, room, start, end = (
        (held.subject, held.room or booking.room, held.start, held.end)
        if held is not None
        else (booking.title, booking.room, booking.start, booking.end)
    )
    return {
        "organizer": link.mailbox if link is not None and link.mailbox else booking.organizer,
        "title": title,
        "room": room,
        "start": start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        "end": end.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        "room_copy": room_copy,
    }


def _sync_errors(conn: Connection, waiting: list[int]) -> dict[str, str]:
    """The mailboxes holding these bookings' meetings whose last sync pass failed, with its error."""
    out: dict[str, str] = {}
    for booking_id in waiting:
        link = db.get_booking_sync(conn, booking_id)
        state = db.get_mailbox_sync(conn, link.mailbox) if link is not None else None
        # "not synced: purged" marks a person held back by `sync purge` (the passes still cancel), no failure.
        if state is not None and state.last_error and not state.last_error.startswith(NOT_SYNCED_NOTE):
            out[state.mailbox] = state.last_error
    return out

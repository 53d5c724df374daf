"""The rooms (resource mailboxes) bookings are made for: add, change and list (removal: removal.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from roomsops.adapters import store as db
from roomsops.adapters.store import Room, Store
from roomsops.adapters.store import queries as q
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.services.rooms.common import MAX_NAME, check_email, check_text, columns, read_existing


@dataclass(frozen=True)
class RoomChange(Result):
    action: str  # added | updated | unchanged
    room: Room

    def lines(self) -> list[str]:
        r = self.room
        return [
            f"room {r.email} {self.action}",
            f"  name         {r.name}",
            f"  sync master  {'yes' if r.sync_master else 'no'}",
        ]


@dataclass(frozen=True)
class RoomList(Result):
    rooms: tuple[Room, ...]

    def lines(self) -> list[str]:
        if not self.rooms:
            return ["no rooms"]
        rows = [(r.email, r.name, "yes" if r.sync_master else "no") for r in self.rooms]
        return columns(("email", "name", "sync master"), rows)


def _refuse_recorded(conn: Connection, address: str) -> None:
    """`rooms add` of an address the database already has, as a room or as a person: exit 2."""
    existing = db.get_room(conn, address)
    if existing is not None:
        raise InputError(f"{existing.email} is already a room", "see 'roomsops rooms list'")
    if db.get_person(conn, address) is not None:
        raise InputError(f"{address} is a person, not a room", "give the room's resource mailbox address")


def _refuse_same_mailbox(conn: Connection, address: str, mailbox_addresses: frozenset[str]) -> None:
    """Exit 2 when a ROOMS room has the mailbox of `address` under another of its addresses (an alias, recorded
    offline or by an older roomsops)."""
    other = next(
        (r for a in sorted(mailbox_addresses) if a != address.casefold() and (r := db.get_room(conn, a))),
        None,
    )
    if other is None:
        return
    raise InputError(
        f"Exchange Online says {address} is the mailbox of the ROOMS room {other.email} (another of its "
        "addresses): the room would be recorded twice and booked twice at once; nothing was recorded",
        f"keep the one room, {other.email} (see 'roomsops rooms list')",
        code="recorded_twice",
    )


def refuse_recorded(settings: Settings, email: str) -> None:
    """What `add_room` would refuse because of what the database holds, asked before Exchange is: its answer for
    a person's mailbox ("convert it to a room") must never reach a person ROOMS syncs."""
    address = check_email(email)
    with read_existing(settings) as conn:
        if conn is not None:
            _refuse_recorded(conn, address)


def add_room(
    store: Store,
    audit: AuditLog,
    email: str,
    name: str,
    sync_master: bool = False,
    mailbox_addresses: frozenset[str] | None = None,
) -> RoomChange:
    """Add a room. `mailbox_addresses` (every SMTP address of its mailbox, case-folded, when Exchange was asked):
    a mailbox ROOMS already has as a room under another of its addresses is refused, as `persons add` refuses a
    person's: two rooms for one mailbox would let ROOMS book it twice at once.

    Outlook meetings may hold the room already (its mailbox existed before ROOMS managed it): every mailbox's sync
    position is forgotten in the same transaction, so the next pass of each reads its calendar afresh and books a
    meeting the room accepted, as the first pass of a person added does (fix24i), before ROOMS gives the slot to
    someone else (review20p). A pass running meanwhile does not store a position over it (the sync engine's
    `_finish`)."""
    address = check_email(email)
    room_name = check_text(name, "room name", MAX_NAME, required=True)
    with store.write() as conn:
        _refuse_recorded(conn, address)
        if mailbox_addresses is not None:
            _refuse_same_mailbox(conn, address, mailbox_addresses)
        now = db.now_utc()
        # By any of the mailbox's addresses: a booking may invite the room by an alias (review21y).
        _refuse_invited(conn, address, (address, *(mailbox_addresses or ())), now)
        room = db.insert_room(conn, address, room_name, sync_master, now)
        q.forget_positions(conn, now)
    audit.record(
        "rooms.add", room.email, params={"name": room.name, "sync_master": sync_master}, result="added"
    )
    return RoomChange("added", room)


def _refuse_invited(conn: Connection, address: str, addresses: Iterable[str], now: datetime) -> None:
    """A room invited as an attendee by an active booking would be a second ROOMS room in that meeting (ROOMS
    books one room per meeting; `bookings add|update --attendee` refuses a ROOMS room): refused, naming them."""
    invited = q.bookings_inviting(conn, addresses, now)
    if invited:
        first = invited[0]
        raise InputError(
            f"{address} is an attendee of active booking(s) {', '.join(map(str, invited))}: as a ROOMS room it "
            "would be a second room in those meetings (ROOMS books one room per meeting); nothing was changed",
            f"take it out of each booking's attendees first ('roomsops bookings update {first} --attendee ...' "
            "with the other attendees, or --no-attendees; see 'roomsops bookings list'), then add the room again",
        )


def set_room(
    store: Store, audit: AuditLog, email: str, name: str | None, sync_master: bool | None
) -> RoomChange:
    """Change a room's name or sync master flag."""
    if name is None and sync_master is None:
        raise InputError("nothing to change", "pass --name or --sync-master/--no-sync-master")
    address = check_email(email)
    new_name = check_text(name, "room name", MAX_NAME, required=True) if name is not None else None
    with store.write() as conn:
        current = db.get_room(conn, address)
        if current is None:
            raise InputError(f"{address} is not a known room", "see 'roomsops rooms list'")
        wanted_name = current.name if new_name is None else new_name
        wanted_master = current.sync_master if sync_master is None else sync_master
        if (wanted_name, wanted_master) == (current.name, current.sync_master):
            return RoomChange("unchanged", current)
        room = db.update_room(conn, current, wanted_name, wanted_master, db.now_utc())
    audit.record("rooms.set", room.email, params={"name": name, "sync_master": sync_master}, result="updated")
    return RoomChange("updated", room)


def list_rooms(store: Store) -> RoomList:
    with store.read() as conn:
        return RoomList(tuple(db.list_rooms(conn)))

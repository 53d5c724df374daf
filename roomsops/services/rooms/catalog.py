"""The ROOMS side: persons (with their sync settings), rooms and bookings, kept in the roomsops database.

Each command-level function validates its input, runs one transaction on the `Store` and returns
a result object; every change is written to the audit log after it is committed. `create_booking`
is the one place where the no-double-booking rule lives (the sync uses it too).
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.engine import URL

from roomsops.adapters import store as db
from roomsops.adapters.store import (
    CONFLICT_BEHAVIOURS,
    EWS_SYNC_MODES,
    FREE_BUSY,
    ON_PREMISES_MODES,
    STATUSES,
    SYNC_MODES,
    Booking,
    NewBooking,
    Person,
    PersonFields,
    Room,
    Store,
)
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.settings import Settings

#: A person added without --sync-mode (or an empty CSV cell) is synced by roomsops: that is what it is for.
DEFAULT_SYNC_MODE = "O365"
DEFAULT_CONFLICT_BEHAVIOUR = "Rollback"
DEFAULT_FREE_BUSY = "Busy"
CSV_HEADER = ("email", "name", "sync_mode", "sync_url", "conflict_behaviour")
NOT_HANDLED = "not handled by roomsops sync"
EXAMPLE_EWS_URL = "https://mail.contoso.com/EWS/Exchange.asmx"
MAX_NAME = 256
MAX_TITLE = 255  # Exchange's limit for a subject

Confirm = Callable[[str], None]
_INTERNAL: dict[str, Any] = {"json": False}

# Local part: no spaces and none of the characters that need quoting; domain: letters, digits and
# hyphens in dot-separated labels, ending in a top-level domain of letters.
_EMAIL = re.compile(r"^[^@\s\"(),:;<>\[\]\\]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$")


# ---------------------------------------------------------------- opening the database


def database_url(settings: Settings) -> URL:
    """`rooms.database`, with a relative SQLite path resolved against roomsops.toml's folder (without
    one: the working folder)."""
    url = db.parse_url(settings.rooms.database)
    path = url.database
    if url.get_backend_name() == "sqlite" and path and path != ":memory:" and not path.startswith("file:"):
        url = url.set(database=str(settings.resolve_path(path).absolute()))  # messages name it fully
    return url


@contextmanager
def open_database(settings: Settings) -> Iterator[Store]:
    """The roomsops database of these settings (created, or upgraded, on first use)."""
    store = db.open_store(database_url(settings))
    try:
        yield store
    finally:
        store.close()


# ---------------------------------------------------------------- validation


def check_email(value: str, what: str = "") -> str:
    """A plausible SMTP address, stripped; the case is kept (matching ignores it)."""
    email = value.strip()
    label = f"{what} " if what else ""
    if not email:
        raise InputError(
            f"the {what or 'e-mail'} address is empty", "give an address such as diego@contoso.com"
        )
    if len(email) > 320 or not _EMAIL.match(email):
        raise InputError(
            f"{label}{email!r} is not an e-mail address", "write it as name@domain, e.g. diego@contoso.com"
        )
    return email


def check_text(value: str, what: str, limit: int, required: bool) -> str:
    """Free text (names, titles): stored literally, but one line and not too long."""
    text = value.strip()
    if required and not text:
        raise InputError(f"the {what} is empty", f"give a {what}")
    for char in text:
        if unicodedata.category(char) == "Cc":
            raise InputError(
                f"the {what} contains a control character (U+{ord(char):04X})",
                "remove line breaks and tabs from it",
            )
    if len(text) > limit:
        raise InputError(f"the {what} is {len(text)} characters long", f"shorten it to at most {limit}")
    return text


def canonical(value: str, allowed: Sequence[str], what: str, remedy: str) -> str:
    """`value` spelled as in `allowed` (matched case-insensitively)."""
    wanted = value.strip()
    for choice in allowed:
        if choice.lower() == wanted.lower():
            return choice
    raise InputError(f"{what} {value!r} is not one of {', '.join(allowed)}", remedy)


def _url_kind(mode: str) -> str:
    """Which kind of sync URL a mode has: the cloud's EWS, an on-premises server's EWS, or none."""
    if mode in EWS_SYNC_MODES:
        return "cloud"
    return "on-premises" if mode in ON_PREMISES_MODES else "none"


def check_sync_url(mode: str, url: str | None, ews_url: str) -> str | None:
    """The sync URL for `mode`: the cloud's EWS URL by default for O365/O365Pull, an https .asmx URL
    required for EWS1/EWS2, none for Microsoft365 and None."""
    url = (url or "").strip() or None
    kind = _url_kind(mode)
    if kind == "none":
        if url is not None:
            raise InputError(
                f"sync mode {mode} takes no sync URL, got {url!r}", "leave the sync URL empty for this mode"
            )
        return None
    if url is None:
        if kind == "cloud":
            return ews_url
        raise InputError(
            f"sync mode {mode} needs a sync URL (the on-premises EWS endpoint)",
            f"give the server's EWS URL, e.g. {EXAMPLE_EWS_URL}",
        )
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise InputError(
            f"sync URL {url!r} is not an https:// URL", f"EWS is reached over TLS, e.g. {EXAMPLE_EWS_URL}"
        )
    if not parts.path.lower().endswith(".asmx"):
        raise InputError(
            f"sync URL {url!r} is not an EWS endpoint (.asmx)", f"give the EWS URL, e.g. {EXAMPLE_EWS_URL}"
        )
    return url


_MODE_REMEDY = "use one of ROOMS' sync modes"
_CONFLICT_REMEDY = "use Rollback (reset the meeting) or Cancel (cancel the booking)"


def person_fields(
    email: str, name: str, sync_mode: str, sync_url: str, conflict_behaviour: str, ews_url: str
) -> PersonFields:
    """A person's columns from text as typed or read from CSV; empty optional values take defaults."""
    mode = canonical(sync_mode or DEFAULT_SYNC_MODE, SYNC_MODES, "sync mode", _MODE_REMEDY)
    return PersonFields(
        email=check_email(email),
        name=check_text(name, "name", MAX_NAME, required=False),
        sync_mode=mode,
        sync_url=check_sync_url(mode, sync_url, ews_url),
        conflict_behaviour=canonical(
            conflict_behaviour or DEFAULT_CONFLICT_BEHAVIOUR,
            CONFLICT_BEHAVIOURS,
            "conflict behaviour",
            _CONFLICT_REMEDY,
        ),
    )


# ---------------------------------------------------------------- time rendering


def local_time(value: datetime, tz: ZoneInfo) -> str:
    """`YYYY-MM-DD HH:MM` in `tz`; with the UTC offset where the wall time alone would be ambiguous."""
    moment = value.astimezone(tz)
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.replace(fold=1 - moment.fold).utcoffset() != moment.utcoffset():
        text += moment.strftime(" %z")[:-2] + ":" + moment.strftime("%z")[-2:]
    return text


def local_span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """`2031-03-31 09:00–10:00`, or both dates when the span crosses midnight."""
    first, last = local_time(start, tz), local_time(end, tz)
    if first[:10] == last[:10]:
        return f"{first}–{last[11:]}"
    return f"{first} – {last}"


def _columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned plain-text columns (never re-wrapped, so grep and copy work)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    out = []
    for cells in [headers, *rows]:
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        out.append(line.rstrip())
    return out


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class PersonChange(Result):
    action: str  # added | updated | unchanged
    person: Person
    changed: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        p = self.person
        if self.action == "unchanged":
            return [f"person {p.email} unchanged"]
        head = f"person {p.email} {self.action}"
        if self.action == "updated":
            head += f": {', '.join(self.changed)}"
        return [head, *_person_detail(p)]


def _person_detail(p: Person) -> list[str]:
    return [
        f"  name                {p.name or '-'}",
        f"  sync mode           {p.sync_mode}" + ("" if p.handled_by_sync else f" ({NOT_HANDLED})"),
        f"  sync URL            {p.sync_url or '-'}",
        f"  conflict behaviour  {p.conflict_behaviour}",
    ]


@dataclass(frozen=True)
class PersonList(Result):
    persons: tuple[Person, ...]

    def lines(self) -> list[str]:
        if not self.persons:
            return ["no persons"]
        rows = [
            (
                p.email,
                p.name or "-",
                p.sync_mode,
                p.sync_url or "-",
                p.conflict_behaviour,
                "" if p.handled_by_sync else NOT_HANDLED,
            )
            for p in self.persons
        ]
        return _columns(("email", "name", "sync mode", "sync URL", "conflicts", "note"), rows)


@dataclass(frozen=True)
class PersonImport(Result):
    file: str
    rows: int
    added: int
    updated: int
    unchanged: int
    not_handled: int

    def lines(self) -> list[str]:
        out = [
            f"{self.file}: {self.rows} rows: {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        ]
        if self.not_handled:
            out.append(
                f"{self.not_handled} of them have a sync mode other than {' or '.join(EWS_SYNC_MODES)}: "
                f"{NOT_HANDLED}"
            )
        return out


@dataclass(frozen=True)
class RoomChange(Result):
    action: str  # added
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
        return _columns(("email", "name", "sync master"), rows)


@dataclass(frozen=True)
class BookingChange(Result):
    action: str  # added | updated | unchanged | cancelled | already_cancelled
    booking: Booking
    changed: tuple[str, ...] = ()
    time_zone: str = field(default="UTC", metadata=_INTERNAL)

    def lines(self) -> list[str]:
        b = self.booking
        tz = ZoneInfo(self.time_zone)
        head = {
            "added": f"booking {b.id} added",
            "updated": f"booking {b.id} updated: {', '.join(self.changed)}",
            "unchanged": f"booking {b.id} unchanged",
            "cancelled": f"booking {b.id} cancelled",
            "already_cancelled": f"booking {b.id} was already cancelled",
        }[self.action]
        reminder = "-" if b.reminder_minutes is None else f"{b.reminder_minutes} minutes"
        return [
            head,
            f"  title      {b.title}",
            f"  room       {b.room_name} ({b.room})",
            f"  when       {local_span(b.start, b.end, tz)} ({self.time_zone})",
            f"  organizer  {b.organizer}",
            f"  attendees  {', '.join(b.attendees) or '-'}",
            f"  private    {'yes' if b.private else 'no'}",
            f"  reminder   {reminder}",
            f"  free/busy  {b.free_busy}",
            f"  status     {b.status}",
        ]


@dataclass(frozen=True)
class BookingList(Result):
    bookings: tuple[Booking, ...]
    time_zone: str = field(default="UTC", metadata=_INTERNAL)

    def lines(self) -> list[str]:
        if not self.bookings:
            return ["no bookings"]
        tz = ZoneInfo(self.time_zone)
        rows = [
            (
                str(b.id),
                local_time(b.start, tz),
                local_time(b.end, tz),
                b.room_name,
                b.organizer,
                b.status,
                b.title,
            )
            for b in self.bookings
        ]
        return [
            f"times in {self.time_zone}",
            *_columns(("id", "start", "end", "room", "organizer", "status", "title"), rows),
        ]


# ---------------------------------------------------------------- persons


def _not_handled_note(person: Person) -> tuple[str, ...]:
    if person.handled_by_sync:
        return ()
    return (f"{person.email} has sync mode {person.sync_mode}: {NOT_HANDLED}",)


def _refuse_room_address(conn: Connection, email: str) -> None:
    if db.get_room(conn, email) is not None:
        raise InputError(f"{email} is a room, not a person", "give the person's own mailbox address")


def add_person(
    store: Store,
    audit: AuditLog,
    ews_url: str,
    email: str,
    name: str = "",
    sync_mode: str = "",
    sync_url: str = "",
    conflict_behaviour: str = "",
) -> PersonChange:
    fields = person_fields(email, name, sync_mode, sync_url, conflict_behaviour, ews_url)
    with store.write() as conn:
        existing = db.get_person(conn, fields.email)
        if existing is not None:
            raise InputError(
                f"{existing.email} is already a person",
                f"change it with 'roomsops persons set {existing.email}'",
            )
        _refuse_room_address(conn, fields.email)
        person = db.insert_person(conn, fields, db.now_utc())
    audit.record("persons.add", person.email, params=vars(fields), result="added")
    return PersonChange("added", person, notes=_not_handled_note(person))


def set_person(
    store: Store,
    audit: AuditLog,
    ews_url: str,
    email: str,
    name: str | None = None,
    sync_mode: str | None = None,
    sync_url: str | None = None,
    conflict_behaviour: str | None = None,
) -> PersonChange:
    """Change the given fields. Changing the mode keeps the sync URL when it suits the new mode
    (cloud ↔ cloud, on-premises ↔ on-premises); otherwise the new mode's default applies."""
    given = {
        "name": name,
        "sync_mode": sync_mode,
        "sync_url": sync_url,
        "conflict_behaviour": conflict_behaviour,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise InputError(
            "nothing to change", "pass at least one of --name, --sync-mode, --sync-url, --conflict-behaviour"
        )
    address = check_email(email)
    with store.write() as conn:
        current = db.get_person(conn, address)
        if current is None:
            raise InputError(
                f"{address} is not a known person", f"add it with 'roomsops persons add {address}'"
            )
        mode = current.sync_mode
        if sync_mode is not None:
            mode = canonical(sync_mode, db.SYNC_MODES, "sync mode", _MODE_REMEDY)
        if sync_url is not None:
            url = sync_url
        elif _url_kind(mode) == _url_kind(current.sync_mode):
            url = current.sync_url or ""
        else:
            url = ""
        fields = person_fields(
            current.email,
            current.name if name is None else name,
            mode,
            url,
            current.conflict_behaviour if conflict_behaviour is None else conflict_behaviour,
            ews_url,
        )
        changed = tuple(
            k
            for k in ("name", "sync_mode", "sync_url", "conflict_behaviour")
            if getattr(fields, k) != getattr(current, k)
        )
        if not changed:
            return PersonChange("unchanged", current, notes=_not_handled_note(current))
        person = db.update_person(conn, current.id, fields, db.now_utc())
    audit.record("persons.set", person.email, params=given, result={"changed": list(changed)})
    return PersonChange("updated", person, changed, notes=_not_handled_note(person))


def list_persons(store: Store, sync_modes: Sequence[str] = ()) -> PersonList:
    modes = [canonical(m, SYNC_MODES, "sync mode", _MODE_REMEDY) for m in sync_modes] or None
    with store.read() as conn:
        return PersonList(tuple(db.list_persons(conn, modes)))


def _decode_csv(data: bytes, label: str) -> str:
    """UTF-8 text, with or without a byte-order mark; anything else is refused with how to fix it."""
    save_as = "save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and import it again"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise InputError(f"{label} is UTF-16 text, not UTF-8", f"{save_as}; nothing was imported")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{label} is not UTF-8 text: byte 0x{data[exc.start]:02X} on line {line} "
            "(Latin-1 or Windows-1252?)",
            f"{save_as}; nothing was imported",
        ) from None


def _csv_records(text: str, label: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells); blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                yield line, record
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(
            f"{label}, line {line}: {exc}",
            "quote cells that contain commas or quotes with double quotes; nothing was imported",
        ) from None


def read_persons_csv(data: bytes, label: str, ews_url: str) -> list[tuple[int, PersonFields]]:
    """Every row of a persons CSV, validated; the first bad row refuses the whole file."""
    records = _csv_records(_decode_csv(data, label), label)
    expected = ",".join(CSV_HEADER)
    first = next(records, None)
    if first is None:
        raise InputError(f"{label} is empty", f"its first line must be the header {expected}")
    line, header = first
    if line != 1 or header != list(CSV_HEADER):
        found = ",".join(header)
        raise InputError(
            f"{label}, line {line}: the header is {found!r}, not {expected}",
            f"make the first line exactly {expected} (comma-separated); nothing was imported",
        )
    rows: list[tuple[int, PersonFields]] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        try:
            if len(cells) != len(CSV_HEADER):
                raise InputError(f"{len(cells)} fields, expected {len(CSV_HEADER)} ({expected})")
            email, name, sync_mode, sync_url, conflict_behaviour = cells
            fields = person_fields(email, name, sync_mode, sync_url, conflict_behaviour, ews_url)
            if fields.key in seen:
                raise InputError(f"{fields.email} is already on line {seen[fields.key]}")
        except InputError as exc:
            raise InputError(
                f"{label}, line {line}: {exc.message}",
                f"correct line {line} and import the file again; nothing was imported",
            ) from None
        seen[fields.key] = line
        rows.append((line, fields))
    return rows


def import_persons(store: Store, audit: AuditLog, ews_url: str, path: Path, label: str) -> PersonImport:
    """Add or update (by address) every person of a CSV file, in one transaction: all or nothing."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{label} does not exist", "give the path of the CSV file") from None
    except IsADirectoryError:
        raise InputError(f"{label} is a folder", "give the path of the CSV file") from None
    except OSError as exc:
        raise InputError(f"{label} cannot be read: {exc.strerror}", "check the file's permissions") from None
    rows = read_persons_csv(data, label, ews_url)
    with store.write() as conn:
        rooms = db.room_keys(conn)
        for line, fields in rows:
            if fields.key in rooms:
                raise InputError(
                    f"{label}, line {line}: {fields.email} is a room, not a person",
                    f"remove line {line} and import the file again; nothing was imported",
                )
        counts = db.upsert_persons(conn, [f for _, f in rows], db.now_utc())
    not_handled = sum(1 for _, f in rows if f.sync_mode not in EWS_SYNC_MODES)
    result = PersonImport(
        file=label,
        rows=len(rows),
        added=len(counts.added),
        updated=len(counts.updated),
        unchanged=len(counts.unchanged),
        not_handled=not_handled,
    )
    if counts.added or counts.updated:
        audit.record(
            "persons.import",
            label,
            params={"file": str(path), "rows": len(rows)},
            result={"added": list(counts.added), "updated": list(counts.updated)},
        )
    return result


# ---------------------------------------------------------------- rooms


def add_room(store: Store, audit: AuditLog, email: str, name: str, sync_master: bool = False) -> RoomChange:
    address = check_email(email)
    room_name = check_text(name, "room name", MAX_NAME, required=True)
    with store.write() as conn:
        existing = db.get_room(conn, address)
        if existing is not None:
            raise InputError(f"{existing.email} is already a room", "see 'roomsops rooms list'")
        if db.get_person(conn, address) is not None:
            raise InputError(f"{address} is a person, not a room", "give the room's resource mailbox address")
        room = db.insert_room(conn, address, room_name, sync_master, db.now_utc())
    audit.record(
        "rooms.add", room.email, params={"name": room.name, "sync_master": sync_master}, result="added"
    )
    return RoomChange("added", room)


def list_rooms(store: Store) -> RoomList:
    with store.read() as conn:
        return RoomList(tuple(db.list_rooms(conn)))


# ---------------------------------------------------------------- bookings


class _Keep(enum.Enum):
    KEEP = "keep"


#: "Leave this field as it is" where None is a value of its own (no reminder).
KEEP: Literal[_Keep.KEEP] = _Keep.KEEP


@dataclass(frozen=True)
class BookingRequest:
    """A booking as asked for: addresses, not ids; times timezone-aware."""

    organizer: str
    room: str
    start: datetime
    end: datetime
    title: str
    attendees: tuple[str, ...] = ()
    private: bool = False
    reminder_minutes: int | None = None
    free_busy: str = DEFAULT_FREE_BUSY


@dataclass(frozen=True)
class BookingChanges:
    """What `bookings update` changes; None (KEEP for the reminder) leaves a field as it is."""

    start: datetime | None = None
    end: datetime | None = None
    title: str | None = None
    room: str | None = None
    attendees: tuple[str, ...] | None = None
    private: bool | None = None
    reminder_minutes: int | Literal[_Keep.KEEP] | None = KEEP
    free_busy: str | None = None

    @property
    def empty(self) -> bool:
        return self == BookingChanges()


@dataclass(frozen=True)
class BookingFilter:
    start: datetime | None = None
    end: datetime | None = None
    organizer: str | None = None
    room: str | None = None
    statuses: tuple[str, ...] = ()


def _known_person(conn: Connection, email: str) -> Person:
    person = db.get_person(conn, email)
    if person is None:
        raise InputError(
            f"{email} is not a known person", f"add it first with 'roomsops persons add {email}'"
        )
    return person


def _known_room(conn: Connection, email: str) -> Room:
    room = db.get_room(conn, email)
    if room is None:
        raise InputError(
            f"{email} is not a known room", f"add it first with 'roomsops rooms add {email} --name NAME'"
        )
    return room


def _check_times(start: datetime, end: datetime, tz: ZoneInfo) -> None:
    if end <= start:
        raise InputError(
            f"the end {local_time(end, tz)} is not after the start {local_time(start, tz)} ({tz.key})",
            "give an end time after the start",
        )


def _check_reminder(minutes: int | None) -> int | None:
    if minutes is not None and minutes < 0:
        raise InputError(f"the reminder {minutes} is negative", "give the minutes before the start, e.g. 15")
    return minutes


def _check_attendees(attendees: Sequence[str], organizer: Person, room: Room) -> tuple[str, ...]:
    """Valid addresses, each once (case-insensitively); neither the organizer nor the booked room."""
    found: dict[str, str] = {}
    for value in attendees:
        email = check_email(value, "attendee")
        key = db.email_key(email)
        if key == db.email_key(organizer.email):
            raise InputError(f"attendee {email} is the organizer", "leave the organizer out of --attendee")
        if key == db.email_key(room.email):
            raise InputError(f"attendee {email} is the booked room", "leave the room out of --attendee")
        found.setdefault(key, email)
    return tuple(found.values())


def _refuse_overlap(
    conn: Connection, room: Room, start: datetime, end: datetime, tz: ZoneInfo, exclude_id: int | None = None
) -> None:
    """Lock the room, then refuse when another booking holds it: in the caller's write transaction,
    so no other writer can book the same slot between this check and the caller's insert."""
    db.lock_room(conn, room.id)
    others = db.overlapping_bookings(conn, room.id, start, end, exclude_id)
    if others:
        other = others[0]
        raise InputError(
            f"{room.name} ({room.email}) is already booked {local_span(other.start, other.end, tz)} "
            f'({tz.key}) by booking {other.id} "{other.title}"',
            f"choose another time or room; see 'roomsops bookings list --room {room.email}'",
            code="room_taken",
        )


def create_booking(conn: Connection, request: BookingRequest, tz: ZoneInfo) -> Booking:
    """Validate and insert a booking, refusing a taken room; call inside `Store.write()`."""
    title = check_text(request.title, "title", MAX_TITLE, required=True)
    free_busy = canonical(request.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}")
    reminder = _check_reminder(request.reminder_minutes)
    _check_times(request.start, request.end, tz)
    organizer = _known_person(conn, check_email(request.organizer, "organizer"))
    room = _known_room(conn, check_email(request.room, "room"))
    attendees = _check_attendees(request.attendees, organizer, room)
    _refuse_overlap(conn, room, request.start, request.end, tz)
    booking_id = db.insert_booking(
        conn,
        NewBooking(
            organizer_id=organizer.id,
            room_id=room.id,
            title=title,
            start=request.start,
            end=request.end,
            attendees=attendees,
            private=request.private,
            reminder_minutes=reminder,
            free_busy=free_busy,
        ),
        db.now_utc(),
    )
    booking = db.get_booking(conn, booking_id)
    assert booking is not None
    return booking


def _audit_booking(booking: Booking) -> dict[str, Any]:
    return {
        "organizer": booking.organizer,
        "room": booking.room,
        "title": booking.title,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
        "attendees": list(booking.attendees),
        "private": booking.private,
        "reminder_minutes": booking.reminder_minutes,
        "free_busy": booking.free_busy,
        "status": booking.status,
        "version": booking.version,
    }


def add_booking(store: Store, audit: AuditLog, tz: ZoneInfo, request: BookingRequest) -> BookingChange:
    with store.write() as conn:
        booking = create_booking(conn, request, tz)
    audit.record("bookings.add", f"booking {booking.id}", params=_audit_booking(booking), result="added")
    return BookingChange("added", booking, time_zone=tz.key)


def list_bookings(store: Store, tz: ZoneInfo, where: BookingFilter) -> BookingList:
    if where.start is not None and where.end is not None:
        _check_times(where.start, where.end, tz)
    statuses = tuple(
        canonical(s, STATUSES, "status", f"use one of {', '.join(STATUSES)}") for s in where.statuses
    )
    with store.read() as conn:
        organizer = _known_person(conn, check_email(where.organizer)) if where.organizer else None
        room = _known_room(conn, check_email(where.room)) if where.room else None
        found = db.list_bookings(
            conn,
            db.BookingQuery(
                start=where.start,
                end=where.end,
                organizer_id=organizer.id if organizer else None,
                room_id=room.id if room else None,
                statuses=statuses or None,
            ),
        )
    return BookingList(tuple(found), time_zone=tz.key)


def _existing_booking(conn: Connection, booking_id: int) -> Booking:
    booking = db.get_booking(conn, booking_id)
    if booking is None:
        raise InputError(f"there is no booking {booking_id}", "see 'roomsops bookings list'")
    return booking


def update_booking(
    store: Store, audit: AuditLog, tz: ZoneInfo, booking_id: int, changes: BookingChanges
) -> BookingChange:
    """Change some fields of an active booking; a new time or room must be free."""
    if changes.empty:
        raise InputError(
            "nothing to change",
            "pass at least one of --start, --end, --title, --room, --attendee, --private, --reminder, "
            "--free-busy",
        )
    with store.write() as conn:
        current = _existing_booking(conn, booking_id)
        if current.status == "cancelled":
            raise InputError(f"booking {booking_id} is cancelled", "book again with 'roomsops bookings add'")
        organizer = _known_person(conn, current.organizer)
        room = _known_room(conn, current.room if changes.room is None else check_email(changes.room, "room"))
        start = current.start if changes.start is None else changes.start
        end = current.end if changes.end is None else changes.end
        _check_times(start, end, tz)
        wanted: dict[str, Any] = {
            "title": None if changes.title is None else check_text(changes.title, "title", MAX_TITLE, True),
            "start": changes.start,
            "end": changes.end,
            "room_id": room.id if changes.room is not None else None,
            "attendees": None
            if changes.attendees is None
            else _check_attendees(changes.attendees, organizer, room),
            "private": changes.private,
            "free_busy": None
            if changes.free_busy is None
            else canonical(changes.free_busy, FREE_BUSY, "free/busy", f"use one of {', '.join(FREE_BUSY)}"),
        }
        if changes.reminder_minutes is not KEEP:
            wanted["reminder_minutes"] = _check_reminder(changes.reminder_minutes)
        current_values = {**vars(current), "room_id": current.room_id}
        differ = {
            k: v
            for k, v in wanted.items()
            if (v is not None or k == "reminder_minutes") and v != current_values[k]
        }
        if not differ:
            return BookingChange("unchanged", current, time_zone=tz.key)
        if {"start", "end", "room_id"} & differ.keys():
            _refuse_overlap(conn, room, start, end, tz, exclude_id=booking_id)
        booking = db.update_booking(conn, booking_id, differ, db.now_utc(), expected_version=current.version)
    changed = tuple("room" if k == "room_id" else k for k in differ)
    audit.record(
        "bookings.update",
        f"booking {booking_id}",
        params={k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in differ.items()},
        result={"changed": list(changed), "version": booking.version},
    )
    return BookingChange("updated", booking, changed, time_zone=tz.key)


def cancel_booking(
    store: Store, audit: AuditLog, tz: ZoneInfo, booking_id: int, confirm: Confirm
) -> BookingChange:
    """Cancel a booking after confirmation (asked outside the write transaction: no lock while a
    person thinks)."""
    with store.read() as conn:
        booking = _existing_booking(conn, booking_id)
    if booking.status == "cancelled":
        return BookingChange("already_cancelled", booking, time_zone=tz.key)
    confirm(
        f'Cancel booking {booking.id} "{booking.title}" ({booking.room_name}, '
        f"{local_span(booking.start, booking.end, tz)} {tz.key})?"
    )
    with store.write() as conn:
        current = _existing_booking(conn, booking_id)
        if current.status == "cancelled":
            return BookingChange("already_cancelled", current, time_zone=tz.key)
        cancelled = db.update_booking(conn, booking_id, {"status": "cancelled"}, db.now_utc())
    audit.record(
        "bookings.cancel",
        f"booking {booking_id}",
        params={"previous_status": current.status},
        result={"status": "cancelled", "version": cancelled.version},
    )
    return BookingChange("cancelled", cancelled, time_zone=tz.key)

"""The persons whose bookings are synced, with ROOMS' sync settings: add, set, list, and import from CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Connection

from roomsops.adapters import store as db
from roomsops.adapters.store import (
    CONFLICT_BEHAVIOURS,
    EWS_SYNC_MODES,
    ON_PREMISES_MODES,
    SYNC_MODES,
    Person,
    PersonFields,
    Store,
)
from roomsops.core.errors import ConnectError, InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.settings import Settings
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import GRAPH_SYNC_MODES, SYNCED_MODES
from roomsops.services.rooms.common import (
    MAX_NAME,
    canonical,
    check_email,
    check_text,
    columns,
    read_existing,
)

#: A person added without --sync-mode (or an empty CSV cell) is synced by roomsops: that is what it is for.
DEFAULT_SYNC_MODE = "O365"
DEFAULT_CONFLICT_BEHAVIOUR = "Rollback"
CSV_HEADER = ("email", "name", "sync_mode", "sync_url", "conflict_behaviour")
NOT_HANDLED = "not handled by roomsops sync"
EXAMPLE_EWS_URL = "https://mail.contoso.com/EWS/Exchange.asmx"


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
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [IPv6] bracket
        raise InputError(
            f"sync URL {url!r} is not a URL (its [ ] around the host are unbalanced)",
            f"give the server's EWS URL, e.g. {EXAMPLE_EWS_URL}",
        ) from None
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
        return columns(("email", "name", "sync mode", "sync URL", "conflicts", "note"), rows)


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
                f"{self.not_handled} of them have a sync mode other than {', '.join(SYNCED_MODES)}: "
                f"{NOT_HANDLED}"
            )
        return out


def _not_handled_note(person: Person) -> tuple[str, ...]:
    if person.handled_by_sync:
        return ()
    return (f"{person.email} has sync mode {person.sync_mode}: {NOT_HANDLED}",)


def _refuse_room_address(conn: Connection, email: str) -> None:
    if db.get_room(conn, email) is not None:
        raise InputError(f"{email} is a room, not a person", "give the person's own mailbox address")


def _refuse_recorded(conn: Connection, address: str) -> None:
    """`persons add` of an address the database already has, as a person or as a room: exit 2."""
    existing = db.get_person(conn, address)
    if existing is not None:
        raise InputError(
            f"{existing.email} is already a person",
            f"change it with 'roomsops persons set {shellword(existing.email)}'",
        )
    _refuse_room_address(conn, address)


def refuse_recorded(settings: Settings, email: str) -> None:
    """What `add_person` would refuse because of what the database holds, asked before Exchange is: its answer
    for an address ROOMS has as a room (or a person) would point the wrong way."""
    address = check_email(email)
    with read_existing(settings) as conn:
        if conn is not None:
            _refuse_recorded(conn, address)


def refuse_rename_recorded(settings: Settings, email: str, new_email: str) -> None:
    """What `set_person` would refuse for a rename because of what the database holds (the person is unknown or
    a room, the new address is a room), asked before Exchange is. A new address that is another person is left
    to `set_person`: what to do depends on whether Exchange says it is the same mailbox."""
    address = check_email(email)
    renamed_to = check_email(new_email, "new")
    with read_existing(settings) as conn:
        current = _current_person(conn, address)  # no database: no person either (exit 2)
        if conn is not None and renamed_to != current.email:
            _refuse_room_address(conn, renamed_to)


def _current_person(conn: Connection | None, address: str) -> Person:
    """The person of `address` for `persons set` (no database yet: none), else exit 2 saying what it is."""
    current = db.get_person(conn, address) if conn is not None else None
    if current is not None:
        return current
    if conn is not None and db.get_room(conn, address) is not None:
        raise InputError(
            f"{address} is a room, not a person; nothing was changed",
            f"change a room with 'roomsops rooms set {shellword(address)}' (--name, --sync-master)",
        )
    raise InputError(
        f"{address} is not a known person", f"add it with 'roomsops persons add {shellword(address)}'"
    )


def add_person(
    store: Store,
    audit: AuditLog,
    ews_url: str,
    email: str,
    name: str = "",
    sync_mode: str = "",
    sync_url: str = "",
    conflict_behaviour: str = "",
    mailbox_addresses: frozenset[str] | None = None,
) -> PersonChange:
    """Add a person. `mailbox_addresses` (every SMTP address of its mailbox, case-folded, when Exchange was asked):
    a mailbox ROOMS already has as a person under another of its addresses is refused, as `persons set --email`
    refuses it ("recorded twice"): two persons for one mailbox would sync it twice."""
    fields = person_fields(email, name, sync_mode, sync_url, conflict_behaviour, ews_url)
    with store.write() as conn:
        _refuse_recorded(conn, fields.email)
        if mailbox_addresses is not None:
            _refuse_same_mailbox(conn, fields.email, mailbox_addresses)
        person = db.insert_person(conn, fields, db.now_utc())
    audit.record("persons.add", person.email, params=vars(fields), result="added")
    return PersonChange("added", person, notes=_not_handled_note(person))


def _refuse_same_mailbox(conn: Connection, address: str, mailbox_addresses: frozenset[str]) -> None:
    """Exit 2 when a ROOMS person has the mailbox of `address` under another of its addresses (an alias, recorded
    offline or by an older roomsops)."""
    other = next(
        (p for a in sorted(mailbox_addresses) if a != address.casefold() and (p := db.get_person(conn, a))),
        None,
    )
    if other is None:
        return
    raise InputError(
        f"Exchange Online says {address} is the mailbox of the ROOMS person {other.email} (another of its "
        "addresses): the person would be recorded twice and its mailbox synced twice; nothing was recorded",
        f"keep the one person and give it this address: 'roomsops persons set {shellword(other.email)} --email {shellword(address)}'",
        code="recorded_twice",
    )


def set_person(
    store: Store,
    audit: AuditLog,
    ews_url: str,
    email: str,
    name: str | None = None,
    sync_mode: str | None = None,
    sync_url: str | None = None,
    conflict_behaviour: str | None = None,
    new_email: str | None = None,
    new_mailbox_addresses: frozenset[str] | None = None,
) -> PersonChange:
    """Change the given fields. Changing the mode keeps the sync URL when it suits the new mode
    (cloud ↔ cloud, on-premises ↔ on-premises); otherwise the new mode's default applies. A new e-mail
    renames the person, keeping its bookings and their sync links (the same mailbox under its right address).
    `new_mailbox_addresses` (every SMTP address of the new address's mailbox, case-folded, when Exchange was
    asked): if the old address is not one of them, the new address is another mailbox, and a person whose
    meetings live in the old one is not renamed (they would stay there, uncancelled, whatever ROOMS did)."""
    given = {
        "name": name,
        "sync_mode": sync_mode,
        "sync_url": sync_url,
        "conflict_behaviour": conflict_behaviour,
        "email": new_email,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise InputError(
            "nothing to change",
            "pass at least one of --email, --name, --sync-mode, --sync-url, --conflict-behaviour",
        )
    address = check_email(email)
    renamed_to = check_email(new_email, "new") if new_email is not None else None
    with store.write() as conn:
        current = _current_person(conn, address)
        renamed = False
        if renamed_to is not None and renamed_to != current.email:
            other = db.get_person(conn, renamed_to)
            if other is not None and other.id != current.id:
                raise _already_a_person(current, other, new_mailbox_addresses)
            _refuse_room_address(conn, renamed_to)
            if new_mailbox_addresses is not None and current.email.casefold() not in new_mailbox_addresses:
                # What `persons remove` waits for (`unsettled_links`): a linked meeting, a create or cancel
                # whose answer was lost (the meeting may exist: found by its tag, in this mailbox only), a room
                # still holding the slot of a meeting deleted without a cancellation (watched from this mailbox).
                now = db.now_utc()
                mine = [link.booking_id for link in db.booking_sync_for_mailbox(conn, current.email)]
                waiting = db.unsettled_links(conn, mine, now)
                if waiting:
                    holding = db.rooms_still_held(conn, waiting, now)
                    meetings = [i for i in waiting if i not in holding]
                    why = []
                    if meetings:
                        why.append(f"whose calendar holds the meetings of booking(s) {_ids(meetings)}")
                    if holding:
                        why.append(
                            f"whose meetings of booking(s) {_ids(holding)} were deleted in Outlook without a "
                            "cancellation while their rooms still hold the slot (the sync removes the room's copy)"
                        )
                    raise InputError(
                        f"{renamed_to} is another mailbox than {current.email}, {' and '.join(why)}; "
                        "nothing was changed",
                        "cancel those bookings and run 'roomsops sync' (or 'roomsops sync purge') until they "
                        f"are settled first, or add {renamed_to} as a new person ('roomsops persons add "
                        f"{shellword(renamed_to)}')",
                        code="rename_other_mailbox",
                    )
            # The read position is the mailbox's: kept only when Exchange said it is the same mailbox.
            same = new_mailbox_addresses is not None and current.email.casefold() in new_mailbox_addresses
            current = db.rename_person(conn, current, renamed_to, db.now_utc(), same_mailbox=same)
            renamed = True
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
        changed = ("email",) * renamed + tuple(
            k
            for k in ("name", "sync_mode", "sync_url", "conflict_behaviour")
            if getattr(fields, k) != getattr(current, k)
        )
        if not changed:
            return PersonChange("unchanged", current, notes=_not_handled_note(current))
        moved = _service_moved(conn, current, fields)
        person = (
            db.update_person(conn, current.id, fields, db.now_utc()) if changed != ("email",) else current
        )
    audit.record("persons.set", person.email, params=given, result={"changed": list(changed)})
    return PersonChange("updated", person, changed, notes=_not_handled_note(person) + moved)


def _already_a_person(
    current: Person, other: Person, new_mailbox_addresses: frozenset[str] | None
) -> InputError:
    """A rename onto another person, worded by what Exchange said (if it was asked): the same mailbox under two
    records, or another mailbox, whose person must keep its own bookings and meetings."""
    # No command moves a booking to another organizer (its meeting lives in the organizer's mailbox).
    keep_both = (
        f"to have {other.email} organize a booking of {current.email}, cancel it ('roomsops bookings cancel ID') "
        f"and book it again with 'roomsops bookings add --organizer {shellword(other.email)}' (the attendees get a "
        "cancellation and a new invitation)"
    )
    remove_first = (
        f"remove it first ('roomsops persons remove {shellword(other.email)}', with --cancel-bookings if it organizes "
        "bookings), then rename"
    )
    if new_mailbox_addresses is None:  # not looked up (--no-check)
        return InputError(
            f"{other.email} is already a person; nothing was changed",
            f"if it is the same person, {remove_first}; else keep both: {keep_both}",
        )
    if current.email.casefold() in new_mailbox_addresses:
        return InputError(
            f"{other.email} is already a person, and Exchange Online says {current.email} is an address of the "
            "same mailbox: the person is recorded twice; nothing was changed",
            f"to keep one record under {other.email}, {remove_first}",
        )
    return InputError(
        f"{other.email} is already a person, and Exchange Online says it is another mailbox than "
        f"{current.email}; nothing was changed",
        f"keep both: {keep_both}",
    )


def _ids(booking_ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in booking_ids)


def _service_moved(conn: Connection, current: Person, fields: PersonFields) -> tuple[str, ...]:
    """A note when the new mode moves a person with linked meetings between EWS and Microsoft Graph: `sync
    migrate` moves them checked (without it the next pass finds them again by their tags)."""
    graph = [mode in GRAPH_SYNC_MODES for mode in (current.sync_mode, fields.sync_mode)]
    synced = all(mode in SYNCED_MODES for mode in (current.sync_mode, fields.sync_mode))
    if not synced or graph[0] == graph[1] or not db.live_links_in_mailbox(conn, current.email):
        return ()
    to = "graph" if graph[1] else "ews"
    return (
        f"{current.email}'s meetings were synced over {'EWS' if to == 'graph' else 'Microsoft Graph'}: "
        f"'roomsops sync migrate --to {to} --person {shellword(current.email)}' moves a person checked, meeting by meeting "
        "(switched this way, the next sync pass finds them again by their tags)",
    )


def list_persons(store: Store, sync_modes: Sequence[str] = ()) -> PersonList:
    modes = [canonical(m, SYNC_MODES, "sync mode", _MODE_REMEDY) for m in sync_modes] or None
    with store.read() as conn:
        return PersonList(tuple(db.list_persons(conn, modes)))


_EXCEL_SAVE = "in Excel: File → Save As → 'CSV UTF-8 (Comma delimited) (*.csv)'"
_CALC_SAVE = (
    "in LibreOffice Calc: File → Save As → 'Text CSV (.csv)' with the character set 'Unicode (UTF-8)'"
)


def _workbook_kind(data: bytes) -> tuple[str, str] | None:
    """(what the file is, how to save it as CSV) for a spreadsheet workbook; None for anything else. An .xlsx and
    an .ods are both ZIP archives: an OpenDocument file starts with its uncompressed `mimetype` entry."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "an Excel 97-2003 workbook (.xls)", _EXCEL_SAVE
    if not data.startswith(b"PK\x03\x04"):
        return None
    head = data[:4096]
    if head[30:38] == b"mimetype" and head[38:].startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "an OpenDocument spreadsheet (.ods)", _CALC_SAVE
    if b"[Content_Types].xml" in head or b"xl/" in head:
        return "an Excel workbook (.xlsx)", _EXCEL_SAVE
    return (
        "a ZIP archive (a spreadsheet workbook?)",
        f"save the sheet as CSV UTF-8 ({_EXCEL_SAVE}; {_CALC_SAVE})",
    )


def _decode_csv(data: bytes, label: str) -> str:
    """UTF-8 text, with or without a byte-order mark; anything else is refused with how to fix it."""
    save_as = "save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and import it again"
    workbook = _workbook_kind(data)
    if workbook is not None:
        kind, how = workbook
        raise InputError(
            f"{label} is {kind}, not a CSV file",
            f"{how}, and import that file; nothing was imported",
            code="excel_file",
        )
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
    """Every row of a persons CSV, validated; any bad row refuses the whole file, naming every bad row."""
    rows, bad, _emails = _parse_persons_csv(data, label, ews_url)
    if bad:
        raise _bad_rows(label, bad)
    return rows


def _parse_persons_csv(
    data: bytes, label: str, ews_url: str
) -> tuple[list[tuple[int, PersonFields]], list[tuple[int, str]], list[tuple[int, str]]]:
    """The good rows; each bad row's problems as (line, "line L, column: problem"); and (line, address) of every
    row whose address is good, a bad row's too, so that its address is checked in the same run (issue 21.12)."""
    records = _csv_records(_decode_csv(data, label), label)
    expected = ",".join(CSV_HEADER)
    first = next(records, None)
    if first is None:
        raise InputError(f"{label} is empty", f"its first line must be the header {expected}")
    line, header = first
    if line != 1 or header != list(CSV_HEADER):
        found = ",".join(header)
        if len(header) == 1 and header[0].split(";") == list(CSV_HEADER):
            # Excel's "CSV" with a Swiss or German list separator: every line, not only the header, has ';'.
            raise InputError(
                f"{label} is separated by semicolons (';'), not commas",
                "save it with commas: in Excel set the list separator to ',' (Windows: Region → Additional "
                "settings → List separator) and save as 'CSV UTF-8', or replace ';' by ',' in a text editor "
                "(cells that contain commas in double quotes); nothing was imported",
            )
        raise InputError(
            f"{label}, line {line}: the header is {found!r}, not {expected}",
            f"make the first line exactly {expected} (comma-separated); nothing was imported",
        )
    rows: list[tuple[int, PersonFields]] = []
    seen: dict[str, int] = {}
    bad: list[tuple[int, str]] = []
    emails: list[tuple[int, str]] = []
    for line, cells in records:
        if len(cells) != len(CSV_HEADER):
            bad.append((line, f"line {line}: {len(cells)} fields, expected {len(CSV_HEADER)} ({expected})"))
            continue
        problems = _row_problems(cells, ews_url)
        if not any(p.startswith("email:") for p in problems):
            email = check_email(cells[0])
            if db.email_key(email) in seen:
                problems = [f"email: {email} is already on line {seen[db.email_key(email)]}", *problems]
            else:
                seen[db.email_key(email)] = line
                emails.append((line, email))
        if not problems:
            email, name, sync_mode, sync_url, conflict_behaviour = cells
            rows.append((line, person_fields(email, name, sync_mode, sync_url, conflict_behaviour, ews_url)))
        bad += [(line, f"line {line}, {problem}") for problem in problems]
    return rows, bad, emails


def _bad_rows(label: str, bad: Sequence[tuple[int, str]], remedy: str = "") -> InputError:
    """One error naming every bad row, in the order of the file."""
    texts = [text for _, text in sorted(bad, key=lambda b: b[0])]
    shown = "; ".join(texts[:MAX_ROW_ERRORS]) + (
        f"; and {len(texts) - MAX_ROW_ERRORS} more" if len(texts) > MAX_ROW_ERRORS else ""
    )
    return InputError(
        f"{label}: {len(texts)} problem(s): {shown}",
        remedy or "correct these rows and import the file again; nothing was imported",
        code="bad_rows",
    )


#: How many bad rows one error line names (the count says how many there are).
MAX_ROW_ERRORS = 20


def _row_problems(cells: Sequence[str], ews_url: str) -> list[str]:
    """Each bad cell of a row as "column: problem" (every column checked, not only the first bad one)."""
    email, name, sync_mode, sync_url, conflict_behaviour = cells
    problems: list[str] = []

    def check(column: str, validate: Callable[[], object]) -> object:
        try:
            return validate()
        except InputError as exc:
            problems.append(f"{column}: {exc.message}")
            return None

    check("email", lambda: check_email(email))
    check("name", lambda: check_text(name, "name", MAX_NAME, required=False))
    mode = check(
        "sync_mode",
        lambda: canonical(sync_mode or DEFAULT_SYNC_MODE, SYNC_MODES, "sync mode", _MODE_REMEDY),
    )
    if isinstance(mode, str):
        check("sync_url", lambda: check_sync_url(mode, sync_url, ews_url))
    check(
        "conflict_behaviour",
        lambda: canonical(
            conflict_behaviour or DEFAULT_CONFLICT_BEHAVIOUR,
            CONFLICT_BEHAVIOURS,
            "conflict behaviour",
            _CONFLICT_REMEDY,
        ),
    )
    return problems


def read_persons_file(
    path: Path,
    label: str,
    ews_url: str,
    check: Callable[[Sequence[str]], dict[str, str]] | None = None,
    settings: Settings | None = None,
) -> list[tuple[int, PersonFields]]:
    """The rows of a persons CSV file, each checked, before any database is created: a refused file writes
    nothing (not even a new data folder). `check` (the Exchange look-up) says what is wrong with each wrong
    address: any refuses the file, naming every bad row. With `settings`, rows that are ROOMS rooms are refused
    too, and not asked of Exchange (an existing database is read, none is created). Bad values, rooms' rows and
    addresses Exchange refuses are all named in one error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{label} does not exist", "give the path of the CSV file") from None
    except IsADirectoryError:
        raise InputError(f"{label} is a folder", "give the path of the CSV file") from None
    except OSError as exc:
        raise InputError(f"{label} cannot be read: {exc.strerror}", "check the file's permissions") from None
    rows, bad, emails = _parse_persons_csv(data, label, ews_url)
    # Every kind of problem in one run (issue 21.12): bad values, rows that are ROOMS rooms (the database first,
    # as for `persons add`: Exchange's remedy for a room is 'rooms add', which fails for a ROOMS room), and the
    # addresses Exchange refuses.
    rooms = _room_keys(settings) if settings is not None else frozenset()
    room_rows = [(line, email) for line, email in emails if db.email_key(email) in rooms]
    asked = [email for _, email in emails if db.email_key(email) not in rooms]
    wrong: dict[str, str] = {}
    unchecked = ""
    if check is not None and asked:
        try:
            wrong = check(asked)
        except ConnectError as exc:
            if not bad and not room_rows:
                raise
            unchecked = f" (the addresses were not looked up in Exchange Online: {exc.message})"
    exchange_rows = [
        (line, f"line {line}, email: {wrong[email]}") for line, email in emails if email in wrong
    ]
    if room_rows and not bad and not exchange_rows:
        raise _room_rows_error(label, room_rows)
    if exchange_rows and not bad and not room_rows:
        shown = "; ".join(text for _, text in exchange_rows[:MAX_ROW_ERRORS]) + (
            f"; and {len(exchange_rows) - MAX_ROW_ERRORS} more" if len(exchange_rows) > MAX_ROW_ERRORS else ""
        )
        raise InputError(
            f"{label}: {len(exchange_rows)} address(es) wrong in Exchange Online: {shown}",
            "correct these rows (or add --no-check to import them without looking them up) and import "
            "the file again; nothing was imported",
            code="bad_rows",
        )
    if bad or room_rows or exchange_rows:
        rooms_text = [
            (line, f"line {line}, email: {email} is a room, not a person") for line, email in room_rows
        ]
        remedy = "correct these rows" + (" (remove the rooms' rows)" if room_rows else "")
        raise _bad_rows(
            label,
            [*bad, *rooms_text, *exchange_rows],
            f"{remedy} and import the file again{unchecked}; nothing was imported",
        )
    return rows


def _room_keys(settings: Settings) -> frozenset[str]:
    """The rooms an existing database holds, by address key (none when there is no database: none is made)."""
    with read_existing(settings) as conn:
        return frozenset(db.room_keys(conn)) if conn is not None else frozenset()


def _room_rows_error(label: str, bad: Sequence[tuple[int, str]]) -> InputError:
    if len(bad) == 1:
        ((line, email),) = bad
        return InputError(
            f"{label}, line {line}: {email} is a room, not a person",
            f"remove line {line} and import the file again; nothing was imported",
        )
    shown = "; ".join(f"line {line}, email: {email}" for line, email in bad[:MAX_ROW_ERRORS]) + (
        f"; and {len(bad) - MAX_ROW_ERRORS} more" if len(bad) > MAX_ROW_ERRORS else ""
    )
    return InputError(
        f"{label}: {len(bad)} rows are rooms, not persons: {shown}",
        "remove these rows and import the file again; nothing was imported",
        code="bad_rows",
    )


def _refuse_room_rows(conn: Connection, rows: Sequence[tuple[int, PersonFields]], label: str) -> None:
    """Exit 2 naming every row whose address is a ROOMS room, checked again in the import's transaction."""
    rooms = db.room_keys(conn)
    bad = [(line, fields.email) for line, fields in rows if fields.key in rooms]
    if bad:
        raise _room_rows_error(label, bad)


def import_persons(
    store: Store,
    audit: AuditLog,
    rows: list[tuple[int, PersonFields]],
    path: Path,
    label: str,
) -> PersonImport:
    """Add or update (by address) every person of the rows `read_persons_file` gave, in one transaction: all
    or nothing."""
    with store.write() as conn:
        _refuse_room_rows(conn, rows, label)
        counts = db.upsert_persons(conn, [f for _, f in rows], db.now_utc())
    not_handled = sum(1 for _, f in rows if f.sync_mode not in SYNCED_MODES)
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

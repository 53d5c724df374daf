"""What persons, rooms and bookings share: the roomsops database of these settings, text checks, local times.

Each command-level function of persons/rooms/bookings validates its input, runs one transaction on the
`Store` and returns a result object; every change is written to the audit log after it is committed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from sqlalchemy.engine import URL

from roomsops.adapters import store as db
from roomsops.adapters.store import Store
from roomsops.adapters.store.db import sqlite_file
from roomsops.adapters.store.fresh import discard_if_unused, existing, leftovers
from roomsops.core.addresses import RECORD_REMEDY, validate_address
from roomsops.core.errors import InputError, RoomsopsError
from roomsops.core.settings import DATA_DIR_VARIABLE, Settings

MAX_NAME = 256


# ---------------------------------------------------------------- opening the database


def database_url(settings: Settings) -> URL:
    """`rooms.database`, with a relative SQLite path resolved as a data path (`Settings.resolve_path`: the data
    folder, or the settings file's folder). Without a settings file, a rooms.db left in the working folder by a
    version before the data folder is refused while the data folder has none (see `_refuse_left_behind`)."""
    url = db.parse_url(settings.rooms.database)
    path = url.database
    if url.get_backend_name() == "sqlite" and path and path != ":memory:" and not path.startswith("file:"):
        chosen = settings.resolve_path(path, "rooms.database").absolute()  # messages name it fully
        url = url.set(database=str(chosen))
        _refuse_left_behind(settings, path, chosen)
    return url


def _refuse_left_behind(settings: Settings, relative: str, chosen: Path) -> None:
    """Before the data folder (issue 21.9), a relative rooms.database without a settings file was in the working
    folder: a scheduled task started in C:\\ROOMS\\sync kept its persons, rooms and bookings there. After the
    upgrade the same task would open a new empty database in the data folder and report success while ROOMS'
    bookings stop reaching Exchange. So while the data folder has no database and the working folder has one of
    that name, the command is refused (exit 2) naming both, until it is moved or rooms.database names it."""
    if settings.source is not None or Path(relative).is_absolute() or chosen.exists():
        return
    try:
        old = Path.cwd() / relative
    except OSError:  # the working folder is gone
        return
    if old == chosen or not old.is_file():
        return
    raise InputError(
        f"the database is now {chosen} in the data folder, which has none yet, but {old} is in the working folder, "
        "where versions before the data folder kept it; nothing was changed",
        f"move {old.name} and the {old.name}.* files beside it into {chosen.parent} (with no roomsops command "
        f"running), or keep it where it is with ROOMSOPS_ROOMS_DATABASE=sqlite:///{old.as_posix()} (or "
        "rooms.database in a roomsops.toml); to start a new database instead, rename the old one",
        code="database_left_behind",
    )


def no_database(path: Path | None) -> InputError:
    """The one refusal (code no_database) of a command that needs the database where these settings lead to none."""
    return InputError(
        f"there is no ROOMS database at {path}; nothing was created",
        "check rooms.database (and ROOMSOPS_SETTINGS, the data folder) leads to the database; a new one is "
        "made by 'roomsops persons add EMAIL' or 'roomsops rooms add EMAIL --name NAME'",
        code="no_database",
    )


def refuse_without_database(settings: Settings) -> None:
    """Exit 2 (no_database), nothing created, when these settings lead to an SQLite file that does not exist."""
    path = sqlite_file(database_url(settings))
    try:
        missing = path is not None and not path.resolve().exists()
    except (OSError, RuntimeError):  # a loop of links: the lock or the database names it with its remedy
        return
    if missing:
        raise no_database(path)


@contextmanager
def open_database(settings: Settings, *, existing_only: bool = False) -> Iterator[Store]:
    """The roomsops database of these settings (created, or upgraded, on first use). A command refused with
    exit 2 inside the block leaves no new database behind: one it created, still empty, is removed again, with
    the data folder if that was made for it. `existing_only` (a command that only reads): a SQLite file that does
    not exist is exit 2 (settings that do not lead to the database), not a new empty one that reads as "nothing"."""
    url = database_url(settings)
    path = sqlite_file(url)
    # Through a link too: a dangling link's target is where the database would be made.
    fresh = path is not None and not path.resolve().exists()
    if fresh and existing_only:
        raise no_database(path)
    existed = existing(leftovers(path)) if path is not None else set()
    made: list[Path] = []  # folders made for the database, deepest first
    if path is not None and settings.data_dir is not None:
        folder = path.parent
        if folder == settings.data_dir.absolute():  # the data folder is created on first use, not before
            made = [p for p in (folder, *folder.parents) if not p.exists()]
            try:
                folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            except OSError as exc:  # a file, a path under a file, a dangling link, no permission
                raise InputError(
                    f"the data folder {folder} cannot be created ({exc.strerror or exc})",
                    f"set {DATA_DIR_VARIABLE} to a folder roomsops may write, or remove what is in its place",
                ) from None
    try:
        store = db.open_store(url)
    except BaseException:
        _remove_folders(made)
        raise
    try:
        yield store
    except InputError:
        if fresh and path is not None and discard_if_unused(store, path, existed):
            _remove_folders(made)
        raise
    finally:
        store.close()


@contextmanager
def read_existing(settings: Settings) -> Iterator[Connection | None]:
    """A read transaction on the database of these settings, to consult before Exchange is asked; None when its
    SQLite file does not exist yet (it holds nothing then, and nothing is created)."""
    path = sqlite_file(database_url(settings))
    if path is not None and not path.resolve().exists():
        yield None
        return
    with open_database(settings) as store, store.read() as conn:
        yield conn


def _remove_folders(made: list[Path]) -> None:
    """The folders made for a database that was not kept, deepest first, each only if empty."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


# ---------------------------------------------------------------- validation


def check_email(value: str, what: str = "") -> str:
    """A person's, room's or attendee's address, stripped (core.addresses holds the rule)."""
    return validate_address(value, what, RECORD_REMEDY)


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


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned plain-text columns (never re-wrapped, so grep and copy work)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    out = []
    for cells in [headers, *rows]:
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        out.append(line.rstrip())
    return out


def person_modes(settings: Settings) -> dict[str, str] | None:
    """{address: sync mode} of the ROOMS database's persons; {} when its SQLite file does not exist
    yet (nothing is created), None when it cannot be read (the caller tests over `sync.backend`)."""
    from roomsops.adapters.store import list_persons
    from roomsops.adapters.store.db import sqlite_file

    try:
        path = sqlite_file(database_url(settings))
        if path is not None and not path.exists():
            return {}
        with open_database(settings) as store, store.read() as conn:
            return {p.email: p.sync_mode for p in list_persons(conn)}
    except RoomsopsError:
        return None


def recorded_mailboxes(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """The ROOMS persons' and rooms' addresses, each by its case-folded form (none when there is no database
    yet: nothing is created), for the remedies of an address Exchange refuses: one that names a command ROOMS
    would refuse (the mailbox is already a person or a room under another of its addresses) must not be given."""
    with read_existing(settings) as conn:
        if conn is None:
            return {}, {}
        persons = {p.email.casefold(): p.email for p in db.list_persons(conn)}
        rooms = {r.email.casefold(): r.email for r in db.list_rooms(conn)}
    return persons, rooms


def left_persons_meetings(settings: Settings) -> dict[str, tuple[str, str, int]] | None:
    """{address: (sync mode, service, meetings)} of the persons who left the sync (a mode roomsops does not
    sync) whose meetings still live in Exchange (`reachable_links_in_mailbox`: known by their item ids, or
    by their tags when a create's answer was lost): a cancellation or `sync purge` reaches them over `service`,
    the one the mailbox's links are of ("ews" or "graph": the mailbox's recorded service, else `sync.backend`). {} without a database file, None when it cannot be read.
    A person who left with no meeting left in Exchange is there too (meetings 0) when their mailbox's service was
    recorded: the service the sync last reached them over (EWS off for a Graph mailbox is no failure)."""
    from roomsops.adapters.store import list_persons, mailbox_services, reachable_links_in_mailbox
    from roomsops.adapters.store.db import sqlite_file
    from roomsops.adapters.store.records import email_key
    from roomsops.core.vocabulary import SYNCED_MODES

    try:
        path = sqlite_file(database_url(settings))
        if path is not None and not path.exists():
            return {}
        with open_database(settings) as store, store.read() as conn:
            services = mailbox_services(conn)
            out = {}
            for person in list_persons(conn):
                if person.sync_mode in SYNCED_MODES:
                    continue
                meetings = len(reachable_links_in_mailbox(conn, person.email))
                recorded = services.get(email_key(person.email))
                if meetings or recorded is not None:
                    service = recorded or str(settings.sync.backend)
                    out[person.email] = (person.sync_mode, service, meetings)
            return out
    except RoomsopsError:
        return None

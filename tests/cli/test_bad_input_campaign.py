"""Bad input across every command: one line `Error: ...`, exit 2, and not one byte written anywhere.

Each row runs in a copy of a prepared folder (roomsops.toml, RoomsAppSettings.config, a database with a person,
a room and a booking); after the command every file is compared with what it was. Operation failures (a mailbox
that is unknown or denied) are exit 1 and are not in this table. Summarised in docs/reliability.md.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from roomsops.adapters.store.schema import SCHEMA_VERSION
from roomsops.cli import cli
from tests.conftest import SAMPLE, Invoke

GUID = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
TENANT = "0b6c2c33-7c28-4ab0-9f1d-5d2b0f6b9a11"
THUMBPRINT = "3a7f5c19d26b8e440f1a2b3c4d5e6f708192a3b4"
HEADER = "email,name,sync_mode,sync_url,conflict_behaviour\n"
SETTINGS = (
    '[rooms]\ndatabase = "sqlite:///rooms.db"\ntime_zone = "Europe/Zurich"\n'
    'app_settings = "RoomsAppSettings.config"\n'
)
BOOK = ["bookings", "add", "--organizer", "diego@contoso.com", "--room", "room@contoso.com", "--title", "T"]
SLOT = ["--start", "2031-04-01T09:00", "--end", "2031-04-01T10:00"]
GUID_REMEDY = "copy the {} id from the app registration's Overview page in the Entra admin center"
NOT_GUID = (
    "{} id {!r} is not a GUID (expected 8-4-4-4-12 hex digits, like 6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f)"
)
CSV_FIX = (
    "save it as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)') and import it again; nothing was imported"
)
SAVE_UTF8 = "save the file as UTF-8 (in Notepad: File → Save As → Encoding: UTF-8)"
BY_HAND = "correct the file in a text editor, or restore it from its .bak copy"


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def arrange(folder: Path) -> None:
        (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)

    return arrange


def append_settings(text: str) -> Callable[[Path], None]:
    return write("roomsops.toml", SETTINGS + text)


def config_bytes(data: bytes) -> Callable[[Path], None]:
    return write("RoomsAppSettings.config", data)


def newer_schema(folder: Path) -> None:
    conn = sqlite3.connect(folder / "rooms.db")
    try:
        with conn:
            conn.execute(
                "INSERT INTO schema_version (version, roomsops_version, applied_utc) "
                "VALUES (99, '9.0.0', '2030-01-01 00:00:00')"
            )
    finally:
        conn.close()  # checkpoints the write-ahead log into rooms.db


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    error: str  # the whole line after "Error: "; {dir} is the folder the command runs in
    arrange: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    # --- config: RoomsAppSettings.config values and options
    Case(
        "config init: tenant id not a GUID",
        ["config", "init", "--tenant-id", "nope", "--app-id", GUID, "--cert-thumbprint", THUMBPRINT, "--yes"],
        f"{NOT_GUID.format('tenant', 'nope')} — {GUID_REMEDY.format('tenant')}",
    ),
    Case(
        "config init: two credentials",
        [
            "config",
            "init",
            "--tenant-id",
            TENANT,
            "--app-id",
            GUID,
            "--client-secret-env",
            "X",
            "--cert-thumbprint",
            THUMBPRINT,
        ],
        "--client-secret-env and --cert-thumbprint exclude each other — give exactly one of --client-secret-stdin, "
        "--client-secret-env VAR, --cert-thumbprint HEX",
    ),
    Case(
        "config init: no credential",
        ["config", "init", "--tenant-id", TENANT, "--app-id", GUID],
        "no credential given — give exactly one of --client-secret-stdin, --client-secret-env VAR, --cert-thumbprint HEX",
    ),
    Case(
        "config init: thumbprint too short",
        ["config", "init", "--tenant-id", TENANT, "--app-id", GUID, "--cert-thumbprint", "12345", "--yes"],
        "thumbprint has 5 hex digits, a SHA-1 thumbprint has 40 — copy the Thumbprint of the certificate "
        r"(Certificate dialog → Details → Thumbprint, or Get-ChildItem Cert:\LocalMachine\My)",
    ),
    Case(
        "config init: secret variable not set",
        [
            "config",
            "init",
            "--tenant-id",
            TENANT,
            "--app-id",
            GUID,
            "--client-secret-env",
            "NOT_SET_X",
            "--yes",
        ],
        "environment variable NOT_SET_X is not set — set NOT_SET_X to the client secret, or use --client-secret-stdin",
    ),
    Case(
        "config set: app id not a GUID",
        ["config", "set", "ExchangeAppId", "6e9157a8-801c-4f5c-9522"],
        f"{NOT_GUID.format('app', '6e9157a8-801c-4f5c-9522')} — {GUID_REMEDY.format('app')}",
    ),
    Case(
        "config set: thumbprint not hex",
        ["config", "set", "ExchangeCertThumbprint", "zz", "--yes"],
        "thumbprint contains 'z' at position 1, which is not a hex digit — copy the Thumbprint of the certificate "
        r"(Certificate dialog → Details → Thumbprint, or Get-ChildItem Cert:\LocalMachine\My)",
    ),
    Case(
        "config set: empty key",
        ["config", "set", "", "x"],
        "the key is empty — use the key's exact name, like ExchangeAppId (see `roomsops config show`)",
    ),
    Case(
        "config set: tab in the key",
        ["config", "set", "Bad\tKey", "x"],
        "key 'Bad<U+0009>Key' contains U+0009, which a key cannot hold — use the key's exact name, like "
        "ExchangeAppId (see `roomsops config show`)",
    ),
    Case(
        "config set: control character in the value",
        ["config", "set", "ExchangeClientSecret", "ab\x01c", "--yes"],
        "the value for 'ExchangeClientSecret' contains U+0001 at position 3, which an XML file cannot hold — "
        "remove that character from the value",
    ),
    Case(
        "config set -: nothing on stdin",
        ["config", "set", "ExchangeClientSecret", "-", "--yes"],
        "nothing on standard input — pipe the value into the command",
    ),
    Case(
        "config set: no --yes without a TTY",
        ["config", "set", "ExchangeClientSecret", "new-secret-value"],
        "Replace ExchangeClientSecret in {dir}/RoomsAppSettings.config: this needs confirmation — run it on a "
        "terminal to confirm, or pass --yes",
    ),
    Case(
        "config unset: no --yes without a TTY",
        ["config", "unset", "ExchangeClientSecret"],
        "Remove ExchangeClientSecret from {dir}/RoomsAppSettings.config: this needs confirmation — run it on a "
        "terminal to confirm, or pass --yes",
    ),
    Case(
        "config unset: a key not in the file",
        ["config", "unset", "NoSuchKey", "--force"],
        "key 'NoSuchKey' is not in {dir}/RoomsAppSettings.config — see `roomsops config show`",
    ),
    Case(
        "config unset: a key ROOMS does not document",
        ["config", "unset", "NoSuchKey"],
        "'NoSuchKey' is not a key ROOMS documents for RoomsAppSettings.config; nothing was changed — check the "
        "spelling (README, 'Keys of RoomsAppSettings.config'), or add --force to unset a key ROOMS does not "
        "document",
    ),
    Case(
        "config set: a mistyped key",
        ["config", "set", "ExchangTenantId", "x"],
        "'ExchangTenantId' is not a key ROOMS documents for RoomsAppSettings.config (closest: ExchangeTenantId); "
        "nothing was changed — use ExchangeTenantId, or add --force to set a key ROOMS does not document",
    ),
    # --- config: the file itself
    Case(
        "truncated RoomsAppSettings.config",
        ["config", "set", "ExchangeAppId", GUID],
        "{dir}/RoomsAppSettings.config: malformed XML at line 5, column 5: unclosed token — " + BY_HAND,
        config_bytes(SAMPLE[:200]),
    ),
    Case(
        "RoomsAppSettings.config in Latin-1",
        ["config", "show"],
        "{dir}/RoomsAppSettings.config is not UTF-8: byte 0xFC at line 2 is not valid UTF-8 — " + SAVE_UTF8,
        config_bytes(SAMPLE.replace(b"edited by hand", b"f\xfcr Z\xfcrich")),
    ),
    Case(
        "RoomsAppSettings.config in UTF-16",
        ["config", "show"],
        "{dir}/RoomsAppSettings.config is UTF-16 (it starts with a UTF-16 byte-order mark); it must be UTF-8 — "
        + SAVE_UTF8,
        config_bytes(SAMPLE.decode("utf-8-sig").encode("utf-16")),
    ),
    Case(
        "RoomsAppSettings.config empty",
        ["config", "show"],
        "{dir}/RoomsAppSettings.config is empty — " + BY_HAND,
        config_bytes(b""),
    ),
    Case(
        "another .config file",
        ["config", "show"],
        "{dir}/RoomsAppSettings.config: the root element is <appSettings>, not <RoomsAppSettings> — point "
        "--app-settings at ROOMS' RoomsAppSettings.config",
        config_bytes(SAMPLE.replace(b"RoomsAppSettings", b"appSettings")),
    ),
    Case(
        "a key twice",
        ["config", "set", "ExchangeAppId", TENANT],
        "key 'ExchangeAppId' occurs 2 times in {dir}/RoomsAppSettings.config (lines 6, 7) — remove the duplicate "
        "by hand, keeping the one that is right",
        config_bytes(SAMPLE.replace(b"ExchangeTenantId", b"ExchangeAppId")),
    ),
    Case(
        "missing RoomsAppSettings.config",
        ["--app-settings", "nothere.config", "config", "show"],
        "nothere.config does not exist — create it with 'roomsops config init', or point --app-settings at "
        "ROOMS' file",
    ),
    # --- settings: roomsops.toml and ROOMSOPS_* variables
    Case(
        "settings: unknown key",
        ["persons", "list"],
        "unknown setting sync.concurency in roomsops.toml — known keys of [sync]: window_days_past, "
        "window_days_future, send_invitations, concurrency, summary_file, full_every, rollback_attempts, cancel_attempts, "
        "on_person_removed, backend, worker_interval, worker_lease",
        append_settings("[sync]\nconcurency = 2\n"),
    ),
    Case(
        "settings: unknown cloud",
        ["persons", "list"],
        "cloud.name in roomsops.toml must be one of global, gcc-high, dod, china, lab, got 'mars' — correct "
        "cloud.name in roomsops.toml",
        append_settings('[cloud]\nname = "mars"\n'),
    ),
    Case(
        "settings: EWS over http",
        ["persons", "list"],
        "cloud.ews_url must be an https:// URL, got 'http://mail.contoso.com/EWS/Exchange.asmx' — the identity "
        "platform, EWS and Microsoft Graph are only reached over TLS",
        append_settings('[cloud]\news_url = "http://mail.contoso.com/EWS/Exchange.asmx"\n'),
    ),
    Case(
        "settings: not TOML",
        ["persons", "list"],
        "settings file roomsops.toml is not valid TOML: Expected ']' at the end of a table declaration (at line "
        "5, column 6) — correct the syntax at that line",
        append_settings("[sync\n"),
    ),
    Case(
        "settings: not UTF-8",
        ["persons", "list"],
        "settings file roomsops.toml is not UTF-8 text — save it as UTF-8",
        write("roomsops.toml", SETTINGS.encode() + b"# Z\xfcrich\n"),
    ),
    Case(
        "settings: missing --settings file",
        ["--settings", "nothere.toml", "persons", "list"],
        "settings file nothere.toml does not exist — pass --settings with an existing file, or unset "
        "ROOMSOPS_SETTINGS",
    ),
    Case(
        "settings: variable of the wrong type",
        ["persons", "list"],
        "sync.concurrency in $ROOMSOPS_SYNC_CONCURRENCY must be a whole number from 1 to 32, got 'many' — correct "
        "sync.concurrency in $ROOMSOPS_SYNC_CONCURRENCY",
        env={"ROOMSOPS_SYNC_CONCURRENCY": "many"},
    ),
    Case(
        "settings: unknown time zone",
        ["bookings", "list"],
        "rooms.time_zone 'Mars/Olympus' is not a known time zone — use an IANA name such as Europe/Zurich",
        env={"ROOMSOPS_ROOMS_TIME_ZONE": "Mars/Olympus"},
    ),
    Case(
        "settings: database URL",
        ["persons", "list"],
        "rooms.database '::::' is not a database URL — write it as e.g. sqlite:///rooms.db",
        env={"ROOMSOPS_ROOMS_DATABASE": "::::"},
    ),
    # --- the database
    Case(
        "database from a newer schema",
        ["persons", "list"],
        "the database {dir}/rooms.db has schema version 99 (written by roomsops 9.0.0), but this roomsops "
        f"0.1.0.dev0 knows schema versions up to {SCHEMA_VERSION} — upgrade roomsops to 9.0.0 or newer; a "
        "database is never "
        "downgraded",
        newer_schema,
    ),
    Case(
        "database is another file",
        ["persons", "list"],
        "{dir}/notes.txt is not an SQLite database — point rooms.database at a roomsops database or at a new file",
        write("notes.txt", "not a database\n" * 100),
        env={"ROOMSOPS_ROOMS_DATABASE": "sqlite:///notes.txt"},
    ),
    # --- persons, rooms and the CSV import
    Case(
        "persons add: not an address",
        ["persons", "add", "not-an-email"],
        "'not-an-email' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    Case(
        "persons add: unknown sync mode",
        ["persons", "add", "x@contoso.com", "--sync-mode", "Outlook"],
        "sync mode 'Outlook' is not one of O365, O365Pull, EWS1, EWS2, Microsoft365, None — use one of ROOMS' "
        "sync modes",
    ),
    Case(
        "persons add: EWS1 over http",
        [
            "persons",
            "add",
            "x@contoso.com",
            "--sync-mode",
            "EWS1",
            "--sync-url",
            "http://mail.contoso.com/EWS/Exchange.asmx",
        ],
        "sync URL 'http://mail.contoso.com/EWS/Exchange.asmx' is not an https:// URL — EWS is reached over TLS, "
        "e.g. https://mail.contoso.com/EWS/Exchange.asmx",
    ),
    Case(
        "persons add: unknown conflict behaviour",
        ["persons", "add", "x@contoso.com", "--conflict-behaviour", "Ignore"],
        "conflict behaviour 'Ignore' is not one of Rollback, Cancel — use Rollback (reset the meeting) or Cancel "
        "(cancel the booking)",
    ),
    Case(
        "persons add: a line break in the name",
        ["persons", "add", "x@contoso.com", "--name", "two\nlines"],
        "the name contains a control character (U+000A) — remove line breaks and tabs from it",
    ),
    Case(
        "persons add: a room's address",
        ["persons", "add", "room@contoso.com"],
        "room@contoso.com is a room, not a person — give the person's own mailbox address",
    ),
    Case(
        "persons set: nothing to change",
        ["persons", "set", "diego@contoso.com"],
        "nothing to change — pass at least one of --email, --name, --sync-mode, --sync-url, --conflict-behaviour",
    ),
    Case(
        "CSV: wrong header",
        ["persons", "import", "p.csv"],
        "p.csv, line 1: the header is 'email,name', not email,name,sync_mode,sync_url,conflict_behaviour — make "
        "the first line exactly email,name,sync_mode,sync_url,conflict_behaviour (comma-separated); nothing was "
        "imported",
        write("p.csv", "email,name\n"),
    ),
    Case(
        "CSV: a bad address on line 3",
        ["persons", "import", "p.csv"],
        "p.csv: 1 problem(s): line 3, email: 'not-mail' is not an e-mail address — correct these rows and import "
        "the file again; nothing was imported",
        write("p.csv", HEADER + "a@contoso.com,A,O365,,\nnot-mail,B,O365,,\n"),
    ),
    Case(
        "CSV: the same person twice",
        ["persons", "import", "p.csv"],
        "p.csv: 1 problem(s): line 3, email: A@contoso.com is already on line 2 — correct these rows and import "
        "the file again; nothing was imported",
        write("p.csv", HEADER + "a@contoso.com,A,O365,,\nA@contoso.com,B,O365,,\n"),
    ),
    Case(
        "CSV: Latin-1",
        ["persons", "import", "p.csv"],
        "p.csv is not UTF-8 text: byte 0xFC on line 2 (Latin-1 or Windows-1252?) — " + CSV_FIX,
        write("p.csv", HEADER.encode() + b"a@contoso.com,Z\xfcrich,O365,,\n"),
    ),
    Case(
        "CSV: UTF-16",
        ["persons", "import", "p.csv"],
        "p.csv is UTF-16 text, not UTF-8 — " + CSV_FIX,
        write("p.csv", (HEADER + "a@contoso.com,A,O365,,\n").encode("utf-16")),
    ),
    Case(
        "CSV: an open quote",
        ["persons", "import", "p.csv"],
        "p.csv, line 2: unexpected end of data — quote cells that contain commas or quotes with double quotes; "
        "nothing was imported",
        write("p.csv", HEADER + 'a@contoso.com,"A,O365,,\n'),
    ),
    Case(
        "CSV: too few fields",
        ["persons", "import", "p.csv"],
        "p.csv: 1 problem(s): line 2: 3 fields, expected 5 (email,name,sync_mode,sync_url,conflict_behaviour) — "
        "correct these rows and import the file again; nothing was imported",
        write("p.csv", HEADER + "a@contoso.com,A,O365\n"),
    ),
    Case(
        "CSV: a room among the persons",
        ["persons", "import", "p.csv"],
        "p.csv, line 3: room@contoso.com is a room, not a person — remove line 3 and import the file again; "
        "nothing was imported",
        write("p.csv", HEADER + "new@contoso.com,N,O365,,\nroom@contoso.com,R,O365,,\n"),
    ),
    Case(
        "CSV: empty file",
        ["persons", "import", "p.csv"],
        "p.csv is empty — its first line must be the header email,name,sync_mode,sync_url,conflict_behaviour",
        write("p.csv", ""),
    ),
    Case(
        "rooms add: blank name",
        ["rooms", "add", "r2@contoso.com", "--name", "  "],
        "the room name is empty — give a room name",
    ),
    Case(
        "rooms add: a person's address",
        ["rooms", "add", "diego@contoso.com", "--name", "X"],
        "diego@contoso.com is a person, not a room — give the room's resource mailbox address",
    ),
    # --- bookings: times, addresses, options
    Case(
        "time: not a time",
        [*BOOK, "--start", "tomorrow 9am", "--end", "2031-04-01T10:00"],
        "'tomorrow 9am' is not a time — write it as YYYY-MM-DDTHH:MM, e.g. 2026-12-01T09:00",
    ),
    Case(
        "time: end before start",
        [*BOOK, "--start", "2031-04-01T10:00", "--end", "2031-04-01T09:00"],
        "the end 2031-04-01 09:00 is not after the start 2031-04-01 10:00 (Europe/Zurich) — give an end time "
        "after the start",
    ),
    Case(
        "time: in the daylight-saving gap",
        [*BOOK, "--start", "2031-03-30T02:30", "--end", "2031-03-30T03:30"],
        "2031-03-30T02:30 does not exist in Europe/Zurich (the clock jumps forward at that time) — choose a time "
        "outside the daylight-saving change",
    ),
    Case(
        "time: ambiguous (clock set back)",
        [*BOOK, "--start", "2031-10-26T02:30", "--end", "2031-10-26T03:30"],
        "2031-10-26T02:30 is ambiguous in Europe/Zurich (the clock is set back at that time) — give the time with "
        "its UTC offset, e.g. 2026-10-25T02:30+02:00",
    ),
    Case(
        "time: before the year 1 in UTC",
        [*BOOK, "--start", "0001-01-01T00:30", "--end", "2031-04-01T10:00"],
        "'0001-01-01T00:30' is outside the times roomsops can store — give a time between the years 1 and 9999",
    ),
    Case(
        "bookings add: unknown organizer",
        [
            "bookings",
            "add",
            "--organizer",
            "nobody@contoso.com",
            "--room",
            "room@contoso.com",
            "--title",
            "T",
            *SLOT,
        ],
        "nobody@contoso.com is not a known person — add it first with 'roomsops persons add nobody@contoso.com' (it looks the address up "
        "in Exchange), or see 'roomsops persons list'",
    ),
    Case(
        "bookings add: attendee not an address",
        [*BOOK, *SLOT, "--attendee", "bad@"],
        "attendee 'bad@' is not an e-mail address — write it as name@domain, e.g. diego@contoso.com",
    ),
    Case(
        "bookings add: the room is taken",
        [*BOOK, "--start", "2031-03-31T09:30", "--end", "2031-03-31T10:30"],
        'Zürich (room@contoso.com) is already booked 2031-03-31 09:00–10:00 (Europe/Zurich) by booking 1 "Plan" '
        "— choose another time or room; see 'roomsops bookings list --room room@contoso.com'",
    ),
    Case(
        "bookings add: negative reminder",
        [*BOOK, *SLOT, "--reminder", "-5"],
        "the reminder -5 is negative — give the minutes before the start, e.g. 15",
    ),
    Case(
        "bookings add: unknown free/busy",
        [*BOOK, *SLOT, "--free-busy", "Maybe"],
        "free/busy 'Maybe' is not one of Free, Tentative, Busy, OOF — use one of Free, Tentative, Busy, OOF",
    ),
    Case(
        "bookings update: conflicting options",
        ["bookings", "update", "1", "--attendee", "adele@contoso.com", "--no-attendees"],
        "--attendee and --no-attendees exclude each other — give one of them",
    ),
    Case(
        "bookings update: not a number",
        ["bookings", "update", "abc", "--title", "x"],
        "Invalid value for 'ID': 'abc' is not a valid integer. — see 'roomsops bookings update --help'",
    ),
    Case(
        "bookings cancel: no --yes without a TTY",
        ["bookings", "cancel", "1"],
        'Cancel booking 1 "Plan" (Zürich, 2031-03-31 09:00–10:00 Europe/Zurich): this needs confirmation — run it '
        "on a terminal to confirm, or pass --yes",
    ),
    Case(
        "bookings list: unknown status",
        ["bookings", "list", "--status", "bogus"],
        "status 'bogus' is not one of active, cancelled, sync_disabled — use one of active, cancelled, sync_disabled",
    ),
    # --- policy (checked before anything connects), sync, auth, lab
    Case(
        "policy: a line break in the group name",
        ["policy", "restrict", "--group", "a\nb", "--member", "diego@contoso.com"],
        "group name 'a\\nb' is not valid — use 1 to 64 printable characters",
    ),
    Case(
        "policy: group name too long",
        ["policy", "restrict", "--group", "g" * 65, "--member", "diego@contoso.com"],
        f"group name '{'g' * 65}' is not valid — use 1 to 64 printable characters",
    ),
    Case(
        "policy: member not an address",
        ["policy", "restrict", "--member", "not-an-email"],
        "'not-an-email' is not an e-mail address — give mailboxes as name@domain",
    ),
    Case(
        "policy: a bad line in --members-file",
        ["policy", "restrict", "--members-file", "members.txt"],
        "members.txt, line 2: 'not an address' is not an e-mail address — give mailboxes as name@domain",
        write("members.txt", "diego@contoso.com\nnot an address\n"),
    ),
    Case(
        "policy: member and probe at once",
        ["policy", "restrict", "--member", "diego@contoso.com", "--probe", "diego@contoso.com"],
        "diego@contoso.com is both a member and a --probe — a probe is a mailbox that must stay outside the group",
    ),
    Case(
        "policy: unknown access right",
        ["policy", "restrict", "--member", "diego@contoso.com", "--access-right", "Allow"],
        "Invalid value for '--access-right': 'Allow' is not one of 'RestrictAccess', 'DenyAccess'. — see "
        "'roomsops policy restrict --help'",
    ),
    Case(
        "policy test: not an address",
        ["policy", "test", "not-an-email"],
        "'not-an-email' is not an e-mail address — give mailboxes as name@domain",
    ),
    Case(
        "sync: options of the pass on a subcommand",
        ["sync", "--dry-run", "diff"],
        "--person, --dry-run, --concurrency, --full, --worker, --batch, --until-idle and --name belong to the sync pass itself — "
        "see 'roomsops sync diff --help'",
    ),
    Case(
        "sync: concurrency 0",
        ["sync", "--concurrency", "0"],
        "sync.concurrency in option --concurrency must be a whole number from 1 to 32, got '0' — correct "
        "sync.concurrency in option --concurrency",
    ),
    Case(
        "sync: --person not an address",
        ["sync", "--person", "not-an-email"],
        "'not-an-email' is not an e-mail address — give mailboxes as name@domain",
    ),
    Case(
        "sync resolve: unknown --use",
        ["sync", "resolve", "1", "--use", "both"],
        "Invalid value for '--use': 'both' is not one of 'exchange', 'rooms', 'ignore'. — see 'roomsops sync "
        "resolve --help'",
    ),
    Case(
        "auth test: --mailbox not an address",
        ["auth", "test", "--mailbox", "bad"],
        "'bad' is not an e-mail address — give mailboxes as name@domain",
    ),
    Case(
        "lab serve: port out of range",
        ["lab", "serve", "--dir", "lab", "--port", "70000"],
        "Invalid value for '--port': 70000 is not in the range 0<=x<=65535. — see 'roomsops lab serve --help'",
    ),
    Case(
        "unknown command",
        ["bogus"],
        "No such command 'bogus'. Did you mean 'bookings'? — see 'roomsops --help'",
    ),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """roomsops.toml, RoomsAppSettings.config, and a database with diego, adele, room and booking 1."""
    folder = tmp_path_factory.mktemp("prepared")
    (folder / "roomsops.toml").write_text(SETTINGS, encoding="utf-8")
    (folder / "RoomsAppSettings.config").write_bytes(SAMPLE)
    settings = ["--settings", str(folder / "roomsops.toml")]
    for args in (
        ["persons", "add", "diego@contoso.com", "--name", "Diego", "--no-check"],
        ["persons", "add", "adele@contoso.com", "--no-check"],
        ["rooms", "add", "room@contoso.com", "--name", "Zürich", "--no-check"],
        [
            "bookings",
            "add",
            "--organizer",
            "diego@contoso.com",
            "--room",
            "room@contoso.com",
            "--title",
            "Plan",
            "--start",
            "2031-03-31T09:00",
            "--end",
            "2031-03-31T10:00",
        ],
    ):
        result = CliRunner().invoke(cli, [*settings, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: Case, invoke: Invoke, prepared: Path, tmp_path: Path
) -> None:
    shutil.copytree(prepared, tmp_path, dirs_exist_ok=True)  # tmp_path is the working folder
    if case.arrange is not None:
        case.arrange(tmp_path)
    before = snapshot(tmp_path)
    run = invoke(*case.args, input="", env=case.env)
    assert (run.code, run.out) == (2, ""), run.out + run.err
    assert run.err == f"Error: {case.error.format(dir=tmp_path.resolve())}\n"
    assert snapshot(tmp_path) == before

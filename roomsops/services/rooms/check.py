"""`rooms check`: each room mailbox's calendar processing against roomsops' profile (docs/settings.md, "The room
profile"); `--fix` sets only what differs with Set-CalendarProcessing, audited, and reads it back.

All rooms are read in one pipeline (two with `--all-room-mailboxes`), fixed in one and verified in one, whatever
their number; the comparison itself is pure (`compare`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roomsops import __version__
from roomsops.adapters import store as db
from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.errors import CmdletFailure
from roomsops.adapters.exo.exchange import MailboxProcessing
from roomsops.adapters.exo.objects import CalendarProcessing, Recipient
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.errors import InputError, RoomsopsError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Check, Result, Status
from roomsops.core.settings import ProfileValue, Settings
from roomsops.core.templates import render
from roomsops.core.vocabulary import CALENDAR_PROCESSING
from roomsops.services.policy.group import Applier
from roomsops.services.policy.model import Confirm, Progress
from roomsops.services.rooms.common import database_url, open_database, person_modes
from roomsops.services.rooms.mailboxes import not_a_room_remedy

ROOM = "RoomMailbox"
#: The settings where more is fine: a wider booking window, a longer maximum (0: unlimited).
AT_LEAST = ("BookingWindowInDays", "MaximumDurationInMinutes")
UNLIMITED_DURATION = 0
#: The built-in profile, before `[rooms.profile]` (the two AT_LEAST values come from rooms.* settings).
PROFILE: dict[str, ProfileValue] = {
    "AutomateProcessing": "AutoAccept",
    "AddOrganizerToSubject": False,
    "DeleteSubject": False,
    "DeleteComments": False,
    "RemovePrivateProperty": False,
    "AllowRecurringMeetings": True,
    "ConflictPercentageAllowed": 25,
    "MaximumConflictInstances": 5,
    "ProcessExternalMeetingMessages": False,
}
#: Why each setting matters for ROOMS, one line each (also for those only `[rooms.profile]` asks for).
REASONS: dict[str, str] = {
    "AutomateProcessing": "only AutoAccept makes the room answer meeting requests; else ROOMS' bookings get no answer",
    "AllowConflicts": "with $true the room accepts overlapping meetings: double bookings ROOMS refuses",
    "BookingWindowInDays": "ROOMS books up to {horizon} days ahead (rooms.booking_horizon_days): "
    "the room declines meetings beyond its window",
    "MaximumDurationInMinutes": "ROOMS' longest booking is {longest} minutes (rooms.longest_booking_minutes): "
    "the room declines longer meetings",
    "AllowRecurringMeetings": "with $false the room declines every series ROOMS books",
    "EnforceSchedulingHorizon": "with $true a series reaching beyond the booking window is declined whole",
    "ScheduleOnlyDuringWorkHours": "with $true the room declines bookings outside its working hours",
    "ConflictPercentageAllowed": "at 0 one conflicting occurrence declines a whole series; "
    "with a tolerance the room accepts the series without that occurrence",
    "MaximumConflictInstances": "at 0 one conflicting occurrence declines a whole series; "
    "with a tolerance the room accepts the series without that occurrence",
    "AddOrganizerToSubject": "with $true the room's calendar shows the organizer's name instead of the subject",
    "DeleteSubject": "with $true the room's calendar loses the meeting's subject",
    "DeleteComments": "with $true the room's calendar loses the meeting's text",
    "RemovePrivateProperty": "with $true the room's copy drops the private flag, so private meetings show their details",
    "ProcessExternalMeetingMessages": "with $true organizers outside the tenant can book the room; ROOMS' are inside",
    "AddNewRequestsTentatively": "decides whether new requests show as tentative in the room's calendar",
    "RemoveCanceledMeetings": "decides whether a cancelled meeting stays in the room's calendar",
}
#: The reasons of the AT_LEAST settings when [rooms.profile] sets a value of its own (not the rooms.* setting's).
PROFILE_REASONS = {
    "BookingWindowInDays": "[rooms.profile] sets {value} days (ROOMS books up to {horizon}, "
    "rooms.booking_horizon_days): the room declines meetings beyond its window",
    "MaximumDurationInMinutes": "[rooms.profile] sets {value} minutes (0: unlimited; ROOMS' longest booking is "
    "{longest}, rooms.longest_booking_minutes): the room declines longer meetings",
}
NOTICE = (
    "Calendar processing applies to new meeting requests; meetings already in a room's calendar keep how they "
    "were processed."
)


def shown(value: ProfileValue) -> str:
    """A value as PowerShell shows it ($true, 180, AutoAccept)."""
    if isinstance(value, bool):
        return "$true" if value else "$false"
    return str(value)


def checked(count: int) -> str:
    return f"{count} room{'' if count == 1 else 's'} checked"


@dataclass(frozen=True)
class Wanted:
    setting: str  # Set-CalendarProcessing's parameter
    value: ProfileValue
    reason: str

    @property
    def at_least(self) -> bool:
        return self.setting in AT_LEAST

    def holds(self, current: ProfileValue) -> bool:
        if not self.at_least:
            return current == self.value
        if self.setting == "MaximumDurationInMinutes":
            if current == UNLIMITED_DURATION:
                return True
            if self.value == UNLIMITED_DURATION:  # unlimited wanted: no finite maximum is "at least" that
                return False
        return isinstance(current, int) and isinstance(self.value, int) and current >= self.value


def own_tables(settings: Settings, addresses: Sequence[str]) -> dict[str, ProfileValue]:
    """The `[rooms.profile."<address>"]` tables of one mailbox, for any of its addresses (an alias as well as
    the primary), merged in the order given: the last wins."""
    tables = settings.rooms.profile.rooms
    merged: dict[str, ProfileValue] = {}
    for address in addresses:
        merged.update(tables.get(address.casefold(), {}))
    return merged


def profile(settings: Settings, *addresses: str) -> tuple[Wanted, ...]:
    """The wanted values for one room: the built-in profile, the rooms.* horizon and longest booking, then
    `[rooms.profile]` for every room, then the room's own table under any of `addresses` (the last wins); in
    Set-CalendarProcessing's order."""
    rooms = settings.rooms
    values: dict[str, ProfileValue] = {
        **PROFILE,
        "BookingWindowInDays": rooms.booking_horizon_days,
        "MaximumDurationInMinutes": rooms.longest_booking_minutes,
        **rooms.profile.values,
        **own_tables(settings, addresses),
    }
    from_settings = {
        "BookingWindowInDays": rooms.booking_horizon_days,
        "MaximumDurationInMinutes": rooms.longest_booking_minutes,
    }
    return tuple(
        Wanted(
            name,
            values[name],
            (
                PROFILE_REASONS[name]
                if name in from_settings and values[name] != from_settings[name]
                else REASONS[name]
            ).format(
                horizon=rooms.booking_horizon_days, longest=rooms.longest_booking_minutes, value=values[name]
            ),
        )
        for name in CALENDAR_PROCESSING
        if name in values
    )


@dataclass(frozen=True)
class Difference:
    setting: str
    current: ProfileValue
    wanted: ProfileValue
    at_least: bool
    reason: str

    @property
    def change(self) -> str:
        wanted = f"at least {shown(self.wanted)}" if self.at_least else shown(self.wanted)
        return f"{shown(self.current)} → {wanted}"


def compare(processing: CalendarProcessing, wanted: Sequence[Wanted]) -> tuple[Difference, ...]:
    """Each wanted setting the room does not hold, with its current value."""
    out = []
    for want in wanted:
        current = processing.value(want.setting)
        if not want.holds(current):
            out.append(Difference(want.setting, current, want.value, want.at_least, want.reason))
    return tuple(out)


# --- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomCheck:
    room: str  # the address as given (or found, with --all-room-mailboxes)
    name: str  # ROOMS' name of the room, else the mailbox's Name
    mailbox: str | None  # the mailbox's primary SMTP address (None: not found)
    kind: str | None  # RecipientTypeDetails: RoomMailbox, UserMailbox, SharedMailbox, ...
    status: str  # ok | differs | fixed | not_found | not_a_room | failed
    differences: tuple[Difference, ...] = ()
    problem: str | None = None
    remedy: str | None = None
    # The profile this room was compared with (its own tables found under any of its addresses): --fix's
    # read-back compares with the same.
    wanted: tuple[Wanted, ...] = field(default=(), metadata={"json": False}, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "fixed")

    def lines(self, dry_run: bool) -> list[str]:
        label = f"{self.room} ({self.name})" if self.name and self.name != self.room else self.room
        if self.mailbox and self.mailbox.casefold() != self.room.casefold():
            label += f" [primary address {self.mailbox}]"
        count = len(self.differences)
        plural = "setting" if count == 1 else "settings"
        head = {
            "ok": "ok",
            "differs": f"{count} {plural} differ" + (" (would be set)" if dry_run else ""),
            "fixed": f"fixed {count} {plural}",
        }.get(self.status, f"{self.status.replace('_', ' ')}: {self.problem}")
        out = [f"{label}: {head}"]
        if self.remedy:
            out.append(f"  → {self.remedy}")
        name = max((len(d.setting) for d in self.differences), default=0)
        change = max((len(d.change) for d in self.differences), default=0)
        return out + [f"  {d.setting:{name}}  {d.change:{change}}  {d.reason}" for d in self.differences]


@dataclass(frozen=True)
class RoomsCheckResult(Result):
    source: str  # database | arguments | tenant
    fix: bool
    dry_run: bool
    rooms: tuple[RoomCheck, ...]
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rooms)

    def lines(self) -> list[str]:
        out = [line for room in self.rooms for line in room.lines(self.dry_run)]
        counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in self.summary.items())
        return [*out, f"{checked(len(self.rooms))}: {counts}" if self.rooms else "no rooms to check"]


@dataclass(frozen=True)
class RoomRequest:
    """`rooms check`: which rooms (`rooms` as (address, ROOMS' name); None: every room mailbox of the tenant)."""

    rooms: tuple[tuple[str, str], ...] | None
    source: str
    fix: bool = False
    dry_run: bool = False


def missing_database(settings: Settings) -> str | None:
    """The path of a SQLite `rooms.database` that does not exist yet (None: it exists, or is no file)."""
    url = database_url(settings)
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith("file:"):
        if url.database != ":memory:" and not Path(url.database).exists():
            return url.database
    return None


def database_rooms(settings: Settings) -> tuple[tuple[str, str], ...]:
    """The ROOMS database's rooms as (address, name). Reading never creates the database: a `rooms.database`
    that names no file (a typo, the wrong folder) is exit 2, not a new empty database and installation id."""
    missing = missing_database(settings)
    if missing is not None:
        raise InputError(
            f"there is no ROOMS database at {missing}",
            "check rooms.database, add rooms with 'roomsops rooms add' (it creates the database), name the "
            "rooms (ROOM...), or pass --all-room-mailboxes",
            code="no_database",  # one code for "no database here" (review21w)
        )
    with open_database(settings) as store, store.read() as conn:
        return tuple((r.email, r.name) for r in db.list_rooms(conn))


# --- the check -------------------------------------------------------------------------------------------------


def _judge(read: MailboxProcessing, name: str, settings: Settings, persons: Mapping[str, str]) -> RoomCheck:
    """`persons`: the ROOMS persons' addresses by their case-folded form (a person's mailbox is never to be made
    a room)."""
    mailbox = read.mailbox
    if mailbox is None:
        return RoomCheck(
            read.address,
            name,
            None,
            None,
            "not_found",
            problem=f"no mailbox has the address {read.address}",
            remedy="check the address ('roomsops rooms list'), or create the room mailbox (New-Mailbox -Room)",
        )
    room, shown_name, primary, kind = (
        read.address,
        name or mailbox.name,
        mailbox.primary_smtp,
        mailbox.details,
    )
    if kind != ROOM:
        return RoomCheck(
            room,
            shown_name,
            primary,
            kind,
            "not_a_room",
            problem=f"{room} is a {kind or 'recipient'}, not a room mailbox",
            remedy=not_a_room_remedy(mailbox, persons),
        )
    if read.processing is None:
        return RoomCheck(
            room,
            shown_name,
            primary,
            kind,
            "failed",
            problem="Get-CalendarProcessing returned nothing for it",
            remedy="run Get-CalendarProcessing for it on the management host",
        )
    wanted = profile(settings, *_addresses(mailbox))
    differences = compare(read.processing, wanted)
    return RoomCheck(
        room, shown_name, primary, kind, "differs" if differences else "ok", differences, wanted=wanted
    )


def _addresses(mailbox: Recipient) -> list[str]:
    """Every address of a mailbox, its primary last: the order its `[rooms.profile."<address>"]` tables merge
    in, whichever address the room was given by (so an alias and the primary never want different values)."""
    primary = mailbox.primary_smtp.casefold()
    return [*sorted(mailbox.smtp_addresses - {primary}), primary]


def _read(session: ExchangeSession, request: RoomRequest) -> list[MailboxProcessing]:
    if request.rooms is None:
        return exchange.read_room_mailboxes_processing(session)
    return exchange.read_calendar_processing(session, [address for address, _ in request.rooms])


def _summary(rooms: Sequence[RoomCheck]) -> dict[str, int]:
    return dict(sorted(Counter(r.status for r in rooms).items()))


def check_rooms(
    session: ExchangeSession,
    request: RoomRequest,
    settings: Settings,
    confirm: Confirm,
    audit: AuditLog,
    preview: Callable[[Sequence[str]], None] | None = None,
    progress: Progress | None = None,
) -> RoomsCheckResult:
    """`preview` is shown what --fix would change before `confirm` asks (a person at a terminal); `progress`
    notes each room's change as running and done, for the report of an interrupted run (cli.tenant_change)."""
    reads = _read(session, request)
    names = {address.casefold(): name for address, name in request.rooms or ()}
    persons = {a.casefold(): a for a in person_modes(settings) or {}}
    checks = [_judge(read, names.get(read.address.casefold(), ""), settings, persons) for read in reads]
    to_fix = [c for c in checks if c.status == "differs"]
    notes: tuple[str, ...] = _unused_tables(settings, request, reads)
    if request.fix and to_fix and not request.dry_run:
        if preview is not None:
            preview([line for room in to_fix for line in room.lines(dry_run=True)])
        confirm(
            f"Change the calendar processing of {len(to_fix)} room{'s' if len(to_fix) != 1 else ''} "
            "with Set-CalendarProcessing?"
        )
        fixed = _fix(session, to_fix, audit, progress)
        checks = [fixed.get(c.room, c) for c in checks]
        notes = (*notes, NOTICE)
    return RoomsCheckResult(
        source=request.source,
        fix=request.fix,
        dry_run=request.dry_run,
        rooms=tuple(checks),
        summary=_summary(checks),
        notes=notes,
    )


def _unused_tables(
    settings: Settings, request: RoomRequest, reads: Sequence[MailboxProcessing]
) -> tuple[str, ...]:
    """A `[rooms.profile."<address>"]` table that no room of the database (or tenant) has: most likely a typo,
    which would otherwise leave that room on the common profile unnoticed."""
    if request.source == "arguments" or not reads:
        return ()
    known = {a for r in reads if r.mailbox is not None for a in r.mailbox.smtp_addresses}
    known |= {r.address.casefold() for r in reads}
    unused = sorted(a for a in settings.rooms.profile.rooms if a not in known)
    where = "the ROOMS database" if request.source == "database" else "the tenant's room mailboxes"
    return tuple(f'[rooms.profile."{a}"] names no room of {where}: its values apply to none' for a in unused)


def _fix(
    session: ExchangeSession, rooms: Sequence[RoomCheck], audit: AuditLog, progress: Progress | None
) -> dict[str, RoomCheck]:
    """Set-CalendarProcessing with only the differing parameters, bound, one statement per mailbox (a room given
    by an alias and by its primary address is set once), one pipeline for every room; then one pipeline reads
    them all back."""
    statements: dict[str, tuple[str, dict[str, Any]]] = {}
    for room in rooms:
        params: dict[str, Any] = {"Identity": str(room.mailbox)}
        params.update({d.setting: d.wanted for d in room.differences})
        statements.setdefault(str(room.mailbox).casefold(), (str(room.mailbox), params))
    failures = _apply(Applier(session, audit, progress), list(statements.values()))
    primaries = [target for target, _ in statements.values()]
    again = {r.address: r for r in exchange.read_calendar_processing(session, primaries)}
    out = {}
    for room in rooms:
        read = again[statements[str(room.mailbox).casefold()][0]]
        left = compare(read.processing, room.wanted) if read.processing else room.differences
        if not left:
            out[room.room] = RoomCheck(
                room.room, room.name, room.mailbox, room.kind, "fixed", differences=room.differences
            )
            continue
        failure = next(
            (f for f in failures if f.target and f.target.casefold() == str(room.mailbox).casefold()), None
        )
        out[room.room] = RoomCheck(
            room.room,
            room.name,
            room.mailbox,
            room.kind,
            "failed",
            differences=left,
            problem=(
                f"still differs after Set-CalendarProcessing: {failure.message}"
                if failure
                else f"still differs after Set-CalendarProcessing: {failures[0].message}"
                if failures
                else "Set-CalendarProcessing succeeded, but reading it back finds these settings still differ "
                "(changed again meanwhile, by another administrator or a policy?)"
            ),
            remedy="see the audit log for the cmdlet's answer; run 'roomsops rooms check --fix' again"
            if failures
            else "find out who else sets this room's calendar processing; run 'roomsops rooms check' again",
        )
    return out


def _apply(apply: Applier, statements: Sequence[tuple[str, dict[str, Any]]]) -> list[CmdletFailure]:
    """Applier.each, and when the pipeline is cut off (the WinRM connection drops, Ctrl-C, SIGTERM) each
    statement is still audited, as a change whose outcome is unknown: Exchange may have applied some or all of
    them. The interruption goes on to cli.tenant_change, which reports what was done and not done."""
    try:
        return apply.each("Set-CalendarProcessing", statements)
    except (RoomsopsError, KeyboardInterrupt) as exc:
        reason = (
            exc.message
            if isinstance(exc, RoomsopsError)
            else "interrupted (SIGTERM)"
            if type(exc).__name__ == "Terminated"
            else "interrupted (Ctrl-C)"
        )
        for _, params in statements:
            apply.audit.record(
                "cmdlet:Set-CalendarProcessing",
                apply.session.host,
                params,
                {"error": f"outcome unknown: {reason}"},
            )
        raise


# --- doctor's summary line -------------------------------------------------------------------------------------


def doctor_check(session: ExchangeSession, settings: Settings) -> Check:
    """`rooms check` of the ROOMS database's rooms as one line: failed when a room is missing or no room,
    a warning when a room differs from the profile (bookings are declined or shown wrongly, the sync runs)."""
    try:
        missing = missing_database(settings)
        if missing is not None:
            return Check("rooms", Status.WARNING, f"no ROOMS database yet ({missing})", "roomsops rooms add")
        rooms = database_rooms(settings)
        if not rooms:
            return Check("rooms", Status.WARNING, "no rooms in the ROOMS database", "roomsops rooms add")
        result = check_rooms(session, RoomRequest(rooms, "database"), settings, _never, AuditLog(None))
    except RoomsopsError as exc:
        return Check("rooms", Status.FAILED, exc.message, exc.remedy)
    broken = [r for r in result.rooms if r.status in ("not_found", "not_a_room", "failed")]
    differ = [r for r in result.rooms if r.status == "differs"]
    counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in result.summary.items())
    text = f"{checked(len(result.rooms))}: {counts}"
    if broken:
        return Check(
            "rooms", Status.FAILED, f"{text} ({', '.join(r.room for r in broken)})", "roomsops rooms check"
        )
    if differ:
        return Check(
            "rooms",
            Status.WARNING,
            f"{text} ({', '.join(r.room for r in differ)})",
            "roomsops rooms check --fix",
        )
    return Check("rooms", Status.OK, text)


def _never(question: str) -> None:  # doctor only reads
    raise InputError(f"{question}: doctor changes nothing", None)


# --- the runbook -----------------------------------------------------------------------------------------------


def _text(value: ProfileValue) -> str:
    return str(value)  # True/False, digits, AutoAccept: the runbook converts by the setting's kind


def runbook(settings: Settings, request: RoomRequest, admin_upn: str | None = None) -> str:
    """The equivalent standalone PowerShell runbook (interactive sign-in like the policy runbook): every room,
    value and name is a single-quoted literal, compared by the script itself, and set only for `--fix` (without
    it, or with --dry-run, the runbook reports and changes nothing, as the command does)."""
    base = {w.setting: w for w in profile(settings)}
    overrides: dict[str, list[tuple[str, str]]] = {}
    # Every room's own table: the runbook finds it under any of the mailbox's addresses, as `rooms check` does.
    for address in settings.rooms.profile.rooms:
        own = [(w.setting, _text(w.value)) for w in profile(settings, address) if base.get(w.setting) != w]
        if own:
            overrides[address] = own
    return render(
        "powershell/rooms-check.ps1.j2",
        version=__version__,
        fix=request.fix and not request.dry_run,
        rooms=list(request.rooms) if request.rooms is not None else None,
        wanted=[(w.setting, _text(w.value)) for w in base.values()],
        kinds=[(name, kind) for name, (kind, _, _) in CALENDAR_PROCESSING.items()],
        at_least=list(AT_LEAST),
        overrides=overrides,
        admin_upn=admin_upn,
    )

"""`rooms check`: each room mailbox's calendar processing against roomsops' profile (docs/settings.md, "The room
profile"); `--fix` sets only what differs with Set-CalendarProcessing, audited, and reads it back.

All rooms are read in one pipeline (two with `--all-room-mailboxes`), fixed in one and verified in one, whatever
their number; the comparison itself is pure (`compare`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roomsops import __version__
from roomsops.adapters import store as db
from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.exchange import MailboxProcessing
from roomsops.adapters.exo.objects import CalendarProcessing
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.errors import InputError, RoomsopsError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Check, Result, Status
from roomsops.core.settings import ProfileValue, Settings
from roomsops.core.templates import psquote, render
from roomsops.core.vocabulary import CALENDAR_PROCESSING
from roomsops.services.policy.group import Applier
from roomsops.services.policy.model import Confirm, Progress
from roomsops.services.rooms.common import database_url, open_database

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
        if self.setting == "MaximumDurationInMinutes" and current == UNLIMITED_DURATION:
            return True
        return isinstance(current, int) and isinstance(self.value, int) and current >= self.value


def profile(settings: Settings, address: str) -> tuple[Wanted, ...]:
    """The wanted values for one room: the built-in profile, the rooms.* horizon and longest booking, then
    `[rooms.profile]` for every room, then the room's own table; in Set-CalendarProcessing's order."""
    rooms = settings.rooms
    values: dict[str, ProfileValue] = {
        **PROFILE,
        "BookingWindowInDays": rooms.booking_horizon_days,
        "MaximumDurationInMinutes": rooms.longest_booking_minutes,
        **rooms.profile.for_room(address),
    }
    return tuple(
        Wanted(
            name,
            values[name],
            REASONS[name].format(horizon=rooms.booking_horizon_days, longest=rooms.longest_booking_minutes),
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


def database_rooms(settings: Settings) -> tuple[tuple[str, str], ...]:
    with open_database(settings) as store, store.read() as conn:
        return tuple((r.email, r.name) for r in db.list_rooms(conn))


# --- the check -------------------------------------------------------------------------------------------------


def _judge(read: MailboxProcessing, name: str, settings: Settings) -> RoomCheck:
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
            remedy=f"give the room's own mailbox, or convert this one: Set-Mailbox -Identity {psquote(primary)} -Type Room",
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
    differences = compare(read.processing, profile(settings, room))
    return RoomCheck(room, shown_name, primary, kind, "differs" if differences else "ok", differences)


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
    progress: Progress | None = None,
) -> RoomsCheckResult:
    names = {address.casefold(): name for address, name in request.rooms or ()}
    checks = [
        _judge(read, names.get(read.address.casefold(), ""), settings) for read in _read(session, request)
    ]
    to_fix = [c for c in checks if c.status == "differs"]
    notes: tuple[str, ...] = ()
    if request.fix and to_fix and not request.dry_run:
        confirm(
            f"Change the calendar processing of {len(to_fix)} room{'s' if len(to_fix) != 1 else ''} "
            "with Set-CalendarProcessing?"
        )
        fixed = _fix(session, to_fix, settings, audit, progress)
        checks = [fixed.get(c.room, c) for c in checks]
        notes = (NOTICE,)
    return RoomsCheckResult(
        source=request.source,
        fix=request.fix,
        dry_run=request.dry_run,
        rooms=tuple(checks),
        summary=_summary(checks),
        notes=notes,
    )


def _fix(
    session: ExchangeSession,
    rooms: Sequence[RoomCheck],
    settings: Settings,
    audit: AuditLog,
    progress: Progress | None = None,
) -> dict[str, RoomCheck]:
    """Set-CalendarProcessing with only the differing parameters, bound, one pipeline for every room; then one
    pipeline reads them all back."""
    statements: list[tuple[str, dict[str, Any]]] = []
    for room in rooms:
        params: dict[str, Any] = {"Identity": str(room.mailbox)}
        params.update({d.setting: d.wanted for d in room.differences})
        statements.append((str(room.mailbox), params))
    failures = Applier(session, audit, progress).each("Set-CalendarProcessing", statements)
    again = {
        r.address: r for r in exchange.read_calendar_processing(session, [str(r.mailbox) for r in rooms])
    }
    out = {}
    for room in rooms:
        read = again[str(room.mailbox)]
        left = compare(read.processing, profile(settings, room.room)) if read.processing else room.differences
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
            problem="still differs after Set-CalendarProcessing"
            + (f": {failure.message}" if failure else (f": {failures[0].message}" if failures else "")),
            remedy="see the audit log for the cmdlet's answer; run 'roomsops rooms check --fix' again",
        )
    return out


# --- doctor's summary line -------------------------------------------------------------------------------------


def doctor_check(session: ExchangeSession, settings: Settings) -> Check:
    """`rooms check` of the ROOMS database's rooms as one line: failed when a room is missing or no room,
    a warning when a room differs from the profile (bookings are declined or shown wrongly, the sync runs)."""
    try:
        url = database_url(settings)
        if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
            return Check(
                "rooms", Status.WARNING, f"no ROOMS database yet ({url.database})", "roomsops rooms add"
            )
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
    value and name is a single-quoted literal, compared and set by the script itself."""
    base = {w.setting: w for w in profile(settings, "")}
    overrides: dict[str, list[tuple[str, str]]] = {}
    addresses = (
        [a for a, _ in request.rooms] if request.rooms is not None else list(settings.rooms.profile.rooms)
    )
    for address in addresses:
        own = [(w.setting, _text(w.value)) for w in profile(settings, address) if base.get(w.setting) != w]
        if own:
            overrides[address] = own
    return render(
        "powershell/rooms-check.ps1.j2",
        version=__version__,
        rooms=list(request.rooms) if request.rooms is not None else None,
        wanted=[(w.setting, _text(w.value)) for w in base.values()],
        kinds=[(name, kind) for name, (kind, _, _) in CALENDAR_PROCESSING.items()],
        at_least=list(AT_LEAST),
        overrides=overrides,
        admin_upn=admin_upn,
    )

"""`roomsops bookings ...`: room bookings on the ROOMS side (what the sync mirrors into calendars)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.options import BOOKING_ID, GIVEN_TEXT
from roomsops.core.errors import InputError
from roomsops.core.timeutil import parse_time, zone
from roomsops.core.vocabulary import FREE_BUSY, STATUSES

if TYPE_CHECKING:
    from roomsops.services.rooms import bookings as service
    from roomsops.services.rooms import common, series
else:
    common = lazy("roomsops.services.rooms.common")
    service = lazy("roomsops.services.rooms.bookings")
    series = lazy("roomsops.services.rooms.series")


pass_app = click.make_pass_decorator(AppContext)
#: A booking id is a SQLite INTEGER: a larger number is no booking (exit 2), not an overflow inside the database.
YES = click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")

_TIME_HELP = "ISO time with offset, or local in rooms.time_zone (e.g. 2031-03-31T09:00)."
ALLOW_PAST = click.option(
    "--allow-past", is_flag=True, help="Accept a start before now (else refused: a wrong date, most likely)."
)
FREE_BUSY_OPTION = click.option(
    "--free-busy", metavar="|".join(FREE_BUSY), help="Free/busy status shown in calendars (default Busy)."
)


F = TypeVar("F", bound=Callable[..., Any])


def repeat_options(update: bool) -> Callable[[F], F]:
    """The options that make a booking a series (and, on update, change its pattern or range)."""
    options = [
        click.option("--daily", is_flag=True, help="Repeat every day (with --interval N: every N days)."),
        click.option(
            "--weekly", metavar="DAYS", help="Repeat every week on these days, e.g. mon,wed (or weekdays)."
        ),
        click.option(
            "--monthly",
            metavar="DAY",
            help="Repeat every month on a day (15; 31 is the last day in shorter months) or a weekday (last-fri).",
        ),
        click.option(
            "--yearly",
            metavar="DATE",
            help="Repeat every year on a day (feb-29 or 02-29) or a weekday (last-fri-mar).",
        ),
        click.option(
            "--interval",
            type=int,
            metavar="N",
            help="Days, weeks or months between occurrences (1-99; default 1).",
        ),
        click.option(
            "--until",
            metavar="DATE",
            help="Last day of the series (local, YYYY-MM-DD); without --until or --count it is booked up to "
            "rooms.booking_horizon_days ahead.",
        ),
        click.option("--count", type=int, metavar="N", help="End after N occurrences."),
    ]
    if update:
        options.append(
            click.option(
                "--no-end", is_flag=True, help="The series has no end (booked up to the booking horizon)."
            )
        )

    def apply(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return apply


def _repeat(options: dict[str, Any]) -> series.Repeat | None:
    repeat = series.Repeat(
        daily=options["daily"],
        weekly=options["weekly"],
        monthly=options["monthly"],
        yearly=options["yearly"],
        interval=options["interval"],
        until=options["until"],
        count=options["count"],
        no_end=options.get("no_end", False),
    )
    return repeat if repeat.given else None


def _occurrence(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--occurrence {text!r} is not a date",
            "give the occurrence's date as YYYY-MM-DD (local, as first booked), e.g. --occurrence 2031-04-07",
        ) from None


OCCURRENCE = click.option(
    "--occurrence",
    metavar="DATE",
    help="Only this occurrence of a series: its date (local, YYYY-MM-DD, as first booked).",
)


def _zone(app: AppContext) -> ZoneInfo:
    return zone(app.settings.rooms.time_zone)


def _time(text: str | None, tz: ZoneInfo) -> datetime | None:
    return None if text is None else parse_time(text, tz)


@click.group()
def bookings() -> None:
    """Room bookings: add, list, update, cancel (a room is never double-booked)."""


@bookings.command("add")
@click.option("--organizer", required=True, metavar="EMAIL", help="A known person (roomsops persons add).")
@click.option("--room", required=True, metavar="EMAIL", help="A known room (roomsops rooms add).")
@click.option("--start", required=True, metavar="TIME", help=_TIME_HELP)
@click.option("--end", required=True, metavar="TIME", help="End time, after the start.")
@click.option("--title", required=True, metavar="TEXT", help="Subject of the meeting.")
@click.option(
    "--attendee", "attendees", multiple=True, metavar="EMAIL", help="Required attendee (repeatable)."
)
@click.option("--private", is_flag=True, help="Mark the meeting private.")
@click.option("--reminder", type=int, metavar="MINUTES", help="Reminder, minutes before the start.")
@FREE_BUSY_OPTION
@ALLOW_PAST
@repeat_options(update=False)
@pass_app
def add_cmd(
    app: AppContext,
    organizer: str,
    room: str,
    start: str,
    end: str,
    title: str,
    attendees: tuple[str, ...],
    private: bool,
    reminder: int | None,
    free_busy: str | None,
    allow_past: bool,
    **repeat: Any,
) -> int:
    """Book a room, once or as a series (--daily, --weekly, --monthly, --yearly); refused when another booking
    holds it at that time (for a series: at any occurrence, naming each), or when it starts in the past."""
    tz = _zone(app)
    request = service.BookingRequest(
        organizer=organizer,
        room=room,
        start=parse_time(start, tz),
        end=parse_time(end, tz),
        title=title,
        attendees=attendees,
        private=private,
        reminder_minutes=reminder,
        free_busy=free_busy or service.DEFAULT_FREE_BUSY,
        allow_past=allow_past,
        repeat=_repeat(repeat),
        horizon_days=app.settings.rooms.booking_horizon_days,
        attendee_primaries=_attendee_primaries(app, attendees),
    )
    with common.open_database(app.settings) as store:
        result = service.add_booking(store, app.audit, tz, request)
    return app.emit(result)


def _attendee_primaries(app: AppContext, attendees: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """With rooms.check_addresses: the primary SMTP address of each attendee that is no ROOMS person or room as
    typed, from the admin look-up (Get-Recipient), so that an alias of a ROOMS room is refused as the room is
    (review21y). Empty when the look-up is off or cannot run: the addresses as typed are still checked."""
    if not attendees or not app.settings.rooms.check_addresses:
        return ()
    from roomsops.cli.mailbox_check import primaries_from_admin

    persons, rooms = common.recorded_mailboxes(app.settings)
    if not rooms:
        return ()
    unknown = []
    for value in dict.fromkeys(attendees):
        try:
            address = common.check_email(value, "attendee")
        except InputError:
            continue  # refused by the booking's own checks, before anything is recorded
        if address.casefold() not in persons and address.casefold() not in rooms:
            unknown.append(address)
    return tuple(sorted(primaries_from_admin(app, unknown).items()))


@bookings.command("list")
@click.option("--from", "start", metavar="TIME", help="Only bookings ending after this time.")
@click.option("--to", "end", metavar="TIME", help="Only bookings starting before this time.")
@click.option("--organizer", type=GIVEN_TEXT, metavar="EMAIL", help="Only this organizer's bookings.")
@click.option("--room", type=GIVEN_TEXT, metavar="EMAIL", help="Only this room's bookings.")
@click.option(
    "--status", "statuses", multiple=True, metavar="|".join(STATUSES), help="Only this status (repeatable)."
)
@pass_app
def list_cmd(
    app: AppContext,
    start: str | None,
    end: str | None,
    organizer: str | None,
    room: str | None,
    statuses: tuple[str, ...],
) -> int:
    """List bookings by start time (times in rooms.time_zone; --json: UTC)."""
    tz = _zone(app)
    where = service.BookingFilter(_time(start, tz), _time(end, tz), organizer, room, statuses)
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.list_bookings(store, tz, where)
    return app.emit(result)


@bookings.command("update")
@click.argument("booking_id", metavar="ID", type=BOOKING_ID)
@click.option("--start", metavar="TIME", help=_TIME_HELP)
@click.option("--end", metavar="TIME", help="New end time.")
@click.option("--title", metavar="TEXT", help="New subject.")
@click.option("--room", metavar="EMAIL", help="Move to this known room (it must be free).")
@click.option(
    "--attendee", "attendees", multiple=True, metavar="EMAIL", help="Replace the attendees (repeatable)."
)
@click.option("--no-attendees", is_flag=True, help="Remove all attendees.")
@click.option("--private/--no-private", default=None, help="Mark the meeting private, or not.")
@click.option("--reminder", type=int, metavar="MINUTES", help="Reminder, minutes before the start.")
@click.option("--no-reminder", is_flag=True, help="Remove the reminder.")
@FREE_BUSY_OPTION
@ALLOW_PAST
@repeat_options(update=True)
@OCCURRENCE
@pass_app
def update_cmd(
    app: AppContext,
    booking_id: int,
    start: str | None,
    end: str | None,
    title: str | None,
    room: str | None,
    attendees: tuple[str, ...],
    no_attendees: bool,
    private: bool | None,
    reminder: int | None,
    no_reminder: bool,
    free_busy: str | None,
    allow_past: bool,
    occurrence: str | None,
    **repeat: Any,
) -> int:
    """Change a booking, a whole series (its times or pattern too), or one occurrence of it (--occurrence DATE:
    its times, title, private, reminder, free/busy); a new time or room must be free, a new start not in the past."""
    if attendees and no_attendees:
        raise InputError("--attendee and --no-attendees exclude each other", "give one of them")
    if reminder is not None and no_reminder:
        raise InputError("--reminder and --no-reminder exclude each other", "give one of them")
    tz = _zone(app)
    changes = service.BookingChanges(
        start=_time(start, tz),
        end=_time(end, tz),
        title=title,
        room=room,
        attendees=() if no_attendees else (attendees or None),
        private=private,
        reminder_minutes=None if no_reminder else (service.KEEP if reminder is None else reminder),
        free_busy=free_busy,
        allow_past=allow_past,
        repeat=_repeat(repeat),
        horizon_days=app.settings.rooms.booking_horizon_days,
        attendee_primaries=_attendee_primaries(app, attendees),
    )
    day = _occurrence(occurrence)
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.update_booking(store, app.audit, tz, booking_id, changes, day)
    return app.emit(result)


@bookings.command("cancel")
@click.argument("booking_id", metavar="ID", type=BOOKING_ID)
@OCCURRENCE
@YES
@pass_app
def cancel_cmd(app: AppContext, booking_id: int, occurrence: str | None, yes: bool) -> int:
    """Cancel a booking (a series with every occurrence), or one occurrence of a series (--occurrence DATE); asks
    on a terminal, without one needs --yes."""
    tz = _zone(app)
    day = _occurrence(occurrence)
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.cancel_booking(
            store, app.audit, tz, booking_id, lambda q: app.confirm(q, yes), occurrence=day
        )
    return app.emit(result)

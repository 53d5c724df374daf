"""`roomsops rooms ...`: the rooms (resource mailboxes) that bookings reserve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.mailbox_check import NO_CHECK, check_in_exchange, checks_addresses
from roomsops.cli.runbook import print_runbook
from roomsops.cli.tenant_change import read_only, tenant_change
from roomsops.core.addresses import unique, validate_address
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog

if TYPE_CHECKING:
    from roomsops.services.policy.model import Progress
    from roomsops.services.rooms import check, common
    from roomsops.services.rooms import rooms as service
else:
    check = lazy("roomsops.services.rooms.check")
    common = lazy("roomsops.services.rooms.common")
    service = lazy("roomsops.services.rooms.rooms")


pass_app = click.make_pass_decorator(AppContext)


@click.group()
def rooms() -> None:
    """Rooms: the resource mailboxes that bookings reserve."""


@rooms.command("add")
@click.argument("email")
@click.option("--name", required=True, metavar="TEXT", help="The room's display name.")
@click.option(
    "--sync-master/--no-sync-master",
    default=False,
    show_default=True,
    help="ROOMS' 'Ist Sync-Master': a booking ROOMS cannot accept is also removed in Exchange.",
)
@NO_CHECK
@pass_app
def add_cmd(app: AppContext, email: str, name: str, sync_master: bool, no_check: bool) -> int:
    """Add a room by its room mailbox address (looked up in Exchange unless --no-check)."""
    if checks_addresses(app, no_check):  # the database first: Exchange's remedy for a person is to convert it
        service.refuse_recorded(app.settings, email)
    mailbox = check_in_exchange(app, email, "room", no_check)
    with common.open_database(app.settings) as store:
        addresses = mailbox.smtp_addresses if mailbox is not None else None
        result = service.add_room(store, app.audit, email, name, sync_master, addresses)
    return app.emit(result)


@rooms.command("set")
@click.argument("email")
@click.option("--name", metavar="TEXT", help="The room's new display name.")
@click.option(
    "--sync-master/--no-sync-master",
    default=None,
    help="ROOMS' 'Ist Sync-Master': a booking ROOMS cannot accept is also removed in Exchange.",
)
@pass_app
def set_cmd(app: AppContext, email: str, name: str | None, sync_master: bool | None) -> int:
    """Change a room's name or sync master flag."""
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.set_room(store, app.audit, email, name, sync_master)
    return app.emit(result)


@rooms.command("remove")
@click.argument("email")
@click.option(
    "--cancel-bookings",
    is_flag=True,
    help="Cancel the room's active bookings (else they refuse the removal).",
)
@click.option(
    "--leave-meetings",
    is_flag=True,
    help="Remove it even while meetings of its cancelled bookings are still in Exchange (the sync cannot cancel "
    "them: the organizer's mailbox is gone or out of the sync app's reach); those meetings stay, to be cancelled "
    "in Exchange.",
)
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def remove_cmd(app: AppContext, email: str, cancel_bookings: bool, leave_meetings: bool, yes: bool) -> int:
    """Remove a room; refused while it has active bookings, unless --cancel-bookings."""
    from roomsops.services.rooms.removal import remove_record

    with common.open_database(app.settings, existing_only=True) as store:
        result = remove_record(
            store,
            app.audit,
            "room",
            email,
            cancel_bookings,
            lambda q: app.confirm(q, yes),
            leave_meetings=leave_meetings,
        )
    return app.emit(result)


@rooms.command("list")
@pass_app
def list_cmd(app: AppContext) -> int:
    """List the rooms."""
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.list_rooms(store)
    return app.emit(result)


@rooms.command("check")
@click.argument("room_addresses", metavar="[ROOM]...", nargs=-1)
@click.option(
    "--all-room-mailboxes",
    is_flag=True,
    help="Every room mailbox of the tenant, not the ROOMS database's rooms.",
)
@click.option("--fix", is_flag=True, help="Set what differs with Set-CalendarProcessing, then read it back.")
@click.option("--dry-run", is_flag=True, help="With --fix: show what would be set; change nothing.")
@click.option(
    "--print-script", is_flag=True, help="Print the equivalent PowerShell runbook; connect nowhere."
)
@click.option(
    "--admin-upn", metavar="UPN", help="With --print-script: the administrator the runbook signs in as."
)
@click.option("--yes", "-y", is_flag=True, help="With --fix: change without asking.")
@pass_app
def check_cmd(
    app: AppContext,
    room_addresses: tuple[str, ...],
    all_room_mailboxes: bool,
    fix: bool,
    dry_run: bool,
    print_script: bool,
    admin_upn: str | None,
    yes: bool,
) -> int:
    """Compare each room mailbox's calendar processing with the room profile ([rooms.profile]).

    Default: every room of the ROOMS database. Exit 0 when every room matches, 1 when one differs, is not
    found or is no room mailbox.

    \b
    Examples:
      roomsops rooms check
      roomsops rooms check room-zurich@contoso.com --fix --yes
      roomsops rooms check --all-room-mailboxes --print-script > rooms.ps1
    """
    if room_addresses and all_room_mailboxes:
        raise InputError("ROOM arguments and --all-room-mailboxes exclude each other", "give one of them")
    if room_addresses:
        listed = tuple((address, "") for address in unique(validate_address(a) for a in room_addresses))
        request = check.RoomRequest(listed, "arguments", fix, dry_run)
    elif all_room_mailboxes:
        request = check.RoomRequest(None, "tenant", fix, dry_run)
    else:
        rooms_in_database = check.database_rooms(app.settings)
        if not rooms_in_database:
            raise InputError(
                "the ROOMS database has no rooms",
                "add them with 'roomsops rooms add', name them (ROOM...), or pass --all-room-mailboxes",
            )
        request = check.RoomRequest(rooms_in_database, "database", fix, dry_run)
    if print_script:
        return print_runbook(app, check.runbook(app.settings, request, admin_upn))
    # On a terminal the person asked sees what would change first; with --yes or without a terminal the
    # result names it.
    preview = (lambda lines: app.out.note("\n".join(lines))) if fix and not yes and app.interactive else None

    # Only --fix records changes: a plain check or a dry run needs no audit log (nor a usable log.audit).
    audit = app.audit if fix and not dry_run else AuditLog(None)

    def run(progress: Progress | None = None) -> int:
        with app.open_admin(None) as session:
            result = check.check_rooms(
                session, request, app.settings, lambda q: app.confirm(q, yes), audit, preview, progress
            )
        return app.emit(result)

    if not fix or dry_run:
        with read_only():  # it only reads: a dropped connection is exit 3, nothing claimed done
            return run()
    # --fix changes the tenant: the audit log is checked first, and SIGTERM, Ctrl-C or a dropped connection
    # end with Disconnect-ExchangeOnline and the list of rooms set and not set.
    undo = (
        "set the previous values back with Set-CalendarProcessing (the audit log has the values set for each "
        "room, not the ones before; Get-CalendarProcessing shows the current ones)"
    )
    return tenant_change(app, "rooms check --fix", undo, run)

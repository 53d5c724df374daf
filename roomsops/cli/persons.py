"""`roomsops persons ...`: the persons whose bookings are synced, and their ROOMS sync settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.mailbox_check import (
    NO_CHECK,
    check_in_exchange,
    checks_addresses,
    primaries_from_admin,
    problems_in_exchange,
)
from roomsops.core.vocabulary import CONFLICT_BEHAVIOURS, SYNC_MODES

if TYPE_CHECKING:
    from roomsops.services.rooms import common
    from roomsops.services.rooms import persons as service
else:
    common = lazy("roomsops.services.rooms.common")
    service = lazy("roomsops.services.rooms.persons")


pass_app = click.make_pass_decorator(AppContext)

_MODES = ", ".join(SYNC_MODES)
NAME = click.option("--name", metavar="TEXT", help="Display name.")
SYNC_MODE = click.option(
    "--sync-mode",
    metavar="MODE",
    help=f"ROOMS' sync mode: {_MODES} (roomsops syncs O365 and O365Pull over EWS, Microsoft365 over Graph; default O365).",
)
SYNC_URL = click.option(
    "--sync-url",
    metavar="URL",
    help="EWS URL: default cloud.ews_url for O365/O365Pull; required (https, .asmx) for EWS1/EWS2.",
)
CONFLICT = click.option(
    "--conflict-behaviour",
    metavar="|".join(CONFLICT_BEHAVIOURS),
    help="What the sync does when Exchange holds a change ROOMS cannot accept (default Rollback).",
)


@click.group()
def persons() -> None:
    """Persons (booking organizers) and their ROOMS sync settings."""


@persons.command("add")
@click.argument("email")
@NAME
@SYNC_MODE
@SYNC_URL
@CONFLICT
@NO_CHECK
@pass_app
def add_cmd(
    app: AppContext,
    email: str,
    name: str | None,
    sync_mode: str | None,
    sync_url: str | None,
    conflict_behaviour: str | None,
    no_check: bool,
) -> int:
    """Add a person by mailbox address (its primary SMTP address, looked up in Exchange unless --no-check)."""
    if checks_addresses(
        app, no_check
    ):  # the database first: Exchange's remedy for a room would be 'rooms add'
        service.refuse_recorded(app.settings, email)
    mailbox = check_in_exchange(app, email, "person", no_check)
    with common.open_database(app.settings) as store:
        result = service.add_person(
            store,
            app.audit,
            app.settings.cloud.ews_url,
            email,
            name or "",
            sync_mode or "",
            sync_url or "",
            conflict_behaviour or "",
            mailbox.smtp_addresses if mailbox is not None else None,
        )
    return app.emit(result)


@persons.command("set")
@click.argument("email")
@click.option(
    "--email",
    "new_email",
    metavar="EMAIL",
    help="Rename: the person's right address (bookings kept; looked up in Exchange unless --no-check).",
)
@NAME
@SYNC_MODE
@SYNC_URL
@CONFLICT
@NO_CHECK
@pass_app
def set_cmd(
    app: AppContext,
    email: str,
    new_email: str | None,
    name: str | None,
    sync_mode: str | None,
    sync_url: str | None,
    conflict_behaviour: str | None,
    no_check: bool,
) -> int:
    """Change a person's address, name or sync settings (an empty --sync-url restores the mode's default)."""
    if new_email is not None and checks_addresses(app, no_check):  # the database first, as for `persons add`
        service.refuse_rename_recorded(app.settings, email, new_email)
    mailbox = check_in_exchange(app, new_email, "person", no_check) if new_email is not None else None
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.set_person(
            store,
            app.audit,
            app.settings.cloud.ews_url,
            email,
            name,
            sync_mode,
            sync_url,
            conflict_behaviour,
            new_email,
            mailbox.smtp_addresses if mailbox is not None else None,
        )
    return app.emit(result)


@persons.command("remove")
@click.argument("email")
@click.option(
    "--cancel-bookings",
    is_flag=True,
    help="Cancel the person's active bookings (else they refuse the removal).",
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
    """Remove a person; refused while it organizes active bookings, unless --cancel-bookings."""
    from roomsops.services.rooms.removal import remove_record

    with common.open_database(app.settings, existing_only=True) as store:
        result = remove_record(
            store,
            app.audit,
            "person",
            email,
            cancel_bookings,
            lambda q: app.confirm(q, yes),
            leave_meetings=leave_meetings,
        )
    return app.emit(result)


@persons.command("list")
@click.option(
    "--sync-mode", "sync_modes", multiple=True, metavar="MODE", help="Only these modes (repeatable)."
)
@pass_app
def list_cmd(app: AppContext, sync_modes: tuple[str, ...]) -> int:
    """List persons; modes other than O365/O365Pull/Microsoft365 are marked as not handled by roomsops sync."""
    with common.open_database(app.settings, existing_only=True) as store:
        result = service.list_persons(store, sync_modes)
    return app.emit(result)


@persons.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@NO_CHECK
@pass_app
def import_cmd(app: AppContext, file: Path, no_check: bool) -> int:
    """Add or update persons from a UTF-8 CSV file, all or nothing.

    The header must be exactly: email,name,sync_mode,sync_url,conflict_behaviour. Persons are
    matched by address; each row sets all fields, empty cells take the defaults. Every address is looked up
    in Exchange Online first, as by 'persons add' (unless --no-check).
    """

    def look_up(addresses: Sequence[str]) -> dict[str, str]:
        return problems_in_exchange(app, addresses, "person")

    check = look_up if checks_addresses(app, no_check) else None
    rows = service.read_persons_file(file, str(file), app.settings.cloud.ews_url, check, app.settings)
    with common.open_database(app.settings) as store:
        result = service.import_persons(store, app.audit, rows, file, str(file))
    return app.emit(result)


@persons.command("check")
@click.argument("emails", nargs=-1)
@pass_app
def check_cmd(app: AppContext, emails: tuple[str, ...]) -> int:
    """Is each address (default: every person roomsops syncs) a mailbox's primary SMTP address? Checked over
    the service the person's sync mode uses: EWS (O365/O365Pull) or Microsoft Graph (Microsoft365)."""
    from roomsops.adapters.store import list_persons
    from roomsops.core.vocabulary import SYNCED_MODES
    from roomsops.services.diagnose import graph_test
    from roomsops.services.diagnose import probe as diagnose

    addresses = [common.check_email(e) for e in emails]
    provider = (
        app.token_provider
    )  # RoomsAppSettings.config read first: a command refused on it creates no database
    known = common.person_modes(app.settings)  # None: the database cannot be read
    modes = known or {}
    if not addresses:
        with common.open_database(app.settings, existing_only=True) as store, store.read() as conn:
            addresses = [p.email for p in list_persons(conn, sync_modes=SYNCED_MODES)]
    over_graph = {a for a in addresses if graph_test.uses_graph(app.settings, graph_test.mode_of(modes, a))}
    if addresses:
        # No token, no check: the token service refusing or unreachable is exit 3 before any work (as in
        # `sync`), not the same failure reported for every address.
        (app.graph_token_provider if len(over_graph) == len(addresses) else provider).token()
    # An alias's remedy depends on what ROOMS has recorded (the primary address may be another person).
    recorded = None if known is None else {a.casefold(): a for a in known}
    with app.progress("persons check", len(addresses)) as progress:
        ews_result = diagnose.check_addresses(
            app.ews, [a for a in addresses if a not in over_graph], progress.advance, recorded
        )
        graph_checks = {}
        for address in [a for a in addresses if a in over_graph]:
            graph_checks[address] = graph_test.graph_check_address(app.graph, address, recorded)
            progress.advance(address)
    ews_result = diagnose.aliases_outside_policy(
        ews_result, lambda denied: primaries_from_admin(app, denied), recorded
    )
    by_address = {c.email: c for c in ews_result.checks} | graph_checks
    result = replace(ews_result, checks=tuple(by_address[a] for a in addresses))
    return app.emit(result)

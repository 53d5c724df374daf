"""`roomsops rooms ...`: the rooms (resource mailboxes) that bookings reserve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy

if TYPE_CHECKING:
    from roomsops.services.rooms import common
    from roomsops.services.rooms import rooms as service
else:
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
@pass_app
def add_cmd(app: AppContext, email: str, name: str, sync_master: bool) -> int:
    """Add a room by its resource mailbox address."""
    with common.open_database(app.settings) as store:
        result = service.add_room(store, app.audit, email, name, sync_master)
    return app.emit(result)


@rooms.command("list")
@pass_app
def list_cmd(app: AppContext) -> int:
    """List the rooms."""
    with common.open_database(app.settings) as store:
        result = service.list_rooms(store)
    return app.emit(result)

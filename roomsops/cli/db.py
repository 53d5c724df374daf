"""`roomsops db ...`: the ROOMS-side database itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy

if TYPE_CHECKING:
    from roomsops.services.database import installation as service
else:
    service = lazy("roomsops.services.database.installation")


pass_app = click.make_pass_decorator(AppContext)


@click.group("db")
def db() -> None:
    """The roomsops database (rooms.database)."""


@db.command("adopt-id")
@click.option(
    "--use",
    "use",
    required=True,
    type=click.Choice(["remembered", "database"]),
    help="remembered: the database takes the id kept in rooms.db.installation-id (an empty or missing "
    "database is created with it); database: the database's own id is remembered from now on.",
)
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def adopt_id_cmd(app: AppContext, use: str, yes: bool) -> int:
    """Settle the installation id after the database was re-created, emptied or replaced."""
    chosen: service.Use = "database" if use == "database" else "remembered"
    return app.emit(service.adopt_id(app.settings, chosen, lambda q: app.confirm(q, yes), app.audit))

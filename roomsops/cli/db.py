"""`roomsops db ...`: the ROOMS-side database itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy

if TYPE_CHECKING:
    from roomsops.services.database import installation as service
    from roomsops.services.database import schema as schema_service
else:
    service = lazy("roomsops.services.database.installation")
    schema_service = lazy("roomsops.services.database.schema")


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


@db.command("upgrade")
@pass_app
def upgrade_cmd(app: AppContext) -> int:
    """Create the schema in an empty database (e.g. a new PostgreSQL database), or upgrade an older one.

    Every command upgrades the database it opens; this does it on its own, e.g. before the sync is started on
    several hosts."""
    return app.emit(schema_service.upgrade(app.settings, app.audit))


@db.command("copy")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="URL",
    help="The database to copy into, e.g. postgresql+psycopg://roomsops@dbhost/rooms: empty, or an earlier "
    "copy of this installation (rows already there are not copied again).",
)
@pass_app
def copy_cmd(app: AppContext, to: str) -> int:
    """Copy rooms.database (e.g. the SQLite file) into a database server, keeping every id and the installation id.

    Stop the sync and the other roomsops commands first; then set rooms.database to the new URL. Rows are counted
    on both sides (verified); running it again copies only what is missing, and a target that holds other records
    is refused."""
    from roomsops.cli.sync import sync_lock

    # The sync's run lock of the source for the whole copy: a pass beside it would go on writing what the copy
    # already took (a meeting created after its snapshot is created again from the copy: a duplicate).
    with sync_lock(app.settings):
        return app.emit(schema_service.copy(app.settings, to, app.audit))

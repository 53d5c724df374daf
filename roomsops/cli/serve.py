"""`roomsops serve`: the sync as one long-running process, with a local status listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.sync import lock_path

if TYPE_CHECKING:
    from roomsops.services.rooms import common as rooms
else:
    rooms = lazy("roomsops.services.rooms.common")

pass_app = click.make_pass_decorator(AppContext)


@click.command("serve")
@click.option(
    "--max-ticks",
    type=click.IntRange(1),
    metavar="N",
    help="Stop after N scheduler rounds (exit 0): a one-off catch-up, or a test counting rounds.",
)
@pass_app
def serve(app: AppContext, max_ticks: int | None) -> int:
    """Run the sync continuously in the foreground: a pass per mailbox every serve.ews_interval seconds (EWS) or
    serve.graph_interval seconds (Microsoft Graph), with /healthz, /metrics and a status page on
    serve.status_listen; SIGTERM or Ctrl-C finish the writes in flight and exit 0."""
    from roomsops.services.serve.config import status_listen
    from roomsops.services.serve.run import serve as run_serve
    from roomsops.services.sync.factory import calendar_backend

    settings = app.settings
    listen = status_listen(settings)  # a bad setting is refused before the database or the listener exist
    calendar_backend(settings, app.ews)
    with rooms.open_database(settings) as store:
        result = run_serve(
            settings,
            store,
            app.audit,
            lock_path(settings),
            lambda persons, services: calendar_backend(settings, app.ews, persons, services),
            app.token_provider.token,
            listen,
            max_ticks,
            lambda line: click.echo(line, err=True),
        )
    return app.emit(result)

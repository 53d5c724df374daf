"""`roomsops serve`: the sync as one long-running process, with a local status listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.sync import lock_path

if TYPE_CHECKING:
    from roomsops.adapters.graph.client import GraphClient
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
@click.option(
    "--unsubscribe-on-exit",
    is_flag=True,
    help="Delete the Graph subscriptions when stopping (by default they are left to expire; a restart makes new "
    "ones and deletes those left).",
)
@pass_app
def serve(app: AppContext, max_ticks: int | None, unsubscribe_on_exit: bool) -> int:
    """Run the sync continuously in the foreground: a pass per mailbox every serve.ews_interval seconds (EWS) or
    serve.graph_interval seconds (Microsoft Graph), and, with serve.listen, at once after a Graph change
    notification; /healthz, /metrics and a status page on serve.status_listen; SIGTERM or Ctrl-C finish the
    writes in flight and exit 0."""
    from roomsops.services.serve.config import status_listen, webhook_listen
    from roomsops.services.serve.run import serve as run_serve
    from roomsops.services.sync.factory import calendar_backend

    settings = app.settings
    listen = status_listen(settings)  # a bad setting is refused before the database or the listener exist
    webhook = webhook_listen(settings)
    calendar_backend(settings, app.ews)
    # Settings that lead to no database are refused as by `sync` (review21y): an unattended service would
    # otherwise run a new, empty installation "healthy" while the real sync has stopped.
    rooms.refuse_without_database(settings)

    def graph_client() -> GraphClient:
        from roomsops.adapters.entra.tokens import graph_token_provider
        from roomsops.adapters.graph.client import GraphClient

        return GraphClient(settings, graph_token_provider(app.ews.provider.credentials, settings))

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
            webhook,
            graph_client,
            unsubscribe_on_exit,
        )
    return app.emit(result)

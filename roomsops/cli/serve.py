"""`roomsops serve`: the sync as one long-running process, with a local status listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.sync import _worker_name, lock_path
from roomsops.core.errors import InputError
from roomsops.core.logs import failures_to_stderr, log

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
@click.option(
    "--worker",
    is_flag=True,
    help="Run as one of several services sharing the mailboxes (PostgreSQL only): each round claims the mailboxes "
    "due in batches (leases), syncs them and gives each back when its pass is done.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10000),
    metavar="N",
    help="With --worker: mailboxes claimed at once (default 50).",
)
@click.option(
    "--name",
    metavar="NAME",
    help="With --worker: this service's name (letters, digits, '.', '-', '_'), carried by its leases and shown in "
    "the log.",
)
@pass_app
def serve(
    app: AppContext,
    max_ticks: int | None,
    unsubscribe_on_exit: bool,
    worker: bool,
    batch: int | None,
    name: str | None,
) -> int:
    """Run the sync continuously in the foreground: a pass per mailbox every serve.ews_interval seconds (EWS) or
    serve.graph_interval seconds (Microsoft Graph), and, with serve.listen, at once after a Graph change
    notification; /healthz, /metrics and a status page on serve.status_listen; SIGTERM or Ctrl-C finish the
    writes in flight and exit 0."""
    from roomsops.services.serve.config import status_listen, webhook_listen
    from roomsops.services.serve.run import serve as run_serve
    from roomsops.services.serve.service import WorkerMode
    from roomsops.services.sync.factory import calendar_backend
    from roomsops.services.sync.worker import DEFAULT_BATCH, refuse_on_sqlite, refuse_short_lease, worker_name

    if (batch is not None or name is not None) and not worker:
        raise InputError("--batch and --name belong to --worker", "add --worker, or leave them out")
    name = _worker_name(name, "the service's leases")
    settings = app.settings
    mode: WorkerMode | None = None
    if worker:
        refuse_on_sqlite(rooms.database_url(settings).get_backend_name() == "postgresql", "serve")
        refuse_short_lease(settings)
        owner = f"{name}@{worker_name()}" if name else worker_name()
        mode = WorkerMode(batch or DEFAULT_BATCH, owner[:200])
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

    # Round and mailbox failures on stderr too (journalctl, WinSW's error log), each said once while it lasts; -v
    # and --debug already write every record there.
    console = None if app.verbose or app.debug else failures_to_stderr()
    try:
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
                mode,
            )
    finally:
        if console is not None:
            log.removeHandler(console)
    return app.emit(result)

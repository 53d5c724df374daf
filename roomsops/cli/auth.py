"""`roomsops auth ...`: prove the sync app's app-only OAuth setup."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.options import GIVEN_TEXT
from roomsops.core.errors import InputError

if TYPE_CHECKING:
    from roomsops.services import auth_test as service
else:
    service = lazy("roomsops.services.auth_test")


pass_app = click.make_pass_decorator(AppContext)


@click.group()
def auth() -> None:
    """Prove the app-only OAuth setup of the sync app."""


@auth.command("test")
@click.option(
    "--mailbox",
    type=GIVEN_TEXT,
    metavar="EMAIL",
    help="Also probe this mailbox's calendar over the service its sync mode uses (EWS, or Graph for Microsoft365).",
)
@click.option(
    "--write-probe",
    is_flag=True,
    help="With --mailbox of a Microsoft365 person: also create an event and delete it again over Graph.",
)
@pass_app
def test_cmd(app: AppContext, mailbox: str | None, write_probe: bool) -> int:
    """Acquire an app-only token for EWS and show tenant, app, credential, expiry and roles; when persons are in
    sync mode Microsoft365 (or sync.backend is graph), also a token for Microsoft Graph and its roles."""
    from roomsops.core.addresses import validate_address
    from roomsops.core.results import Status
    from roomsops.core.vocabulary import EWS_SYNC_MODES, GRAPH_SYNC_MODES
    from roomsops.services.diagnose import graph_test
    from roomsops.services.rooms.common import person_modes

    address = validate_address(mailbox) if mailbox else None
    if write_probe and address is None:
        raise InputError("--write-probe needs --mailbox", "add --mailbox EMAIL, or drop --write-probe")
    engine = app.settings.policy.engine
    result = service.auth_test(app.token_provider, engine)
    known = person_modes(app.settings)  # None: the database cannot be read
    modes = known or {}
    mode = graph_test.mode_of(modes, address) if address else None
    probe_graph = address is not None and graph_test.uses_graph(app.settings, mode)
    graph_used = probe_graph or str(app.settings.sync.backend) == "graph"
    graph_used = graph_used or any(m in GRAPH_SYNC_MODES for m in modes.values())
    checks = list(result.checks)
    ews_used = str(app.settings.sync.backend) != "graph" and (
        not modes
        or any(m in EWS_SYNC_MODES for m in modes.values())
        or (address is not None and not probe_graph)
    )
    if not ews_used:
        # No person syncs over EWS: its missing role is no failure (the Graph checks below decide).
        checks = [
            replace(c, status=Status.WARNING, message=f"{c.message} (no person syncs over EWS)")
            if c.name == "roles" and c.status is Status.FAILED
            else c
            for c in checks
        ]
    if graph_used:
        checks += graph_test.graph_token_checks(app.graph_token_provider, engine)
    unreachable = False
    if address is not None and probe_graph:
        from roomsops.services.diagnose.doctor import summarize

        report = graph_test.graph_sync_test(
            app.settings,
            app.graph_token_provider,
            lambda: app.graph,
            address,
            write_probe,
            mode,
            None if known is None else {a.casefold(): a for a in known},
        )
        checks.append(summarize(f"mailbox {address} over Graph", report))
        unreachable = not report.ok and report.unreachable  # Graph not reached: exit 3, as for EWS
    elif address is not None:
        from roomsops.cli.mailbox_check import primaries_from_admin
        from roomsops.services.diagnose import probe as diagnose

        found = diagnose.alias_first(diagnose.probe(app.ews, address), lambda a: primaries_from_admin(app, a))
        checks.append(found.check(f"mailbox {address}"))
    return app.emit(replace(result, checks=tuple(checks), unreachable=unreachable))

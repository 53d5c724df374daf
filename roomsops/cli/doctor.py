"""`roomsops doctor`: every check an admin would run, one line each."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.mailbox_check import primaries_from_admin
from roomsops.cli.options import GIVEN_TEXT
from roomsops.core.addresses import validate_address
from roomsops.core.errors import RoomsopsError

if TYPE_CHECKING:
    from roomsops.adapters.entra.tokens import TokenProvider
    from roomsops.services.config import appsettings as appconfig
    from roomsops.services.diagnose import doctor as diagnose
    from roomsops.services.rooms import check as rooms_check
else:
    appconfig = lazy("roomsops.services.config.appsettings")
    diagnose = lazy("roomsops.services.diagnose.doctor")
    rooms_check = lazy("roomsops.services.rooms.check")


pass_app = click.make_pass_decorator(AppContext)


@click.command()
@click.option(
    "--mailbox",
    type=GIVEN_TEXT,
    metavar="EMAIL",
    help="The mailbox to probe, over EWS or (a Microsoft365 person) Graph.",
)
@pass_app
def doctor(app: AppContext, mailbox: str | None) -> int:
    """Check config, token, WinRM and Exchange, admin app ≠ sync app, EWS readiness, the rooms' calendar
    processing (rooms check) and a mailbox probe."""
    from roomsops.services.rooms.common import left_persons_meetings, person_modes

    address = validate_address(mailbox) if mailbox else None
    config_report = appconfig.check(app.app_settings_path, app.settings)
    provider: TokenProvider | None = None
    provider_error: RoomsopsError | None = None
    app_id: str | None = None
    try:
        app_id = app.sync_app_id()
        provider = app.token_provider
    except RoomsopsError as exc:
        provider_error = exc
    report = diagnose.doctor(
        config_report,
        provider,
        provider_error,
        app_id,
        app.settings,
        lambda: app.open_admin(None, check_admin_app=False),
        lambda: app.ews,
        address,
        date.today(),
        lambda session: rooms_check.doctor_check(session, app.settings),
        modes=person_modes(app.settings),
        left=left_persons_meetings(app.settings),
        graph_provider=lambda: app.graph_token_provider,
        graph_client=lambda: app.graph,
        primaries=lambda addresses: primaries_from_admin(app, addresses),
    )
    return app.emit(report)

"""`roomsops ews ...`: EWS retirement readiness (EwsEnabled, EwsAllowedAppIDs) through the admin session."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.core.addresses import unique, validate_address

if TYPE_CHECKING:
    from roomsops.services.diagnose import ews_access
else:
    ews_access = lazy("roomsops.services.diagnose.ews_access")


pass_app = click.make_pass_decorator(AppContext)


@click.group()
def ews() -> None:
    """EWS retirement readiness: the tenant's and mailboxes' EWS switches and the app allow list."""


@ews.command("status")
@click.option(
    "--mailbox", "mailboxes", multiple=True, metavar="EMAIL", help="Also show this mailbox's EwsEnabled."
)
@pass_app
def status_cmd(app: AppContext, mailboxes: tuple[str, ...]) -> int:
    """Show EwsEnabled, EwsAllowedAppIDs, the mailboxes' switches and the retirement dates."""
    addresses = unique(validate_address(m) for m in mailboxes)
    app_id = app.sync_app_id()
    with app.open_admin(app_id) as session:
        return app.emit(ews_access.read_ews_status(session, app_id, addresses, date.today()))


@ews.command("allow")
@click.option(
    "--enable", is_flag=True, help="Also set EwsEnabled to True (then only listed apps may use EWS)."
)
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def allow_cmd(app: AppContext, enable: bool, yes: bool) -> int:
    """Add the sync app to EwsAllowedAppIDs, keeping the apps already listed."""
    app_id = app.sync_app_id()
    with app.open_admin(app_id) as session:
        result = ews_access.ews_allow(
            session, app_id, enable, lambda q: app.confirm(q, yes), app.audit, date.today()
        )
    return app.emit(result)

"""`roomsops auth ...`: prove the sync app's app-only OAuth setup."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy

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
    "--mailbox", metavar="EMAIL", help="Also probe this mailbox's calendar over EWS through impersonation."
)
@pass_app
def test_cmd(app: AppContext, mailbox: str | None) -> int:
    """Acquire an app-only token for EWS and show tenant, app, credential, expiry and roles."""
    from roomsops.core.addresses import validate_address

    address = validate_address(mailbox) if mailbox else None
    result = service.auth_test(app.token_provider, app.settings.policy.engine)
    if address is not None:
        from roomsops.services.diagnose import probe as diagnose

        check = diagnose.probe(app.ews, address).check(f"mailbox {address}")
        result = replace(result, checks=(*result.checks, check))
    return app.emit(result)

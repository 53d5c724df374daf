"""`roomsops sync ...`: the booking ⇄ calendar sync over EWS, and its diagnostics."""

from __future__ import annotations

import click

from roomsops import diagnose
from roomsops.cli.context import AppContext
from roomsops.policy import validate_address

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def sync() -> None:
    """The booking ⇄ calendar sync over EWS and its diagnostics."""


@sync.command("test")
@click.argument("email")
@pass_app
def test_cmd(app: AppContext, email: str) -> int:
    """ROOMS' sync test for one mailbox: token, EWS connection, impersonation, address, calendar, subscription."""
    address = validate_address(email)
    report = diagnose.sync_test(app.settings, app.token_provider, lambda: app.ews, address)
    return app.emit(report)

"""`roomsops auth ...`: prove the sync app's app-only OAuth setup."""

from __future__ import annotations

import os

import click

from roomsops import auth as service
from roomsops.cli.context import AppContext

pass_app = click.make_pass_decorator(AppContext)


@click.group()
def auth() -> None:
    """Prove the app-only OAuth setup of the sync app."""


@auth.command("test")
@pass_app
def test_cmd(app: AppContext) -> int:
    """Acquire an app-only token for EWS and show tenant, app, credential, expiry and roles."""
    settings = app.settings
    credentials = service.credentials_from_app_settings(app.app_settings_path, settings, os.environ)
    provider = service.TokenProvider(credentials, settings)
    return app.emit(service.auth_test(provider, settings.policy.engine))

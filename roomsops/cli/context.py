"""What every command gets: settings (loaded on first use), output, confirmation, logs."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from roomsops.core.errors import ConfirmationRequired, InputError
from roomsops.core.logs import AuditLog, setup_logging
from roomsops.core.results import Output, Result
from roomsops.core.settings import Settings, app_settings_path, load_settings

if TYPE_CHECKING:
    from roomsops.adapters.entra.tokens import TokenProvider
    from roomsops.adapters.ews.client import EwsClient
    from roomsops.adapters.exo.session import ExchangeSession
    from roomsops.adapters.graph.client import GraphClient
    from roomsops.cli.progress import Progress


class AppContext:
    def __init__(
        self,
        settings_file: str | None,
        app_settings: str | None,
        json_mode: bool,
        verbose: int,
        debug: bool,
        log_format: str | None = None,
        quiet: bool = False,
    ) -> None:
        self.settings_file = settings_file
        self.app_settings_option = app_settings
        self.json_mode = json_mode
        self.verbose = verbose
        self.debug = debug
        self.log_format = log_format
        self.quiet = quiet
        self.out = Output(json_mode=json_mode)

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(
            self.settings_file, overrides={"log.format": self.log_format}, named_variables=_named_variables()
        )
        log_file = settings.setting_path("log.file", "output")  # a folder is exit 2 naming key and source
        setup_logging(log_file, settings.log.level, self.verbose, self.debug, settings.log.format)
        return settings

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.settings.setting_path("log.audit", "output"))

    @cached_property
    def token_provider(self) -> TokenProvider:
        """The sync app's msal token provider (credentials from RoomsAppSettings.config), one per run."""
        from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings

        credentials = credentials_from_app_settings(self.app_settings_path, self.settings, os.environ)
        return TokenProvider(credentials, self.settings)

    @cached_property
    def ews(self) -> EwsClient:
        from roomsops.adapters.ews.client import EwsClient  # exchangelib loads only for commands that use EWS

        return EwsClient(self.settings, self.token_provider)

    @cached_property
    def graph_token_provider(self) -> TokenProvider:
        """The sync app's tokens for Microsoft Graph (same credentials, Graph's resource), one per run."""
        from roomsops.adapters.entra.tokens import graph_token_provider

        return graph_token_provider(self.token_provider.credentials, self.settings)

    @cached_property
    def graph(self) -> GraphClient:
        """A Graph client over `graph_token_provider` (loaded only for commands that test or use Graph)."""
        from roomsops.adapters.graph.client import GraphClient

        return GraphClient(self.settings, self.graph_token_provider)

    @property
    def app_settings_path(self) -> Path:
        return app_settings_path(self.app_settings_option, self.settings)

    def sync_app_id(self, given: str | None = None) -> str:
        """The sync app: --app-id, else ExchangeAppId from RoomsAppSettings.config."""
        from roomsops.adapters.appsettings.document import read_document
        from roomsops.adapters.appsettings.keys import APP_ID
        from roomsops.adapters.certs import normalize_guid

        if given:
            return normalize_guid(given, "app id").value
        value = read_document(self.app_settings_path).effective(APP_ID)  # as ROOMS reads it
        if not value:
            raise InputError(
                f"ExchangeAppId is not set in {self.app_settings_path}",
                "pass --app-id, or run 'roomsops config init'",
            )
        return normalize_guid(value, "app id").value

    def open_admin(
        self, sync_app: str | None, *, check_admin_app: bool = True
    ) -> AbstractContextManager[ExchangeSession]:
        """The Exchange admin session (`[exo]`, through the management host); refuses the sync app as the
        admin app unless the caller reports that rule itself (`doctor`)."""
        from roomsops.adapters.exo.connect import open_exchange
        from roomsops.services.apps import admin_app_problem

        if check_admin_app:
            # Every admin command keeps the rule, whatever app it names: the app used for the admin connection
            # (exo.app_id) may be neither the app named (--app-id) nor ExchangeAppId, the sync app ROOMS runs
            # with (when RoomsAppSettings.config can be read; else nothing to compare with).
            # ExchangeAppId first: when it is exo.app_id, the settings are the mistake; else an app named that is
            # exo.app_id is the admin app given as --app-id, and that value is the mistake (review21y).
            configured = self._configured_sync_app()
            problem = admin_app_problem(self.settings, configured)
            if problem is not None:
                raise problem
            if sync_app:
                self.refuse_admin_app_as(sync_app, configured)
        return open_exchange(self.settings, os.environ, prompt=self.password_prompt, notify=self.out.note)

    def refuse_admin_app_as(self, sync_app: str, configured: str | None = None) -> None:
        """--app-id naming the admin app (exo.app_id) as the app to restrict or grant: the value is the mistake
        (exit 2), as in open_admin; also where nothing connects (--print-script would render a runbook for the
        admin app, review21z). Not when ExchangeAppId is that app too: then the settings are the mistake, which
        the connection reports."""
        from roomsops.services.apps import admin_app_problem

        configured = configured if configured is not None else self._configured_sync_app()
        if (configured or "").casefold() != sync_app.casefold():
            problem = admin_app_problem(self.settings, sync_app, given=True)
            if problem is not None:
                raise problem

    def _configured_sync_app(self) -> str | None:
        """ExchangeAppId as ROOMS reads it, or None when it is not set or the file cannot be read."""
        if not self.settings.exo.app_id:
            return None  # nothing to compare with: the file need not be read
        try:
            return self.sync_app_id(None)
        except InputError:
            return None

    @property
    def interactive(self) -> bool:
        """A person at a terminal can be asked (never with --json or without a TTY)."""
        return not self.json_mode and sys.stdin.isatty() and sys.stderr.isatty()

    def confirm(self, question: str, yes: bool) -> None:
        """Ask before a destructive action; without a terminal `--yes` is required (else exit 2)."""
        if yes:
            return
        if not self.interactive:
            raise ConfirmationRequired(
                f"{question.rstrip('?')}: this needs confirmation",
                "run it on a terminal to confirm, or pass --yes",
            )
        if not click.confirm(question, default=False, err=True):
            raise ConfirmationRequired("not confirmed; nothing was changed", None, code="not_confirmed")

    @property
    def password_prompt(self) -> Callable[[str], str] | None:
        """Asks for a password on a terminal (hidden); None where nobody can answer."""
        if not self.interactive:
            return None
        return lambda question: str(click.prompt(question, hide_input=True, err=True))

    def progress(self, label: str, total: int | None, unit: str = "mailboxes") -> Progress:
        """Progress of multi-mailbox work on stderr (a bar on a terminal, else periodic lines); off with -q."""
        from roomsops.cli.progress import Progress

        return Progress(label, total, unit=unit, enabled=not self.quiet)

    def emit(self, result: Result) -> int:
        self.out.emit(result)
        return int(result.exit_code)

    def close(self) -> None:
        """Flush logs when the command ends."""
        for handler in list(logging.getLogger("roomsops").handlers):
            handler.flush()


def _named_variables() -> set[str]:
    """The environment variables the command line names (options with metavar VAR: `--from-env VAR`,
    `--client-secret-env VAR`): roomsops reads them, so they are no mistyped ROOMSOPS_* variable."""
    named: set[str] = set()
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        for param in ctx.command.params:
            value = ctx.params.get(param.name or "")
            if isinstance(param, click.Option) and param.metavar == "VAR" and isinstance(value, str):
                named.add(value)
        ctx = ctx.parent
    return named

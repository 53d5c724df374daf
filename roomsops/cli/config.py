"""`roomsops config ...`: the sync credentials in RoomsAppSettings.config."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.core.errors import InputError

if TYPE_CHECKING:
    from roomsops.services.config import appsettings as service
else:
    service = lazy("roomsops.services.config.appsettings")


pass_app = click.make_pass_decorator(AppContext)
YES = click.option("--yes", "-y", is_flag=True, help="Confirm destructive changes without asking.")


def _read_value_stdin() -> str:
    """One line from standard input: how secrets reach roomsops without a command line or history."""
    value = sys.stdin.readline().rstrip("\r\n") if sys.stdin is not None else ""
    if not value.strip():
        raise InputError("nothing on standard input", "pipe the value into the command")
    return value


@click.group()
def config() -> None:
    """Write and check the sync credentials in RoomsAppSettings.config."""


@config.command("init")
@click.option("--tenant-id", required=True, metavar="GUID", help="Directory (tenant) id.")
@click.option("--app-id", required=True, metavar="GUID", help="Application (client) id of the sync app.")
@click.option("--client-secret-stdin", is_flag=True, help="Read the client secret from standard input.")
@click.option(
    "--client-secret-env", metavar="VAR", help="Read the client secret from this environment variable."
)
@click.option("--cert-thumbprint", metavar="HEX", help="Use the certificate with this SHA-1 thumbprint.")
@YES
@pass_app
def init_cmd(
    app: AppContext,
    tenant_id: str,
    app_id: str,
    client_secret_stdin: bool,
    client_secret_env: str | None,
    cert_thumbprint: str | None,
    yes: bool,
) -> int:
    """Create RoomsAppSettings.config, or set its credential keys in place."""
    given = [
        name
        for name, present in (
            ("--client-secret-stdin", client_secret_stdin),
            ("--client-secret-env", client_secret_env is not None),
            ("--cert-thumbprint", cert_thumbprint is not None),
        )
        if present
    ]
    if len(given) != 1:
        problem = "no credential given" if not given else f"{' and '.join(given)} exclude each other"
        raise InputError(
            problem,
            "give exactly one of --client-secret-stdin, --client-secret-env VAR, --cert-thumbprint HEX",
        )
    if client_secret_env is not None:
        if client_secret_env not in os.environ:
            raise InputError(
                f"environment variable {client_secret_env} is not set",
                f"set {client_secret_env} to the client secret, or use --client-secret-stdin",
            )
        credential = service.Credential(service.CLIENT_SECRET, os.environ[client_secret_env])
    elif client_secret_stdin:
        credential = service.Credential(service.CLIENT_SECRET, _read_value_stdin())
    else:
        assert cert_thumbprint is not None
        credential = service.Credential(service.CERT_THUMBPRINT, cert_thumbprint)
    result = service.init(
        app.app_settings_path, tenant_id, app_id, credential, lambda q: app.confirm(q, yes), app.audit
    )
    return app.emit(result)


@config.command("settings")
@pass_app
def settings_cmd(app: AppContext) -> int:
    """Every roomsops.toml setting with its environment variable, default and allowed values; the settings file
    and data folder this run uses."""
    from roomsops.services.config.settings_list import settings_list

    return app.emit(settings_list(app.settings))


@config.command("show")
@pass_app
def show_cmd(app: AppContext) -> int:
    """List the keys and values (secrets masked)."""
    return app.emit(service.show(app.app_settings_path))


@config.command("set")
@click.argument("key")
@click.argument("value", required=False)
@click.option(
    "--from-env", metavar="VAR", help="Read the value from this environment variable (for secrets)."
)
@click.option("--force", is_flag=True, help="Write a key ROOMS does not document (else refused).")
@YES
@pass_app
def set_cmd(
    app: AppContext, key: str, value: str | None, from_env: str | None, force: bool, yes: bool
) -> int:
    """Set KEY to VALUE ('-' reads the value from standard input, --from-env VAR from a variable: for secrets,
    which on the command line are visible in process lists and shell history)."""
    from roomsops.core.logs import register_secret
    from roomsops.core.secrets import is_secret_key

    key = service.resolve_key(key, force, "set")  # before reading any value: a wrong key changes nothing
    secret = is_secret_key(key)
    on_command_line = False
    if from_env is not None:
        if value is not None:
            raise InputError("VALUE and --from-env exclude each other", "give one of them")
        if not os.environ.get(from_env):
            raise InputError(
                f"environment variable {from_env} is not set", f"set {from_env} to the value of {key}"
            )
        value = os.environ[from_env]
    elif value is None:
        raise InputError(
            f"no value given for {key}", "pass VALUE, '-' to read it from standard input, or --from-env VAR"
        )
    elif value == "-":
        value = _read_value_stdin()
    else:
        on_command_line = True
    if secret:
        register_secret(value)  # masked in error lines, the log and the audit log
    result = service.set_key(
        app.app_settings_path, key, value, lambda q: app.confirm(q, yes), app.audit, force=force
    )
    if secret and on_command_line:  # once the value was taken (a refused value stays one error line)
        app.out.warn(
            f"the value of {key} was given on the command line, where other users see it in the process list "
            f"and the shell keeps it in its history; next time use 'roomsops config set {key} -' (the value "
            f"from standard input) or 'roomsops config set {key} --from-env VAR'"
        )
    return app.emit(result)


@config.command("unset")
@click.argument("key")
@click.option("--force", is_flag=True, help="Remove a key ROOMS does not document (else refused).")
@YES
@pass_app
def unset_cmd(app: AppContext, key: str, force: bool, yes: bool) -> int:
    """Remove KEY (in every spelling of its case)."""
    result = service.unset_key(
        app.app_settings_path, key, lambda q: app.confirm(q, yes), app.audit, force=force
    )
    return app.emit(result)


@config.command("check")
@click.option(
    "--on-host",
    is_flag=True,
    help="Also check the certificate in the ROOMS server's store over WinRM ([powershell] settings).",
)
@pass_app
def check_cmd(app: AppContext, on_host: bool) -> int:
    """Validate ids, the credential and the certificate file (auth.certificate_file)."""
    report = service.check(app.app_settings_path, app.settings)
    if on_host:
        report = service.check_on_host(
            report, app.app_settings_path, app.settings, os.environ, app.password_prompt
        )
    return app.emit(report)

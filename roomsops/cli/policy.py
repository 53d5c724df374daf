"""`roomsops policy ...`: limit the sync app to the mailboxes of a group (application access policies)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import click

from roomsops import config as appconfig
from roomsops import exo
from roomsops import policy as service
from roomsops.certs import normalize_guid
from roomsops.cli.context import AppContext
from roomsops.errors import InputError

pass_app = click.make_pass_decorator(AppContext)


def sync_app_id(app: AppContext, given: str | None) -> str:
    """--app-id, else ExchangeAppId from RoomsAppSettings.config."""
    if given:
        return normalize_guid(given, "app id").value
    value = appconfig.read_document(app.app_settings_path).get(appconfig.APP_ID)
    if not value:
        raise InputError(
            f"ExchangeAppId is not set in {app.app_settings_path}",
            "pass --app-id, or run 'roomsops config init'",
        )
    return normalize_guid(value, "app id").value


def open_admin_session(
    app: AppContext, sync_app: str, check_least_privilege: bool = True
) -> AbstractContextManager[exo.ExchangeSession]:
    settings = app.settings
    if check_least_privilege and (
        settings.exo.app_id
        and settings.exo.auth != "device-code"
        and settings.exo.app_id.casefold() == sync_app.casefold()
    ):
        raise InputError(
            "exo.app_id is the sync app's id: the admin connection must use its own app",
            "register a separate admin app with Exchange.ManageAsApp (the sync app's secret lies on the "
            "ROOMS server and must not be able to lift its own restriction)",
        )
    return exo.open_exchange(settings, os.environ, prompt=app.password_prompt, notify=app.out.note)


@click.group()
def policy() -> None:
    """Limit the sync app to some mailboxes with an application access policy."""


@policy.command("restrict")
@click.option(
    "--group", metavar="NAME", help="Mail-enabled security group (default: policy.group, SyncIsAllowed)."
)
@click.option(
    "--member", "members", multiple=True, metavar="EMAIL", help="A mailbox the app may open (repeatable)."
)
@click.option("--members-file", type=click.Path(path_type=Path, dir_okay=False), help="One address per line.")
@click.option(
    "--from-persons", is_flag=True, help="Every person (O365/O365Pull) and room of the ROOMS database."
)
@click.option(
    "--access-right", type=click.Choice(service.ACCESS_RIGHTS), default="RestrictAccess", show_default=True
)
@click.option("--description", metavar="TEXT", help="Policy description.")
@click.option("--app-id", metavar="GUID", help="The app to restrict (default: ExchangeAppId).")
@click.option(
    "--probe",
    "probes",
    multiple=True,
    metavar="EMAIL",
    help="A mailbox outside the group, tested for the opposite result.",
)
@click.option("--exact", is_flag=True, help="Also remove members not listed (destructive).")
@click.option("--force", is_flag=True, help="With --exact: allow removing more than 20% of the members.")
@click.option("--replace", is_flag=True, help="Replace a policy with another access right (remove + create).")
@click.option("--no-verify", is_flag=True, help="Skip Test-ApplicationAccessPolicy afterwards.")
@click.option("--dry-run", is_flag=True, help="Read the current state and print the plan; change nothing.")
@click.option(
    "--print-script", is_flag=True, help="Print the equivalent PowerShell runbook; connect nowhere."
)
@click.option(
    "--admin-upn", metavar="UPN", help="With --print-script: the administrator the runbook signs in as."
)
@click.option("--yes", "-y", is_flag=True, help="Confirm destructive steps without asking.")
@pass_app
def restrict_cmd(
    app: AppContext,
    group: str | None,
    members: tuple[str, ...],
    members_file: Path | None,
    from_persons: bool,
    access_right: str,
    description: str | None,
    app_id: str | None,
    probes: tuple[str, ...],
    exact: bool,
    force: bool,
    replace: bool,
    no_verify: bool,
    dry_run: bool,
    print_script: bool,
    admin_upn: str | None,
    yes: bool,
) -> int:
    """Ensure the group, its members and the policy; then verify with Test-ApplicationAccessPolicy."""
    listed = [service.validate_address(m) for m in members]
    if members_file is not None:
        listed += service.read_members_file(members_file)
    if from_persons:
        from roomsops.rooms import open_database
        from roomsops.store import sync_mailboxes

        with open_database(app.settings) as store, store.read() as conn:
            listed += [m.email for m in sync_mailboxes(conn, include_rooms=True)]
    if not listed:
        raise InputError(
            "no members given", "pass --member EMAIL (repeatable), --members-file FILE or --from-persons"
        )
    request = service.RestrictRequest(
        app_id=sync_app_id(app, app_id),
        group=service.validate_group(group or app.settings.policy.group),
        members=tuple(service.unique(listed)),
        access_right=access_right,
        description=description or "",
        probes=tuple(service.unique(service.validate_address(p) for p in probes)),
        exact=exact,
        force=force,
        replace=replace,
        verify=not no_verify,
        dry_run=dry_run,
    )
    if print_script:
        click.echo(service.runbook(request, admin_upn), nl=False)
        return 0
    notes: list[str] = []
    with open_admin_session(app, request.app_id) as session:
        result = service.restrict(session, request, lambda q: app.confirm(q, yes), app.audit, notes)
    return app.emit(result)


@policy.command("test")
@click.argument("mailboxes", nargs=-1, required=True)
@click.option("--app-id", metavar="GUID", help="The app to test (default: ExchangeAppId).")
@click.option(
    "--expect", type=click.Choice(["Granted", "Denied"]), help="Exit 1 unless every mailbox has this result."
)
@click.option("--live", is_flag=True, help="Also probe each mailbox over EWS: is the result in effect yet?")
@pass_app
def test_cmd(
    app: AppContext, mailboxes: tuple[str, ...], app_id: str | None, expect: str | None, live: bool
) -> int:
    """Show AccessCheckResult of Test-ApplicationAccessPolicy for each MAILBOX."""
    addresses = service.unique(service.validate_address(m) for m in mailboxes)
    sync_app = sync_app_id(app, app_id)
    with open_admin_session(app, sync_app) as session:
        tests = service.test_access(
            session, sync_app, addresses, {a: expect for a in addresses} if expect else None
        )
    if live:
        from roomsops import diagnose

        tests = [service.with_live(t, diagnose.probe(app.ews, t.mailbox)) for t in tests]
    result = service.PolicyTestResult(app_id=sync_app, tests=tuple(tests), live=live)
    return app.emit(replace(result, notes=result.notes_for_lag))


@policy.command("list")
@click.option("--app-id", metavar="GUID", help="Only the policies of this app.")
@pass_app
def list_cmd(app: AppContext, app_id: str | None) -> int:
    """List the application access policies of the tenant."""
    wanted = normalize_guid(app_id, "app id").value if app_id else None
    with open_admin_session(app, wanted or "") as session:
        return app.emit(service.list_policies(session, wanted))


@policy.command("remove")
@click.option("--group", required=True, metavar="NAME", help="The group whose policy for the app is removed.")
@click.option("--app-id", metavar="GUID", help="The app (default: ExchangeAppId).")
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def remove_cmd(app: AppContext, group: str, app_id: str | None, yes: bool) -> int:
    """Remove the application access policy of the app for GROUP (the group stays)."""
    sync_app = sync_app_id(app, app_id)
    with open_admin_session(app, sync_app) as session:
        result = service.remove(
            session, sync_app, service.validate_group(group), lambda q: app.confirm(q, yes), app.audit
        )
    return app.emit(result)

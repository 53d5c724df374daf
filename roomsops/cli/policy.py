"""`roomsops policy ...`: limit the sync app to the mailboxes of a group, with application access policies
(engine aap) or RBAC for Applications (engine rbac), and move a setup from the one to the other (`migrate`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.options import GIVEN_TEXT
from roomsops.cli.runbook import print_runbook
from roomsops.cli.tenant_change import read_only, tenant_change
from roomsops.core.addresses import unique, validate_address
from roomsops.core.errors import InputError
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import ACCESS_RIGHTS

if TYPE_CHECKING:
    from roomsops.adapters.certs import normalize_guid
    from roomsops.services.diagnose import probe as diagnose
    from roomsops.services.policy import aap as service
    from roomsops.services.policy import access, model, rbac
    from roomsops.services.policy import migrate as migration
else:
    access = lazy("roomsops.services.policy.access")
    diagnose = lazy("roomsops.services.diagnose.probe")
    migration = lazy("roomsops.services.policy.migrate")
    model = lazy("roomsops.services.policy.model")
    rbac = lazy("roomsops.services.policy.rbac")
    service = lazy("roomsops.services.policy.aap")

    def normalize_guid(text: str, label: str, where: str | None = None) -> Any:
        from roomsops.adapters.certs import normalize_guid as normalize

        return normalize(text, label, where)


pass_app = click.make_pass_decorator(AppContext)


def grant_check(app: AppContext, sync_app: str, permission: str = "ews") -> rbac.GrantCheck:
    """The tenant-wide full_access_as_app (or, `permission` graph, Graph's Calendars.ReadWrite), read from a
    fresh token of the sync app (RoomsAppSettings.config) for Exchange (or Graph)."""
    if permission == "graph":
        return rbac.check_tenant_wide_grant(lambda: app.graph_token_provider, sync_app, rbac.GRAPH_CALENDARS)
    return rbac.check_tenant_wide_grant(lambda: app.token_provider, sync_app)


def parse_sp_object_id(given: str | None) -> str | None:
    # The enterprise application's Object ID: the app registration's is the one id a pointer must not use.
    where = "Enterprise applications → the app → Overview (not the app registration's object id)"
    return normalize_guid(given, "Object ID", where).value if given else None


ENGINE = click.Choice(["aap", "rbac"])
PERMISSION = click.option(
    "--permission",
    type=click.Choice(["ews", "graph"]),
    default="ews",
    show_default=True,
    help="rbac: the role over the scope — ews: Application EWS.AccessAsApp (O365/O365Pull persons); graph: "
    "Application Calendars.ReadWrite (Microsoft365 persons, over Microsoft Graph). Both can hold one scope.",
)


@click.group()
def policy() -> None:
    """Limit the sync app to some mailboxes (application access policies or RBAC for Applications)."""


@policy.command("restrict")
@click.option(
    "--group",
    metavar="NAME",
    type=GIVEN_TEXT,
    help="Mail-enabled security group (default: policy.group, SyncIsAllowed).",
)
@click.option(
    "--member", "members", multiple=True, metavar="EMAIL", help="A mailbox the app may open (repeatable)."
)
@click.option("--members-file", type=click.Path(path_type=Path, dir_okay=False), help="One address per line.")
@click.option(
    "--from-persons",
    is_flag=True,
    help="Every person roomsops syncs (O365, O365Pull, Microsoft365) and room of the ROOMS database.",
)
@click.option("--access-right", type=click.Choice(ACCESS_RIGHTS), default="RestrictAccess", show_default=True)
@click.option("--description", metavar="TEXT", help="Policy description.")
@click.option(
    "--app-id", metavar="GUID", type=GIVEN_TEXT, help="The app to restrict (default: ExchangeAppId)."
)
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
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --print-script: save the runbook to FILE (UTF-8 with a byte-order mark) instead of stdout.",
)
@click.option(
    "--engine",
    type=ENGINE,
    help="aap: application access policy; rbac: RBAC for Applications (default: policy.engine).",
)
@click.option(
    "--sp-object-id",
    metavar="GUID",
    type=GIVEN_TEXT,
    help="rbac: Object ID of the sync app's enterprise application (needed while Exchange has no service principal).",
)
@click.option(
    "--scope",
    metavar="NAME",
    type=GIVEN_TEXT,
    help="rbac: name of the management scope (default: the group's name).",
)
@PERMISSION
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
    output: Path | None,
    engine: str | None,
    sp_object_id: str | None,
    scope: str | None,
    permission: str,
    yes: bool,
) -> int:
    """Ensure the group, its members and the policy (or the RBAC for Applications scope and role); then verify.
    An application access policy governs EWS and Microsoft Graph alike."""
    listed = [validate_address(m) for m in members]
    recorded: tuple[tuple[str, str], ...] = ()
    if members_file is not None:
        listed += model.read_members_file(members_file)
    if from_persons:
        from roomsops.adapters.store import sync_mailboxes
        from roomsops.services.rooms.common import open_database

        with open_database(app.settings, existing_only=True) as store, store.read() as conn:
            from_database = sync_mailboxes(conn, include_rooms=True)
        found = [m.email for m in from_database]
        recorded = tuple((m.email, m.kind) for m in from_database)
        if not found and not listed:
            raise InputError(
                "--from-persons found no mailbox: the ROOMS database has no person in sync mode O365, "
                "O365Pull or Microsoft365 and no room",
                "add the mailboxes roomsops syncs first ('roomsops persons add EMAIL' adds a person in sync "
                "mode O365, 'roomsops persons set EMAIL --sync-mode O365' moves a listed person to it, "
                "'roomsops rooms add EMAIL' adds a room), or pass --member EMAIL (repeatable) or "
                "--members-file FILE",
            )
        listed += found
    if not listed:
        raise InputError(
            "no members given", "pass --member EMAIL (repeatable), --members-file FILE or --from-persons"
        )
    _refuse_print_script_mixes(print_script, output, replace)
    chosen = engine or app.settings.policy.engine
    if chosen == "rbac":
        aap_only = {
            "--access-right DenyAccess": access_right == "DenyAccess",
            "--replace": replace,
            "--description": description is not None,
        }
        for option, given in aap_only.items():
            if given:
                raise InputError(
                    f"{option} applies to application access policies only",
                    "drop it, or use --engine aap (RBAC for Applications only grants, per management scope)",
                )
        rbac_request = model.RbacRequest(
            app_id=app.sync_app_id(app_id),
            group=model.validate_group(group or app.settings.policy.group),
            members=tuple(unique(listed)),
            probes=tuple(unique(validate_address(p) for p in probes)),
            sp_object_id=parse_sp_object_id(sp_object_id),
            scope=model.validate_group(scope) if scope else None,
            exact=exact,
            force=force,
            verify=not no_verify,
            dry_run=dry_run,
            role=access.ROLES[permission],
            recorded=recorded,
        )
        if print_script:
            app.refuse_admin_app_as(rbac_request.app_id)
            return print_runbook(app, rbac.runbook(rbac_request, admin_upn), output)
        rbac_notes: list[str] = []
        rbac_seen: list[model.Progress] = []

        def restrict_rbac(progress: model.Progress) -> int:
            rbac_seen.append(progress)
            with app.open_admin(rbac_request.app_id) as session:
                rbac_result = rbac.restrict(
                    session,
                    rbac_request,
                    lambda q: app.confirm(q, yes),
                    app.audit,
                    rbac_notes,
                    lambda: grant_check(app, rbac_request.app_id, permission),
                    progress,
                )
            return app.emit(rbac_result)

        def undo_rbac() -> str:
            return _rbac_restrict_undo(rbac_request, permission, made_by(rbac_seen), app_id is not None)

        return tenant_change(
            app, "policy restrict", undo_rbac, restrict_rbac, dry_run=dry_run, tenant_lock=True
        )
    if sp_object_id or scope or permission != "ews":
        raise InputError(
            "--sp-object-id, --scope and --permission apply to RBAC for Applications only",
            "add --engine rbac, or drop them (an application access policy governs EWS and Graph alike)",
        )
    request = model.RestrictRequest(
        app_id=app.sync_app_id(app_id),
        group=model.validate_group(group or app.settings.policy.group),
        members=tuple(unique(listed)),
        access_right=access_right,
        description=description or "",
        probes=tuple(unique(validate_address(p) for p in probes)),
        exact=exact,
        force=force,
        replace=replace,
        verify=not no_verify,
        dry_run=dry_run,
        recorded=recorded,
    )
    if print_script:
        app.refuse_admin_app_as(request.app_id)
        return print_runbook(app, service.runbook(request, admin_upn), output)
    notes: list[str] = []
    seen: list[model.Progress] = []  # the run's progress: the undo names what it made
    replacing: list[str] = []  # --replace: the access right of the policy it removes

    def restrict_aap(progress: model.Progress) -> int:
        seen.append(progress)
        with app.open_admin(request.app_id) as session:
            result = service.restrict(
                session, request, lambda q: app.confirm(q, yes), app.audit, notes, progress, replacing
            )
        return app.emit(result)

    def undo() -> str:
        return _restrict_undo(request, made_by(seen), replacing, app_id is not None)

    return tenant_change(app, "policy restrict", undo, restrict_aap, dry_run=dry_run, tenant_lock=True)


def _refuse_print_script_mixes(print_script: bool, output: Path | None, replace: bool) -> None:
    """Options that --print-script would otherwise ignore without a word (exit 2, nothing printed)."""
    if output is not None and not print_script:
        raise InputError("--output applies to --print-script only", "add --print-script, or drop --output")
    if print_script and replace:
        raise InputError(
            "--replace does not apply to --print-script: the runbook makes a policy and never removes one",
            "drop --replace, or run without --print-script (roomsops removes the old policy and makes the new "
            "one, saying the app is unrestricted in between)",
        )


def made_by(seen: list[model.Progress]) -> list[str]:
    """The changes a run made, and the one running when it stopped (it may have been made)."""
    return [*seen[0].done, *seen[0].running] if seen else []


def _members_with(made: list[str], outcome: str) -> list[str]:
    suffix = f": {outcome}"
    return [
        label.removeprefix("member ").removesuffix(suffix)
        for label in made
        if label.startswith("member ") and label.endswith(suffix)
    ]


def _added_members(made: list[str]) -> list[str]:
    return _members_with(made, "added")


def _members_back(group: str, made: list[str]) -> list[str]:
    """The group's members as they were: those this run took out (--exact) added back first (the app keeps
    reaching them), then those it added taken out."""
    return _add_members(group, _members_with(made, "removed")) + _remove_members(group, _added_members(made))


def _restrict_undo(
    request: model.RestrictRequest, made: list[str], replacing: list[str], other_app: bool
) -> str:
    """The way back of a half-done `policy restrict --engine aap`, from the changes it made: a --replace that
    removed the old policy makes it again (with its access right); else the policy this run made (and the group,
    when this run made it) go, and the members it added or removed are put back as they were. A policy that was
    there before the run stays (removing it would open every mailbox to the app). A run given --app-id names that
    app in its undo too (else it would be the sync app's)."""
    group = shellword(request.group)
    app_option = f" --app-id {shellword(request.app_id)}" if other_app else ""
    if replacing and any(label.startswith("old policy ") for label in made):
        command = (
            service.restore_command(request.group, request.members, request.app_id, replacing[0])
            + " --replace"
        )
        quoted = command if "'" in command else f"'{command}'"
        undo = f"bring the {replacing[0]} policy it removed back with this command: {quoted}"
        return ", then ".join([undo, *_members_back(request.group, made)])
    if f"group {request.group}: created" in made:
        return (
            f"run 'roomsops policy remove --group {group} --with-group{app_option}' (it removes the policy and "
            "the group this run made)"
        )
    parts = []
    if any(label.startswith("policy ") for label in made):
        parts.append(f"run 'roomsops policy remove --group {group}{app_option}' for the policy this run made")
    parts += _members_back(request.group, made)
    return ", then ".join(parts) or NOTHING_TO_UNDO


#: The undo of a run stopped before its first change.
NOTHING_TO_UNDO = "nothing: this run made no change"


def _add_members(group: str, removed: list[str]) -> list[str]:
    if not removed:
        return []
    commands = [
        f"Add-DistributionGroupMember -Identity {shellword(group)} -Member {shellword(m)}" for m in removed
    ]
    return [f"add back the members this run removed ({'; '.join(commands)})"]


def _remove_members(group: str, added: list[str]) -> list[str]:
    if not added:
        return []
    commands = [
        f"Remove-DistributionGroupMember -Identity {shellword(group)} -Member {shellword(m)}" for m in added
    ]
    return [f"remove the members this run added ({'; '.join(commands)})"]


def _rbac_restrict_undo(request: model.RbacRequest, permission: str, made: list[str], other_app: bool) -> str:
    """The way back of a half-done `policy restrict --engine rbac`: the scope this run made with its role
    assignment (`policy remove --engine rbac`), or only the role assignment it made over a scope that was there
    before; then the service principal and the group this run made (or the members as they were), in an order
    Exchange takes (a scope before the group it filters on, the assignments before their principal). A scope and
    assignment that were there before the run stay (removing them would leave the app no mailbox)."""
    app_id, group = shellword(request.app_id), shellword(request.group)
    app_option = f" --app-id {app_id}" if other_app else ""
    scope = f" --scope {shellword(request.scope_name)}" if request.scope_name != request.group else ""
    parts = []
    if f"scope {request.scope_name}: created" in made:
        parts.append(
            f"run 'roomsops policy remove --engine rbac --group {group}{scope}"
            + (f" --permission {permission}" if permission != "ews" else "")
            + f"{app_option}' (the role assignment and the scope)"
        )
    elif any(label.startswith("role ") and label.endswith(": created") for label in made):
        name = rbac.assignment_name(request.scope_name, request.role)
        parts.append(
            "remove the role assignment this run made (Remove-ManagementRoleAssignment -Identity "
            f"{shellword(name)} -Confirm:$false; the scope {request.scope_name} was there before and stays)"
        )
    if any(label.startswith("principal ") and label.endswith(": created") for label in made):
        parts.append(
            f"remove the service principal this run made (Remove-ServicePrincipal -Identity {app_id})"
        )
    if f"group {request.group}: created" in made:
        parts.append(f"remove the group this run made (Remove-DistributionGroup -Identity {group})")
    else:
        parts += _members_back(request.group, made)
    return ", then ".join(parts) or NOTHING_TO_UNDO


@policy.command("test")
@click.argument("mailboxes", nargs=-1, required=True)
@click.option("--app-id", metavar="GUID", type=GIVEN_TEXT, help="The app to test (default: ExchangeAppId).")
@click.option(
    "--expect", type=click.Choice(["Granted", "Denied"]), help="Exit 1 unless every mailbox has this result."
)
@click.option("--live", is_flag=True, help="Also probe each mailbox over EWS: is the result in effect yet?")
@click.option(
    "--engine",
    type=ENGINE,
    help="aap: Test-ApplicationAccessPolicy; rbac: Test-ServicePrincipalAuthorization.",
)
@PERMISSION
@pass_app
def test_cmd(
    app: AppContext,
    mailboxes: tuple[str, ...],
    app_id: str | None,
    expect: str | None,
    live: bool,
    engine: str | None,
    permission: str,
) -> int:
    """Show the access result (Granted or Denied) of the sync app for each MAILBOX; --live also asks the
    service (EWS, or Graph with --permission graph) whether the result is in effect yet."""
    addresses = unique(validate_address(m) for m in mailboxes)
    sync_app = app.sync_app_id(app_id)
    if (engine or app.settings.policy.engine) == "rbac":
        return _test_rbac(app, sync_app, addresses, expect, live, permission)
    if permission != "ews":
        raise InputError(
            "--permission applies to RBAC for Applications only",
            "add --engine rbac, or drop it (an application access policy governs EWS and Graph alike)",
        )
    with read_only(), app.open_admin(sync_app) as session:
        tests = access.check_access(
            session, sync_app, addresses, {a: expect for a in addresses} if expect else None
        )
    if live:
        tests = _probed(app, tests)
    result = access.PolicyTestResult(app_id=sync_app, tests=tuple(tests), live=live)
    return app.emit(replace(result, notes=result.notes_for_lag))


def _probed(
    app: AppContext, tests: list[access.AccessTest], permission: str = "ews"
) -> list[access.AccessTest]:
    """Each test with what EWS (or Graph) does for its mailbox now (one probe per mailbox, with progress on
    stderr)."""
    from roomsops.services.diagnose import graph_test

    probed = []
    with app.progress("policy test --live", len(tests)) as progress:
        for test in tests:
            if permission == "graph":
                probed.append(replace(test, live=graph_test.graph_live(app.graph, test.mailbox)))
            else:
                probed.append(access.with_live(test, diagnose.probe(app.ews, test.mailbox)))
            progress.advance(test.mailbox)
    return probed


def _test_rbac(
    app: AppContext,
    sync_app: str,
    addresses: list[str],
    expect: str | None,
    live: bool,
    permission: str = "ews",
) -> int:
    role = access.ROLES[permission]
    with read_only(), app.open_admin(sync_app) as session:
        sp = rbac.find_service_principal(session, sync_app)
        sp_id = sp.object_id
        tests = access.check_rbac_access(
            session, sync_app, sp_id, addresses, {a: expect for a in addresses} if expect else None, role=role
        )
    grant: bool | None = None
    notes: list[str] = []
    if live:
        tests = _probed(app, tests, permission)
        check = grant_check(app, sync_app, permission)
        grant = check.held
        notes += rbac.grant_notes(check, sync_app, rbac.tenant_wide_permission(role))
    result = access.RbacTestResult(
        app_id=sync_app,
        tests=tuple(tests),
        live=live,
        service_principal=sp_id,
        tenant_wide_grant=grant,
        role=role,
    )
    return app.emit(replace(result, notes=(*notes, *result.rbac_notes())))


@policy.command("migrate")
@click.option(
    "--app-id", metavar="GUID", type=GIVEN_TEXT, help="The app whose policies move (default: ExchangeAppId)."
)
@click.option(
    "--sp-object-id",
    metavar="GUID",
    type=GIVEN_TEXT,
    help="Object ID of the sync app's enterprise application (needed while Exchange has no service principal).",
)
@click.option(
    "--probe",
    "probes",
    multiple=True,
    metavar="EMAIL",
    help="A mailbox compared besides the policies' members (default: a few mailboxes outside them).",
)
@click.option(
    "--include-deny",
    is_flag=True,
    help="Turn DenyAccess policies into a negated-membership scope (unverified; the answers are still compared).",
)
@click.option("--dry-run", is_flag=True, help="Read the current state and print the plan; change nothing.")
@click.option(
    "--remove-old",
    is_flag=True,
    help="Remove the policies once both engines agree and the sync app lost the tenant-wide grant.",
)
@click.option("--yes", "-y", is_flag=True, help="Confirm removing the old policies without asking.")
@pass_app
def migrate_cmd(
    app: AppContext,
    app_id: str | None,
    sp_object_id: str | None,
    probes: tuple[str, ...],
    include_deny: bool,
    dry_run: bool,
    remove_old: bool,
    yes: bool,
) -> int:
    """Move the app's application access policies to RBAC for Applications and prove the answers are the same."""
    request = model.MigrateRequest(
        app_id=app.sync_app_id(app_id),
        sp_object_id=parse_sp_object_id(sp_object_id),
        probes=tuple(unique(validate_address(p) for p in probes)),
        include_deny=include_deny,
        dry_run=dry_run,
        remove_old=remove_old,
    )
    notes: list[str] = []
    seen: list[model.Progress] = []  # the run's progress: the undo names what it made

    def migrate(progress: model.Progress) -> int:
        seen.append(progress)
        with app.open_admin(request.app_id) as session:
            result = migration.migrate(
                session,
                request,
                lambda q: app.confirm(q, yes),
                app.audit,
                notes,
                lambda: grant_check(app, request.app_id),
                progress,
            )
        return app.emit(result)

    def undo() -> str:
        return _migrate_undo(request.app_id, made_by(seen))

    return tenant_change(app, "policy migrate", undo, migrate, dry_run=dry_run, tenant_lock=True)


def _migrate_undo(app_id: str, made: list[str]) -> str:
    """The way back of a half-done `policy migrate`, from what it made (review21z): a roomsops command per
    management scope it made, named as it is (a group's name, or with --include-deny the one scope 'AAP <app>'),
    the last one also removing the service principal pointer if this run made it; the role assignment it made
    over a scope that was there before (that scope stays); the policies it removed."""
    created = [label.removesuffix(": created") for label in made if label.endswith(": created")]
    scopes = [label.removeprefix("scope ") for label in created if label.startswith("scope ")]
    kept_scopes = [
        label.partition(" → ")[2]
        for label in created
        if label.startswith("role ") and label.partition(" → ")[2] not in scopes
    ]
    principal = any(label.startswith("principal ") for label in created)
    commands = [
        f"roomsops policy remove --engine rbac --scope {shellword(scope)} --app-id {shellword(app_id)}"
        + (" --with-service-principal" if principal and scope == scopes[-1] else "")
        + " --yes"
        for scope in scopes
    ]
    # In quotes where its values need none (as policy remove's way back): a quoted scope name stays readable.
    parts = [command if "'" in command else f"'{command}'" for command in commands]
    parts += [
        f"Remove-ManagementRoleAssignment -Identity {shellword(rbac.assignment_name(scope))} -Confirm:$false "
        f"(the scope {scope} was there before and stays)"
        for scope in kept_scopes
    ]
    if principal and not scopes:
        parts.append(f"Remove-ServicePrincipal -Identity {shellword(app_id)}")
    if any(label.startswith("old ") and label.endswith(": removed") for label in made):
        parts.append("'roomsops policy restrict' for the application access policies it removed")
    if not parts:
        return NOTHING_TO_UNDO
    return (
        "take back what it made with "
        + ", then ".join(parts)
        + " ('roomsops policy list --engine rbac' shows the role assignments and management scopes left)"
    )


@policy.command("list")
@click.option(
    "--app-id",
    metavar="GUID",
    type=GIVEN_TEXT,
    help="Only the policies of this app (rbac: the app, default ExchangeAppId).",
)
@click.option(
    "--engine",
    type=ENGINE,
    help="aap: application access policies; rbac: the app's role assignments and scopes (default: policy.engine).",
)
@pass_app
def list_cmd(app: AppContext, app_id: str | None, engine: str | None) -> int:
    """List the application access policies of the tenant, or the sync app's RBAC for Applications grants."""
    if (engine or app.settings.policy.engine) == "rbac":
        sync_app = app.sync_app_id(app_id)
        with read_only(), app.open_admin(sync_app) as session:
            return app.emit(rbac.list_rbac(session, sync_app))
    wanted = normalize_guid(app_id, "app id").value if app_id else None
    with read_only(), app.open_admin(wanted) as session:
        return app.emit(service.list_policies(session, wanted))


@policy.command("remove")
@click.option(
    "--group", metavar="NAME", type=GIVEN_TEXT, help="The group whose policy (rbac: whose scope) is removed."
)
@click.option(
    "--scope", metavar="NAME", type=GIVEN_TEXT, help="rbac: the management scope (default: the group's name)."
)
@click.option("--app-id", metavar="GUID", type=GIVEN_TEXT, help="The app (default: ExchangeAppId).")
@click.option(
    "--engine",
    type=ENGINE,
    help="aap: the application access policy; rbac: the role assignment and scope (default: policy.engine).",
)
@PERMISSION
@click.option(
    "--with-group",
    is_flag=True,
    help="Also remove the group once its policy is gone (kept while another policy uses it, also as a nested "
    "group, and when no policy of the app used it and roomsops did not make it).",
)
@click.option(
    "--with-service-principal",
    is_flag=True,
    help="rbac: also remove the app's service principal pointer once no role assignment of the app is left.",
)
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def remove_cmd(
    app: AppContext,
    group: str | None,
    scope: str | None,
    app_id: str | None,
    engine: str | None,
    permission: str,
    with_group: bool,
    with_service_principal: bool,
    yes: bool,
) -> int:
    """Remove the app's application access policy for GROUP, or (rbac) its role assignment and scope; the
    group stays."""
    sync_app = app.sync_app_id(app_id)
    if (engine or app.settings.policy.engine) == "rbac":
        if not (group or scope):
            raise InputError(
                "no scope given", "pass --group NAME (the scope is named after it) or --scope NAME"
            )
        if with_group and not group:
            raise InputError(
                "--with-group needs --group NAME (the group the scope is over)",
                "add --group NAME ('roomsops policy list --engine rbac' shows the scopes and their groups)",
            )
        scope_name = model.validate_group(scope or group or "")
        group_name = model.validate_group(group) if with_group and group else None
        rbac_restore: list[str] = []  # the way back, known once the scope's group and its members were read

        def remove_rbac(progress: model.Progress) -> int:
            with app.open_admin(sync_app) as session:
                result = rbac.remove_rbac(
                    session,
                    sync_app,
                    scope_name,
                    lambda q: app.confirm(q, yes),
                    app.audit,
                    progress,
                    access.ROLES[permission],
                    rbac_restore,
                    with_service_principal,
                )
                confirm = lambda q: app.confirm(q, yes)  # noqa: E731
                if group_name is not None:
                    removed, kept = service.remove_group_after_scope(
                        session, sync_app, group_name, confirm, app.audit, progress
                    )
                    result = replace(result, removed_group=removed, kept_group=kept)
                if with_service_principal:
                    removed, kept = rbac.remove_service_principal(
                        session, sync_app, confirm, app.audit, progress
                    )
                    result = replace(result, removed_service_principal=removed, kept_service_principal=kept)
            return app.emit(result)

        # The service principal removed too: making it again needs the enterprise application's Object ID.
        again = (
            " (with --sp-object-id ID, the Object ID under Enterprise applications → the app → Overview, if the "
            "service principal was removed too; the command makes the group again)"
            if with_service_principal
            else ""
        )

        def undo_rbac() -> str:
            if rbac_restore and rbac_restore[0]:
                command = rbac_restore[0]
                # In quotes, where its values need none: the remedy goes on after it (the audit log's line).
                quoted = command if "'" in command else f"'{command}'"
                rest = "" if "--sp-object-id" in command else again
                return f"make the role assignment and the scope again with this command: {quoted}{rest}"
            return (
                f"make them again with 'roomsops policy restrict --engine rbac --permission {permission} --app-id "
                f"{sync_app} --scope {shellword(scope_name)} --group NAME --member EMAIL' (the group the scope was "
                "over and its mailboxes; 'roomsops policy list --engine rbac' shows what is left)"
            )

        return tenant_change(app, "policy remove", undo_rbac, remove_rbac, tenant_lock=True)
    if scope or permission != "ews" or with_service_principal:
        raise InputError(
            "--scope, --permission and --with-service-principal apply to RBAC for Applications only",
            "add --engine rbac, or drop them",
        )
    if not group:
        raise InputError(
            "no group given", "pass --group NAME ('roomsops policy list' shows the policies' groups)"
        )
    name = model.validate_group(group)  # before connecting: bad input changes nothing

    restore: list[str] = []  # the way back, known once the group's members and the policy were read

    def remove(progress: model.Progress) -> int:
        with app.open_admin(sync_app) as session:
            result = service.remove(
                session,
                sync_app,
                name,
                lambda q: app.confirm(q, yes),
                app.audit,
                progress,
                with_group,
                restore,
            )
        return app.emit(result)

    def undo() -> str:
        if restore:
            group_back = "the group (with the members it had)"
            # Else it is New-DistributionGroup alone: the group's policy was removed before.
            with_policy = restore[0].startswith("roomsops ")
            made = (group_back + (" and the policy" if with_policy else "")) if with_group else "the policy"
            # Not in quotes: the line quotes its own values for the shell it is pasted into.
            return f"make {made} again with this command: {restore[0]}"
        from roomsops.core.templates import shellword

        return (
            "create the policy again (with the access right it had) with this command: roomsops policy restrict "
            f"--app-id {sync_app} --group {shellword(name)} --member EMAIL"
        )

    return tenant_change(app, "policy remove", undo, remove, tenant_lock=True)

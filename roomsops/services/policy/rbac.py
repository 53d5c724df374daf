"""The RBAC for Applications engine of `policy`: limit the sync app to a group's mailboxes with a service
principal pointer, a management scope over the group and the role assignment "Application EWS.AccessAsApp",
verified with Test-ServicePrincipalAuthorization. `migrate.py` moves application access policies over.

Entra consent and RBAC grants add up: while the sync app holds the tenant-wide `full_access_as_app`, no scope
restricts it. Every command here checks that with a fresh token of the sync app and says so loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roomsops import __version__
from roomsops.adapters.entra.tokens import FULL_ACCESS, FULL_ACCESS_REMOVAL, TokenProvider
from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.errors import CmdletError
from roomsops.adapters.exo.objects import ManagementScope, RoleAssignment, ServicePrincipal
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.addresses import closest
from roomsops.core.errors import InputError, OperationFailed, RoomsopsError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import render, shellword
from roomsops.services.policy.access import EWS_ROLE, GRAPH_ROLE, ROLES, check_rbac_access
from roomsops.services.policy.group import (
    Applier,
    GroupPlan,
    apply_group,
    check_remove_guard,
    confirm_removals,
    group_steps,
    read_group,
    refuse_empty_group,
    refuse_uncovered,
)
from roomsops.services.policy.model import (
    CACHE_NOTICE,
    CONFLICT_NOTICE,
    AccessTest,
    Confirm,
    Outcome,
    Progress,
    RbacRequest,
    Step,
    changed,
    check_failed,
    unchanged_line,
)

__all__ = ["EWS_ROLE", "RbacRequest", "restrict", "runbook"]

MAX_NAME = 64  # names of management scopes and role assignments (New-ManagementScope.md)


#: Graph's tenant-wide permission that adds up with the role Application Calendars.ReadWrite.
GRAPH_CALENDARS = "Calendars.ReadWrite"
GRAPH_CALENDARS_REMOVAL = (
    "Entra admin center → App registrations → the sync app → API permissions: on Calendars.ReadWrite "
    "(Microsoft Graph, Application) choose Revoke admin consent, then Remove permission. Tokens issued before keep "
    "the role until they expire (about an hour); 'roomsops auth test' shows the roles of a new token."
)


def grant_warning(app_id: str, permission: str = FULL_ACCESS) -> str:
    """The loud warning while the sync app holds the tenant-wide permission, with the steps to remove it."""
    if permission == GRAPH_CALENDARS:
        return (
            f"WARNING: the sync app {app_id} still holds the tenant-wide Microsoft Graph application permission "
            f"{GRAPH_CALENDARS}, consented in Entra ID. Entra consent and RBAC for Applications add up: until it is "
            "removed the app can open EVERY calendar over Graph, whatever the management scope says. To remove "
            f"it: {GRAPH_CALENDARS_REMOVAL}"
        )
    return (
        f"WARNING: the sync app {app_id} still holds the tenant-wide application permission {FULL_ACCESS} "
        "(Office 365 Exchange Online), consented in Entra ID. Entra consent and RBAC for Applications add up: "
        "until it is removed the app can open EVERY mailbox over EWS, whatever the management scope says. "
        f"To remove it: {FULL_ACCESS_REMOVAL}"
    )


# --- the tenant-wide grant, seen in a fresh token ---------------------------------------------------------------


@dataclass(frozen=True)
class GrantCheck:
    """Does a fresh token of the sync app carry full_access_as_app? `held` None: could not be checked."""

    held: bool | None
    detail: str


def check_tenant_wide_grant(
    provider_factory: Callable[[], TokenProvider], app_id: str, permission: str = FULL_ACCESS
) -> GrantCheck:
    """Ask the token service for a new token of the sync app (cache dropped) and read its roles: `permission`
    is full_access_as_app (a token for Exchange) or Calendars.ReadWrite (a token for Graph)."""
    try:
        provider = provider_factory()
        if provider.credentials.app_id.casefold() != app_id.casefold():
            return GrantCheck(
                None,
                f"no credentials of app {app_id} here (RoomsAppSettings.config holds {provider.credentials.app_id})",
            )
        provider.invalidate()  # a revoked consent shows only in a token issued after it
        token = provider.token()
    except RoomsopsError as exc:
        return GrantCheck(None, f"no token of the sync app: {exc.one_line()}")
    if permission in token.roles:
        return GrantCheck(True, f"a fresh token of {app_id} carries {permission}")
    return GrantCheck(False, f"a fresh token of {app_id} does not carry {permission}")


def grant_notes(check: GrantCheck, app_id: str, permission: str = FULL_ACCESS) -> list[str]:
    if check.held:
        return [grant_warning(app_id, permission)]
    if check.held is None:
        removal = GRAPH_CALENDARS_REMOVAL if permission == GRAPH_CALENDARS else FULL_ACCESS_REMOVAL
        return [
            f"Could not check whether the sync app holds the tenant-wide {permission} ({check.detail}). While it "
            f"does, RBAC scoping restricts nothing. Check in Entra ID: {removal}"
        ]
    return []


def tenant_wide_permission(role: str) -> str:
    """The Entra permission that adds up with `role`: full_access_as_app for EWS's, Calendars.ReadWrite for
    Graph's calendar role."""
    return GRAPH_CALENDARS if role.casefold() == GRAPH_ROLE.casefold() else FULL_ACCESS


# --- matching Exchange's RBAC objects ---------------------------------------------------------------------------


#: Exchange reads a filter with PowerShell's parser, where ‘ ’ ‚ ‛ are single quotes like '.
OPATH_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def opath_value(value: str) -> str:
    """A value inside an OPATH filter's single quotes: every single-quote character is doubled, the typographic
    ones too (New-ManagementScope.md, -...Filter): a group named `Sync’ -or Alias -ne ’x` stays one value."""
    for quote in OPATH_SINGLE_QUOTES:
        value = value.replace(quote, quote * 2)
    return value


def member_of_filter(group_dn: str) -> str:
    return f"MemberOfGroup -eq '{opath_value(group_dn)}'"


#: PowerShell's double quotes, typographic ones too; inside them `"` is written `""` or `` `" ``.
OPATH_DOUBLE_QUOTES = '"\u201c\u201d\u201e'


def filter_values(text: str) -> list[str]:
    """The quoted values of an OPATH filter, unescaped: 'x''y' (any single-quote character) and "x""y" or
    "x`"y" (any double-quote character)."""
    values: list[str] = []
    index = 0
    while index < len(text):
        quotes = next((q for q in (OPATH_SINGLE_QUOTES, OPATH_DOUBLE_QUOTES) if text[index] in q), None)
        index += 1
        if quotes is None:
            continue
        value: list[str] = []
        while index < len(text):
            char = text[index]
            if char == "`" and quotes is OPATH_DOUBLE_QUOTES and index + 1 < len(text):
                value.append(text[index + 1])
                index += 2
            elif char in quotes and index + 1 < len(text) and text[index + 1] in quotes:
                value.append(char)
                index += 2
            elif char in quotes:
                index += 1
                break
            else:
                value.append(char)
                index += 1
        values.append("".join(value))
    return values


def _dn_key(dn: str) -> str:
    return ",".join(part.strip() for part in dn.split(",")).casefold()


def filters_on_group(recipient_filter: str, group_dn: str) -> bool:
    """Does a management scope's filter name the group (by its distinguished name, however quoted: roomsops
    writes `MemberOfGroup -eq '<DN>'`, an administrator may write `MemberOfGroup -eq "<DN>"`)?"""
    if not group_dn:
        return False
    wanted = _dn_key(group_dn)
    return any(_dn_key(value) == wanted for value in filter_values(recipient_filter))


def _normalized(text: str) -> str:
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    return " ".join(body.split()).casefold()


def same_filter(a: str, b: str) -> bool:
    """Filters as Exchange compares them for our purpose: braces, whitespace and case do not matter."""
    return _normalized(a) == _normalized(b)


def assignment_name(scope: str, role: str = EWS_ROLE) -> str:
    """A name of at most 64 characters: Exchange's own default (<role>-<assignee>) would be the same for every
    scope of one app, so a second scope needs a name of its own."""
    short_role = role.removeprefix("Application ")
    name = f"{short_role} {scope}"
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"


def app_service_principal(principals: Sequence[ServicePrincipal], app_id: str) -> ServicePrincipal | None:
    """The pointer for the app among Get-ServicePrincipal's objects (listed, not looked up: the page warns that
    a non-existent -Identity may return every object)."""
    return next((p for p in principals if p.app_id.casefold() == app_id.casefold()), None)


def app_assignments(
    assignments: Sequence[RoleAssignment], sp: ServicePrincipal | None, role: str = EWS_ROLE
) -> list[RoleAssignment]:
    """The service principal's own assignments of `role` (the role group's delegating ones are not the app's)."""
    if sp is None:
        return []
    wanted = sp.object_id.casefold()
    return [
        a
        for a in assignments
        if a.assignee.casefold() == wanted and a.role.casefold() == role.casefold() and not a.delegating
    ]


def rbac_queries(role: str = EWS_ROLE) -> list[exchange.Query]:
    """The app's RBAC objects, read beside the group in its first pipeline."""
    return [
        exchange.service_principals_query(),
        exchange.scopes_query(),
        exchange.assignments_query(role),
    ]


def find_service_principal(session: ExchangeSession, app_id: str) -> ServicePrincipal:
    sp = app_service_principal(exchange.list_service_principals(session), app_id)
    if sp is None:
        raise OperationFailed(
            f"app {app_id} has no service principal in Exchange Online (RBAC for Applications is not set up)",
            "run 'roomsops policy restrict --engine rbac --sp-object-id <Object ID of the enterprise application>'",
            code="no_service_principal",
        )
    return sp


# --- the steps of the RBAC objects (shared with migrate) -------------------------------------------------------


def principal_step(
    request_app: str, wanted_object_id: str | None, sp: ServicePrincipal | None, dry_run: bool
) -> Step:
    if sp is None:
        if not wanted_object_id and dry_run:
            return Step("principal", request_app, Outcome.CREATED, "needs --sp-object-id")
        if not wanted_object_id:
            raise InputError(
                f"app {request_app} has no service principal in Exchange Online yet, and Exchange cannot look "
                "its object id up",
                "pass --sp-object-id with the Object ID of the enterprise application (Entra admin center → "
                "Enterprise applications → the app → Overview), not the app registration's object id",
            )
        return Step("principal", request_app, Outcome.CREATED, f"object id {wanted_object_id}")
    existing = sp.object_id
    if wanted_object_id and existing.casefold() != wanted_object_id.casefold():
        return Step(
            "principal",
            request_app,
            Outcome.CONFLICT,
            f"Exchange's pointer has object id {existing}, not {wanted_object_id}; if it is wrong, remove its role "
            "assignments and Remove-ServicePrincipal, then run again",
        )
    return Step("principal", request_app, Outcome.EXISTS, f"object id {existing}")


def scope_step(name: str, wanted_filter: str | None, scope: ManagementScope | None) -> Step:
    if scope is None:
        return Step("scope", name, Outcome.CREATED, wanted_filter or "over the new group")
    if wanted_filter is not None and same_filter(scope.recipient_filter, wanted_filter):
        return Step("scope", name, Outcome.EXISTS)
    return Step(
        "scope",
        name,
        Outcome.CONFLICT,
        f"a management scope of this name has the filter {scope.recipient_filter}; use another --scope",
    )


def role_step(scope: str, assignments: Sequence[RoleAssignment], role: str = EWS_ROLE) -> Step:
    found = any(a.has_scope(scope) for a in assignments)
    return Step("role", f"{role} → {scope}", Outcome.EXISTS if found else Outcome.CREATED)


def _wider_assignments(scope: str, assignments: Sequence[RoleAssignment]) -> list[str]:
    """Other EWS assignments of the app: they add up with ours, so they widen what the app may open."""
    return [
        f"{a.name} (scope {a.custom_resource_scope or 'Organization'})"
        for a in assignments
        if not a.has_scope(scope)
    ]


def ensure_rbac(
    apply: Applier,
    app_id: str,
    sp_object: str,
    sp_exists: bool,
    scopes: Sequence[tuple[str, str, bool]],
    assignments: Sequence[RoleAssignment],
    role: str = EWS_ROLE,
) -> None:
    """Create what is missing: the service principal pointer, each (scope name, filter, exists) scope, and the
    assignment of `role` (EWS's by default) per scope. Idempotent: existing objects are left alone."""
    if not sp_exists:
        apply.run(
            "New-ServicePrincipal",
            {"AppId": app_id, "ObjectId": sp_object},
            Step("principal", app_id, Outcome.CREATED),
        )
    for name, filter_text, exists in scopes:
        if not exists:
            apply.run(
                "New-ManagementScope",
                {"Name": name, "RecipientRestrictionFilter": filter_text},
                Step("scope", name, Outcome.CREATED),
            )
        if not any(a.has_scope(name) for a in assignments):
            apply.run(
                "New-ManagementRoleAssignment",
                {
                    "Name": assignment_name(name, role),
                    "App": sp_object,
                    "Role": role,
                    "CustomResourceScope": name,
                },
                Step("role", f"{role} → {name}", Outcome.CREATED),
            )


# --- policy restrict --engine rbac ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RbacRestrictResult(Result):
    engine: str
    app_id: str
    group: str
    scope: str
    role: str
    service_principal: str | None  # the pointer's object id (the enterprise application's)
    dry_run: bool
    steps: tuple[Step, ...]
    tests: tuple[AccessTest, ...] = ()
    tenant_wide_grant: bool | None = None

    @property
    def changed(self) -> bool:
        return changed(self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.failed for s in self.steps) and all(t.matches for t in self.tests)

    def lines(self) -> list[str]:
        out = [
            f"{'plan' if self.dry_run else 'result'} for app {self.app_id}, group {self.group}, RBAC for "
            f"Applications ({self.role}, scope {self.scope})"
        ]
        out += [s.line(self.dry_run, 9) for s in self.steps]
        for t in self.tests:
            mark = "ok" if t.matches else f"MISMATCH, expected {t.expected}"
            out.append(f"  test      {t.mailbox}: {t.access_check_result} ({mark}; {t.detail})")
        return out + unchanged_line(self.steps, self.dry_run, self.ok)


@dataclass(frozen=True)
class _RbacPlan:
    group: GroupPlan
    sp: ServicePrincipal | None
    scope: ManagementScope | None
    assignments: list[RoleAssignment]

    @property
    def sp_object(self) -> str | None:
        return self.sp.object_id if self.sp else None


def read_rbac(session: ExchangeSession, request: RbacRequest) -> _RbacPlan:
    group_plan, objects = read_group(session, request.group_request, rbac_queries(request.role))
    sp = app_service_principal(objects.principals, request.app_id)
    scope = next((s for s in objects.scopes if s.name.casefold() == request.scope_name.casefold()), None)
    return _RbacPlan(group_plan, sp, scope, app_assignments(objects.assignments, sp, request.role))


def _rbac_steps(request: RbacRequest, plan: _RbacPlan) -> list[Step]:
    group = plan.group.group
    wanted_filter = member_of_filter(group.distinguished_name) if group else None
    return [
        principal_step(request.app_id, request.sp_object_id, plan.sp, request.dry_run),
        scope_step(request.scope_name, wanted_filter, plan.scope),
        role_step(request.scope_name, plan.assignments, request.role),
    ]


def _verify(
    session: ExchangeSession, request: RbacRequest, plan: GroupPlan, sp_object: str, steps: Sequence[Step]
) -> list[AccessTest]:
    members = [m for m in request.members if m in plan.resolved]
    probes = [p for p in request.probes if p in plan.resolved]
    expected = {m: "Granted" for m in members} | {p: "Denied" for p in probes}
    try:
        return check_rbac_access(
            session, request.app_id, sp_object, [*members, *probes], expected, plan.resolved, request.role
        )
    except CmdletError as exc:  # every change was made: no half-done run (see `check_failed`)
        options = (
            "--engine rbac"
            + (" --permission graph" if request.role == GRAPH_ROLE else "")
            + f" --app-id {shellword(request.app_id)}"
        )
        raise check_failed(exc, steps, expected, options) from None


def restrict(
    session: ExchangeSession,
    request: RbacRequest,
    confirm: Confirm,
    audit: AuditLog,
    notes: list[str],
    grant_check: Callable[[], GrantCheck],
    progress: Progress | None = None,
) -> RbacRestrictResult:
    plan = read_rbac(session, request)
    steps = group_steps(request.group_request, plan.group)
    refuse_uncovered(session, request.group_request, plan.group, "management scope and role assignment")
    check_remove_guard(request.group_request, plan.group)
    rbac_steps = _rbac_steps(request, plan)
    conflict = any(s.outcome is Outcome.CONFLICT for s in rbac_steps)
    steps += rbac_steps
    sp_object = plan.sp_object or request.sp_object_id  # None only in a dry run
    wider = _wider_assignments(request.scope_name, plan.assignments)
    if wider:
        notes.append(f"The app also holds {request.role} through {', '.join(wider)}: assignments add up.")
    grant = grant_check()

    def result(steps: Sequence[Step], tests: Sequence[AccessTest] = ()) -> RbacRestrictResult:
        return RbacRestrictResult(
            engine="rbac",
            app_id=request.app_id,
            group=request.group,
            scope=request.scope_name,
            role=request.role,
            service_principal=sp_object,
            dry_run=request.dry_run,
            steps=tuple(steps),
            tests=tuple(tests),
            tenant_wide_grant=grant.held,
            notes=tuple(notes + grant_notes(grant, request.app_id, tenant_wide_permission(request.role))),
        )

    if conflict:
        notes.append(CONFLICT_NOTICE)
    if request.dry_run or conflict:
        return result(steps)
    confirm_removals(request.group_request, plan.group, confirm)
    apply = Applier(session, audit, progress)
    apply.progress.expect(steps)
    group, steps = apply_group(apply, request.group_request, plan.group, steps)
    refuse_empty_group(request.group_request, steps, "management scope and role assignment")
    not_added = [s.target for s in steps if s.step == "member" and s.failed]
    if not_added and any(s.outcome.is_change for s in rbac_steps):
        # As for a RestrictAccess policy: no new scope or role assignment over a group that lacks a member it was
        # asked for (once the tenant-wide grant goes, the app would not reach that mailbox). Run again to finish.
        why = f"not made: {', '.join(not_added)} could not be added; run the command again"
        held = {s.step for s in rbac_steps if s.outcome.is_change}
        steps = [Step(s.step, s.target, Outcome.FAILED, why) if s.step in held else s for s in steps]
        notes.append(
            f"No {' or '.join(sorted(held))} was made: {', '.join(not_added)} could not be added to "
            f"{request.group}. Run the same command again: it keeps the members already in, adds the rest and "
            "then makes them."
        )
        return result(steps)
    scope_filter = member_of_filter(group.distinguished_name)
    assert sp_object is not None  # principal_step refused a missing --sp-object-id outside a dry run
    scopes = [(request.scope_name, scope_filter, plan.scope is not None)]
    ensure_rbac(apply, request.app_id, sp_object, plan.sp is not None, scopes, plan.assignments, request.role)
    tests = _verify(session, request, plan.group, sp_object, steps) if request.verify else []
    if changed(steps):  # the permission cache matters only after a change
        notes.append(CACHE_NOTICE)
    return result(steps, tests)


def runbook(request: RbacRequest, admin_upn: str | None = None) -> str:
    """The equivalent standalone PowerShell runbook (interactive sign-in like ROOMS' guide)."""
    return render(
        "powershell/rbac-restrict.ps1.j2",
        version=__version__,
        app_id=request.app_id,
        sp_object_id=request.sp_object_id or "",
        group=request.group,
        scope=request.scope_name,
        role=request.role,
        assignment=assignment_name(request.scope_name, request.role),
        service="Microsoft Graph" if request.role == GRAPH_ROLE else "EWS",
        grant=tenant_wide_permission(request.role),
        members=list(request.members),
        probes=list(request.probes),
        exact=request.exact,
        admin_upn=admin_upn,
        removal_steps=GRAPH_CALENDARS_REMOVAL if request.role == GRAPH_ROLE else FULL_ACCESS_REMOVAL,
    )


# --- list and remove (the undo of restrict --engine rbac) -------------------------------------------------------


@dataclass(frozen=True)
class RbacAssignmentRow:
    name: str
    role: str
    scope: str | None
    recipient_filter: str | None


@dataclass(frozen=True)
class RbacListResult(Result):
    engine: str
    app_id: str
    service_principal: str | None
    assignments: tuple[RbacAssignmentRow, ...]
    #: Management scopes no role assignment uses (e.g. left by a `policy migrate` or `policy restrict --engine
    #: rbac` that stopped half-way): what is left in the tenant, with the command that removes each (review21y).
    unused_scopes: tuple[RbacAssignmentRow, ...] = ()

    def lines(self) -> list[str]:
        if self.service_principal is None:
            out = [f"app {self.app_id} has no service principal in Exchange Online: no RBAC for Applications"]
        elif not self.assignments:
            out = [f"no {EWS_ROLE} or {GRAPH_ROLE} role assignments of app {self.app_id}"]
        else:
            out = [
                f"{a.name}  {a.role}  scope {a.scope or '(organization)'}  {a.recipient_filter or ''}".rstrip()
                for a in self.assignments
            ]
        for s in self.unused_scopes:
            out.append(
                f"management scope {s.name} is used by no role assignment  {s.recipient_filter or ''}".rstrip()
                + f" (if roomsops made it, remove it with 'roomsops policy remove --engine rbac --scope {shellword(s.name)}')"
            )
        return out


def _read_app_rbac(
    session: ExchangeSession, app_id: str
) -> tuple[ServicePrincipal | None, list[RoleAssignment], dict[str, ManagementScope]]:
    # One pipeline: both roles' assignments land in one list; app_assignments sorts them by role.
    objects = exchange.read(session, [*rbac_queries(), exchange.assignments_query(GRAPH_ROLE)])
    sp = app_service_principal(objects.principals, app_id)
    scopes = {s.name.casefold(): s for s in objects.scopes}
    found = objects.assignments
    return sp, app_assignments(found, sp) + app_assignments(found, sp, GRAPH_ROLE), scopes


def list_rbac(session: ExchangeSession, app_id: str) -> RbacListResult:
    """The app's role assignments of EWS (Application EWS.AccessAsApp) and of Graph's calendars (Application
    Calendars.ReadWrite) with their management scopes (`policy list --engine rbac`)."""
    sp, assignments, scopes = _read_app_rbac(session, app_id)
    # Every role assignment (any role, any app): a scope one of them uses is not left over.
    every = exchange.read(session, [exchange.assignments_query(None)]).assignments
    unused = tuple(
        RbacAssignmentRow(name=s.name, role="", scope=s.name, recipient_filter=s.recipient_filter)
        for _, s in sorted(scopes.items())
        # Only scopes of the shape roomsops makes (a group's members, MemberOfGroup): the tenant's other scopes
        # are none of roomsops' business, and listing them with a removal command would invite removing them.
        if "memberofgroup" in (s.recipient_filter or "").casefold()
        and not any(a.uses_scope(s.name) for a in every)
    )
    rows = []
    for a in assignments:
        scope = scopes.get((a.custom_resource_scope or "").casefold())
        rows.append(
            RbacAssignmentRow(
                name=a.name,
                role=a.role,
                scope=a.custom_resource_scope,
                recipient_filter=scope.recipient_filter if scope else None,
            )
        )
    return RbacListResult(
        engine="rbac",
        app_id=app_id,
        service_principal=sp.object_id if sp else None,
        assignments=tuple(rows),
        unused_scopes=unused,
    )


@dataclass(frozen=True)
class RbacRemoveResult(Result):
    engine: str
    app_id: str
    scope: str
    removed_assignments: tuple[str, ...]
    removed_scope: str | None
    #: `--with-group`: the scope's group, removed once nothing uses it (else why it stays).
    removed_group: str | None = None
    kept_group: str | None = None
    #: `--with-service-principal`: the app's pointer, removed once no role assignment of the app is left.
    removed_service_principal: str | None = None
    kept_service_principal: str | None = None
    #: The command that makes the scope and role assignment again with the group's members (read before the
    #: first change); "" when the scope names no group that exists.
    restore: str = ""

    @property
    def ok(self) -> bool:
        return bool(
            self.removed_assignments
            or self.removed_scope
            or self.removed_group
            or self.removed_service_principal
        )

    def lines(self) -> list[str]:
        out = [f"removed role assignment {name}" for name in self.removed_assignments]
        if not (self.removed_assignments or self.removed_scope):
            out.append(
                f"no role assignment of app {self.app_id} over scope {self.scope}"
                + ("" if self.notes else ", and no such scope")
            )
        if self.removed_scope:
            out.append(f"removed management scope {self.removed_scope}")
        if self.removed_group:
            out.append(f"removed group {self.removed_group}")
        if self.kept_group:
            out.append(f"kept the group: {self.kept_group}")
        if self.removed_service_principal:
            out.append(f"removed the service principal of app {self.removed_service_principal}")
        if self.kept_service_principal:
            out.append(f"kept the service principal: {self.kept_service_principal}")
        if self.restore and (self.removed_assignments or self.removed_scope):
            again = (
                " --sp-object-id ID (the Object ID under Enterprise applications → the app → Overview)"
                if self.removed_service_principal and "--sp-object-id" not in self.restore
                else ""
            )
            out.append(f"to restore it: {self.restore}{again}")
        return out


def remove_service_principal(
    session: ExchangeSession, app_id: str, confirm: Confirm, audit: AuditLog, progress: Progress | None = None
) -> tuple[str | None, str | None]:
    """`policy remove --engine rbac --with-service-principal`: the app's pointer (New-ServicePrincipal), once no
    role assignment of the app is left (Exchange refuses it before). Returns (removed app id, why it stays)."""
    objects = exchange.read(session, [exchange.service_principals_query(), exchange.assignments_query(None)])
    sp = app_service_principal(objects.principals, app_id)
    if sp is None:
        return None, None
    wanted = sp.object_id.casefold()
    left = [a.name for a in objects.assignments if a.assignee.casefold() == wanted and not a.delegating]
    if left:
        return None, f"the role assignment(s) {', '.join(left)} of the app still use it"
    confirm(f"Remove the service principal of app {app_id} (RBAC for Applications' pointer to it)?")
    apply = Applier(session, audit, progress)
    step = Step("principal", app_id, Outcome.REMOVED)
    apply.progress.expect([step])
    apply.run("Remove-ServicePrincipal", {"Identity": sp.object_id, "Confirm": False}, step)
    return app_id, None


def remove_rbac(
    session: ExchangeSession,
    app_id: str,
    scope_name: str,
    confirm: Confirm,
    audit: AuditLog,
    progress: Progress | None = None,
    role: str = EWS_ROLE,
    restore_seen: list[str] | None = None,
    with_service_principal: bool = False,
) -> RbacRemoveResult:
    """Remove the app's assignments of `role` (EWS's by default) over `scope_name`, then the scope when no other
    assignment uses it: the undo of `policy restrict --engine rbac` (the group stays; the service principal
    pointer too). `with_service_principal`: the caller removes the pointer next, so the way back names its object
    id (--sp-object-id): without it `policy restrict --engine rbac` is refused once the pointer is gone."""
    # Every role assignment, not only the EWS ones: an assignment of another role (the app's Graph role
    # Application Calendars.ReadWrite, an administrator's role) over the scope keeps it in use, and
    # Remove-ManagementScope would fail after the EWS assignment is gone. Checked before the first change.
    objects = exchange.read(
        session,
        [exchange.service_principals_query(), exchange.scopes_query(), exchange.assignments_query(None)],
    )
    sp = app_service_principal(objects.principals, app_id)
    mine = [a for a in app_assignments(objects.assignments, sp, role) if a.has_scope(scope_name)]
    others = [a for a in objects.assignments if a.uses_scope(scope_name) and a not in mine]
    scope = next((s for s in objects.scopes if s.name.casefold() == scope_name.casefold()), None)
    drop_scope = scope is not None and not others
    used_by = ", ".join(f"{a.name} ({a.role})" for a in others)
    kept = (
        [f"The management scope {scope_name} stays: the role assignment(s) {used_by} use it."]
        if others
        else []
    )
    if not mine and scope is None:
        # A name near a scope the tenant has is a typo (exit 2, nothing changed), as `policy remove` refuses a
        # mistyped group; a name near none is a scope already removed (a run again: nothing left to do).
        near = closest(scope_name, [s.name for s in objects.scopes])
        if near is not None:
            raise InputError(
                f"there is no management scope {scope_name} (closest: {near}); nothing was changed",
                f"use --scope {shellword(near)} (or the --group it is named after); 'roomsops policy list "
                "--engine rbac' shows the app's scopes",
                code="no_such_scope",
            )
    if not mine and not drop_scope:
        return RbacRemoveResult(
            engine="rbac",
            app_id=app_id,
            scope=scope_name,
            removed_assignments=(),
            removed_scope=None,
            notes=tuple(kept),
        )
    confirm(
        f"Remove the {role} role assignment(s) of app {app_id} over {scope_name}"
        + (" and the management scope" if drop_scope else "")
        + (f" (the management scope stays: {used_by} use it)" if others else "")
        + "? Without another grant the app then opens no mailbox"
    )
    restore = _rbac_restore_command(session, app_id, scope_name, scope, role)
    if restore and with_service_principal and sp is not None:
        restore += f" --sp-object-id {shellword(sp.object_id)}"  # review21y: works as printed
    if restore_seen is not None:
        restore_seen.append(restore)
    audited = {"app_id": app_id, "restore": restore}
    if restore:
        # The way back in the audit log before the first change (review21w): it does not depend on this output.
        # Not "ok": nothing is removed yet, and a first cmdlet that fails removes nothing (review21y).
        audit.record("policy.remove.rbac", scope_name, audited, "starting")
    apply = Applier(session, audit, progress)
    steps = [Step("assignment", a.name, Outcome.REMOVED) for a in mine]
    if drop_scope and scope is not None:
        steps.append(Step("scope", scope.name, Outcome.REMOVED))
    apply.progress.expect(steps)
    for a in mine:
        apply.run(
            "Remove-ManagementRoleAssignment",
            {"Identity": a.name, "Confirm": False},
            Step("assignment", a.name, Outcome.REMOVED),
        )
    if drop_scope and scope is not None:
        apply.run(
            "Remove-ManagementScope",
            {"Identity": scope.name, "Confirm": False},
            Step("scope", scope.name, Outcome.REMOVED),
        )
    # The outcome, once every removal succeeded (a failed cmdlet has its own line, with Exchange's error).
    audit.record(
        "policy.remove.rbac",
        scope_name,
        {**audited, "removed_assignments": [a.name for a in mine], "removed_scope": drop_scope},
        "ok",
    )
    return RbacRemoveResult(
        engine="rbac",
        app_id=app_id,
        scope=scope_name,
        removed_assignments=tuple(a.name for a in mine),
        removed_scope=scope.name if drop_scope and scope is not None else None,
        notes=(*kept, CACHE_NOTICE),
        restore=restore,
    )


def _rbac_restore_command(
    session: ExchangeSession, app_id: str, scope_name: str, scope: ManagementScope | None, role: str
) -> str:
    """The command that makes the scope and the role assignment again (the undo of `remove_rbac`), read before the
    first change: the group the scope's filter names (MemberOfGroup -eq '<DN>') with its members now. "" when the
    scope names no group that exists (an administrator's filter, or the scope is gone): no command can say it."""
    if scope is None:
        return ""
    group = None
    for value in filter_values(scope.recipient_filter or ""):
        if not value.casefold().startswith("cn=") or any(ch in value for ch in "*?["):
            continue  # a DN (MemberOfGroup), never a pattern Get-DistributionGroup would expand
        group = next(iter(exchange.read(session, [exchange.group_query(value)]).groups), None)
        if group is not None:
            break
    if group is None:
        return ""
    members = sorted(
        r.primary_smtp for r in exchange.group_members(session, group.object_id) if r.primary_smtp
    )
    permission = next((name for name, held in ROLES.items() if held == role), "ews")
    words = [
        "roomsops policy restrict --engine rbac --permission",
        permission,
        "--app-id",
        shellword(app_id),
        "--scope",
        shellword(scope_name),
        "--group",
        shellword(group.name),
    ]
    return " ".join([*words, *(f"--member {shellword(m)}" for m in members)])

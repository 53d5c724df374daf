"""RBAC for Applications: service principal pointers, management scopes, role assignments for apps, and
Test-ServicePrincipalAuthorization.

Records live in `TenantState.rbac`. Role assignments carry when each change happened and when EWS sees it
(`effective_at`, `removal_effective_at` = the change + the lab's policy delay: Exchange's permission cache);
Test-ServicePrincipalAuthorization answers from the current assignments at once, through the same
`roomsops.lab.authz.scope_covers` that EWS's `authorize()` uses.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterable
from typing import Any

from psrpcore.types import PSObject

from roomsops.lab.authz import APPLICATION_ROLES, FilterError, parse_filter, scope_covers
from roomsops.lab.cmdlets.base import (
    DN_SUFFIX,
    CmdletError,
    CmdletSpec,
    Invocation,
    Param,
    binding_error,
    exchange_error,
    exchange_object,
    guid,
    lab_limitation,
    names,
    object_not_found,
    parse_time,
    recipient_not_found,
)
from roomsops.lab.cmdlets.directory import mailbox_by_id
from roomsops.lab.cmdlets.recipients import find_one
from roomsops.lab.tenant import TenantState

JsonObject = dict[str, Any]
_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
_ALREADY_EXISTS = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
_DATA_VALIDATION = "Microsoft.Exchange.Data.DataValidationException"
MAX_NAME = 64  # New-ManagementScope.md and New-ManagementRoleAssignment.md: "up to 64 characters"

_SP_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.ServicePrincipal",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_SCOPE_TYPES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ManagementScope",
    "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_ASSIGNMENT_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.ExchangeRoleAssignmentPresentation",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_TEST_TYPES = ["Microsoft.Exchange.Management.RbacTasks.ServicePrincipalAuthorizationResult"]


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _config_dn(state: TenantState, container: str, name: str) -> str:
    return f"CN={name},CN={container},CN=RBAC,CN={state.domain},CN=ConfigurationUnits,{DN_SUFFIX.split(',', 1)[1]}"


# --- service principals ---------------------------------------------------------------------------------------


def sp_object(state: TenantState, sp: JsonObject) -> PSObject:
    props = {
        "AppId": sp["app_id"],
        "ObjectId": sp["object_id"],
        "ServiceId": sp["object_id"],  # the deprecated name of ObjectId (New-ServicePrincipal.md)
        "DisplayName": sp["display_name"],
        "Name": sp["object_id"],
        "Identity": sp["object_id"],
        "Sid": sp["sid"],
        "DistinguishedName": f"CN={sp['object_id']},OU={state.domain},{DN_SUFFIX}",
        "Guid": guid(sp["guid"]),
        "WhenCreated": parse_time(sp["created"]),
        "WhenChanged": parse_time(sp["created"]),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return exchange_object(_SP_TYPES, props, sp["object_id"])


def _sp_matches(state: TenantState, sp: JsonObject, identity: str) -> bool:
    wanted = identity.strip().casefold()
    dn = f"CN={sp['object_id']},OU={state.domain},{DN_SUFFIX}"
    keys = (sp["object_id"], sp["app_id"], sp["guid"], dn, sp["display_name"] or "")
    return bool(wanted) and any(str(k).casefold() == wanted for k in keys)


def find_sp(state: TenantState, identity: str) -> JsonObject | None:
    """ServicePrincipalIdParameter: Name, DN, GUID, AppId or ObjectId (Get-ServicePrincipal.md)."""
    return next((sp for sp in state.rbac.service_principals if _sp_matches(state, sp, identity)), None)


def get_service_principal(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        identity = inv.params.get("Identity")
        if identity is None:
            return [sp_object(state, sp) for sp in state.rbac.service_principals]
        found = find_sp(state, identity)
        if found is None:
            inv.fail(object_not_found(inv.spec.name, identity))
        return [sp_object(state, found)]


def new_service_principal(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    object_id = params.get("ObjectId") or params.get("ServiceId")
    if not object_id:
        raise binding_error(
            inv.spec,
            "MissingMandatoryParameter",
            "Cannot process command because of one or more missing mandatory parameters: ObjectId.",
        )
    app_id = _guid_value(inv, "AppId", str(params.get("AppId")))
    object_id = _guid_value(inv, "ObjectId", str(object_id))
    with inv.ctx.tenant.change() as state:
        for sp in state.rbac.service_principals:
            if sp["app_id"] == app_id or sp["object_id"] == object_id:
                inv.fail(
                    exchange_error(
                        inv.spec.name,
                        _ALREADY_EXISTS,
                        f"A service principal with AppId {sp['app_id']} and ObjectId {sp['object_id']} already "
                        "exists in this organization.",
                        target=object_id,
                    )
                )
        rid = state.next_rid
        state.next_rid += 1
        # Exchange keeps a pointer and does not look the object id up in Entra (exchange-online.md): a wrong
        # object id is accepted here, and authorize() then never matches it to the app's tokens.
        sp = {
            "guid": str(uuid.uuid4()),
            "app_id": app_id,
            "object_id": object_id,
            "display_name": params.get("DisplayName") or None,
            "sid": state.sid(rid),
            "created": _now_iso(),
        }
        state.rbac.service_principals.append(sp)
        return [sp_object(state, sp)]


def remove_service_principal(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        identity = str(inv.params.get("Identity"))
        sp = find_sp(state, identity)
        if sp is None:
            inv.fail(object_not_found(inv.spec.name, identity))
        assigned = [a["name"] for a in _current_assignments(state) if a["sp_guid"] == sp["guid"]]
        if assigned:
            inv.fail(
                exchange_error(
                    inv.spec.name,
                    "Microsoft.Exchange.Management.RbacTasks.ServicePrincipalInUseException",
                    f"The service principal {sp['object_id']} can't be removed because management role "
                    f"assignments are assigned to it: {', '.join(assigned)}. Remove them first.",
                    target=identity,
                )
            )
        state.rbac.service_principals.remove(sp)
    return []


def _guid_value(inv: Invocation, param: str, value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        inv.fail(
            exchange_error(
                inv.spec.name,
                _DATA_VALIDATION,
                f"The {param} '{value}' isn't valid. Specify the GUID of the service principal's {param}.",
                target=value,
            )
        )


# --- management scopes ------------------------------------------------------------------------------------------


def scope_object(state: TenantState, scope: JsonObject) -> PSObject:
    props = {
        "Name": scope["name"],
        "Identity": scope["name"],
        "ScopeRestrictionType": "RecipientScope",
        "Exclusive": False,
        "RecipientRoot": None,
        "RecipientFilter": scope["filter"],
        "ServerFilter": None,
        "DatabaseFilter": None,
        "DistinguishedName": _config_dn(state, "Scopes", scope["name"]),
        "Guid": guid(scope["guid"]),
        "WhenCreated": parse_time(scope["created"]),
        "WhenChanged": parse_time(scope["created"]),
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    return exchange_object(_SCOPE_TYPES, props, scope["name"])


def find_scope(state: TenantState, identity: str) -> JsonObject | None:
    """ManagementScopeIdParameter: Name, DN or GUID (New-ManagementRoleAssignment.md -CustomResourceScope)."""
    wanted = identity.strip().casefold()
    for scope in state.rbac.management_scopes:
        keys = (scope["name"], scope["guid"], _config_dn(state, "Scopes", scope["name"]))
        if wanted and any(k.casefold() == wanted for k in keys):
            return scope
    return None


def get_management_scope(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        identity = inv.params.get("Identity")
        if identity is not None:
            found = find_scope(state, identity)
            if found is None:
                inv.fail(object_not_found(inv.spec.name, identity))
            scopes = [found]
        else:
            scopes = list(state.rbac.management_scopes)
        if inv.params.get("Exclusive") is True:
            scopes = []  # the lab makes regular scopes only
        if inv.params.get("Orphan"):
            used = {a["scope_guid"] for a in _current_assignments(state)}
            scopes = [s for s in scopes if s["guid"] not in used]
        return [scope_object(state, s) for s in scopes]


def new_management_scope(inv: Invocation) -> Iterable[Any]:
    name = str(inv.params.get("Name")).strip()
    text = str(inv.params.get("RecipientRestrictionFilter")).strip()
    _check_name_length(inv, name)
    try:
        parse_filter(text)
    except FilterError as exc:
        if exc.unsupported:
            raise lab_limitation("LabFilterNotEmulated", f"{exc}.", command=inv.spec.name) from None
        inv.fail(
            exchange_error(
                inv.spec.name,
                "Microsoft.Exchange.Data.InvalidFilterException",
                f"Invalid filter syntax: {exc}.",
                target=text,
            )
        )
    with inv.ctx.tenant.change() as state:
        if find_scope(state, name) is not None:
            inv.fail(
                _exists(inv, f'The management scope "{name}" already exists. Specify a different name.', name)
            )
        scope = {"guid": str(uuid.uuid4()), "name": name, "filter": text, "created": _now_iso()}
        state.rbac.management_scopes.append(scope)
        return [scope_object(state, scope)]


def remove_management_scope(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        identity = str(inv.params.get("Identity"))
        scope = find_scope(state, identity)
        if scope is None:
            inv.fail(object_not_found(inv.spec.name, identity))
        users = [a["name"] for a in _current_assignments(state) if a["scope_guid"] == scope["guid"]]
        if (
            users
        ):  # "You can't remove a management scope if it's associated with a management role assignment."
            inv.fail(
                exchange_error(
                    inv.spec.name,
                    "Microsoft.Exchange.Management.RbacTasks.ScopeInUseException",
                    f"The management scope \"{scope['name']}\" can't be removed because it's used by the management "
                    f"role assignments {', '.join(users)}.",
                    target=identity,
                )
            )
        state.rbac.management_scopes.remove(scope)
    return []


# --- role assignments -------------------------------------------------------------------------------------------


def assignment_object(state: TenantState, assignment: JsonObject) -> PSObject:
    sp = next((s for s in state.rbac.service_principals if s["guid"] == assignment["sp_guid"]), None)
    scope = assignment.get("scope")
    props = {
        "Name": assignment["name"],
        "Identity": assignment["name"],
        "Role": assignment["role"],
        "RoleAssignee": assignment["sp_object_id"],
        "RoleAssigneeName": (sp and sp["display_name"]) or assignment["sp_object_id"],
        "RoleAssigneeType": "ServicePrincipal",
        "AssignmentMethod": "Direct",
        "CustomResourceScope": scope,
        "RecipientWriteScope": "CustomRecipientScope" if scope else "Organization",
        "ConfigWriteScope": "None",
        "CustomRecipientWriteScope": None,
        "CustomConfigWriteScope": None,
        "RecipientOrganizationalUnitScope": None,
        "Enabled": True,
        "Delegating": bool(assignment.get("delegating")),
        "DistinguishedName": _config_dn(state, "Role Assignments", assignment["name"]),
        "Guid": guid(assignment["guid"]),
        "WhenCreated": parse_time(assignment["created"]),
        "WhenChanged": parse_time(assignment["created"]),
        "IsValid": sp is not None,
        "ObjectState": "Unchanged",
    }
    return exchange_object(_ASSIGNMENT_TYPES, props, assignment["name"])


def _current_assignments(state: TenantState) -> list[JsonObject]:
    return [a for a in state.rbac.role_assignments if a.get("removed_at") is None]


def _find_assignment(state: TenantState, identity: str) -> JsonObject | None:
    wanted = identity.strip().casefold()
    for assignment in _current_assignments(state):
        keys = (
            assignment["name"],
            assignment["guid"],
            _config_dn(state, "Role Assignments", assignment["name"]),
        )
        if wanted and any(k.casefold() == wanted for k in keys):
            return assignment
    return None


def _role(inv: Invocation, name: str) -> str:
    """An application role by name; the lab knows no admin or user roles ("If you use the App parameter ...
    you can only specify application roles", New-ManagementRoleAssignment.md)."""
    found = next((r for r in APPLICATION_ROLES if r.casefold() == name.strip().casefold()), None)
    if found is None:
        inv.fail(object_not_found(inv.spec.name, name))
    return found


def get_management_role_assignment(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    if "Identity" in params and "RoleAssignee" in params:
        raise binding_error(
            inv.spec,
            "AmbiguousParameterSet",
            "Parameter set cannot be resolved using the specified named parameters.",
        )
    with inv.ctx.tenant.read() as state:
        assignments = _current_assignments(state)
        identity = params.get("Identity")
        if identity is not None:
            found = _find_assignment(state, identity)
            if found is None:
                inv.fail(object_not_found(inv.spec.name, identity))
            assignments = [found]
        assignee = params.get("RoleAssignee")
        if assignee is not None:
            sp = find_sp(state, assignee)
            if sp is None:
                inv.fail(recipient_not_found(inv.spec.name, assignee))
            assignments = [a for a in assignments if a["sp_guid"] == sp["guid"]]
        role = params.get("Role")
        if role is not None:
            wanted = _role(inv, role)
            assignments = [a for a in assignments if a["role"] == wanted]
        return [assignment_object(state, a) for a in assignments]


def new_management_role_assignment(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    role = _role(inv, str(params.get("Role")))
    with inv.ctx.tenant.change() as state:
        app = str(params.get("App"))
        sp = find_sp(state, app)
        if sp is None:
            inv.fail(recipient_not_found(inv.spec.name, app))
        scope: JsonObject | None = None
        if params.get("CustomResourceScope") is not None:
            scope = find_scope(state, str(params.get("CustomResourceScope")))
            if scope is None:
                inv.fail(recipient_not_found(inv.spec.name, str(params.get("CustomResourceScope"))))
        # Without -Name Exchange names it "<Role>-<assignee>" (64 characters at most), so a second assignment of
        # the same role to the same app collides unless named (lab choice, as on-premises naming behaves).
        name = str(params.get("Name") or f"{role}-{sp['object_id']}"[:MAX_NAME]).strip()
        _check_name_length(inv, name)
        if _find_assignment(state, name) is not None:
            inv.fail(_exists(inv, f'The role assignment "{name}" already exists.', name))
        now = time.time()
        assignment = {
            "guid": str(uuid.uuid4()),
            "name": name,
            "role": role,
            "sp_guid": sp["guid"],
            "app_id": sp["app_id"],
            "sp_object_id": sp["object_id"],
            "scope": scope["name"] if scope else None,
            "scope_guid": scope["guid"] if scope else None,
            "scope_filter": scope["filter"] if scope else None,
            "delegating": bool(params.get("Delegating")),
            "created": _now_iso(),
            "created_at": now,
            "effective_at": now + inv.ctx.options.policy_delay,  # the permission cache: when EWS sees it
            "removed_at": None,
            "removal_effective_at": None,
        }
        state.rbac.role_assignments.append(assignment)
        _prune(state, now)
        return [assignment_object(state, assignment)]


def remove_management_role_assignment(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        identity = str(inv.params.get("Identity"))
        assignment = _find_assignment(state, identity)
        if assignment is None:
            inv.fail(object_not_found(inv.spec.name, identity))
        now = time.time()
        assignment["removed_at"] = now
        assignment["removal_effective_at"] = now + inv.ctx.options.policy_delay  # EWS still grants until then
        _prune(state, now)
    return []


def _prune(state: TenantState, now: float) -> None:
    """Forget removed assignments once the permission cache no longer holds them either."""
    state.rbac.role_assignments[:] = [
        a
        for a in state.rbac.role_assignments
        if a.get("removal_effective_at") is None or float(a["removal_effective_at"]) > now
    ]


# --- Test-ServicePrincipalAuthorization -------------------------------------------------------------------------


def test_service_principal_authorization(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        identity = str(inv.params.get("Identity"))
        sp = find_sp(state, identity)
        if sp is None:
            inv.fail(object_not_found(inv.spec.name, identity))
        mailbox = None
        resource = inv.params.get("Resource")
        if resource is not None:
            found = find_one(inv, state, resource, ("mailbox",))
            mailbox = mailbox_by_id(state, found.id)
        rows = []
        for assignment in _current_assignments(state):
            if assignment["sp_guid"] != sp["guid"]:
                continue
            scope = assignment.get("scope")
            # The current assignments at once (the cmdlet bypasses the permission cache EWS waits for).
            in_scope: bool | str = "Not Run" if mailbox is None else scope_covers(state, assignment, mailbox)
            props = {
                "RoleName": assignment["role"],
                "GrantedPermissions": ", ".join(APPLICATION_ROLES[assignment["role"]][1]),
                "AllowedResourceScope": scope or "Organization",
                "ScopeType": "CustomRecipientScope" if scope else "Organization",
                "InScope": in_scope,
            }
            rows.append(exchange_object(_TEST_TYPES, props, assignment["role"]))
        return rows


# --- helpers ------------------------------------------------------------------------------------------------------


def _check_name_length(inv: Invocation, name: str) -> None:
    if len(name) > MAX_NAME:
        inv.fail(
            exchange_error(
                inv.spec.name,
                _DATA_VALIDATION,
                f"The length of the property is too long. The maximum length is {MAX_NAME} and the length of the "
                f"value provided is {len(name)}.",
                target=name,
            )
        )


def _exists(inv: Invocation, text: str, target: str) -> CmdletError:
    return exchange_error(inv.spec.name, _ALREADY_EXISTS, text, target=target)


_IDENTITY = Param("Identity", mandatory=True, position=0)
_FORCE = Param("Force", "switch")
CMDLETS = (
    CmdletSpec(
        "Get-ServicePrincipal",
        get_service_principal,
        (Param("Identity", position=0),),
        source=_PAGE + "Get-ServicePrincipal.md",
        not_emulated=("Organization",),
    ),
    CmdletSpec(
        "New-ServicePrincipal",
        new_service_principal,
        (Param("AppId", mandatory=True), Param("ObjectId"), Param("ServiceId"), Param("DisplayName")),
        source=_PAGE + "New-ServicePrincipal.md",
        not_emulated=("Organization",),
        should_process=True,
    ),
    CmdletSpec(
        "Remove-ServicePrincipal",
        remove_service_principal,
        (_IDENTITY,),
        source=_PAGE + "Remove-ServicePrincipal.md",
        should_process=True,
        confirm_by_default=True,
    ),
    CmdletSpec(
        "Get-ManagementScope",
        get_management_scope,
        (Param("Identity", position=0), Param("Exclusive", "bool"), Param("Orphan", "switch")),
        source=_PAGE + "Get-ManagementScope.md",
        not_emulated=("DomainController",),
    ),
    CmdletSpec(
        "New-ManagementScope",
        new_management_scope,
        (
            Param("Name", mandatory=True, position=0),
            Param("RecipientRestrictionFilter", mandatory=True),
            _FORCE,
        ),
        source=_PAGE + "New-ManagementScope.md",
        not_emulated=names(
            "RecipientRoot Exclusive DomainController DatabaseList DatabaseRestrictionFilter ServerList "
            "ServerRestrictionFilter"
        ),
        should_process=True,
    ),
    CmdletSpec(
        "Remove-ManagementScope",
        remove_management_scope,
        (_IDENTITY, _FORCE),
        source=_PAGE + "Remove-ManagementScope.md",
        not_emulated=("DomainController",),
        should_process=True,
        confirm_by_default=True,
    ),
    CmdletSpec(
        "Get-ManagementRoleAssignment",
        get_management_role_assignment,
        (Param("Identity", position=0), Param("RoleAssignee"), Param("Role")),
        source=_PAGE + "Get-ManagementRoleAssignment.md",
        not_emulated=names(
            "AssignmentMethod ConfigWriteScope CustomConfigWriteScope CustomRecipientWriteScope Delegating "
            "DomainController Enabled Exclusive ExclusiveConfigWriteScope ExclusiveRecipientWriteScope "
            "GetEffectiveUsers RecipientAdministrativeUnitScope RecipientGroupScope "
            "RecipientOrganizationalUnitScope RecipientWriteScope RoleAssigneeType WritableDatabase "
            "WritableRecipient WritableServer"
        ),
    ),
    CmdletSpec(
        "New-ManagementRoleAssignment",
        new_management_role_assignment,
        (
            Param("Name", position=0),
            Param("Role", mandatory=True),
            Param("App", mandatory=True),
            Param("CustomResourceScope"),
            Param("Delegating", "switch"),
            _FORCE,
        ),
        source=_PAGE + "New-ManagementRoleAssignment.md",
        # Only the App parameter set is emulated; the others assign roles to people and groups.
        not_emulated=names(
            "Computer Policy SecurityGroup User CustomConfigWriteScope CustomRecipientWriteScope DomainController "
            "ExclusiveConfigWriteScope ExclusiveRecipientWriteScope RecipientAdministrativeUnitScope "
            "RecipientGroupScope RecipientOrganizationalUnitScope RecipientRelativeWriteScope UnScopedTopLevel"
        ),
        should_process=True,
    ),
    CmdletSpec(
        "Remove-ManagementRoleAssignment",
        remove_management_role_assignment,
        (_IDENTITY, _FORCE),
        source=_PAGE + "Remove-ManagementRoleAssignment.md",
        not_emulated=("DomainController",),
        should_process=True,
        confirm_by_default=True,
    ),
    CmdletSpec(
        "Test-ServicePrincipalAuthorization",
        test_service_principal_authorization,
        (_IDENTITY, Param("Resource")),
        source=_PAGE + "Test-ServicePrincipalAuthorization.md",
        should_process=True,  # -Confirm and -WhatIf are listed ("reserved for internal Microsoft use")
    ),
)

"""Application access policies: Get-/New-/Set-/Remove-/Test-ApplicationAccessPolicy.

The policy records (TenantState.application_access_policies) carry when each change happened and when EWS
sees it (`effective_at`, `removal_effective_at` = the change + the lab's policy delay); the evaluation is
`roomsops.lab.authz.evaluate_access_policies`, the same function EWS uses through `authorize()`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from psrpcore.types import PSObject

from roomsops.lab.authz import ACCESS_RIGHTS, Target, evaluate_access_policies
from roomsops.lab.cmdlets.base import (
    CmdletError,
    CmdletSpec,
    Invocation,
    Param,
    exchange_error,
    exchange_object,
    guid,
    object_not_found,
    recipient_not_found,
)
from roomsops.lab.cmdlets.directory import (
    SECURITY_GROUP,
    AmbiguousIdentity,
    ambiguous_recipient_error,
    mailbox_by_id,
    resolve,
)
from roomsops.lab.cmdlets.recipients import find_one
from roomsops.lab.tenant import TenantState

JsonObject = dict[str, Any]
_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
# The size budget behind "The total size of App Access Policies exceeded the limit" (New-ApplicationAccessPolicy.md:
# about 100 policies, about 300 with a one-space description). Unverified model: each policy costs a fixed part
# plus its description's length; 300 one-space policies fit, 100 with 200-character descriptions do.
POLICY_SPACE = 30_300
POLICY_BASE_COST = 100
_POLICY_TYPES = [
    "Microsoft.Exchange.Management.ApplicationAccess.ApplicationAccessPolicy",
    "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
_TEST_TYPES = ["Microsoft.Exchange.Management.ApplicationAccess.ApplicationAccessPolicyTestResult"]


def get_policy(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        identity = inv.params.get("Identity")
        current = [p for p in state.application_access_policies if p.get("removed_at") is None]
        if identity is None:  # "$null ... returns all objects" (Get-ApplicationAccessPolicy.md)
            return [policy_object(state, p) for p in current]
        policy = _find(current, identity)
        if policy is None:
            inv.fail(object_not_found("Get-ApplicationAccessPolicy", identity))
        return [policy_object(state, policy)]


def new_policy(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    description = params.get("Description") or ""
    with inv.ctx.tenant.change() as state:
        scope = _scope(inv, state, str(params.get("PolicyScopeGroupId")))
        now = time.time()
        created = []
        for app_id in params.get("AppId") or []:
            app = app_id.strip()
            try:
                app = str(uuid.UUID(app))
            except ValueError:
                inv.fail(
                    exchange_error(
                        "New-ApplicationAccessPolicy",
                        "Microsoft.Exchange.Data.DataValidationException",
                        f"The AppId '{app_id}' isn't a valid application ID. An application ID is a GUID.",
                        target=app_id,
                    )
                )
            identity = f"{state.tenant_id}\\{app}:{scope['sid']};{scope['object_id']}"
            if _find(state.application_access_policies, identity, current_only=True) is not None:
                inv.fail(
                    exchange_error(
                        "New-ApplicationAccessPolicy",
                        "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
                        f"An application access policy for application {app} and scope {scope['name']} already "
                        "exists.",
                        target=identity,
                    )
                )
            if _space_used(state) + POLICY_BASE_COST + len(description) > POLICY_SPACE:
                inv.fail(_limit_error())
            policy = {
                "identity": identity,
                "app_id": app,
                "access_right": params.get("AccessRight"),
                "description": description,
                "scope": scope,
                "created_at": now,
                "effective_at": now + inv.ctx.options.policy_delay,  # when EWS starts to see it
                "removed_at": None,
                "removal_effective_at": None,
            }
            state.application_access_policies.append(policy)
            created.append(policy)
        _prune(state, now)
        return [policy_object(state, p) for p in created]


def set_policy(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        policy = _current(inv, state, "Set-ApplicationAccessPolicy")
        description = inv.params.get("Description") or ""
        grown = len(description) - len(policy["description"])
        if grown > 0 and _space_used(state) + grown > POLICY_SPACE:
            inv.fail(_limit_error())
        policy["description"] = description  # the only thing Set- changes (Set-ApplicationAccessPolicy.md)
    return []


def remove_policy(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.change() as state:
        policy = _current(inv, state, "Remove-ApplicationAccessPolicy")
        now = time.time()
        policy["removed_at"] = now
        policy["removal_effective_at"] = now + inv.ctx.options.policy_delay  # EWS applies it until then
        _prune(state, now)
    return []


def test_policy(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        identity = str(inv.params.get("Identity"))
        found = find_one(inv, state, identity, ("mailbox", "group"))
        app_id = str(inv.params.get("AppId")).strip()
        # The current policies, at once (as_seen_at=None): the cmdlet bypasses the propagation EWS waits for.
        verdict = evaluate_access_policies(state, app_id, Target(found.kind, found.id), as_seen_at=None)
        mailbox = mailbox_by_id(state, found.id) if found.kind == "mailbox" else None
        result = "Granted" if verdict.granted else "Denied"
        props = {
            "AppId": app_id,
            "Mailbox": found.name,
            "MailboxId": guid(mailbox.id if mailbox else found.guid),
            "MailboxSid": found.sid,
            "AccessCheckResult": result,
        }
        return [exchange_object(_TEST_TYPES, props, result)]


# --- helpers ------------------------------------------------------------------------------------------------------


def policy_object(state: TenantState, policy: JsonObject) -> PSObject:
    scope = policy["scope"]
    valid = scope["kind"] != "group" or any(g["guid"] == scope["id"] for g in state.groups)
    props = {
        "ScopeName": scope["display_name"],
        "ScopeIdentity": scope["name"],
        "Identity": policy["identity"],
        "AppId": policy["app_id"],
        "ScopeIdentityRaw": f"{scope['sid']};{scope['object_id']}",
        "Description": policy["description"],
        "AccessRight": policy["access_right"],
        "ShardType": "All",
        "IsValid": valid,
        "ObjectState": "Unchanged",
    }
    return exchange_object(_POLICY_TYPES, props, policy["identity"])


def _scope(inv: Invocation, state: TenantState, identity: str) -> JsonObject:
    """-PolicyScopeGroupId: a mail-enabled security group or a user mailbox (security principals only)."""
    try:
        found = resolve(state, identity)
    except AmbiguousIdentity:
        inv.fail(ambiguous_recipient_error("New-ApplicationAccessPolicy", identity))
    if found is None:
        inv.fail(recipient_not_found("New-ApplicationAccessPolicy", identity))
    if found.details not in (SECURITY_GROUP, "UserMailbox"):
        inv.fail(
            exchange_error(
                "New-ApplicationAccessPolicy",
                "Microsoft.Exchange.Management.Tasks.InvalidPolicyScopeGroupIdException",
                f"The recipient '{identity}' ({found.details}) can't be the scope of an application access policy: "
                "specify a mail-enabled security group or a user mailbox.",
                target=identity,
            )
        )
    return {
        "kind": found.kind,
        "id": found.id,
        "name": found.name,
        "display_name": found.display_name,
        "object_id": found.object_id,
        "sid": found.sid,
    }


def _current(inv: Invocation, state: TenantState, cmdlet: str) -> JsonObject:
    identity = str(inv.params.get("Identity"))
    policy = _find(state.application_access_policies, identity, current_only=True)
    if policy is None:
        inv.fail(object_not_found(cmdlet, identity))
    return policy


def _find(policies: list[JsonObject], identity: str, *, current_only: bool = True) -> JsonObject | None:
    wanted = identity.strip().casefold()
    return next(
        (
            p
            for p in policies
            if p["identity"].casefold() == wanted and (not current_only or p.get("removed_at") is None)
        ),
        None,
    )


def _space_used(state: TenantState) -> int:
    return sum(
        POLICY_BASE_COST + len(p["description"])
        for p in state.application_access_policies
        if p.get("removed_at") is None
    )


def _prune(state: TenantState, now: float) -> None:
    """Forget removed policies once EWS no longer sees them either."""
    state.application_access_policies[:] = [
        p
        for p in state.application_access_policies
        if p.get("removal_effective_at") is None or float(p["removal_effective_at"]) > now
    ]


def _limit_error() -> CmdletError:
    return exchange_error(
        "New-ApplicationAccessPolicy",
        "Microsoft.Exchange.Management.Tasks.ApplicationAccessPolicySizeLimitExceededException",
        "The total size of App Access Policies exceeded the limit.",
    )


_IDENTITY = Param("Identity", mandatory=True, position=0)
CMDLETS = (
    CmdletSpec(
        "Get-ApplicationAccessPolicy",
        get_policy,
        (Param("Identity", position=0),),
        source=_PAGE + "Get-ApplicationAccessPolicy.md",
    ),
    CmdletSpec(
        "New-ApplicationAccessPolicy",
        new_policy,
        (
            Param(
                "AccessRight",
                "enum",
                mandatory=True,
                choices=ACCESS_RIGHTS,
                type_name="Microsoft.Exchange.Data.Directory.ApplicationAccessPolicyRight",
            ),
            Param("AppId", "strings", mandatory=True),
            Param("PolicyScopeGroupId", mandatory=True),
            Param("Description"),
        ),
        source=_PAGE + "New-ApplicationAccessPolicy.md",
        should_process=True,
    ),
    CmdletSpec(
        "Set-ApplicationAccessPolicy",
        set_policy,
        (_IDENTITY, Param("Description", mandatory=True)),
        source=_PAGE + "Set-ApplicationAccessPolicy.md",
        should_process=True,
    ),
    CmdletSpec(
        "Remove-ApplicationAccessPolicy",
        remove_policy,
        (_IDENTITY,),
        source=_PAGE + "Remove-ApplicationAccessPolicy.md",
        should_process=True,
        confirm_by_default=True,
    ),
    CmdletSpec(
        "Test-ApplicationAccessPolicy",
        test_policy,
        (_IDENTITY, Param("AppId", mandatory=True)),
        source=_PAGE + "Test-ApplicationAccessPolicy.md",
    ),
)

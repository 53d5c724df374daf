"""The one decision whether an app may open a mailbox, used by every protocol of the lab.

`authorize()` (EWS and later Graph) and `Test-ApplicationAccessPolicy` share `evaluate_access_policies()`,
so the cmdlets and EWS can never disagree about a policy; only *when* EWS sees a change differs
(`--policy-delay`, captured per policy when it is created or removed).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from roomsops.lab.tenant import AppRegistration, Mailbox, Tenant, TenantState

#: The tenant-wide Entra application permission of Office 365 Exchange Online that opens every mailbox.
FULL_ACCESS_AS_APP = "full_access_as_app"

# Reason codes of a Decision (stable: EWS maps them to its answers, tests assert them).
OK = "ok"
APP_NOT_FOUND = "app_not_found"
NO_PERMISSION = "no_permission"
MAILBOX_NOT_FOUND = "mailbox_not_found"
EWS_DISABLED = "ews_disabled"  # the tenant's EwsEnabled is False
EWS_APP_NOT_ALLOWED = "ews_app_not_allowed"  # EwsEnabled is True and the app is not in EwsAllowedAppIDs
EWS_DISABLED_MAILBOX = "ews_disabled_mailbox"  # Set-CASMailbox -EwsEnabled $false
DENIED_BY_POLICY = "denied_by_policy"  # an application access policy
REASONS = (
    OK,
    APP_NOT_FOUND,
    NO_PERMISSION,
    MAILBOX_NOT_FOUND,
    EWS_DISABLED,
    EWS_APP_NOT_ALLOWED,
    EWS_DISABLED_MAILBOX,
    DENIED_BY_POLICY,
)

Protocol = Literal["ews", "graph"]


@dataclass(frozen=True)
class Decision:
    """allowed, a stable reason code (see REASONS), a human detail, and the mailbox's primary SMTP address."""

    allowed: bool
    reason: str
    detail: str
    mailbox: str | None = None


def authorize(
    tenant: Tenant,
    app_id: str,
    mailbox_address: str,
    *,
    token_roles: Collection[str] | None = None,
    now: float | None = None,
    protocol: Protocol = "ews",
) -> Decision:
    """May `app_id` open `mailbox_address` (primary or alias address, any case)?

    `token_roles`: the `roles` claim of the access token the request came with. A resource server judges
    the tenant-wide permission from the token (a revoked consent only bites with the next token); without
    it, the tenant's current consent is used (what the admin cmdlets evaluate).
    `now`: the moment of the request (epoch seconds; default: the clock), which decides the application access
    policies EWS sees yet (each policy change applies `policy_delay` seconds after it was made).
    `protocol`: "ews" applies the tenant's and the mailbox's EWS switches; "graph" does not.
    """
    with tenant.read() as state:
        return decide(state, app_id, mailbox_address, token_roles=token_roles, now=now, protocol=protocol)


def decide(
    state: TenantState,
    app_id: str,
    mailbox_address: str,
    *,
    token_roles: Collection[str] | None = None,
    now: float | None = None,
    protocol: Protocol = "ews",
) -> Decision:
    """`authorize()` on a state the caller already holds the lock of.

    Order (unverified as a whole; each step's effect is documented): tenant EWS switches, the Entra
    permission (RBAC for Applications joins here), the mailbox, its EWS switch, application access policies.
    """
    app = state.app_by_id(app_id)
    if app is None:
        return Decision(False, APP_NOT_FOUND, f"no application with id {app_id} in tenant {state.domain}")
    if protocol == "ews":
        switched_off = _tenant_ews_switch(state, app)
        if switched_off is not None:
            return switched_off
    roles = app.application_permissions if token_roles is None else token_roles
    # Checked before the mailbox: the resource refuses a caller without rights before resolving anything.
    if FULL_ACCESS_AS_APP not in roles and not _rbac_for_applications_grants(state, app):
        return Decision(
            False,
            NO_PERMISSION,
            f"application {app.display_name} ({app.app_id}) has no {FULL_ACCESS_AS_APP} permission",
        )
    mailbox = state.find_mailbox(mailbox_address)
    if mailbox is None:
        return Decision(False, MAILBOX_NOT_FOUND, f"no mailbox has the address {mailbox_address}")
    if protocol == "ews" and mailbox.ews_enabled is False:
        return Decision(
            False,
            EWS_DISABLED_MAILBOX,
            f"EWS is disabled for the mailbox {mailbox.primary_smtp} (Set-CASMailbox -EwsEnabled $false)",
            mailbox=mailbox.primary_smtp,
        )
    moment = time.time() if now is None else now
    verdict = evaluate_access_policies(state, app.app_id, Target("mailbox", mailbox.id), as_seen_at=moment)
    if not verdict.granted:
        return Decision(False, DENIED_BY_POLICY, verdict.detail, mailbox=mailbox.primary_smtp)
    return Decision(
        True,
        OK,
        f"{FULL_ACCESS_AS_APP} is consented tenant-wide for {app.display_name}; {verdict.detail}",
        mailbox=mailbox.primary_smtp,
    )


def _tenant_ews_switch(state: TenantState, app: AppRegistration) -> Decision | None:
    """Set-OrganizationConfig -EwsEnabled / -EwsAllowedAppIDs (Set-OrganizationConfig.md).

    Unset (None) lets EWS through: Microsoft's phased switch-off from 2026-10-01 sets it to False tenant by
    tenant, which the lab models by an admin setting it to False (Set-OrganizationConfig -EwsEnabled $false).
    """
    org = state.organization
    if org.ews_enabled is False:
        return Decision(False, EWS_DISABLED, f"EWS is disabled for the organization {state.domain}")
    if org.ews_enabled is True:
        allowed = {a.strip().casefold() for a in org.ews_allowed_app_ids}
        if app.app_id.casefold() not in allowed:
            return Decision(
                False,
                EWS_APP_NOT_ALLOWED,
                f"EWS is enabled for {state.domain} only for the applications in EwsAllowedAppIDs, "
                f"and {app.display_name} ({app.app_id}) is not one of them",
            )
    return None


def _rbac_for_applications_grants(state: TenantState, app: AppRegistration) -> bool:
    """RBAC for Applications (New-ManagementRoleAssignment -App ... "Application EWS.AccessAsApp").

    Not modelled yet (a later task): it will grant here when the app lacks the tenant-wide Entra permission
    and a role assignment's scope covers the mailbox. Entra consent and RBAC add up, so a tenant-wide
    full_access_as_app makes RBAC scoping moot (exchange-online.md); state.rbac holds the objects.
    """
    return False


# --- application access policies ------------------------------------------------------------------------

RESTRICT_ACCESS = "RestrictAccess"
DENY_ACCESS = "DenyAccess"
ACCESS_RIGHTS = (RESTRICT_ACCESS, DENY_ACCESS)

# Unverified choices (FIDELITY.md, "Authorization: unverified choices"), kept here so they are easy to change:
#: Members of a group nested in a policy's scope group count as outside the scope.
EXPAND_NESTED_GROUPS = False


@dataclass(frozen=True)
class Target:
    """What a policy is evaluated for: a mailbox (Mailbox.id) or a group (its Guid), as Test-... may name."""

    kind: Literal["mailbox", "group"]
    id: str


@dataclass(frozen=True)
class PolicyVerdict:
    granted: bool
    detail: str
    policy: str | None = None  # the Identity of the deciding policy, if one decided


def evaluate_access_policies(
    state: TenantState, app_id: str, target: Target, *, as_seen_at: float | None = None
) -> PolicyVerdict:
    """Application access policies for (app, target), in the order New-ApplicationAccessPolicy.md states:
    a DenyAccess policy whose scope holds the target denies (even with a RestrictAccess match); a
    RestrictAccess policy whose scope holds it grants; any other RestrictAccess policy of the app denies;
    no policy grants.

    `as_seen_at=None`: the current policies (what Test-ApplicationAccessPolicy evaluates); a time: the
    policies EWS sees at that moment (created ones from their `effective_at`, removed ones until theirs).
    """
    wanted = app_id.strip().casefold()
    policies = [
        p
        for p in state.application_access_policies
        if str(p["app_id"]).casefold() == wanted and policy_in_force(p, as_seen_at)
    ]
    if not policies:
        return PolicyVerdict(True, "no application access policy applies to the app")
    covering = [p for p in policies if _in_scope(state, p, target)]
    for policy in covering:
        if policy["access_right"] == DENY_ACCESS:
            return PolicyVerdict(
                False, f"DenyAccess policy for group {policy['scope']['name']} covers it", policy["identity"]
            )
    for policy in covering:
        if policy["access_right"] == RESTRICT_ACCESS:
            return PolicyVerdict(
                True,
                f"RestrictAccess policy for group {policy['scope']['name']} covers it",
                policy["identity"],
            )
    restricting = [p for p in policies if p["access_right"] == RESTRICT_ACCESS]
    if restricting:
        names = ", ".join(sorted(str(p["scope"]["name"]) for p in restricting))
        return PolicyVerdict(
            False, f"outside every RestrictAccess policy's scope ({names})", restricting[0]["identity"]
        )
    return PolicyVerdict(True, "only DenyAccess policies for other scopes apply")


def policy_in_force(policy: dict[str, Any], as_seen_at: float | None) -> bool:
    """Whether a policy record counts: now (as_seen_at None) or as EWS sees it at `as_seen_at`."""
    if as_seen_at is None:
        return policy.get("removed_at") is None
    if as_seen_at < float(policy["effective_at"]):
        return False
    removed = policy.get("removal_effective_at")
    return removed is None or as_seen_at < float(removed)


def _in_scope(state: TenantState, policy: dict[str, Any], target: Target) -> bool:
    scope = policy["scope"]
    if scope["kind"] != "group":
        return scope["kind"] == target.kind and scope["id"] == target.id
    if target.kind == "group" and target.id == scope["id"]:
        return True
    return target in set(_members(state, str(scope["id"]), seen=set()))


def _members(state: TenantState, group_id: str, *, seen: set[str]) -> Iterable[Target]:
    group = next((g for g in state.groups if g["guid"] == group_id), None)
    if group is None or group_id in seen:
        return  # a removed scope group holds no one (Get-ApplicationAccessPolicy shows IsValid False)
    seen.add(group_id)
    for member in group["members"]:
        yield Target(member["kind"], member["id"])
        if EXPAND_NESTED_GROUPS and member["kind"] == "group":
            yield from _members(state, str(member["id"]), seen=seen)


def mailbox_target(mailbox: Mailbox) -> Target:
    return Target("mailbox", mailbox.id)

"""The one decision whether an app may open a mailbox, used by every protocol of the lab.

`authorize()` (EWS and later Graph) and `Test-ApplicationAccessPolicy` share `evaluate_access_policies()`;
`authorize()` and `Test-ServicePrincipalAuthorization` share `scope_covers()` (RBAC for Applications), so the
cmdlets and EWS can never disagree; only *when* EWS sees a change differs (`--policy-delay`, captured per
policy or role assignment when it is created or removed: the permission cache).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from roomsops.lab.tenant import AppRegistration, Mailbox, Tenant, TenantState

#: Graph permissions any of which opens a mailbox's calendar for reading (the default question for "graph").
GRAPH_CALENDAR_READ = ("Calendars.Read", "Calendars.ReadWrite")

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
DENIED_BY_RBAC_SCOPE = (
    "denied_by_rbac_scope"  # RBAC for Applications grants the app, but not for this mailbox
)
REASONS = (
    OK,
    APP_NOT_FOUND,
    NO_PERMISSION,
    MAILBOX_NOT_FOUND,
    EWS_DISABLED,
    EWS_APP_NOT_ALLOWED,
    EWS_DISABLED_MAILBOX,
    DENIED_BY_POLICY,
    DENIED_BY_RBAC_SCOPE,
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
    graph_permissions: Collection[str] = (),
) -> Decision:
    """May `app_id` open `mailbox_address` (primary or alias address, any case)?

    `token_roles`: the `roles` claim of the access token the request came with. A resource server judges
    the tenant-wide permission from the token (a revoked consent only bites with the next token); without
    it, the tenant's current consent is used (what the admin cmdlets evaluate).
    `now`: the moment of the request (epoch seconds; default: the clock), which decides the application access
    policies EWS sees yet (each policy change applies `policy_delay` seconds after it was made).
    `protocol`: "ews" applies the tenant's and the mailbox's EWS switches; "graph" does not.
    `graph_permissions`: for "graph", the Graph permissions any of which opens the mailbox for the request (e.g.
    Calendars.Read or Calendars.ReadWrite for a read, the default): the tenant-wide grant is one of them in the
    token's roles (without a token: the app's consented Graph permissions), and only role assignments of an
    application role carrying one of them count.
    """
    with tenant.read() as state:
        return decide(
            state,
            app_id,
            mailbox_address,
            token_roles=token_roles,
            now=now,
            protocol=protocol,
            graph_permissions=graph_permissions,
        )


def decide(
    state: TenantState,
    app_id: str,
    mailbox_address: str,
    *,
    token_roles: Collection[str] | None = None,
    now: float | None = None,
    protocol: Protocol = "ews",
    graph_permissions: Collection[str] = (),
) -> Decision:
    """`authorize()` on a state the caller already holds the lock of.

    Order (unverified as a whole; each step's effect is documented): tenant EWS switches, a permission at all
    (the tenant-wide Entra grant or an RBAC for Applications role assignment), the mailbox, its EWS switch,
    then what grants this mailbox: the Entra grant as application access policies restrict it, or else a role
    assignment whose scope covers the mailbox. Entra consent and RBAC grants add up (exchange-online.md), so a
    tenant-wide grant without a restricting policy opens every mailbox whatever the RBAC scopes say.
    """
    app = state.app_by_id(app_id)
    if app is None:
        return Decision(False, APP_NOT_FOUND, f"no application with id {app_id} in tenant {state.domain}")
    if protocol == "ews":
        switched_off = _tenant_ews_switch(state, app)
        if switched_off is not None:
            return switched_off
    consented = app.graph_permissions if protocol == "graph" else app.application_permissions
    roles = consented if token_roles is None else token_roles
    moment = time.time() if now is None else now
    assignments = app_role_assignments(state, app, protocol, as_seen_at=moment)
    if protocol == "graph":
        wanted = set(graph_permissions or GRAPH_CALENDAR_READ)
        tenant_wide = bool(wanted & set(roles))
        assignments = [a for a in assignments if wanted & set(APPLICATION_ROLES[str(a["role"])][1])]
    else:
        tenant_wide = FULL_ACCESS_AS_APP in roles
    grant_name = (
        " or ".join(sorted(graph_permissions or GRAPH_CALENDAR_READ))
        if protocol == "graph"
        else FULL_ACCESS_AS_APP
    )
    # Checked before the mailbox: the resource refuses a caller without rights before resolving anything.
    if not tenant_wide and not assignments:
        return Decision(
            False,
            NO_PERMISSION,
            f"application {app.display_name} ({app.app_id}) has no {grant_name} permission and no "
            "RBAC for Applications role assignment in force",
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
    verdict: PolicyVerdict | None = None
    if tenant_wide:
        verdict = evaluate_access_policies(
            state, app.app_id, Target("mailbox", mailbox.id), as_seen_at=moment
        )
        if verdict.granted:
            return Decision(
                True,
                OK,
                f"{grant_name} is consented tenant-wide for {app.display_name}; {verdict.detail}",
                mailbox=mailbox.primary_smtp,
            )
    granted_by = _rbac_for_applications_grants(state, mailbox, assignments)
    if granted_by is not None:
        return Decision(True, OK, granted_by, mailbox=mailbox.primary_smtp)
    if verdict is not None:
        return Decision(False, DENIED_BY_POLICY, verdict.detail, mailbox=mailbox.primary_smtp)
    scopes = ", ".join(sorted({str(a.get("scope") or "Organization") for a in assignments}))
    return Decision(
        False,
        DENIED_BY_RBAC_SCOPE,
        f"no RBAC for Applications role assignment of {app.display_name} covers {mailbox.primary_smtp} "
        f"(scopes: {scopes})",
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


def _rbac_for_applications_grants(
    state: TenantState, mailbox: Mailbox, assignments: Iterable[dict[str, Any]]
) -> str | None:
    """RBAC for Applications (New-ManagementRoleAssignment -App ... -CustomResourceScope ...): the detail of the
    first role assignment whose resource scope covers the mailbox, or None. Only reached when the tenant-wide
    Entra permission did not already grant the mailbox: the two add up (exchange-online.md)."""
    for assignment in assignments:
        if scope_covers(state, assignment, mailbox):
            scope = assignment.get("scope") or "Organization"
            return f"RBAC for Applications: {assignment['role']} with resource scope {scope} covers it"
    return None


# --- RBAC for Applications ------------------------------------------------------------------------------
# Records in TenantState.rbac (shapes owned by roomsops.lab.cmdlets.rbac): role assignments carry the app id
# and the service principal object id they were made for, their scope's name, guid and filter (a removed
# assignment still in the permission cache keeps its scope), and created/effective/removed times like policies.

EWS_ACCESS_AS_APP = "Application EWS.AccessAsApp"
#: The application roles (exchange/permissions-exo/application-rbac, "Supported Application Roles"):
#: role name -> (the protocol it opens, the permissions Test-ServicePrincipalAuthorization lists).
APPLICATION_ROLES: dict[str, tuple[Protocol, tuple[str, ...]]] = {
    "Application Mail.Read": ("graph", ("Mail.Read",)),
    "Application Mail.ReadBasic": ("graph", ("Mail.ReadBasic",)),
    "Application Mail.ReadWrite": ("graph", ("Mail.ReadWrite",)),
    "Application Mail.Send": ("graph", ("Mail.Send",)),
    "Application MailboxSettings.Read": ("graph", ("MailboxSettings.Read",)),
    "Application MailboxSettings.ReadWrite": ("graph", ("MailboxSettings.ReadWrite",)),
    "Application Calendars.Read": ("graph", ("Calendars.Read",)),
    "Application Calendars.ReadWrite": ("graph", ("Calendars.ReadWrite",)),
    "Application Contacts.Read": ("graph", ("Contacts.Read",)),
    "Application Contacts.ReadWrite": ("graph", ("Contacts.ReadWrite",)),
    "Application Mail Full Access": ("graph", ("Mail.ReadWrite", "Mail.Send")),
    "Application Exchange Full Access": (
        "graph",
        (
            "Mail.ReadWrite",
            "Mail.Send",
            "Contacts.ReadWrite",
            "Calendars.ReadWrite",
            "MailboxSettings.ReadWrite",
        ),
    ),
    EWS_ACCESS_AS_APP: ("ews", ("EWS.AccessAsApp",)),
}


def app_role_assignments(
    state: TenantState, app: AppRegistration, protocol: Protocol, *, as_seen_at: float | None
) -> list[dict[str, Any]]:
    """The app's role assignments that open `protocol`, as EWS sees them at `as_seen_at` (None: now).

    An assignment belongs to the app when its service principal pointer names the app id *and* the object id of
    the app's service principal (the token's `oid`): a pointer made with another object id (say the app
    registration's) grants nothing, whatever Test-ServicePrincipalAuthorization says (lab choice).
    """
    wanted_app, wanted_sp = app.app_id.casefold(), app.sp_object_id.casefold()
    return [
        a
        for a in state.rbac.role_assignments
        if str(a["app_id"]).casefold() == wanted_app
        and str(a["sp_object_id"]).casefold() == wanted_sp
        and APPLICATION_ROLES.get(str(a["role"]), ("", ()))[0] == protocol
        and policy_in_force(a, as_seen_at)
    ]


def scope_covers(state: TenantState, assignment: dict[str, Any], mailbox: Mailbox) -> bool:
    """Whether a role assignment's resource scope holds the mailbox (no scope: the whole organization)."""
    if not assignment.get("scope"):
        return True
    scope = next((s for s in state.rbac.management_scopes if s["guid"] == assignment.get("scope_guid")), None)
    text = str(scope["filter"] if scope is not None else assignment["scope_filter"])
    return matches_filter(state, parse_filter(text), mailbox)


# The OPATH subset of -RecipientRestrictionFilter the lab evaluates (New-ManagementScope.md; OPATH operators
# from exchange-server/recipient-filters/recipient-filters.md): comparisons joined by -and / -or, negated by
# -not, grouped by parentheses, optionally inside braces.
FILTER_PROPERTIES = (
    "MemberOfGroup",
    "Alias",
    "Name",
    "DisplayName",
    "PrimarySmtpAddress",
    "RecipientTypeDetails",
)
_COMPARISONS = ("-eq", "-ne", "-like", "-notlike")
#: PowerShell's single quotes: ' and the typographic ‘ ’ ‚ ‛ are interchangeable; any of them opens or ends a
#: single-quoted string, and two in a row (of any kinds) stand for the second (the tokenizer's IsSingleQuote).
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_Q = f"[{SINGLE_QUOTES}]"
_TOKEN = re.compile(
    rf"""\s*(?:(?P<paren>[()])|(?P<op>-[A-Za-z]+)|{_Q}(?P<sq>(?:[^{SINGLE_QUOTES}]|{_Q}{_Q})*){_Q}"""
    rf"""|"(?P<dq>(?:[^"]|"")*)"|(?P<word>[^\s()"{SINGLE_QUOTES}]+))"""
)
_ESCAPED_QUOTE = re.compile(rf"{_Q}({_Q})")


class FilterError(ValueError):
    """The filter is not valid OPATH (or uses what the lab does not evaluate: `unsupported`)."""

    def __init__(self, message: str, *, unsupported: bool = False) -> None:
        super().__init__(message)
        self.unsupported = unsupported


@dataclass(frozen=True)
class Comparison:
    prop: str  # canonical name from FILTER_PROPERTIES
    op: str  # one of _COMPARISONS
    value: str | None  # None: $null


@dataclass(frozen=True)
class Not:
    operand: FilterNode


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[FilterNode, ...]


FilterNode = Comparison | Not | BoolOp


def parse_filter(text: str) -> FilterNode:
    """Parse a recipient filter; FilterError says where it is wrong."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    tokens = _tokenize(body)
    if not tokens:
        raise FilterError("the filter is empty")
    node, rest = _parse_or(tokens)
    if rest:
        raise FilterError(f'unexpected "{rest[0][1]}" in the filter')
    return node


Token = tuple[str, str]  # (kind, text): paren | op | value | word


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise FilterError(
                f'cannot read the filter at position {position}: "{text[position : position + 20]}"'
            )
        position = found.end()
        if found.group("paren"):
            tokens.append(("paren", found.group("paren")))
        elif found.group("op"):
            tokens.append(("op", found.group("op").casefold()))
        elif found.group("sq") is not None:
            tokens.append(("value", _ESCAPED_QUOTE.sub(r"\1", found.group("sq"))))
        elif found.group("dq") is not None:
            tokens.append(("value", found.group("dq").replace('""', '"')))
        else:
            tokens.append(("word", found.group("word")))
    return tokens


def _parse_or(tokens: list[Token]) -> tuple[FilterNode, list[Token]]:
    node, rest = _parse_and(tokens)
    operands = [node]
    while rest and rest[0] == ("op", "-or"):
        node, rest = _parse_and(rest[1:])
        operands.append(node)
    return (operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))), rest


def _parse_and(tokens: list[Token]) -> tuple[FilterNode, list[Token]]:
    node, rest = _parse_unary(tokens)
    operands = [node]
    while rest and rest[0] == ("op", "-and"):
        node, rest = _parse_unary(rest[1:])
        operands.append(node)
    return (operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))), rest


def _parse_unary(tokens: list[Token]) -> tuple[FilterNode, list[Token]]:
    if not tokens:
        raise FilterError("the filter ends where a condition is expected")
    if tokens[0] == ("op", "-not"):
        operand, rest = _parse_unary(tokens[1:])
        return Not(operand), rest
    if tokens[0] == ("paren", "("):
        node, rest = _parse_or(tokens[1:])
        if not rest or rest[0] != ("paren", ")"):
            raise FilterError("a parenthesis is not closed in the filter")
        return node, rest[1:]
    return _parse_comparison(tokens)


def _parse_comparison(tokens: list[Token]) -> tuple[FilterNode, list[Token]]:
    if (
        len(tokens) < 3
        or tokens[0][0] != "word"
        or tokens[1][0] != "op"
        or tokens[2][0] not in ("value", "word")
    ):
        shown = " ".join(t[1] for t in tokens[:3])
        raise FilterError(f"\"{shown}\" is not a comparison of the form Property -Operator 'Value'")
    name, op, (kind, raw) = tokens[0][1], tokens[1][1], tokens[2]
    prop = next((p for p in FILTER_PROPERTIES if p.casefold() == name.casefold()), None)
    if prop is None:
        raise FilterError(f"the lab does not evaluate the filter property {name}", unsupported=True)
    if op not in _COMPARISONS:
        raise FilterError(f"{op} is not a comparison operator")
    value: str | None = raw
    if kind == "word" and raw.startswith("$"):
        if raw.casefold() != "$null":
            raise FilterError(f"{raw} is not a value of {prop}")
        value = None
    if prop == "MemberOfGroup":
        if op not in ("-eq", "-ne"):
            raise FilterError(f"MemberOfGroup takes -eq or -ne, not {op}")
        if value is None or not value.strip().casefold().startswith("cn="):
            # The property holds group links: Exchange wants the group's distinguished name (lab check).
            raise FilterError(f"MemberOfGroup needs the distinguished name of a group, not '{value}'")
    return Comparison(prop, op, value), tokens[3:]


def matches_filter(state: TenantState, node: FilterNode, mailbox: Mailbox) -> bool:
    if isinstance(node, Not):
        return not matches_filter(state, node.operand, mailbox)
    if isinstance(node, BoolOp):
        results = (matches_filter(state, operand, mailbox) for operand in node.operands)
        return all(results) if node.op == "and" else any(results)
    if node.prop == "MemberOfGroup":
        # Direct members only: memberOf holds the groups an object is itself a member of.
        member = _direct_member_of(state, str(node.value), mailbox)
        return member if node.op == "-eq" else not member
    actual = {
        "Alias": mailbox.alias,
        "Name": mailbox.alias,  # the lab names a mailbox's recipient by its alias (cmdlets.directory)
        "DisplayName": mailbox.display_name,
        "PrimarySmtpAddress": mailbox.primary_smtp,
        "RecipientTypeDetails": "RoomMailbox" if mailbox.kind == "room" else "UserMailbox",
    }[node.prop]
    if node.value is None:
        equal = not actual
    elif node.op in ("-like", "-notlike"):
        pattern = "^" + ".*".join(re.escape(part) for part in node.value.split("*")) + "$"
        equal = re.match(pattern, actual, re.IGNORECASE) is not None
    else:
        equal = actual.casefold() == node.value.casefold()
    return equal if node.op in ("-eq", "-like") else not equal


def _direct_member_of(state: TenantState, group_dn: str, mailbox: Mailbox) -> bool:
    # Imported here: the cmdlets package imports this module, and the DN is theirs to define.
    from roomsops.lab.cmdlets.directory import distinguished_name

    wanted = group_dn.strip().casefold()
    for group in state.groups:
        dn = distinguished_name(group["name"], str(group["primary_smtp"]).split("@", 1)[-1])
        if dn.casefold() == wanted:
            return any(m["kind"] == "mailbox" and m["id"] == mailbox.id for m in group["members"])
    return False  # a filter naming no group's DN holds no one


# --- application access policies ------------------------------------------------------------------------

RESTRICT_ACCESS = "RestrictAccess"
DENY_ACCESS = "DenyAccess"
ACCESS_RIGHTS = (RESTRICT_ACCESS, DENY_ACCESS)

#: Members of a group nested in a policy's scope group are in the scope: -PolicyScopeGroupID names "users or
#: groups, including nested groups" (New-ApplicationAccessPolicy.md). RBAC's MemberOfGroup stays direct-only.
EXPAND_NESTED_GROUPS = True


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
    """Whether a policy (or role assignment) record counts: now (as_seen_at None) or as EWS sees it at
    `as_seen_at` (the permission cache: created ones from their `effective_at`, removed ones until theirs)."""
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

"""`policy migrate`: create the RBAC for Applications equivalent of the app's application access policies,
prove both engines give the same answer for every member and probe, and remove the policies only when asked
and when that opens no mailbox. In steps: read → map → plan → apply → compare → decide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from roomsops.adapters.entra.tokens import FULL_ACCESS, FULL_ACCESS_REMOVAL
from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.objects import (
    AccessPolicy,
    ManagementScope,
    Recipient,
    RoleAssignment,
    ServicePrincipal,
)
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.errors import OperationFailed
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import shellword
from roomsops.services.policy.access import check_access, check_rbac_access
from roomsops.services.policy.group import Applier
from roomsops.services.policy.model import (
    CACHE_NOTICE,
    CONFLICT_NOTICE,
    REMOVAL_NOTICE,
    Confirm,
    MigrateRequest,
    Outcome,
    Progress,
    Step,
    unchanged_line,
)
from roomsops.services.policy.rbac import (
    MAX_NAME,
    GrantCheck,
    app_assignments,
    app_service_principal,
    ensure_rbac,
    grant_notes,
    member_of_filter,
    opath_value,
    principal_step,
    rbac_queries,
    role_step,
    scope_step,
)

AUTO_PROBES = 5  # mailboxes outside every policy's scope tested when no --probe is given
MAILBOX_SAMPLE = 50  # mailboxes read to pick those probes from


@dataclass(frozen=True)
class OldPolicy:
    identity: str
    access_right: str
    scope_name: str
    scope_kind: str  # group | mailbox | missing


@dataclass(frozen=True)
class AnswerPair:
    """One mailbox's answer from both engines: Test-ApplicationAccessPolicy and Test-ServicePrincipalAuthorization."""

    mailbox: str
    aap: str
    rbac: str
    same: bool


@dataclass(frozen=True)
class MigrateResult(Result):
    app_id: str
    dry_run: bool
    policies: tuple[OldPolicy, ...]
    steps: tuple[Step, ...]
    tests: tuple[AnswerPair, ...]
    tenant_wide_grant: bool | None
    removed: tuple[str, ...] = ()
    refused: str | None = None  # why --remove-old did not remove the old policies

    @property
    def ok(self) -> bool:
        return not any(s.failed for s in self.steps) and all(t.same for t in self.tests) and not self.refused

    def lines(self) -> list[str]:
        out = [f"{'plan' if self.dry_run else 'migration'} of app {self.app_id} to RBAC for Applications"]
        for p in self.policies:
            out.append(f"  policy    {p.access_right} {p.scope_name} ({p.identity})")
        out += [s.line(self.dry_run, 9) for s in self.steps]
        for t in self.tests:
            mark = "same" if t.same else "DIFFERENT"
            out.append(f"  answer    {t.mailbox}: policy {t.aap}, RBAC {t.rbac} ({mark})")
        if self.refused:
            out.append(f"old policies kept: {self.refused}")
        return out + unchanged_line(self.steps, self.dry_run, self.ok)


# --- read ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    """What migrate reads first, in one pipeline: the app's policies and RBAC objects, and a few mailboxes."""

    policies: list[AccessPolicy]
    sp: ServicePrincipal | None
    scopes: dict[str, ManagementScope]  # by case-folded name
    assignments: list[RoleAssignment]
    mailboxes: list[Recipient]


def read(session: ExchangeSession, app_id: str) -> Tenant:
    queries = [exchange.policies_query(), *rbac_queries(), exchange.mailboxes_query(MAILBOX_SAMPLE)]
    objects = exchange.read(session, queries)
    sp = app_service_principal(objects.principals, app_id)
    return Tenant(
        policies=[p for p in objects.policies if p.is_for(app_id)],
        sp=sp,
        scopes={s.name.casefold(): s for s in objects.scopes},
        assignments=app_assignments(objects.assignments, sp),
        mailboxes=[r for r in objects.recipients if r.exchange_guid],
    )


# --- map: each policy to a filter fragment -----------------------------------------------------------------------


@dataclass
class Mapping:
    """The old policies, the scopes that say the same, and who is inside them."""

    old: list[OldPolicy] = field(default_factory=list)
    restrict_parts: list[tuple[str, str]] = field(default_factory=list)  # (name, filter fragment)
    deny_parts: list[tuple[str, str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # object ids of the policies' groups
    fixed_mailboxes: list[str] = field(default_factory=list)  # policies scoped to one mailbox
    #: The RestrictAccess policies' groups (object id → name) and whether one is scoped to a mailbox.
    restrict_groups: dict[str, str] = field(default_factory=dict)
    restrict_mailbox: bool = False

    def scopes(self, app_id: str) -> list[tuple[str, str]]:
        """One scope per RestrictAccess target (assignments add up like RestrictAccess policies do); with
        DenyAccess policies one combined scope instead, since only a single filter can say 'and not'."""
        if not self.deny_parts:
            return [(name[:MAX_NAME], fragment) for name, fragment in self.restrict_parts]
        negations = " -and ".join(f"-not ({fragment})" for _, fragment in self.deny_parts)
        if self.restrict_parts:
            allowed = " -or ".join(f"({fragment})" for _, fragment in self.restrict_parts)
            return [(f"AAP {app_id}", f"({allowed}) -and {negations}")]
        return [(f"AAP {app_id}", negations)]


def _policy_target(recipient: Recipient | None) -> tuple[str, str | None]:
    """(kind, filter fragment) of a policy's scope recipient."""
    if recipient is None:
        return "missing", None
    if recipient.is_security_group:
        return "group", member_of_filter(recipient.distinguished_name)
    return "mailbox", f"PrimarySmtpAddress -eq '{opath_value(recipient.primary_smtp)}'"


def map_policies(session: ExchangeSession, policies: Sequence[AccessPolicy], notes: list[str]) -> Mapping:
    """Each policy's scope recipient, by the object id in ScopeIdentityRaw (<SID>;<object id>)."""
    by_object_id = exchange.recipients_by_object_id(session, [p.scope_object_id for p in policies])
    mapping = Mapping()
    for policy in policies:
        recipient = by_object_id.get(policy.scope_object_id.casefold())
        kind, fragment = _policy_target(recipient)
        name = recipient.name if recipient else policy.scope_name or policy.scope_object_id
        mapping.old.append(OldPolicy(policy.identity, policy.access_right, name, kind))
        if fragment is None or recipient is None:
            notes.append(f"The scope of policy {policy.identity} no longer exists: it covers no mailbox.")
            continue
        parts = mapping.deny_parts if policy.access_right == "DenyAccess" else mapping.restrict_parts
        parts.append((name, fragment))
        restrict = policy.access_right != "DenyAccess"
        if kind == "group":
            mapping.groups.append(recipient.object_id)
            if restrict:
                mapping.restrict_groups[recipient.object_id] = name
        else:
            mapping.fixed_mailboxes.append(recipient.primary_smtp)
            mapping.restrict_mailbox = mapping.restrict_mailbox or restrict
    return mapping


def refuse_empty_scopes(
    session: ExchangeSession, request: MigrateRequest, mapping: Mapping, members: Sequence[Recipient]
) -> None:
    """The guard of `policy restrict`: no management scope is made over groups without a mailbox. When the
    RestrictAccess policies' groups hold no mailbox as a direct member (the only members RBAC's MemberOfGroup
    counts), the scopes would give the app no mailbox: stop before any change (exit 1, nothing changed).
    `members`: the members of every policy's group, read once; re-read for the RestrictAccess groups alone only
    when DenyAccess groups were read with them."""
    if not mapping.restrict_groups or mapping.restrict_mailbox:
        return
    if set(mapping.groups) != set(mapping.restrict_groups):
        members = exchange.members_of_groups(session, list(mapping.restrict_groups))
    if any(m.is_mailbox for m in members):
        return
    names = ", ".join(mapping.restrict_groups.values())
    first = next(iter(mapping.restrict_groups.values()))
    raise OperationFailed(
        f"the RestrictAccess policies' group(s) {names} have no mailbox as a direct member: the management "
        "scopes over them would let the app open no mailbox (RBAC's MemberOfGroup counts direct members only); "
        "nothing was changed",
        f"add the mailboxes ('roomsops policy restrict --app-id {shellword(request.app_id)} --group {shellword(first)} "
        "--member EMAIL'), "
        f"or remove a policy that is left over ('roomsops policy remove --app-id {shellword(request.app_id)} --group "
        f"{shellword(first)}'), then run the command again",
        code="group_empty",
    )


def refuse_nested_groups(request: MigrateRequest, mapping: Mapping, members: Sequence[Recipient]) -> None:
    """A policy's group holding a group: the policy counts the nested group's members, RBAC's MemberOfGroup only
    direct members, so the scopes would answer differently for them (a RestrictAccess app would lose them, a
    DenyAccess app gain them). Known from the members read first: stop before any change (exit 1)."""
    nested = sorted({m.name or m.primary_smtp for m in members if "Group" in m.details})
    if not nested:
        return
    groups = ", ".join(sorted({o.scope_name for o in mapping.old if o.scope_kind == "group"}))
    raise OperationFailed(
        f"the policies' group(s) ({groups}) hold the group(s) {', '.join(nested)}: an application access policy "
        "counts a nested group's members, a management scope's MemberOfGroup only direct members, so RBAC would "
        "answer differently for them; nothing was changed",
        f"put the nested group's mailboxes into the policy's group directly ('roomsops policy restrict --app-id "
        f"{request.app_id} --group GROUP --member EMAIL' for each, Get-DistributionGroupMember -Identity "
        f'"{nested[0]}" lists them) and remove the nested group from it, then run the command again',
        code="nested_group",
    )


def refuse_deny(request: MigrateRequest, mapping: Mapping, notes: list[str]) -> None:
    """DenyAccess has no RBAC equivalent that Microsoft documents: stop unless --include-deny."""
    if not mapping.deny_parts:
        return
    if not request.include_deny:
        raise OperationFailed(
            f"app {request.app_id} has DenyAccess application access policies "
            f"({', '.join(n for n, _ in mapping.deny_parts)}): RBAC for Applications only grants, so no role "
            "assignment says 'all but these'; nothing was changed",
            "remove the DenyAccess policies first, or pass --include-deny to express them as a management scope "
            "with a negated membership filter (not verified against Microsoft's documentation; migrate still "
            "proves the answers are the same before removing anything)",
            code="deny_access_policy",
        )
    notes.append(
        "DenyAccess became a negated-membership scope (-not (MemberOfGroup -eq ...)): unverified against "
        "Microsoft's documentation; Microsoft's own conversion helper skips DenyAccess policies."
    )


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.casefold(), address)
    return list(seen.values())


def mailboxes_to_compare(
    request: MigrateRequest,
    tenant: Tenant,
    mapping: Mapping,
    members: Sequence[Recipient],
    notes: list[str],
) -> list[str]:
    """Every member of every policy's group (`members`), and probes outside them (given, or a few picked
    here)."""
    inside = _unique([*mapping.fixed_mailboxes, *(m.primary_smtp for m in members if m.is_mailbox)])
    probes = list(request.probes)
    if not probes:
        taken = {a.casefold() for a in inside}
        probes = [m.primary_smtp for m in tenant.mailboxes if m.primary_smtp.casefold() not in taken]
        probes = probes[:AUTO_PROBES]
        if probes:
            notes.append(
                f"No --probe given: compared {len(probes)} mailboxes outside the policies' groups too."
            )
    return _unique([*inside, *probes])


# --- plan ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    scopes: list[tuple[str, str, bool]]  # (name, filter, exists)

    @property
    def conflict(self) -> bool:
        return any(s.outcome is Outcome.CONFLICT for s in self.steps)


def plan_rbac(request: MigrateRequest, tenant: Tenant, wanted: Sequence[tuple[str, str]]) -> Plan:
    steps = [principal_step(request.app_id, request.sp_object_id, tenant.sp, request.dry_run)]
    scopes: list[tuple[str, str, bool]] = []
    for name, filter_text in wanted:
        existing = tenant.scopes.get(name.casefold())
        steps += [scope_step(name, filter_text, existing), role_step(name, tenant.assignments)]
        scopes.append((name, filter_text, existing is not None))
    return Plan(steps, scopes)


def old_policy_steps(old: Sequence[OldPolicy], plan: Plan, grant: GrantCheck, dry_run: bool) -> list[Step]:
    """What --remove-old will do (a dry run) or did (a conflict: nothing) to the old policies."""
    would_remove = dry_run and not plan.conflict and grant.held is False
    return [Step("old", p.identity, Outcome.REMOVED if would_remove else Outcome.KEPT) for p in old]


# --- compare and decide --------------------------------------------------------------------------------------------


def compare(
    session: ExchangeSession, app_id: str, sp_object: str, mailboxes: Sequence[str]
) -> list[AnswerPair]:
    """Both engines' answers for every mailbox."""
    aap = {t.mailbox: t.access_check_result for t in check_access(session, app_id, mailboxes)}
    rbac = {
        t.mailbox: t.access_check_result for t in check_rbac_access(session, app_id, sp_object, mailboxes)
    }
    return [AnswerPair(m, aap[m], rbac[m], aap[m] == rbac[m]) for m in mailboxes]


def refusal(pairs: Sequence[AnswerPair], grant: GrantCheck) -> str | None:
    """Why the old policies must stay, or None when removing them opens no mailbox."""
    if not all(p.same for p in pairs):
        return "the two engines do not give the same answers; fix the difference first"
    if grant.held is None:
        return f"could not prove that the sync app lost the tenant-wide {FULL_ACCESS} ({grant.detail})"
    if grant.held:
        return (
            f"a fresh token of the sync app still carries the tenant-wide {FULL_ACCESS}: without the policies "
            f"every mailbox would be open. {FULL_ACCESS_REMOVAL}"
        )
    return None


def remove_old(apply: Applier, old: Sequence[OldPolicy], notes: list[str]) -> list[Step]:
    steps = [Step("old", gone.identity, Outcome.REMOVED) for gone in old]
    apply.progress.expect(steps)
    for gone, step in zip(old, steps, strict=True):
        apply.run("Remove-ApplicationAccessPolicy", {"Identity": gone.identity, "Confirm": False}, step)
    notes.append(REMOVAL_NOTICE)
    return steps


# --- the command ---------------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """What the result of one migrate run is made of."""

    request: MigrateRequest
    notes: list[str]
    grant: GrantCheck = field(default_factory=lambda: GrantCheck(None, "not checked: nothing to migrate"))
    mapping: Mapping = field(default_factory=Mapping)

    def result(
        self,
        steps: Sequence[Step] = (),
        tests: Sequence[AnswerPair] = (),
        removed: Sequence[str] = (),
        refused: str | None = None,
    ) -> MigrateResult:
        checked = bool(self.mapping.old)  # the grant is checked (and warned about) only with policies to move
        return MigrateResult(
            app_id=self.request.app_id,
            dry_run=self.request.dry_run,
            policies=tuple(self.mapping.old),
            steps=tuple(steps),
            tests=tuple(tests),
            tenant_wide_grant=self.grant.held,
            removed=tuple(removed),
            refused=refused,
            notes=tuple(self.notes + (grant_notes(self.grant, self.request.app_id) if checked else [])),
        )


def migrate(
    session: ExchangeSession,
    request: MigrateRequest,
    confirm: Confirm,
    audit: AuditLog,
    notes: list[str],
    grant_check: Callable[[], GrantCheck],
    progress: Progress | None = None,
) -> MigrateResult:
    run = _Run(request, notes)
    tenant = read(session, request.app_id)
    if not tenant.policies:
        notes.append(f"App {request.app_id} has no application access policies: nothing to migrate.")
        return run.result()
    run.grant = grant_check()
    run.mapping = map_policies(session, tenant.policies, notes)
    refuse_deny(request, run.mapping, notes)
    members = exchange.members_of_groups(session, run.mapping.groups) if run.mapping.groups else []
    refuse_nested_groups(request, run.mapping, members)
    refuse_empty_scopes(session, request, run.mapping, members)
    mailboxes = mailboxes_to_compare(request, tenant, run.mapping, members, notes)
    plan = plan_rbac(request, tenant, run.mapping.scopes(request.app_id))
    if request.dry_run or plan.conflict:
        if plan.conflict:
            notes.append(CONFLICT_NOTICE)
        old = (
            old_policy_steps(run.mapping.old, plan, run.grant, request.dry_run) if request.remove_old else []
        )
        return run.result(plan.steps + old)
    if request.remove_old and run.grant.held is False:
        # Asked before any change, so that a missing confirmation (exit 2) leaves the tenant as it was.
        confirm(
            f"Remove the {len(run.mapping.old)} application access policies of app {request.app_id} once RBAC "
            "for Applications gives the same answers?"
        )
    apply = Applier(session, audit, progress)
    apply.progress.expect(plan.steps)
    sp_object = tenant.sp.object_id if tenant.sp else str(request.sp_object_id)
    ensure_rbac(apply, request.app_id, sp_object, tenant.sp is not None, plan.scopes, tenant.assignments)
    notes.append(CACHE_NOTICE)
    pairs = compare(session, request.app_id, sp_object, mailboxes)
    refused = refusal(pairs, run.grant) if request.remove_old else None
    if not request.remove_old or refused is not None:
        return run.result(plan.steps, pairs, refused=refused)
    removal = remove_old(apply, run.mapping.old, notes)
    return run.result(plan.steps + removal, pairs, removed=[s.target for s in removal])

"""The RBAC for Applications engine of `policy`: limit the sync app to a group's mailboxes with a service
principal pointer, a management scope over the group and the role assignment "Application EWS.AccessAsApp",
verified with Test-ServicePrincipalAuthorization; and `migrate`, which moves application access policies over.

Entra consent and RBAC grants add up: while the sync app holds the tenant-wide `full_access_as_app`, no scope
restricts it. Every command here checks that with a fresh token of the sync app and says so loudly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from roomsops import __version__
from roomsops.adapters.entra.tokens import FULL_ACCESS, FULL_ACCESS_REMOVAL, TokenProvider
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.errors import InputError, OperationFailed, RoomsopsError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import render
from roomsops.services.policy.aap import (
    NOT_FOUND,
    REMOVAL_NOTICE,
    AccessTest,
    Applier,
    Confirm,
    GroupPlan,
    GroupRequest,
    Mailbox,
    PolicyTestResult,
    Step,
    apply_group,
    check_remove_guard,
    confirm_removals,
    group_steps,
    raise_unexpected,
    read_group,
    resolve_mailboxes,
    test_access,
    validate_group,
)

EWS_ROLE = "Application EWS.AccessAsApp"
MAX_NAME = 64  # names of management scopes and role assignments (New-ManagementScope.md)
CACHE_NOTICE = (
    "RBAC for Applications changes reach EWS only when Exchange's permission cache refreshes (30 minutes to "
    "2 hours), even when Test-ServicePrincipalAuthorization already shows them."
)
AUTO_PROBES = 5  # migrate: mailboxes outside every policy's scope tested when no --probe is given


def grant_warning(app_id: str) -> str:
    """The loud warning while the sync app holds the tenant-wide permission, with the steps to remove it."""
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


def check_tenant_wide_grant(provider_factory: Callable[[], TokenProvider], app_id: str) -> GrantCheck:
    """Ask the token service for a new token of the sync app (cache dropped) and read its roles."""
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
    if FULL_ACCESS in token.roles:
        return GrantCheck(True, f"a fresh token of {app_id} carries {FULL_ACCESS}")
    return GrantCheck(False, f"a fresh token of {app_id} does not carry {FULL_ACCESS}")


def grant_notes(check: GrantCheck, app_id: str) -> list[str]:
    if check.held:
        return [grant_warning(app_id)]
    if check.held is None:
        return [
            f"Could not check whether the sync app holds the tenant-wide {FULL_ACCESS} ({check.detail}). While it "
            f"does, RBAC scoping restricts nothing. Check in Entra ID: {FULL_ACCESS_REMOVAL}"
        ]
    return []


# --- reading and matching Exchange's RBAC objects ---------------------------------------------------------------


def opath_value(value: str) -> str:
    """A value inside an OPATH filter's single quotes: ' is doubled (New-ManagementScope.md, -...Filter)."""
    return value.replace("'", "''")


def member_of_filter(group_dn: str) -> str:
    return f"MemberOfGroup -eq '{opath_value(group_dn)}'"


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


def is_service_principal(row: dict[str, Any]) -> bool:
    return "AppId" in row and "ObjectId" in row and "AccessRight" not in row


def is_scope(row: dict[str, Any]) -> bool:
    return "RecipientFilter" in row and "ScopeRestrictionType" in row


def is_assignment(row: dict[str, Any]) -> bool:
    return "RoleAssignee" in row and "Role" in row


def sp_object_id(sp: dict[str, Any]) -> str:
    return str(sp.get("ObjectId") or sp.get("ServiceId") or sp.get("Identity"))


def app_service_principal(rows: Sequence[dict[str, Any]], app_id: str) -> dict[str, Any] | None:
    """The pointer for the app among Get-ServicePrincipal's objects (listed, not looked up: the page warns that
    a non-existent -Identity may return every object)."""
    return next(
        (
            r
            for r in rows
            if is_service_principal(r) and str(r.get("AppId", "")).casefold() == app_id.casefold()
        ),
        None,
    )


def app_assignments(rows: Sequence[dict[str, Any]], sp: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The service principal's own EWS role assignments (the role group's delegating ones are not the app's)."""
    if sp is None:
        return []
    wanted = sp_object_id(sp).casefold()
    return [
        r
        for r in rows
        if is_assignment(r)
        and str(r.get("RoleAssignee", "")).casefold() == wanted
        and str(r.get("Role", "")).casefold() == EWS_ROLE.casefold()
        and not r.get("Delegating")
    ]


def _true(value: Any) -> bool:
    return value is True or str(value).casefold() == "true"


# --- Test-ServicePrincipalAuthorization -------------------------------------------------------------------------


def _answer(rows: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """Granted when any EWS.AccessAsApp assignment has the mailbox in scope (assignments add up)."""
    ews = [r for r in rows if str(r.get("RoleName", "")).casefold() == EWS_ROLE.casefold()]
    covering = [str(r.get("AllowedResourceScope")) for r in ews if _true(r.get("InScope"))]
    if covering:
        return "Granted", f"in scope {', '.join(covering)}"
    if ews:
        return "Denied", f"outside {', '.join(str(r.get('AllowedResourceScope')) for r in ews)}"
    return "Denied", f"the app has no {EWS_ROLE} role assignment"


def _chunks(outputs: list[dict[str, Any]], count: int) -> list[list[dict[str, Any]]] | None:
    """Test-ServicePrincipalAuthorization names no mailbox in its rows: statements answer in order, one row per
    assignment each, so equal runs of role names pair the rows with the mailboxes; None when they do not."""
    if count == 0 or len(outputs) % count:
        return None
    size = len(outputs) // count
    chunks = [outputs[i * size : (i + 1) * size] for i in range(count)]
    names = [[str(r.get("RoleName")) for r in chunk] for chunk in chunks]
    return chunks if all(n == names[0] for n in names) else None


def test_rbac_access(
    session: ExchangeSession,
    app_id: str,
    sp_id: str,
    mailboxes: Sequence[str],
    expected: dict[str, str] | None = None,
    resolved: dict[str, Mailbox] | None = None,
) -> list[AccessTest]:
    """Test-ServicePrincipalAuthorization -Resource for every mailbox: one pipeline (plus Get-Mailbox unless
    the mailboxes are already resolved); one pipeline per mailbox only if the answers cannot be paired."""
    expected = expected or {}
    missing: dict[str, str] = {}
    if resolved is None:
        resolved, missing = resolve_mailboxes(session, mailboxes)
    targets = [a for a in mailboxes if a in resolved]
    statements = [
        ("Test-ServicePrincipalAuthorization", {"Identity": sp_id, "Resource": resolved[a].primary_smtp})
        for a in targets
    ]
    batch = session.run_batch(statements)
    raise_unexpected(batch, NOT_FOUND)
    chunks = None if batch.failures else _chunks(batch.outputs, len(targets))
    if chunks is None and targets:
        chunks = []
        for statement in statements:
            single = session.run_batch([statement])
            raise_unexpected(single, NOT_FOUND)
            chunks.append(single.outputs)
    answers = dict(zip(targets, chunks or [], strict=True))
    tests = []
    for address in mailboxes:
        if address not in answers:
            detail = missing.get(address, f"no mailbox has the address {address}")
            tests.append(AccessTest(address, app_id, "NotFound", expected.get(address), detail))
            continue
        result, detail = _answer(answers[address])
        tests.append(AccessTest(address, app_id, result, expected.get(address), detail))
    return tests


@dataclass(frozen=True)
class RbacTestResult(PolicyTestResult):
    """`policy test --engine rbac`: the AAP test table, answered by Test-ServicePrincipalAuthorization."""

    engine: str = "rbac"
    service_principal: str = ""
    tenant_wide_grant: bool | None = None

    def rbac_notes(self) -> tuple[str, ...]:
        notes: list[str] = []
        wider = [t.mailbox for t in self.tests if t.live == "Granted" and t.access_check_result == "Denied"]
        if wider:
            why = (
                f"the sync app holds the tenant-wide {FULL_ACCESS}"
                if self.tenant_wide_grant
                else "a tenant-wide Entra grant or a removed role assignment still in the permission cache"
            )
            notes.append(f"EWS still opens {', '.join(wider)} although RBAC denies it: {why}.")
        waiting = [
            t.mailbox
            for t in self.tests
            if t.access_check_result == "Granted" and t.live not in (None, "Granted")
        ]
        if waiting:
            notes.append(f"EWS does not open {', '.join(waiting)} yet: {CACHE_NOTICE}")
        return tuple(notes)


def find_service_principal(session: ExchangeSession, app_id: str) -> dict[str, Any]:
    sp = app_service_principal(session.run("Get-ServicePrincipal"), app_id)
    if sp is None:
        raise OperationFailed(
            f"app {app_id} has no service principal in Exchange Online (RBAC for Applications is not set up)",
            "run 'roomsops policy restrict --engine rbac --sp-object-id <Object ID of the enterprise application>'",
            code="no_service_principal",
        )
    return sp


# --- policy restrict --engine rbac ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RbacRequest:
    app_id: str
    group: str
    members: tuple[str, ...]
    probes: tuple[str, ...] = ()
    sp_object_id: str | None = None
    scope: str | None = None  # the management scope's name; default: the group's name
    exact: bool = False
    force: bool = False
    verify: bool = True
    dry_run: bool = False

    def __post_init__(self) -> None:
        overlap = {m.casefold() for m in self.members} & {p.casefold() for p in self.probes}
        if overlap:
            raise InputError(
                f"{sorted(overlap)[0]} is both a member and a --probe",
                "a probe is a mailbox that must stay outside the group",
            )
        if self.scope is not None:
            validate_group(self.scope)  # the same rules: 1 to 64 printable characters

    @property
    def scope_name(self) -> str:
        return self.scope or self.group

    @property
    def group_request(self) -> GroupRequest:
        return GroupRequest(self.group, self.members, self.probes, self.exact, self.force)


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
        return any(s.outcome in {"created", "added", "removed"} for s in self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.failed for s in self.steps) and all(t.matches for t in self.tests)

    def lines(self) -> list[str]:
        verb = "would be " if self.dry_run else ""
        out = [
            f"{'plan' if self.dry_run else 'result'} for app {self.app_id}, group {self.group}, RBAC for "
            f"Applications ({self.role}, scope {self.scope})"
        ]
        for s in self.steps:
            outcome = f"{verb}{s.outcome}" if s.outcome in {"created", "added", "removed"} else s.outcome
            out.append(f"  {s.step:9} {s.target}: {outcome}" + (f" ({s.detail})" if s.detail else ""))
        for t in self.tests:
            mark = "ok" if t.matches else f"MISMATCH, expected {t.expected}"
            out.append(f"  test      {t.mailbox}: {t.access_check_result} ({mark}; {t.detail})")
        if not self.changed and not self.dry_run and self.ok:
            out.append("unchanged: everything was already in place")
        return out


@dataclass
class _RbacPlan:
    sp: dict[str, Any] | None
    scope: dict[str, Any] | None
    assignments: list[dict[str, Any]]
    steps: list[Step] = field(default_factory=list)

    @property
    def conflict(self) -> bool:
        return any(s.outcome == "conflict" for s in self.steps)


def read_rbac(session: ExchangeSession, request: RbacRequest) -> tuple[GroupPlan, _RbacPlan]:
    extra: list[tuple[str, dict[str, Any]]] = [
        ("Get-ServicePrincipal", {}),
        ("Get-ManagementScope", {}),
        ("Get-ManagementRoleAssignment", {"Role": EWS_ROLE}),
    ]
    group_plan, others = read_group(session, request.group_request, extra)
    sp = app_service_principal(others, request.app_id)
    scope = next(
        (
            o
            for o in others
            if is_scope(o) and str(o.get("Name", "")).casefold() == request.scope_name.casefold()
        ),
        None,
    )
    return group_plan, _RbacPlan(sp=sp, scope=scope, assignments=app_assignments(others, sp))


def _principal_step(
    request_app: str, wanted_object_id: str | None, sp: dict[str, Any] | None, dry_run: bool
) -> Step:
    if sp is None:
        if not wanted_object_id and dry_run:
            return Step("principal", request_app, "created", "needs --sp-object-id")
        if not wanted_object_id:
            raise InputError(
                f"app {request_app} has no service principal in Exchange Online yet, and Exchange cannot look "
                "its object id up",
                "pass --sp-object-id with the Object ID of the enterprise application (Entra admin center → "
                "Enterprise applications → the app → Overview), not the app registration's object id",
            )
        return Step("principal", request_app, "created", f"object id {wanted_object_id}")
    existing = sp_object_id(sp)
    if wanted_object_id and existing.casefold() != wanted_object_id.casefold():
        return Step(
            "principal",
            request_app,
            "conflict",
            f"Exchange's pointer has object id {existing}, not {wanted_object_id}; if it is wrong, remove its role "
            "assignments and Remove-ServicePrincipal, then run again",
        )
    return Step("principal", request_app, "exists", f"object id {existing}")


def _scope_step(name: str, wanted_filter: str | None, scope: dict[str, Any] | None) -> Step:
    if scope is None:
        return Step("scope", name, "created", wanted_filter or "over the new group")
    current = str(scope.get("RecipientFilter") or "")
    if wanted_filter is not None and same_filter(current, wanted_filter):
        return Step("scope", name, "exists")
    return Step(
        "scope",
        name,
        "conflict",
        f"a management scope of this name has the filter {current}; use another --scope",
    )


def _role_step(scope: str, assignments: Sequence[dict[str, Any]]) -> Step:
    found = any(str(a.get("CustomResourceScope") or "").casefold() == scope.casefold() for a in assignments)
    return Step("role", f"{EWS_ROLE} → {scope}", "exists" if found else "created")


def _wider_assignments(scope: str, assignments: Sequence[dict[str, Any]]) -> list[str]:
    """Other EWS assignments of the app: they add up with ours, so they widen what the app may open."""
    return [
        f"{a.get('Name')} (scope {a.get('CustomResourceScope') or 'Organization'})"
        for a in assignments
        if str(a.get("CustomResourceScope") or "").casefold() != scope.casefold()
    ]


def ensure_rbac(
    apply: Applier,
    app_id: str,
    sp_object: str,
    sp_exists: bool,
    scopes: Sequence[tuple[str, str, bool]],
    assignments: Sequence[dict[str, Any]],
) -> None:
    """Create what is missing: the service principal pointer, each (scope name, filter, exists) scope, and the
    EWS role assignment per scope. Idempotent: existing objects are left alone."""
    if not sp_exists:
        apply.run("New-ServicePrincipal", {"AppId": app_id, "ObjectId": sp_object})
    for name, filter_text, exists in scopes:
        if not exists:
            apply.run("New-ManagementScope", {"Name": name, "RecipientRestrictionFilter": filter_text})
        if not any(
            str(a.get("CustomResourceScope") or "").casefold() == name.casefold() for a in assignments
        ):
            apply.run(
                "New-ManagementRoleAssignment",
                {
                    "Name": assignment_name(name),
                    "App": sp_object,
                    "Role": EWS_ROLE,
                    "CustomResourceScope": name,
                },
            )


def restrict(
    session: ExchangeSession,
    request: RbacRequest,
    confirm: Confirm,
    audit: AuditLog,
    notes: list[str],
    grant_check: Callable[[], GrantCheck],
) -> RbacRestrictResult:
    group_plan, plan = read_rbac(session, request)
    steps = group_steps(request.group_request, group_plan)
    check_remove_guard(request.group_request, group_plan)
    dn = str(group_plan.group["DistinguishedName"]) if group_plan.group else None
    principal = _principal_step(request.app_id, request.sp_object_id, plan.sp, request.dry_run)
    scope_step = _scope_step(request.scope_name, member_of_filter(dn) if dn else None, plan.scope)
    plan.steps = [principal, scope_step, _role_step(request.scope_name, plan.assignments)]
    steps += plan.steps
    sp_object = sp_object_id(plan.sp) if plan.sp else request.sp_object_id  # None only in a dry run
    wider = _wider_assignments(request.scope_name, plan.assignments)
    if wider:
        notes.append(f"The app also holds {EWS_ROLE} through {', '.join(wider)}: assignments add up.")
    grant = grant_check()

    def result(steps: Sequence[Step], tests: Sequence[AccessTest] = ()) -> RbacRestrictResult:
        return RbacRestrictResult(
            engine="rbac",
            app_id=request.app_id,
            group=request.group,
            scope=request.scope_name,
            role=EWS_ROLE,
            service_principal=sp_object,
            dry_run=request.dry_run,
            steps=tuple(steps),
            tests=tuple(tests),
            tenant_wide_grant=grant.held,
            notes=tuple(notes + grant_notes(grant, request.app_id)),
        )

    if request.dry_run or plan.conflict:
        if plan.conflict:
            notes.append(
                "Nothing was changed: an existing RBAC object conflicts (see the step marked conflict)."
            )
        return result(steps)
    confirm_removals(request.group_request, group_plan, confirm)
    apply = Applier(session, audit)
    group, steps = apply_group(apply, request.group_request, group_plan, steps)
    scope_filter = member_of_filter(str(group["DistinguishedName"]))
    assert sp_object is not None  # _principal_step refused a missing --sp-object-id outside a dry run
    ensure_rbac(
        apply,
        request.app_id,
        sp_object,
        plan.sp is not None,
        [(request.scope_name, scope_filter, plan.scope is not None)],
        plan.assignments,
    )
    tests: list[AccessTest] = []
    if request.verify:
        members = [m for m in request.members if m in group_plan.resolved]
        probes = [p for p in request.probes if p in group_plan.resolved]
        expected = {m: "Granted" for m in members} | {p: "Denied" for p in probes}
        tests = test_rbac_access(
            session, request.app_id, sp_object, [*members, *probes], expected, group_plan.resolved
        )
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
        role=EWS_ROLE,
        assignment=assignment_name(request.scope_name),
        members=list(request.members),
        probes=list(request.probes),
        exact=request.exact,
        admin_upn=admin_upn,
        removal_steps=FULL_ACCESS_REMOVAL,
    )


# --- policy migrate ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrateRequest:
    app_id: str
    sp_object_id: str | None = None
    probes: tuple[str, ...] = ()
    include_deny: bool = False  # turn DenyAccess policies into a negated-membership scope (unverified)
    dry_run: bool = False
    remove_old: bool = False


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
        verb = "would be " if self.dry_run else ""
        out = [f"{'plan' if self.dry_run else 'migration'} of app {self.app_id} to RBAC for Applications"]
        for p in self.policies:
            out.append(f"  policy    {p.access_right} {p.scope_name} ({p.identity})")
        for s in self.steps:
            outcome = f"{verb}{s.outcome}" if s.outcome in {"created", "removed"} else s.outcome
            out.append(f"  {s.step:9} {s.target}: {outcome}" + (f" ({s.detail})" if s.detail else ""))
        for t in self.tests:
            mark = "same" if t.same else "DIFFERENT"
            out.append(f"  answer    {t.mailbox}: policy {t.aap}, RBAC {t.rbac} ({mark})")
        if self.refused:
            out.append(f"old policies kept: {self.refused}")
        return out


def _policy_target(row: dict[str, Any] | None) -> tuple[str, str | None]:
    """(kind, filter fragment) of a policy's scope recipient."""
    if row is None:
        return "missing", None
    if row.get("RecipientTypeDetails") == "MailUniversalSecurityGroup":
        return "group", member_of_filter(str(row["DistinguishedName"]))
    return "mailbox", f"PrimarySmtpAddress -eq '{opath_value(str(row['PrimarySmtpAddress']))}'"


def _is_mailbox(row: dict[str, Any]) -> bool:
    return "Mailbox" in str(row.get("RecipientTypeDetails", "")) and bool(row.get("PrimarySmtpAddress"))


def migrate(
    session: ExchangeSession,
    request: MigrateRequest,
    confirm: Confirm,
    audit: AuditLog,
    notes: list[str],
    grant_check: Callable[[], GrantCheck],
) -> MigrateResult:
    """Create the RBAC equivalent of the app's application access policies, prove both give the same answer
    for every member and probe, and remove the policies only when asked and when that opens no mailbox."""
    first = session.run_batch(
        [
            ("Get-ApplicationAccessPolicy", {}),
            ("Get-ServicePrincipal", {}),
            ("Get-ManagementScope", {}),
            ("Get-ManagementRoleAssignment", {"Role": EWS_ROLE}),
            ("Get-Mailbox", {"ResultSize": 50}),
        ]
    )
    raise_unexpected(first, NOT_FOUND)
    policies = [
        o
        for o in first.outputs
        if "AccessRight" in o and str(o.get("AppId", "")).casefold() == request.app_id.casefold()
    ]
    sp = app_service_principal(first.outputs, request.app_id)
    scopes = {str(o["Name"]).casefold(): o for o in first.outputs if is_scope(o)}
    assignments = app_assignments(first.outputs, sp)
    grant = grant_check() if policies else GrantCheck(None, "not checked: nothing to migrate")

    def result(
        steps: Sequence[Step] = (),
        tests: Sequence[AnswerPair] = (),
        old: Sequence[OldPolicy] = (),
        removed: Sequence[str] = (),
        refused: str | None = None,
    ) -> MigrateResult:
        return MigrateResult(
            app_id=request.app_id,
            dry_run=request.dry_run,
            policies=tuple(old),
            steps=tuple(steps),
            tests=tuple(tests),
            tenant_wide_grant=grant.held,
            removed=tuple(removed),
            refused=refused,
            notes=tuple(notes + (grant_notes(grant, request.app_id) if policies else [])),
        )

    if not policies:
        notes.append(f"App {request.app_id} has no application access policies: nothing to migrate.")
        return result()

    # Each policy's scope recipient, by the object id in ScopeIdentityRaw (<SID>;<object id>).
    object_ids = [str(p.get("ScopeIdentityRaw", "")).rsplit(";", 1)[-1] for p in policies]
    lookup = session.run_batch([("Get-Recipient", {"Identity": oid}) for oid in object_ids])
    raise_unexpected(lookup, NOT_FOUND)
    by_object_id = {str(r.get("ExternalDirectoryObjectId", "")).casefold(): r for r in lookup.outputs}
    old: list[OldPolicy] = []
    restrict_parts: list[tuple[str, str]] = []  # (name, filter fragment)
    deny_parts: list[tuple[str, str]] = []
    groups: list[str] = []
    fixed_mailboxes: list[str] = []
    for policy, oid in zip(policies, object_ids, strict=True):
        row = by_object_id.get(oid.casefold())
        kind, fragment = _policy_target(row)
        name = str(row.get("Name")) if row else str(policy.get("ScopeName") or oid)
        old.append(OldPolicy(str(policy["Identity"]), str(policy["AccessRight"]), name, kind))
        if fragment is None:
            notes.append(f"The scope of policy {policy['Identity']} no longer exists: it covers no mailbox.")
            continue
        (deny_parts if policy["AccessRight"] == "DenyAccess" else restrict_parts).append((name, fragment))
        if kind == "group" and row is not None:
            groups.append(str(row["ExternalDirectoryObjectId"]))
        elif row is not None:
            fixed_mailboxes.append(str(row["PrimarySmtpAddress"]))
    if deny_parts and not request.include_deny:
        raise OperationFailed(
            f"app {request.app_id} has DenyAccess application access policies ({', '.join(n for n, _ in deny_parts)}): "
            "RBAC for Applications only grants, so no role assignment says 'all but these'; nothing was changed",
            "remove the DenyAccess policies first, or pass --include-deny to express them as a management scope "
            "with a negated membership filter (not verified against Microsoft's documentation; migrate still "
            "proves the answers are the same before removing anything)",
            code="deny_access_policy",
        )
    wanted_scopes = _scopes_for(request.app_id, restrict_parts, deny_parts)
    if deny_parts:
        notes.append(
            "DenyAccess became a negated-membership scope (-not (MemberOfGroup -eq ...)): unverified against "
            "Microsoft's documentation; Microsoft's own conversion helper skips DenyAccess policies."
        )

    # The mailboxes to compare: every member of every policy's group, and probes outside them.
    member_rows: list[dict[str, Any]] = []
    if groups:
        members_batch = session.run_batch(
            [("Get-DistributionGroupMember", {"Identity": g, "ResultSize": "Unlimited"}) for g in groups]
        )
        raise_unexpected(members_batch, NOT_FOUND)
        member_rows = [r for r in members_batch.outputs if _is_mailbox(r)]
    inside = _unique([*fixed_mailboxes, *(str(r["PrimarySmtpAddress"]) for r in member_rows)])
    probes = list(request.probes)
    if not probes:
        taken = {a.casefold() for a in inside}
        candidates = [str(o["PrimarySmtpAddress"]) for o in first.outputs if "ExchangeGuid" in o]
        probes = [a for a in candidates if a.casefold() not in taken][:AUTO_PROBES]
        if probes:
            notes.append(
                f"No --probe given: compared {len(probes)} mailboxes outside the policies' groups too."
            )
    mailboxes = _unique([*inside, *probes])

    principal = _principal_step(request.app_id, request.sp_object_id, sp, request.dry_run)
    steps = [principal]
    scope_states: list[tuple[str, str, bool]] = []
    for name, filter_text in wanted_scopes:
        existing = scopes.get(name.casefold())
        step = _scope_step(name, filter_text, existing)
        steps += [step, _role_step(name, assignments)]
        scope_states.append((name, filter_text, existing is not None))
    conflict = any(s.outcome == "conflict" for s in steps)
    will_remove = request.remove_old and not request.dry_run and not conflict and grant.held is False
    if request.dry_run or conflict:
        if request.remove_old:
            steps += [Step("old", p.identity, "removed" if grant.held is False else "kept") for p in old]
        if conflict:
            notes.append(
                "Nothing was changed: an existing RBAC object conflicts (see the step marked conflict)."
            )
        return result(steps, old=old)
    if will_remove:
        # Asked before any change, so that a missing confirmation (exit 2) leaves the tenant as it was.
        confirm(
            f"Remove the {len(old)} application access policies of app {request.app_id} once RBAC for "
            "Applications gives the same answers?"
        )
    apply = Applier(session, audit)
    sp_object = sp_object_id(sp) if sp else str(request.sp_object_id)
    ensure_rbac(apply, request.app_id, sp_object, sp is not None, scope_states, assignments)
    notes.append(CACHE_NOTICE)

    aap = {t.mailbox: t.access_check_result for t in test_access(session, request.app_id, mailboxes)}
    rbac = {
        t.mailbox: t.access_check_result
        for t in test_rbac_access(session, request.app_id, sp_object, mailboxes)
    }
    pairs = [AnswerPair(m, aap[m], rbac[m], aap[m] == rbac[m]) for m in mailboxes]
    refused: str | None = None
    removed: list[str] = []
    if request.remove_old:
        if not all(p.same for p in pairs):
            refused = "the two engines do not give the same answers; fix the difference first"
        elif grant.held is None:
            refused = f"could not prove that the sync app lost the tenant-wide {FULL_ACCESS} ({grant.detail})"
        elif grant.held:
            refused = (
                f"a fresh token of the sync app still carries the tenant-wide {FULL_ACCESS}: without the policies "
                f"every mailbox would be open. {FULL_ACCESS_REMOVAL}"
            )
        else:
            for gone in old:
                apply.run("Remove-ApplicationAccessPolicy", {"Identity": gone.identity, "Confirm": False})
                removed.append(gone.identity)
                steps.append(Step("old", gone.identity, "removed"))
            notes.append(REMOVAL_NOTICE)
    return result(steps, pairs, old, removed, refused)


def _scopes_for(
    app_id: str, restrict_parts: Sequence[tuple[str, str]], deny_parts: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """One scope per RestrictAccess target (assignments add up like RestrictAccess policies do); with DenyAccess
    policies one combined scope instead, since only a single filter can say 'and not'."""
    if not deny_parts:
        return [(name[:MAX_NAME], fragment) for name, fragment in restrict_parts]
    negations = " -and ".join(f"-not ({fragment})" for _, fragment in deny_parts)
    if restrict_parts:
        allowed = " -or ".join(f"({fragment})" for _, fragment in restrict_parts)
        return [(f"AAP {app_id}", f"({allowed}) -and {negations}")]
    return [(f"AAP {app_id}", negations)]


def _unique(addresses: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.casefold(), address)
    return list(seen.values())

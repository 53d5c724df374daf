"""The `policy` service: limit the sync app to a group's mailboxes with an application access policy.

Reads the current state in a few pipelines, plans, asks before destructive steps, applies idempotently,
and verifies with Test-ApplicationAccessPolicy (all mailboxes in one pipeline). The group part (`read_group`,
`group_steps`, `apply_group`, `Applier`) is shared with the RBAC for Applications engine in `roomsops.services.policy.rbac`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roomsops import __version__
from roomsops.adapters.exo.session import Batch, CmdletFailure, ExchangeSession
from roomsops.core.addresses import validate_address
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.vocabulary import ACCESS_RIGHTS

if TYPE_CHECKING:
    from roomsops.services.diagnose.checks import Probe
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import render

SECURITY_GROUP = "MailUniversalSecurityGroup"
REMOVE_GUARD = 0.2  # --exact refuses to remove more than this share of the members without --force
PROPAGATION_NOTICE = (
    "Changes to application access policies can take more than an hour to apply to EWS and "
    "Microsoft Graph, even when Test-ApplicationAccessPolicy already shows them."
)
RBAC_NOTICE = (
    "Microsoft recommends RBAC for Applications instead of application access policies for new setups."
)
REMOVAL_NOTICE = (
    "Removing a policy can take up to 30 minutes to apply; meanwhile the old restriction may still hold."
)
NOT_FOUND = ("ManagementObjectNotFoundException", "couldn't be found", "Couldn't find")

Confirm = Callable[[str], None]


def default_description(group: str, access_right: str) -> str:
    if access_right == "DenyAccess":
        return f"Deny this app access to members of distribution group {group}."
    return f"Restrict this app to members of distribution group {group}."


def validate_group(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 64 or any(ord(ch) < 32 for ch in text):
        raise InputError(f"group name {name!r} is not valid", "use 1 to 64 printable characters")
    return text


def read_members_file(path: Path) -> list[str]:
    """One address per line; blank lines and lines starting with # are ignored."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            f"members file {path} does not exist", "pass an existing file to --members-file"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"members file {path} is not UTF-8 text", "save it as UTF-8") from None
    except OSError as exc:
        raise InputError(
            f"members file {path} cannot be read: {exc.strerror}", "check its permissions"
        ) from None
    members = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        try:
            members.append(validate_address(entry))
        except InputError as exc:
            raise InputError(f"{path}, line {number}: {exc.message}", exc.remedy) from None
    return members


@dataclass(frozen=True)
class Mailbox:
    """A mailbox as Get-Mailbox reports it, and the address it was asked for by."""

    given: str
    primary_smtp: str
    exchange_guid: str
    name: str
    details: str


@dataclass(frozen=True)
class Step:
    """One line of the per-step report: what, which object, what happened."""

    step: str  # group | member | policy | test
    target: str
    outcome: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in {"not_found", "failed", "mismatch", "conflict"}


@dataclass(frozen=True)
class AccessTest:
    mailbox: str
    app_id: str
    access_check_result: str  # Granted | Denied | NotFound
    expected: str | None = None
    detail: str = ""
    live: str | None = None  # what an EWS probe saw: Granted, Denied or the probe's outcome

    @property
    def lagging(self) -> bool:
        """Test-ApplicationAccessPolicy and EWS disagree: the policy has not propagated yet."""
        return self.live in {"Granted", "Denied"} and self.live != self.access_check_result

    @property
    def matches(self) -> bool:
        return self.expected is None or self.access_check_result == self.expected


def _smtp_addresses(row: dict[str, Any]) -> set[str]:
    found = {str(row.get("PrimarySmtpAddress", "")).casefold()}
    for proxy in row.get("EmailAddresses") or []:
        text = str(proxy)
        if text.lower().startswith("smtp:"):
            found.add(text[5:].casefold())
    return found - {""}


def resolve_mailboxes(
    session: ExchangeSession, addresses: Sequence[str]
) -> tuple[dict[str, Mailbox], dict[str, str]]:
    """Get-Mailbox for every address in one pipeline; returns (found by given address, not found → message)."""
    batch = session.run_batch([("Get-Mailbox", {"Identity": a}) for a in addresses])
    found: dict[str, Mailbox] = {}
    for row in batch.outputs:
        known = _smtp_addresses(row)
        for address in addresses:
            if address.casefold() in known and address not in found:
                found[address] = Mailbox(
                    given=address,
                    primary_smtp=str(row.get("PrimarySmtpAddress")),
                    exchange_guid=str(row.get("ExchangeGuid", "")).lower(),
                    name=str(row.get("Name", "")),
                    details=str(row.get("RecipientTypeDetails")),
                )
    missing: dict[str, str] = {}
    for address in addresses:
        if address not in found:
            failure = next(
                (f for f in batch.failures if f.target and f.target.casefold() == address.casefold()), None
            )
            missing[address] = failure.message if failure else f"no mailbox has the address {address}"
    raise_unexpected(batch, NOT_FOUND)
    return found, missing


def raise_unexpected(batch: Batch, expected: Sequence[str]) -> None:
    """Failures other than the expected kinds (e.g. not found) mean the run cannot go on."""
    from roomsops.adapters.exo.session import CmdletError

    unexpected = [f for f in batch.failures if not f.matches(*expected)]
    if unexpected:
        raise CmdletError(unexpected)


def _align(identities: Sequence[str], batch: Batch) -> list[dict[str, Any] | CmdletFailure] | None:
    """Statements run in order and each yields one object or one error naming its identity: pair them up.

    None when the answer does not have that shape (then the caller resolves mailboxes first).
    """
    if len(batch.outputs) + len(batch.failures) != len(identities):
        return None
    failures = {(f.target or "").casefold(): f for f in batch.failures}
    if len(failures) != len(batch.failures) or not set(failures) <= {i.casefold() for i in identities}:
        return None
    outputs = iter(batch.outputs)
    return [failures.get(i.casefold()) or next(outputs) for i in identities]


def test_access(
    session: ExchangeSession, app_id: str, mailboxes: Sequence[str], expected: dict[str, str] | None = None
) -> list[AccessTest]:
    """Test-ApplicationAccessPolicy for every mailbox in one pipeline (a second only if answers can't be paired)."""
    expected = expected or {}
    batch = session.run_batch(
        [("Test-ApplicationAccessPolicy", {"Identity": m, "AppId": app_id}) for m in mailboxes]
    )
    raise_unexpected(batch, NOT_FOUND)
    aligned = _align(mailboxes, batch)
    if aligned is None:
        return _test_access_resolved(session, app_id, mailboxes, expected)
    tests = []
    for address, answer in zip(mailboxes, aligned, strict=True):
        if isinstance(answer, CmdletFailure):
            tests.append(AccessTest(address, app_id, "NotFound", expected.get(address), answer.message))
        else:
            tests.append(
                AccessTest(
                    address,
                    str(answer.get("AppId", app_id)),
                    str(answer.get("AccessCheckResult")),
                    expected.get(address),
                )
            )
    return tests


def _test_access_resolved(
    session: ExchangeSession, app_id: str, mailboxes: Sequence[str], expected: dict[str, str]
) -> list[AccessTest]:
    """Pair answers through the mailboxes' ExchangeGuid: resolve first, then test (two pipelines)."""
    found, missing = resolve_mailboxes(session, mailboxes)
    tests: dict[str, AccessTest] = {
        a: AccessTest(a, app_id, "NotFound", expected.get(a), missing[a]) for a in missing
    }
    targets = [found[a] for a in mailboxes if a in found]
    batch = session.run_batch(
        [("Test-ApplicationAccessPolicy", {"Identity": m.primary_smtp, "AppId": app_id}) for m in targets]
    )
    raise_unexpected(batch, NOT_FOUND)
    by_guid = {str(row.get("MailboxId", "")).lower(): row for row in batch.outputs}
    for mailbox in targets:
        row = by_guid.get(mailbox.exchange_guid)
        want = expected.get(mailbox.given)
        if row is None:
            tests[mailbox.given] = AccessTest(
                mailbox.given, app_id, "NotFound", want, "the test returned nothing"
            )
        else:
            tests[mailbox.given] = AccessTest(
                mailbox.given, str(row.get("AppId", app_id)), str(row.get("AccessCheckResult")), want
            )
    return [tests[a] for a in mailboxes]


def with_live(test: AccessTest, probe: Probe) -> AccessTest:
    """An access test with what EWS really does for the mailbox right now."""
    if probe.outcome in {"accessible", "alias"}:
        live = "Granted"
    elif probe.outcome in {"denied_by_policy", "impersonation_denied", "access_denied"}:
        live = "Denied"
    else:
        live = probe.outcome
    return replace(test, live=live)


@dataclass(frozen=True)
class PolicyTestResult(Result):
    app_id: str
    tests: tuple[AccessTest, ...]
    live: bool = False

    @property
    def notes_for_lag(self) -> tuple[str, ...]:
        lagging = [t.mailbox for t in self.tests if t.lagging]
        if not lagging:
            return ()
        return (f"EWS does not reflect the policy yet for {', '.join(lagging)}: {PROPAGATION_NOTICE}",)

    @property
    def ok(self) -> bool:
        return all(t.matches and t.access_check_result != "NotFound" for t in self.tests)

    def lines(self) -> list[str]:
        width = max((len(t.mailbox) for t in self.tests), default=7)
        header = f"{'Mailbox'.ljust(width)}  {'AppId'.ljust(36)}  AccessCheckResult"
        out = [header + ("  EWS now" if self.live else "")]
        for t in self.tests:
            mark = "" if t.matches else f"  (expected {t.expected})"
            detail = f"  {t.detail}" if t.access_check_result == "NotFound" and t.detail else ""
            live = f"  {t.live}" if self.live else ""
            out.append(
                f"{t.mailbox.ljust(width)}  {t.app_id.ljust(36)}  {t.access_check_result}{live}{mark}{detail}"
            )
        return out


@dataclass(frozen=True)
class RestrictRequest:
    app_id: str
    group: str
    members: tuple[str, ...]
    access_right: str = "RestrictAccess"
    description: str = ""
    probes: tuple[str, ...] = ()
    exact: bool = False
    force: bool = False
    replace: bool = False
    verify: bool = True
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.access_right not in ACCESS_RIGHTS:
            raise InputError(
                f"access right {self.access_right!r} is not known", "use RestrictAccess or DenyAccess"
            )
        overlap = {m.casefold() for m in self.members} & {p.casefold() for p in self.probes}
        if overlap:
            raise InputError(
                f"{sorted(overlap)[0]} is both a member and a --probe",
                "a probe is a mailbox that must stay outside the group",
            )

    @property
    def effective_description(self) -> str:
        return self.description or default_description(self.group, self.access_right)

    @property
    def group_request(self) -> GroupRequest:
        return GroupRequest(self.group, self.members, self.probes, self.exact, self.force)


@dataclass(frozen=True)
class RestrictResult(Result):
    app_id: str
    group: str
    access_right: str
    dry_run: bool
    steps: tuple[Step, ...]
    tests: tuple[AccessTest, ...] = ()

    @property
    def changed(self) -> bool:
        return any(s.outcome in {"created", "added", "removed", "replaced"} for s in self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.failed for s in self.steps) and all(t.matches for t in self.tests)

    def lines(self) -> list[str]:
        verb = "would be " if self.dry_run else ""
        out = [
            f"{'plan' if self.dry_run else 'result'} for app {self.app_id}, group {self.group}, {self.access_right}"
        ]
        for s in self.steps:
            outcome = (
                f"{verb}{s.outcome}"
                if s.outcome in {"created", "added", "removed", "replaced"}
                else s.outcome
            )
            out.append(f"  {s.step:7} {s.target}: {outcome}" + (f" ({s.detail})" if s.detail else ""))
        for t in self.tests:
            mark = "ok" if t.matches else f"MISMATCH, expected {t.expected}"
            out.append(f"  test    {t.mailbox}: {t.access_check_result} ({mark})")
        if not self.changed and not self.dry_run and self.ok:
            out.append("unchanged: everything was already in place")
        return out


@dataclass(frozen=True)
class GroupRequest:
    """The part of a restriction both engines share: the group, its members, the probes outside it."""

    group: str
    members: tuple[str, ...]
    probes: tuple[str, ...] = ()
    exact: bool = False
    force: bool = False


@dataclass
class GroupPlan:
    """The group as it is and what it takes to make it as asked (shared by the AAP and RBAC engines)."""

    group: dict[str, Any] | None
    members_now: list[dict[str, Any]]
    resolved: dict[str, Mailbox]
    missing: dict[str, str]
    to_add: list[Mailbox] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)


@dataclass
class _Plan(GroupPlan):
    policy: dict[str, Any] | None = None
    policy_action: str = "create"  # create | exists | conflict | replace


def is_group(row: dict[str, Any]) -> bool:
    """A Get-DistributionGroup object among the other objects of a batch (policies, scopes, principals)."""
    return "RecipientTypeDetails" in row and "ExternalDirectoryObjectId" in row


def read_group(
    session: ExchangeSession, request: GroupRequest, extra: Sequence[tuple[str, dict[str, Any]]] = ()
) -> tuple[GroupPlan, list[dict[str, Any]]]:
    """The group, its members and the listed mailboxes; `extra` statements ride along in the first pipeline
    (an engine's own reads) and their objects are returned beside the plan."""
    batch = session.run_batch([("Get-DistributionGroup", {"Identity": request.group}), *extra])
    raise_unexpected(batch, NOT_FOUND)
    group = next((o for o in batch.outputs if is_group(o)), None)
    others = [o for o in batch.outputs if o is not group]
    if group is not None:
        _check_group_kind(group)
    members_now: list[dict[str, Any]] = []
    if group is not None:
        members_now = session.run(
            "Get-DistributionGroupMember",
            {"Identity": group["ExternalDirectoryObjectId"], "ResultSize": "Unlimited"},
        )
    resolved, missing = resolve_mailboxes(session, [*request.members, *request.probes])
    plan = GroupPlan(group=group, members_now=members_now, resolved=resolved, missing=missing)
    current = set().union(*(_smtp_addresses(m) for m in members_now)) if members_now else set()
    plan.to_add = [
        resolved[m]
        for m in request.members
        if m in resolved and resolved[m].primary_smtp.casefold() not in current
    ]
    if request.exact:
        wanted = {resolved[m].primary_smtp.casefold() for m in request.members if m in resolved}
        plan.to_remove = [
            str(m["PrimarySmtpAddress"])
            for m in members_now
            if str(m.get("PrimarySmtpAddress", "")).casefold() not in wanted
        ]
    return plan, others


def _read_state(session: ExchangeSession, request: RestrictRequest) -> _Plan:
    group_plan, others = read_group(session, request.group_request, [("Get-ApplicationAccessPolicy", {})])
    policies = [o for o in others if "AccessRight" in o]
    plan = _Plan(**vars(group_plan))
    group = plan.group
    if group is not None:
        object_id = str(group["ExternalDirectoryObjectId"]).casefold()
        plan.policy = next(
            (
                p
                for p in policies
                if str(p.get("AppId", "")).casefold() == request.app_id.casefold()
                and str(p.get("ScopeIdentityRaw", "")).casefold().endswith(";" + object_id)
            ),
            None,
        )
    if plan.policy is not None:
        if plan.policy.get("AccessRight") == request.access_right:
            plan.policy_action = "exists"
        else:
            plan.policy_action = "replace" if request.replace else "conflict"
    return plan


def _check_group_kind(group: dict[str, Any]) -> None:
    name = group.get("Name") or group.get("DisplayName")
    if group.get("IsDirSynced"):
        raise OperationFailed(
            f"group {name} is synchronised from on-premises Active Directory",
            "manage its members in on-premises AD (and let Entra Connect sync them), or use another --group",
            code="group_dir_synced",
        )
    if group.get("RecipientTypeDetails") != SECURITY_GROUP:
        raise OperationFailed(
            f"group {name} is a {group.get('RecipientTypeDetails')}, not a mail-enabled security group",
            "use another --group name (roomsops creates a security group), or "
            "create one with New-DistributionGroup -Type Security",
            code="group_kind",
        )


def group_steps(request: GroupRequest, plan: GroupPlan) -> list[Step]:
    """The report lines of the group part: group, members, unknown probes."""
    steps = [Step("group", request.group, "exists" if plan.group else "created")]
    to_add = {m.given for m in plan.to_add}
    for member in request.members:
        if member in plan.missing:
            steps.append(Step("member", member, "not_found", plan.missing[member]))
        elif member in to_add:
            steps.append(Step("member", member, "added"))
        else:
            steps.append(Step("member", member, "already"))
    steps += [Step("member", address, "removed") for address in plan.to_remove]
    for probe in request.probes:
        if probe in plan.missing:
            steps.append(Step("probe", probe, "not_found", plan.missing[probe]))
    return steps


def _plan_steps(request: RestrictRequest, plan: _Plan) -> list[Step]:
    steps = group_steps(request.group_request, plan)
    detail = {
        "conflict": f"existing policy has {plan.policy and plan.policy.get('AccessRight')}; use --replace",
        "replace": f"was {plan.policy and plan.policy.get('AccessRight')}",
    }.get(plan.policy_action, "")
    outcome = {"create": "created", "exists": "exists", "conflict": "conflict", "replace": "replaced"}
    steps.append(Step("policy", f"{request.app_id} → {request.group}", outcome[plan.policy_action], detail))
    return steps


class Applier:
    """Runs the state-changing cmdlets, each recorded in the audit log with its parameters and result."""

    def __init__(self, session: ExchangeSession, audit: AuditLog) -> None:
        self.session = session
        self.audit = audit

    def run(self, cmdlet: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        from roomsops.adapters.exo.session import CmdletError

        try:
            out = self.session.run(cmdlet, params)
        except CmdletError as exc:
            self.audit.record(f"cmdlet:{cmdlet}", self.session.host, params, {"error": exc.message})
            raise
        self.audit.record(f"cmdlet:{cmdlet}", self.session.host, params, "ok")
        return out

    def batch(self, statements: list[tuple[str, dict[str, Any]]]) -> list[CmdletFailure]:
        result = self.session.run_batch(statements)
        for cmdlet, params in statements:
            failure = next(
                (
                    f
                    for f in result.failures
                    if f.target and str(params.get("Member", "")).casefold() == f.target.casefold()
                ),
                None,
            )
            self.audit.record(
                f"cmdlet:{cmdlet}", self.session.host, params, {"error": failure.message} if failure else "ok"
            )
        return result.failures


_Applier = Applier  # the name this class had before the RBAC engine shared it


def _wait_for_group(
    session: ExchangeSession, name: str, attempts: int = 5, delay: float = 2.0
) -> dict[str, Any]:
    """A just-created group may not be found at once (directory replication): retry briefly."""
    for attempt in range(attempts):
        batch = session.run_batch([("Get-DistributionGroup", {"Identity": name})])
        raise_unexpected(batch, NOT_FOUND)
        if batch.outputs:
            return batch.outputs[0]
        if attempt + 1 < attempts:
            time.sleep(delay)
    raise OperationFailed(
        f"group {name} was created but cannot be found yet",
        "directory replication is slow; run the same command again in a few minutes",
    )


def check_remove_guard(request: GroupRequest, plan: GroupPlan) -> None:
    """--exact refuses to remove more than REMOVE_GUARD of the members unless --force (exit 2, nothing changed)."""
    if request.exact and plan.to_remove and not request.force:
        share = len(plan.to_remove) / max(len(plan.members_now), 1)
        if share > REMOVE_GUARD:
            raise InputError(
                f"--exact would remove {len(plan.to_remove)} of {len(plan.members_now)} members "
                f"({share:.0%}), more than {REMOVE_GUARD:.0%}",
                "check the member list, or add --force",
            )


def confirm_removals(request: GroupRequest, plan: GroupPlan, confirm: Confirm) -> None:
    if plan.to_remove:
        confirm(
            f"Remove {len(plan.to_remove)} member(s) from {request.group} ({', '.join(plan.to_remove[:5])})?"
        )


def apply_group(
    apply: Applier, request: GroupRequest, plan: GroupPlan, steps: list[Step]
) -> tuple[dict[str, Any], list[Step]]:
    """Create the group if needed, add and remove members; returns the group and the steps with failures."""
    group = plan.group
    if group is None:
        apply.run("New-DistributionGroup", {"Name": request.group, "Type": "Security"})
        group = _wait_for_group(apply.session, request.group)
    group_id = str(group["ExternalDirectoryObjectId"])
    failures = apply.batch(
        [
            (
                "Add-DistributionGroupMember",
                {"Identity": group_id, "Member": m.primary_smtp, "BypassSecurityGroupManagerCheck": True},
            )
            for m in plan.to_add
        ]
    )
    failures += apply.batch(
        [
            (
                "Remove-DistributionGroupMember",
                {
                    "Identity": group_id,
                    "Member": address,
                    "BypassSecurityGroupManagerCheck": True,
                    "Confirm": False,
                },
            )
            for address in plan.to_remove
        ]
    )
    return group, _mark_failures(steps, failures, plan)


def restrict(
    session: ExchangeSession, request: RestrictRequest, confirm: Confirm, audit: AuditLog, notes: list[str]
) -> RestrictResult:
    plan = _read_state(session, request)
    steps = _plan_steps(request, plan)
    check_remove_guard(request.group_request, plan)

    def result(
        steps: Sequence[Step], tests: Sequence[AccessTest] = (), dry_run: bool = False
    ) -> RestrictResult:
        return RestrictResult(
            app_id=request.app_id,
            group=request.group,
            access_right=request.access_right,
            dry_run=dry_run,
            steps=tuple(steps),
            tests=tuple(tests),
            notes=tuple(notes),
        )

    if request.dry_run or plan.policy_action == "conflict":
        if plan.policy_action == "conflict":
            notes.append(
                f"A policy for this app and group with access right {plan.policy and plan.policy.get('AccessRight')} "
                "exists; nothing was changed. --replace removes and recreates it."
            )
        return result(steps, dry_run=request.dry_run)
    confirm_removals(request.group_request, plan, confirm)
    if plan.policy_action == "replace":
        confirm(
            f"Replace the {plan.policy and plan.policy.get('AccessRight')} policy of app {request.app_id} for "
            f"{request.group}? The app is unrestricted in between"
        )
    apply = Applier(session, audit)
    group, steps = apply_group(apply, request.group_request, plan, steps)
    group_id = str(group["ExternalDirectoryObjectId"])
    if plan.policy_action in {"create", "replace"}:
        if plan.policy_action == "replace" and plan.policy is not None:
            apply.run(
                "Remove-ApplicationAccessPolicy", {"Identity": plan.policy["Identity"], "Confirm": False}
            )
            notes.append("The app was briefly unrestricted while the policy was replaced. " + REMOVAL_NOTICE)
        apply.run(
            "New-ApplicationAccessPolicy",
            {
                "AppId": request.app_id,
                "PolicyScopeGroupId": group_id,
                "AccessRight": request.access_right,
                "Description": request.effective_description,
            },
        )
    tests: list[AccessTest] = []
    if request.verify:
        inside, outside = (
            ("Granted", "Denied") if request.access_right == "RestrictAccess" else ("Denied", "Granted")
        )
        members = [m for m in request.members if m in plan.resolved]
        probes = [p for p in request.probes if p in plan.resolved]
        expected = {m: inside for m in members} | {p: outside for p in probes}
        tests = test_access(session, request.app_id, [*members, *probes], expected)
    notes += [PROPAGATION_NOTICE, RBAC_NOTICE]
    return result(steps, tests)


def _mark_failures(steps: list[Step], failures: Sequence[CmdletFailure], plan: GroupPlan) -> list[Step]:
    """A member that could not be added or removed: already in (fine) or a real failure."""
    by_address = {m.primary_smtp.casefold(): m.given for m in plan.to_add}
    out = list(steps)
    for failure in failures:
        target = (failure.target or "").casefold()
        given = by_address.get(target, failure.target or "?")
        for index, step in enumerate(out):
            if step.step == "member" and step.target.casefold() in {given.casefold(), target}:
                outcome = (
                    "already" if failure.matches("MemberAlreadyExists", "already a member") else "failed"
                )
                out[index] = Step(
                    "member", step.target, outcome, "" if outcome == "already" else failure.message
                )
    return out


@dataclass(frozen=True)
class PolicyRow:
    app_id: str
    scope_name: str
    access_right: str
    description: str
    identity: str
    scope_identity_raw: str


@dataclass(frozen=True)
class PolicyListResult(Result):
    policies: tuple[PolicyRow, ...]

    def lines(self) -> list[str]:
        if not self.policies:
            return ["no application access policies"]
        return [f"{p.app_id}  {p.access_right:14}  {p.scope_name}  {p.description}" for p in self.policies]


def list_policies(session: ExchangeSession, app_id: str | None) -> PolicyListResult:
    rows = [
        PolicyRow(
            app_id=str(p.get("AppId")),
            scope_name=str(p.get("ScopeName")),
            access_right=str(p.get("AccessRight")),
            description=str(p.get("Description") or ""),
            identity=str(p.get("Identity")),
            scope_identity_raw=str(p.get("ScopeIdentityRaw")),
        )
        for p in session.run("Get-ApplicationAccessPolicy")
    ]
    if app_id:
        rows = [r for r in rows if r.app_id.casefold() == app_id.casefold()]
    return PolicyListResult(policies=tuple(rows))


@dataclass(frozen=True)
class PolicyRemoveResult(Result):
    app_id: str
    group: str
    removed: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return bool(self.removed)

    def lines(self) -> list[str]:
        if not self.removed:
            return [f"no policy for app {self.app_id} and group {self.group}"]
        return [f"removed policy {identity}" for identity in self.removed]


def remove(
    session: ExchangeSession, app_id: str, group: str, confirm: Confirm, audit: AuditLog
) -> PolicyRemoveResult:
    batch = session.run_batch(
        [("Get-DistributionGroup", {"Identity": group}), ("Get-ApplicationAccessPolicy", {})]
    )
    raise_unexpected(batch, NOT_FOUND)
    found = next((o for o in batch.outputs if "AccessRight" not in o), None)
    if found is None:
        raise OperationFailed(
            f"group {group} does not exist", "see 'roomsops policy list' for the policies' groups"
        )
    object_id = str(found["ExternalDirectoryObjectId"]).casefold()
    matching = [
        p
        for p in batch.outputs
        if "AccessRight" in p
        and str(p.get("AppId", "")).casefold() == app_id.casefold()
        and str(p.get("ScopeIdentityRaw", "")).casefold().endswith(";" + object_id)
    ]
    if not matching:
        return PolicyRemoveResult(app_id=app_id, group=group, removed=())
    confirm(
        f"Remove the application access policy of app {app_id} for group {group}? The app is then no longer "
        "restricted by it"
    )
    apply = Applier(session, audit)
    for policy in matching:
        apply.run("Remove-ApplicationAccessPolicy", {"Identity": policy["Identity"], "Confirm": False})
    return PolicyRemoveResult(
        app_id=app_id,
        group=group,
        removed=tuple(str(p["Identity"]) for p in matching),
        notes=(REMOVAL_NOTICE,),
    )


def runbook(request: RestrictRequest, admin_upn: str | None = None) -> str:
    """The equivalent standalone PowerShell runbook (interactive sign-in like ROOMS' guide)."""
    return render(
        "powershell/policy-restrict.ps1.j2",
        version=__version__,
        app_id=request.app_id,
        group=request.group,
        members=list(request.members),
        probes=list(request.probes),
        exact=request.exact,
        access_right=request.access_right,
        description=request.effective_description,
        admin_upn=admin_upn,
    )

"""The application access policy engine of `policy`: limit the sync app to a group's mailboxes with
New-ApplicationAccessPolicy, verified with Test-ApplicationAccessPolicy; and `policy list|remove`.

Reads the current state in a few pipelines, plans, asks before destructive steps, applies idempotently.
The group and the access test are shared with the RBAC engine (`group.py`, `access.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from roomsops import __version__
from roomsops.adapters.exo import exchange, group_history
from roomsops.adapters.exo.errors import CmdletError
from roomsops.adapters.exo.objects import AccessPolicy, Group
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.addresses import closest
from roomsops.core.errors import InputError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.templates import psquote, render, shellword
from roomsops.services.policy.access import check_access
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
    PROPAGATION_NOTICE,
    RBAC_NOTICE,
    REMOVAL_NOTICE,
    AccessTest,
    Confirm,
    Outcome,
    Progress,
    RestrictRequest,
    Step,
    changed,
    check_failed,
    unchanged_line,
)


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
        return changed(self.steps)

    @property
    def ok(self) -> bool:
        return not any(s.failed for s in self.steps) and all(t.matches for t in self.tests)

    def lines(self) -> list[str]:
        out = [
            f"{'plan' if self.dry_run else 'result'} for app {self.app_id}, group {self.group}, {self.access_right}"
        ]
        out += [s.line(self.dry_run, 7) for s in self.steps]
        for t in self.tests:
            mark = "ok" if t.matches else f"MISMATCH, expected {t.expected}"
            out.append(f"  test    {t.mailbox}: {t.access_check_result} ({mark})")
        return out + unchanged_line(self.steps, self.dry_run, self.ok)


@dataclass
class _Plan:
    group: GroupPlan
    policy: AccessPolicy | None = None
    action: Outcome = Outcome.CREATED  # created | exists | conflict | replaced


def _read_state(session: ExchangeSession, request: RestrictRequest) -> _Plan:
    group_plan, objects = read_group(session, request.group_request, [exchange.policies_query()])
    plan = _Plan(group_plan)
    group = group_plan.group
    if group is not None:
        plan.policy = next(
            (p for p in objects.policies if p.is_for(request.app_id) and p.scoped_to(group.object_id)), None
        )
    if plan.policy is not None:
        if plan.policy.access_right == request.access_right:
            plan.action = Outcome.EXISTS
        else:
            plan.action = Outcome.REPLACED if request.replace else Outcome.CONFLICT
    return plan


def _plan_steps(request: RestrictRequest, plan: _Plan) -> list[Step]:
    steps = group_steps(request.group_request, plan.group)
    was = plan.policy.access_right if plan.policy else None
    detail = {
        Outcome.CONFLICT: f"existing policy has {was}; use --replace",
        Outcome.REPLACED: f"was {was}",
    }.get(plan.action, "")
    steps.append(Step("policy", policy_target(request), plan.action, detail))
    return steps


def policy_target(request: RestrictRequest) -> str:
    return f"{request.app_id} → {request.group}"


def _ensure_policy(
    apply: Applier, request: RestrictRequest, plan: _Plan, group_id: str, notes: list[str]
) -> None:
    if plan.action not in {Outcome.CREATED, Outcome.REPLACED}:
        return
    if plan.action is Outcome.REPLACED and plan.policy is not None:
        apply.run(
            "Remove-ApplicationAccessPolicy",
            {"Identity": plan.policy.identity, "Confirm": False},
            Step("old policy", plan.policy.identity, Outcome.REMOVED),
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
        Step("policy", policy_target(request), plan.action),
    )


def _verify(
    session: ExchangeSession, request: RestrictRequest, plan: GroupPlan, steps: Sequence[Step]
) -> list[AccessTest]:
    """Members get the access right's answer, probes the opposite one. The check failing (a cmdlet's error) after
    every change was made is no half-done run: the error says so and names `roomsops policy test`."""
    inside, outside = (
        ("Granted", "Denied") if request.access_right == "RestrictAccess" else ("Denied", "Granted")
    )
    # A nested group is no mailbox to test: its members are (they are not listed here).
    members = [m for m in request.members if m in plan.resolved and plan.resolved[m].recipient.is_mailbox]
    probes = [p for p in request.probes if p in plan.resolved]
    expected = {m: inside for m in members} | {p: outside for p in probes}
    try:
        return check_access(session, request.app_id, [*members, *probes], expected)
    except CmdletError as exc:
        # The remedy tests the app this run restricted (--app-id), not the configured sync app.
        raise check_failed(exc, steps, expected, f"--app-id {shellword(request.app_id)}") from None


def restrict(
    session: ExchangeSession,
    request: RestrictRequest,
    confirm: Confirm,
    audit: AuditLog,
    notes: list[str],
    progress: Progress | None = None,
    replacing: list[str] | None = None,
) -> RestrictResult:
    """`replacing` is given the access right of the policy a --replace removes, before it is removed: the way back
    of a run stopped after that (`policy restrict --replace --access-right WAS`)."""
    plan = _read_state(session, request)
    steps = _plan_steps(request, plan)
    if request.access_right == "RestrictAccess":  # before the share guard: its remedy (--force) would not do
        refuse_uncovered(session, request.group_request, plan.group, "RestrictAccess policy")
    check_remove_guard(request.group_request, plan.group)

    def result(steps: Sequence[Step], tests: Sequence[AccessTest] = ()) -> RestrictResult:
        return RestrictResult(
            app_id=request.app_id,
            group=request.group,
            access_right=request.access_right,
            dry_run=request.dry_run,
            steps=tuple(steps),
            tests=tuple(tests),
            notes=tuple(notes),
        )

    was = plan.policy.access_right if plan.policy else None
    if plan.action is Outcome.CONFLICT:
        notes.append(
            f"A policy for this app and group with access right {was} "
            "exists; nothing was changed. --replace removes and recreates it."
        )
    if request.dry_run or plan.action is Outcome.CONFLICT:
        return result(steps)
    confirm_removals(request.group_request, plan.group, confirm)
    if plan.action is Outcome.REPLACED:
        confirm(
            f"Replace the {was} policy of app {request.app_id} for "
            f"{request.group}? The app is unrestricted in between"
        )
    apply = Applier(session, audit, progress)
    if plan.action is Outcome.REPLACED and plan.policy is not None:
        if replacing is not None:
            replacing.append(plan.policy.access_right)
        apply.progress.expect([Step("old policy", plan.policy.identity, Outcome.REMOVED)])
    apply.progress.expect(steps)
    group, steps = apply_group(apply, request.group_request, plan.group, steps)
    if request.access_right == "RestrictAccess" and plan.action is not Outcome.EXISTS:
        refuse_empty_group(
            request.group_request,
            steps,
            "RestrictAccess policy",
            f"roomsops policy remove --app-id {shellword(request.app_id)} --group {shellword(request.group)} --with-group",
        )
    if request.access_right == "RestrictAccess" and plan.action is not Outcome.EXISTS:
        not_added = [s.target for s in steps if s.step == "member" and s.failed]
        if not_added:
            # A RestrictAccess policy made now would deny the app what it reaches today: the mailboxes that
            # could not be added (a transient Exchange error, say). No policy until every member is in.
            steps = _policy_held_back(steps, not_added)
            notes.append(
                f"No policy was made: {', '.join(not_added)} could not be added to {request.group}, and a "
                "RestrictAccess policy would lock the app out of them. Run the same command again: it keeps the "
                "members already in, adds the rest and then makes the policy."
            )
            return result(steps)
    _ensure_policy(apply, request, plan, group.object_id, notes)
    tests = _verify(session, request, plan.group, steps) if request.verify else []
    if changed(steps):  # nothing to wait for when everything was already in place
        notes += [PROPAGATION_NOTICE, RBAC_NOTICE]
    return result(steps, tests)


def _policy_held_back(steps: Sequence[Step], not_added: Sequence[str]) -> list[Step]:
    """The policy step of a run whose additions failed: not made (a failure of the run, exit 1)."""
    why = f"not made: {', '.join(not_added)} could not be added; run the command again"
    return [Step(s.step, s.target, Outcome.FAILED, why) if s.step == "policy" else s for s in steps]


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
    policies = exchange.list_access_policies(session)
    if app_id:
        policies = [p for p in policies if p.is_for(app_id)]
    rows = [
        PolicyRow(
            app_id=p.app_id,
            scope_name=p.scope_name,
            access_right=p.access_right,
            description=p.description,
            identity=p.identity,
            scope_identity_raw=p.scope_identity_raw,
        )
        for p in policies
    ]
    return PolicyListResult(policies=tuple(rows))


@dataclass(frozen=True)
class PolicyRemoveResult(Result):
    app_id: str
    group: str
    removed: tuple[str, ...]
    removed_group: str | None = None  # --with-group: the group removed after its policy
    kept_group: str | None = None  # --with-group: why the group stayed (another app's policy uses it)
    #: --with-group: the removed group's members (primary SMTP addresses), read before it was removed: the way
    #: back is `policy restrict --app-id A --group G --member ...` with them (`restore`).
    removed_group_members: tuple[str, ...] = ()
    #: The removed policy's access right, and the command that makes group and policy again (with the group's
    #: members), "" when nothing was removed.
    access_right: str | None = None
    restore: str = ""
    #: The group no longer exists, and the audit log shows that `policy remove --with-group` removed it (e.g. a run
    #: interrupted after Exchange removed it): nothing is left to remove; `restore` is the way back it recorded.
    already_removed_group: str | None = None
    #: When that removal began (the audit record's time).
    already_removed_at: str | None = field(default=None, metadata={"json": False})
    #: The removed policies were scoped to a group of that name that no longer exists (deleted by hand): its
    #: members cannot be read, so `restore` is "".
    group_gone: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.removed or self.removed_group or self.already_removed_group)

    def lines(self) -> list[str]:
        if self.already_removed_group:
            out = [
                f"group {self.already_removed_group} is already gone: 'roomsops policy remove --with-group' removed "
                f"it ({self.already_removed_at}, audit log); nothing is left to remove"
            ]
        else:
            gone = f" (its group {self.group} no longer exists)" if self.group_gone else ""
            out = [f"removed policy {identity}{gone}" for identity in self.removed] or [
                f"no policy for app {self.app_id} and group {self.group}"
            ]
        if self.removed_group:
            out.append(
                f"removed group {self.removed_group} with its {len(self.removed_group_members)} member(s): "
                + (", ".join(self.removed_group_members) or "none")
            )
        if self.restore:
            out.append(f"to restore it: {self.restore}")
        if self.kept_group:
            out.append(f"kept group {self.group}: {self.kept_group}")
        return out


def restore_command(group: str, members: Sequence[str], app_id: str, access_right: str) -> str:
    """The command that makes a removed group and its policy again, with the members it had (a nested group
    among them too), for the same app and with the same access right. Each value is one word that PowerShell
    and bash read back as it is (`shellword`: a `$` in a group's name is not expanded)."""
    words = ["roomsops policy restrict --app-id", shellword(app_id), "--group", shellword(group)]
    if access_right != "RestrictAccess":  # restrict's default
        words += ["--access-right", access_right]
    return " ".join([*words, *(f"--member {shellword(m)}" for m in members)])


def restore_group_command(group: str, members: Sequence[str]) -> str:
    """The way back for a group removed without a policy (its policy was removed before): the group alone, a
    PowerShell command (values as `psquote` literals: nothing in them expands)."""
    command = f"New-DistributionGroup -Name {psquote(group)} -Type Security"
    return command + (f" -Members {','.join(psquote(m) for m in members)}" if members else "")


def remove(
    session: ExchangeSession,
    app_id: str,
    group: str,
    confirm: Confirm,
    audit: AuditLog,
    progress: Progress | None = None,
    with_group: bool = False,
    restore_seen: list[str] | None = None,
) -> PolicyRemoveResult:
    """Remove the app's policies for `group`; `with_group`: then the group too (also when its policy was removed
    before), unless another app's policy or a management scope uses it (checked before the first change: the
    group then stays, and the result says why). The group's members are read before the first change; the
    command that makes group and policy again is put in `restore_seen`, the audit log and the result."""
    queries = [exchange.group_query(group), exchange.policies_query()]
    objects = exchange.read(session, [*queries, exchange.scopes_query()] if with_group else queries)
    found = next(iter(objects.groups), None)
    if found is None:
        return _group_gone(session, app_id, group, objects.policies, confirm, audit, progress)
    matching = [p for p in objects.policies if p.is_for(app_id) and p.scoped_to(found.object_id)]
    if not matching and not with_group:
        return PolicyRemoveResult(app_id=app_id, group=group, removed=())
    others = sorted(
        {p.app_id for p in objects.policies if p.scoped_to(found.object_id) and not p.is_for(app_id)}
    )
    # A management scope over the group (RBAC for Applications, e.g. half-way through `policy migrate`, or one
    # an administrator wrote) would match no mailbox once the group is gone: the app it scopes would lose every
    # mailbox.
    from roomsops.services.policy.rbac import filters_on_group

    scopes = sorted(
        s.name for s in objects.scopes if filters_on_group(s.recipient_filter, found.distinguished_name)
    )
    kept = None
    if with_group and others:
        kept = f"the policies of app(s) {', '.join(others)} still use it"
    elif with_group and scopes:
        kept = f"the management scope(s) {', '.join(scopes)} still filter on it"
    elif with_group:
        kept = _nested_in_policy_group(session, objects.policies, found.object_id) or (
            None if matching else _not_ours(group_history.origin(audit, app_id, found), app_id, found)
        )
    drop_group = with_group and kept is None
    if not matching and not drop_group:
        return PolicyRemoveResult(app_id=app_id, group=group, removed=(), kept_group=kept)
    # Read before anything changes: once the group is gone, its members are nowhere (a group adopted by
    # `policy restrict` has members roomsops never added); the way back names them.
    members = tuple(sorted(r.primary_smtp for r in exchange.group_members(session, found.object_id)))
    restore = (
        restore_command(found.name or group, members, app_id, matching[0].access_right)
        if matching
        else restore_group_command(found.name or group, members)
    )
    if restore_seen is not None:
        restore_seen.append(restore)
    listed = f"its {len(members)} member(s): {', '.join(members) or 'none'}"
    if matching:
        confirm(
            f"Remove the application access policy of app {app_id} for group {group}"
            + (f" and the group itself ({listed})" if drop_group else "")
            + "? The app is then no longer restricted by it"
        )
    else:
        confirm(f"Remove the group {group} ({listed})? No policy of app {app_id} uses it any more")
    apply = Applier(session, audit, progress)
    steps = [Step("policy", policy.identity, Outcome.REMOVED) for policy in matching]
    group_step = Step("group", found.name or group, Outcome.REMOVED)
    apply.progress.expect([*steps, group_step] if drop_group else steps)
    for policy, step in zip(matching, steps, strict=True):
        apply.run("Remove-ApplicationAccessPolicy", {"Identity": policy.identity, "Confirm": False}, step)
        # Which group the removed policy was scoped to: a later --with-group knows this app used it.
        audit.record(
            "policy.remove.scope",
            found.object_id,
            {"app_id": app_id, "group": found.name, "restore": restore},
            "ok",
        )
    if drop_group:
        # The members in the audit log before the group goes: the way back does not depend on this run's output,
        # and a run that stops once Exchange removed it can be finished by running it again (`_group_gone`).
        audit.record(
            group_history.GROUP_REMOVAL,
            found.name or group,
            {"group_id": found.object_id, "group": group},
            {"members": list(members), "restore": restore},
        )
        # The policy first: a policy is never left scoped to a group that is gone.
        apply.run(
            "Remove-DistributionGroup",
            {"Identity": found.object_id, "BypassSecurityGroupManagerCheck": True, "Confirm": False},
            group_step,
        )
    return PolicyRemoveResult(
        app_id=app_id,
        group=group,
        removed=tuple(p.identity for p in matching),
        removed_group=group_step.target if drop_group else None,
        kept_group=kept,
        removed_group_members=members if drop_group else (),
        access_right=matching[0].access_right if matching else None,
        restore=restore,
        notes=(REMOVAL_NOTICE,) if matching else (),
    )


def _group_gone(
    session: ExchangeSession,
    app_id: str,
    group: str,
    policies: Sequence[AccessPolicy],
    confirm: Confirm,
    audit: AuditLog,
    progress: Progress | None,
) -> PolicyRemoveResult:
    """No group `group` exists. A policy of the app still scoped to a group of that name that no longer exists
    (deleted by hand: the policy stays, and `policy list` shows it under the group's name) is removed, with or
    without `--with-group`. Else, when the audit log shows `policy remove --with-group` removed the group, the job
    is done (running the same command again finishes a run that stopped after Exchange removed the group);
    otherwise the name is bad input, named with the closest of the policies' groups."""
    named = [p for p in policies if p.is_for(app_id) and p.scope_name.casefold() == group.casefold()]
    present = exchange.existing_recipients(
        session, sorted({p.scope_object_id for p in named if p.scope_object_id})
    )
    gone_scope = [p for p in named if p.scope_object_id and p.scope_object_id.casefold() not in present]
    if gone_scope:
        return _remove_gone_scope(session, app_id, group, gone_scope, confirm, audit, progress)
    gone = group_history.removed_by_roomsops(audit, group)
    if gone is not None:
        return PolicyRemoveResult(
            app_id=app_id,
            group=group,
            removed=(),
            restore=gone.restore,
            already_removed_group=gone.name,
            already_removed_at=gone.time,
        )
    if named:  # scoped to a recipient of that name that is no group (a mailbox), or a group since renamed
        raise InputError(
            f"group {group} does not exist; the policy of app {app_id} listed for {group} is scoped to another "
            "recipient (a mailbox, or a group renamed since); nothing was changed",
            "remove it by hand: Remove-ApplicationAccessPolicy -Identity "
            + psquote(named[0].identity)
            + " -Confirm:$false",
            code="group_not_found",
        )
    known = {p.scope_name for p in policies if p.scope_name and p.scope_name.casefold() != group.casefold()}
    near = closest(group, known)
    raise InputError(
        f"group {group} does not exist" + (f" (closest: {near})" if near else "") + "; nothing was changed",
        "see 'roomsops policy list' for the policies' groups",
        code="group_not_found",
    )


def _remove_gone_scope(
    session: ExchangeSession,
    app_id: str,
    group: str,
    policies: Sequence[AccessPolicy],
    confirm: Confirm,
    audit: AuditLog,
    progress: Progress | None,
) -> PolicyRemoveResult:
    """Remove the app's policies scoped to a group that was deleted (by hand: roomsops removes the policy first).
    Its members are nowhere to read, so there is no restore line: the way back is `policy restrict` with them."""
    rights = ", ".join(sorted({p.access_right for p in policies}))
    confirm(
        f"Remove the application access policy of app {app_id} ({rights}) for group {group}, a group that no "
        "longer exists? The app is then no longer restricted by it"
    )
    apply = Applier(session, audit, progress)
    steps = [Step("policy", policy.identity, Outcome.REMOVED) for policy in policies]
    apply.progress.expect(steps)
    for policy, step in zip(policies, steps, strict=True):
        apply.run("Remove-ApplicationAccessPolicy", {"Identity": policy.identity, "Confirm": False}, step)
        audit.record(
            "policy.remove.scope",
            policy.scope_object_id,
            {"app_id": app_id, "group": policy.scope_name, "restore": ""},
            "ok",
        )
    return PolicyRemoveResult(
        app_id=app_id,
        group=group,
        removed=tuple(p.identity for p in policies),
        access_right=policies[0].access_right,
        group_gone=True,
        notes=(REMOVAL_NOTICE,),
    )


_BY_HAND = "remove it by hand if it is no longer needed (Remove-DistributionGroup)"


def _not_ours(origin: group_history.Origin, app_id: str, group: Group) -> str | None:
    """Why `--with-group` keeps a group no policy of the app uses: None when the audit log shows roomsops made
    this very group (by its object id) or scoped a policy of the app to it. A name proves nothing: a group made
    by someone else under the name of one roomsops made and removed is another object."""
    if origin.ours:
        return None
    if origin.other_ids:
        return (
            f"no policy of app {app_id} uses it, and the group of this name that roomsops made was another object "
            f"({', '.join(origin.other_ids)}; this one is {group.object_id}), so someone else made this one; "
            + _BY_HAND
        )
    if origin.unrecorded_at:
        return (
            f"no policy of app {app_id} uses it; the audit log shows that roomsops made a group of this name "
            f"({origin.unrecorded_at}) but not its object id, so it cannot tell that it is this group; "
            + _BY_HAND
        )
    return (
        f"no policy of app {app_id} uses it, and the audit log does not show that roomsops made it or that a "
        "policy of this app used it; " + _BY_HAND
    )


def _nested_in_policy_group(
    session: ExchangeSession, policies: Sequence[AccessPolicy], group_id: str
) -> str | None:
    """Why the group must stay when it is a member (directly or through other groups) of a group another policy
    (of any app) is scoped to: that policy counts nested groups' members, so its app would lose (RestrictAccess)
    or gain (DenyAccess) the mailboxes. None when it is in no such group."""
    target = group_id.casefold()
    others = [p for p in policies if p.scope_object_id and not p.scoped_to(group_id)]
    by_group: dict[str, list[AccessPolicy]] = {}
    for policy in others:
        by_group.setdefault(policy.scope_object_id.casefold(), []).append(policy)
    holders = []
    for scope_id, scoped in sorted(by_group.items()):
        seen: set[str] = {scope_id}
        frontier = [scope_id]
        found = False
        while frontier and not found:
            members = exchange.members_of_groups(session, frontier)
            frontier = []
            for member in members:
                oid = member.object_id.casefold()
                if oid == target:
                    found = True
                    break
                if "Group" in member.details and oid and oid not in seen:
                    seen.add(oid)
                    frontier.append(oid)
        if found:
            holders += [f"{p.scope_name} (app {p.app_id}, {p.access_right})" for p in scoped]
    if not holders:
        return None
    return (
        f"it is a member of the group(s) of other policies: {', '.join(holders)}; removing it would change "
        "which mailboxes those apps reach"
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


def remove_group_after_scope(
    session: ExchangeSession,
    app_id: str,
    group: str,
    confirm: Confirm,
    audit: AuditLog,
    progress: Progress | None = None,
) -> tuple[str | None, str | None]:
    """`policy remove --engine rbac --with-group` (here, not in rbac.py: it removes as `remove` does, and rbac.py
    importing this module made an import cycle), after the scope is gone: the group too, by the rules of
    `policy remove --with-group` (kept while a policy or scope uses it, or when roomsops did not make it). A group
    an application access policy of this app still uses stays (this command removes no such policy).
    Returns (removed group, why it stays)."""
    objects = exchange.read(session, [exchange.group_query(group), exchange.policies_query()])
    found = next(iter(objects.groups), None)
    if found is None:
        return None, None  # no such group (any more): nothing to remove
    if any(p.is_for(app_id) and p.scoped_to(found.object_id) for p in objects.policies):
        return None, (
            f"an application access policy of app {app_id} uses it ('roomsops policy remove --engine aap --group "
            f"{shellword(group)} --with-group' removes both)"
        )
    result = remove(session, app_id, group, confirm, audit, progress, with_group=True)
    return result.removed_group, result.kept_group

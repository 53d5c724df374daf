"""The group both engines restrict the app to: read it with its members, plan the member changes, guard
against removing too many, create it and change its members, each change in the audit log."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from roomsops.adapters.exo import exchange, group_history
from roomsops.adapters.exo.errors import CmdletError, CmdletFailure
from roomsops.adapters.exo.group_history import INTERRUPTED
from roomsops.adapters.exo.objects import Group, Recipient
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.addresses import closest
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.logs import AuditLog
from roomsops.core.templates import shellword
from roomsops.services.policy.model import (
    MAY_HAVE_RUN,
    Confirm,
    GroupRequest,
    Mailbox,
    Outcome,
    Progress,
    Step,
    change_label,
)

REMOVE_GUARD = 0.2  # --exact refuses to remove more than this share of the members without --force
#: How many mailboxes are read to suggest the closest address for one that was not found.
SUGGEST_SAMPLE = 5000


def resolve_mailboxes(
    session: ExchangeSession, addresses: Sequence[str]
) -> tuple[dict[str, Mailbox], dict[str, str]]:
    """The mailboxes of the addresses in one pipeline: (found by given address, not found → message)."""
    found, missing = exchange.find_mailboxes(session, addresses)
    return {given: Mailbox(given, recipient) for given, recipient in found.items()}, missing


@dataclass
class GroupPlan:
    """The group as it is and what it takes to make it as asked (shared by the AAP and RBAC engines)."""

    group: Group | None
    members_now: list[Recipient]
    resolved: dict[str, Mailbox]
    missing: dict[str, str]
    to_add: list[Mailbox] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)


def check_group_kind(group: Group) -> None:
    if group.is_dir_synced:
        raise OperationFailed(
            f"group {group.name} is synchronised from on-premises Active Directory",
            "manage its members in on-premises AD (and let Entra Connect sync them), or use another --group",
            code="group_dir_synced",
        )
    if not group.is_security_group:
        raise OperationFailed(
            f"group {group.name} is a {group.details}, not a mail-enabled security group",
            "use another --group name (roomsops creates a security group), or "
            "create one with New-DistributionGroup -Type Security",
            code="group_kind",
        )


def read_group(
    session: ExchangeSession, request: GroupRequest, extra: Sequence[exchange.Query] = ()
) -> tuple[GroupPlan, exchange.Objects]:
    """The group, its members and the listed mailboxes; `extra` reads ride along in the first pipeline
    (an engine's own objects) and are returned beside the plan."""
    objects = exchange.read(session, [exchange.group_query(request.group), *extra])
    group = next(iter(objects.groups), None)
    members_now: list[Recipient] = []
    if group is not None:
        check_group_kind(group)
        members_now = exchange.group_members(session, group.object_id)
    resolved, missing = resolve_mailboxes(session, [*request.members, *request.probes])
    resolved.update(_member_groups(session, request, missing, group))
    missing = {address: why for address, why in missing.items() if address not in resolved}
    refuse_unresolved(session, request, missing)
    refuse_probe_members(request, resolved)
    refuse_probes_in_group(request, resolved, members_now)
    refuse_probes_in_member_groups(session, request, resolved, members_now, group)
    plan = GroupPlan(group=group, members_now=members_now, resolved=resolved, missing=missing)
    current = set().union(*(m.smtp_addresses for m in members_now))
    # One addition per mailbox: a mailbox given twice (its primary address and an alias) is added once, under
    # the first address given; the other is reported as the same mailbox (`group_steps`).
    for member in request.members:
        mailbox = resolved.get(member)
        if mailbox is not None and mailbox.primary_smtp.casefold() not in current:
            current.add(mailbox.primary_smtp.casefold())
            plan.to_add.append(mailbox)
    if request.exact:
        wanted = {resolved[m].primary_smtp.casefold() for m in request.members if m in resolved}
        plan.to_remove = [m.primary_smtp for m in members_now if m.primary_smtp.casefold() not in wanted]
    return plan, objects


def _member_groups(
    session: ExchangeSession, request: GroupRequest, missing: dict[str, str], group: Group | None
) -> dict[str, Mailbox]:
    """Members that are no mailbox but a mail-enabled security group (a nested group: `policy remove --with-group`
    prints such a group among the members to restore). Taken where the engine counts nested groups' members
    (application access policies); elsewhere, the policy group itself, and a group of another kind are refused
    (exit 2, nothing changed) saying why."""
    probes = {p.casefold() for p in request.probes} - {m.casefold() for m in request.members}
    candidates = [a for a in missing if a.casefold() not in probes]
    if not candidates:
        return {}
    found = exchange.read(
        session, [exchange.Query("Get-Recipient", {"Identity": a}, Recipient) for a in candidates]
    ).recipients
    groups: dict[str, Mailbox] = {}
    refused = []
    for address in candidates:
        recipient = next((r for r in found if r.has_address(address) and "Group" in r.details), None)
        if recipient is None:
            continue
        if group is not None and recipient.object_id.casefold() == group.object_id.casefold():
            refused.append(f"{address} is the group {request.group} itself: a group cannot hold itself")
        elif not recipient.is_security_group:
            refused.append(
                f"{address} is a {recipient.details}, not a mailbox or a mail-enabled security group"
            )
        elif not request.nested_groups:
            refused.append(
                f"{address} is a group: a management scope's MemberOfGroup takes direct members only, so its "
                "members would not be in the scope"
            )
        elif not holds_mailbox(session, recipient):
            # A policy's scope is the group's mailboxes, nested groups' included: a group holding none adds
            # none, and as the only member it would leave a RestrictAccess app locked out of every mailbox.
            refused.append(f"{address} is a group that holds no mailbox (its nested groups counted)")
        else:
            groups[address] = Mailbox(address, recipient)
    if refused:
        hollow = all("holds no mailbox" in r for r in refused)
        raise InputError(
            f"{len(refused)} member(s) cannot be members here: {'; '.join(refused)}; nothing was changed",
            "give the mailboxes themselves with --member, or add mailboxes to the group first "
            "(Add-DistributionGroupMember -Identity GROUP -Member EMAIL), then run the command again"
            if hollow
            else "give the group's mailboxes with --member instead (Get-DistributionGroupMember -Identity GROUP "
            "lists them)"
            + ("" if request.nested_groups else ", or use --engine aap (nested groups count there)"),
            code="member_not_mailbox",
        )
    return groups


#: How deep `holds_mailbox` follows groups nested in groups (a cycle ends earlier: each group is read once).
NESTING_LIMIT = 10


def holds_mailbox(session: ExchangeSession, group: Recipient) -> bool:
    """Whether a group holds an Exchange Online mailbox, directly or through the groups nested in it (what an
    application access policy's scope counts); one pipeline per level of nesting."""
    return _nesting_holds_mailbox(session, [group], ())


def _nesting_holds_mailbox(
    session: ExchangeSession, groups: Sequence[Recipient], without: Sequence[str]
) -> bool:
    """Whether the groups hold a mailbox, not counting the groups whose object ids are `without` (nor what is
    held only through them)."""
    return any(any(m.is_mailbox for m in level) for level in _nested_members(session, groups, without))


def _nested_members(
    session: ExchangeSession, groups: Sequence[Recipient], without: Sequence[str]
) -> Iterator[list[Recipient]]:
    """The members of the groups, one level of nesting at a time (one pipeline each, read as the caller goes on),
    not following the groups whose object ids are `without`; each group is read once (a cycle ends)."""
    seen: set[str] = {i.casefold() for i in without if i}
    level = list(groups)
    for _ in range(NESTING_LIMIT):
        ids = [g.object_id or g.primary_smtp for g in level]
        ids = [i for i in dict.fromkeys(ids) if i and i.casefold() not in seen]
        if not ids:
            return
        seen.update(i.casefold() for i in ids)
        members = exchange.members_of_groups(session, ids)
        yield members
        level = [m for m in members if "Group" in m.details]


def refuse_probes_in_member_groups(
    session: ExchangeSession,
    request: GroupRequest,
    resolved: dict[str, Mailbox],
    members_now: Sequence[Recipient],
    group: Group | None,
) -> None:
    """A probe inside a group that is (or will be) a member of the group: an application access policy's scope
    takes nested groups' mailboxes, so the probe gets the members' answer and its opposite one cannot come true.
    Known from the member groups before any change (else the group and policy are made, then the check reports
    the probe's mismatch): exit 2, nothing changed. Only where the engine counts nested groups."""
    probes = {
        found.primary_smtp.casefold(): probe
        for probe in request.probes
        if (found := resolved.get(probe)) is not None and found.primary_smtp
    }
    if not probes or not request.nested_groups:
        return
    given = [resolved[m].recipient for m in request.members if m in resolved]
    kept = [] if request.exact else list(members_now)  # --exact takes out the groups not given
    nested = [r for r in [*given, *kept] if "Group" in r.details]
    itself = [group.object_id] if group is not None else []
    inside: dict[str, str] = {}
    for level in _nested_members(session, nested, itself):
        for member in level:
            if member.is_mailbox and member.primary_smtp.casefold() in probes:
                inside.setdefault(probes[member.primary_smtp.casefold()], member.primary_smtp)
        if len(inside) == len(probes):
            break
    if inside:
        raise InputError(
            f"--probe {', '.join(inside)}: a mailbox of a group that is a member of {request.group} (an "
            "application access policy counts nested groups' mailboxes), so the app gets the members' answer for "
            "it and the probe's opposite one cannot come true; nothing was changed",
            "a probe is a mailbox that must stay outside the group: give a mailbox that is in none of the member "
            "groups with --probe, or drop it",
            code="probe_is_member",
        )


def refuse_uncovered(session: ExchangeSession, request: GroupRequest, plan: GroupPlan, what: str) -> None:
    """Before any change: the group must hold a mailbox once the planned additions and --exact's removals are
    made, counting what the engine counts (nested groups' mailboxes where `request.nested_groups`, never
    through the group itself: a member group that nests the group back adds nothing). Else the `what` over it
    would lock the app out of every mailbox: exit 2, nothing changed."""
    removed = {a.casefold() for a in plan.to_remove}
    after = [m for m in plan.members_now if m.primary_smtp.casefold() not in removed]
    after += [m.recipient for m in plan.to_add]
    if any(m.is_mailbox for m in after):
        return
    nested = [m for m in after if "Group" in m.details] if request.nested_groups else []
    itself = [plan.group.object_id] if plan.group is not None else []
    if nested and _nesting_holds_mailbox(session, nested, itself):
        return
    why = (
        f"--exact removes {', '.join(plan.to_remove)}"
        if plan.to_remove
        else "none of its members is a mailbox"
    )
    groups = ", ".join(m.primary_smtp or m.name for m in nested)
    through = f", and {groups} hold mailboxes only through {request.group} itself" if groups else ""
    raise InputError(
        f"group {request.group} would hold no mailbox after this run ({why}{through}): the {what} over it "
        "would lock the app out of every mailbox; nothing was changed",
        "give at least one mailbox the app must reach with --member (or a group holding one other than "
        f"{request.group}), then run the command again",
        code="group_empty",
    )


def refuse_unresolved(session: ExchangeSession, request: GroupRequest, missing: dict[str, str]) -> None:
    """Every member and probe must be a mailbox before anything changes: a mistyped member would leave the
    group (and so the policy or scope) without the mailbox, and the sync app locked out of it. Exit 2, each
    address named with the closest mailbox address the tenant has."""
    if not missing:
        return
    mailboxes = exchange.read(session, [exchange.mailboxes_query(SUGGEST_SAMPLE)]).recipients
    # Every address of a mailbox points at its primary SMTP address, the one to suggest.
    primary_of = {a: m.primary_smtp for m in mailboxes for a in sorted(m.smtp_addresses)}
    primary_of.update({m.primary_smtp.casefold(): m.primary_smtp for m in mailboxes})
    probes = {p.casefold() for p in request.probes} - {m.casefold() for m in request.members}
    named = []
    for address in missing:
        role = "probe" if address.casefold() in probes else "member"
        nearest = closest(address, primary_of)
        near = primary_of[nearest.casefold()] if nearest else None
        named.append(f"{role} {address}" + (f" (did you mean {near}?)" if near else ""))
    remedy = (
        "correct the addresses (each mailbox must exist in Exchange Online: Get-Mailbox -Identity ADDRESS), "
        "then run the command again"
    )
    kinds = {a.casefold(): kind for a, kind in request.recorded}
    from_database = [a for a in missing if a.casefold() in kinds]
    if from_database:
        # --from-persons: the address is the ROOMS record's, not the command line's.
        first = shellword(from_database[0])
        fix = (
            f"'roomsops persons set {first} --email ADDRESS' or 'roomsops persons remove {first}'"
            if kinds[from_database[0].casefold()] == "person"
            else f"'roomsops rooms remove {first}' (and 'roomsops rooms add ADDRESS' for the right one)"
        )
        remedy = (
            f"correct the ROOMS record{'s' if len(from_database) > 1 else ''} of "
            f"{', '.join(from_database)} ({fix}), then run the command again"
        )
    raise InputError(
        f"no mailbox has the address of {len(named)} of the given mailboxes: {'; '.join(named)}; "
        "nothing was changed",
        remedy,
        code="mailbox_not_found",
    )


def refuse_probe_members(request: GroupRequest, resolved: dict[str, Mailbox]) -> None:
    """A probe must stay outside the group: one that is a member's mailbox given by another of its addresses (an
    alias) is the same contradiction as the same address given twice (`RestrictRequest`'s check): exit 2, before
    anything changes (else the group and policy are made, then the check reports a mismatch)."""
    members = {
        resolved[m].primary_smtp.casefold(): m
        for m in request.members
        if m in resolved and resolved[m].primary_smtp
    }
    for probe in request.probes:
        found = resolved.get(probe)
        primary = found.primary_smtp if found else ""
        member = members.get(primary.casefold()) if primary else None
        if member is not None:
            raise InputError(
                f"--probe {probe} is the mailbox of --member {member} ({primary}, another of its "
                "addresses): it is both a member and a --probe; nothing was changed",
                "a probe is a mailbox that must stay outside the group: give another mailbox with --probe, or "
                "drop it",
                code="probe_is_member",
            )


def refuse_probes_in_group(
    request: GroupRequest, resolved: dict[str, Mailbox], members_now: Sequence[Recipient]
) -> None:
    """A probe that is already a member of the group stays in it without --exact (restrict never takes a member
    out then), so its expected opposite answer cannot come true: the run would change the group, then report the
    probe's mismatch. Known from the group read before any change: exit 2, nothing changed. (With --exact a probe
    not listed as a member is taken out, as asked.)"""
    if request.exact:
        return
    current = {a.casefold() for m in members_now for a in m.smtp_addresses} | {
        m.primary_smtp.casefold() for m in members_now if m.primary_smtp
    }
    inside = [
        p
        for p in request.probes
        if p in resolved and resolved[p].primary_smtp and resolved[p].primary_smtp.casefold() in current
    ]
    if inside:
        raise InputError(
            f"--probe {', '.join(inside)}: already a member of {request.group}, so the app keeps the members' "
            "answer for it and the probe's opposite one cannot come true; nothing was changed",
            "a probe is a mailbox that must stay outside the group: give another mailbox with --probe, or take "
            "it out of the group with --exact (the members listed are then all the group holds)",
            code="probe_is_member",
        )


def group_steps(request: GroupRequest, plan: GroupPlan) -> list[Step]:
    """The report lines of the group part: group, members, unknown probes."""
    steps = [Step("group", request.group, Outcome.EXISTS if plan.group else Outcome.CREATED)]
    to_add = {m.given for m in plan.to_add}
    added_as = {m.primary_smtp.casefold(): m.given for m in plan.to_add}
    for member in request.members:
        if member in plan.missing:
            steps.append(Step("member", member, Outcome.NOT_FOUND, plan.missing[member]))
        else:
            found = plan.resolved.get(member)
            nested = "a group: its members count" if found and found.recipient.is_security_group else ""
            first = added_as.get(found.primary_smtp.casefold()) if found else None
            if member not in to_add and first is not None:
                nested = f"the same mailbox as {first}, added by this run"
            steps.append(
                Step("member", member, Outcome.ADDED if member in to_add else Outcome.ALREADY, nested)
            )
    steps += [Step("member", address, Outcome.REMOVED) for address in plan.to_remove]
    for probe in request.probes:
        if probe in plan.missing:
            steps.append(Step("probe", probe, Outcome.NOT_FOUND, plan.missing[probe]))
    return steps


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


class Applier:
    """Runs the state-changing cmdlets, each recorded in the audit log with its parameters and result, and in
    `progress` as done (named by the plan's step)."""

    def __init__(self, session: ExchangeSession, audit: AuditLog, progress: Progress | None = None) -> None:
        self.session = session
        self.audit = audit
        self.progress = progress if progress is not None else Progress()

    def run(self, cmdlet: str, params: dict[str, Any], step: Step | None = None) -> None:
        label = change_label(step) if step is not None else cmdlet
        self.progress.begin([label])
        try:
            self.session.run(cmdlet, params)
        except CmdletError as exc:
            self.progress.finish([])
            self.audit.record(f"cmdlet:{cmdlet}", self.session.host, params, {"error": exc.message})
            raise
        except BaseException:
            # Ctrl-C, SIGTERM or a dropped connection while it ran: Exchange may have made the change. The audit
            # log says so, so that the undo (`policy remove --with-group`) knows roomsops may have made a group.
            with suppress(Exception):  # the interruption is what the run reports
                self.audit.record(f"cmdlet:{cmdlet}", self.session.host, params, {INTERRUPTED: MAY_HAVE_RUN})
            raise
        self.progress.finish([label])
        self.audit.record(f"cmdlet:{cmdlet}", self.session.host, params, "ok")

    def members(
        self,
        cmdlet: str,
        group_id: str,
        addresses: Sequence[str],
        labels: Sequence[str] | None = None,
        **extra: Any,
    ) -> list[CmdletFailure]:
        """Add or remove members in one pipeline; a failure names its member, and is returned, not raised.
        `labels` name each address's change in `progress`."""
        if not addresses:
            return []
        names = list(labels) if labels is not None else [f"{cmdlet} {a}" for a in addresses]
        statements = [
            (
                cmdlet,
                {"Identity": group_id, "Member": address, "BypassSecurityGroupManagerCheck": True, **extra},
            )
            for address in addresses
        ]
        self.progress.begin(names)
        result = self.session.run_batch(statements)
        outcomes = []
        for address, label, (_, params) in zip(addresses, names, statements, strict=True):
            failure = next(
                (f for f in result.failures if f.target and address.casefold() == f.target.casefold()), None
            )
            outcomes.append((label, params, failure))
        # Progress first: if the audit log fails, the report still knows what was made.
        self.progress.finish([label for label, _, f in outcomes if f is None or f.already_member])
        for _, params, failure in outcomes:
            self.audit.record(
                f"cmdlet:{cmdlet}", self.session.host, params, {"error": failure.message} if failure else "ok"
            )
        return result.failures

    def each(self, cmdlet: str, statements: Sequence[tuple[str, dict[str, Any]]]) -> list[CmdletFailure]:
        """One cmdlet per (target, parameters), all in one pipeline (`rooms check --fix`); each audited with its
        own result (a failure names its target), and noted in `progress` as "<target>: <cmdlet>"; failures
        returned, not raised."""
        labels = {target: f"{target}: {cmdlet}" for target, _ in statements}
        self.progress.begin(labels.values())
        result = self.session.run_batch([(cmdlet, params) for _, params in statements])
        failed = {f.target.casefold() for f in result.failures if f.target}
        self.progress.finish([label for target, label in labels.items() if target.casefold() not in failed])
        attributed: set[int] = set()
        for target, params in statements:
            failure = next(
                (f for f in result.failures if f.target and f.target.casefold() == target.casefold()), None
            )
            if failure is not None:
                attributed.add(id(failure))
            self.audit.record(
                f"cmdlet:{cmdlet}", self.session.host, params, {"error": failure.message} if failure else "ok"
            )
        for failure in result.failures:
            if id(failure) not in attributed:  # no statement of its own: recorded, not lost
                self.audit.record(f"cmdlet:{cmdlet}", self.session.host, {}, {"error": failure.message})
        return result.failures


def wait_for_group(session: ExchangeSession, name: str, attempts: int = 5, delay: float = 2.0) -> Group:
    """A just-created group may not be found at once (directory replication): retry briefly."""
    for attempt in range(attempts):
        group = exchange.find_group(session, name)
        if group is not None:
            return group
        if attempt + 1 < attempts:
            time.sleep(delay)
    raise OperationFailed(
        f"group {name} was created but cannot be found yet",
        "directory replication is slow; run the same command again in a few minutes",
    )


def apply_group(
    apply: Applier, request: GroupRequest, plan: GroupPlan, steps: list[Step]
) -> tuple[Group, list[Step]]:
    """Create the group if needed, add and remove members; returns the group and the steps with failures."""
    group = plan.group
    if group is None:
        created = Step("group", request.group, Outcome.CREATED)
        try:
            apply.run("New-DistributionGroup", {"Name": request.group, "Type": "Security"}, created)
        except CmdletError as exc:
            if not any(f.matches("AlreadyExists", "already being used") for f in exc.failures):
                raise
            raise _name_taken(apply, request.group) from None
        group = wait_for_group(apply.session, request.group)
        # Its object id: a later `policy remove --with-group` removes this group, not one someone else makes
        # under the same name.
        group_history.record_made(apply.audit, group)
    failures = apply.members(
        "Add-DistributionGroupMember",
        group.object_id,
        [m.primary_smtp for m in plan.to_add],
        [change_label(Step("member", m.given, Outcome.ADDED)) for m in plan.to_add],
    )
    if any(not f.already_member for f in failures):
        # --exact adds before it removes: when an addition failed, removing the old members could leave the group
        # (and the policy or scope over it) without a mailbox. Keep them; the report says which add failed.
        return group, _kept(mark_failures(steps, failures, plan), plan.to_remove)
    failures += apply.members(
        "Remove-DistributionGroupMember",
        group.object_id,
        plan.to_remove,
        [change_label(Step("member", a, Outcome.REMOVED)) for a in plan.to_remove],
        Confirm=False,
    )
    return group, mark_failures(steps, failures, plan)


def _kept(steps: list[Step], not_removed: Sequence[str]) -> list[Step]:
    """The removals a failed addition stopped, reported as kept members."""
    keep = {a.casefold() for a in not_removed}
    why = "not removed: an addition failed; run the command again once it can be added"
    return [
        Step("member", s.target, Outcome.KEPT, why)
        if s.step == "member" and s.outcome is Outcome.REMOVED and s.target.casefold() in keep
        else s
        for s in steps
    ]


def _name_taken(apply: Applier, name: str) -> OperationFailed:
    """New-DistributionGroup refused the name: another administrator made the group since this run read the
    tenant (run again: it plans with that group), or another object has the name (use another group)."""
    done = "; what was done before: " + ", ".join(apply.progress.done) if apply.progress.done else ""
    nothing = "" if done else "; nothing was changed"
    if exchange.find_group(apply.session, name) is not None:
        return OperationFailed(
            f"the group {name} was made meanwhile (by another administrator or run){nothing}{done}",
            "run the same command again: it reads the group now there and changes only what is missing",
            code="group_made_meanwhile",
        )
    return OperationFailed(
        f"the name {name} is already used by another object in Exchange Online, not a group{nothing}{done}",
        "give the group another name (--group), then run the command again",
        code="group_name_taken",
    )


def refuse_empty_group(
    request: GroupRequest, steps: Sequence[Step], what: str, remove_group: str | None = None
) -> None:
    """After the member changes: a group left without a member must not get the policy or scope (`what`),
    which would lock the app out of every mailbox. Exit 1, saying what is in place (the group, if this run created
    it: the one line is all a `--json` error document holds) and how to go on. `remove_group`: the roomsops
    command that removes a group this run made (else the cmdlet)."""
    if any(s.step == "member" and s.outcome in (Outcome.ADDED, Outcome.ALREADY) for s in steps):
        return
    failed = "; ".join(f"{s.target}: {s.detail}" for s in steps if s.step == "member" and s.failed)
    created = any(s.step == "group" and s.outcome is Outcome.CREATED for s in steps)
    remove = (
        f"'{remove_group}'"
        if created and remove_group
        else f"Remove-DistributionGroup -Identity {shellword(request.group)}"
    )
    raise OperationFailed(
        f"group {request.group}{', created by this run,' if created else ''} has no members after the changes "
        f"({failed or 'none could be added'}); the {what} was not created, so the app is not locked out",
        f"fix the members (Add-DistributionGroupMember -Identity {shellword(request.group)}) and run the command "
        f"again, or remove the group{' this run created' if created else ''} ({remove})",
        code="group_empty",
    )


def mark_failures(steps: list[Step], failures: Sequence[CmdletFailure], plan: GroupPlan) -> list[Step]:
    """A member that could not be added or removed: already in (fine) or a real failure."""
    by_address = {m.primary_smtp.casefold(): m.given for m in plan.to_add}
    # Every address given for the mailbox (its primary address and aliases given beside it) shares its result.
    primary_of = {given.casefold(): m.primary_smtp.casefold() for given, m in plan.resolved.items()}
    out = list(steps)
    for failure in failures:
        target = (failure.target or "").casefold()
        given = by_address.get(target, failure.target or "?")
        for index, step in enumerate(out):
            names = {given.casefold(), target}
            if step.step == "member" and (
                step.target.casefold() in names or primary_of.get(step.target.casefold()) == target
            ):
                outcome = Outcome.ALREADY if failure.already_member else Outcome.FAILED
                out[index] = Step(
                    "member", step.target, outcome, "" if outcome is Outcome.ALREADY else failure.message
                )
    return out

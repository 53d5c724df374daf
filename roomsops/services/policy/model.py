"""What the `policy` service talks in: requests, the steps of a run and their one set of outcomes, the access
test's record, and the notices both engines (application access policies, RBAC for Applications) give."""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roomsops.adapters.exo.objects import Recipient
from roomsops.core.addresses import validate_address
from roomsops.core.errors import InputError, OperationFailed
from roomsops.core.templates import shellword
from roomsops.core.vocabulary import ACCESS_RIGHTS

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
CACHE_NOTICE = (
    "RBAC for Applications changes reach EWS only when Exchange's permission cache refreshes (30 minutes to "
    "2 hours), even when Test-ServicePrincipalAuthorization already shows them."
)
CONFLICT_NOTICE = "Nothing was changed: an existing RBAC object conflicts (see the step marked conflict)."

Confirm = Callable[[str], None]


class Outcome(enum.StrEnum):
    """What happened to one object of a run (the same words in every engine's report and JSON)."""

    CREATED = "created"
    EXISTS = "exists"
    ADDED = "added"
    ALREADY = "already"
    REMOVED = "removed"
    REPLACED = "replaced"
    KEPT = "kept"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    MISMATCH = "mismatch"

    @property
    def is_change(self) -> bool:
        """The tenant was (or in a plan: would be) changed."""
        return self in _CHANGES

    @property
    def failed(self) -> bool:
        return self in _FAILURES


_CHANGES = frozenset({Outcome.CREATED, Outcome.ADDED, Outcome.REMOVED, Outcome.REPLACED})
_FAILURES = frozenset({Outcome.NOT_FOUND, Outcome.FAILED, Outcome.MISMATCH, Outcome.CONFLICT})


@dataclass(frozen=True)
class Step:
    """One line of the per-step report: what, which object, what happened."""

    step: str  # group | member | probe | policy | principal | scope | role | old
    target: str
    outcome: Outcome
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    def line(self, dry_run: bool, width: int) -> str:
        """`  member  x@y: would be added (detail)`: a plan says what would change, a run what did."""
        outcome = f"would be {self.outcome}" if dry_run and self.outcome.is_change else str(self.outcome)
        return f"  {self.step:{width}} {self.target}: {outcome}" + (
            f" ({self.detail})" if self.detail else ""
        )


def change_label(step: Step) -> str:
    """How a change is named in the report of an interrupted run: `member x@y: added`."""
    return f"{step.step} {step.target}: {step.outcome}"


MAY_HAVE_RUN = "interrupted while it ran: it may have been made"


@dataclass
class Progress:
    """The changes a tenant-changing run planned, those it made, and those running when it stopped: what an
    interrupted run (SIGTERM, Ctrl-C, a dropped WinRM connection) reports as done and not done."""

    planned: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)

    def expect(self, steps: Iterable[Step]) -> None:
        """The plan's changes, in order (steps that change nothing are not part of it)."""
        for step in steps:
            if step.outcome.is_change:
                self._plan(change_label(step))

    def _plan(self, label: str) -> None:
        if label not in self.planned:
            self.planned.append(label)

    def begin(self, labels: Iterable[str]) -> None:
        self.running = list(labels)
        for label in self.running:
            self._plan(label)

    def finish(self, made: Iterable[str]) -> None:
        self.done += [label for label in made if label not in self.done]
        self.running = []

    @property
    def not_done(self) -> list[str]:
        return [
            f"{label} ({MAY_HAVE_RUN})" if label in self.running else label
            for label in self.planned
            if label not in self.done
        ]


def changed(steps: Sequence[Step]) -> bool:
    return any(s.outcome.is_change for s in steps)


def unchanged_line(steps: Sequence[Step], dry_run: bool, ok: bool) -> list[str]:
    """The closing line of a run that found everything in place."""
    if steps and not changed(steps) and not dry_run and ok:
        return ["unchanged: everything was already in place"]
    return []


@dataclass(frozen=True)
class Mailbox:
    """A mailbox found for an address as it was given (which may be an alias)."""

    given: str
    recipient: Recipient

    @property
    def primary_smtp(self) -> str:
        return self.recipient.primary_smtp

    @property
    def exchange_guid(self) -> str:
        return self.recipient.exchange_guid


@dataclass(frozen=True)
class AccessTest:
    """One mailbox's access result for the app, from either engine's test cmdlet."""

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


# --- requests ----------------------------------------------------------------------------------------------------


def default_description(group: str, access_right: str) -> str:
    if access_right == "DenyAccess":
        return f"Deny this app access to members of distribution group {group}."
    return f"Restrict this app to members of distribution group {group}."


#: Get-DistributionGroup -Identity (and the other cmdlets' -Identity) reads these as wildcards: `SyncIs*` could
#: pick another group, or several, and the policy would follow it.
GROUP_WILDCARDS = "*?["
#: Control, format (zero-width, direction overrides), surrogate and private-use characters, line and paragraph
#: separators: nothing an admin sees in a group name.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def validate_group(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 64 or any(ord(ch) < 32 for ch in text):
        raise InputError(f"group name {name!r} is not valid", "use 1 to 64 printable characters")
    hidden = next((ch for ch in text if unicodedata.category(ch) in INVISIBLE_CATEGORIES), None)
    if hidden is not None:
        raise InputError(
            f"group name {name!r} contains the invisible or control character U+{ord(hidden):04X}",
            "type the name without it (a zero-width or direction character makes a group that looks like "
            "another one)",
        )
    wildcard = next((ch for ch in text if ch in GROUP_WILDCARDS), None)
    if wildcard is not None:
        raise InputError(
            f"group name {name!r} contains the wildcard {wildcard!r}",
            "give the group's exact name (Exchange would read * ? [ as a pattern and could match another group)",
        )
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


def _refuse_overlap(members: Sequence[str], probes: Sequence[str]) -> None:
    overlap = {m.casefold() for m in members} & {p.casefold() for p in probes}
    if overlap:
        raise InputError(
            f"{sorted(overlap)[0]} is both a member and a --probe",
            "a probe is a mailbox that must stay outside the group",
        )


@dataclass(frozen=True)
class GroupRequest:
    """The part of a restriction both engines share: the group, its members, the probes outside it."""

    group: str
    members: tuple[str, ...]
    probes: tuple[str, ...] = ()
    exact: bool = False
    force: bool = False
    #: A member may be a mail-enabled security group (nested): an application access policy's scope takes
    #: "users or groups, including nested groups"; RBAC's MemberOfGroup only direct members.
    nested_groups: bool = False
    #: `--from-persons`: the members taken from the ROOMS database, (address, "person" | "room"): a remedy for
    #: one no mailbox has sends to its record, not to the command line.
    recorded: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RestrictRequest:
    """`policy restrict --engine aap`: an application access policy over a group."""

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
    #: `--from-persons`: the members taken from the ROOMS database, (address, "person" | "room"): a remedy for
    #: one no mailbox has sends to its record, not to the command line.
    recorded: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.access_right not in ACCESS_RIGHTS:
            raise InputError(
                f"access right {self.access_right!r} is not known", "use RestrictAccess or DenyAccess"
            )
        _refuse_overlap(self.members, self.probes)

    @property
    def effective_description(self) -> str:
        return self.description or default_description(self.group, self.access_right)

    @property
    def group_request(self) -> GroupRequest:
        return GroupRequest(
            self.group,
            self.members,
            self.probes,
            self.exact,
            self.force,
            nested_groups=True,
            recorded=self.recorded,
        )


@dataclass(frozen=True)
class RbacRequest:
    """`policy restrict --engine rbac`: a management scope over a group and the app's EWS role assignment."""

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
    #: The role assigned over the scope: "Application EWS.AccessAsApp" (EWS persons) or, `--permission graph`,
    #: "Application Calendars.ReadWrite" (Microsoft365 persons, over Microsoft Graph).
    role: str = "Application EWS.AccessAsApp"
    #: `--from-persons`: the members taken from the ROOMS database, (address, "person" | "room"): a remedy for
    #: one no mailbox has sends to its record, not to the command line.
    recorded: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _refuse_overlap(self.members, self.probes)
        if self.scope is not None:
            validate_group(self.scope)  # the same rules: 1 to 64 printable characters

    @property
    def scope_name(self) -> str:
        return self.scope or self.group

    @property
    def group_request(self) -> GroupRequest:
        return GroupRequest(
            self.group, self.members, self.probes, self.exact, self.force, recorded=self.recorded
        )


@dataclass(frozen=True)
class MigrateRequest:
    """`policy migrate`: the app's application access policies to RBAC for Applications."""

    app_id: str
    sp_object_id: str | None = None
    probes: tuple[str, ...] = ()
    include_deny: bool = False  # turn DenyAccess policies into a negated-membership scope (unverified)
    dry_run: bool = False
    remove_old: bool = False


def check_failed(
    failure: OperationFailed, steps: Sequence[Step], expected: dict[str, str], test_options: str = ""
) -> OperationFailed:
    """The error of a run whose every change was made and only the check after them (Test-ApplicationAccessPolicy,
    Test-ServicePrincipalAuthorization) failed: nothing is half-done, so no undo; the remedy is the check itself,
    `roomsops policy test` with each expected answer (`test_options`: the engine's and the app's, e.g. `--engine rbac
    --app-id APP`: the check is of the app the run restricted, which need not be the configured sync app)."""
    made = [change_label(s) for s in steps if s.outcome.is_change]
    by_answer: dict[str, list[str]] = {}
    for mailbox, answer in expected.items():
        by_answer.setdefault(answer, []).append(mailbox)
    options = f" {test_options}" if test_options else ""
    commands = [
        f"roomsops policy test {' '.join(shellword(m) for m in mailboxes)}{options} --expect {answer}"
        for answer, mailboxes in by_answer.items()
    ]
    return OperationFailed(
        f"every change was made ({', '.join(made) or 'everything was already in place'}), then the check after "
        f"them failed: {failure.message}",
        "nothing is left half-done; check the result again with "
        + " and ".join(f"'{c}'" for c in commands or ["roomsops policy test EMAIL"]),
        code="check_failed",
    )

"""The access test of both engines: for each mailbox, may the app open it? Test-ApplicationAccessPolicy
(application access policies) or Test-ServicePrincipalAuthorization (RBAC for Applications), every mailbox in
one pipeline, answered in the one shape `AccessTest`; and what EWS really does (`with_live`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from roomsops.adapters.entra.tokens import FULL_ACCESS
from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.errors import CmdletFailure
from roomsops.adapters.exo.objects import AccessAnswer, Authorization
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.results import Result
from roomsops.services.policy.group import resolve_mailboxes
from roomsops.services.policy.model import CACHE_NOTICE, PROPAGATION_NOTICE, AccessTest, Mailbox

if TYPE_CHECKING:
    from roomsops.services.diagnose.probe import Probe

EWS_ROLE = "Application EWS.AccessAsApp"
#: The RBAC for Applications role of Microsoft Graph's calendar access (Microsoft365 persons).
GRAPH_ROLE = "Application Calendars.ReadWrite"
#: `--permission`: which role a scope grants.
ROLES = {"ews": EWS_ROLE, "graph": GRAPH_ROLE}


# --- Test-ApplicationAccessPolicy ---------------------------------------------------------------------------------


def _align(
    identities: Sequence[str], answers: exchange.Answers[AccessAnswer]
) -> list[AccessAnswer | CmdletFailure] | None:
    """Statements run in order and each yields one object or one error naming its identity: pair them up.

    None when the answer does not have that shape (then the caller resolves mailboxes first).
    """
    if len(answers.objects) + len(answers.failures) != len(identities):
        return None
    failures = {(f.target or "").casefold(): f for f in answers.failures}
    if len(failures) != len(answers.failures) or not set(failures) <= {i.casefold() for i in identities}:
        return None
    objects = iter(answers.objects)
    return [failures.get(i.casefold()) or next(objects) for i in identities]


def check_access(
    session: ExchangeSession, app_id: str, mailboxes: Sequence[str], expected: dict[str, str] | None = None
) -> list[AccessTest]:
    """Test-ApplicationAccessPolicy for every mailbox in one pipeline (a second only if answers can't be paired)."""
    expected = expected or {}
    aligned = _align(mailboxes, exchange.access_policy_answers(session, app_id, mailboxes))
    if aligned is None:
        return _check_access_resolved(session, app_id, mailboxes, expected)
    tests = []
    for address, answer in zip(mailboxes, aligned, strict=True):
        if isinstance(answer, CmdletFailure):
            tests.append(AccessTest(address, app_id, "NotFound", expected.get(address), answer.message))
        else:
            tests.append(
                AccessTest(
                    address, answer.app_id or app_id, answer.access_check_result, expected.get(address)
                )
            )
    return tests


def _check_access_resolved(
    session: ExchangeSession, app_id: str, mailboxes: Sequence[str], expected: dict[str, str]
) -> list[AccessTest]:
    """Pair answers through the mailboxes' ExchangeGuid: resolve first, then test (two pipelines)."""
    found, missing = resolve_mailboxes(session, mailboxes)
    tests: dict[str, AccessTest] = {
        a: AccessTest(a, app_id, "NotFound", expected.get(a), missing[a]) for a in missing
    }
    targets = [found[a] for a in mailboxes if a in found]
    answers = exchange.access_policy_answers(session, app_id, [m.primary_smtp for m in targets])
    by_guid = {a.mailbox_id: a for a in answers.objects}
    for mailbox in targets:
        answer = by_guid.get(mailbox.exchange_guid)
        want = expected.get(mailbox.given)
        if answer is None:
            tests[mailbox.given] = AccessTest(
                mailbox.given, app_id, "NotFound", want, "the test returned nothing"
            )
        else:
            tests[mailbox.given] = AccessTest(
                mailbox.given, answer.app_id or app_id, answer.access_check_result, want
            )
    return [tests[a] for a in mailboxes]


# --- Test-ServicePrincipalAuthorization ---------------------------------------------------------------------------


def _verdict(rows: Sequence[Authorization], role: str = EWS_ROLE) -> tuple[str, str]:
    """Granted when any assignment of `role` has the mailbox in scope (assignments add up)."""
    held = [r for r in rows if r.role_name.casefold() == role.casefold()]
    covering = [r.allowed_resource_scope for r in held if r.in_scope]
    if covering:
        return "Granted", f"in scope {', '.join(covering)}"
    if held:
        return "Denied", f"outside {', '.join(r.allowed_resource_scope for r in held)}"
    return "Denied", f"the app has no {role} role assignment"


def _chunks(rows: list[Authorization], count: int) -> list[list[Authorization]] | None:
    """Test-ServicePrincipalAuthorization names no mailbox in its rows: statements answer in order, one row per
    assignment each, so equal runs of role names pair the rows with the mailboxes; None when they do not."""
    if count == 0 or len(rows) % count:
        return None
    size = len(rows) // count
    chunks = [rows[i * size : (i + 1) * size] for i in range(count)]
    names = [[r.role_name for r in chunk] for chunk in chunks]
    return chunks if all(n == names[0] for n in names) else None


def check_rbac_access(
    session: ExchangeSession,
    app_id: str,
    sp_id: str,
    mailboxes: Sequence[str],
    expected: dict[str, str] | None = None,
    resolved: dict[str, Mailbox] | None = None,
    role: str = EWS_ROLE,
) -> list[AccessTest]:
    """Test-ServicePrincipalAuthorization -Resource for every mailbox, judged for `role`: one pipeline (plus Get-Mailbox unless
    the mailboxes are already resolved); one pipeline per mailbox only if the answers cannot be paired."""
    expected = expected or {}
    missing: dict[str, str] = {}
    if resolved is None:
        resolved, missing = resolve_mailboxes(session, mailboxes)
    targets = [a for a in mailboxes if a in resolved]
    resources = [resolved[a].primary_smtp for a in targets]
    answers = exchange.authorization_answers(session, sp_id, resources)
    chunks = None if answers.failures else _chunks(answers.objects, len(targets))
    if chunks is None and targets:
        chunks = [exchange.authorization_answers(session, sp_id, [r]).objects for r in resources]
    by_address = dict(zip(targets, chunks or [], strict=True))
    tests = []
    for address in mailboxes:
        if address not in by_address:
            detail = missing.get(address, f"no mailbox has the address {address}")
            tests.append(AccessTest(address, app_id, "NotFound", expected.get(address), detail))
            continue
        result, detail = _verdict(by_address[address], role)
        tests.append(AccessTest(address, app_id, result, expected.get(address), detail))
    return tests


# --- what EWS does ------------------------------------------------------------------------------------------------


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
    """`policy test`: each mailbox's access result, and with --live what EWS does."""

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
        # With --live, a probe that could not tell (a wrong sync-app secret, EWS switched off, no such
        # mailbox) is a failure too: the table would otherwise claim a verification that did not happen.
        probed = not self.live or all(t.live in ("Granted", "Denied") for t in self.tests)
        return probed and all(t.matches and t.access_check_result != "NotFound" for t in self.tests)

    def lines(self) -> list[str]:
        width = max((len(t.mailbox) for t in self.tests), default=7)
        # With --live the result is padded, so that "EWS now" and the values below it share a column.
        result_width = len("AccessCheckResult") if self.live else 0
        header = f"{'Mailbox'.ljust(width)}  {'AppId'.ljust(36)}  AccessCheckResult"
        out = [header + ("  EWS now" if self.live else "")]
        for t in self.tests:
            mark = "" if t.matches else f"  (expected {t.expected})"
            detail = f"  {t.detail}" if t.access_check_result == "NotFound" and t.detail else ""
            live = f"  {t.live}" if self.live else ""
            result = t.access_check_result.ljust(result_width)
            out.append(f"{t.mailbox.ljust(width)}  {t.app_id.ljust(36)}  {result}{live}{mark}{detail}")
        return out


@dataclass(frozen=True)
class RbacTestResult(PolicyTestResult):
    """`policy test --engine rbac`: the AAP test table, answered by Test-ServicePrincipalAuthorization."""

    engine: str = "rbac"
    service_principal: str = ""
    tenant_wide_grant: bool | None = None
    #: The role tested: Application EWS.AccessAsApp, or (--permission graph) Application Calendars.ReadWrite.
    role: str = EWS_ROLE

    def rbac_notes(self) -> tuple[str, ...]:
        notes: list[str] = []
        service = "Graph" if self.role == GRAPH_ROLE else "EWS"
        wider = [t.mailbox for t in self.tests if t.live == "Granted" and t.access_check_result == "Denied"]
        if wider:
            held = "Calendars.ReadWrite" if self.role == GRAPH_ROLE else FULL_ACCESS
            why = (
                f"the sync app holds the tenant-wide {held}"
                if self.tenant_wide_grant
                else "a tenant-wide Entra grant or a removed role assignment still in the permission cache"
            )
            notes.append(f"{service} still opens {', '.join(wider)} although RBAC denies it: {why}.")
        waiting = [
            t.mailbox
            for t in self.tests
            if t.access_check_result == "Granted" and t.live not in (None, "Granted")
        ]
        if waiting:
            notes.append(f"{service} does not open {', '.join(waiting)} yet: {CACHE_NOTICE}")
        return tuple(notes)

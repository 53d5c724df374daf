"""`doctor`: every check an administrator would run once, each independent of the others' outcome where
possible: config, the persons per sync mode, token (and the Graph token when a person syncs over Graph), admin
app ≠ sync app, Exchange connection, EWS readiness, a probe of the mailbox over its own service (EWS or Graph)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.exo.session import DROPPED, dropped_while_reading
from roomsops.core.errors import ConnectError, OperationFailed, RoomsopsError
from roomsops.core.results import Check, CheckReport, Status
from roomsops.core.settings import Settings
from roomsops.core.vocabulary import EWS_SYNC_MODES
from roomsops.services.apps import admin_app_problem
from roomsops.services.diagnose.ews_access import MIGRATE_COMMAND, EwsStatus, read_ews_status
from roomsops.services.diagnose.graph_test import (
    graph_connection_check,
    graph_sync_test,
    graph_token_checks,
    mode_of,
    reached_over_graph,
    uses_graph,
)
from roomsops.services.diagnose.probe import alias_first, probe

if TYPE_CHECKING:
    from roomsops.adapters.graph.client import GraphClient


def summarize(name: str, report: CheckReport) -> Check:
    failed = [c for c in report.checks if c.status is Status.FAILED]
    if failed:
        first = failed[0]
        names = ", ".join(c.name for c in failed)
        return Check(name, Status.FAILED, f"{names}: {first.message}", first.remedy)
    warned = [c.name for c in report.checks if c.status is Status.WARNING]
    return Check(
        name,
        Status.WARNING if warned else Status.OK,
        f"warnings: {', '.join(warned)}" if warned else f"{len(report.checks)} checks passed",
    )


def _modes_line(settings: Settings, modes: Mapping[str, str]) -> Check:
    """How many persons are in each sync mode, and over which service the sync reaches them."""

    def service(mode: str) -> str:
        return "Graph" if uses_graph(settings, mode) else "EWS" if mode in EWS_SYNC_MODES else "not synced"

    counts = Counter(modes.values())
    return Check(
        "sync modes",
        Status.OK,
        ", ".join(f"{n} {mode} ({service(mode)})" for mode, n in sorted(counts.items())),
    )


def _ews_readiness(
    status: EwsStatus,
    modes: Mapping[str, str] | None,
    ews_persons: list[str],
    graph_persons: list[str],
    left_on_ews: list[str],
) -> Check:
    if modes and not ews_persons and not left_on_ews:
        # Nobody syncs over EWS any more: its switches are the tenant's business, not the sync's.
        return Check(
            "EWS readiness",
            Status.OK,
            f"no person syncs over EWS ({len(graph_persons)} over Microsoft Graph); "
            f"{status.verdict_for(ews_needed=False)}",
        )
    level = (
        Status.OK
        if status.switches_ok and status.ews_enabled is True
        else (Status.WARNING if status.switches_ok else Status.FAILED)
    )
    moving = (
        f"; or move the {len(ews_persons)} EWS person(s) to Graph: {MIGRATE_COMMAND}" if ews_persons else ""
    )
    if left_on_ews:
        # Persons who left the sync whose meetings are linked by EWS ids: only EWS cancels or purges them.
        moving += (
            f"; {len(left_on_ews)} person(s) who left the sync have meetings only EWS reaches "
            f"({', '.join(left_on_ews[:5])}): {MIGRATE_COMMAND} moves their links"
        )
    return Check(
        "EWS readiness",
        level,
        status.verdict,
        None if level is Status.OK else f"roomsops ews status; roomsops ews allow{moving}",
    )


@dataclass(frozen=True)
class DoctorReport(CheckReport):
    """A check report whose text ends by naming each failing check."""

    def lines(self) -> list[str]:
        failing = [c.name for c in self.checks if c.status is Status.FAILED]
        return [f"failing: {', '.join(failing)}"] if failing else ["all checks passed"]


def doctor(
    config_report: CheckReport,
    provider: TokenProvider | None,
    provider_error: RoomsopsError | None,
    sync_app_id: str | None,
    settings: Settings,
    open_admin: Callable[[], Any],
    ews_client: Callable[[], EwsClient],
    mailbox: str | None,
    today: date,
    rooms_check: Callable[[Any], Check] | None = None,
    modes: Mapping[str, str] | None = None,
    graph_provider: Callable[[], TokenProvider] | None = None,
    left: Mapping[str, tuple[str, str, int]] | None = None,
    graph_client: Callable[[], GraphClient] | None = None,
    primaries: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> DoctorReport:
    """Every check once, each independent of the others' outcome where possible. `rooms_check` gives the
    summary line of `rooms check` in the same admin session (the caller picks the rooms).

    Per sync mode (`modes`: the persons' {email: mode}, None when unread): a line counting the persons per mode
    and service; the Graph token and its roles when a person syncs over Graph (Microsoft365, or `sync.backend`
    graph); EWS readiness judged by whether a person still needs EWS; the mailbox probed over its own service."""
    checks = [summarize("config", config_report)]
    graph_persons = [e for e, m in (modes or {}).items() if uses_graph(settings, m)]
    ews_persons = [e for e, m in (modes or {}).items() if m in EWS_SYNC_MODES and not uses_graph(settings, m)]
    unreachable = False  # a check could not connect or authenticate: exit 3
    if modes:
        checks.append(_modes_line(settings, modes))
    if provider_error is not None or provider is None:
        error = provider_error or RoomsopsError("no credentials")
        checks.append(Check("token", Status.FAILED, error.message, error.remedy))
    else:
        try:
            token = provider.token()
            checks.append(Check("token", Status.OK, f"roles: {', '.join(token.roles) or '(none)'}"))
        except RoomsopsError as exc:
            checks.append(Check("token", Status.FAILED, exc.message, exc.remedy))
            unreachable = unreachable or isinstance(exc, ConnectError)
    graph_used = bool(graph_persons) or str(settings.sync.backend) == "graph"
    mailbox_mode = mode_of(modes, mailbox) if mailbox else None
    # A person who left the sync is reached over the service of their links (Graph's ids: over Graph).
    probe_graph = mailbox is not None and reached_over_graph(settings, modes, left, mailbox)
    if (graph_used or probe_graph) and provider is not None and graph_provider is not None:
        checks += graph_token_checks(graph_provider(), settings.policy.engine)
    problem = admin_app_problem(settings, sync_app_id)
    if problem is not None:
        checks.append(Check("admin app", Status.FAILED, problem.message, problem.remedy))
    else:
        admin_app = settings.exo.app_id
        checks.append(
            Check("admin app", Status.OK, f"admin app {admin_app or '(interactive sign-in)'} ≠ sync app")
        )
    status: EwsStatus | None = None
    rooms_line: Check | None = None
    if problem is not None:
        # Never sign in as the sync app, not even to check: the Exchange checks are not run.
        checks.append(
            Check(
                "Exchange connection",
                Status.WARNING,
                "not run (nor the EWS readiness and rooms checks): exo.app_id is the sync app's id",
                problem.remedy,
            )
        )
    else:
        status, rooms_line, lost = _admin_checks(
            settings, open_admin, sync_app_id, mailbox, probe_graph, today, rooms_check, checks
        )
        unreachable = unreachable or lost
    if status is not None:
        left_on_ews = sorted(e for e, (_, service, n) in (left or {}).items() if service == "ews" and n)
        checks.append(_ews_readiness(status, modes, ews_persons, graph_persons, left_on_ews))
    if rooms_line is not None:
        checks.append(rooms_line)
    can_probe = provider is not None and provider_error is None
    probes, lost = _probes(
        settings,
        mailbox,
        mailbox_mode,
        graph_persons,
        can_probe,
        ews_client,
        graph_provider,
        graph_client,
        probe_graph,
        primaries,
    )
    checks += probes
    unreachable = unreachable or lost
    return DoctorReport(subject="roomsops doctor", checks=tuple(checks), unreachable=unreachable)


def _admin_checks(
    settings: Settings,
    open_admin: Callable[[], Any],
    sync_app_id: str | None,
    mailbox: str | None,
    probe_graph: bool,
    today: date,
    rooms_check: Callable[[Any], Check] | None,
    checks: list[Check],
) -> tuple[EwsStatus | None, Check | None, bool]:
    """The checks made over the admin connection (appended to `checks`): (EWS status, rooms line, whether
    it could not connect)."""
    status: EwsStatus | None = None
    rooms_line: Check | None = None
    unreachable = False
    try:
        with open_admin() as session:
            checks.append(
                Check("Exchange connection", Status.OK, f"connected through {settings.powershell.host}")
            )
            if sync_app_id:
                shown = [mailbox] if mailbox else []
                # A Graph person's mailbox may have EWS off: judged per mode, not as an EWS mailbox.
                status = read_ews_status(
                    session, sync_app_id, shown, today, over_graph=shown if probe_graph else ()
                )
            if rooms_check is not None:
                rooms_line = rooms_check(session)
    except RoomsopsError as exc:
        if isinstance(exc, OperationFailed) and exc.code == DROPPED:
            exc = dropped_while_reading(exc)  # doctor only reads: a drop is "could not connect", exit 3
        checks.append(Check("Exchange connection", Status.FAILED, exc.message, exc.remedy))
        unreachable = unreachable or isinstance(exc, ConnectError)
    return status, rooms_line, unreachable


def _probes(
    settings: Settings,
    mailbox: str | None,
    mode: str | None,
    graph_persons: list[str],
    can_probe: bool,
    ews_client: Callable[[], EwsClient],
    graph_provider: Callable[[], TokenProvider] | None,
    graph_client: Callable[[], GraphClient] | None,
    over_graph: bool = False,
    primaries: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> tuple[list[Check], bool]:
    """The mailbox probed over its own service; without one, Graph's connection when a person is reached over
    Graph (as the Exchange connection is checked). (the checks, whether one could not connect: exit 3)."""
    checks: list[Check] = []
    unreachable = False
    if mailbox is None and can_probe and graph_persons and graph_client is not None:
        check, unreachable = graph_connection_check(settings, graph_client, sorted(graph_persons)[0])
        checks.append(check)
    if mailbox is None:
        checks.append(Check("EWS probe", Status.WARNING, "no mailbox to probe", "pass --mailbox EMAIL"))
    elif can_probe and over_graph and graph_provider is not None and graph_client is not None:
        report = graph_sync_test(settings, graph_provider(), graph_client, mailbox, mode=mode)
        unreachable = not report.ok and report.unreachable
        checks.append(summarize("Graph probe", report))
    elif can_probe:
        checks.append(alias_first(probe(ews_client(), mailbox), primaries).check("EWS probe"))
    return checks, unreachable

"""`doctor`: every check an administrator would run once, each independent of the others' outcome where
possible: config, token, admin app ≠ sync app, Exchange connection, EWS readiness, an EWS probe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.adapters.ews.client import EwsClient
from roomsops.adapters.exo.session import DROPPED, dropped_while_reading
from roomsops.core.errors import ConnectError, OperationFailed, RoomsopsError
from roomsops.core.results import Check, CheckReport, Status
from roomsops.core.settings import Settings
from roomsops.services.apps import admin_app_problem
from roomsops.services.diagnose.ews_access import EwsStatus, read_ews_status
from roomsops.services.diagnose.probe import probe


def _summarize(name: str, report: CheckReport) -> Check:
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
) -> DoctorReport:
    """Every check once, each independent of the others' outcome where possible. `rooms_check` gives the
    summary line of `rooms check` in the same admin session (the caller picks the rooms)."""
    checks = [_summarize("config", config_report)]
    unreachable = False  # a check could not connect or authenticate: exit 3
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
    try:
        with open_admin() as session:
            checks.append(
                Check("Exchange connection", Status.OK, f"connected through {settings.powershell.host}")
            )
            if sync_app_id:
                status = read_ews_status(session, sync_app_id, [mailbox] if mailbox else [], today)
            if rooms_check is not None:
                rooms_line = rooms_check(session)
    except RoomsopsError as exc:
        if isinstance(exc, OperationFailed) and exc.code == DROPPED:
            exc = dropped_while_reading(exc)  # doctor only reads: a drop is "could not connect", exit 3
        checks.append(Check("Exchange connection", Status.FAILED, exc.message, exc.remedy))
        unreachable = unreachable or isinstance(exc, ConnectError)
    if status is not None:
        level = (
            Status.OK
            if status.ok and status.ews_enabled is True
            else (Status.WARNING if status.ok else Status.FAILED)
        )
        checks.append(
            Check(
                "EWS readiness",
                level,
                status.verdict,
                None if level is Status.OK else "roomsops ews status; roomsops ews allow",
            )
        )
    if rooms_line is not None:
        checks.append(rooms_line)
    if mailbox is None:
        checks.append(Check("EWS probe", Status.WARNING, "no mailbox to probe", "pass --mailbox EMAIL"))
    elif provider is not None and provider_error is None:
        checks.append(probe(ews_client(), mailbox).check("EWS probe"))
    return DoctorReport(subject="roomsops doctor", checks=tuple(checks), unreachable=unreachable)

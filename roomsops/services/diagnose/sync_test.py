"""ROOMS' "Synchronisationstest" as steps: token, EWS connection, impersonation, primary SMTP address,
calendar folder, pull subscription. The first failing step names the cause; the later ones are not run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import requests

from roomsops.adapters import net
from roomsops.adapters.entra.tokens import TokenProvider
from roomsops.adapters.ews.client import REMEDIES, TLS_REMEDY, EwsClient, EwsError
from roomsops.core.errors import ConnectError, RoomsopsError
from roomsops.core.results import Check, CheckReport, Status
from roomsops.core.settings import Settings
from roomsops.services.diagnose.probe import Probe, alias_first, failed_probe


def sync_test(
    settings: Settings,
    provider: TokenProvider,
    client_factory: Callable[[], EwsClient],
    address: str,
    primaries: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
) -> CheckReport:
    """ROOMS' sync test as steps: token, EWS connection, impersonation, primary SMTP, calendar, pull subscription.
    `primaries` (the admin session's Get-Recipient): a policy denial of an alias is reported as the alias."""
    checks: list[Check] = []

    def done(report_checks: Sequence[Check], unreachable: bool = False) -> CheckReport:
        skipped = [s for s in STEPS[len(report_checks) :]]
        rest = tuple(Check(name, Status.WARNING, "not run: an earlier step failed") for name in skipped)
        return CheckReport(
            subject=f"sync test {address}", checks=tuple(report_checks) + rest, unreachable=unreachable
        )

    try:
        token = provider.token()
    except RoomsopsError as exc:
        return done([Check("token", Status.FAILED, exc.message, exc.remedy)], isinstance(exc, ConnectError))
    checks.append(Check("token", Status.OK, f"app-only token, roles: {', '.join(token.roles) or '(none)'}"))

    try:
        net.http_session(settings).get(settings.cloud.ews_url, timeout=settings.network.timeout_seconds)
        checks.append(Check("EWS connection", Status.OK, f"{settings.cloud.ews_url} reached (TLS verified)"))
    except requests.RequestException as exc:
        unreached = net.connect_error(
            exc, settings.cloud.ews_url, tls_remedy=TLS_REMEDY, remedy=REMEDIES["connection"]
        )
        failed = Check("EWS connection", Status.FAILED, unreached.message, unreached.remedy)
        return done([*checks, failed], unreachable=True)

    client = client_factory()
    try:
        primary = client.resolve_primary(address)
    except (EwsError, ConnectError) as exc:
        failure = alias_first(failed_probe(address, exc), primaries)
        failed = (
            failure.check("impersonation")
            if failure.outcome == "alias"
            else Check("impersonation", Status.FAILED, failure.detail, failure.remedy)
        )
        return done([*checks, failed], unreachable=not isinstance(exc, EwsError))
    checks.append(Check("impersonation", Status.OK, f"the app may act as {address}"))

    if primary and primary.casefold() != address.casefold():
        alias = Probe(address, "alias", primary_smtp=primary)
        return done(
            [
                *checks,
                Check(
                    "primary SMTP address",
                    Status.FAILED,
                    f"{address} is an alias; the primary SMTP address is {primary}",
                    alias.remedy,
                ),
            ]
        )
    checks.append(Check("primary SMTP address", Status.OK, primary or address))

    try:
        calendar = client.calendar(address)
    except (EwsError, ConnectError) as exc:
        failure = failed_probe(address, exc)
        return done([*checks, Check("calendar folder", Status.FAILED, failure.detail, failure.remedy)])
    checks.append(Check("calendar folder", Status.OK, f"{calendar.name} ({calendar.total_count} items)"))

    try:
        subscription_id, _watermark = client.call(address, lambda: calendar.subscribe_to_pull())
        client.call(address, lambda: calendar.unsubscribe(subscription_id))
    except (EwsError, ConnectError) as exc:
        failure = failed_probe(address, exc)
        return done(
            [
                *checks,
                Check(
                    "pull subscription",
                    Status.FAILED,
                    failure.detail,
                    failure.remedy or "notifications are needed for O365Pull",
                ),
            ]
        )
    checks.append(Check("pull subscription", Status.OK, "created and removed"))
    return CheckReport(subject=f"sync test {address}", checks=tuple(checks))


STEPS = (
    "token",
    "EWS connection",
    "impersonation",
    "primary SMTP address",
    "calendar folder",
    "pull subscription",
)

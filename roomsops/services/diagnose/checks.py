"""Why will a mailbox not sync? The EWS probe, ROOMS' "Synchronisationstest" as steps, EWS readiness.

Each step is one check with its remedy; the first failing step names the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from roomsops.adapters.entra.tokens import TokenProvider, http_session
from roomsops.adapters.ews.client import REMEDIES, EwsClient, EwsError
from roomsops.adapters.exo.session import CmdletError, ExchangeSession
from roomsops.core.errors import AuthError, ConnectError, RoomsopsError
from roomsops.core.logs import AuditLog
from roomsops.core.results import Check, CheckReport, Result, Status
from roomsops.core.settings import Settings

EWS_PHASED_BLOCKING = date(2026, 10, 1)
EWS_SHUTDOWN = date(2027, 4, 1)


@dataclass(frozen=True)
class Probe:
    """What EWS says about one mailbox, as seen by the sync app."""

    mailbox: str
    outcome: str  # accessible | alias | denied_by_policy | access_denied | ews_disabled | ews_app_not_allowed | impersonation_denied
    #               | mailbox_not_found | throttled | connection | unauthorized
    primary_smtp: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "accessible"

    @property
    def remedy(self) -> str | None:
        if self.outcome == "alias":
            return f"use the primary SMTP address {self.primary_smtp} in ROOMS"
        return REMEDIES.get(self.outcome)

    def check(self, name: str) -> Check:
        if self.ok:
            return Check(name, Status.OK, f"{self.mailbox}: calendar accessible through impersonation")
        if self.outcome == "alias":
            return Check(
                name,
                Status.FAILED,
                f"{self.mailbox} is an alias; the primary SMTP address is {self.primary_smtp}",
                self.remedy,
            )
        return Check(name, Status.FAILED, self.detail or self.outcome, self.remedy)


def _failed(address: str, exc: RoomsopsError) -> Probe:
    reason = (
        exc.reason
        if isinstance(exc, EwsError)
        else ("unauthorized" if isinstance(exc, AuthError) else "connection")
    )
    detail = exc.detail if isinstance(exc, EwsError) else exc.message
    return Probe(address, reason, detail=detail)


def probe(client: EwsClient, address: str) -> Probe:
    """The mailbox's calendar through impersonation, then its primary address (ResolveNames)."""
    try:
        client.calendar(address)
        primary = client.resolve_primary(address)
    except (EwsError, ConnectError) as exc:
        return _failed(address, exc)
    if primary and primary.casefold() != address.casefold():
        return Probe(address, "alias", primary_smtp=primary, detail=f"primary SMTP address is {primary}")
    return Probe(address, "accessible", primary_smtp=primary or address)


def sync_test(
    settings: Settings, provider: TokenProvider, client_factory: Callable[[], EwsClient], address: str
) -> CheckReport:
    """ROOMS' sync test as steps: token, EWS connection, impersonation, primary SMTP, calendar, pull subscription."""
    checks: list[Check] = []

    def done(report_checks: Sequence[Check]) -> CheckReport:
        skipped = [s for s in STEPS[len(report_checks) :]]
        rest = tuple(Check(name, Status.WARNING, "not run: an earlier step failed") for name in skipped)
        return CheckReport(subject=f"sync test {address}", checks=tuple(report_checks) + rest)

    try:
        token = provider.token()
    except RoomsopsError as exc:
        return done([Check("token", Status.FAILED, exc.message, exc.remedy)])
    checks.append(Check("token", Status.OK, f"app-only token, roles: {', '.join(token.roles) or '(none)'}"))

    try:
        answer = http_session(settings).get(settings.cloud.ews_url, timeout=settings.network.timeout_seconds)
        checks.append(
            Check(
                "EWS connection", Status.OK, f"{settings.cloud.ews_url} answers (HTTP {answer.status_code})"
            )
        )
    except requests.exceptions.SSLError as exc:
        return done(
            [
                *checks,
                Check(
                    "EWS connection",
                    Status.FAILED,
                    f"TLS verification failed: {exc}",
                    "set network.ca_bundle to the CA of the server (or of your proxy)",
                ),
            ]
        )
    except requests.RequestException as exc:
        return done(
            [
                *checks,
                Check(
                    "EWS connection",
                    Status.FAILED,
                    f"cannot reach {settings.cloud.ews_url}: {type(exc).__name__}",
                    REMEDIES["connection"],
                ),
            ]
        )

    client = client_factory()
    try:
        primary = client.resolve_primary(address)
    except (EwsError, ConnectError) as exc:
        failure = _failed(address, exc)
        return done([*checks, Check("impersonation", Status.FAILED, failure.detail, failure.remedy)])
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
        failure = _failed(address, exc)
        return done([*checks, Check("calendar folder", Status.FAILED, failure.detail, failure.remedy)])
    checks.append(Check("calendar folder", Status.OK, f"{calendar.name} ({calendar.total_count} items)"))

    try:
        subscription_id, _watermark = client.call(address, lambda: calendar.subscribe_to_pull())
        client.call(address, lambda: calendar.unsubscribe(subscription_id))
    except (EwsError, ConnectError) as exc:
        failure = _failed(address, exc)
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


@dataclass(frozen=True)
class EwsStatus(Result):
    """The tenant's and mailboxes' EWS switches, and the retirement dates."""

    today: date
    ews_enabled: bool | None
    allowed_app_ids: tuple[str, ...]
    sync_app_id: str
    sync_app_allowed: bool
    mailboxes: tuple[tuple[str, bool | None], ...]

    @property
    def ok(self) -> bool:
        if self.ews_enabled is False:
            return False
        if self.ews_enabled is True and not self.sync_app_allowed:
            return False
        return all(enabled is not False for _, enabled in self.mailboxes)

    @property
    def verdict(self) -> str:
        if self.ews_enabled is None:
            return (
                "EwsEnabled is unset: Microsoft is switching EWS off tenant by tenant since 2026-10-01. "
                "Run 'roomsops ews allow' to list the sync app, then set EwsEnabled to True (--enable)."
            )
        if self.ews_enabled is False:
            return "EwsEnabled is False: EWS is off for every app; the sync cannot work (roomsops ews allow --enable)."
        if not self.sync_app_allowed:
            return "EwsEnabled is True but the sync app is not in EwsAllowedAppIDs: roomsops ews allow."
        return "EwsEnabled is True and the sync app is allowed."

    def lines(self) -> list[str]:
        shown = {None: "unset", True: "True", False: "False"}
        out = [
            f"tenant EwsEnabled      {shown[self.ews_enabled]}",
            f"EwsAllowedAppIDs      {', '.join(self.allowed_app_ids) or '(empty)'}",
            f"sync app {self.sync_app_id}  {'allowed' if self.sync_app_allowed else 'NOT allowed'}",
        ]
        out += [f"mailbox {address}  EwsEnabled {shown[enabled]}" for address, enabled in self.mailboxes]
        out.append(
            f"phased blocking since {EWS_PHASED_BLOCKING}; final shutdown {EWS_SHUTDOWN} "
            f"({(EWS_SHUTDOWN - self.today).days} days left); move ROOMS to Microsoft 365 (Graph) before then"
        )
        out.append(self.verdict)
        return out


def _app_ids(value: object) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


def _enabled(value: object) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def read_ews_status(
    session: ExchangeSession, sync_app_id: str, mailboxes: Sequence[str], today: date
) -> EwsStatus:
    """Get-OrganizationConfig (with the allow list) and Get-CASMailbox of each mailbox, in one pipeline."""
    batch = session.run_batch(
        [
            ("Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True}),
            *[("Get-CASMailbox", {"Identity": m}) for m in mailboxes],
        ]
    )
    if batch.failures:
        raise CmdletError(batch.failures)
    org = next((o for o in batch.outputs if "PrimarySmtpAddress" not in o), {})
    cas = {
        str(o.get("PrimarySmtpAddress", "")).casefold(): o for o in batch.outputs if "PrimarySmtpAddress" in o
    }
    allowed = _app_ids(org.get("EwsAllowedAppIDs"))
    rows = tuple((m, _enabled(cas.get(m.casefold(), {}).get("EwsEnabled"))) for m in mailboxes)
    return EwsStatus(
        today=today,
        ews_enabled=_enabled(org.get("EwsEnabled")),
        allowed_app_ids=tuple(allowed),
        sync_app_id=sync_app_id,
        sync_app_allowed=sync_app_id.casefold() in {a.casefold() for a in allowed},
        mailboxes=rows,
    )


@dataclass(frozen=True)
class EwsAllowResult(Result):
    allowed_before: tuple[str, ...]
    allowed_after: tuple[str, ...]
    ews_enabled_before: bool | None
    ews_enabled_after: bool | None

    def lines(self) -> list[str]:
        shown = {None: "unset", True: "True", False: "False"}
        return [
            f"EwsAllowedAppIDs  before: {', '.join(self.allowed_before) or '(empty)'}",
            f"                  after:  {', '.join(self.allowed_after) or '(empty)'}",
            f"EwsEnabled        before: {shown[self.ews_enabled_before]}, after: {shown[self.ews_enabled_after]}",
        ]


def ews_allow(
    session: ExchangeSession,
    sync_app_id: str,
    enable: bool,
    confirm: Callable[[str], None],
    audit: AuditLog,
    today: date,
) -> EwsAllowResult:
    """Add the sync app to EwsAllowedAppIDs (keeping the others); set EwsEnabled True only with `enable`."""
    status = read_ews_status(session, sync_app_id, [], today)
    allowed = list(status.allowed_app_ids)
    notes: list[str] = []
    if not status.sync_app_allowed:
        allowed.append(sync_app_id)
        params = {"EwsAllowedAppIDs": ",".join(allowed)}
        session.run("Set-OrganizationConfig", params)
        audit.record("cmdlet:Set-OrganizationConfig", session.host, params, "ok")
    enabled = status.ews_enabled
    if enabled is not True:
        meaning = (
            "unset: Microsoft is switching EWS off tenant by tenant since 2026-10-01"
            if enabled is None
            else "False: EWS is off for every app in the tenant"
        )
        if enable:
            confirm(f"Set EwsEnabled to True? From then on only these apps may use EWS: {', '.join(allowed)}")
            session.run("Set-OrganizationConfig", {"EwsEnabled": True})
            audit.record("cmdlet:Set-OrganizationConfig", session.host, {"EwsEnabled": True}, "ok")
            enabled = True
        else:
            notes.append(
                f"EwsEnabled is {meaning}. 'roomsops ews allow --enable' sets it to True; then only the "
                f"listed apps ({', '.join(allowed)}) may use EWS."
            )
    notes.append("Allow-list changes can take up to 24 hours to apply.")
    return EwsAllowResult(
        allowed_before=status.allowed_app_ids,
        allowed_after=tuple(allowed),
        ews_enabled_before=status.ews_enabled,
        ews_enabled_after=enabled,
        notes=tuple(notes),
    )


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
) -> DoctorReport:
    """Every check once, each independent of the others' outcome where possible."""
    checks = [_summarize("config", config_report)]
    if provider_error is not None or provider is None:
        error = provider_error or RoomsopsError("no credentials")
        checks.append(Check("token", Status.FAILED, error.message, error.remedy))
    else:
        try:
            token = provider.token()
            checks.append(Check("token", Status.OK, f"roles: {', '.join(token.roles) or '(none)'}"))
        except RoomsopsError as exc:
            checks.append(Check("token", Status.FAILED, exc.message, exc.remedy))
    admin_app = settings.exo.app_id
    if sync_app_id and admin_app and admin_app.casefold() == sync_app_id.casefold():
        checks.append(
            Check(
                "admin app",
                Status.FAILED,
                "exo.app_id is the sync app (ExchangeAppId)",
                "use a separate admin app: the sync app's secret lies on the ROOMS server and must not "
                "be able to lift its own restriction",
            )
        )
    else:
        checks.append(
            Check("admin app", Status.OK, f"admin app {admin_app or '(interactive sign-in)'} ≠ sync app")
        )
    status: EwsStatus | None = None
    try:
        with open_admin() as session:
            checks.append(
                Check("Exchange connection", Status.OK, f"connected through {settings.powershell.host}")
            )
            if sync_app_id:
                status = read_ews_status(session, sync_app_id, [mailbox] if mailbox else [], today)
    except RoomsopsError as exc:
        checks.append(Check("Exchange connection", Status.FAILED, exc.message, exc.remedy))
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
    if mailbox is None:
        checks.append(Check("EWS probe", Status.WARNING, "no mailbox to probe", "pass --mailbox EMAIL"))
    elif provider is not None and provider_error is None:
        checks.append(probe(ews_client(), mailbox).check("EWS probe"))
    return DoctorReport(subject="roomsops doctor", checks=tuple(checks))


@dataclass(frozen=True)
class AddressCheck:
    email: str
    status: str  # ok | alias | mailbox_not_found | <EWS reason>
    primary_smtp: str | None = None
    detail: str = ""
    remedy: str | None = None


@dataclass(frozen=True)
class PersonsCheck(Result):
    """Is each person's address the primary SMTP address of a mailbox (the most common ROOMS sync failure)?"""

    checks: tuple[AddressCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.status == "ok" for c in self.checks)

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            if c.status == "ok":
                out.append(f"ok      {c.email}")
            else:
                out.append(f"FAILED  {c.email}: {c.detail}" + (f" — {c.remedy}" if c.remedy else ""))
        return out or ["no persons to check"]


def check_addresses(client: EwsClient, addresses: Sequence[str]) -> PersonsCheck:
    """ResolveNames for each address: the primary SMTP address, or why it could not be resolved."""
    checks = []
    for address in addresses:
        try:
            primary = client.resolve_primary(address)
        except (EwsError, ConnectError) as exc:
            failure = _failed(address, exc)
            checks.append(
                AddressCheck(address, failure.outcome, detail=failure.detail, remedy=failure.remedy)
            )
            continue
        if primary is None:
            checks.append(
                AddressCheck(
                    address,
                    "mailbox_not_found",
                    detail="no mailbox has this address",
                    remedy=REMEDIES["mailbox_not_found"],
                )
            )
        elif primary.casefold() != address.casefold():
            checks.append(
                AddressCheck(
                    address,
                    "alias",
                    primary,
                    f"an alias; the primary SMTP address is {primary}",
                    f"change the person's e-mail in ROOMS to {primary} (and re-run the import)",
                )
            )
        else:
            checks.append(AddressCheck(address, "ok", primary))
    return PersonsCheck(checks=tuple(checks))

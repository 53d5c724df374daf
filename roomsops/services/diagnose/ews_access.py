"""EWS retirement readiness: the tenant's EwsEnabled and EwsAllowedAppIDs and the mailboxes' EwsEnabled, read
through the typed Exchange adapter (`ews status`), and putting the sync app on the allow list (`ews allow`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result

EWS_PHASED_BLOCKING = date(2026, 10, 1)
EWS_SHUTDOWN = date(2027, 4, 1)


@dataclass(frozen=True)
class EwsStatus(Result):
    """The tenant's and mailboxes' EWS switches, and the retirement dates."""

    today: date
    ews_enabled: bool | None
    allowed_app_ids: tuple[str, ...]
    sync_app_id: str
    sync_app_allowed: bool
    mailboxes: tuple[tuple[str, bool | None], ...]
    #: What EWS does for the sync app now (tenant level): see `may_use_ews`.
    sync_app_may_use_ews: bool = False

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

    def _sync_app_state(self) -> str:
        listed = "listed" if self.sync_app_allowed else "not listed"
        if self.ews_enabled is None:
            # The issue: "NOT allowed" while the sync worked. The list is not in force while EwsEnabled is unset.
            return (
                f"may use EWS now ({listed} in EwsAllowedAppIDs, which applies only once EwsEnabled is True)"
            )
        if self.ews_enabled is False:
            return f"may NOT use EWS (EwsEnabled is False for every app; {listed} in EwsAllowedAppIDs)"
        return (
            "may use EWS (listed)" if self.sync_app_allowed else "may NOT use EWS (not in EwsAllowedAppIDs)"
        )

    def lines(self) -> list[str]:
        shown = {None: "unset", True: "True", False: "False"}
        out = [
            f"tenant EwsEnabled      {shown[self.ews_enabled]}",
            f"EwsAllowedAppIDs      {', '.join(self.allowed_app_ids) or '(empty)'}",
            f"sync app {self.sync_app_id}  {self._sync_app_state()}",
        ]
        out += [f"mailbox {address}  EwsEnabled {shown[enabled]}" for address, enabled in self.mailboxes]
        out.append(
            f"phased blocking since {EWS_PHASED_BLOCKING}; final shutdown {EWS_SHUTDOWN} "
            f"({(EWS_SHUTDOWN - self.today).days} days left); move ROOMS to Microsoft 365 (Graph) before then"
        )
        out.append(self.verdict)
        return out


def may_use_ews(ews_enabled: bool | None, listed: bool) -> bool:
    """EwsAllowedAppIDs applies only while EwsEnabled is True; unset (the default: on) lets every app in, False
    none (exchange-online.md, "EWS retirement")."""
    return True if ews_enabled is None else ews_enabled and listed


def read_ews_status(
    session: ExchangeSession, sync_app_id: str, mailboxes: Sequence[str], today: date
) -> EwsStatus:
    """Get-OrganizationConfig (with the allow list) and Get-CASMailbox of each mailbox, in one pipeline."""
    org, cas = exchange.read_ews_settings(session, mailboxes)
    allowed = org.ews_allowed_app_ids
    rows = tuple((m, cas[m.casefold()].ews_enabled if m.casefold() in cas else None) for m in mailboxes)
    listed = sync_app_id.casefold() in {a.casefold() for a in allowed}
    return EwsStatus(
        today=today,
        ews_enabled=org.ews_enabled,
        allowed_app_ids=allowed,
        sync_app_id=sync_app_id,
        sync_app_allowed=listed,
        mailboxes=rows,
        sync_app_may_use_ews=may_use_ews(org.ews_enabled, listed),
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
    add_app = not status.sync_app_allowed
    if add_app:
        allowed.append(sync_app_id)
    enabled = status.ews_enabled
    set_enabled = enable and enabled is not True
    if set_enabled:  # asked before the first change: a refusal changes nothing
        confirm(f"Set EwsEnabled to True? From then on only these apps may use EWS: {', '.join(allowed)}")
    if add_app:
        params = {"EwsAllowedAppIDs": ",".join(allowed)}
        session.run("Set-OrganizationConfig", params)
        audit.record("cmdlet:Set-OrganizationConfig", session.host, params, "ok")
    if set_enabled:
        session.run("Set-OrganizationConfig", {"EwsEnabled": True})
        audit.record("cmdlet:Set-OrganizationConfig", session.host, {"EwsEnabled": True}, "ok")
        enabled = True
    elif enabled is not True:
        meaning = (
            "unset: Microsoft is switching EWS off tenant by tenant since 2026-10-01"
            if enabled is None
            else "False: EWS is off for every app in the tenant"
        )
        notes.append(
            f"EwsEnabled is {meaning}. 'roomsops ews allow --enable' sets it to True; then only the "
            f"listed apps ({', '.join(allowed)}) may use EWS."
        )
    if add_app or set_enabled:
        notes.append("Allow-list changes can take up to 24 hours to apply.")
    else:
        notes.append(f"The sync app {sync_app_id} is already on EwsAllowedAppIDs; nothing was changed.")
    return EwsAllowResult(
        allowed_before=status.allowed_app_ids,
        allowed_after=tuple(allowed),
        ews_enabled_before=status.ews_enabled,
        ews_enabled_after=enabled,
        notes=tuple(notes),
    )


def ews_disallow(
    session: ExchangeSession,
    sync_app_id: str,
    confirm: Callable[[str], None],
    audit: AuditLog,
    today: date,
) -> EwsAllowResult:
    """Take the sync app off EwsAllowedAppIDs (keeping the others): the undo of `ews allow`. EwsEnabled stays
    as it is (another app may rely on it). While EwsEnabled is True this stops the sync: asked first."""
    status = read_ews_status(session, sync_app_id, [], today)
    allowed = [a for a in status.allowed_app_ids if a.casefold() != sync_app_id.casefold()]
    notes: list[str] = []
    if status.sync_app_allowed:
        if status.ews_enabled is True:
            confirm(
                f"Take the sync app {sync_app_id} off EwsAllowedAppIDs? With EwsEnabled True it stops syncing"
            )
        # $null clears the list (Set-OrganizationConfig -EwsAllowedAppIDs); the others stay listed.
        params = {"EwsAllowedAppIDs": ",".join(allowed) if allowed else None}
        session.run("Set-OrganizationConfig", params)
        audit.record("cmdlet:Set-OrganizationConfig", session.host, params, "ok")
        notes.append("Allow-list changes can take up to 24 hours to apply.")
    else:
        notes.append(f"The sync app {sync_app_id} was not on EwsAllowedAppIDs; nothing was changed.")
    return EwsAllowResult(
        allowed_before=status.allowed_app_ids,
        allowed_after=tuple(allowed),
        ews_enabled_before=status.ews_enabled,
        ews_enabled_after=status.ews_enabled,
        notes=tuple(notes),
    )

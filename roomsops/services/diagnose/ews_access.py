"""EWS retirement readiness: the tenant's EwsEnabled and EwsAllowedAppIDs and the mailboxes' EwsEnabled, read
through the typed Exchange adapter (`ews status`), and putting the sync app on the allow list (`ews allow`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from roomsops.adapters.exo import exchange
from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.logs import AuditLog
from roomsops.core.results import Result
from roomsops.core.vocabulary import EWS_SYNC_MODES, GRAPH_SYNC_MODES

#: EWS in Exchange Online (shared/reference/exchange-online.md, "EWS retirement in Exchange Online", announced
#: 2026-02-05): EwsEnabled switched from unset to False tenant by tenant from 2026-10-01; final shutdown
#: 2027-04-01, no exceptions. Replacement: Microsoft Graph (ROOMS' sync mode Microsoft365).
EWS_PHASED_BLOCKING = date(2026, 10, 1)
EWS_SHUTDOWN = date(2027, 4, 1)


MIGRATE_COMMAND = "roomsops sync migrate --to graph --all"


@dataclass(frozen=True)
class PersonOnEws:
    email: str
    sync_mode: str


@dataclass(frozen=True)
class PersonLeftOnEws:
    """A person who left the sync (a mode roomsops does not sync) whose meetings in Exchange are known by EWS
    item ids: only EWS reaches them (a cancellation, `sync purge`) until `sync migrate` moves their links."""

    email: str
    sync_mode: str
    meetings: int


@dataclass(frozen=True)
class EwsReadiness:
    """How far the installation is from needing EWS no more: its persons still in an EWS sync mode (O365,
    O365Pull), those in ROOMS' Graph mode (Microsoft365), the retirement dates (`EWS_PHASED_BLOCKING`,
    `EWS_SHUTDOWN`) and the command that moves the rest."""

    #: False when the ROOMS database could not be read: the persons are unknown (then empty and 0).
    persons_read: bool
    persons_on_ews: tuple[PersonOnEws, ...]
    persons_on_graph: int
    persons_left_on_ews: tuple[PersonLeftOnEws, ...]
    phased_blocking_since: date
    shutdown: date
    days_left: int
    next_command: str | None
    #: `sync.backend = "graph"`: the persons in an EWS mode are counted on Graph (they are synced over it).
    graph_backend: bool = field(default=False, metadata={"json": False})

    def lines(self) -> list[str]:
        if not self.persons_read:
            return [f"persons: the ROOMS database could not be read; when ROOMS is ready: {MIGRATE_COMMAND}"]
        out = [
            f"persons on EWS        {len(self.persons_on_ews)}"
            + (
                f" ({', '.join(f'{p.email} {p.sync_mode}' for p in self.persons_on_ews[:5])}"
                + (f", +{len(self.persons_on_ews) - 5} more" if len(self.persons_on_ews) > 5 else "")
                + ")"
                if self.persons_on_ews
                else ""
            ),
            f"persons on Graph      {self.persons_on_graph} (sync mode Microsoft365"
            + (", or an EWS mode with sync.backend graph)" if self.graph_backend else ")"),
        ]
        if self.persons_left_on_ews:
            left = self.persons_left_on_ews
            out.append(
                f"left the sync, meetings over EWS  {len(left)} ("
                + ", ".join(f"{p.email} {p.sync_mode}: {p.meetings} meeting(s)" for p in left[:5])
                + (f", +{len(left) - 5} more" if len(left) > 5 else "")
                + "): only EWS reaches them (a cancellation, 'sync purge'); 'sync migrate --to graph' moves "
                "their links to Graph, or 'roomsops sync purge --person EMAIL --yes' cancels them while EWS is on"
            )
        if self.next_command:
            out.append(f"next: {self.next_command}  (moves them to Microsoft Graph; --dry-run checks first)")
        else:
            out.append(
                "ready: no person syncs over EWS, no meeting is reached over EWS only; EWS can be switched off "
                "for the sync app"
            )
        return out


def readiness(
    modes: dict[str, str] | None,
    today: date,
    left: Mapping[str, tuple[str, str, int]] | None = None,
    graph_backend: bool = False,
) -> EwsReadiness:
    """The readiness report from the persons' sync modes ({email: mode}; None: they could not be read) and the
    meetings of persons who left the sync ({email: (sync mode, service, meetings)}, `left_persons_meetings`):
    those whose ids are EWS's still need EWS, and `sync migrate --to graph --all` moves their links too.
    `graph_backend` (`sync.backend = "graph"`): the persons in an EWS mode are synced over Graph too, so they are
    counted on Graph (as `doctor` counts them: `uses_graph`)."""
    on_ews = tuple(
        sorted(
            (
                PersonOnEws(e, m)
                for e, m in (modes or {}).items()
                if m in EWS_SYNC_MODES and not graph_backend
            ),
            key=str,
        )
    )
    on_graph = GRAPH_SYNC_MODES + EWS_SYNC_MODES if graph_backend else GRAPH_SYNC_MODES
    left_on_ews = tuple(
        sorted(
            (
                PersonLeftOnEws(e, m, n)
                for e, (m, service, n) in (left or {}).items()
                if service == "ews" and n
            ),
            key=str,
        )
    )
    return EwsReadiness(
        persons_read=modes is not None,
        persons_on_ews=on_ews,
        persons_on_graph=sum(1 for m in (modes or {}).values() if m in on_graph),
        persons_left_on_ews=left_on_ews,
        phased_blocking_since=EWS_PHASED_BLOCKING,
        shutdown=EWS_SHUTDOWN,
        days_left=(EWS_SHUTDOWN - today).days,
        next_command=MIGRATE_COMMAND if on_ews or left_on_ews or modes is None else None,
        graph_backend=graph_backend,
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
    #: What EWS does for the sync app now (tenant level): see `may_use_ews`.
    sync_app_may_use_ews: bool = False
    #: The persons still on EWS and the next command (None: not asked for, as in `ews allow`).
    readiness: EwsReadiness | None = None
    #: The mailboxes shown whose person the sync reaches over Microsoft Graph: their EwsEnabled does not matter.
    mailboxes_over_graph: tuple[str, ...] = ()

    @property
    def ews_needed(self) -> bool:
        """Whether the sync needs EWS: False once the readiness report finds every person on Graph and no meeting
        reached over EWS only; True while it does, or when the persons were not asked for (`ews allow`)."""
        ready = self.readiness
        return not (
            ready is not None
            and ready.persons_read
            and ready.persons_on_ews == ()
            and ready.persons_left_on_ews == ()
            and ready.persons_on_graph
        )

    @property
    def ok(self) -> bool:
        # Once no person syncs over EWS and no meeting needs it, its switches no longer matter.
        return self.switches_ok if self.ews_needed else True

    def _mailboxes_off(self) -> list[str]:
        """The mailboxes with EwsEnabled False whose person the sync reaches over EWS (or that are no person):
        a Graph person's mailbox may have EWS off, the step Microsoft advises when moving it off EWS."""
        over_graph = {m.casefold() for m in self.mailboxes_over_graph}
        return [m for m, enabled in self.mailboxes if enabled is False and m.casefold() not in over_graph]

    @property
    def switches_ok(self) -> bool:
        if self.ews_enabled is False:
            return False
        if self.ews_enabled is True and not self.sync_app_allowed:
            return False
        return not self._mailboxes_off()

    @property
    def verdict(self) -> str:
        return self.verdict_for(self.ews_needed)

    def verdict_for(self, ews_needed: bool) -> str:
        """The tenant's switches judged for the sync; with `ews_needed` False (every person on Graph) without a
        remedy that would switch EWS on again."""
        if not ews_needed:
            state = {
                None: "EwsEnabled is unset (Microsoft is switching EWS off tenant by tenant since 2026-10-01)",
                False: "EwsEnabled is False (EWS is off for every app)",
                True: "EwsEnabled is True"
                + ("" if self.sync_app_allowed else " and the sync app is not in EwsAllowedAppIDs"),
            }[self.ews_enabled]
            return f"{state}: the sync does not need EWS (no person syncs over it)."
        if self.ews_enabled is None:
            verdict = (
                "EwsEnabled is unset: Microsoft is switching EWS off tenant by tenant since 2026-10-01. "
                "Run 'roomsops ews allow' to list the sync app, then set EwsEnabled to True (--enable)."
            )
        elif self.ews_enabled is False:
            verdict = "EwsEnabled is False: EWS is off for every app; the sync cannot work (roomsops ews allow --enable)."
        elif not self.sync_app_allowed:
            verdict = "EwsEnabled is True but the sync app is not in EwsAllowedAppIDs: roomsops ews allow."
        else:
            verdict = "EwsEnabled is True and the sync app is allowed."
        off = self._mailboxes_off()
        if off:
            verdict += (
                f" EwsEnabled is False for mailbox {', '.join(off)}: the sync cannot reach it over EWS "
                "(Set-CASMailbox -EwsEnabled $true, or move the person to Graph: roomsops sync migrate --to graph "
                "--person EMAIL)."
            )
        return verdict

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
        over_graph = {m.casefold() for m in self.mailboxes_over_graph}
        out += [
            f"mailbox {address}  EwsEnabled {shown[enabled]}"
            + (
                "  (syncs over Microsoft Graph: the sync does not use EWS for it)"
                if address.casefold() in over_graph
                else ""
            )
            for address, enabled in self.mailboxes
        ]
        out.append(
            f"phased blocking since {EWS_PHASED_BLOCKING}; final shutdown {EWS_SHUTDOWN} "
            f"({(EWS_SHUTDOWN - self.today).days} days left); move ROOMS to Microsoft 365 (Graph) before then"
        )
        out.append(self.verdict)
        if self.readiness is not None:
            out += self.readiness.lines()
        return out


def may_use_ews(ews_enabled: bool | None, listed: bool) -> bool:
    """EwsAllowedAppIDs applies only while EwsEnabled is True; unset (the default: on) lets every app in, False
    none (exchange-online.md, "EWS retirement")."""
    return True if ews_enabled is None else ews_enabled and listed


def read_ews_status(
    session: ExchangeSession,
    sync_app_id: str,
    mailboxes: Sequence[str],
    today: date,
    modes: dict[str, str] | None = None,
    with_readiness: bool = False,
    left: Mapping[str, tuple[str, str, int]] | None = None,
    over_graph: Collection[str] = (),
    graph_backend: bool = False,
) -> EwsStatus:
    """Get-OrganizationConfig (with the allow list) and Get-CASMailbox of each mailbox, in one pipeline.
    `over_graph`: those of `mailboxes` whose person the sync reaches over Microsoft Graph (per mode, or per the
    service of a left person's links); `graph_backend`: `sync.backend = "graph"` (see `readiness`)."""
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
        readiness=readiness(modes, today, left, graph_backend) if with_readiness else None,
        mailboxes_over_graph=tuple(
            m for m in mailboxes if m.casefold() in {g.casefold() for g in over_graph}
        ),
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
    changing: Callable[[str, object], None] | None = None,
    planned: Callable[[list[str]], None] | None = None,
) -> EwsAllowResult:
    """Add the sync app to EwsAllowedAppIDs (keeping the others); set EwsEnabled True only with `enable`.
    `planned` is given the settings the run will change ("EwsAllowedAppIDs", "EwsEnabled"), once read; `changing`
    each one with its value before, just before it is set (an interrupted run names what was running, and its
    undo the value to set back)."""
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
    if planned is not None:
        planned(["EwsAllowedAppIDs"] * add_app + ["EwsEnabled"] * set_enabled)
    if add_app:
        params = {"EwsAllowedAppIDs": ",".join(allowed)}
        if changing is not None:
            changing("EwsAllowedAppIDs", status.allowed_app_ids)
        session.run("Set-OrganizationConfig", params)
        audit.record("cmdlet:Set-OrganizationConfig", session.host, params, "ok")
    if set_enabled:
        if changing is not None:
            changing("EwsEnabled", enabled)
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

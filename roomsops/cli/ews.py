"""`roomsops ews ...`: EWS retirement readiness (EwsEnabled, EwsAllowedAppIDs) through the admin session."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from roomsops.cli.context import AppContext
from roomsops.cli.lazy import lazy
from roomsops.cli.tenant_change import read_only, tenant_change
from roomsops.core.addresses import unique, validate_address
from roomsops.core.logs import AuditLog

if TYPE_CHECKING:
    from roomsops.services.diagnose import ews_access
    from roomsops.services.policy.model import Progress
else:
    ews_access = lazy("roomsops.services.diagnose.ews_access")


pass_app = click.make_pass_decorator(AppContext)


@click.group()
def ews() -> None:
    """EWS retirement readiness: the tenant's and mailboxes' EWS switches and the app allow list."""


@ews.command("status")
@click.option(
    "--mailbox", "mailboxes", multiple=True, metavar="EMAIL", help="Also show this mailbox's EwsEnabled."
)
@pass_app
def status_cmd(app: AppContext, mailboxes: tuple[str, ...]) -> int:
    """Show EwsEnabled, EwsAllowedAppIDs, the mailboxes' switches, the retirement dates and the readiness: the
    persons still on EWS (O365, O365Pull), those who left the sync whose meetings only EWS reaches, and the
    command that moves them to Microsoft Graph. Exit 1 while a person needs EWS and EWS is off (or will refuse
    the sync app)."""
    from roomsops.services.diagnose.graph_test import reached_over_graph
    from roomsops.services.rooms.common import left_persons_meetings, person_modes

    addresses = unique(validate_address(m) for m in mailboxes)
    app_id = app.sync_app_id()
    modes = person_modes(app.settings)
    left = left_persons_meetings(app.settings) if modes is not None else None
    # Per mode (a left person: per the service of their links): EWS off for the mailbox of a person the sync
    # reaches over Graph is no failure.
    over_graph = [
        a for a in addresses if modes is not None and reached_over_graph(app.settings, modes, left, a)
    ]
    graph_backend = str(app.settings.sync.backend) == "graph"
    with read_only(), app.open_admin(app_id) as session:
        return app.emit(
            ews_access.read_ews_status(
                session,
                app_id,
                addresses,
                date.today(),
                modes,
                True,
                left,
                over_graph=over_graph,
                graph_backend=graph_backend,
            )
        )


@ews.command("allow")
@click.option(
    "--enable", is_flag=True, help="Also set EwsEnabled to True (then only listed apps may use EWS)."
)
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def allow_cmd(app: AppContext, enable: bool, yes: bool) -> int:
    """Add the sync app to EwsAllowedAppIDs, keeping the apps already listed."""
    app_id = app.sync_app_id()

    seen: list[Progress] = []  # the run's progress: the undo names the changes it made
    before: dict[str, object] = {}  # each setting the run began to change, with its value before
    labels = {"EwsAllowedAppIDs": ALLOW_LABEL.format(app_id=app_id), "EwsEnabled": ENABLE_LABEL}

    def allow(progress: Progress) -> int:
        seen.append(progress)
        progress.planned += [labels["EwsAllowedAppIDs"]] + ([ENABLE_LABEL] if enable else [])

        def planned(keys: list[str]) -> None:  # once read: only what this run changes
            progress.planned = [labels[k] for k in keys]

        def changing(key: str, was: object) -> None:
            before[key] = was
            progress.begin([labels[key]])

        audit = _ProgressAudit(app.audit.path, progress, app_id)
        with app.open_admin(app_id) as session:
            result = ews_access.ews_allow(
                session,
                app_id,
                enable,
                lambda q: app.confirm(q, yes),
                audit,
                date.today(),
                changing=changing,
                planned=planned,
            )
        return app.emit(result)

    def undo() -> str:
        """Only what this run changed: a listing or an EwsEnabled that were there before stay."""
        made = [*seen[0].done, *seen[0].running] if seen else []
        steps = []
        if ENABLE_LABEL in made:
            steps.append(_ews_enabled_undo(before.get("EwsEnabled")))
        if labels["EwsAllowedAppIDs"] in made:
            steps.append("run 'roomsops ews disallow' to take the sync app off EwsAllowedAppIDs")
        return "; then ".join(steps) or "nothing: this run made no change"

    return tenant_change(app, "ews allow", undo, allow)


@ews.command("disallow")
@click.option("--yes", "-y", is_flag=True, help="Confirm without asking.")
@pass_app
def disallow_cmd(app: AppContext, yes: bool) -> int:
    """Take the sync app off EwsAllowedAppIDs (the undo of 'ews allow'); EwsEnabled stays as it is."""
    app_id = app.sync_app_id()

    def disallow(progress: Progress) -> int:
        progress.planned += [DISALLOW_LABEL.format(app_id=app_id)]
        with app.open_admin(app_id) as session:
            result = ews_access.ews_disallow(
                session, app_id, lambda q: app.confirm(q, yes), app.audit, date.today()
            )
        progress.finish(list(progress.planned) if result.allowed_before != result.allowed_after else [])
        return app.emit(result)

    undo = "run 'roomsops ews allow' to list the sync app again"
    return tenant_change(app, "ews disallow", undo, disallow)


def _ews_enabled_undo(was: object) -> str:
    """Setting EwsEnabled back to its value before the run (False, or unset: $null, which the cmdlet documents
    as "not configured"; unverified against Exchange Online that $null resets it, see FIDELITY.md)."""
    value = "$false" if was is False else "$null"
    shown = "False" if was is False else "unset"
    return (
        f"set EwsEnabled back to {shown}, as it was before this run, with Set-OrganizationConfig -EwsEnabled "
        f"{value} ('roomsops ews status' shows it)"
    )


DISALLOW_LABEL = "EwsAllowedAppIDs: {app_id} removed"
ALLOW_LABEL = "EwsAllowedAppIDs: {app_id} added"
ENABLE_LABEL = "EwsEnabled: set to True"


class _ProgressAudit(AuditLog):
    """The audit log that also notes each Set-OrganizationConfig made in the run's progress (for the report of
    an interrupted run: the service records every change it makes)."""

    def __init__(self, path: Path | None, progress: Progress, app_id: str) -> None:
        super().__init__(path)
        self.progress = progress
        self.app_id = app_id

    def record(
        self,
        action: str,
        target: str,
        params: Mapping[str, Any] | None = None,
        result: Any = None,
        **extra: Any,
    ) -> None:
        if (
            action == "cmdlet:Set-OrganizationConfig" and result == "ok"
        ):  # made, even if it cannot be recorded
            made = {"EwsAllowedAppIDs": ALLOW_LABEL.format(app_id=self.app_id), "EwsEnabled": ENABLE_LABEL}
            self.progress.finish([label for key, label in made.items() if key in (params or {})])
        super().record(action, target, params, result, **extra)

"""The commands the lab's management host knows: cmdlet name → emulation (one table, one entry per cmdlet).

Exchange cmdlets exist only once Connect-ExchangeOnline succeeded (the module generates them then); the host's
own commands (Get-ChildItem, Start-Sleep, Import-Module, Connect-/Disconnect-ExchangeOnline) always.
"""

from __future__ import annotations

from roomsops.lab.cmdlets import calendar, groups, host, organization, policies, rbac, recipients, session
from roomsops.lab.cmdlets.base import CmdletSpec

CMDLETS: dict[str, CmdletSpec] = {
    spec.name.casefold(): spec
    for spec in (
        *session.CMDLETS,
        *host.CMDLETS,
        *recipients.CMDLETS,
        *groups.CMDLETS,
        *policies.CMDLETS,
        *rbac.CMDLETS,
        *organization.CMDLETS,
        *calendar.CMDLETS,
    )
}


def find(name: str) -> CmdletSpec | None:
    """The cmdlet a command name means (case-insensitive; a `Module\\Name` qualifier is allowed)."""
    return CMDLETS.get(name.rsplit("\\", 1)[-1].strip().casefold())


__all__ = ["CMDLETS", "find"]

"""What the audit log says of a distribution group: whether roomsops made it (New-DistributionGroup) or scoped
a policy of an app to it. The records hold the cmdlets' bound parameters, so they are read here, at the
Exchange adapter, and services never index PowerShell parameter or property names."""

from __future__ import annotations

from roomsops.adapters.exo.objects import Group
from roomsops.core.logs import AuditLog


def made_or_scoped(audit: AuditLog, app_id: str, group: Group) -> bool:
    """Whether the audit log shows that roomsops made the group, or that a policy of `app_id` was scoped to it
    (made or removed by roomsops): only such a group is removed once no policy of the app uses it."""
    for entry in audit.entries():
        params = entry.get("params") or {}
        if entry.get("result") != "ok" or not isinstance(params, dict):
            continue
        action = entry.get("action")
        if action == "cmdlet:New-DistributionGroup" and str(params.get("Name", "")).casefold() in {
            group.name.casefold()
        }:
            return True
        if (
            action == "cmdlet:New-ApplicationAccessPolicy"
            and str(params.get("AppId", "")).casefold() == app_id.casefold()
            and str(params.get("PolicyScopeGroupId", "")).casefold() == group.object_id.casefold()
        ):
            return True
        if (
            action == "policy.remove.scope"
            and entry.get("target", "").casefold() == group.object_id.casefold()
        ):
            if str(params.get("app_id", "")).casefold() == app_id.casefold():
                return True
    return False

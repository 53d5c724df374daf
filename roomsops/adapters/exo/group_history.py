"""What the audit log says of a distribution group: whether roomsops made it (New-DistributionGroup) or scoped
a policy of an app to it, and whether `policy remove --with-group` removed it. The records hold the cmdlets' bound parameters, so they are read here, at the
Exchange adapter, and services never index PowerShell parameter or property names."""

from __future__ import annotations

from dataclasses import dataclass

from roomsops.adapters.exo.objects import Group
from roomsops.core.logs import AuditLog

#: The record `policy remove --with-group` writes just before Remove-DistributionGroup: the group's name (target),
#: its object id and the name as given (params), its members and the way back (result).
GROUP_REMOVAL = "policy.remove.group_members"


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


@dataclass(frozen=True)
class RemovedGroup:
    """A group `policy remove --with-group` set out to remove (the last such record for it)."""

    name: str
    time: str
    restore: str


def removed_by_roomsops(audit: AuditLog, identity: str) -> RemovedGroup | None:
    """The last removal of the group `identity` (its name, object id, or the name as given then) that the audit
    log shows `policy remove --with-group` began; None when there is none. Written before the cmdlet ran: only a
    group that no longer exists may be taken as removed by it."""
    wanted = identity.casefold()
    found = None
    for entry in audit.entries():
        params = entry.get("params") or {}
        result = entry.get("result") or {}
        if (
            entry.get("action") != GROUP_REMOVAL
            or not isinstance(params, dict)
            or not isinstance(result, dict)
        ):
            continue
        names = {str(entry.get("target", "")), str(params.get("group_id", "")), str(params.get("group", ""))}
        if wanted in {n.casefold() for n in names if n}:
            found = RemovedGroup(
                name=str(entry.get("target", "")) or identity,
                time=str(entry.get("time", "")),
                restore=str(result.get("restore", "")),
            )
    return found

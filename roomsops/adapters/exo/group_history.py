"""What the audit log says of a distribution group: whether roomsops made it (New-DistributionGroup, then its
object id) or scoped a policy of an app to it, and whether `policy remove --with-group` removed it. The records hold
the cmdlets' bound parameters, so they are read here, at the Exchange adapter, and services never index PowerShell
parameter or property names."""

from __future__ import annotations

from dataclasses import dataclass

from roomsops.adapters.exo.objects import Group
from roomsops.core.logs import AuditLog

#: The record `policy remove --with-group` writes just before Remove-DistributionGroup: the group's name (target),
#: its object id and the name as given (params), its members and the way back (result).
GROUP_REMOVAL = "policy.remove.group_members"
#: The record `policy restrict` writes once the group New-DistributionGroup made is found: its object id
#: (ExternalDirectoryObjectId, target) and name (params). A name alone proves nothing: someone else may make a
#: group of that name once roomsops' is gone.
GROUP_MADE = "policy.group.made"
#: The result key of a cmdlet interrupted while it ran (Ctrl-C, SIGTERM, a dropped connection): it may have run.
INTERRUPTED = "interrupted"


def record_made(audit: AuditLog, group: Group) -> None:
    """Note that roomsops made `group` (just after New-DistributionGroup, once the group is found)."""
    audit.record(GROUP_MADE, group.object_id, {"group": group.name}, "ok")


@dataclass(frozen=True)
class Origin:
    """What the audit log says of a group that exists now."""

    #: roomsops made this very group (its object id is recorded), or a policy of the app was scoped to it.
    ours: bool
    #: Object ids roomsops recorded for groups it made under this name: other objects, not this one.
    other_ids: tuple[str, ...] = ()
    #: When roomsops made a group of this name without recording its object id (before the id was recorded,
    #: or a run that stopped before the group was found): it cannot tell whether that was this group.
    unrecorded_at: str | None = None


def origin(audit: AuditLog, app_id: str, group: Group) -> Origin:
    """Whether the audit log shows that roomsops made the group (matched by its object id, never by name alone,
    except when its last record of the name is a New-DistributionGroup interrupted while it ran: the object id could
    not be read), or that a policy of `app_id` was scoped to it (made or removed by roomsops): only such a group is removed
    once no policy of the app uses it."""
    name, object_id = group.name.casefold(), group.object_id.casefold()
    other_ids: list[str] = []
    unrecorded_at = None  # a New-DistributionGroup of this name not followed by its object id
    interrupted_at = None  # ... interrupted while it ran (it may have made the group)
    for entry in audit.entries():
        params = entry.get("params") or {}
        result = entry.get("result")
        action = entry.get("action")
        if not isinstance(params, dict):
            continue
        if (
            action == "cmdlet:New-DistributionGroup"
            and isinstance(result, dict)
            and INTERRUPTED in result
            and str(params.get("Name", "")).casefold() == name
        ):
            # A restrict stopped while New-DistributionGroup ran (its group empty, with no policy): the last word
            # of the audit log on this name, with nothing recorded after it, it is taken as the group that run made.
            interrupted_at = str(entry.get("time", ""))
            unrecorded_at = None
            continue
        if action == GROUP_REMOVAL and name in {
            str(entry.get("target", "")).casefold(),
            str(params.get("group", "")).casefold(),
        }:
            interrupted_at = unrecorded_at = None  # the group roomsops made under this name went
            continue
        if result != "ok":
            continue
        target = str(entry.get("target", "")).casefold()
        if action == "cmdlet:New-DistributionGroup" and str(params.get("Name", "")).casefold() == name:
            unrecorded_at, interrupted_at = str(entry.get("time", "")), None
        elif action == GROUP_MADE and str(params.get("group", "")).casefold() == name:
            unrecorded_at = interrupted_at = None
            if target == object_id:
                return Origin(ours=True)
            other_ids.append(str(entry.get("target", "")))
        elif (
            action == "cmdlet:New-ApplicationAccessPolicy"
            and str(params.get("AppId", "")).casefold() == app_id.casefold()
            and str(params.get("PolicyScopeGroupId", "")).casefold() == object_id
        ):
            return Origin(ours=True)
        elif (
            action == "policy.remove.scope"
            and target == object_id
            and str(params.get("app_id", "")).casefold() == app_id.casefold()
        ):
            return Origin(ours=True)
    if interrupted_at is not None:
        return Origin(ours=True)
    return Origin(ours=False, other_ids=tuple(dict.fromkeys(other_ids)), unrecorded_at=unrecorded_at)


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

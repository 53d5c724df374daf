"""Get-OrganizationConfig and Set-OrganizationConfig: the tenant's EWS switch and EWS application allow list."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from roomsops.lab.cmdlets.base import CmdletSpec, Invocation, Param, exchange_error, exchange_object, names

_PAGE = "exchange/exchange-ps/ExchangePowerShell/"
_TYPES = [
    "Microsoft.Exchange.Data.Directory.Management.OrganizationConfig",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ConfigurableObject",
]
#: Set-OrganizationConfig's other documented Exchange Online parameters (refused, not silently ignored).
_OTHER_SETTINGS = names(
    "EwsAllowEntourage EwsAllowList EwsAllowMacOutlook EwsAllowOutlook EwsApplicationAccessPolicy "
    "EwsBlockList"
)


def get_organization_config(inv: Invocation) -> Iterable[Any]:
    with inv.ctx.tenant.read() as state:
        org = state.organization
        props: dict[str, Any] = {
            "Name": state.domain,
            "DisplayName": state.display_name,
            "Identity": state.domain,
            "Guid": uuid.uuid5(uuid.UUID(state.tenant_id), "organization"),
            "ExternalDirectoryOrganizationId": state.tenant_id,
            "EwsEnabled": org.ews_enabled,
            "EwsApplicationAccessPolicy": None,
            "EwsAllowList": None,
            "EwsBlockList": None,
            "EwsAllowOutlook": None,
            "EwsAllowMacOutlook": None,
            "EwsAllowEntourage": None,
        }
        # The allow list is returned only on request (Set-OrganizationConfig.md -EwsAllowedAppIDs).
        if inv.params.get("RetrieveEwsOperationAccessPolicy"):
            props["EwsAllowedAppIDs"] = list(org.ews_allowed_app_ids)
        return [exchange_object(_TYPES, props, state.domain)]


def set_organization_config(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    apps: list[str] | None = None
    if "EwsAllowedAppIDs" in params:
        apps = []
        for item in str(params.get("EwsAllowedAppIDs") or "").split(","):  # "AppId1,AppId2,...", $null clears
            if not item.strip():
                continue
            try:
                apps.append(str(uuid.UUID(item.strip())))
            except ValueError:
                inv.fail(
                    exchange_error(
                        "Set-OrganizationConfig",
                        "Microsoft.Exchange.Data.DataValidationException",
                        f"'{item.strip()}' isn't a valid application ID for EwsAllowedAppIDs. Specify application "
                        "IDs (GUIDs) separated by commas.",
                        target=item.strip(),
                    )
                )
    with inv.ctx.tenant.change() as state:
        org = state.organization
        before = (org.ews_enabled, list(org.ews_allowed_app_ids))
        if "EwsEnabled" in params:
            org.ews_enabled = params.get("EwsEnabled")
        if apps is not None:
            org.ews_allowed_app_ids = list(dict.fromkeys(apps))
        changed = before != (org.ews_enabled, list(org.ews_allowed_app_ids))
    if not changed:
        inv.warn(
            f"The command completed successfully but no settings of '{state.domain}' have been modified."
        )
    return []


CMDLETS = (
    CmdletSpec(
        "Get-OrganizationConfig",
        get_organization_config,
        (Param("RetrieveEwsOperationAccessPolicy", "switch"),),
        source=_PAGE
        + "Get-OrganizationConfig.md; "
        + _PAGE
        + "Set-OrganizationConfig.md (-EwsAllowedAppIDs)",
    ),
    CmdletSpec(
        "Set-OrganizationConfig",
        set_organization_config,
        (
            Param("EwsEnabled", "bool", type_name="System.Boolean"),
            Param("EwsAllowedAppIDs"),  # one String "id1,id2" (an array would arrive joined by spaces)
        ),
        source=_PAGE + "Set-OrganizationConfig.md",
        not_emulated=_OTHER_SETTINGS,
        should_process=True,
    ),
)

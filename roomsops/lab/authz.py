"""The one decision whether an app may open a mailbox, used by every protocol of the lab.

Later checks (EWS switches, RBAC for Applications, access policies) join here, so EWS and the cmdlets agree.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from roomsops.lab.tenant import Tenant, TenantState

#: The tenant-wide Entra application permission of Office 365 Exchange Online that opens every mailbox.
FULL_ACCESS_AS_APP = "full_access_as_app"


@dataclass(frozen=True)
class Decision:
    """allowed, a stable reason code, a human detail, and the mailbox's primary SMTP address when found."""

    allowed: bool
    reason: str  # "ok" | "app_not_found" | "no_permission" | "mailbox_not_found"
    detail: str
    mailbox: str | None = None


def authorize(
    tenant: Tenant, app_id: str, mailbox_address: str, *, token_roles: Collection[str] | None = None
) -> Decision:
    """May `app_id` open `mailbox_address` (primary or alias address, any case)?

    `token_roles`: the `roles` claim of the access token the request came with. A resource server judges
    the tenant-wide permission from the token (a revoked consent only bites with the next token); without
    it, the tenant's current consent is used (what the admin cmdlets evaluate).
    """
    with tenant.read() as state:
        return decide(state, app_id, mailbox_address, token_roles=token_roles)


def decide(
    state: TenantState, app_id: str, mailbox_address: str, *, token_roles: Collection[str] | None = None
) -> Decision:
    """`authorize()` on a state the caller already holds the lock of."""
    app = state.app_by_id(app_id)
    if app is None:
        return Decision(False, "app_not_found", f"no application with id {app_id} in tenant {state.domain}")
    roles = app.application_permissions if token_roles is None else token_roles
    # Checked before the mailbox: the resource refuses a caller without rights before resolving anything.
    if FULL_ACCESS_AS_APP not in roles:
        return Decision(
            False,
            "no_permission",
            f"application {app.display_name} ({app.app_id}) has no {FULL_ACCESS_AS_APP} permission",
        )
    mailbox = state.find_mailbox(mailbox_address)
    if mailbox is None:
        return Decision(False, "mailbox_not_found", f"no mailbox has the address {mailbox_address}")
    return Decision(
        True,
        "ok",
        f"{FULL_ACCESS_AS_APP} is consented tenant-wide for {app.display_name}",
        mailbox=mailbox.primary_smtp,
    )

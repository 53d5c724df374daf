"""`auth test`: acquire the sync app's token and judge its roles for the configured scoping engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from roomsops.adapters.entra.tokens import FULL_ACCESS, FULL_ACCESS_REMOVAL, TokenProvider
from roomsops.core.errors import ExitCode
from roomsops.core.results import Check, Result, Status


@dataclass(frozen=True)
class AuthTestResult(Result):
    tenant_id: str
    app_id: str
    credential_kind: str
    authority: str
    scope: str
    expires_on: datetime
    roles: tuple[str, ...]
    audience: str
    checks: tuple[Check, ...]
    #: A failing check could not connect or authenticate (the mailbox's service not reached): exit 3.
    unreachable: bool = field(default=False, kw_only=True, metadata={"json": False})

    @property
    def ok(self) -> bool:
        return all(c.status is not Status.FAILED for c in self.checks)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.CONNECT if not self.ok and self.unreachable else super().exit_code

    def lines(self) -> list[str]:
        out = [
            f"tenant      {self.tenant_id}",
            f"app id      {self.app_id}",
            f"credential  {self.credential_kind}",
            f"authority   {self.authority}",
            f"audience    {self.audience}",
            f"expires     {self.expires_on:%Y-%m-%d %H:%M:%S} UTC",
            f"roles       {', '.join(self.roles) or '(none)'}",
        ]
        marks = {Status.OK: "ok", Status.WARNING: "warning", Status.FAILED: "FAILED"}
        out += [
            f"{marks[c.status]:8} {c.name}: {c.message}" + (f" — {c.remedy}" if c.remedy else "")
            for c in self.checks
        ]
        return out


def auth_test(provider: TokenProvider, engine: str = "aap") -> AuthTestResult:
    """Acquire a token and judge its roles for the configured scoping engine."""
    token = provider.token()
    creds = provider.credentials
    checks = [Check("token", Status.OK, f"acquired with the {creds.kind}")]
    if engine == "rbac":
        # RBAC for Applications grants never show in the token; a tenant-wide role there adds up with them.
        if FULL_ACCESS in token.roles:
            checks.append(
                Check(
                    "roles",
                    Status.WARNING,
                    f"{FULL_ACCESS} is consented tenant-wide: the app can open every mailbox, whatever the RBAC "
                    "for Applications scopes say (the two add up)",
                    FULL_ACCESS_REMOVAL,
                )
            )
        else:
            checks.append(
                Check(
                    "roles",
                    Status.OK,
                    f"no tenant-wide {FULL_ACCESS}: only RBAC for Applications grants access",
                )
            )
    elif FULL_ACCESS in token.roles:
        checks.append(Check("roles", Status.OK, f"{FULL_ACCESS} present"))
    else:
        checks.append(
            Check(
                "roles",
                Status.FAILED,
                f"{FULL_ACCESS} is missing: EWS will refuse the app",
                "API permissions → Office 365 Exchange Online → full_access_as_app, then Grant admin consent",
            )
        )
    return AuthTestResult(
        tenant_id=creds.tenant_id,
        app_id=creds.app_id,
        credential_kind=creds.kind,
        authority=provider.authority,
        scope=provider.scope,
        expires_on=token.expires_on,
        roles=token.roles,
        audience=str(token.claims.get("aud", "")),
        checks=tuple(checks),
    )

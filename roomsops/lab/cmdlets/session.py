"""Import-Module, Connect-ExchangeOnline and Disconnect-ExchangeOnline: who the runspace acts as.

Connect-ExchangeOnline runs the checks Entra ID and Exchange Online would make of the three ways roomsops
connects: a certificate from the host's store (-AppId -CertificateThumbprint -Organization), an app-only token
(-AccessToken -Organization) and an administrator's delegated token (-AccessToken -UserPrincipalName). Its
failures are thrown by the module (OperationStopped, the message as the error id), so they end the statement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from psrpcore.types import ErrorCategory

from roomsops.lab import certstore
from roomsops.lab.bearer import BearerTokenError, verify_bearer_token
from roomsops.lab.cmdlets.base import (
    CmdletError,
    CmdletSpec,
    Connection,
    Invocation,
    Param,
    lab_limitation,
    names,
    thrown,
)
from roomsops.lab.tenant import AppRegistration, TenantState

log = logging.getLogger("roomsops.lab.winrm")

MODULE = "ExchangeOnlineManagement"
MANAGE_AS_APP = "Exchange.ManageAsApp"  # the app role Exchange Online PowerShell requires (app-only)
MANAGE_DELEGATED = "Exchange.Manage"  # the delegated scope of Exchange Online PowerShell
#: Directory roles that let an app or user administer Exchange (app-only-auth-powershell-v2: "Assign roles").
EXCHANGE_ADMIN_ROLES = frozenset(
    {"Global Administrator", "Exchange Administrator", "Exchange Recipient Administrator"}
)
ENVIRONMENTS = ("O365Default", "O365GermanyCloud", "O365China", "O365USGovGCCHigh", "O365USGovDoD")
#: Connect-ExchangeOnline's banner (Write-Host; wording of module 3.x, unverified in detail).
BANNER = (
    "----------------------------------------------------------------------------------------\n"
    "This V3 EXO PowerShell module contains new REST API backed Exchange Online cmdlets which doesn't require "
    "WinRM for Client-Server communication. You can now run these cmdlets after turning off WinRM Basic Auth in "
    "your client machine thus making it more secure.\n\n"
    "Unlike the EXO* prefixed cmdlets, the cmdlets in this module support full functional parity with the RPS "
    "(V1) cmdlets.\n\n"
    "V3 cmdlets in the downloaded module are resilient to transient failures, handling retries and throttling "
    "errors inherently.\n\n"
    "For more information check https://aka.ms/exov3-module\n"
    "----------------------------------------------------------------------------------------\n"
)


def import_module(inv: Invocation) -> Iterable[Any]:
    for name in inv.params.get("Name") or []:
        if name.casefold() != MODULE.casefold():
            inv.error(
                CmdletError(
                    f"The specified module '{name}' was not loaded because no valid module file was found in any "
                    "module directory.",
                    "Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand",
                    category=ErrorCategory.ResourceUnavailable,
                    exception_type="System.IO.FileNotFoundException",
                    activity="Import-Module",
                    target_name=name,
                    target=name,
                    command="Import-Module",
                )
            )
            continue
        inv.session.modules.add(MODULE)
    return []


def connect(inv: Invocation) -> Iterable[Any]:
    params = inv.params
    environment = params.get("ExchangeEnvironmentName") or "O365Default"
    if environment != "O365Default":
        raise lab_limitation(
            "LabEnvironmentNotEmulated",
            f"the lab emulates the O365Default environment only; -ExchangeEnvironmentName {environment} would "
            "sign in to another cloud, which does not know this tenant.",
            command="Connect-ExchangeOnline",
        )
    with inv.ctx.tenant.read() as state:
        if params.get("AccessToken"):
            connection = _by_token(inv, state)
        elif params.get("CertificateThumbprint") or params.get("AppId"):
            connection = _by_certificate(inv, state)
        else:
            raise lab_limitation(
                "LabInteractiveSignInNotEmulated",
                "interactive sign-in (a browser on the management host) is not emulated; connect with "
                "-AppId -CertificateThumbprint -Organization or with -AccessToken.",
                command="Connect-ExchangeOnline",
            )
    inv.session.modules.add(MODULE)  # module autoloading: Connect-ExchangeOnline imports it
    inv.session.connection = connection
    if params.get("ShowBanner", True) is not False:
        inv.sink.information(BANNER, "Connect-ExchangeOnline")
    return []


def disconnect(inv: Invocation) -> Iterable[Any]:
    # Removes the connection and the module's generated cmdlets (they are unknown again afterwards).
    inv.session.connection = None
    return []


def _fail(message: str, exception_type: str = "System.Exception") -> CmdletError:
    return thrown(message, exception_type, command="Connect-ExchangeOnline")


def _organization(state: TenantState, organization: str | None) -> str:
    if not organization:
        raise _fail(
            "Please specify the Organization parameter (the primary .onmicrosoft.com domain of the tenant) when "
            "connecting with an application.",
            "System.ArgumentException",
        )
    if organization.strip().casefold() != state.domain.casefold():
        raise _fail(
            f"AADSTS90002: Tenant '{organization.strip()}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud. Check with your subscription administrator, this "
            "may happen if there are no active subscriptions for the tenant.",
            "Microsoft.Identity.Client.MsalServiceException",
        )
    return state.domain


def _app_may_administer(app: AppRegistration, roles: Iterable[str]) -> None:
    """Exchange Online's own check of an app-only caller: the role, then a supported directory role."""
    if MANAGE_AS_APP not in roles:
        raise _fail("UnAuthorized", "System.UnauthorizedAccessException")
    if not EXCHANGE_ADMIN_ROLES.intersection(app.directory_roles):
        raise _fail(
            f"The role assigned to application {app.app_id} isn't supported in this scenario. Please check online "
            "documentation for assigning correct Directory Roles to Azure AD Application for EXO App-Only "
            "Authentication."
        )


def _by_certificate(inv: Invocation, state: TenantState) -> Connection:
    params = inv.params
    app_id = params.get("AppId")
    thumbprint = params.get("CertificateThumbprint")
    if not app_id or not thumbprint:
        raise _fail(
            "Please specify both AppId and CertificateThumbprint (with Organization) for certificate based "
            "authentication.",
            "System.ArgumentException",
        )
    # The module reads the certificate from the local store first; Entra ID then judges tenant, app and key.
    cert = certstore.find(state, thumbprint)
    if cert is None:
        raise _fail(
            f"No certificate with thumbprint {thumbprint} was found in the certificate store "
            "(Cert:\\CurrentUser\\My or Cert:\\LocalMachine\\My) of this computer.",
            "System.Security.Cryptography.CryptographicException",
        )
    if not cert["has_private_key"] or not certstore.key_readable(
        cert, inv.session.account, groups=[certstore.ADMINISTRATORS]
    ):
        # What signing with a certificate whose key is absent or unreadable throws on Windows.
        raise _fail("Keyset does not exist", "System.Security.Cryptography.CryptographicException")
    organization = _organization(state, params.get("Organization"))
    app = state.app_by_id(app_id)
    if app is None:
        raise _fail(
            f"AADSTS700016: Application with identifier '{app_id}' was not found in the directory "
            f"'{state.display_name}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.",
            "Microsoft.Identity.Client.MsalServiceException",
        )
    if not any(c.thumbprint_sha1.upper() == cert["thumbprint"].upper() for c in app.certificates):
        raise _fail(
            "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered "
            f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
            f"'{cert['thumbprint'].upper()}', Please visit the Azure Portal, Entra ID, App registrations "
            f"and confirm that the certificate is registered on the application '{app.app_id}'.]",
            "Microsoft.Identity.Client.MsalServiceException",
        )
    if certstore.expired(cert):
        raise _fail(
            "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., "
            f"Thumbprint of key used by client: '{cert['thumbprint'].upper()}']",
            "Microsoft.Identity.Client.MsalServiceException",
        )
    _app_may_administer(app, app.application_permissions)
    return Connection("app", app.app_id, app.display_name, organization, "CertificateThumbprint", time.time())


def _by_token(inv: Invocation, state: TenantState) -> Connection:
    params = inv.params
    token = str(params.get("AccessToken"))
    try:
        claims = verify_bearer_token(
            token, inv.ctx.pki.signing, audiences=inv.ctx.resources, tenant_id=state.tenant_id
        )
    except BearerTokenError as exc:
        # Exchange Online answers a bad token with 401; the module reports just that (the reason: lab log).
        log.info("Connect-ExchangeOnline -AccessToken refused: %s (%s)", exc.reason, exc)
        raise _fail("UnAuthorized", "System.UnauthorizedAccessException") from None
    upn = params.get("UserPrincipalName")
    if claims.get("idtyp") == "user" or "scp" in claims:
        if not upn:
            raise _fail(
                "Please specify the UserPrincipalName parameter of the signed-in user with a delegated "
                "-AccessToken.",
                "System.ArgumentException",
            )
        token_upn = str(claims.get("upn") or claims.get("unique_name") or "")
        if token_upn.casefold() != upn.strip().casefold():
            raise _fail(
                f"The UserPrincipalName {upn} does not match the user of the access token ({token_upn}).",
                "System.ArgumentException",
            )
        if MANAGE_DELEGATED not in str(claims.get("scp", "")).split():
            raise _fail("UnAuthorized", "System.UnauthorizedAccessException")
        user = state.admin_user
        if user.upn.casefold() != token_upn.casefold() or not EXCHANGE_ADMIN_ROLES.intersection(
            user.directory_roles
        ):
            raise _fail("UnAuthorized", "System.UnauthorizedAccessException")
        organization = state.domain
        if params.get("Organization"):
            organization = _organization(state, params.get("Organization"))
        return Connection(
            "user", str(claims.get("appid", "")), user.upn, organization, "AccessToken", time.time()
        )
    organization = _organization(state, params.get("Organization"))
    app = state.app_by_id(str(claims.get("appid", "")))
    if app is None:
        raise _fail("UnAuthorized", "System.UnauthorizedAccessException")
    _app_may_administer(app, claims.get("roles") or [])
    return Connection("app", app.app_id, app.display_name, organization, "AccessToken", time.time())


_CONNECT_SOURCE = "exchange/exchange-ps/ExchangePowerShell/Connect-ExchangeOnline.md"
CMDLETS = (
    CmdletSpec(
        "Import-Module",
        import_module,
        (Param("Name", "strings", mandatory=True, position=0), Param("Force", "switch")),
        source="powershell/module/microsoft.powershell.core/import-module",
        exchange=False,
        error_suffix="Microsoft.PowerShell.Commands.ImportModuleCommand",
        not_emulated=names(
            "Prefix Function Cmdlet Variable Alias PassThru AsCustomObject MinimumVersion MaximumVersion "
            "RequiredVersion ArgumentList DisableNameChecking NoClobber Scope Global FullyQualifiedName Assembly "
            "ModuleInfo SkipEditionCheck UseWindowsPowerShell"
        ),
    ),
    CmdletSpec(
        "Connect-ExchangeOnline",
        connect,
        (
            Param(
                "ExchangeEnvironmentName",
                "enum",
                position=2,
                choices=ENVIRONMENTS,
                type_name="Microsoft.Exchange.Management.RestApiClient.ExchangeEnvironment",
            ),
            Param("AccessToken"),
            Param("AppId"),
            Param("CertificateThumbprint"),
            Param("Organization"),
            Param("UserPrincipalName"),
            Param("ShowBanner", "switch"),
            Param("ShowProgress", "bool"),
            Param("SkipLoadingFormatData", "switch"),
            Param("SkipLoadingCmdletHelp", "switch"),
            Param("LoadCmdletHelp", "switch"),
            Param("PageSize", "int", type_name="System.UInt32"),
            Param("TrackPerformance", "bool"),
            Param("UseMultithreading", "bool"),
            Param("EnableErrorReporting", "switch"),
            Param("LogDirectoryPath"),
            Param("LogLevel"),
            Param("DisableWAM", "switch"),
        ),
        source=_CONNECT_SOURCE,
        exchange=False,  # it is the module's entry point, available (autoloaded) before any connection
        not_emulated=names(
            "ConnectionUri AzureADAuthorizationEndpointUri PSSessionOption DelegatedOrganization Prefix "
            "CommandName FormatTypeName BypassMailboxAnchoring Certificate CertificateFilePath "
            "CertificatePassword Credential Device EXOModuleBasePath InlineCredential ManagedIdentity "
            "ManagedIdentityAccountId SigningCertificate UseRPSSession"
        ),
    ),
    CmdletSpec(
        "Disconnect-ExchangeOnline",
        disconnect,
        (),
        source="exchange/exchange-ps/ExchangePowerShell/Disconnect-ExchangeOnline.md",
        exchange=False,
        not_emulated=("ConnectionId", "ModulePrefix"),
        should_process=True,
        confirm_by_default=True,  # "This example asks for confirmation before disconnecting"
    ),
)

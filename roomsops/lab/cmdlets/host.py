"""Commands of the Windows management host itself (not Exchange): Get-ChildItem on Cert:\\, Start-Sleep,
and the one script roomsops ships, Test-CertificateKeyAccess (emulated from the host's certificate store).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from psrpcore.types import ErrorCategory, PSNoteProperty, PSObject

from roomsops.lab import certstore
from roomsops.lab.cmdlets.base import (
    CmdletError,
    CmdletSpec,
    Invocation,
    Param,
    custom_object,
    lab_limitation,
    names,
)

#: The first line that marks roomsops' own script (roomsops/powershell/Test-CertificateKeyAccess.ps1).
KEY_ACCESS_SCRIPT_HEADER = "# roomsops:Test-CertificateKeyAccess v2"  # v2: Deny entries count
KEY_ACCESS_SCRIPT = "Test-CertificateKeyAccess"

_GCI = "Microsoft.PowerShell.Commands.GetChildItemCommand"
_PROVIDER = "Microsoft.PowerShell.Security\\Certificate"
_MY = re.compile(r"^cert:\\+localmachine\\+my\\*(?:\\(?P<thumb>[^\\]+))?\\*$", re.IGNORECASE)
_CURRENT_USER_MY = re.compile(r"^cert:\\+currentuser\\+my\\*$", re.IGNORECASE)
_X509_TYPES = [
    "System.Security.Cryptography.X509Certificates.X509Certificate2",
    "System.Security.Cryptography.X509Certificates.X509Certificate",
    "System.Object",
]


def get_child_item(inv: Invocation) -> Iterable[Any]:
    paths = inv.params.get("Path") or inv.params.get("LiteralPath") or []
    if not paths:
        raise lab_limitation(
            "LabPathNotEmulated",
            "Get-ChildItem needs -Path Cert:\\LocalMachine\\My[\\<thumbprint>] in the lab.",
            command="Get-ChildItem",
        )
    out: list[Any] = []
    with inv.ctx.tenant.read() as state:
        for path in paths:
            if _CURRENT_USER_MY.match(path):
                continue  # the WinRM account's own store is empty
            match = _MY.match(path)
            if match is None:
                raise lab_limitation(
                    "LabPathNotEmulated",
                    f"only {certstore.STORE_PATH} is emulated; Get-ChildItem -Path '{path}' is not.",
                    command="Get-ChildItem",
                )
            thumbprint = match["thumb"]
            if thumbprint is None:
                out.extend(certificate_object(c) for c in certstore.store(state))
                continue
            cert = certstore.find(state, thumbprint)
            if cert is None:
                inv.error(path_not_found(path))
                continue
            out.append(certificate_object(cert))
    return out


def path_not_found(path: str) -> CmdletError:
    return CmdletError(
        f"Cannot find path '{path}' because it does not exist.",
        f"PathNotFound,{_GCI}",
        category=ErrorCategory.ObjectNotFound,
        exception_type="System.Management.Automation.ItemNotFoundException",
        activity="Get-ChildItem",
        target_name=path,
        target=path,
        command="Get-ChildItem",
    )


def certificate_object(cert: dict[str, Any]) -> PSObject:
    """An X509Certificate2 from the certificate provider: .NET properties adapted, the provider's PS* noted."""
    thumbprint = cert["thumbprint"].upper()
    obj = PSObject()
    obj.PSObject.type_names = list(_X509_TYPES)
    adapted = {
        "Thumbprint": thumbprint,
        "Subject": cert["subject"],
        "Issuer": cert["issuer"],
        "NotBefore": certstore.not_before(cert),
        "NotAfter": certstore.not_after(cert),
        "HasPrivateKey": bool(cert["has_private_key"]),
        "FriendlyName": cert.get("friendly_name", ""),
        "SerialNumber": thumbprint[:32],
        "Version": 3,
        "Archived": False,
    }
    for name, value in adapted.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, value))
    parent = f"{_PROVIDER}::LocalMachine\\My"
    notes = {
        "PSPath": f"{parent}\\{thumbprint}",
        "PSParentPath": parent,
        "PSChildName": thumbprint,
        "PSDrive": "Cert",
        "PSProvider": _PROVIDER,
        "PSIsContainer": False,
        "DnsNameList": [cert["subject"].removeprefix("CN=")],
    }
    for name, value in notes.items():
        obj.PSObject.extended_properties.append(PSNoteProperty(name, value))
    obj.PSObject.to_string = f"[Subject]\r\n  {cert['subject']}\r\n\r\n[Thumbprint]\r\n  {thumbprint}\r\n"
    return obj


def start_sleep(inv: Invocation) -> Iterable[Any]:
    seconds = float(inv.params.get("Seconds") or 0) + float(inv.params.get("Milliseconds") or 0) / 1000
    inv.sleep(seconds)  # a stop signal ends it at once (PipelineStopped)
    return []


def key_access(inv: Invocation) -> Iterable[Any]:
    """roomsops' Test-CertificateKeyAccess script: one object per call, as the script's last statement."""
    thumbprint = str(inv.params.get("Thumbprint"))
    account = str(inv.params.get("Account"))
    with inv.ctx.tenant.read() as state:
        cert = certstore.find(state, thumbprint)
        if cert is None:
            return [
                custom_object(
                    {
                        "Found": False,
                        "Thumbprint": thumbprint,
                        "Subject": None,
                        "NotAfter": None,
                        "HasPrivateKey": False,
                        "KeyReadable": None,
                        "Account": account,
                    }
                )
            ]
        return [
            custom_object(
                {
                    "Found": True,
                    "Thumbprint": cert["thumbprint"].upper(),
                    "Subject": cert["subject"],
                    "NotAfter": certstore.not_after(cert),
                    "HasPrivateKey": bool(cert["has_private_key"]),
                    "KeyReadable": certstore.key_readable(cert, account),
                    "Account": account,
                }
            )
        ]


CMDLETS = (
    CmdletSpec(
        "Get-ChildItem",
        get_child_item,
        (Param("Path", "strings", position=0), Param("LiteralPath", "strings", aliases=("PSPath", "LP"))),
        source="powershell/module/microsoft.powershell.management/get-childitem; .../microsoft.powershell.security/about/about_certificate_provider",
        exchange=False,
        error_suffix=_GCI,
        not_emulated=names(
            "Filter Include Exclude Recurse Depth Force Name Attributes FollowSymlink Directory File Hidden "
            "ReadOnly System CodeSigningCert DocumentEncryptionCert SSLServerAuthentication DnsName Eku "
            "ExpiringInDays"
        ),
    ),
    CmdletSpec(
        "Start-Sleep",
        start_sleep,
        (
            Param("Seconds", "int", position=0, type_name="System.Double", aliases=("s",)),
            Param("Milliseconds", "int", type_name="System.Int32", aliases=("ms",)),
        ),
        source="powershell/module/microsoft.powershell.utility/start-sleep",
        exchange=False,
        error_suffix="Microsoft.PowerShell.Commands.StartSleepCommand",
        not_emulated=("Duration",),
    ),
)

#: The script's own parameters (both mandatory, as its param() block declares).
KEY_ACCESS_SPEC = CmdletSpec(
    KEY_ACCESS_SCRIPT,
    key_access,
    (Param("Thumbprint", mandatory=True), Param("Account", mandatory=True)),
    source="roomsops/powershell/Test-CertificateKeyAccess.ps1 (roomsops' own script)",
    exchange=False,
)

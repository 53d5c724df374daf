"""The certificate ROOMS loads, as the management host's certificate store sees it: present, valid, and
its private key readable by the ROOMS service account (roomsops' one shipped script)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from roomsops.adapters.exo.session import ExchangeSession
from roomsops.core.errors import OperationFailed

KEY_ACCESS_SCRIPT = "Test-CertificateKeyAccess.ps1"


def key_access_script() -> str:
    """roomsops' one script: reads a private key's ACL, which no cmdlet can (values bound as parameters)."""
    return (
        resources.files("roomsops.adapters.exo.powershell")
        .joinpath(KEY_ACCESS_SCRIPT)
        .read_text(encoding="utf-8")
    )


@dataclass(frozen=True)
class HostCertificate:
    """A certificate as the management host's store reports it, with the service account's key access."""

    found: bool
    thumbprint: str
    subject: str | None
    not_after: datetime | None
    has_private_key: bool
    key_readable: bool | None
    account: str


def _datetime(value: Any) -> datetime | None:
    """A deserialized DateTime: pypsrp gives datetime objects or ISO text, depending on the serializer."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def host_certificate(session: ExchangeSession, thumbprint: str, account: str) -> HostCertificate:
    out = session.run_script(key_access_script(), {"Thumbprint": thumbprint, "Account": account})
    if not out:
        raise OperationFailed("the certificate check on the host returned nothing", "run with --debug")
    row = out[0]
    not_after = row.get("NotAfter")
    return HostCertificate(
        found=bool(row.get("Found")),
        thumbprint=str(row.get("Thumbprint") or thumbprint),
        subject=row.get("Subject"),
        not_after=_datetime(not_after),
        has_private_key=bool(row.get("HasPrivateKey")),
        key_readable=row.get("KeyReadable"),
        account=account,
    )

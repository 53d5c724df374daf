"""The management host's certificate store `Cert:\\LocalMachine\\My`, as part of the tenant state.

Each certificate is a record (thumbprint, subject, issuer, validity, whether its private key is present, and
the accounts allowed to read that key: its ACL). Connect-ExchangeOnline -CertificateThumbprint, Get-ChildItem
Cert:\\ and roomsops' Test-CertificateKeyAccess script read it; POST /lab/certstore changes it for tests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from roomsops.lab.tenant import TenantState

JsonObject = dict[str, Any]
STORE_PATH = "Cert:\\LocalMachine\\My"
#: Groups every account belongs to (the SIDs roomsops' script checks next to the account's own).
EVERYONE = ("Everyone", "NT AUTHORITY\\Authenticated Users", "BUILTIN\\Users")
ADMINISTRATORS = "BUILTIN\\Administrators"
_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")


def store(state: TenantState) -> list[JsonObject]:
    """The store's records (seeded with the apps' certificates; never None once the tenant is open)."""
    if state.management_host.certificates is None:
        state.management_host.certificates = []
    return state.management_host.certificates


def find(state: TenantState, thumbprint: str) -> JsonObject | None:
    wanted = thumbprint.strip().upper()
    return next((c for c in store(state) if c["thumbprint"].upper() == wanted), None)


def valid_thumbprint(value: str) -> bool:
    return _THUMBPRINT.match(value) is not None


def key_readable(cert: JsonObject, account: str, groups: Iterable[str] = ()) -> bool | None:
    """Whether `account` may read the private key (None when there is no key to read).

    An account reads it when the ACL allows the account, one of its `groups`, or a group everyone is in, and
    denies none of them: `key_denied` are explicit Deny entries, which Windows orders before every Allow
    (canonical ACL order), so a Deny for the account or any of its groups wins.
    """
    if not cert.get("has_private_key"):
        return None
    names = {account.casefold(), *(g.casefold() for g in groups), *(e.casefold() for e in EVERYONE)}
    if any(denied.casefold() in names for denied in cert.get("key_denied", [])):
        return False
    return any(reader.casefold() in names for reader in cert.get("key_readers", []))


def not_after(cert: JsonObject) -> dt.datetime:
    return _time(cert["not_after"])


def not_before(cert: JsonObject) -> dt.datetime:
    return _time(cert["not_before"])


def expired(cert: JsonObject, now: dt.datetime | None = None) -> bool:
    return not_after(cert) < (now or dt.datetime.now(dt.UTC))


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

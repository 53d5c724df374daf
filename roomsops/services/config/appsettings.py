"""The `config` service: create, show, change and check the sync credentials in RoomsAppSettings.config.

Each change is planned on a parsed copy first; destructive changes are confirmed before anything
is written, and writes are atomic with a `.bak` of the previous file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roomsops import __version__
from roomsops.adapters.appsettings.document import AppSettingsDoc, check_key, read_document, write_atomic
from roomsops.adapters.appsettings.keys import (
    APP_ID,
    CERT_THUMBPRINT,
    CLIENT_SECRET,
    CREDENTIAL_KEYS,
    KNOWN_KEYS,
    TENANT_ID,
    known_key,
    value_problem,
)
from roomsops.adapters.appsettings.lock import edit_lock
from roomsops.adapters.certs import days_left, load_certificate_file, normalize_guid, normalize_thumbprint
from roomsops.core.addresses import closest
from roomsops.core.errors import InputError
from roomsops.core.logs import MASK, AuditLog, register_secret
from roomsops.core.results import Check, CheckReport, Result, Status
from roomsops.core.secrets import is_secret_key
from roomsops.core.settings import Settings
from roomsops.core.templates import render, shellword

if TYPE_CHECKING:
    from roomsops.adapters.exo.hostcert import HostCertificate

_OTHER_KIND = {CLIENT_SECRET: CERT_THUMBPRINT, CERT_THUMBPRINT: CLIENT_SECRET}
_GUID_LABELS = {TENANT_ID: "tenant id", APP_ID: "app id"}
RESTART_NOTE = "Restart the ROOMS service so that it reads the changed settings."
EXPIRY_WARNING_DAYS = 30

Confirm = Callable[[str], None]


@dataclass(frozen=True)
class Credential:
    """Either a client secret or a certificate thumbprint (the two kinds ROOMS knows)."""

    key: str
    value: str

    def __repr__(self) -> str:
        shown = MASK if self.key == CLIENT_SECRET else self.value
        return f"Credential(key={self.key!r}, value={shown!r})"


@dataclass(frozen=True)
class ConfigEntry:
    key: str
    value: str
    secret: bool


@dataclass(frozen=True)
class ConfigShow(Result):
    path: str
    entries: tuple[ConfigEntry, ...]

    def lines(self) -> list[str]:
        width = max((len(e.key) for e in self.entries), default=0)
        return [f"{e.key.ljust(width)}  {e.value}" for e in self.entries]


@dataclass(frozen=True)
class ConfigWrite(Result):
    path: str
    action: str  # created | updated | unchanged
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    backup: str | None = None

    def lines(self) -> list[str]:
        if self.action == "unchanged":
            return [f"{self.path}: unchanged"]
        out = [f"{self.path}: {self.action}"]
        out += [f"  set    {key}" for key in self.changed]
        out += [f"  unset  {key}" for key in self.removed]
        if self.backup:
            out.append(f"  previous file kept as {self.backup}")
        return out


def _validated(key: str, value: str, warnings: list[str]) -> str:
    """Validate and normalise a value for `key`; copy artefacts that were removed become warnings."""
    if key in _GUID_LABELS:
        norm = normalize_guid(value, _GUID_LABELS[key])
    elif key == CERT_THUMBPRINT:
        norm = normalize_thumbprint(value)
    else:
        problem = value_problem(key, value)
        if problem is not None:
            raise InputError(
                f"{problem}; nothing was changed",
                f"run 'roomsops config set {key} VALUE' with a value of that form",
            )
        if key == CLIENT_SECRET and not value.strip():
            raise InputError(
                "the client secret is empty",
                "copy the secret's Value from Certificates & secrets in the app registration",
            )
        if is_secret_key(key):
            register_secret(value)
        return value
    if norm.artefacts:
        label = _GUID_LABELS.get(key, "thumbprint")
        warnings.append(
            f"removed from the {label}: {', '.join(norm.artefacts)} (copy artefacts); wrote {norm.value}"
        )
    return norm.value


def _plan_credentials(doc: AppSettingsDoc, wanted: Mapping[str, str]) -> tuple[list[str], list[str], bool]:
    """Apply `wanted` to doc; returns (changed keys, removed keys, replaces existing credentials)."""
    changed: list[str] = []
    removed: list[str] = []
    destructive = False
    for key, value in wanted.items():
        old = doc.get(key)
        if old == value:
            continue
        if old and key in CREDENTIAL_KEYS:
            destructive = True
        doc.set(key, value)
        changed.append(key)
        other = _OTHER_KIND.get(key)
        # Every spelling of the other kind: .NET reads keys case-insensitively, so any would be a credential.
        for spelling in [k for k in doc.keys() if other and k.casefold() == other.casefold()]:
            if doc.get(spelling):
                destructive = True
            doc.unset(spelling)
            removed.append(spelling)
    return changed, removed, destructive


def _commit(
    path: Path,
    doc: AppSettingsDoc,
    action: str,
    changed: list[str],
    removed: list[str],
    audit: AuditLog,
    warnings: list[str],
) -> ConfigWrite:
    if not changed and not removed:
        return ConfigWrite(path=str(path), action="unchanged", notes=tuple(f"Warning: {w}" for w in warnings))
    backup = write_atomic(path, doc.to_bytes())
    audit.record(
        f"config.{action}",
        str(path),
        {k: doc.get(k) for k in changed} | {k: None for k in removed},
        "ok",
        removed=removed,
    )
    notes = (*tuple(f"Warning: {w}" for w in warnings), RESTART_NOTE)
    return ConfigWrite(
        path=str(path),
        action="updated",
        changed=tuple(changed),
        removed=tuple(removed),
        backup=str(backup) if backup else None,
        notes=notes,
    )


def init(
    path: Path, tenant_id: str, app_id: str, credential: Credential, confirm: Confirm, audit: AuditLog
) -> ConfigWrite:
    """Create the file from the template, or set the credential keys of an existing one in place."""
    if is_secret_key(credential.key):
        register_secret(credential.value)  # before any check: a secret pasted into --tenant-id is masked
    if not path.exists() and not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", "create it, or pass another --app-settings")
    with edit_lock(path):
        return _init(path, tenant_id, app_id, credential, confirm, audit)


def _init(
    path: Path, tenant_id: str, app_id: str, credential: Credential, confirm: Confirm, audit: AuditLog
) -> ConfigWrite:
    warnings: list[str] = []
    wanted = {
        TENANT_ID: _validated(TENANT_ID, tenant_id, warnings),
        APP_ID: _validated(APP_ID, app_id, warnings),
        credential.key: _validated(credential.key, credential.value, warnings),
    }
    if wanted[APP_ID] == wanted[TENANT_ID]:
        raise InputError(
            f"--app-id is the --tenant-id ({wanted[TENANT_ID]}): {SAME_IDS}; nothing was changed",
            f"give --app-id the {APP_ID_HINT}",
        )
    if not path.exists():
        text = render(
            "RoomsAppSettings.config.j2",
            version=__version__,
            tenant_id=wanted[TENANT_ID],
            app_id=wanted[APP_ID],
            client_secret=wanted.get(CLIENT_SECRET),
            cert_thumbprint=wanted.get(CERT_THUMBPRINT),
        )
        # ROOMS runs on Windows: a new file gets what Windows editors write (BOM, CRLF).
        data = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
        AppSettingsDoc.parse(data, str(path))
        write_atomic(path, data, backup=False)
        audit.record("config.init", str(path), wanted, "created")
        notes = (*tuple(f"Warning: {w}" for w in warnings), RESTART_NOTE)
        return ConfigWrite(path=str(path), action="created", changed=tuple(wanted), notes=notes)
    doc = read_document(path)
    # The same key in another case is that key (.NET reads keys case-insensitively, as `config set` takes it): it
    # is replaced, not left beside the documented spelling (two secrets on disk, and a spelling that may win).
    variants = [v for key in wanted for v in _case_variants(doc, key)]
    replaced = any(
        key in CREDENTIAL_KEYS and doc.get(v) and doc.get(v) != value
        for key, value in wanted.items()
        for v in _case_variants(doc, key)
    )
    for variant in variants:
        doc.unset(variant)
    changed, removed, destructive = _plan_credentials(doc, wanted)
    if variants:
        changed += [
            k for k in wanted if k not in changed and any(v.casefold() == k.casefold() for v in variants)
        ]
        respelled = [f"{v} by {k}" for k in wanted for v in variants if v.casefold() == k.casefold()]
        warnings.append(f"replaced {', '.join(respelled)} (the same key in another case)")
    if destructive or replaced:
        confirm(f"Replace the Exchange credentials in {path}?")
    return _commit(path, doc, "init", changed, [*variants, *removed], audit, warnings)


def resolve_key(key: str, force: bool, verb: str) -> str:
    """The key as ROOMS spells it: a case variant of a documented key is that key (.NET reads keys
    case-insensitively, so a second spelling could win); an undocumented key is refused with the closest
    documented one, unless --force (exit 2, nothing changed)."""
    check_key(key)
    known = known_key(key)
    if known is not None:
        return known
    if force:
        return key
    near = closest(key, KNOWN_KEYS)
    raise InputError(
        f"{key!r} is not a key ROOMS documents for RoomsAppSettings.config"
        + (f" (closest: {near})" if near else "")
        + "; nothing was changed",
        (
            f"use {near}, or "
            if near
            else "check the spelling (README, 'Keys of RoomsAppSettings.config'), or "
        )
        + f"add --force to {verb} a key ROOMS does not document",
        code="unknown_key",
    )


def _case_variants(doc: AppSettingsDoc, key: str) -> list[str]:
    """The other spellings of `key` in the file (differing only in case)."""
    return [k for k in doc.keys() if k != key and k.casefold() == key.casefold()]


def set_key(
    path: Path, key: str, value: str, confirm: Confirm, audit: AuditLog, force: bool = False
) -> ConfigWrite:
    """Set one key; a credential kind replaces the other kind (exactly one remains); another spelling of the
    key in the file is replaced by this one."""
    key = resolve_key(key, force, "set")
    with edit_lock(path):  # read under the lock: a parallel run's change is in what we write back
        doc = read_document(path)
        warnings: list[str] = []
        value = _validated(key, value, warnings)
        other = {APP_ID: TENANT_ID, TENANT_ID: APP_ID}.get(key)
        if other is not None and _same_guid(value, doc.effective(other)):
            raise InputError(
                f"{key} {value} is the file's {other}: {SAME_IDS}; nothing was changed",
                f"set {APP_ID} to the {APP_ID_HINT}",
            )
        variants = _case_variants(doc, key)
        for variant in variants:
            doc.unset(variant)
        changed, removed, destructive = _plan_credentials(doc, {key: value})
        if variants and key not in changed:
            changed.append(key)
        removed = [*variants, *removed]
        if variants:
            warnings.append(f"replaced {', '.join(variants)} (the same key in another case) by {key}")
        if destructive or (variants and key in CREDENTIAL_KEYS):
            confirm(f"Replace {', '.join(changed + removed)} in {path}?")
        return _commit(path, doc, "set", changed, removed, audit, warnings)


def unset_key(path: Path, key: str, confirm: Confirm, audit: AuditLog, force: bool = False) -> ConfigWrite:
    """Remove a key, in every spelling the file has it. With --force, a key the file holds as written is removed
    even when no key may be set so (a stray space left by a hand edit: `config check` names it so)."""
    if not (force and key != key.strip() and key in read_document(path).keys()):
        key = resolve_key(key, force, "unset")
    with edit_lock(path):
        doc = read_document(path)
        spellings = [k for k in doc.keys() if k.casefold() == key.casefold()] or [key]
        for spelling in spellings:
            doc.unset(spelling)
        if key in CREDENTIAL_KEYS:
            confirm(f"Remove {', '.join(spellings)} from {path}?")
        return _commit(path, doc, "unset", [], spellings, audit, [])


def show(path: Path) -> ConfigShow:
    doc = read_document(path)
    entries = []
    for key, value in doc.items():
        secret = is_secret_key(key)
        if secret and value:
            register_secret(value)
        entries.append(ConfigEntry(key=key, value=MASK if secret and value else value, secret=secret))
    return ConfigShow(path=str(path), entries=tuple(entries))


#: The tenant id pasted as the app id (the two lines of the app's Overview page): every token request then fails
#: (AADSTS700016, application not found in the directory).
SAME_IDS = "no application's client id is its directory's id"
APP_ID_HINT = (
    "'Application (client) ID' from the app registration's Overview page in the Entra admin center (the "
    "'Directory (tenant) ID' shown with it is the tenant id)"
)


def _same_guid(value: str, other: str | None) -> bool:
    """`value` (normalised) is `other` as the file holds it (with braces, capitals or copy artefacts)."""
    if not other:
        return False
    try:
        return normalize_guid(other, "id").value == value
    except InputError:  # not a GUID: `config check` names it
        return False


def _check_guid(doc: AppSettingsDoc, key: str) -> Check:
    value = doc.effective(key)
    if not value:
        return Check(
            key,
            Status.FAILED,
            f"{key} is missing",
            f"roomsops config set {key} <GUID from the app registration's Overview page>",
        )
    try:
        norm = normalize_guid(value, _GUID_LABELS[key])
    except InputError as exc:
        return Check(key, Status.FAILED, exc.message, exc.remedy)
    if norm.artefacts or norm.value != value:
        return Check(
            key,
            Status.FAILED,
            f"{key} contains {', '.join(norm.artefacts) or 'braces or capitals'}",
            f"roomsops config set {key} {norm.value}",
        )
    if key == APP_ID and _same_guid(norm.value, doc.effective(TENANT_ID)):
        return Check(
            key,
            Status.FAILED,
            f"{APP_ID} is the {TENANT_ID} ({value}): {SAME_IDS}; every token request fails (AADSTS700016)",
            f"roomsops config set {APP_ID} <the {APP_ID_HINT}>",
        )
    return Check(key, Status.OK, value)


def _check_credential(doc: AppSettingsDoc) -> list[Check]:
    secret, thumbprint = doc.effective(CLIENT_SECRET), doc.effective(CERT_THUMBPRINT)
    if secret is not None and thumbprint is not None:
        return [
            Check(
                "credential",
                Status.FAILED,
                f"both {CLIENT_SECRET} and {CERT_THUMBPRINT} are set",
                f"keep one: roomsops config unset {CLIENT_SECRET} (or {CERT_THUMBPRINT})",
            )
        ]
    if secret is None and thumbprint is None:
        return [
            Check(
                "credential",
                Status.FAILED,
                f"neither {CLIENT_SECRET} nor {CERT_THUMBPRINT} is set",
                "roomsops config init ... --client-secret-stdin or --cert-thumbprint HEX",
            )
        ]
    if secret is not None:
        register_secret(secret)
        if not secret.strip():
            return [
                Check(
                    "credential",
                    Status.FAILED,
                    f"{CLIENT_SECRET} is empty",
                    "roomsops config set ExchangeClientSecret - (reads the secret from stdin)",
                )
            ]
        if secret.strip().lower() in {"xxx", "<secret>", "changeme"}:
            return [
                Check(
                    "credential",
                    Status.FAILED,
                    f"{CLIENT_SECRET} is still a placeholder",
                    "paste the secret's Value from Certificates & secrets",
                )
            ]
        try:
            normalize_guid(secret, "secret")
        except InputError:
            return [Check("credential", Status.OK, "client secret (value not shown)")]
        return [
            Check(
                "credential",
                Status.FAILED,
                f"{CLIENT_SECRET} looks like a Secret ID (a GUID), not its Value",
                "copy the Value column under Certificates & secrets (shown only once when created)",
            )
        ]
    assert thumbprint is not None
    try:
        norm = normalize_thumbprint(thumbprint)
    except InputError as exc:
        return [Check("credential", Status.FAILED, f"{CERT_THUMBPRINT}: {exc.message}", exc.remedy)]
    if norm.artefacts:
        return [
            Check(
                "credential",
                Status.FAILED,
                f"{CERT_THUMBPRINT} contains {', '.join(norm.artefacts)}: ROOMS will not find the certificate",
                f"roomsops config set {CERT_THUMBPRINT} {norm.value}",
            )
        ]
    return [Check("credential", Status.OK, f"certificate thumbprint {norm.value}")]


def check_certificate_file(
    settings: Settings, configured_thumbprint: str | None, environ: Mapping[str, str], now: datetime
) -> list[Check]:
    """The certificate file of `auth.certificate_file`: readable, key loads, thumbprint, expiry."""
    if not settings.auth.certificate_file:
        return []
    path = settings.resolve_path(settings.auth.certificate_file)
    if path.exists():  # missing: a failed check below (load_certificate_file says so)
        # A folder, named pipe or device: exit 2 naming the key, never opened (a FIFO would block for ever).
        settings.setting_path("auth.certificate_file", "file")
    password: bytes | None = None
    password_env = settings.auth.certificate_password_env
    if password_env:
        if password_env not in environ:
            return [
                Check(
                    "certificate file",
                    Status.FAILED,
                    f"auth.certificate_password_env names ${password_env}, which is not set",
                    f"set {password_env} to the certificate's password",
                )
            ]
        register_secret(environ[password_env])
        password = environ[password_env].encode("utf-8")
    try:
        info, _key = load_certificate_file(path, password)
    except InputError as exc:
        return [Check("certificate file", Status.FAILED, exc.message, exc.remedy)]
    checks = []
    if not info.has_private_key:
        checks.append(
            Check(
                "certificate key",
                Status.FAILED,
                f"{path} holds no private key",
                "export the certificate with its private key (PFX, or PEM with the key)",
            )
        )
    else:
        checks.append(Check("certificate key", Status.OK, "private key loads"))
    if configured_thumbprint is not None:
        try:
            wanted = normalize_thumbprint(configured_thumbprint).value
        except InputError:
            wanted = None
        if wanted is not None and wanted != info.thumbprint:
            checks.append(
                Check(
                    "certificate thumbprint",
                    Status.FAILED,
                    f"{path} has thumbprint {info.thumbprint}, {CERT_THUMBPRINT} is {wanted}",
                    "configure the thumbprint of this certificate, or point "
                    "auth.certificate_file at the certificate ROOMS uses",
                )
            )
        elif wanted is not None:
            checks.append(Check("certificate thumbprint", Status.OK, f"{info.thumbprint} matches"))
    left = days_left(info, now)
    expiry = info.not_after.astimezone(UTC).strftime("%Y-%m-%d")
    if left < 0:
        checks.append(
            Check(
                "certificate validity",
                Status.FAILED,
                f"expired on {expiry}",
                "create a new certificate, upload it to the app registration, and configure it",
            )
        )
    elif info.not_before > now:
        checks.append(
            Check(
                "certificate validity",
                Status.FAILED,
                f"not valid before {info.not_before:%Y-%m-%d}",
                "check the machine's clock, or use a certificate that is valid now",
            )
        )
    elif left < EXPIRY_WARNING_DAYS:
        checks.append(
            Check(
                "certificate validity",
                Status.WARNING,
                f"expires on {expiry} ({int(left)} days left)",
                "renew it and upload the new certificate to the app registration in time",
            )
        )
    else:
        checks.append(Check("certificate validity", Status.OK, f"valid until {expiry}"))
    return checks


def check(
    path: Path, settings: Settings, environ: Mapping[str, str] | None = None, now: datetime | None = None
) -> CheckReport:
    """Validate the credentials in RoomsAppSettings.config, and the certificate file if configured."""
    environ = os.environ if environ is None else environ
    now = now or datetime.now(UTC)
    doc = read_document(path)
    checks = [Check("file", Status.OK, f"{path} is well-formed")]
    duplicates = doc.duplicates()
    if duplicates:
        checks.append(
            Check(
                "duplicate keys",
                Status.FAILED,
                f"keys set twice: {', '.join(duplicates)}",
                "remove the duplicate lines; which one ROOMS uses is not defined",
            )
        )
    checks += _check_key_names(doc)
    checks += _check_values(doc)
    checks += [_check_guid(doc, TENANT_ID), _check_guid(doc, APP_ID)]
    checks += _check_credential(doc)
    checks += check_certificate_file(settings, doc.effective(CERT_THUMBPRINT), environ, now)
    return CheckReport(subject=str(path), checks=tuple(checks))


def _check_key_names(doc: AppSettingsDoc) -> list[Check]:
    """Case variants of a documented key (.NET reads keys case-insensitively: which spelling wins is not
    what the file seems to say) fail; keys ROOMS does not document are named with the closest one."""
    checks: list[Check] = []
    variants = [k for k in doc.keys() if known_key(k) not in (None, k)]
    if variants:
        named = ", ".join(f"{k} (is {known_key(k)})" for k in variants)
        first = variants[0]
        checks.append(
            Check(
                "case variants",
                Status.FAILED,
                f"keys spelled in another case than ROOMS reads them: {named}; .NET reads keys "
                "case-insensitively, so one spelling silently wins",
                f"run 'roomsops config set {known_key(first)} VALUE' (it replaces {first}), or "
                f"'roomsops config unset {known_key(first)}' (it removes every spelling)",
            )
        )
    unknown = [k for k in doc.keys() if known_key(k) is None]
    if unknown:
        named = ", ".join(
            k + (f" (did you mean {near}?)" if (near := closest(k, KNOWN_KEYS)) else "") for k in unknown
        )
        checks.append(
            Check(
                "unknown keys",
                Status.WARNING,
                f"keys ROOMS does not document: {named}",
                f"if a key is mistyped, remove it with 'roomsops config unset {shellword(unknown[0])} --force' and set the "
                "right one; keys of other ROOMS features may stay",
            )
        )
    return checks


def _check_values(doc: AppSettingsDoc) -> list[Check]:
    """Values of the typed keys (booleans, whole numbers) that ROOMS cannot read: its service does not start."""
    wrong = [
        (known, problem)
        for k in doc.keys()
        if (known := known_key(k)) is not None
        and (problem := value_problem(known, doc.get(k) or "")) is not None
    ]
    if not wrong:
        return []
    return [
        Check(
            "value types",
            Status.FAILED,
            "; ".join(problem for _, problem in wrong) + ": the ROOMS service does not start with them",
            f"run 'roomsops config set {wrong[0][0]} VALUE' with a value of that form",
        )
    ]


KEYSET_REMEDY = (
    "give {account} read access to the private key on the ROOMS server: certlm.msc → Personal → Certificates → "
    "the certificate → All Tasks → Manage Private Keys → Add {account} with Read, and remove any Deny entry for "
    "it or its groups (a Deny wins over Allow; else ROOMS logs 'Keyset does not exist'), then restart the ROOMS "
    "service"
)


def host_checks(certificate: HostCertificate, now: datetime) -> list[Check]:
    """What the ROOMS server's own certificate store says about the configured certificate."""
    where = "Cert:\\LocalMachine\\My"
    if not certificate.found:
        return [
            Check(
                "host certificate",
                Status.FAILED,
                f"no certificate with thumbprint {certificate.thumbprint} in {where}",
                f"import the certificate with its private key into {where} (Local Computer → "
                "Personal), not into the current user's store",
            )
        ]
    checks = [
        Check("host certificate", Status.OK, f"{certificate.subject or certificate.thumbprint} in {where}")
    ]
    if not certificate.has_private_key:
        checks.append(
            Check(
                "host private key",
                Status.FAILED,
                "the certificate has no private key on the host",
                "import the PFX (certificate with its private key), not the .cer file",
            )
        )
    if certificate.not_after is not None:
        not_after = (
            certificate.not_after
            if certificate.not_after.tzinfo
            else certificate.not_after.replace(tzinfo=UTC)
        )
        left = (not_after - now).total_seconds() / 86400
        expiry = not_after.astimezone(UTC).strftime("%Y-%m-%d")
        if left < 0:
            checks.append(
                Check(
                    "host validity",
                    Status.FAILED,
                    f"expired on {expiry}",
                    "create a new certificate, upload it to the app registration and import it on the host",
                )
            )
        elif left < EXPIRY_WARNING_DAYS:
            checks.append(
                Check(
                    "host validity",
                    Status.WARNING,
                    f"expires on {expiry} ({int(left)} days left)",
                    "renew it in time",
                )
            )
        else:
            checks.append(Check("host validity", Status.OK, f"valid until {expiry}"))
    if certificate.has_private_key:
        if certificate.key_readable:
            checks.append(Check("key access", Status.OK, f"{certificate.account} may read the private key"))
        else:
            checks.append(
                Check(
                    "key access",
                    Status.FAILED,
                    f"{certificate.account} may not read the private key ('Keyset does not exist')",
                    KEYSET_REMEDY.format(account=certificate.account),
                )
            )
    return checks


def check_on_host(
    report: CheckReport,
    path: Path,
    settings: Settings,
    environ: Mapping[str, str],
    prompt: Callable[[str], str] | None = None,
    now: datetime | None = None,
) -> CheckReport:
    """The certificate checks where ROOMS really loads it: the ROOMS server's store, through WinRM."""
    from roomsops.adapters.exo.hostcert import host_certificate  # WinRM only when asked for
    from roomsops.adapters.exo.session import open_host

    now = now or datetime.now(UTC)
    doc = read_document(path)
    thumbprint = doc.effective(CERT_THUMBPRINT)  # any spelling, as ROOMS reads it
    if thumbprint is None:
        extra = [
            Check(
                "host certificate",
                Status.WARNING,
                "RoomsAppSettings.config uses a client secret; there is no certificate to check on the host",
                None,
            )
        ]
        return CheckReport(subject=report.subject, checks=report.checks + tuple(extra))
    if not settings.rooms.service_account:
        raise InputError(
            "rooms.service_account is not set",
            "set it to the account the ROOMS service runs as, "
            "e.g. 'NT SERVICE\\ROOMS' or 'DOMAIN\\svc-rooms'",
        )
    try:
        normalized = normalize_thumbprint(thumbprint).value
    except InputError:
        return report  # the offline checks already name this problem
    with open_host(settings, environ, prompt) as session:
        certificate = host_certificate(session, normalized, settings.rooms.service_account)
    return CheckReport(subject=report.subject, checks=report.checks + tuple(host_checks(certificate, now)))

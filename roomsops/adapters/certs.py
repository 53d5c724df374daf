"""Clean up pasted identifiers (thumbprints, GUIDs) and inspect certificate files (PEM, PFX).

Every failure is an InputError naming the problem and the remedy; secrets never reach a message.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from roomsops.core.errors import InputError

# Characters that copying from dialogs, mail and web pages slips into identifiers. Any other character of
# category Cf (format) or Z* (separators) is treated the same way and named by unicodedata.
INVISIBLE: Mapping[str, str] = MappingProxyType(
    {
        "\u00a0": "NO-BREAK SPACE",
        "\u00ad": "SOFT HYPHEN",
        "\u200b": "ZERO WIDTH SPACE",
        "\u200c": "ZERO WIDTH NON-JOINER",
        "\u200d": "ZERO WIDTH JOINER",
        "\u200e": "LEFT-TO-RIGHT MARK",
        "\u200f": "RIGHT-TO-LEFT MARK",
        "\u2028": "LINE SEPARATOR",
        "\u2029": "PARAGRAPH SEPARATOR",
        "\u202a": "LEFT-TO-RIGHT EMBEDDING",
        "\u202b": "RIGHT-TO-LEFT EMBEDDING",
        "\u202c": "POP DIRECTIONAL FORMATTING",
        "\u202d": "LEFT-TO-RIGHT OVERRIDE",
        "\u202e": "RIGHT-TO-LEFT OVERRIDE",
        "\u202f": "NARROW NO-BREAK SPACE",
        "\u2060": "WORD JOINER",
        "\u2066": "LEFT-TO-RIGHT ISOLATE",
        "\u2067": "RIGHT-TO-LEFT ISOLATE",
        "\u2068": "FIRST STRONG ISOLATE",
        "\u2069": "POP DIRECTIONAL ISOLATE",
        "\ufeff": "ZERO WIDTH NO-BREAK SPACE (byte-order mark)",
    }
)

THUMBPRINT_REMEDY = (
    "copy the Thumbprint of the certificate (Certificate dialog → Details → Thumbprint, "
    "or Get-ChildItem Cert:\\LocalMachine\\My)"
)
GUID_EXAMPLE = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"
PASSWORD_SOURCE = "the variable named by auth.certificate_password_env"

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PEM_KEY = re.compile(
    rb"-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----.*?-----END \1-----", re.DOTALL
)
# A PFX starts SEQUENCE { INTEGER 3, SEQUENCE { OID pkcs7-data ... } }: enough to tell it from other DER.
_PKCS12_VERSION = b"\x02\x01\x03"
_PKCS7_DATA_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01"
_PKCS12_SUFFIXES = frozenset({".pfx", ".p12"})
_MAX_SHOWN = 60


@dataclass(frozen=True)
class Normalized:
    """A cleaned-up identifier and what was removed from it, for the user to see."""

    value: str
    artefacts: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateInfo:
    """What `config check` reports about a certificate; never the key itself."""

    thumbprint: str  # SHA-1, upper-case hex, as Windows shows it
    subject: str
    not_before: datetime  # timezone-aware, UTC
    not_after: datetime  # timezone-aware, UTC
    has_private_key: bool


@dataclass(frozen=True)
class LoadedCertificate:
    """A certificate file's leaf certificate, its private key (if any) and the rest of the chain."""

    info: CertificateInfo
    certificate: x509.Certificate = field(repr=False)
    private_key: PrivateKeyTypes | None = field(repr=False, compare=False)
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)


def describe_char(char: str) -> str:
    """`U+200E LEFT-TO-RIGHT MARK`: how a character is named in messages and reports."""
    name = INVISIBLE.get(char) or unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def is_invisible(char: str) -> bool:
    """True for format characters and non-ASCII separators, which are never part of an identifier."""
    if char in INVISIBLE:
        return True
    category = unicodedata.category(char)
    return category == "Cf" or (category[0] == "Z" and char != " ")


def visible(text: str) -> str:
    """`text` for a message: invisible and control characters spelled `<U+XXXX>`, long text shortened."""
    shown = "".join(
        f"<U+{ord(char):04X}>" if is_invisible(char) or unicodedata.category(char) == "Cc" else char
        for char in text
    )
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 1] + "…"


def normalize_thumbprint(text: str, label: str = "thumbprint") -> Normalized:
    """A SHA-1 thumbprint as 40 upper-case hex digits, without the spaces, colons and marks pasting adds."""
    kept: list[tuple[str, int]] = []
    removed: dict[str, list[int]] = {}
    spaces = colons = breaks = False
    for position, char in enumerate(text, start=1):
        if char == " ":
            spaces = True
        elif char == ":":
            colons = True
        elif char in "\t\r\n":
            breaks = True
        elif is_invisible(char):
            removed.setdefault(char, []).append(position)
        else:
            kept.append((char, position))
    artefacts = _invisible_artefacts(removed)
    artefacts += ("spaces",) * spaces + ("colons",) * colons + ("tabs or line breaks",) * breaks
    digits = _hex_digits(kept, label)
    if not digits:
        raise InputError(f"{label} is empty", THUMBPRINT_REMEDY)
    if len(digits) != 40:
        hint = " (64 is the length of a SHA-256 thumbprint)" if len(digits) == 64 else ""
        raise InputError(
            f"{label} has {len(digits)} hex digits, a SHA-1 thumbprint has 40{hint}", THUMBPRINT_REMEDY
        )
    return Normalized(digits.upper(), artefacts)


def normalize_guid(text: str, label: str, where: str | None = None) -> Normalized:
    """A GUID in lower-case 8-4-4-4-12 form, without surrounding blanks or braces and invisible marks. `where`:
    the page the remedy sends to (default: the app registration's Overview page)."""
    removed: dict[str, list[int]] = {}
    kept: list[str] = []
    for position, char in enumerate(text, start=1):
        if is_invisible(char):
            removed.setdefault(char, []).append(position)
        else:
            kept.append(char)
    artefacts = _invisible_artefacts(removed)
    cleaned = "".join(kept)
    stripped = cleaned.strip()
    if stripped != cleaned:
        artefacts += ("surrounding spaces",)
    if stripped.startswith("{") and stripped.endswith("}"):
        stripped = stripped[1:-1].strip()
        artefacts += ("braces",)
    page = where or "the app registration's Overview page"
    remedy = f"copy the {label} from {page} in the Entra admin center"
    if not _GUID.fullmatch(stripped):
        raise InputError(
            f"{label} '{visible(stripped)}' is not a GUID "
            f"(expected 8-4-4-4-12 hex digits, like {GUID_EXAMPLE})",
            remedy,
        )
    return Normalized(str(uuid.UUID(stripped)), artefacts)


def sha1_thumbprint(cert: x509.Certificate) -> str:
    """The certificate's SHA-1 thumbprint in upper-case hex: the identifier Windows and Entra ID use."""
    # SHA-1 here names a certificate, as Windows does; it protects nothing.
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303


def days_left(info: CertificateInfo, now: datetime) -> float:
    """Days until `info` expires, negative once expired; `now` must be timezone-aware."""
    return (info.not_after - now).total_seconds() / 86400


def load_certificate_file(
    path: Path, password: bytes | None, *, password_source: str = PASSWORD_SOURCE
) -> tuple[CertificateInfo, PrivateKeyTypes | None]:
    """The certificate's facts and its private key (None if the file has none) from a PEM or PFX file.

    `password_source` names where the password comes from, for the remedy when it is missing or wrong.
    """
    loaded = load_certificate(path, password, password_source=password_source)
    return loaded.info, loaded.private_key


def load_certificate(
    path: Path, password: bytes | None, *, password_source: str = PASSWORD_SOURCE
) -> LoadedCertificate:
    """Like load_certificate_file, keeping the certificate objects (what msal needs for the public part)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(
            f"certificate file {path} does not exist", "check auth.certificate_file (a PEM or PFX file)"
        ) from exc
    except OSError as exc:
        raise InputError(
            f"cannot read certificate file {path}: {exc.strerror}",
            "check the path and that this user may read the file",
        ) from exc
    if not data.strip():
        raise InputError(f"certificate file {path} is empty", _export_remedy())
    if b"-----BEGIN " in data:
        return _load_pem(path, data, password, password_source)
    if _looks_like_pkcs12(data) or path.suffix.lower() in _PKCS12_SUFFIXES:
        return _load_pkcs12(path, data, password, password_source)
    try:
        certificate = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise InputError(
            f"{path} is not a certificate (neither PEM nor PFX/PKCS#12)", _export_remedy()
        ) from exc
    return _loaded(certificate, None, ())


def _load_pem(path: Path, data: bytes, password: bytes | None, password_source: str) -> LoadedCertificate:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        if b"-----BEGIN CERTIFICATE-----" in data:
            raise InputError(
                f"the certificate in {path} is damaged (cannot decode its PEM)", _export_remedy()
            ) from exc
        raise InputError(f"{path} holds no certificate, only other PEM data", _export_remedy()) from exc
    key_block = _PEM_KEY.search(data)
    key = _load_pem_key(path, key_block.group(), password, password_source) if key_block else None
    leaf = _leaf_for(path, certificates, key)
    return _loaded(leaf, key, tuple(cert for cert in certificates if cert is not leaf))


def _load_pem_key(path: Path, block: bytes, password: bytes | None, password_source: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(block, password)
    except TypeError as exc:
        if password is not None:
            # The password variable is set but this key is not encrypted: use it as it is.
            return _load_pem_key(path, block, None, password_source)
        raise InputError(
            f"the private key in {path} is encrypted and no password was given", f"set {password_source}"
        ) from exc
    except ValueError as exc:
        if password is not None and "password" in str(exc).lower():
            raise InputError(
                f"cannot decrypt the private key in {path}: the password is wrong", f"check {password_source}"
            ) from exc
        raise InputError(f"the private key in {path} is damaged", _export_remedy()) from exc
    except UnsupportedAlgorithm as exc:
        raise InputError(
            f"the private key in {path} is damaged or of an unsupported kind", _export_remedy()
        ) from exc


def _load_pkcs12(path: Path, data: bytes, password: bytes | None, password_source: str) -> LoadedCertificate:
    # A PFX protected by an empty password and one without a password differ; without a password, try both.
    attempts = [password] if password is not None else [None, b""]
    failure: ValueError | None = None
    for attempt in attempts:
        try:
            bundle = pkcs12.load_pkcs12(data, attempt)
            break
        except ValueError as exc:
            failure = exc
        except UnsupportedAlgorithm as exc:
            raise InputError(
                f"{path} is encrypted with an algorithm this system cannot read",
                "export it again with AES-256 (Export-PfxCertificate -CryptoAlgorithmOption AES256_SHA256)",
            ) from exc
    else:
        assert failure is not None
        password_problem = _looks_like_pkcs12(data) and "password" in str(failure).lower()
        if not password_problem:
            raise InputError(
                f"{path} is not a certificate (a damaged or foreign PFX file)", _export_remedy()
            ) from failure
        if password is None:
            raise InputError(
                f"{path} is password-protected and no password was given", f"set {password_source}"
            ) from failure
        raise InputError(
            f"cannot open {path}: the password is wrong (or the file is damaged)", f"check {password_source}"
        ) from failure
    if bundle.cert is None:
        raise InputError(f"{path} holds no certificate", _export_remedy())
    chain = tuple(extra.certificate for extra in bundle.additional_certs)
    leaf = bundle.cert.certificate
    if bundle.key is not None and not _matches(leaf, bundle.key):
        leaf = _leaf_for(path, (leaf, *chain), bundle.key)
        chain = tuple(cert for cert in (bundle.cert.certificate, *chain) if cert is not leaf)
    return _loaded(leaf, bundle.key, chain)


def _leaf_for(
    path: Path,
    certificates: list[x509.Certificate] | tuple[x509.Certificate, ...],
    key: PrivateKeyTypes | None,
) -> x509.Certificate:
    """The certificate the key belongs to; without a key, the first (PEM bundles put the leaf first)."""
    if key is None:
        return certificates[0]
    for certificate in certificates:
        if _matches(certificate, key):
            return certificate
    raise InputError(
        f"the private key in {path} does not belong to its certificate",
        "export the certificate together with its own private key",
    )


def _matches(certificate: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(certificate.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki))


def _loaded(
    certificate: x509.Certificate, key: PrivateKeyTypes | None, chain: tuple[x509.Certificate, ...]
) -> LoadedCertificate:
    info = CertificateInfo(
        thumbprint=sha1_thumbprint(certificate),
        subject=certificate.subject.rfc4514_string(),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        has_private_key=key is not None,
    )
    return LoadedCertificate(info, certificate, key, chain)


def _looks_like_pkcs12(data: bytes) -> bool:
    return data[:1] == b"\x30" and _PKCS12_VERSION in data[:8] and _PKCS7_DATA_OID in data[:32]


def _export_remedy() -> str:
    return (
        "export the certificate again as PFX (with its private key) or PEM, "
        "and point auth.certificate_file at it"
    )


def _invisible_artefacts(removed: dict[str, list[int]]) -> tuple[str, ...]:
    artefacts = []
    for char, positions in removed.items():
        where = "position" if len(positions) == 1 else "positions"
        artefacts.append(f"{describe_char(char)} at {where} {', '.join(map(str, positions))}")
    return tuple(artefacts)


def _hex_digits(kept: list[tuple[str, int]], label: str) -> str:
    for char, position in kept:
        if char not in _HEX_DIGITS:
            # Named, not shown, beyond ASCII: a Cyrillic "А" looks just like the hex digit.
            shown = f"'{char}'" if char.isascii() and char.isprintable() else describe_char(char)
            raise InputError(
                f"{label} contains {shown} at position {position}, which is not a hex digit",
                THUMBPRINT_REMEDY,
            )
    return "".join(char for char, _ in kept)

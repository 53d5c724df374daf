"""The lab's PKI: a CA, the HTTPS server certificate, the token signing key and the apps' certificates.

Everything lives in DIR and is reused on restart; only what is missing (or no longer usable) is generated.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_YEARS = 10
SERVER_DAYS = 825  # the longest lifetime TLS clients commonly accept for a server certificate
APP_CERT_DAYS = 730
SIGNING_CERT_DAYS = 5 * 365
RENEW_BEFORE = dt.timedelta(days=30)


def sha1_thumbprint(cert: x509.Certificate) -> str:
    """The Windows-style thumbprint: SHA-1 of the DER encoding, upper-case hex."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - thumbprints are SHA-1 by definition


def sha256_thumbprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def x5t(cert: x509.Certificate) -> str:
    """JOSE `x5t`: base64url SHA-1 thumbprint (RFC 7515 4.1.7)."""
    return b64url(cert.fingerprint(hashes.SHA1()))  # noqa: S303


def x5t_s256(cert: x509.Certificate) -> str:
    """JOSE `x5t#S256`: base64url SHA-256 thumbprint (RFC 7515 4.1.8)."""
    return b64url(cert.fingerprint(hashes.SHA256()))


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    """Unencrypted PKCS#8 PEM, the form msal's `private_key` takes."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


@dataclass(frozen=True)
class AppCredential:
    """An app's self-signed client certificate: DIR/apps/<name>.pem (cert + key) and .pfx."""

    name: str
    pem_file: Path
    pfx_file: Path
    pfx_password: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey

    @property
    def thumbprint(self) -> str:
        return sha1_thumbprint(self.certificate)

    @property
    def thumbprint_sha256(self) -> str:
        return sha256_thumbprint(self.certificate)

    @property
    def private_key_pem(self) -> str:
        return private_key_pem(self.private_key)

    @property
    def certificate_pem(self) -> str:
        return certificate_pem(self.certificate)


@dataclass(frozen=True)
class SigningKey:
    """The key the token service signs tokens with, and its self-signed certificate (for x5t/x5c)."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def kid(self) -> str:
        # Entra publishes its keys with kid == x5t (base64url SHA-1 of the certificate).
        return x5t(self.certificate)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"x5t": self.kid, "kid": self.kid}
        )

    def jwk(self, issuer: str) -> dict[str, Any]:
        numbers = self.public_key.public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "x5c": [base64.b64encode(der).decode("ascii")],
            "issuer": issuer,
        }


@dataclass(frozen=True)
class LabPki:
    ca_file: Path
    ca_certificate: x509.Certificate
    server_cert_file: Path
    server_key_file: Path
    signing: SigningKey
    apps: dict[str, AppCredential]


def ensure_pki(directory: Path, app_names: Iterable[str], *, expired_tls: bool = False) -> LabPki:
    """Load the lab's PKI from `directory`, generating whatever is missing or unusable."""
    directory = directory.resolve()
    pki_dir = directory / "pki"
    apps_dir = directory / "apps"
    pki_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    apps_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
    now = _now()

    ca_key, ca_cert, ca_new = _ensure_ca(directory / "ca.pem", pki_dir / "ca.key", now)
    server_key = _load_or_create_key(pki_dir / "server.key")
    if expired_tls:
        cert_file = pki_dir / "server-expired.pem"
        _ensure_server_cert(cert_file, server_key, ca_key, ca_cert, now, expired=True, force=ca_new)
    else:
        cert_file = pki_dir / "server.pem"
        _ensure_server_cert(cert_file, server_key, ca_key, ca_cert, now, expired=False, force=ca_new)

    signing = _ensure_signing(pki_dir / "signing.key", pki_dir / "signing.pem", now)

    manifest_file = pki_dir / "pki.json"
    manifest = _read_json(manifest_file)
    passwords: dict[str, str] = dict(manifest.get("pfx_passwords", {}))
    apps = {}
    for name in app_names:
        apps[name] = _ensure_app(apps_dir, name, passwords, now)
    if passwords != manifest.get("pfx_passwords"):
        manifest["pfx_passwords"] = passwords
        write_private(manifest_file, json.dumps(manifest, indent=2).encode())
    return LabPki(
        ca_file=directory / "ca.pem",
        ca_certificate=ca_cert,
        server_cert_file=cert_file,
        server_key_file=pki_dir / "server.key",
        signing=signing,
        apps=apps,
    )


def generate_self_signed(
    common_name: str, *, days: int = APP_CERT_DAYS
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A fresh self-signed client certificate (also what tests use for an unregistered one)."""
    return _self_signed(_new_key(), common_name, _now(), days, client_auth=True)


def write_private(path: Path, data: bytes) -> None:
    """Atomically write a file only its owner can read (keys, passwords, tenant state)."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_public(path: Path, data: bytes) -> None:
    """Atomically write a file anyone may read (certificates, generated settings)."""
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_usage(
    *, digital_signature: bool = False, key_encipherment: bool = False, cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (FileNotFoundError, ValueError):
        return None
    return key if isinstance(key, rsa.RSAPrivateKey) else None


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    key = _load_key(path)
    if key is None:
        key = _new_key()
        write_private(path, private_key_pem(key).encode("ascii"))
    return key


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _matches(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> bool:
    return cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def _ensure_ca(
    cert_file: Path, key_file: Path, now: dt.datetime
) -> tuple[rsa.RSAPrivateKey, x509.Certificate, bool]:
    key = _load_key(key_file)
    cert = _load_cert(cert_file)
    if key is not None and cert is not None and _matches(cert, key) and cert.not_valid_after_utc > now:
        return key, cert, False
    key = key or _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "roomsops lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, "roomsops lab CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CA_YEARS * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(digital_signature=True, cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_file, private_key_pem(key).encode("ascii"))
    write_public(cert_file, certificate_pem(cert).encode("ascii"))
    return key, cert, True


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _ensure_server_cert(
    cert_file: Path,
    key: rsa.RSAPrivateKey,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    now: dt.datetime,
    *,
    expired: bool,
    force: bool,
) -> None:
    cert = _load_cert(cert_file)
    if cert is not None and not force and _matches(cert, key) and _issued_by(cert, ca_cert):
        still_expired = cert.not_valid_after_utc < now
        if expired and still_expired:
            return
        if not expired and cert.not_valid_after_utc - RENEW_BEFORE > now:
            return
    if expired:
        # Valid once, for a year that ended yesterday: clients must refuse it as expired, not as unknown.
        not_before, not_after = now - dt.timedelta(days=366), now - dt.timedelta(days=1)
    else:
        not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=SERVER_DAYS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_public(cert_file, certificate_pem(cert).encode("ascii"))


def _ensure_signing(key_file: Path, cert_file: Path, now: dt.datetime) -> SigningKey:
    key = _load_or_create_key(key_file)
    cert = _load_cert(cert_file)
    if cert is None or not _matches(cert, key) or cert.not_valid_after_utc < now:
        _, cert = _self_signed(key, "roomsops lab token signing", now, SIGNING_CERT_DAYS)
        write_public(cert_file, certificate_pem(cert).encode("ascii"))
    return SigningKey(private_key=key, certificate=cert)


def _self_signed(
    key: rsa.RSAPrivateKey, common_name: str, now: dt.datetime, days: int, *, client_auth: bool = False
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=True)
    )
    if client_auth:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return key, builder.sign(key, hashes.SHA256())


def _ensure_app(apps_dir: Path, name: str, passwords: dict[str, str], now: dt.datetime) -> AppCredential:
    pem_file = apps_dir / f"{name}.pem"
    pfx_file = apps_dir / f"{name}.pfx"
    key = _load_key(pem_file)
    cert = _load_cert(pem_file)
    regenerated = False
    if key is None or cert is None or not _matches(cert, key) or cert.not_valid_after_utc < now:
        key = key or _new_key()
        _, cert = _self_signed(key, f"roomsops lab {name}", now, APP_CERT_DAYS)
        write_private(pem_file, (certificate_pem(cert) + private_key_pem(key)).encode("ascii"))
        regenerated = True
    password = passwords.get(name)
    if regenerated or password is None or not pfx_file.exists():
        password = password or secrets.token_urlsafe(18)
        passwords[name] = password
        write_private(pfx_file, _pfx(name, key, cert, password))
    return AppCredential(
        name=name,
        pem_file=pem_file,
        pfx_file=pfx_file,
        pfx_password=password,
        certificate=cert,
        private_key=key,
    )


def _pfx(name: str, key: rsa.RSAPrivateKey, cert: x509.Certificate, password: str) -> bytes:
    # 3DES/SHA-1 rather than the AES default: older Windows hosts (Server 2016) cannot import AES PFX files.
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303
        .build(password.encode("utf-8"))
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, None, encryption)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

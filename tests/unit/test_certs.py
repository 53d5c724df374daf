"""Thumbprint and GUID clean-up, and certificate files (PEM, PFX) as `config check` reads them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from roomsops.adapters.certs import (
    INVISIBLE,
    THUMBPRINT_REMEDY,
    CertificateInfo,
    Normalized,
    days_left,
    load_certificate,
    load_certificate_file,
    normalize_guid,
    normalize_thumbprint,
    sha1_thumbprint,
)
from roomsops.core.errors import ExitCode, InputError

PASSWORD = b"Corr3ct-Horse!"
NOW = datetime.now(UTC).replace(microsecond=0)


@cache
def rsa_key(number: int = 0) -> rsa.RSAPrivateKey:
    # RSA key generation dominates this module's run time, so each key is made once.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(
    key: rsa.RSAPrivateKey,
    *,
    name: str = "roomsops-test",
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = NOW + timedelta(days=365),
    issuer_key: rsa.RSAPrivateKey | None = None,
    issuer_name: str | None = None,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(issuer_key or key, hashes.SHA256())
    )


@cache
def cert() -> x509.Certificate:
    return make_cert(rsa_key())


def cert_pem(certificate: x509.Certificate | None = None) -> bytes:
    return (certificate or cert()).public_bytes(serialization.Encoding.PEM)


def key_pem(
    password: bytes | None = None,
    key_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8,
    key: rsa.RSAPrivateKey | None = None,
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return (key or rsa_key()).private_bytes(serialization.Encoding.PEM, key_format, encryption)


def pfx(password: bytes | None = PASSWORD, cas: list[x509.Certificate] | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"roomsops", rsa_key(), cert(), cas, encryption)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def load_error(path: Path, password: bytes | None) -> InputError:
    with pytest.raises(InputError) as caught:
        load_certificate_file(path, password)
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    return caught.value


THUMBPRINT = "A909502DD82AE41433E6F83886B00D4277A32A7B"

# --- thumbprints -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "artefacts"),
    [
        (THUMBPRINT, ()),
        (THUMBPRINT.lower(), ()),
        ("a9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b", ("spaces",)),
        ("A9:09:50:2D:D8:2A:E4:14:33:E6:F8:38:86:B0:0D:42:77:A3:2A:7B", ("colons",)),
        # What copying the Thumbprint field of the Windows certificate dialog yields.
        (
            "\u200ea9 09 50 2d d8 2a e4 14 33 e6 f8 38 86 b0 0d 42 77 a3 2a 7b",
            ("U+200E LEFT-TO-RIGHT MARK at position 1", "spaces"),
        ),
        (
            f"\ufeff{THUMBPRINT}\u200b",
            (
                "U+FEFF ZERO WIDTH NO-BREAK SPACE (byte-order mark) at position 1",
                "U+200B ZERO WIDTH SPACE at position 42",
            ),
        ),
        (f"A9\u00a009\u00a0{THUMBPRINT[4:]}", ("U+00A0 NO-BREAK SPACE at positions 3, 6",)),
        (f"{THUMBPRINT}\u2063", ("U+2063 INVISIBLE SEPARATOR at position 41",)),
        (f"{THUMBPRINT}\r\n", ("tabs or line breaks",)),
    ],
)
def test_normalize_thumbprint(text: str, artefacts: tuple[str, ...]) -> None:
    assert normalize_thumbprint(text) == Normalized(THUMBPRINT, artefacts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (THUMBPRINT[:38], "thumbprint has 38 hex digits, a SHA-1 thumbprint has 40"),
        (THUMBPRINT + "00", "thumbprint has 42 hex digits, a SHA-1 thumbprint has 40"),
        (
            THUMBPRINT + THUMBPRINT[:24],
            "thumbprint has 64 hex digits, a SHA-1 thumbprint has 40 "
            "(64 is the length of a SHA-256 thumbprint)",
        ),
        (
            "A909x02DD82AE41433E6F83886B00D4277A32A7B",
            "thumbprint contains 'x' at position 5, which is not a hex digit",
        ),
        (
            f"\u200e{THUMBPRINT[:-1]}\x07",
            "thumbprint contains U+0007 at position 41, which is not a hex digit",
        ),
        (
            "\u0410909502DD82AE41433E6F83886B00D4277A32A7B",
            "thumbprint contains U+0410 CYRILLIC CAPITAL LETTER A at position 1, which is not a hex digit",
        ),
        ("", "thumbprint is empty"),
        ("\u200e ", "thumbprint is empty"),
    ],
)
def test_bad_thumbprints(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        normalize_thumbprint(text)
    assert caught.value.message == message
    assert caught.value.remedy == THUMBPRINT_REMEDY
    assert "\u200e" not in caught.value.one_line()


def test_thumbprint_label_names_the_setting() -> None:
    with pytest.raises(InputError) as caught:
        normalize_thumbprint("ABC", "ExchangeCertThumbprint")
    assert caught.value.message == "ExchangeCertThumbprint has 3 hex digits, a SHA-1 thumbprint has 40"
    assert caught.value.remedy == (
        "copy the Thumbprint of the certificate (Certificate dialog → Details → Thumbprint, "
        "or Get-ChildItem Cert:\\LocalMachine\\My)"
    )


def test_invisible_table_covers_the_usual_copy_artefacts() -> None:
    for code in [0x200E, 0x200F, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00A0, *range(0x202A, 0x202F)]:
        assert chr(code) in INVISIBLE


# --- GUIDs -----------------------------------------------------------------------------------------

GUID = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"


@pytest.mark.parametrize(
    ("text", "artefacts"),
    [
        (GUID, ()),
        (GUID.upper(), ()),
        ("{" + GUID.upper() + "}", ("braces",)),
        (f"  {GUID}\n", ("surrounding spaces",)),
        (
            f"\u200e{GUID}\u200f",
            ("U+200E LEFT-TO-RIGHT MARK at position 1", "U+200F RIGHT-TO-LEFT MARK at position 38"),
        ),
        (f" {{{GUID}}} ", ("surrounding spaces", "braces")),
        ("6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f\u00a0", ("U+00A0 NO-BREAK SPACE at position 37",)),
    ],
)
def test_normalize_guid(text: str, artefacts: tuple[str, ...]) -> None:
    assert normalize_guid(text, "tenant ID") == Normalized(GUID, artefacts)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("6e9157a8801c4f5c95229ae9ffd2aa4f", "6e9157a8801c4f5c95229ae9ffd2aa4f"),
        ("6e9157a8-801c-4f5c-9522-9ae9ffd2aa4g", "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4g"),
        ("6e9157a8-801c-4f5c-9522", "6e9157a8-801c-4f5c-9522"),
        ("contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        ("6e9157a8 -801c-4f5c-9522-9ae9ffd2aa4f", "6e9157a8 -801c-4f5c-9522-9ae9ffd2aa4f"),
        ("6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f\x00", "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f<U+0000>"),
        ("", ""),
    ],
)
def test_bad_guids(text: str, shown: str) -> None:
    with pytest.raises(InputError) as caught:
        normalize_guid(text, "tenant ID")
    assert caught.value.message == (
        f"tenant ID '{shown}' is not a GUID "
        "(expected 8-4-4-4-12 hex digits, like 6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f)"
    )
    assert (
        caught.value.remedy
        == "copy the tenant ID from the app registration's Overview page in the Entra admin center"
    )


def test_bad_guid_message_is_shortened() -> None:
    with pytest.raises(InputError) as caught:
        normalize_guid("x" * 500, "app ID")
    assert len(caught.value.message) < 200


# --- certificate files -----------------------------------------------------------------------------


def test_sha1_thumbprint_is_the_sha1_of_the_der() -> None:
    der = cert().public_bytes(serialization.Encoding.DER)
    assert sha1_thumbprint(cert()) == hashlib.sha1(der).hexdigest().upper()


def expected_info(has_private_key: bool = True) -> CertificateInfo:
    return CertificateInfo(
        thumbprint=sha1_thumbprint(cert()),
        subject="CN=roomsops-test",
        not_before=cert().not_valid_before_utc,
        not_after=cert().not_valid_after_utc,
        has_private_key=has_private_key,
    )


def assert_is_our_key(key: object) -> None:
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.private_numbers() == rsa_key().private_numbers()


@pytest.mark.parametrize("key_first", [False, True])
def test_pem_with_key(tmp_path: Path, key_first: bool) -> None:
    data = key_pem() + cert_pem() if key_first else cert_pem() + key_pem()
    info, key = load_certificate_file(write(tmp_path, "rooms.pem", data), None)
    assert info == expected_info()
    assert_is_our_key(key)


@pytest.mark.parametrize(
    "key_format", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_pem_with_encrypted_key(tmp_path: Path, key_format: serialization.PrivateFormat) -> None:
    path = write(tmp_path, "rooms.pem", cert_pem() + key_pem(PASSWORD, key_format))
    info, key = load_certificate_file(path, PASSWORD)
    assert info == expected_info()
    assert_is_our_key(key)


def test_pem_with_encrypted_key_and_no_password(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", cert_pem() + key_pem(PASSWORD))
    error = load_error(path, None)
    assert error.message == f"the private key in {path} is encrypted and no password was given"
    assert error.remedy == "set the variable named by auth.certificate_password_env"


def test_remedy_can_name_the_password_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", cert_pem() + key_pem(PASSWORD))
    with pytest.raises(InputError) as caught:
        load_certificate_file(path, None, password_source="ROOMS_CERT_PASSWORD")
    assert caught.value.remedy == "set ROOMS_CERT_PASSWORD"


def test_pem_with_encrypted_key_and_wrong_password(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", cert_pem() + key_pem(PASSWORD))
    error = load_error(path, b"Wrong-Guess-42")
    assert error.message == f"cannot decrypt the private key in {path}: the password is wrong"
    assert "Wrong-Guess-42" not in error.one_line()
    assert "Wrong-Guess-42" not in repr(error)


def test_a_password_for_an_unencrypted_key_is_ignored(tmp_path: Path) -> None:
    info, key = load_certificate_file(write(tmp_path, "rooms.pem", cert_pem() + key_pem()), PASSWORD)
    assert info.has_private_key
    assert_is_our_key(key)


def test_cert_only_pem(tmp_path: Path) -> None:
    info, key = load_certificate_file(write(tmp_path, "rooms.cer", cert_pem()), None)
    assert info == expected_info(has_private_key=False)
    assert key is None


def test_der_certificate(tmp_path: Path) -> None:
    info, key = load_certificate_file(
        write(tmp_path, "rooms.cer", cert().public_bytes(serialization.Encoding.DER)), None
    )
    assert info == expected_info(has_private_key=False)
    assert key is None


def test_pem_bundle_picks_the_certificate_of_the_key(tmp_path: Path) -> None:
    ca = make_cert(rsa_key(1), name="roomsops-ca")
    path = write(tmp_path, "bundle.pem", cert_pem(ca) + cert_pem() + key_pem())
    loaded = load_certificate(path, None)
    assert loaded.info == expected_info()
    assert loaded.chain == (ca,)


def test_pem_key_of_another_certificate(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", cert_pem() + key_pem(key=rsa_key(1)))
    error = load_error(path, None)
    assert error.message == f"the private key in {path} does not belong to its certificate"


def test_pem_key_without_certificate(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", key_pem())
    assert load_error(path, None).message == f"{path} holds no certificate, only other PEM data"


def test_damaged_pem_certificate(tmp_path: Path) -> None:
    damaged = b"-----BEGIN CERTIFICATE-----\nMIIBdamaged\n-----END CERTIFICATE-----\n"
    path = write(tmp_path, "rooms.pem", damaged)
    assert load_error(path, None).message == f"the certificate in {path} is damaged (cannot decode its PEM)"


def test_damaged_pem_key(tmp_path: Path) -> None:
    key = key_pem().splitlines(keepends=True)
    key[5] = b"A" * (len(key[5]) - 1) + b"\n"
    path = write(tmp_path, "rooms.pem", cert_pem() + b"".join(key))
    message = load_error(path, None).message
    assert message.startswith(f"the private key in {path} is damaged")


@pytest.mark.parametrize("name", ["rooms.pfx", "rooms.p12", "rooms.bin"])
def test_pfx_with_password(tmp_path: Path, name: str) -> None:
    info, key = load_certificate_file(write(tmp_path, name, pfx()), PASSWORD)
    assert info == expected_info()
    assert_is_our_key(key)


def test_pfx_without_password_protection(tmp_path: Path) -> None:
    info, key = load_certificate_file(write(tmp_path, "rooms.pfx", pfx(password=None)), None)
    assert info == expected_info()
    assert_is_our_key(key)


def test_pfx_needs_a_password(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pfx", pfx())
    error = load_error(path, None)
    assert error.message == f"{path} is password-protected and no password was given"
    assert error.remedy == "set the variable named by auth.certificate_password_env"


def test_pfx_with_wrong_password(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pfx", pfx())
    error = load_error(path, b"Wrong-Guess-42")
    assert error.message == f"cannot open {path}: the password is wrong (or the file is damaged)"
    assert "Wrong-Guess-42" not in error.one_line()
    assert PASSWORD.decode() not in error.one_line()


def test_pfx_with_chain(tmp_path: Path) -> None:
    ca = make_cert(rsa_key(1), name="roomsops-ca")
    loaded = load_certificate(write(tmp_path, "rooms.pfx", pfx(cas=[ca])), PASSWORD)
    assert loaded.info == expected_info()
    assert loaded.chain == (ca,)


def test_truncated_pfx(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pfx", pfx()[:200])
    assert (
        load_error(path, PASSWORD).message == f"{path} is not a certificate (a damaged or foreign PFX file)"
    )


@pytest.mark.parametrize("name", ["rooms.pem", "rooms.pfx"])
def test_not_a_certificate(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, b"\x00\x01this is not a certificate\xff" * 10)
    assert "is not a certificate" in load_error(path, None).message


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms.pem", b"")
    assert load_error(path, None).message == f"certificate file {path} is empty"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.pfx"
    error = load_error(path, None)
    assert error.message == f"certificate file {path} does not exist"
    assert error.remedy == "check auth.certificate_file (a PEM or PFX file)"


def test_unreadable_file(tmp_path: Path) -> None:
    error = load_error(tmp_path, None)  # a directory cannot be read as a file
    assert error.message.startswith(f"cannot read certificate file {tmp_path}: ")


def test_expired_certificate(tmp_path: Path) -> None:
    expired = make_cert(rsa_key(), not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=35))
    info, _ = load_certificate_file(write(tmp_path, "old.pem", cert_pem(expired) + key_pem()), None)
    assert info.not_after == NOW - timedelta(days=35)
    assert days_left(info, NOW) == pytest.approx(-35)


def test_days_left() -> None:
    info = expected_info()
    assert days_left(info, info.not_after - timedelta(days=29, hours=12)) == pytest.approx(29.5)


def test_the_private_key_stays_out_of_reprs(tmp_path: Path) -> None:
    loaded = load_certificate(write(tmp_path, "rooms.pem", cert_pem() + key_pem()), None)
    assert "private_key=" not in repr(loaded).replace("has_private_key=", "")
    assert "RSAPrivateKey" not in repr(loaded)
    assert "key" not in repr(loaded.info).replace("has_private_key", "")

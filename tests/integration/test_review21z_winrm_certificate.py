"""review21z: fix21z made powershell.auth = certificate usable (new settings powershell.certificate_file and
powershell.certificate_key_file, a missing one a configuration error). Two variants of the same finding still end
wrong:

- with powershell.ssl = false (WinRM over HTTP, port 5985; the default of a host set up with `winrm quickconfig`)
  every admin command crashes: "Error: unexpected ValueError: Cannot use message encryption with auth
  'certificate' … run again with --debug for the traceback, and report it", exit 1. Certificate authentication of
  WinRM works over HTTPS only; that is a configuration error, refused before anything connects as Basic over plain
  HTTP is (`insecure_transport`, exit 2): "set powershell.ssl = true, or choose another powershell.auth".
- a certificate file that is no PEM certificate (e.g. the .pfx/.cer exported from Windows, or the key and the
  certificate swapped) is reported as "TLS verification of WinRM host … failed: PEM lib … — set powershell.ca_bundle
  to the CA that issued the host's certificate", exit 3: the remedy sends the administrator to the host's CA,
  which is not the problem, and the client certificate setting is not named.

An administrator expects exit 2 and one line `Error: <problem> — <remedy>` naming the setting to correct (issue 21,
Deliver 7: configuration errors → 2; Deliver 6: every remedy points at what works for that situation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import Invoke, MakeCert, one_line_error

pytestmark = pytest.mark.integration


def _certificate(env: dict[str, str], tmp_path: Path, text: str) -> dict[str, str]:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text(text)
    key.write_text(text)
    return env | {
        "ROOMSOPS_POWERSHELL_AUTH": "certificate",
        "ROOMSOPS_POWERSHELL_CERTIFICATE_FILE": str(cert),
        "ROOMSOPS_POWERSHELL_CERTIFICATE_KEY_FILE": str(key),
    }


def test_certificate_auth_over_plain_http_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    settings = _certificate(env, tmp_path, "-----BEGIN CERTIFICATE-----\n") | {
        "ROOMSOPS_POWERSHELL_SSL": "false"
    }
    run = invoke("policy", "list", env=settings)
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert run.code == 2, line
    assert "powershell.ssl" in line, line


def test_a_client_certificate_that_is_no_pem_names_the_certificate_setting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    run = invoke("policy", "list", env=_certificate(env, tmp_path, "not a certificate\n"))
    line = one_line_error(run)
    assert "powershell.certificate_file" in line, line
    assert "ca_bundle" not in line, line
    assert run.code == 2, line


@pytest.mark.parametrize(
    ("password", "with_key", "problem"),
    [(b"pfx-password", True, "encrypted private key"), (None, False, "holds no PEM private key")],
    ids=["encrypted-key", "no-key"],
)
def test_a_client_key_that_tls_cannot_read_names_the_key_setting(
    invoke: Invoke,
    fresh_lab: Any,
    env: dict[str, str],
    tmp_path: Path,
    make_cert: MakeCert,
    rsa_key: rsa.RSAPrivateKey,
    password: bytes | None,
    with_key: bool,
    problem: str,
) -> None:
    """fix21aa, the same check for the key file: the TLS library reads an unencrypted PEM key only (an encrypted
    one would be asked for on the terminal, or fail as the host's CA); the certificate of the same file is fine. A
    host that refuses a readable certificate gets a remedy about its mapping, not about a password (none was sent)."""
    pem = make_cert().pem(tmp_path, rsa_key if with_key else None, password)
    settings = _certificate(env, tmp_path, "") | {
        "ROOMSOPS_POWERSHELL_CERTIFICATE_FILE": str(pem),
        "ROOMSOPS_POWERSHELL_CERTIFICATE_KEY_FILE": str(pem),
    }
    run = invoke("policy", "list", env=settings)
    line = one_line_error(run)
    assert run.code == 2 and "powershell.certificate_key_file" in line and problem in line, line
    assert "ca_bundle" not in line and "openssl pkcs12" in line, line
    (tmp_path / "readable").mkdir()
    readable = make_cert().pem(
        tmp_path / "readable", rsa_key
    )  # certificate and unencrypted key: on to the host
    run = invoke("policy", "list", env=settings | {"ROOMSOPS_POWERSHELL_CERTIFICATE_KEY_FILE": str(readable)})
    line = one_line_error(
        run
    )  # the lab maps no client certificate: refused as a real host without the mapping
    assert run.code == 3 and "refused" in line and "powershell.certificate_file" in line, line
    assert "password" not in line, line  # none was sent

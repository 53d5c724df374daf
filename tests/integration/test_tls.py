"""TLS: a certificate from an unknown CA and an expired one fail with exit 3 for the token service, EWS and WinRM,
and nothing is ever sent over an unverified connection (the lab counts no request of that protocol).

One lab presents its normal certificate to clients that address it as 127.0.0.1 and, by SNI, another one to
clients that address it as `localhost`: an expired certificate of the lab's own CA, or one of a foreign CA. So the
token service can be fine while EWS or WinRM are not, on one server. Results in docs/reliability.md.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from roomsops.lab import Lab
from roomsops.lab.pki import ensure_pki
from roomsops.lab.serve import APP_CREDENTIALS
from roomsops.lab.server import server_ssl_context
from tests.campaign import campaign_env
from tests.conftest import Invoke, Run, one_line_error

pytestmark = pytest.mark.integration


class TlsLab:
    def __init__(self, lab: Lab, expired: tuple[Path, Path], foreign: tuple[Path, Path], foreign_ca: Path):
        self.lab, self.expired, self.foreign, self.foreign_ca = lab, expired, foreign, foreign_ca

    @contextmanager
    def for_localhost(self, cert: tuple[Path, Path]) -> Iterator[None]:
        """Clients that connect to `localhost` get this certificate; those that connect to 127.0.0.1 the lab's."""
        context = self.lab._server.ssl_context  # type: ignore[union-attr]
        other = server_ssl_context(*cert)

        def choose(sslobj: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            if name == "localhost":
                sslobj.context = other

        context.sni_callback = choose
        try:
            yield
        finally:
            context.sni_callback = None

    def counts(self) -> dict[str, int]:
        return self.lab.context.counter.snapshot()

    def reset(self) -> None:
        self.lab.context.counter.reset()


@pytest.fixture(scope="module")
def tls_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsLab]:
    folder = tmp_path_factory.mktemp("tls")
    with Lab(folder / "lab") as lab:
        expired = ensure_pki(lab.dir, APP_CREDENTIALS, expired_tls=True)  # the lab's CA, the lab's key
        foreign = ensure_pki(folder / "foreign", ())  # another CA altogether
        yield TlsLab(
            lab,
            (expired.server_cert_file, expired.server_key_file),
            (foreign.server_cert_file, foreign.server_key_file),
            foreign.ca_file,
        )


@pytest.fixture
def env(tls_lab: TlsLab, tmp_path: Path) -> dict[str, str]:
    tls_lab.reset()
    password = str(tls_lab.lab.info["winrm"]["password"])
    return campaign_env(tmp_path, tls_lab.lab.settings_path, {"ROOMSOPS_WINRM_PASSWORD": password})


def exit_3(run: Run) -> str:
    assert run.code == 3, run.out + run.err
    one_line_error(run)
    return run.err


CERTS = {
    "unknown CA": ("foreign", "unable to get local issuer certificate"),
    "expired": ("expired", "certificate has expired"),
}


@pytest.mark.parametrize("problem", CERTS)
def test_token_service(problem: str, invoke: Invoke, tls_lab: TlsLab, env: dict[str, str]) -> None:
    cert, reason = CERTS[problem]
    base = f"https://localhost:{tls_lab.lab.port}"
    with tls_lab.for_localhost(getattr(tls_lab, cert)):
        run = invoke("auth", "test", env=env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": base})
    assert exit_3(run) == (
        f"Error: TLS verification of {base}/{tls_lab.lab.info['tenant']['id']} failed: {reason} — set "
        "network.ca_bundle to the CA that issued the server's certificate (or your proxy's)\n"
    )
    assert tls_lab.counts() == {}  # not one request reached the lab: no unverified fallback


def test_token_service_of_a_lab_with_an_expired_certificate(invoke: Invoke, tmp_path: Path) -> None:
    with Lab(tmp_path / "expired", expired_tls=True) as expired:
        run = invoke("auth", "test", env={"ROOMSOPS_SETTINGS": str(expired.settings_path)})
        assert "certificate has expired" in exit_3(run)
        assert expired.context.counter.snapshot() == {}


@pytest.mark.parametrize("problem", CERTS)
def test_ews_with_the_token_service_fine(
    problem: str, invoke: Invoke, tls_lab: TlsLab, env: dict[str, str]
) -> None:
    cert, reason = CERTS[problem]
    domain = tls_lab.lab.info["tenant"]["domain"]
    assert invoke("persons", "add", f"DiegoS@{domain}", env=env).code == 0
    assert invoke("persons", "add", f"AdeleV@{domain}", env=env).code == 0
    ews = env | {"ROOMSOPS_CLOUD_EWS_URL": f"https://localhost:{tls_lab.lab.port}/EWS/Exchange.asmx"}
    with tls_lab.for_localhost(getattr(tls_lab, cert)):
        run = invoke("sync", env=ews)
        diagnosed = invoke("--json", "sync", "test", f"DiegoS@{domain}", env=ews)
    assert exit_3(run) == (
        f"Error: TLS verification of the EWS endpoint failed: {reason} — set network.ca_bundle to the CA of the "
        "server (or of your proxy)\n"
    )
    # sync test names the failed step; it could not connect, so exit 3 as README's table says (issue 21.7)
    failed = [c for c in json.loads(diagnosed.out)["checks"] if c["status"] == "failed"]
    assert diagnosed.code == 3 and [(c["name"], c["message"], c["remedy"]) for c in failed] == [
        (
            "EWS connection",
            f"TLS verification of {ews['ROOMSOPS_CLOUD_EWS_URL']} failed: {reason}",
            "set network.ca_bundle to the CA of the server (or of your proxy)",
        )
    ]
    counts = tls_lab.counts()
    assert counts["token:client_credentials"] >= 1  # the token service was fine
    assert not [k for k in counts if k.startswith("ews:")]  # EWS never got a request


@pytest.mark.parametrize("problem", CERTS)
def test_winrm(problem: str, invoke: Invoke, tls_lab: TlsLab, env: dict[str, str]) -> None:
    cert, reason = CERTS[problem]
    port = tls_lab.lab.port
    if cert == "foreign":  # the lab's own certificate, but the CA bundle of another CA
        run = invoke("policy", "list", env=env | {"ROOMSOPS_POWERSHELL_CA_BUNDLE": str(tls_lab.foreign_ca)})
        host = "127.0.0.1"
    else:
        with tls_lab.for_localhost(tls_lab.expired):
            run = invoke("policy", "list", env=env | {"ROOMSOPS_POWERSHELL_HOST": "localhost"})
        host = "localhost"
    assert exit_3(run) == (
        f"Error: TLS verification of WinRM host {host}:{port} failed: {reason} — set powershell.ca_bundle to the "
        "CA that issued the host's certificate\n"
    )
    assert not [k for k in tls_lab.counts() if k.startswith(("wsman:", "cmdlet:"))]


def test_the_lab_listens_on_loopback_only(tls_lab: TlsLab) -> None:
    host, port = tls_lab.lab.server_address
    assert host == "127.0.0.1"
    others = {"127.0.0.2"}
    try:
        others |= {str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    for address in others - {"127.0.0.1"}:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
            pass

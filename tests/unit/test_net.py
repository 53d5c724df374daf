"""One reading of a failed connection for every adapter: TLS verification, or the server not reached."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import pytest
import requests
from exchangelib.errors import TransportError

from roomsops.adapters import net
from roomsops.core.errors import ConnectError, ExitCode
from roomsops.core.settings import load_settings

EXPIRED = (
    "HTTPSConnectionPool(host='localhost', port=4443): Max retries exceeded with url: /EWS/Exchange.asmx (Caused "
    "by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "certificate has expired (_ssl.c:1006)')))"
)
REFUSED = (
    "HTTPSConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: / (Caused by "
    "NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new "
    "connection: [Errno 111] Connection refused'))"
)


def connect_error(exc: BaseException) -> ConnectError:
    return net.connect_error(exc, "https://host", tls_remedy="fix the CA", remedy="fix the network")


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.SSLError(EXPIRED),  # requests: msal's token service, WinRM, the diagnosis
        TransportError(EXPIRED),  # exchangelib keeps only the text
    ],
    ids=["requests", "exchangelib"],
)
def test_a_failed_verification_names_its_reason(exc: Exception) -> None:
    error = connect_error(exc)
    assert (error.code, error.exit_code) == ("tls_failed", ExitCode.CONNECT)
    assert error.one_line() == "TLS verification of https://host failed: certificate has expired — fix the CA"


def test_a_verification_error_deep_in_the_chain_is_found() -> None:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "unable to get local issuer certificate")
        except ssl.SSLError as inner:
            raise requests.ConnectionError("the connection failed") from inner
    except requests.ConnectionError as outer:
        assert net.is_tls_failure(outer)
        assert connect_error(outer).code == "tls_failed"


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (requests.ConnectionError(REFUSED), "Connection refused"),
        (
            requests.ConnectionError(
                "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
            ),
            "Remote end closed connection without response",
        ),
        (
            requests.ReadTimeout("HTTPSConnectionPool(host='h', port=1): Read timed out. (read timeout=30)"),
            "timed out",
        ),
        (
            http.client.RemoteDisconnected(""),
            "RemoteDisconnected",
        ),
    ],
)
def test_a_server_not_reached_names_why(exc: Exception, reason: str) -> None:
    error = connect_error(exc)
    assert not net.is_tls_failure(exc)
    assert (error.code, error.message, error.remedy) == (
        "connect_failed",
        f"cannot reach https://host: {reason}",
        "fix the network",
    )


def test_tls_error_is_none_when_tls_was_not_the_problem() -> None:
    assert net.tls_error(requests.ConnectionError(REFUSED), "x", "y") is None


def test_http_session_follows_the_settings_not_the_environment(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "roomsops.toml"
    path.write_text('[network]\nca_bundle = "ca.pem"\nproxy = "http://proxy:8080"\n', encoding="utf-8")
    (tmp_path / "conf" / "ca.pem").write_text("", encoding="utf-8")  # a CA bundle must exist (issue 17 D9)
    session = net.http_session(load_settings(str(path), environ={}))
    assert session.trust_env is False
    assert session.verify == str(tmp_path / "conf" / "ca.pem")  # beside the settings file
    assert session.proxies == {"https": "http://proxy:8080", "http": "http://proxy:8080"}
    bare = net.http_session(load_settings(None, environ={}))  # no ./roomsops.toml: the defaults
    assert (bare.verify, bare.proxies) == (True, {})


def test_the_device_code_flow_reads_a_failed_connection_like_the_token_service(tmp_path: Path) -> None:
    from roomsops.adapters.entra.device_code import device_code_token

    path = tmp_path / "roomsops.toml"
    path.write_text(
        '[cloud]\nname = "lab"\nauthority_host = "https://127.0.0.1:9"\news_url = "https://127.0.0.1:9/EWS/Exchange.asmx"\n'
        '[exo]\nauth = "device-code"\napp_id = "6e9157a8-801c-4f5c-9522-9ae9ffd2aa4f"\n'
        'organization = "contoso.onmicrosoft.com"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConnectError) as info:
        device_code_token(load_settings(str(path), environ={}), print)
    assert info.value.one_line() == (
        "cannot reach https://127.0.0.1:9/contoso.onmicrosoft.com: Connection refused — check the network, "
        "network.proxy and cloud.authority_host"
    )

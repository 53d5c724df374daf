"""`roomsops auth test` against the lab with the real msal over TLS: secret, both certificate forms, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from roomsops.adapters.entra.tokens import TokenProvider, credentials_from_app_settings
from roomsops.core.settings import load_settings
from tests.conftest import Invoke, MakeCert

pytestmark = pytest.mark.integration


@pytest.fixture
def lab_env(lab: Any, tmp_path: Path) -> dict[str, str]:
    """The lab's settings, with a private copy of its RoomsAppSettings.config to edit."""
    copy = tmp_path / "RoomsAppSettings.config"
    shutil.copy(Path(lab.dir) / "RoomsAppSettings.config", copy)
    return {"ROOMSOPS_SETTINGS": str(lab.settings_path), "ROOMSOPS_APP_SETTINGS": str(copy)}


def configure(invoke: Invoke, env: dict[str, str], key: str, value: str) -> None:
    run = invoke("config", "set", key, value, "--yes", env=env)
    assert run.code == 0, run.err


def test_secret(invoke: Invoke, lab: Any, lab_env: dict[str, str]) -> None:
    run = invoke("auth", "test", env=lab_env)
    assert run.code == 0, run.err
    rooms = lab.info["apps"]["rooms"]
    assert f"tenant      {lab.info['tenant']['id']}" in run.out
    assert f"app id      {rooms['app_id']}" in run.out
    assert "credential  client secret" in run.out
    assert "expires     20" in run.out
    assert "full_access_as_app" in run.out
    assert rooms["secret"] not in run.out + run.err


@pytest.mark.parametrize("sha256", ["false", "true"], ids=["x5t-RS256", "x5t#S256-PS256"])
def test_certificate_both_msal_forms(invoke: Invoke, lab: Any, lab_env: dict[str, str], sha256: str) -> None:
    configure(invoke, lab_env, "ExchangeCertThumbprint", lab.info["apps"]["rooms"]["thumbprint"])
    before = lab.requests().get("token:client_credentials", 0)
    run = invoke("--json", "auth", "test", env=lab_env | {"ROOMSOPS_AUTH_CERTIFICATE_SHA256": sha256})
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["credential_kind"] == "certificate"
    assert "full_access_as_app" in doc["roles"]
    assert doc["ok"] is True
    assert set(doc) == {
        "tenant_id",
        "app_id",
        "credential_kind",
        "authority",
        "scope",
        "expires_on",
        "roles",
        "audience",
        "checks",
        "ok",
    }
    assert lab.requests().get("token:client_credentials", 0) == before + 1


def test_two_token_requests_in_one_process_cost_one(lab: Any, lab_env: dict[str, str]) -> None:
    settings = load_settings(lab_env["ROOMSOPS_SETTINGS"], environ={})
    provider = TokenProvider(
        credentials_from_app_settings(Path(lab_env["ROOMSOPS_APP_SETTINGS"]), settings, {}), settings
    )
    before = lab.requests().get("token:client_credentials", 0)
    first, second = provider.token(), provider.token()
    assert first.access_token == second.access_token
    assert lab.requests().get("token:client_credentials", 0) == before + 1
    provider.invalidate()  # what a 401 from a resource does
    provider.token()
    assert lab.requests().get("token:client_credentials", 0) == before + 2


UNKNOWN = "11111111-2222-4333-8444-555555555555"


@pytest.mark.parametrize(
    ("key", "value", "code"),
    [
        ("ExchangeClientSecret", "wrong~secret.value.123", "AADSTS7000215"),
        ("ExchangeAppId", UNKNOWN, "AADSTS700016"),
        ("ExchangeTenantId", UNKNOWN, "AADSTS90002"),
    ],
)
def test_refusals_exit_3_with_cause_and_remedy(
    invoke: Invoke, lab_env: dict[str, str], key: str, value: str, code: str
) -> None:
    configure(invoke, lab_env, key, value)
    run = invoke("auth", "test", env=lab_env)
    assert run.code == 3, run.out + run.err
    assert run.out == ""
    (line,) = run.err.splitlines()
    assert line.startswith("Error: token request refused: ")
    assert f"({code}) — " in line
    assert "wrong~secret" not in line


def test_unregistered_certificate_exits_3(
    invoke: Invoke, lab_env: dict[str, str], tmp_path: Path, make_cert: MakeCert, rsa_key: RSAPrivateKey
) -> None:
    cert = make_cert()
    pem = cert.pem(tmp_path, rsa_key)
    configure(invoke, lab_env, "ExchangeCertThumbprint", cert.thumbprint)
    run = invoke("auth", "test", env=lab_env | {"ROOMSOPS_AUTH_CERTIFICATE_FILE": str(pem)})
    assert run.code == 3
    assert "certificate is not registered for this app" in run.err
    assert "(AADSTS700027)" in run.err


def test_json_error_document(invoke: Invoke, lab_env: dict[str, str]) -> None:
    configure(invoke, lab_env, "ExchangeAppId", UNKNOWN)
    run = invoke("--json", "auth", "test", env=lab_env)
    assert run.code == 3
    error = json.loads(run.out)["error"]
    assert error["code"] == "AADSTS700016"
    assert "ExchangeAppId" in error["remedy"]


def test_untrusted_server_certificate_exits_3(invoke: Invoke, lab_env: dict[str, str]) -> None:
    run = invoke("auth", "test", env=lab_env | {"ROOMSOPS_NETWORK_CA_BUNDLE": ""})
    assert run.code == 3
    assert "TLS verification of" in run.err
    assert "network.ca_bundle" in run.err


def test_unreachable_token_service_exits_3(invoke: Invoke, lab_env: dict[str, str]) -> None:
    run = invoke("auth", "test", env=lab_env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": "https://127.0.0.1:9"})
    assert run.code == 3
    assert "cannot reach https://127.0.0.1:9/" in run.err


def test_revoked_consent_fails_the_roles_check(
    invoke: Invoke, lab: Any, fresh_lab: Any, lab_env: dict[str, str]
) -> None:
    rooms = lab.info["apps"]["rooms"]["app_id"]
    lab.admin(
        "POST", "/lab/consent", json={"app_id": rooms, "permission": "full_access_as_app", "grant": False}
    )
    run = invoke("auth", "test", env=lab_env)
    assert run.code == 1
    assert "full_access_as_app is missing" in run.out
    # "grant" is optional and defaults to granting: the consent comes back without it.
    lab.admin("POST", "/lab/consent", json={"app_id": rooms, "permission": "full_access_as_app"})
    assert invoke("auth", "test", env=lab_env).code == 0


def test_token_service_fault_exits_3(
    invoke: Invoke, lab: Any, fresh_lab: Any, lab_env: dict[str, str]
) -> None:
    lab.fault(protocol="token", operation="client_credentials", kind="http_503", count=5)
    run = invoke("auth", "test", env=lab_env)
    assert run.code == 3, run.out + run.err
    assert len(run.err.splitlines()) == 1

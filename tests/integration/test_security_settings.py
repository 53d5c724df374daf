"""Issue 17 against the lab, settings side: `powershell.cert_validation = false` (D4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.fixture
def env(fresh_lab: Any, tmp_path: Path) -> dict[str, str]:
    return {
        "ROOMSOPS_SETTINGS": str(fresh_lab.settings_path),
        "ROOMSOPS_WINRM_PASSWORD": fresh_lab.info["winrm"]["password"],
        "ROOMSOPS_LOG_AUDIT": str(tmp_path / "audit.jsonl"),
    }


@pytest.mark.parametrize("auth", ["basic", "ntlm", "negotiate", "credssp"])
@pytest.mark.parametrize("command", [("policy", "list"), ("ews", "status"), ("config", "check", "--on-host")])
def test_cert_validation_off_is_refused_with_a_password(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, auth: str, command: tuple[str, ...]
) -> None:
    if command[0] == "config":  # the host's store is checked (over WinRM) for a certificate credential only
        copy = tmp_path / "RoomsAppSettings.config"
        copy.write_bytes((Path(fresh_lab.dir) / "RoomsAppSettings.config").read_bytes())
        env = env | {"ROOMSOPS_APP_SETTINGS": str(copy)}
        thumbprint = fresh_lab.info["apps"]["rooms"]["thumbprint"]
        assert invoke("config", "set", "ExchangeCertThumbprint", thumbprint, "--yes", env=env).code == 0
    off = env | {"ROOMSOPS_POWERSHELL_CERT_VALIDATION": "false", "ROOMSOPS_POWERSHELL_AUTH": auth}
    run = invoke(*command, env=off)
    assert run.code == 2, run.err
    assert (
        f"powershell.cert_validation = false (from $ROOMSOPS_POWERSHELL_CERT_VALIDATION) is refused with "
        f"powershell.auth = {auth}" in run.err
    )
    assert "set powershell.ca_bundle" in run.err
    assert fresh_lab.requests() == {}  # no token asked for, no WinRM request: no password went anywhere


def test_cert_validation_off_from_the_file_names_the_file(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    settings = tmp_path / "roomsops.toml"
    text = Path(fresh_lab.settings_path).read_text(encoding="utf-8")
    settings.write_text(text.replace("[powershell]\n", "[powershell]\ncert_validation = false\n"), "utf-8")
    run = invoke("policy", "list", env=env | {"ROOMSOPS_SETTINGS": str(settings)})
    assert run.code == 2 and f"(from {settings})" in run.err
    assert fresh_lab.requests() == {}


def test_cert_validation_off_without_a_password_warns_loudly_on_every_run(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    off = env | {"ROOMSOPS_POWERSHELL_CERT_VALIDATION": "false", "ROOMSOPS_POWERSHELL_AUTH": "kerberos"}
    for _ in range(2):
        run = invoke("policy", "list", env=off)
        assert run.code != 0  # the lab speaks no Kerberos: the run fails after the warning
        assert (
            "Warning: TLS CERTIFICATE VALIDATION IS OFF for the WinRM host 127.0.0.1 (powershell.cert_validation "
            "= false from $ROOMSOPS_POWERSHELL_CERT_VALIDATION)" in run.err
        )
    with_validation = invoke("policy", "list", env=env)
    assert with_validation.code == 0 and "VALIDATION IS OFF" not in with_validation.err

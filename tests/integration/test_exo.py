"""The Exchange admin session (roomsops.adapters.exo: session, connect) against the lab's WinRM with the real pypsrp: modes, cmdlets, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from roomsops.adapters.exo.connect import open_exchange
from roomsops.adapters.exo.errors import CmdletError
from roomsops.core.settings import Settings, load_settings
from tests.conftest import Invoke, sigint_by_default

pytestmark = pytest.mark.integration


def settings_for(lab: Any, **env: str) -> Settings:
    return load_settings(str(lab.settings_path), environ={f"ROOMSOPS_{k.upper()}": v for k, v in env.items()})


def winrm_state(lab: Any) -> dict[str, Any]:
    return lab.admin("GET", "/lab/winrm").json()


@pytest.mark.parametrize("mode", ["app-token", "app-certificate", "device-code"])
def test_each_connect_mode_runs_cmdlets_and_disconnects(
    mode: str, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    extra = {"exo_auth": mode}
    if mode == "app-certificate":
        extra["exo_certificate_thumbprint"] = fresh_lab.info["apps"]["admin"]["thumbprint"]
    settings = settings_for(fresh_lab, **extra)
    notices: list[str] = []
    before = {shell["id"] for shell in winrm_state(fresh_lab)["open_shells"]}
    with open_exchange(settings, env, notify=notices.append) as session:
        (mailbox,) = session.run("Get-Mailbox", {"Identity": addr("DiegoS")})
        assert mailbox["PrimarySmtpAddress"] == addr("DiegoS")
        assert winrm_state(fresh_lab)["open_shells"]
    counts = fresh_lab.requests()
    assert counts["cmdlet:Connect-ExchangeOnline"] == 1
    assert counts["cmdlet:Disconnect-ExchangeOnline"] == 1
    state = winrm_state(fresh_lab)
    assert {shell["id"] for shell in state["open_shells"]} <= before and state["deleted_shells"] >= 1
    assert (mode == "device-code") == bool(notices)


def test_cmdlets_through_the_adapter(fresh_lab: Any, env: dict[str, str], addr: Any) -> None:
    settings = settings_for(fresh_lab)
    app_id = fresh_lab.info["apps"]["rooms"]["app_id"]
    with open_exchange(settings, env) as session:
        assert (
            session.run("Get-Recipient", {"Identity": "room-zurich@" + addr("x").split("@")[1]})[0][
                "RecipientTypeDetails"
            ]
            == "RoomMailbox"
        )
        assert session.run("Get-CASMailbox", {"Identity": addr("AdeleV")})[0]["EwsEnabled"] in (True, None)
        session.run("Set-CASMailbox", {"Identity": addr("AdeleV"), "EwsEnabled": False})
        assert session.run("Get-CASMailbox", {"Identity": addr("AdeleV")})[0]["EwsEnabled"] is False
        (group,) = session.run("New-DistributionGroup", {"Name": "Sync O'Brien", "Type": "Security"})
        assert group["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
        assert session.run("Get-DistributionGroup", {"Identity": "Sync O'Brien"})[0]["Name"] == "Sync O'Brien"
        session.run(
            "Add-DistributionGroupMember",
            {"Identity": "Sync O'Brien", "Member": addr("DiegoS"), "BypassSecurityGroupManagerCheck": True},
        )
        with pytest.raises(CmdletError) as again:
            session.run(
                "Add-DistributionGroupMember",
                {
                    "Identity": "Sync O'Brien",
                    "Member": addr("DiegoS"),
                    "BypassSecurityGroupManagerCheck": True,
                },
            )
        assert again.value.failures[0].category == "MemberAlreadyExistsException"
        members = session.run("Get-DistributionGroupMember", {"Identity": "Sync O'Brien"})
        assert [m["PrimarySmtpAddress"] for m in members] == [addr("DiegoS")]
        (policy,) = session.run(
            "New-ApplicationAccessPolicy",
            {
                "AppId": app_id,
                "PolicyScopeGroupId": group["ExternalDirectoryObjectId"],
                "AccessRight": "RestrictAccess",
                "Description": "test",
            },
        )
        assert policy["ScopeIdentityRaw"].endswith(";" + group["ExternalDirectoryObjectId"])
        session.run("Set-ApplicationAccessPolicy", {"Identity": policy["Identity"], "Description": "changed"})
        assert session.run("Get-ApplicationAccessPolicy", {})[0]["Description"] == "changed"
        results = session.run_batch(
            [
                ("Test-ApplicationAccessPolicy", {"Identity": a, "AppId": app_id})
                for a in (addr("DiegoS"), addr("AdeleV"))
            ]
        ).outputs
        assert [r["AccessCheckResult"] for r in results] == ["Granted", "Denied"]
        session.run("Remove-ApplicationAccessPolicy", {"Identity": policy["Identity"], "Confirm": False})
        session.run(
            "Remove-DistributionGroupMember",
            {
                "Identity": "Sync O'Brien",
                "Member": addr("DiegoS"),
                "BypassSecurityGroupManagerCheck": True,
                "Confirm": False,
            },
        )
        session.run("Set-OrganizationConfig", {"EwsAllowedAppIDs": app_id})
        (org,) = session.run("Get-OrganizationConfig", {"RetrieveEwsOperationAccessPolicy": True})
        assert org["EwsAllowedAppIDs"] == [app_id]
        with pytest.raises(CmdletError) as missing:
            session.run("Get-Mailbox", {"Identity": addr("nobody")})
        failure = missing.value.failures[0]
        assert failure.cmdlet == "Get-Mailbox" and failure.category == "ManagementObjectNotFoundException"
        assert f"object '{addr('nobody')}' couldn't be found" in failure.message
        assert "Get-Mailbox failed: The operation couldn't be performed" in missing.value.message


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong password", "refused the credentials of labadmin (HTTP 401)"),
        ("unreachable host", "cannot reach WinRM host 127.0.0.1:9"),
        ("untrusted certificate", "TLS verification of WinRM host"),
        ("thumbprint not on the host", "Connect-ExchangeOnline failed: No certificate with thumbprint"),
        ("token without Exchange.ManageAsApp", "Connect-ExchangeOnline failed: UnAuthorized"),
    ],
)
def test_connection_failures_exit_3(
    case: str, message: str, invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    extra: dict[str, str] = {}
    if case == "wrong password":
        extra["ROOMSOPS_WINRM_PASSWORD"] = "not-the-password"
    elif case == "unreachable host":
        extra["ROOMSOPS_POWERSHELL_PORT"] = "9"
    elif case == "untrusted certificate":
        extra["ROOMSOPS_POWERSHELL_CA_BUNDLE"] = ""
    elif case == "basic over http":
        extra["ROOMSOPS_POWERSHELL_SSL"] = "false"
    elif case == "thumbprint not on the host":
        extra |= {"ROOMSOPS_EXO_AUTH": "app-certificate", "ROOMSOPS_EXO_CERTIFICATE_THUMBPRINT": "AB" * 20}
    else:
        admin = fresh_lab.info["apps"]["admin"]["app_id"]
        fresh_lab.admin(
            "POST",
            "/lab/consent",
            json={"app_id": admin, "permission": "Exchange.ManageAsApp", "grant": False},
        ).raise_for_status()
    run = invoke("policy", "list", env=env | extra)
    assert run.code == 3, run.err
    (line,) = run.err.splitlines()
    assert line.startswith("Error: ") and message in line and " — " in line
    if case == "thumbprint not on the host":
        assert "certificate store of the management host 127.0.0.1" in line
    assert fresh_lab.info["winrm"]["password"] not in run.out + run.err


# --- config check --on-host ----------------------------------------------------------------------------------


@pytest.fixture
def on_host(invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path) -> Any:
    copy = tmp_path / "RoomsAppSettings.config"
    copy.write_bytes((Path(fresh_lab.dir) / "RoomsAppSettings.config").read_bytes())
    thumbprint = fresh_lab.info["apps"]["rooms"]["thumbprint"]
    run_env = env | {"ROOMSOPS_APP_SETTINGS": str(copy)}
    assert invoke("config", "set", "ExchangeCertThumbprint", thumbprint, "--yes", env=run_env).code == 0

    def check(**store: Any) -> tuple[int, dict[str, dict[str, Any]]]:
        if store:
            fresh_lab.admin(
                "POST", "/lab/certstore", json={"thumbprint": thumbprint, **store}
            ).raise_for_status()
        run = invoke("--json", "config", "check", "--on-host", env=run_env)
        return run.code, {c["name"]: c for c in json.loads(run.out)["checks"]}

    return check


def test_on_host_passes_for_the_rooms_certificate(on_host: Any) -> None:
    code, checks = on_host()
    assert code == 0, checks
    assert checks["key access"]["message"] == "LAB\\svc-rooms may read the private key"


@pytest.mark.parametrize(
    ("store", "check", "message", "remedy"),
    [
        ({"remove": True}, "host certificate", "no certificate with thumbprint", "import the certificate"),
        ({"has_private_key": False}, "host private key", "has no private key", "import the PFX"),
        (
            {"not_after": "2026-01-01T00:00:00+00:00", "not_before": "2025-01-01T00:00:00+00:00"},
            "host validity",
            "expired on 2026-01-01",
            "create a new certificate",
        ),
        (
            {"key_readers": ["NT AUTHORITY\\SYSTEM"]},
            "key access",
            "may not read the private key ('Keyset does not exist')",
            "Manage Private Keys → Add LAB\\svc-rooms with Read",
        ),
        # Issue 17 D13: a Deny entry for the account, or for a group it is in, beats its Allow entry.
        (
            {"key_readers": ["LAB\\svc-rooms"], "key_denied": ["LAB\\svc-rooms"]},
            "key access",
            "may not read the private key ('Keyset does not exist')",
            "remove any Deny entry for it or its groups",
        ),
        (
            {"key_readers": ["LAB\\svc-rooms"], "key_denied": ["BUILTIN\\Users"]},
            "key access",
            "may not read the private key ('Keyset does not exist')",
            "remove any Deny entry for it or its groups",
        ),
    ],
)
def test_on_host_names_cause_and_remedy(
    on_host: Any, store: dict[str, Any], check: str, message: str, remedy: str
) -> None:
    code, checks = on_host(**store)
    assert code == 1
    assert message in checks[check]["message"]
    assert remedy in checks[check]["remedy"]


# --- Ctrl-C and secrets ---------------------------------------------------------------------------------------


def test_ctrl_c_during_a_pipeline_still_disconnects_and_closes(
    fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    fresh_lab.settings(latency_ms=300)
    before = {shell["id"] for shell in winrm_state(fresh_lab)["open_shells"]}
    process = subprocess.Popen(
        [sys.executable, "-m", "roomsops", "policy", "test", addr("DiegoS"), addr("AdeleV")],
        env=os.environ | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=sigint_by_default,
    )
    try:
        deadline = time.monotonic() + 30
        while fresh_lab.requests().get("cmdlet:Connect-ExchangeOnline", 0) == 0:
            assert time.monotonic() < deadline, "the command never connected"
            time.sleep(0.05)
        time.sleep(0.2)  # inside the next pipeline
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        fresh_lab.settings(latency_ms=0)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert fresh_lab.requests().get("cmdlet:Disconnect-ExchangeOnline", 0) == 1
    state = winrm_state(fresh_lab)
    assert {shell["id"] for shell in state["open_shells"]} <= before and state["deleted_shells"] >= 1


def test_basic_over_plain_http_is_a_configuration_error_exit_2(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """Issue 21.7: refused before any packet is sent; the settings are wrong, so exit 2, not 3."""
    fresh_lab.reset_requests()
    run = invoke("policy", "list", env=env | {"ROOMSOPS_POWERSHELL_SSL": "false"})
    assert run.code == 2, run.err
    (line,) = run.err.splitlines()
    assert line == (
        "Error: refusing Basic authentication over plain HTTP: it would send the password in clear text — set "
        "powershell.ssl = true (WinRM over HTTPS, port 5986), or use negotiate/kerberos"
    )
    assert not any(k.startswith(("wsman:", "cmdlet:")) for k in fresh_lab.requests())


def test_no_secret_in_output_or_log(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    for mode in ("app-token", "device-code"):
        run = invoke(
            "-vv",
            "--debug",
            "policy",
            "restrict",
            "--member",
            addr("DiegoS"),
            env=env | {"ROOMSOPS_EXO_AUTH": mode},
        )
        assert run.code == 0, run.err
        texts = [
            run.out,
            run.err,
            (tmp_path / "roomsops.log").read_text(),
            (tmp_path / "audit.jsonl").read_text(),
        ]
        for secret in (fresh_lab.info["winrm"]["password"], fresh_lab.info["apps"]["admin"]["secret"]):
            assert not any(secret in text for text in texts)
        assert not any("eyJ" in text for text in texts), "an access token leaked"

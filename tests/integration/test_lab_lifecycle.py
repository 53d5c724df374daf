"""Starting, restarting and stopping the lab: persistence in DIR, generated files, the process entry point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import msal
import pytest
import requests

from roomsops.lab import Lab, LabError

from .conftest import LabHelper, http_session

pytestmark = pytest.mark.integration

KEPT_FILES = [
    "ca.pem",
    "pki/ca.key",
    "pki/server.pem",
    "pki/server.key",
    "pki/signing.pem",
    "pki/signing.key",
    "apps/rooms.pem",
    "apps/rooms.pfx",
    "apps/roomsops-admin.pem",
    "apps/roomsops-admin.pfx",
]


def app_only_token(lab: Lab) -> dict[str, object]:
    rooms = lab.info["apps"]["rooms"]
    app = msal.ConfidentialClientApplication(
        rooms["app_id"],
        client_credential=rooms["secret"],
        authority=lab.info["endpoints"]["authority"],
        instance_discovery=False,
        http_client=http_session(lab.ca_path),
    )
    return dict(app.acquire_token_for_client([f"{lab.base_url}/.default"]))


def test_generated_files_point_at_the_lab(lab: LabHelper) -> None:
    settings = tomllib.loads(lab.settings_path.read_text(encoding="utf-8"))
    d = lab.dir
    assert settings["cloud"] == {
        "name": "lab",
        "authority_host": lab.base_url,
        "ews_url": f"{lab.base_url}/EWS/Exchange.asmx",
        "graph_url": lab.base_url,
    }
    assert settings["network"] == {"ca_bundle": f"{d}/ca.pem"}
    assert settings["rooms"] == {
        "app_settings": f"{d}/RoomsAppSettings.config",
        "database": f"sqlite:///{d}/rooms.db",
        "time_zone": "Europe/Zurich",
        "service_account": "LAB\\svc-rooms",
    }
    assert settings["auth"] == {"certificate_file": f"{d}/apps/rooms.pem"}
    assert settings["powershell"] == {
        "host": "127.0.0.1",
        "port": lab.lab.port,
        "ssl": True,
        "auth": "basic",
        "username": lab.info["winrm"]["username"],
        "password_env": "ROOMSOPS_WINRM_PASSWORD",
        "ca_bundle": f"{d}/ca.pem",
    }
    assert settings["exo"] == {
        "auth": "app-token",
        "app_id": lab.app("admin")["app_id"],
        "organization": "roomslab.onmicrosoft.com",
        "certificate_file": f"{d}/apps/roomsops-admin.pem",
    }
    assert settings["log"] == {"file": f"{d}/roomsops.log", "audit": f"{d}/audit.jsonl"}

    raw = (d / "RoomsAppSettings.config").read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<!--')
    assert b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8-sig")
    for key, value in [
        ("ExchangeUseImpersonation", "true"),
        ("BatchGetEventsSize", "100"),
        ("ExchangeTenantId", lab.tenant_id),
        ("ExchangeAppId", lab.app("rooms")["app_id"]),
        ("ExchangeClientSecret", lab.app("rooms")["secret"]),
    ]:
        assert f'<add key="{key}" value="{value}" />' in text

    assert json.loads((d / "lab.json").read_text(encoding="utf-8")) == lab.info
    assert lab.info["endpoints"]["authority"] == f"{lab.base_url}/{lab.tenant_id}"
    pem = Path(lab.app("rooms")["certificate_file"]).read_text(encoding="ascii")
    assert "BEGIN CERTIFICATE" in pem and "BEGIN PRIVATE KEY" in pem
    assert Path(lab.app("rooms")["pfx_file"]).stat().st_size > 0


def test_restart_on_the_same_dir_keeps_identities_credentials_and_files(tmp_path: Path) -> None:
    directory = tmp_path / "lab"
    with Lab(directory, latency_ms=150) as first:
        info = first.info
        started = time.monotonic()
        assert "access_token" in app_only_token(first)
        assert time.monotonic() - started >= 0.3  # discovery + token request, each delayed 150 ms
        session = http_session(first.ca_path)
        added = session.post(
            f"{first.base_url}/lab/mailboxes",
            json={"email": "KarinB@roomslab.onmicrosoft.com", "display_name": "Karin Blum"},
            headers={"Authorization": f"Bearer {first.admin_token}"},
            timeout=10,
        )
        assert added.status_code == 201
        with pytest.raises(LabError, match="another lab"):
            Lab(directory).start()
    before = {name: (directory / name).read_bytes() for name in KEPT_FILES}
    edited = (
        (directory / "RoomsAppSettings.config").read_bytes().replace(b"</RoomsAppSettings>", b"<!-- mine -->")
    )
    (directory / "RoomsAppSettings.config").write_bytes(edited)

    with Lab(directory) as second:
        assert second.info["tenant"] == info["tenant"]
        for name in ("rooms", "admin"):
            for field in ("app_id", "object_id", "secret", "thumbprint", "pfx_password"):
                assert second.info["apps"][name][field] == info["apps"][name][field]
        assert second.info["winrm"] == info["winrm"]
        assert second.info["admin_user"] == info["admin_user"]
        assert {name: (directory / name).read_bytes() for name in KEPT_FILES} == before
        assert (directory / "RoomsAppSettings.config").read_bytes() == edited
        assert second.tenant.find_mailbox("karinb@roomslab.onmicrosoft.com") is not None
        assert "access_token" in app_only_token(second)
        settings = tomllib.loads(second.settings_path.read_text(encoding="utf-8"))
        assert settings["cloud"]["authority_host"] == second.base_url
        second.tenant.reset()
        assert second.tenant.find_mailbox("karinb@roomslab.onmicrosoft.com") is None
        assert second.tenant.tenant_id == info["tenant"]["id"]

    with Lab(directory, expired_tls=True) as expired:
        with pytest.raises(requests.exceptions.SSLError, match="expired"):
            http_session(expired.ca_path).get(f"{expired.base_url}/lab/health", timeout=10)
        assert {name: (directory / name).read_bytes() for name in KEPT_FILES} == before
        with pytest.raises(LabError, match="in use"):
            Lab(tmp_path / "other", port=expired.port).start()


@pytest.mark.parametrize(
    "command",
    [["-m", "roomsops.lab"], ["-m", "roomsops", "lab", "serve", "--room-answer-delay", "0.5"]],
    ids=["python-m-lab", "roomsops-lab-serve"],
)
def test_lab_prints_ready_and_exits_0_on_sigterm(tmp_path: Path, command: list[str]) -> None:
    directory = tmp_path / "proc"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOMSOPS_")}
    process = subprocess.Popen(
        [sys.executable, *command, "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # One reader takes all of stdout: the lines after "lab ready" may come in the same chunk, and a second
        # reader (communicate) would not see what the first one buffered.
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
        reader.start()
        for _ in range(300):  # the ready line, polled (at most 30 s)
            if lines or process.poll() is not None:
                break
            threading.Event().wait(0.1)
        assert lines[:1] == [f"lab ready: {directory.resolve()}/roomsops.toml\n"]
        info = json.loads((directory / "lab.json").read_text(encoding="utf-8"))
        health = http_session(directory / "ca.pem").get(f"{info['endpoints']['base']}/lab/health", timeout=10)
        assert health.json() == {"status": "ok"}
        settings = http_session(directory / "ca.pem").get(
            f"{info['endpoints']['base']}/lab/settings",
            headers={"Authorization": f"Bearer {info['admin_api']['token']}"},
            timeout=10,
        )
        # The room answer delay reaches the lab: Exchange Online's few seconds by default, or as given.
        assert settings.json()["room_answer_delay"] == (0.5 if "--room-answer-delay" in command else 5.0)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        reader.join(timeout=15)
        err = process.stderr.read()  # type: ignore[union-attr]
        out = "".join(lines[1:])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    if "serve" in command:  # `roomsops lab serve` then prints what to export (issue 21.13), no secret in it
        assert out.startswith(f"# domain {info['tenant']['domain']}; ") and out.count("\n") == 4
        assert info["winrm"]["password"] not in out
    else:
        assert out == ""
    assert info["apps"]["rooms"]["secret"] not in lines[0] + out + err

"""Issue 17, D3: one rule for secret keys (config show, audit log, log, error lines); private log files.

Before: `config show` masked SmtpPwd, *ConnectionString and *ApiKey, but audit.jsonl wrote them in clear
(two modules each had their own rule), and the log, the audit log and the database were created 0644.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from roomsops.core.logs import MASK, AuditLog, redact
from roomsops.core.secrets import is_secret_key
from tests.conftest import APP, SECRET, Invoke

SMTP_PASSWORD = "smtp-Pa55word!rooms"
CONNECTION_STRING = "Server=db;User Id=rooms;Password=db-Pa55;"
MAPS_KEY = "AIzaSyD-maps-api-key-value"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


@pytest.fixture
def logged(tmp_path: Path, settings_file: Callable[[str], Path]) -> Path:
    return settings_file(
        f'[log]\nfile = "{tmp_path}/logs/roomsops.log"\naudit = "{tmp_path}/logs/audit.jsonl"\nlevel = "DEBUG"\n'
    )


@pytest.mark.parametrize(
    "key",
    [
        "ExchangeClientSecret",
        "ExchangeServicePassword",
        "SmtpPwd",
        "SmtpPassword",
        "DatabaseConnectionString",
        "MapsApiKey",
        "maps_api_key",
        "client_secret",
        "access_token",
        "Token",
        "client_assertion",
        "private_key",
        "WinRM.Password",
    ],
)
def test_secret_keys_by_the_one_rule(key: str) -> None:
    assert is_secret_key(key)
    assert redact({key: "value"}) == {key: MASK}


@pytest.mark.parametrize(
    "key",
    [
        "ExchangeTenantId",
        "ExchangeAppId",
        "ExchangeCertThumbprint",
        "OAuthTokenMinutesBeforeRenew",
        "booking",
    ],
)
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)
    assert redact({key: "value"}) == {key: "value"}


def test_config_set_of_other_secrets_is_masked_in_show_audit_and_log(
    invoke: Invoke, app_settings: Path, logged: Path, tmp_path: Path
) -> None:
    """The attack: a ROOMS SMTP password set with roomsops landed in audit.jsonl in clear."""
    base = ("--settings", str(logged), "--app-settings", str(app_settings), "-vv")
    for key, value in (
        ("SmtpPwd", SMTP_PASSWORD),
        ("DatabaseConnectionString", CONNECTION_STRING),
        ("MapsApiKey", MAPS_KEY),
    ):
        run = invoke(*base, "config", "set", key, "-", "--force", input=value + "\n")
        assert run.code == 0, run.err
    shown = invoke(*base, "--json", "config", "show")
    entries = {e["key"]: e for e in json.loads(shown.out)["entries"]}
    audit_lines = [json.loads(line) for line in (tmp_path / "logs" / "audit.jsonl").read_text().splitlines()]
    assert [line["params"] for line in audit_lines] == [
        {"SmtpPwd": MASK},
        {"DatabaseConnectionString": MASK},
        {"MapsApiKey": MASK},
    ]
    for key in ("SmtpPwd", "DatabaseConnectionString", "MapsApiKey"):
        assert entries[key] == {"key": key, "value": MASK, "secret": True}
    written = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    for value in (SMTP_PASSWORD, CONNECTION_STRING, MAPS_KEY, SECRET):
        assert value not in written
        assert value not in shown.out + shown.err


def test_a_secret_pasted_into_the_tenant_id_is_not_echoed(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    for flags in ((), ("--json",)):
        run = invoke(
            "--app-settings",
            str(app_settings),
            *flags,
            "config",
            "init",
            "--tenant-id",
            "pasted-" + SECRET,
            "--app-id",
            APP,
            "--client-secret-env",
            "S",
            env={"S": "pasted-" + SECRET},
        )
        assert run.code == 2
        assert SECRET not in run.out + run.err
        assert MASK in run.err


def test_masked_error_line_in_json_keeps_its_shape(invoke: Invoke, app_settings: Path) -> None:
    run = invoke(
        "--json",
        "--app-settings",
        str(app_settings),
        "config",
        "init",
        "--tenant-id",
        "x" + SECRET,
        "--app-id",
        APP,
        "--client-secret-stdin",
        input="x" + SECRET + "\n",
    )
    error = json.loads(run.out)["error"]
    assert set(error) == {"code", "message", "remedy"}
    assert SECRET not in run.out
    assert MASK in error["message"]


@posix_only
def test_log_and_audit_files_are_created_owner_only(
    invoke: Invoke, app_settings: Path, logged: Path, tmp_path: Path
) -> None:
    """Before: created with the umask's 0644, so every local user could read the audit trail."""
    old_umask = os.umask(0o022)
    try:
        run = invoke(
            "--settings",
            str(logged),
            "--app-settings",
            str(app_settings),
            "config",
            "set",
            "K",
            "v",
            "--force",
        )
    finally:
        os.umask(old_umask)
    assert run.code == 0, run.err
    for name in ("roomsops.log", "audit.jsonl"):
        assert stat.S_IMODE((tmp_path / "logs" / name).stat().st_mode) == 0o600, name


@posix_only
def test_an_existing_audit_log_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text("")
    path.chmod(0o640)  # e.g. readable by a monitoring group, on purpose
    AuditLog(path).record("config.set", "x", {"k": "v"}, "ok")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert json.loads(path.read_text())["params"] == {"k": "v"}


@posix_only
def test_rotated_log_files_are_owner_only(tmp_path: Path) -> None:
    import logging

    from roomsops.core.logs import log, setup_logging

    old_umask = os.umask(0o022)
    try:
        setup_logging(tmp_path / "r.log", "DEBUG")
        handler = log.handlers[0]
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        handler.maxBytes = 200
        for n in range(20):
            log.info("line %d %s", n, "x" * 40)
    finally:
        os.umask(old_umask)
        setup_logging(None)
    files = sorted(tmp_path.glob("r.log*"))
    assert len(files) > 2
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}

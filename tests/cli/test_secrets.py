"""The client secret never shows: not in output (text or JSON), logs, the audit log, nor reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomsops.adapters.entra import tokens as auth
from roomsops.core.settings import load_settings
from roomsops.services.config import appsettings as config
from tests.conftest import APP, SECRET, TENANT, Invoke, SettingsFile

OTHER_SECRET = "aN0ther~Secret.Value_77"


@pytest.fixture
def logged(tmp_path: Path, settings_file: SettingsFile) -> Path:
    return settings_file(
        f'[log]\nfile = "{tmp_path}/roomsops.log"\naudit = "{tmp_path}/audit.jsonl"\nlevel = "DEBUG"\n'
    )


COMMANDS = [
    ["config", "show"],
    ["config", "check"],
    ["config", "set", "ExchangeClientSecret", OTHER_SECRET, "--yes"],
    ["config", "set", "ExchangeClientSecret", "-", "--yes"],
    ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--client-secret-env", "SECRET_VAR", "--yes"],
    ["config", "init", "--tenant-id", TENANT, "--app-id", APP, "--client-secret-stdin", "--yes"],
    ["config", "unset", "ExchangeClientSecret", "--yes"],
    ["config", "set", "ExchangeClientSecret", " ", "--yes"],  # an error path
]


@pytest.mark.parametrize("json_mode", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:3]) for c in COMMANDS])
def test_secret_absent_everywhere(
    args: list[str], json_mode: bool, invoke: Invoke, app_settings: Path, logged: Path, tmp_path: Path
) -> None:
    flags = ["--json"] if json_mode else []
    run = invoke(
        "--settings",
        str(logged),
        "--app-settings",
        str(app_settings),
        "-vv",
        "--debug",
        *flags,
        *args,
        input=OTHER_SECRET + "\n",
        env={"SECRET_VAR": OTHER_SECRET},
    )
    assert run.code in (0, 1, 2)
    for text in (
        run.out,
        run.err,
        *(p.read_text() for p in tmp_path.glob("*.log")),
        *(p.read_text() for p in tmp_path.glob("*.jsonl")),
    ):
        assert SECRET not in text
        assert OTHER_SECRET not in text
    if "set" in args and run.code == 0:
        audit = (tmp_path / "audit.jsonl").read_text()
        assert '"ExchangeClientSecret": "********"' in audit


def test_reprs_hide_secrets(app_settings: Path, tmp_path: Path) -> None:
    settings = load_settings(None, environ={})
    creds = auth.credentials_from_app_settings(app_settings, settings, {})
    assert creds.client_secret == SECRET
    provider = auth.TokenProvider(creds, settings)
    credential = config.Credential(config.CLIENT_SECRET, SECRET)
    for obj in (settings, creds, provider, credential):
        assert SECRET not in repr(obj)
        assert SECRET not in str(obj)

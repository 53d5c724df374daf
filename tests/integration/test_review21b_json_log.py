"""review21b: `--log-format json` at --debug keeps every secret out of the log (issue 21.3)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_a_debug_json_log_holds_no_password_or_its_encodings(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """--debug lets the libraries' records (pypsrp, exchangelib, msal) into the JSON log. The WinRM password,
    its Basic encoding and the app's client secret must not be in it, neither in messages nor in fields."""
    password = env["ROOMSOPS_WINRM_PASSWORD"]
    log_file = Path(env["ROOMSOPS_LOG_FILE"])
    log_file.unlink(missing_ok=True)
    invoke("--debug", "--log-format", "json", "policy", "list", env=env)
    invoke("--debug", "--log-format", "json", "auth", "test", "--mailbox", addr("DiegoS"), env=env)
    text = log_file.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert records
    assert password not in text
    assert base64.b64encode(password.encode()).decode()[:12] not in text
    username = str(fresh_lab.info["winrm"].get("username", ""))
    if username:
        assert base64.b64encode(f"{username}:{password}".encode()).decode()[:16] not in text

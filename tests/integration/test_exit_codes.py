"""Issue 21.7 against the lab: `sync test` and `doctor` exit 3 when they cannot connect or authenticate, as
`auth test` and `sync` do (README's exit-code table); a diagnosis that connected and found a problem stays 1.
An EWS endpoint that fails TLS verification is exit 3 too (test_tls.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

NOWHERE = "https://127.0.0.1:9"


def failed(run: Any) -> list[str]:
    return [c["name"] for c in json.loads(run.out)["checks"] if c["status"] == "failed"]


def test_sync_test_exits_3_when_the_token_service_cannot_be_reached(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    token = invoke(
        "--json", "sync", "test", addr("DiegoS"), env=env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": NOWHERE}
    )
    assert token.code == 3, token.out + token.err
    assert failed(token) == ["token"]


def test_sync_test_of_a_mailbox_that_does_not_exist_is_a_finding_exit_1(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    run = invoke("--json", "sync", "test", addr("nobody"), env=env)
    assert run.code == 1, run.out + run.err
    assert failed(run) == ["impersonation"]


def test_doctor_exits_3_when_it_cannot_connect(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    run = invoke(
        "--json", "doctor", "--mailbox", addr("DiegoS"), env=env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": NOWHERE}
    )
    assert run.code == 3, run.out + run.err
    assert "token" in failed(run)
    winrm = invoke(
        "--json", "doctor", "--mailbox", addr("DiegoS"), env=env | {"ROOMSOPS_POWERSHELL_PORT": "9"}
    )
    assert winrm.code == 3, winrm.out + winrm.err
    assert failed(winrm) == ["Exchange connection"]

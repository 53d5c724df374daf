"""review21ab: cloud.ews_url with an IPv6 host whose closing bracket was lost in copying
(`https://[2001:db8::5/EWS/Exchange.asmx`) crashes `sync`: "Error: unexpected ValueError: Invalid IPv6 URL — run
again with --debug for the traceback, and report it", exit 1 (urllib's urlsplit raises on the unbalanced bracket).
The same typo in powershell.host is a configuration error since fix21aa (exit 2 naming the key). Issue 21,
Deliver 7: configuration errors → 2, one line naming the setting; README "Error codes": 1 means something failed,
and "report it" sends a new administrator to the maintainers for a typo in the settings. A scheduler that treats
1 as "some mailboxes failed" (README) keeps retrying a run that can never work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

pytestmark = pytest.mark.integration

BROKEN = "https://[2001:db8::5/EWS/Exchange.asmx"


@pytest.mark.parametrize("command", [("sync",), ("sync", "--person", "DiegoS")], ids=["sync", "sync-person"])
def test_an_unbalanced_bracket_in_cloud_ews_url_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    ok(invoke("persons", "add", addr("DiegoS"), env=env))
    args = [addr(part) if part == "DiegoS" else part for part in command]
    run = invoke(*args, env=env | {"ROOMSOPS_CLOUD_EWS_URL": BROKEN})
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert run.code == 2 and "cloud.ews_url" in line, line


def test_an_unbalanced_bracket_in_cloud_authority_host_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """The same typo in the token service's address: 'has no OpenID configuration' (exit 3, could not connect) sends
    the administrator to check the network and the tenant, while nothing was ever sent."""
    run = invoke("auth", "test", env=env | {"ROOMSOPS_CLOUD_AUTHORITY_HOST": "https://[2001:db8::5"})
    line = one_line_error(run)
    assert run.code == 2 and "cloud.authority_host" in line, line

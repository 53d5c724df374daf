"""review21z: powershell.host written as a WinRM URL is a configuration error naming what to write instead
("powershell.host = 'https://mgmt:5986/wsman' … is a URL … write powershell.host = "mgmt" and powershell.port =
5986 …", exit 2, nothing connects). The same mistake with an IPv6 address whose closing bracket was lost in copying
(`https://[2001:db8::5:5986/wsman`) crashes every admin command and `doctor`: "Error: unexpected ValueError: Invalid
IPv6 URL — run again with --debug for the traceback, and report it", exit 1 (urllib's urlsplit raises on the
unbalanced bracket; check_host catches the ValueError of the port only). An administrator expects the
configuration error of any URL in powershell.host: exit 2, one line naming the setting and what to write (issue 21,
Deliver 7: configuration errors → 2; README "Error codes": 1 means something failed, not a typo in the
settings)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command", [("ews", "status"), ("policy", "list")], ids=["ews-status", "policy-list"]
)
def test_a_winrm_url_with_an_unbalanced_bracket_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], command: tuple[str, ...]
) -> None:
    url = invoke(*command, env=env | {"ROOMSOPS_POWERSHELL_HOST": "https://mgmt:5986/wsman"})
    assert url.code == 2 and "is a URL" in url.err, url.err  # the configuration error of a URL
    run = invoke(*command, env=env | {"ROOMSOPS_POWERSHELL_HOST": "https://[2001:db8::5:5986/wsman"})
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert run.code == 2 and "powershell.host" in line, line


@pytest.mark.parametrize(
    ("host", "problem", "advice"),
    [
        ("[2001:db8::5]:5986", "has a port", 'powershell.host = "2001:db8::5" and powershell.port = 5986'),
        ("[2001:db8::5", "has an unbalanced [ ]", 'powershell.host = "<host name>"'),
        ("mgmt]", "has an unbalanced [ ]", 'powershell.host = "<host name>"'),
    ],
    ids=["bracketed-with-port", "no-closing-bracket", "no-opening-bracket"],
)
def test_a_bracketed_host_without_a_url_is_a_configuration_error(
    invoke: Invoke, lab: Any, env: dict[str, str], host: str, problem: str, advice: str
) -> None:
    """fix21aa, the same parser without '/': an unbalanced bracket crashed as the URL did; '[v6]:port' was
    exit 3 ("cannot reach WinRM host [2001:db8::5]:5986:PORT: InvalidURL"), a port in powershell.host as
    'mgmt:5986' is exit 2."""
    run = invoke("ews", "status", env=env | {"ROOMSOPS_POWERSHELL_HOST": host})
    line = one_line_error(run)
    assert run.code == 2 and f"powershell.host = {host!r}" in line and problem in line, line
    assert advice in line, line

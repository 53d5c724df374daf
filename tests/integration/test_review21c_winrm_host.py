"""review21c: a `powershell.host` written as an administrator often writes it (with the port, or as the WinRM URL)
is a configuration error (issue 21.7: "configuration errors → 2"), named as such before anything connects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("form", ["host:port", "url"])
def test_a_host_with_port_or_scheme_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], form: str
) -> None:
    """`powershell.host = "127.0.0.1:5986"` gave "cannot reach WinRM host 127.0.0.1:5986:5986: InvalidURL", and
    `"https://127.0.0.1:5986/wsman"` "cannot reach WinRM host https://...: Name or service not known": exit 3
    ("could not connect"), as if the host were down. Both are a malformed setting: exit 2, naming powershell.host
    and saying that the port goes into powershell.port."""
    port = str(fresh_lab.info["winrm"].get("port", "")) or fresh_lab.base_url.rsplit(":", 1)[1]
    host = f"127.0.0.1:{port}" if form == "host:port" else f"https://127.0.0.1:{port}/wsman"
    run = invoke("policy", "list", env={**env, "ROOMSOPS_POWERSHELL_HOST": host})
    line = one_line_error(run)
    assert "powershell.host" in line, line
    assert run.code == 2, (run.code, line)

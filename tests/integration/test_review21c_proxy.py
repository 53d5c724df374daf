"""review21c: a `network.proxy` roomsops cannot use is a configuration error with a remedy that names it
(issue 21.6: every remedy points the right way; 21.7: configuration errors are exit 2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "proxy",
    ["proxyuser:Pw@127.0.0.1:9", "socks5://127.0.0.1:9"],
    ids=["userinfo-without-scheme", "socks-without-support"],
)
def test_an_unusable_proxy_setting_is_named(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], proxy: str
) -> None:
    """`network.proxy = "proxyuser:Pw@proxy:8080"` (the form many proxy pages show) makes requests read
    "proxyuser" as the URL scheme; a socks5:// proxy needs PySocks, which roomsops does not install. Both end in
    msal's discovery with a ValueError (requests' InvalidSchema), reported as "the authority https://…/<tenant>
    has no OpenID configuration — check cloud.authority_host and ExchangeTenantId", exit 3: the administrator is
    sent to two settings that are right, and the proxy, the one that is wrong, is not named."""
    run = invoke("auth", "test", env={**env, "ROOMSOPS_NETWORK_PROXY": proxy})
    line = one_line_error(run)
    assert "network.proxy" in line, line
    assert "OpenID" not in line, line
    assert run.code == 2, (run.code, line)

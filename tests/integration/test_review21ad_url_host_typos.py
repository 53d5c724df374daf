"""review21ad: fix21ac checks URL settings when settings load, but only for what urllib's urlsplit refuses (an
unbalanced [ or a bad port). A host that no URL can have passes that check: a space typed into the host
(`https://outlook.office365 .com/...`) or text after an IPv6 literal's closing bracket
(`https://[2001:db8::5]x/...`). `auth test` and `sync` then send a token request for the mangled host and report
"token request refused ... (AADSTS...)", exit 3 (could not connect or authenticate): a scheduler retries a run
that can never work, and the administrator checks the tenant instead of the setting. Issue 21, Deliver 7:
configuration errors → 2, one line naming the setting, nothing changed (README "Exit codes": 2 is invalid
configuration)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "value",
    [
        "https://outlook.office365 .com/EWS/Exchange.asmx",
        "https://[2001:db8::5]x/EWS/Exchange.asmx",
    ],
    ids=["space-in-host", "text-after-bracket"],
)
def test_a_host_no_url_can_have_in_cloud_ews_url_is_a_configuration_error(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], value: str
) -> None:
    run = invoke("auth", "test", env=env | {"ROOMSOPS_CLOUD_EWS_URL": value})
    line = one_line_error(run)
    assert run.code == 2 and "cloud.ews_url" in line, line

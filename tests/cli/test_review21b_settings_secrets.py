"""review21b: `roomsops config settings` (issue 21.9) must not print the passwords some settings carry."""

from __future__ import annotations

import pytest

from tests.conftest import Invoke, ok

PASSWORD = "Sup3rS3cretPw"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ROOMSOPS_ROOMS_DATABASE", f"postgresql://sa:{PASSWORD}@db.example/rooms"),
        ("ROOMSOPS_NETWORK_PROXY", f"http://proxyuser:{PASSWORD}@proxy.example:8080"),
    ],
)
@pytest.mark.parametrize("json_output", [False, True])
def test_config_settings_masks_the_password_in_a_url(
    invoke: Invoke, variable: str, value: str, json_output: bool
) -> None:
    """A database URL or proxy URL holds a password; `config settings` printed it as it is ("now
    postgresql://sa:Sup3rS3cretPw@... from $ROOMSOPS_ROOMS_DATABASE"), in text and in --json: a listing an
    administrator pastes into a ticket. The password is masked; user, host and the rest are still shown."""
    args = ("--json", "config", "settings") if json_output else ("config", "settings")
    run = ok(invoke(*args, env={variable: value}))
    assert PASSWORD not in run.out + run.err
    host = value.split("@", 1)[1].split("/", 1)[0].split(":", 1)[0]
    assert host in run.out

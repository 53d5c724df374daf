"""review21t: `config set` of a documented key takes any value (issue 21.5 made it know ROOMS' keys, not their
values). ROOMS reads ExchangeUseImpersonation as a boolean and the pull-tuning keys as whole numbers
(rooms-product.md: `BatchGetEventsSize`=100, ...): `yes` or `abc` there breaks the ROOMS service's start, yet
`config set` exits 0 and `config check` passes the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ExchangeUseImpersonation", "yes"),
        ("BatchGetEventsSize", "abc"),
        ("OAuthTokenMinutesBeforeRenew", "twenty"),
    ],
)
def test_a_value_rooms_cannot_read_is_refused(
    invoke: Invoke, app_settings: Path, key: str, value: str
) -> None:
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings)}
    before = app_settings.read_bytes()
    run = invoke("config", "set", key, value, "--yes", env=env)
    assert run.code == 2, run.out + run.err
    assert run.err.startswith("Error: "), run.err
    assert app_settings.read_bytes() == before


def test_config_check_reports_a_value_rooms_cannot_read(invoke: Invoke, app_settings: Path) -> None:
    """A file edited by hand (as the sample's comment says) with BatchGetEventsSize="abc": `config check` names it."""
    body = app_settings.read_bytes()
    assert b'key="BatchGetEventsSize" value="100"' in body
    app_settings.write_bytes(
        body.replace(b'key="BatchGetEventsSize" value="100"', b'key="BatchGetEventsSize" value="abc"')
    )
    check = invoke("config", "check", env={"ROOMSOPS_APP_SETTINGS": str(app_settings)})
    assert check.code == 1, check.out + check.err
    assert "BatchGetEventsSize" in check.out, check.out

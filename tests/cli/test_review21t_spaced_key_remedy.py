"""review21t: RoomsAppSettings.config edited by hand with a stray space in a key (`key="ExchangeTenantId "`; .NET
reads it as another key, so ROOMS has no tenant id). `config check` warns "keys ROOMS does not document:
ExchangeTenantId  (did you mean ExchangeTenantId?) → remove it with 'roomsops config unset 'ExchangeTenantId '
--force'", and that very command is refused, exit 2: "key 'ExchangeTenantId ' has leading or trailing spaces — use
the key's exact name". No roomsops command removes the key the check names. Issue 21, Deliver 5 and 6 (every
remedy sentence points at a command that works for that situation)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Invoke


def test_the_remedy_for_a_key_with_a_trailing_space_removes_it(invoke: Invoke, app_settings: Path) -> None:
    body = app_settings.read_bytes()
    assert b'key="ExchangeTenantId"' in body
    app_settings.write_bytes(body.replace(b'key="ExchangeTenantId"', b'key="ExchangeTenantId "'))
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings)}
    check = invoke("--json", "config", "check", env=env)
    remedies = [c["remedy"] or "" for c in json.loads(check.out)["checks"] if c["name"] == "unknown keys"]
    assert any("config unset 'ExchangeTenantId ' --force" in r for r in remedies), remedies
    unset = invoke("config", "unset", "ExchangeTenantId ", "--force", "--yes", env=env)
    assert unset.code == 0, unset.out + unset.err
    assert b'key="ExchangeTenantId "' not in app_settings.read_bytes()

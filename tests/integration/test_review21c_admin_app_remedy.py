"""review21c: remedies point at the setting that is wrong (issue 21.6) — the admin app's token (exo.auth =
"app-token") is refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


def test_an_unknown_admin_app_id_names_exo_app_id(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """`exo.app_id` (roomsops.toml: the admin app, which must not be the sync app) mistyped: `policy list` (and
    doctor's "Exchange connection" line) answer "token request refused: no app with this app id exists in the
    tenant (AADSTS700016) — check ExchangeAppId (Application (client) ID on the app's Overview page) and
    ExchangeTenantId". ExchangeAppId is the *sync* app's key in RoomsAppSettings.config and is right; changing it
    as told breaks the sync. The line must say it is the admin app and name exo.app_id."""
    run = invoke("policy", "list", env={**env, "ROOMSOPS_EXO_APP_ID": "00000000-0000-4000-8000-000000000001"})
    line = one_line_error(run)
    assert run.code == 3, (run.code, line)
    assert "exo.app_id" in line, line
    assert "ExchangeAppId" not in line, line

"""review21y: an administrator who gives `--app-id` the admin app's id (exo.app_id) instead of the sync app's — the
two GUIDs sit side by side in the Entra admin center — gets, from `policy restrict`, `policy test` and even the
read-only `policy list`: "exo.app_id is the sync app's id (ExchangeAppId): the admin connection must use its own app
— register a separate admin app with Exchange.ManageAsApp". Both statements are false here (exo.app_id is the admin
app, ExchangeAppId in RoomsAppSettings.config is another app), and the remedy sends the administrator to register a
new app in Entra ID when the mistake is the value of --app-id. The refusal itself is right (exit 2, nothing
changed); the expected message names --app-id: it is the admin app, give the sync app's id (ExchangeAppId) or leave
--app-id out (issue 21, "Why" 6 and Deliver 6: every remedy sentence points at what works for that situation)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error
from tests.integration.conftest import changes

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command",
    [
        ("policy", "restrict", "--member", "{diego}", "--yes"),
        ("policy", "test", "{diego}"),
        ("policy", "list"),
    ],
    ids=["restrict", "test", "list"],
)
def test_app_id_of_the_admin_app_is_named_as_the_mistake(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    admin_app = str(fresh_lab.app("admin")["app_id"])
    assert (
        admin_app.casefold() != str(fresh_lab.app("rooms")["app_id"]).casefold()
    )  # ExchangeAppId is another app
    args = [part.format(diego=addr("DiegoS")) for part in command]
    run = invoke(*args[:2], "--app-id", admin_app, *args[2:], env=env)
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}
    line = one_line_error(run)
    assert "register a separate admin app" not in line, line
    assert "--app-id" in line, line

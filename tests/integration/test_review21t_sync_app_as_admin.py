"""review21t: the rule "the admin app must not be the sync app" (README; `services/apps.py`) is checked only by the
commands that pass the sync app's id to `open_admin`. `policy list` (without --app-id), `rooms check` (and
`--fix`, which runs Set-CalendarProcessing), and the Exchange look-up of `persons add|set` and `rooms add` pass
None, so with `exo.app_id` set to the sync app's id (ExchangeAppId) they go ahead and sign in as the sync app. On
the lab the token is refused (the admin certificate is not the sync app's) and the remedy then says "upload the
public part (.cer) of exo.certificate_file under Certificates & secrets of the admin app registration" — i.e. give
the sync app the admin credential, the very thing the rule forbids. Expected as `policy restrict` and `ews status`
do: refused up front, exit 2, "exo.app_id is the sync app's id (ExchangeAppId) …" (issue 21, Deliver 6 and 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "command",
    [("policy", "list"), ("rooms", "check", "room-zurich"), ("persons", "add", "AlexW")],
    ids=["policy list", "rooms check", "persons add"],
)
def test_the_sync_app_as_admin_app_is_refused_by_every_admin_command(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, command: tuple[str, ...]
) -> None:
    args = [addr(a) if a in ("room-zurich", "AlexW") else a for a in command]
    sync_app = fresh_lab.info["apps"]["rooms"]["app_id"]
    checked = {**env, "ROOMSOPS_EXO_APP_ID": sync_app, "ROOMSOPS_ROOMS_CHECK_ADDRESSES": "true"}
    # The commands that pass the sync app's id refuse it up front (the reference behaviour):
    refused = invoke("ews", "status", env=checked)
    assert refused.code == 2 and "exo.app_id is the sync app's id" in refused.err, refused.err
    run = invoke(*args, env=checked)
    assert "upload the public part" not in run.err, (
        run.err
    )  # never told to give the sync app the admin credential
    assert run.code == 2, run.out + run.err
    assert "exo.app_id is the sync app's id" in run.err, run.err

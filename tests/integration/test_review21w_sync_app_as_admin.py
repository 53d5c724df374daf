"""review21w: fix21u's open_admin compares exo.app_id with ExchangeAppId only when the command is given no app id.
When the administrator names another app (`--app-id` of a second app, or a mistyped one), `open_admin(app_id)`
compares exo.app_id with that id alone, so with exo.app_id set to the sync app's id (ExchangeAppId) the command
signs in as the sync app: the rule "the admin app must not be the sync app" (README; services/apps.py: the sync
app's secret must not be able to lift its own restriction) is not kept. On the lab the admin certificate is
refused for the sync app and the remedy says to upload it to the app registration — i.e. give the sync app the
admin credential. Expected as without --app-id: refused up front, exit 2, "exo.app_id is the sync app's id"
(issue 21, Deliver 6 and 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

OTHER_APP = "44444444-4444-4444-4444-444444444444"


@pytest.mark.parametrize(
    "command",
    [
        ("policy", "list", "--app-id", OTHER_APP),
        ("policy", "restrict", "--member", "DiegoS", "--app-id", OTHER_APP, "--yes"),
    ],
    ids=["policy list", "policy restrict"],
)
def test_the_sync_app_as_admin_app_is_refused_whatever_app_is_named(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], command: tuple[str, ...]
) -> None:
    sync_app = fresh_lab.info["apps"]["rooms"]["app_id"]
    checked = {**env, "ROOMSOPS_EXO_APP_ID": sync_app}
    before = fresh_lab.admin("GET", "/lab/state").json()["application_access_policies"]
    domain = fresh_lab.info["tenant"]["domain"]
    run = invoke(*[f"{a}@{domain}" if a == "DiegoS" else a for a in command], env=checked)
    assert fresh_lab.admin("GET", "/lab/state").json()["application_access_policies"] == before
    assert "upload the public part" not in run.err, run.err
    assert run.code == 2, run.out + run.err
    assert "exo.app_id is the sync app's id" in run.err, run.err

"""review21w: with exo.app_id set to the sync app's id (ExchangeAppId), `doctor` fails its "admin app" line ("the admin
connection must use its own app") and then opens the admin connection anyway (`open_admin(None,
check_admin_app=False)`): it signs in as the sync app, and on the lab its "Exchange connection" line says "upload the
public part (.cer) of exo.certificate_file under Certificates & secrets of the admin app registration" — i.e. give
the sync app the admin credential, the very thing the line above forbids (fix21u keeps the rule in every other admin
command, review21t). The run is exit 3 ("could not connect") for a configuration error. Expected: the Exchange
connection is not attempted as the sync app (a "not run: the admin app is the sync app" line), no upload remedy
(issue 21, Deliver 6 and 7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_doctor_does_not_sign_in_as_the_sync_app(invoke: Invoke, fresh_lab: Any, env: dict[str, str]) -> None:
    sync_app = fresh_lab.info["apps"]["rooms"]["app_id"]
    run = invoke("--json", "doctor", env={**env, "ROOMSOPS_EXO_APP_ID": sync_app})
    checks = {c["name"]: c for c in json.loads(run.out)["checks"]}
    assert "exo.app_id is the sync app's id" in checks["admin app"]["message"], checks  # holds already
    assert "upload the public part" not in run.out + run.err, run.out
    assert run.code != 3, run.out + run.err

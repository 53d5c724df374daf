"""review21ab: the Entra admin center shows "Application (client) ID" and "Directory (tenant) ID" one above the
other on the app's Overview page; pasting the tenant id twice is the classic mistake. `config init --tenant-id T
--app-id T` writes the file (exit 0) and `config check` passes it ("ExchangeAppId ok"), though no application's
client id is its tenant's id: ROOMS' sync then fails at every token request (AADSTS700016, application not found
in the directory). An administrator expects the check the tool makes of every other value it can know is wrong:
refused with a remedy, nothing written (issue 21, Deliver 5 and Acceptance: refusals change nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TENANT, Invoke

THUMB = "3a7f5c19d26b8e440f1a2b3c4d5e6f708192a3b4"


@pytest.mark.xfail(
    strict=True,
    reason="review21ab: the tenant id given as the app id is written by config init and passed by config check",
)
def test_the_tenant_id_as_app_id_is_refused_and_reported(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "RoomsAppSettings.config"
    env = {"ROOMSOPS_APP_SETTINGS": str(target)}
    run = invoke(
        "config", "init", "--tenant-id", TENANT, "--app-id", TENANT, "--cert-thumbprint", THUMB, env=env
    )
    written = target.exists()
    if written:  # `config check` must at least say it of a file written so (or by hand)
        check = invoke("config", "check", env=env)
        assert check.code == 1 and "ExchangeAppId" in check.out, check.out + check.err
    assert run.code == 2 and run.err.startswith("Error: ") and "--app-id" in run.err, run.out + run.err
    assert not written

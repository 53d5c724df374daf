"""review21ab: the Entra admin center shows "Application (client) ID" and "Directory (tenant) ID" one above the
other on the app's Overview page; pasting the tenant id twice is the classic mistake. `config init --tenant-id T
--app-id T` writes the file (exit 0) and `config check` passes it ("ExchangeAppId ok"), though no application's
client id is its tenant's id: ROOMS' sync then fails at every token request (AADSTS700016, application not found
in the directory). An administrator expects the check the tool makes of every other value it can know is wrong:
refused with a remedy, nothing written (issue 21, Deliver 5 and Acceptance: refusals change nothing)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import APP, TENANT, Invoke

THUMB = "3a7f5c19d26b8e440f1a2b3c4d5e6f708192a3b4"


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


def test_a_file_with_the_tenant_id_as_app_id_fails_the_check_and_config_set_refuses_it(
    invoke: Invoke, app_settings: Path
) -> None:
    """The same mistake by hand (`config check` exit 1) or by `config set` (either key made equal to the other:
    exit 2, the file unchanged)."""
    good = app_settings.read_bytes()
    for key, value in (("ExchangeAppId", TENANT.upper()), ("ExchangeTenantId", "{" + APP + "}")):
        run = invoke("--app-settings", str(app_settings), "config", "set", key, value)
        assert run.code == 2 and run.err.startswith("Error: ") and "ExchangeAppId" in run.err, (
            run.out + run.err
        )
        assert app_settings.read_bytes() == good
    app_settings.write_bytes(good.replace(APP.encode(), TENANT.encode()))
    check = invoke("--app-settings", str(app_settings), "config", "check")
    assert check.code == 1 and "ExchangeAppId is the ExchangeTenantId" in check.out, check.out + check.err

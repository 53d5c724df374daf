"""review21d: fix21cb's refusal of mistyped ROOMSOPS_* variables (review21c finding 22) leaves alone the variables a
`*_env` *setting* names, but not those the command line itself names: `config init --client-secret-env VAR` and
`config set KEY --from-env VAR` (README: "or --client-secret-env VAR"; "--from-env VAR from a variable") read the
secret from VAR, yet a VAR under a section's prefix — `ROOMSOPS_AUTH_CLIENT_SECRET`, or docs/settings.md's own
example name `ROOMSOPS_EXO_SECRET` — makes the command refuse with "$VAR is not a variable roomsops reads",
exit 2: roomsops says it does not read the very variable it was told to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import APP, TENANT, Invoke


@pytest.mark.parametrize("variable", ["ROOMSOPS_AUTH_CLIENT_SECRET", "ROOMSOPS_EXO_SECRET"])
def test_config_init_reads_the_variable_its_client_secret_env_names(
    invoke: Invoke, tmp_path: Path, variable: str
) -> None:
    target = tmp_path / "RoomsAppSettings.config"
    run = invoke(
        "--app-settings",
        str(target),
        "config",
        "init",
        "--tenant-id",
        TENANT,
        "--app-id",
        APP,
        "--client-secret-env",
        variable,
        env={variable: "abc~SecretValue.123"},
    )
    assert run.code == 0, run.err
    assert "abc~SecretValue.123" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", ["ROOMSOPS_AUTH_CLIENT_SECRET", "ROOMSOPS_EXO_SECRET"])
def test_config_set_reads_the_variable_its_from_env_names(
    invoke: Invoke, app_settings: Path, variable: str
) -> None:
    run = invoke(
        "--app-settings",
        str(app_settings),
        "config",
        "set",
        "ExchangeClientSecret",
        "--from-env",
        variable,
        "--yes",
        env={variable: "new~SecretValue.456"},
    )
    assert run.code == 0, run.err
    assert "new~SecretValue.456" in app_settings.read_text(encoding="utf-8-sig")

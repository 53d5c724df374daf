"""`config set` of a secret key (issue 17 D11): on the command line it warns and names the safe forms; `-` reads
standard input and `--from-env VAR` a variable, neither warns; the value never reaches the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from roomsops.adapters.appsettings.document import read_document
from tests.conftest import Invoke

NEW = "Zx9~nEw.SeCrEt_vAlUe42"


def env(app_settings: Path, tmp_path: Path) -> dict[str, str]:
    return {"ROOMSOPS_APP_SETTINGS": str(app_settings), "ROOMSOPS_LOG_AUDIT": str(tmp_path / "audit.jsonl")}


@pytest.mark.parametrize("key", ["ExchangeClientSecret", "SmtpPwd", "DatabaseConnectionString"])
def test_a_secret_on_the_command_line_warns_and_suggests_stdin_or_env(
    invoke: Invoke, app_settings: Path, tmp_path: Path, key: str
) -> None:
    run = invoke("config", "set", key, NEW, "--yes", "--force", env=env(app_settings, tmp_path))
    assert run.code == 0, run.err
    assert f"Warning: the value of {key} was given on the command line" in run.err
    assert "process list" in run.err and "history" in run.err
    assert (
        f"'roomsops config set {key} -'" in run.err
        and f"'roomsops config set {key} --from-env VAR'" in run.err
    )
    assert NEW not in run.out + run.err
    assert NEW not in (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert read_document(app_settings).get(key) == NEW


def test_no_warning_for_a_plain_key(invoke: Invoke, app_settings: Path, tmp_path: Path) -> None:
    run = invoke("config", "set", "BatchGetEventsSize", "50", env=env(app_settings, tmp_path))
    assert run.code == 0 and "Warning" not in run.err


def test_stdin_and_from_env_set_the_secret_without_a_warning(
    invoke: Invoke, app_settings: Path, tmp_path: Path
) -> None:
    base = env(app_settings, tmp_path)
    run = invoke("config", "set", "ExchangeClientSecret", "-", "--yes", input=NEW + "\n", env=base)
    assert run.code == 0 and "Warning" not in run.err and NEW not in run.out + run.err
    assert read_document(app_settings).get("ExchangeClientSecret") == NEW
    other = NEW + "-2"
    run = invoke(
        "config",
        "set",
        "ExchangeClientSecret",
        "--from-env",
        "ROOMS_NEW",
        "--yes",
        env=base | {"ROOMS_NEW": other},
    )
    assert run.code == 0 and "Warning" not in run.err and other not in run.out + run.err
    assert read_document(app_settings).get("ExchangeClientSecret") == other


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (["--from-env", "NOT_SET_ANYWHERE"], {}, "environment variable NOT_SET_ANYWHERE is not set"),
        (["x", "--from-env", "V"], {"V": "y"}, "VALUE and --from-env exclude each other"),
        ([], {}, "no value given for ExchangeClientSecret"),
    ],
)
def test_bad_value_sources_are_exit_2_and_change_nothing(
    invoke: Invoke, app_settings: Path, tmp_path: Path, args: list[str], extra: dict[str, str], message: str
) -> None:
    before = app_settings.read_bytes()
    run = invoke(
        "config", "set", "ExchangeClientSecret", *args, "--yes", env=env(app_settings, tmp_path) | extra
    )
    assert run.code == 2 and message in run.err
    assert app_settings.read_bytes() == before

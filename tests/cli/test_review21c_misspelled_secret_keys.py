"""review21c: a secret under a misspelled key (issue 21.5 gave `config set|check` the closest documented key; the
masking rule does not use it). "secrets masked" (README: `config show`), and the audit log never holds one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke

VALUE = "Zx9~tYpO.SeCrEt_vAlUe42"


@pytest.mark.parametrize("key", ["ExchangeClientSecert", "ExchangeServicePasword", "ExchangeClientScret"])
def test_a_misspelled_secret_key_is_masked(
    invoke: Invoke, app_settings: Path, tmp_path: Path, key: str
) -> None:
    """`config set ExchangeClientSecert VALUE` is refused with "closest: ExchangeClientSecret"; with --force (or a
    file edited by hand, which `config check` flags the same way) the value is stored under the typo. roomsops
    knows the key stands for ExchangeClientSecret, yet `config show` (text and --json, `"secret": false`) prints
    the secret and the audit log records it in clear ("params": {"ExchangeClientSecert": "<the secret>"}); the
    masking rule looks for "secret"/"password" as substrings, which a typo breaks."""
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings), "ROOMSOPS_LOG_AUDIT": str(tmp_path / "audit.jsonl")}
    set_run = invoke("config", "set", key, "-", "--force", "--yes", input=VALUE + "\n", env=env)
    assert set_run.code == 0, set_run.out + set_run.err
    shown = invoke("config", "show", env=env)
    shown_json = invoke("--json", "config", "show", env=env)
    audit = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert VALUE not in shown.out + shown_json.out, shown.out
    assert VALUE not in audit, audit

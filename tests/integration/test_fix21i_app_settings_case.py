"""fix21i (review21g, untested (b) and (c)): ROOMS reads RoomsAppSettings.config as .NET does, keys compared
case-insensitively and a later `<add>` winning. `auth test`, `config check` and `config check --on-host` must use
the value ROOMS reads: the last spelling of a key, and a key spelled in another case (`config check` still fails
on the case variant itself)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

WRONG_APP = "00000000-0000-4000-8000-0000000000aa"


def _lab_copy(lab: Any, tmp_path: Path) -> tuple[Path, str]:
    copy = tmp_path / "RoomsAppSettings.config"
    text = (Path(lab.dir) / "RoomsAppSettings.config").read_text(encoding="utf-8-sig")
    copy.write_text(text, encoding="utf-8")
    return copy, text


def test_auth_test_and_config_check_use_the_last_spelling_of_the_app_id(
    invoke: Invoke, lab: Any, tmp_path: Path
) -> None:
    real = lab.info["apps"]["rooms"]["app_id"]
    copy, text = _lab_copy(lab, tmp_path)
    # A stale app id first, the real one after it in another case: .NET (and so ROOMS) takes the later one.
    element = f'<add key="ExchangeAppId" value="{real}" />'
    assert element in text
    copy.write_text(
        text.replace(element, f'<add key="ExchangeAppId" value="{WRONG_APP}" />\n  <add key="EXCHANGEAPPID" value="{real}" />'),
        encoding="utf-8",
    )  # fmt: skip
    env = {"ROOMSOPS_SETTINGS": str(lab.settings_path), "ROOMSOPS_APP_SETTINGS": str(copy)}

    run = invoke("--json", "auth", "test", env=env)
    assert run.code == 0, run.out + run.err
    assert json.loads(run.out)["app_id"] == real

    check = invoke("--json", "config", "check", env=env)
    checks = {c["name"]: c for c in json.loads(check.out)["checks"]}
    assert checks["ExchangeAppId"]["message"] == real, checks["ExchangeAppId"]
    assert checks["case variants"]["status"] == "failed", checks  # the file still needs the one spelling


def test_on_host_checks_a_thumbprint_spelled_in_another_case(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    thumbprint = fresh_lab.info["apps"]["rooms"]["thumbprint"]
    copy, text = _lab_copy(fresh_lab, tmp_path)
    certificate = f'<add key="exchangecertthumbprint" value="{thumbprint}" />'
    changed = re.sub(r'<add key="ExchangeClientSecret" value="[^"]*" />', certificate, text)
    assert certificate in changed
    copy.write_text(changed, encoding="utf-8")

    run = invoke("--json", "config", "check", "--on-host", env=env | {"ROOMSOPS_APP_SETTINGS": str(copy)})
    checks = {c["name"]: c for c in json.loads(run.out)["checks"]}
    # The certificate ROOMS will load is checked on the host (not "uses a client secret; nothing to check").
    assert "uses a client secret" not in json.dumps(checks), checks
    assert checks["key access"]["message"] == "LAB\\svc-rooms may read the private key", checks

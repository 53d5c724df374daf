"""review21c: `ews allow --enable` without confirmation (issue 21.7: "configuration errors → 2", exit 2 means
"nothing was changed"; acceptance: a refusal changes nothing)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

from .conftest import changes

pytestmark = pytest.mark.integration


def test_allow_enable_without_yes_changes_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """Without a terminal and without --yes, `ews allow --enable` answers "Set EwsEnabled to True? ...: this needs
    confirmation — run it on a terminal to confirm, or pass --yes", exit 2 — after it has already run
    Set-OrganizationConfig -EwsAllowedAppIDs (audited; `ews status` shows the sync app listed). The question is
    asked after the first change, so a refused run is half done and does not say so. Expected: asked before any
    change; nothing changed."""
    before = json.loads(invoke("--json", "ews", "status", env=env).out)["allowed_app_ids"]
    fresh_lab.reset_requests()
    run = invoke("ews", "allow", "--enable", env=env)
    assert run.code == 2, run.out + run.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
    after = json.loads(invoke("--json", "ews", "status", env=env).out)["allowed_app_ids"]
    assert after == before, (before, after)


def test_no_propagation_notice_when_nothing_changed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    """Issue 21.15: "propagation warnings when nothing changed" (fixed for `policy restrict`). `ews allow` when the
    sync app is already listed (before = after) still prints "Allow-list changes can take up to 24 hours to apply."
    although nothing was changed (`ews disallow` of an app not listed does not)."""
    invoke("ews", "allow", "--yes", env=env)
    fresh_lab.reset_requests()
    run = invoke("ews", "allow", "--yes", env=env)
    assert run.code == 0, run.out + run.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
    assert "24 hours" not in run.err, run.err

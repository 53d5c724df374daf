"""fix21k: the tenant-changing policy commands (restrict, remove, migrate) hold the tenant's policy lock for the
whole run (issue 21, Deliver 1): two `policy restrict --exact` runs, each checking against its own read, could
remove what the other keeps and leave the group empty under RestrictAccess. The second run exits 1 (as a second
`sync` does) before it reads or changes anything."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


@contextmanager
def _held(env: dict[str, str]) -> Iterator[None]:
    """The policy lock of the lab's tenant, held by this test (as another roomsops process would)."""
    from roomsops.core.settings import load_settings
    from roomsops.services.sync.lock import policy_lock

    settings = load_settings(env["ROOMSOPS_SETTINGS"], environ={**os.environ, **env})
    assert settings.data_dir is not None and settings.exo.organization
    with policy_lock(settings.data_dir, settings.exo.organization):
        yield


def _policies(invoke: Invoke, env: dict[str, str]) -> Any:
    return json.loads(ok(invoke("--json", "policy", "list", env=env)).out)


def test_a_policy_command_while_another_holds_the_tenant_lock_changes_nothing_and_exits_1(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--member", addr("MeganB"), env=env))
    before = _policies(invoke, env)
    group = before["policies"][0]["scope_name"]
    fresh_lab.reset_requests()
    runs = []
    with _held(env):
        runs.append(
            invoke("policy", "restrict", "--exact", "--force", "--yes", "--member", addr("MeganB"), env=env)
        )
        runs.append(invoke("policy", "remove", "--group", group, "--yes", env=env))
        runs.append(invoke("policy", "migrate", "--yes", env=env))
        # A dry run changes nothing, so it needs no lock.
        dry = invoke(
            "policy", "restrict", "--exact", "--force", "--dry-run", "--member", addr("MeganB"), env=env
        )
    for run in runs:
        assert run.code == 1, (run.code, run.out, run.err)
        one_line_error(run)
        assert "another policy command" in run.err and "nothing was changed" in run.err, run.err
    assert dry.code == 0, dry.out + dry.err
    assert changes(fresh_lab) == {}, changes(fresh_lab)
    assert _policies(invoke, env) == before
    # Released: the same run goes ahead.
    ok(invoke("policy", "restrict", "--exact", "--force", "--yes", "--member", addr("MeganB"), env=env))
    assert changes(fresh_lab) != {}


def test_the_held_lock_is_reported_in_the_json_error_document(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    with _held(env):
        run = invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), env=env)
    assert run.code == 1, run.out + run.err
    document = json.loads(run.out)
    assert document["ok"] is False and document["error"]["code"] == "policy_locked", document
    assert _policies(invoke, env)["policies"] == []

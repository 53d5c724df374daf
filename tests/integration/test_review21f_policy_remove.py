"""review21f: `policy remove` after fix21e (issue 21.10 undo, 21.6 remedies, 21.7 exit codes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke, ok

from .conftest import changes

pytestmark = pytest.mark.integration


def _exchange(fresh_lab: Any) -> Any:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    password = str(fresh_lab.info["winrm"]["password"])
    return open_exchange(settings, {"ROOMSOPS_WINRM_PASSWORD": password})


def _remove_group_by_hand(fresh_lab: Any, name: str) -> None:
    with _exchange(fresh_lab) as session:
        session.run(
            "Remove-DistributionGroup",
            {"Identity": name, "BypassSecurityGroupManagerCheck": True, "Confirm": False},
        )


def _policies(invoke: Invoke, env: dict[str, str]) -> list[dict[str, Any]]:
    return list(json.loads(ok(invoke("--json", "policy", "list", env=env)).out)["policies"])


def test_already_gone_says_nothing_is_left_while_a_policy_on_the_gone_group_is_left(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --member DiegoS` (group SyncIsAllowed and a RestrictAccess policy), `policy remove
    --group SyncIsAllowed --with-group` (both gone, recorded in the audit log); later the policy is made again the
    same way (`policy restrict --member DiegoS`, as the printed restore line does); then a colleague deletes the
    group SyncIsAllowed in the Exchange admin centre (Remove-DistributionGroup): the new policy stays, scoped to a
    group that is gone (Get-ApplicationAccessPolicy shows it, IsValid False; `policy list` lists it for
    SyncIsAllowed). The administrator runs `policy remove --group SyncIsAllowed --with-group --yes` to get rid of it.
    Expected (README, policy remove: the already-gone answer is for "a run that stopped after Exchange removed the
    group", "then nothing is left to do"; issue 21.10 undo): the policy of the app still scoped to that group is
    removed, or at least the command does not say "nothing is left to remove" with exit 0.
    Actual: exit 0, "group SyncIsAllowed is already gone: 'roomsops policy remove --with-group' removed it (<the old
    run's time>, audit log); nothing is left to remove", no change made: the RestrictAccess policy on a group that
    no longer exists (which grants the app no mailbox) stays, and `ok` is true in --json."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    ok(invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env))
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    _remove_group_by_hand(fresh_lab, "SyncIsAllowed")
    (left,) = _policies(invoke, env)
    assert left["scope_name"] == "SyncIsAllowed", left
    run = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    still = _policies(invoke, env)
    assert not (run.code == 0 and still), (
        f"exit {run.code} ({run.out.strip()}) but the policy on the gone group is left: {still}"
    )


def test_a_policy_whose_group_was_deleted_cannot_be_removed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --member DiegoS --yes`; a colleague deletes the group SyncIsAllowed by hand
    (Remove-DistributionGroup; the policy stays, scoped to the deleted group, and `policy list` shows it for group
    SyncIsAllowed). The administrator follows the README's undo table: `policy remove --group SyncIsAllowed --yes`.
    Expected (README undo table: `policy restrict` is undone by `policy remove --group SyncIsAllowed`; issue 21.6:
    "Every remedy sentence points at a command that works for that situation"): the policy is removed (exit 0), or
    the error names a command that removes it.
    Actual: exit 2 "group SyncIsAllowed does not exist; nothing was changed — see 'roomsops policy list' for the
    policies' groups", and `policy list` shows exactly that group: a loop. The closest-name hint even leaves the
    policy's own group out. No roomsops command removes the policy (a RestrictAccess policy on a group with no
    members grants the app no mailbox)."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    _remove_group_by_hand(fresh_lab, "SyncIsAllowed")
    (left,) = _policies(invoke, env)
    assert left["scope_name"] == "SyncIsAllowed", left
    fresh_lab.reset_requests()
    run = invoke("policy", "remove", "--group", "SyncIsAllowed", "--yes", env=env)
    removed = changes(fresh_lab).get("cmdlet:Remove-ApplicationAccessPolicy", 0)
    assert removed == 1 and _policies(invoke, env) == [], (run.code, run.out + run.err, changes(fresh_lab))


def test_with_group_removes_a_group_someone_else_made_again_under_the_old_name(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --member DiegoS` (roomsops makes SyncIsAllowed), `policy remove --group SyncIsAllowed
    --with-group --yes` (policy and group gone; the audit log records the removal with the group's object id).
    A colleague later makes a new security group under that name by hand, for something else (New-DistributionGroup
    -Name SyncIsAllowed, members AdeleV and AlexW; no policy uses it). The removal is run again (a script's retry,
    or the "run the same command again" of an interrupted run).
    Expected (README, policy remove: `--with-group` keeps a group when "no policy of the app uses it and the audit
    log does not show that roomsops made it or a policy of the app used it"; fix21d: a refused or repeated command
    never removes what it did not make): the colleague's group is kept (`kept_group` says why) — the audit log shows
    roomsops made and removed another object of that name, not this one.
    Actual: the audit log's New-DistributionGroup is matched by name alone, so the colleague's group is removed
    (Remove-DistributionGroup -BypassSecurityGroupManagerCheck), with its members, exit 0."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    ok(invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env))
    with _exchange(fresh_lab) as session:
        session.run(
            "New-DistributionGroup",
            {"Name": "SyncIsAllowed", "Type": "Security", "Members": ["AdeleV", "AlexW"]},
        )
    fresh_lab.reset_requests()
    run = invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert "cmdlet:Remove-DistributionGroup" not in changes(fresh_lab), run.out + run.err
    with _exchange(fresh_lab) as session:
        assert session.run("Get-DistributionGroup", {"Identity": "SyncIsAllowed"}), "the group is gone"

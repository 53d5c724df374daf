"""review21n: fix21m's `group_empty` remedy names the roomsops undo of the group the run created,
'roomsops policy remove --app-id APP --group NAME --with-group', with the group name unquoted. Exchange group names
may hold spaces ('Rooms Sync'); pasted into a shell, the undo passes --group Rooms and a stray argument 'Sync': it
is refused and the group stays. (The PowerShell part, 'Add-DistributionGroupMember -Identity Rooms Sync', is unquoted
too.) Issue 21, Deliver 6: every remedy sentence points at a command that works; review21f pinned the same for the
restore lines of `policy remove`."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

GROUP = "Rooms Sync"


def test_group_empty_undo_works_as_pasted_for_a_group_name_with_a_space(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    fresh_lab.admin(
        "POST",
        "faults",
        json={"protocol": "cmdlet", "operation": "Add-DistributionGroupMember", "kind": "cmdlet_error"},
    ).raise_for_status()
    run = invoke(
        "--json", "policy", "restrict", "--group", GROUP, "--member", addr("DiegoS"), "--yes", env=env
    )
    assert run.code == 1, run.out + run.err
    document = json.loads(run.out)
    assert document["error"]["code"] == "group_empty", document
    assert [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]] == [GROUP]
    remedy = document["error"]["remedy"]
    undo = remedy[remedy.index("'roomsops ") + 1 : remedy.rindex("'")]  # the command inside the quotes
    words = shlex.split(undo)  # as a shell reads it
    assert words[0] == "roomsops", undo
    removed = invoke(*words[1:], "--yes", env=env)
    assert [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]] == [], (
        undo,
        removed.out + removed.err,
    )
    assert removed.code == 0, removed.out + removed.err

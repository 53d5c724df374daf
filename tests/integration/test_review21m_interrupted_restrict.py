"""review21m: Ctrl-C during a locked `policy restrict`, while New-DistributionGroup runs. The run exits 130 and
reports the group as "created (interrupted while it ran: it may have been made)", says "the audit log … lists each
change made", and names `roomsops policy remove --group SyncIsAllowed` as the undo. The group was made, but the
audit log held nothing; `policy remove --group SyncIsAllowed` exits 1 ("no policy"), and the undo of issue 21
(Deliver 10: `policy remove --with-group`) kept the group because "the audit log does not show that roomsops made
it". The group roomsops made could not be undone with roomsops (Deliver 7: Ctrl-C with a remedy line and nothing
half-written; Deliver 6: every remedy points at a command that works).

fix21m: the lab's cmdlet gate holds New-DistributionGroup's answer once the group is made, so the Ctrl-C lands
while the cmdlet runs whatever the machine's load (no latency window, no timing). speed36b: the run is started with SIGINT at its default (the suite
run in the background, `scripts/test &`, made the child ignore Ctrl-C: the run went on, held by the gate for its
120 s bound), the Ctrl-C is sent once the client waits for the held answer and the gate opens only once the lab saw
the pipeline stopped; see `gated_run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_review21p_undo import gated_run

pytestmark = pytest.mark.integration


def test_the_group_of_an_interrupted_restrict_can_be_undone_with_with_group(
    invoke: Any, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    # Held: New-DistributionGroup ran (the group is made) and its answer waits at the gate: Ctrl-C.
    code, err = gated_run(
        fresh_lab, "New-DistributionGroup", ["policy", "restrict", "--yes", "--member", addr("DiegoS")], env
    )
    assert code == 130, (code, err)
    assert "may have been made" in err and "audit log" in err, err
    groups = [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]]
    assert groups == ["SyncIsAllowed"], groups  # roomsops made it, empty, with no policy
    audit = [json.loads(line) for line in Path(env["ROOMSOPS_LOG_AUDIT"]).read_text().splitlines()]
    made = [e for e in audit if e["action"] == "cmdlet:New-DistributionGroup"]
    assert [e["result"] for e in made] == [{"interrupted": "interrupted while it ran: it may have been made"}]
    undo = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    groups = [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]]
    assert groups == [], (groups, undo.out + undo.err)
    assert undo.code == 0, undo.out + undo.err


def test_group_empty_json_error_names_the_group_this_run_created_and_an_undo_that_works(
    invoke: Any, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """reviewer doubt (review21m): the `--json` error document of `group_empty` is all a script sees; it says that
    this run created the group, and its remedy's roomsops undo removes it."""
    fresh_lab.admin(
        "POST",
        "faults",
        json={"protocol": "cmdlet", "operation": "Add-DistributionGroupMember", "kind": "cmdlet_error"},
    ).raise_for_status()
    run = invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env)
    assert run.code == 1, run.out + run.err
    document = json.loads(run.out)
    assert document["ok"] is False and document["error"]["code"] == "group_empty", document
    assert "group SyncIsAllowed, created by this run, has no members" in document["error"]["message"], (
        document
    )
    remedy = document["error"]["remedy"]
    undo = remedy.split("'")[1]  # the roomsops command the remedy names
    assert undo.startswith("roomsops policy remove ") and "--with-group" in undo, remedy
    assert [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]] == ["SyncIsAllowed"]
    removed = invoke(*undo.split()[1:], "--yes", env=env)
    assert removed.code == 0, removed.out + removed.err
    assert [g["name"] for g in fresh_lab.admin("GET", "state").json()["groups"]] == []

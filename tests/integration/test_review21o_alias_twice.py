"""review21o: `policy restrict --member DiegoS@… --member diego.siciliani@…` (the primary address and an alias of one
mailbox, as an administrator pasting from two lists does) on a fresh tenant. The run creates the group and adds
Diego, but reports both lines as "already" (the second Add-DistributionGroupMember of the same mailbox answers
"already a member", and that answer is marked on every step of the mailbox): the report of a group this run created
says that none of its members was added, so the audit of what the run changed and the report disagree."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


def test_a_mailbox_given_by_two_addresses_is_reported_added_once(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    diego = next(m for m in fresh_lab.admin("GET", "mailboxes").json() if m["primary_smtp"] == addr("DiegoS"))
    alias = diego["aliases"][0]
    run = invoke(
        "--json", "policy", "restrict", "--member", diego["primary_smtp"], "--member", alias, "--yes", env=env
    )
    assert run.code == 0, run.out + run.err
    (group,) = fresh_lab.admin("GET", "state").json()["groups"]
    assert [m["id"] for m in group["members"]] == [diego["id"]]  # this run made the group and put Diego in it
    steps = json.loads(run.out)["steps"]
    assert ("group", "created") in [(s["step"], s["outcome"]) for s in steps], steps
    members = [s["outcome"] for s in steps if s["step"] == "member"]
    assert "added" in members, steps

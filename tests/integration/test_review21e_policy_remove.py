"""review21e: `policy remove` after fix21d (issue 21.10 undo, 21.6 remedies, 21.7 exit codes, 21.8 JSON)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

import pytest

from roomsops.adapters.exo.session import Batch, ExchangeSession, Params
from tests.conftest import Invoke, ok, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def test_json_policy_remove_gives_the_way_back_for_a_removed_policy(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --member DiegoS --access-right DenyAccess --yes`, then
    `--json policy remove --group SyncIsAllowed --yes` (the group stays; README's undo table: without --with-group
    "the group stays").
    Expected (README, JSON of `policy remove`: "`restore` the command that makes group and policy again, \"\" when
    nothing was removed"): a policy was removed, so `restore` is the command that makes it again (e.g. `roomsops
    policy restrict --app-id … --group SyncIsAllowed --access-right DenyAccess --member …`).
    Actual: `restore` is "" although the DenyAccess policy was removed; the text output gives no way back either.
    A script keeping the document as its undo record has nothing to run."""
    ok(
        invoke(
            "policy", "restrict", "--member", addr("DiegoS"), "--access-right", "DenyAccess", "--yes", env=env
        )
    )
    doc = json.loads(
        ok(invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--yes", env=env)).out
    )
    assert doc["removed"] and doc["removed_group"] is None, doc
    assert doc["restore"], f"a policy was removed but restore is empty: {doc}"
    assert "DenyAccess" in doc["restore"] and "SyncIsAllowed" in doc["restore"], doc
    # Run as given, the way back makes the same policy again; the text output gives it too.
    words = shlex.split(doc["restore"])
    assert words[:3] == ["roomsops", "policy", "restrict"] and addr("DiegoS") in words, words
    ok(invoke(*words[1:], "--yes", env=env))
    (policy,) = json.loads(ok(invoke("--json", "policy", "list", env=env)).out)["policies"]
    assert (policy["scope_name"], policy["access_right"]) == ("SyncIsAllowed", "DenyAccess"), policy
    text = ok(invoke("policy", "remove", "--group", "SyncIsAllowed", "--yes", env=env)).out
    assert f"to restore it: {doc['restore']}" in text.splitlines(), text


def test_policy_remove_of_a_group_that_does_not_exist_is_bad_input(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Steps: `policy restrict --member DiegoS --yes` (group SyncIsAllowed), then the undo with a typo:
    `policy remove --group SyncIsAlowed --yes`.
    Expected (README exit codes: 2 = "usage error or invalid input ...; nothing was changed"; fix21d made an unknown
    `sync resume|purge --person` exit 2 for the same reason; issue 21.1: a bad name is named "with the closest known
    match"): exit 2, the line names the group meant (SyncIsAllowed).
    Actual: exit 1 ("ran but failed"), "group SyncIsAlowed does not exist — see 'roomsops policy list'", no closest
    match: a scheduler or script reading the exit code takes the typo for a failed tenant change."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    fresh_lab.reset_requests()
    run = invoke("policy", "remove", "--group", "SyncIsAlowed", "--yes", env=env)
    assert changes(fresh_lab) == {}
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    assert "SyncIsAllowed" in line, line


def test_with_group_interrupted_after_the_group_went_can_be_finished_as_the_report_says(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps: `policy restrict --member DiegoS --yes`; then `policy remove --group SyncIsAllowed --with-group
    --yes` whose WinRM connection drops right after Exchange ran Remove-DistributionGroup (the answer is lost: the
    lab's drop_after fault on that command, armed when the client sends that pipeline: no timing). The interruption report says: "to finish, run the same command again:
    it keeps what is already in place and makes the rest". The administrator does so.
    Expected (issue 21.6: "Every remedy sentence points at a command that works for that situation"; tenant_change:
    "how to finish"): the second run finishes (nothing left to remove: exit 0, saying policy and group are gone).
    Actual: the second run fails: "Error: group SyncIsAllowed does not exist — see 'roomsops policy list' ...",
    exit 1 — the remedy of the first run leads to an error, and a retrying script never gets exit 0."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--yes", env=env))
    armed: list[dict[str, Any]] = []
    original = ExchangeSession.run_batch

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Params]]) -> Batch:
        # Armed by what the client is about to send, not by timing: the next WinRM Command, this pipeline's, is
        # run by the lab and its answer dropped.
        if statements and statements[0][0] == "Remove-DistributionGroup":
            armed.append(fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_after", count=1))
        return original(self, statements)

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)
    try:
        first = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    finally:
        monkeypatch.undo()
        fresh_lab.clear_faults()
    assert len(armed) == 1
    assert first.code == 1 and "run the same command again" in first.err, first.out + first.err
    state = fresh_lab.admin("GET", "state").json()
    assert state["groups"] == [] and state["application_access_policies"] == [], state  # both gone
    fresh_lab.reset_requests()
    again = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert again.code == 0, (again.code, again.out + again.err)
    assert "group SyncIsAllowed is already gone" in again.out, again.out
    assert changes(fresh_lab) == {}
    # The way back the first run recorded, and running the command once more changes nothing either (idempotent).
    doc = json.loads(
        ok(
            invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
        ).out
    )
    assert doc["already_removed_group"] == "SyncIsAllowed" and doc["removed"] == [], doc
    assert (
        doc["restore"].startswith("roomsops policy restrict --app-id ") and addr("DiegoS") in doc["restore"]
    ), doc
    assert changes(fresh_lab) == {}

"""Hostile names through the whole CLI: group, member address, description and admin UPN reach the lab's cmdlets
as exactly those literal values, and --print-script keeps each inside one single-quoted literal.

Extends tests/unit/test_runbook.py (the template alone) and test_policy_cli.py's hostile group and description
with a hostile member address (a mailbox that exists), a real line break in the description, the audit log, and the
runbook as the CLI prints it. A line break in a group name or an address is refused (tests/cli/
test_bad_input_campaign.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from roomsops.core.templates import psquote
from tests.conftest import Invoke
from tests.powershell_tokens import string_literals
from tests.unit.test_runbook import PARSER

pytestmark = pytest.mark.integration
GROUP = "O'Brien’s ‘team’ $(Remove-Item C:\\) `whoami`; Zoë"
DESCRIPTION = "first line\nsecond: 'x' ’y’ ‚z‛ $(Get-Process); `r`n \"q\" & | > Zoë"
LOCAL = "o'brien`$x{y}’zoë"  # every character a mailbox address may hold and PowerShell would care about


@pytest.fixture
def member(fresh_lab: Any) -> str:
    address = f"{LOCAL}@{fresh_lab.info['tenant']['domain']}"
    body = {"email": address, "display_name": "O'Brien", "kind": "user", "aliases": []}
    assert fresh_lab.admin("POST", "mailboxes", json=body).status_code == 201
    return address


def test_hostile_member_group_and_description_reach_the_cmdlets_as_literals(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], member: str, tmp_path: Path
) -> None:
    diego = f"DiegoS@{fresh_lab.info['tenant']['domain']}"
    args = ["--group", GROUP, "--member", member, "--member", diego, "--description", DESCRIPTION]
    run = invoke("policy", "restrict", *args, env=env)
    assert run.code == 0, run.out + run.err
    state = fresh_lab.admin("GET", "state").json()
    ids = {m["primary_smtp"]: m["id"] for m in state["mailboxes"]}
    (group,) = state["groups"]
    assert group["name"] == GROUP
    assert sorted(m["id"] for m in group["members"]) == sorted([ids[member], ids[diego]])
    (policy,) = state["application_access_policies"]
    assert (policy["description"], policy["scope"]["name"]) == (DESCRIPTION, GROUP)
    tested = json.loads(invoke("--json", "policy", "test", member, env=env).out)["tests"]
    assert [(t["mailbox"], t["access_check_result"]) for t in tested] == [(member, "Granted")]
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    params = {r["action"]: r["params"] for r in audit}
    assert params["cmdlet:New-DistributionGroup"]["Name"] == GROUP
    assert params["cmdlet:New-ApplicationAccessPolicy"]["Description"] == DESCRIPTION
    assert member in [
        r["params"].get("Member") for r in audit if r["action"] == "cmdlet:Add-DistributionGroupMember"
    ]


def test_print_script_keeps_every_hostile_value_one_literal(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], member: str
) -> None:
    fresh_lab.reset_requests()
    upn = f"adm'in$(x)`;’@{fresh_lab.info['tenant']['domain']}"
    args = ["--group", GROUP, "--member", member, "--description", DESCRIPTION, "--admin-upn", upn, "--exact"]
    run = invoke(
        "policy",
        "restrict",
        *args,
        "--probe",
        f"pro’be$(y)@{fresh_lab.info['tenant']['domain']}",
        "--print-script",
        env=env,
    )
    assert run.code == 0, run.err
    text = run.out
    tree = PARSER.parse(text.encode("utf-8"))
    assert not tree.root_node.has_error
    assert text.isascii()  # non-ASCII characters are [char]0xHHHH in a concatenation (issue 17 D2)
    for value in (GROUP, member, DESCRIPTION, upn):
        quoted = psquote(value)
        assert text.count(quoted) == 1, (value, quoted)
        assert value not in text.replace(quoted, ""), f"{value!r} also stands outside its literal"
        assert "''" in quoted  # the ASCII quote doubled; the typographic ones are [char] codes
        assert string_literals(text).count(value) == 1  # PowerShell's reading gives back exactly the value
    assert fresh_lab.requests() == {}  # printed, not run

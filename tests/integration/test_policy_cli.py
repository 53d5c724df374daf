"""`roomsops policy ...` against the lab's WinRM endpoint with the real pypsrp: the seed's steps in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, Run, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def policy(invoke: Invoke, env: dict[str, str], *args: str) -> Run:
    return invoke("policy", *args, env=env)


def test_restrict_then_test_like_the_seed(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    run = policy(invoke, env, "restrict", "--member", addr("DiegoS"))
    assert run.code == 0, run.out + run.err
    assert "group   SyncIsAllowed: created" in run.out
    assert f"member  {addr('DiegoS')}: added" in run.out
    assert ": created" in run.out.split("policy")[1]
    assert f"test    {addr('DiegoS')}: Granted (ok)" in run.out
    assert "more than an hour" in run.err and "RBAC for Applications" in run.err

    run = policy(invoke, env, "test", addr("DiegoS"), addr("AdeleV"))
    assert run.code == 0
    rows = {line.split()[0]: line.split()[-1] for line in run.out.splitlines()[1:]}
    assert rows == {addr("DiegoS"): "Granted", addr("AdeleV"): "Denied"}

    before = changes(fresh_lab)
    again = policy(invoke, env, "restrict", "--member", addr("DiegoS"))
    assert again.code == 0
    assert "unchanged: everything was already in place" in again.out
    assert "more than an hour" not in again.err  # issue 21.15: no propagation warning when nothing changed
    assert changes(fresh_lab) == before
    assert fresh_lab.requests()["cmdlet:Connect-ExchangeOnline"] == 3  # one per session


def test_deny_access_and_probe(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    run = invoke(
        "--json",
        "policy",
        "restrict",
        "--member",
        addr("DiegoS"),
        "--probe",
        addr("AdeleV"),
        "--access-right",
        "DenyAccess",
        env=env,
    )
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert {t["mailbox"]: t["access_check_result"] for t in doc["tests"]} == {
        addr("DiegoS"): "Denied",
        addr("AdeleV"): "Granted",
    }
    assert doc["access_right"] == "DenyAccess" and doc["ok"] is True


def test_exact_removes_extra_members_with_the_20_percent_guard(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    five = [addr(n) for n in ("DiegoS", "AdeleV", "AlexW", "MeganB", "LeeG")]
    assert policy(invoke, env, "restrict", *[a for m in five for a in ("--member", m)]).code == 0
    run = policy(invoke, env, "restrict", "--exact", "--yes", *[a for m in five[:4] for a in ("--member", m)])
    assert run.code == 0, run.err
    assert f"member  {addr('LeeG')}: removed" in run.out
    before = changes(fresh_lab)
    refused = policy(invoke, env, "restrict", "--exact", "--yes", "--member", addr("DiegoS"))
    assert refused.code == 2
    assert (
        "--exact would remove 3 of 4 members (75%), more than 20% — check the member list, or add --force"
        in refused.err
    )
    assert changes(fresh_lab) == before
    forced = policy(invoke, env, "restrict", "--exact", "--force", "--yes", "--member", addr("DiegoS"))
    assert forced.code == 0
    assert forced.out.count(": removed") == 3


def test_destructive_without_terminal_or_yes_changes_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    assert policy(invoke, env, "restrict", "--member", addr("DiegoS"), "--member", addr("AdeleV")).code == 0
    before = fresh_lab.admin("GET", "/lab/state").json()
    run = policy(
        invoke, env, "restrict", "--exact", "--member", addr("DiegoS"), "--member", addr("AlexW"), "--force"
    )
    assert run.code == 2
    assert run.err.startswith("Error: Remove 1 member(s) from SyncIsAllowed")
    assert "pass --yes" in run.err
    assert fresh_lab.admin("GET", "/lab/state").json() == before


def test_conflicting_access_right_needs_replace(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    assert policy(invoke, env, "restrict", "--member", addr("DiegoS")).code == 0
    conflict = policy(invoke, env, "restrict", "--member", addr("DiegoS"), "--access-right", "DenyAccess")
    assert conflict.code == 1
    assert "conflict (existing policy has RestrictAccess; use --replace)" in conflict.out
    replaced = policy(
        invoke,
        env,
        "restrict",
        "--member",
        addr("DiegoS"),
        "--access-right",
        "DenyAccess",
        "--replace",
        "--yes",
    )
    assert replaced.code == 0, replaced.err
    assert "replaced (was RestrictAccess)" in replaced.out
    assert f"test    {addr('DiegoS')}: Denied (ok)" in replaced.out
    assert "briefly unrestricted" in replaced.err
    listed = invoke("--json", "policy", "list", env=env)
    assert [p["access_right"] for p in json.loads(listed.out)["policies"]] == ["DenyAccess"]


def test_unknown_member_is_refused_before_any_change(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """Issue 21.1: a mistyped member (the README's contoso domain) must not create the group or a
    RestrictAccess policy on an empty group: exit 2, nothing changed, the closest mailbox named."""
    before = fresh_lab.admin("GET", "/lab/state").json()
    wrong = "DiegoS@contoso.onmicrosoft.com"
    for extra in ((), ("--dry-run",)):
        run = policy(invoke, env, "restrict", "--member", wrong, "--member", addr("nobody"), *extra)
        assert run.code == 2, run.out + run.err
        assert run.out == ""
        line = one_line_error(run)
        assert line.startswith("Error: no mailbox has the address of 2 of the given mailboxes: ")
        assert f"member {wrong} (did you mean {addr('DiegoS')}?)" in line
        assert f"member {addr('nobody')}" in line and "nothing was changed — correct the addresses" in line
    assert changes(fresh_lab) == {}
    assert fresh_lab.admin("GET", "/lab/state").json() == before
    listed = invoke("--json", "policy", "list", env=env)
    assert listed.code == 0 and json.loads(listed.out)["policies"] == []
    assert "SyncIsAllowed" not in json.dumps(fresh_lab.admin("GET", "/lab/state").json())


def test_unknown_probe_is_refused_with_the_rest_valid(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    run = policy(invoke, env, "restrict", "--member", addr("DiegoS"), "--probe", addr("AdeleW"))
    assert run.code == 2
    assert f"probe {addr('AdeleW')} (did you mean {addr('AdeleV')}?)" in run.err
    assert changes(fresh_lab) == {}
    assert json.loads(invoke("--json", "policy", "list", env=env).out)["policies"] == []


def test_dry_run_changes_nothing(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any) -> None:
    before = fresh_lab.admin("GET", "/lab/state").json()
    run = policy(invoke, env, "restrict", "--member", addr("DiegoS"), "--dry-run")
    assert run.code == 0
    assert "plan for app" in run.out and "SyncIsAllowed: would be created" in run.out
    assert fresh_lab.admin("GET", "/lab/state").json() == before
    assert changes(fresh_lab) == {}


def test_expect_mismatch_exits_1(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    assert policy(invoke, env, "restrict", "--member", addr("DiegoS")).code == 0
    assert policy(invoke, env, "test", addr("DiegoS"), "--expect", "Granted").code == 0
    run = policy(invoke, env, "test", addr("DiegoS"), addr("AdeleV"), "--expect", "Granted")
    assert run.code == 1
    assert f"{addr('AdeleV')}" in run.out and "Denied  (expected Granted)" in run.out


def test_non_security_group_is_refused(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    from roomsops.adapters.exo.connect import open_exchange
    from roomsops.core.settings import load_settings

    settings = load_settings(str(fresh_lab.settings_path), environ={})
    with open_exchange(settings, env) as session:
        session.run("New-DistributionGroup", {"Name": "Announcements", "Type": "Distribution"})
    run = policy(invoke, env, "restrict", "--group", "Announcements", "--member", addr("DiegoS"))
    assert run.code == 1
    assert run.err.startswith(
        "Error: group Announcements is a MailUniversalDistributionGroup, not a mail-enabled security group — "
    )


def test_policy_test_of_50_mailboxes_costs_two_pipelines(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    for i in range(50):
        fresh_lab.admin(
            "POST",
            "/lab/mailboxes",
            json={"email": addr(f"user{i:02d}"), "display_name": f"User {i}", "kind": "user", "aliases": []},
        ).raise_for_status()

    def pipelines(count: int) -> dict[str, int]:
        """The shells and pipelines a run cost. Receive polls are not counted: how many a pipeline
        needs depends on how fast the lab answers, not on what roomsops asks."""
        fresh_lab.reset_requests()
        run = policy(invoke, env, "test", *[addr(f"user{i:02d}") for i in range(count)])
        assert run.code == 0, run.out
        assert run.out.count("Granted") == count
        counts = fresh_lab.requests()
        assert counts["cmdlet:Test-ApplicationAccessPolicy"] == count
        return {k: counts.get(k, 0) for k in ("wsman:Create", "wsman:Command", "wsman:Delete")}

    five, fifty = pipelines(5), pipelines(50)
    assert fifty == five, (five, fifty)
    assert five["wsman:Create"] == 1 and five["wsman:Command"] <= 3, five  # connect, the tests, disconnect


HOSTILE_GROUP = "O'Brien’s \"; $(Remove-Item C:\\) `n Zoë"


def test_hostile_values_reach_the_lab_as_literals(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    description = '‘quoted’ $(whoami); `r`n "x"'
    run = policy(
        invoke,
        env,
        "restrict",
        "--group",
        HOSTILE_GROUP,
        "--member",
        addr("DiegoS"),
        "--description",
        description,
    )
    assert run.code == 0, run.out + run.err
    state = fresh_lab.admin("GET", "/lab/state").json()
    assert HOSTILE_GROUP in [group["name"] for group in state["groups"]]
    listed = json.loads(invoke("--json", "policy", "list", env=env).out)["policies"]
    assert [(p["scope_name"], p["description"]) for p in listed] == [(HOSTILE_GROUP, description)]


def test_audit_log_has_every_change_and_no_secret(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    run = invoke("-v", "policy", "restrict", "--member", addr("DiegoS"), "--member", addr("AdeleV"), env=env)
    assert run.code == 0
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [r["action"] for r in records] == [
        "cmdlet:New-DistributionGroup",
        "policy.group.made",  # the group's object id: --with-group removes this group, not a namesake
        "cmdlet:Add-DistributionGroupMember",
        "cmdlet:Add-DistributionGroupMember",
        "cmdlet:New-ApplicationAccessPolicy",
    ]
    assert records[0]["params"] == {"Name": "SyncIsAllowed", "Type": "Security"}
    assert all(r["result"] == "ok" for r in records)
    secrets = [
        fresh_lab.info["winrm"]["password"],
        fresh_lab.info["apps"]["admin"]["secret"],
        fresh_lab.info["apps"]["rooms"]["secret"],
    ]
    texts = [
        run.out,
        run.err,
        (tmp_path / "audit.jsonl").read_text(),
        (tmp_path / "roomsops.log").read_text(),
    ]
    for secret in secrets:
        assert all(secret not in text for text in texts)
    assert all("eyJ" not in text for text in texts)  # no JWT (access token) either


def test_print_script_connects_nowhere(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    fresh_lab.reset_requests()
    run = policy(invoke, env, "restrict", "--member", addr("DiegoS"), "--print-script")
    assert run.code == 0
    assert run.out.startswith("# Runbook rendered by roomsops")
    assert fresh_lab.requests() == {}


def test_a_group_synced_from_on_premises_is_refused(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    response = fresh_lab.admin(
        "POST", "groups", json={"name": "OnPremSync", "is_dir_synced": True, "members": ["DiegoS"]}
    )
    assert response.status_code == 201, response.text
    before = fresh_lab.admin("GET", "/lab/state").json()
    run = policy(invoke, env, "restrict", "--group", "OnPremSync", "--member", addr("AdeleV"))
    assert run.code == 1
    assert run.err.startswith(
        "Error: group OnPremSync is synchronised from on-premises Active Directory — "
        "manage its members in on-premises AD"
    )
    assert fresh_lab.admin("GET", "/lab/state").json() == before

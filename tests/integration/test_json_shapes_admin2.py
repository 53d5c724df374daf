"""Issue 21.8 (the shapes the README did not document, pinned against real output), 21.10 (`policy remove
--with-group`, with the lab's Remove-DistributionGroup) and 21.6 (`ews status` tells what EWS does for the
sync app, not "NOT allowed" while the sync works)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented, document
from tests.conftest import Invoke, ok
from tests.integration.conftest import changes

pytestmark = pytest.mark.integration


def groups(lab: Any) -> list[str]:
    with lab.lab.tenant.read() as state:
        return [g["name"] for g in state.groups]


def test_policy_remove_with_group(invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any) -> None:
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    listed = document(invoke("--json", "policy", "list", env=env))
    assert_documented("policy list", listed)
    assert [p["scope_name"] for p in listed["policies"]] == ["SyncIsAllowed"]
    assert "SyncIsAllowed" in groups(fresh_lab)

    # With --engine rbac, --with-group keeps a group an application access policy of the app uses (that command
    # removes no such policy): nothing changed, and the line names the command that removes both.
    fresh_lab.reset_requests()
    kept = invoke(
        "policy", "remove", "--engine", "rbac", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env
    )
    assert kept.code == 1, kept.out + kept.err
    assert "kept the group: an application access policy of app" in kept.out, kept.out
    assert "'roomsops policy remove --engine aap --group SyncIsAllowed --with-group'" in kept.out, kept.out
    assert changes(fresh_lab) == {}

    removed = document(
        invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    )
    assert_documented("policy remove", removed)
    assert (len(removed["removed"]), removed["removed_group"], removed["kept_group"]) == (
        1,
        "SyncIsAllowed",
        None,
    )
    assert "SyncIsAllowed" not in groups(fresh_lab)
    assert changes(fresh_lab) == {
        "cmdlet:Remove-ApplicationAccessPolicy": 1,
        "cmdlet:Remove-DistributionGroup": 1,
    }
    assert document(invoke("--json", "policy", "list", env=env))["policies"] == []


def test_policy_remove_with_group_keeps_a_group_another_app_uses(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    other = "0d4b7c1e-5f7a-4c39-9a7e-3b2f8d1c6e55"  # another app restricted to the same group
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), "--app-id", other, env=env))
    run = invoke("policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    assert run.code == 0, run.out + run.err
    assert f"kept group SyncIsAllowed: the policies of app(s) {other} still use it" in run.out
    assert "SyncIsAllowed" in groups(fresh_lab)
    remaining = document(invoke("--json", "policy", "list", env=env))["policies"]
    assert [p["app_id"] for p in remaining] == [other]


def test_print_script_with_json_is_one_document(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, tmp_path: Path
) -> None:
    fresh_lab.reset_requests()
    args = ("policy", "restrict", "--member", addr("DiegoS"), "--print-script")
    plain = ok(invoke(*args, env=env)).out
    doc = document(invoke("--json", *args, env=env))
    assert_documented("policy restrict --print-script|rooms check --print-script", doc)
    assert (doc["script"], doc["output"]) == (plain, None)
    saved = tmp_path / "restrict.ps1"
    run = ok(invoke("--json", *args, "--output", str(saved), env=env))
    assert json.loads(run.out) == {"script": plain, "output": str(saved), "ok": True}
    assert saved.read_bytes() == b"\xef\xbb\xbf" + plain.encode("ascii")
    rooms = ("rooms", "check", addr("room-zurich"), "--print-script")
    rooms_doc = document(invoke("--json", *rooms, env=env))
    assert rooms_doc["script"] == ok(invoke(*rooms, env=env)).out and rooms_doc["output"] is None
    assert fresh_lab.requests() == {}  # connected nowhere


def test_ews_status_tells_what_ews_does_and_the_shapes(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    # EwsEnabled unset, the list empty: the sync works, so the status must not say "NOT allowed".
    status = ok(invoke("ews", "status", env=env))
    assert "NOT" not in status.out
    assert "may use EWS now (not listed in EwsAllowedAppIDs, which applies only once EwsEnabled is True)" in (
        status.out
    )
    assert ok(invoke("sync", "test", addr("DiegoS"), env=env))  # and it does work
    doc = document(invoke("--json", "ews", "status", env=env))
    assert_documented("ews status", doc)
    assert (doc["ews_enabled"], doc["sync_app_allowed"], doc["sync_app_may_use_ews"]) == (None, False, True)

    allowed = document(invoke("--json", "ews", "allow", "--enable", "--yes", env=env))
    assert_documented("ews allow|disallow", allowed)
    assert ok(invoke("ews", "status", env=env)).out.count("may use EWS (listed)") == 1
    disallowed = document(invoke("--json", "ews", "disallow", "--yes", env=env))
    assert_documented("ews allow|disallow", disallowed)
    assert (disallowed["allowed_after"], disallowed["ews_enabled_after"]) == ([], True)
    after = invoke("--json", "ews", "status", env=env)
    assert after.code == 1
    assert json.loads(after.out)["sync_app_may_use_ews"] is False
    assert "may NOT use EWS (not in EwsAllowedAppIDs)" in invoke("ews", "status", env=env).out
    failing = invoke("--json", "sync", "test", addr("DiegoS"), env=env)
    assert failing.code == 1  # what the status said: EWS now refuses the sync app


def test_check_reports_are_documented(invoke: Invoke, env: dict[str, str], addr: Any) -> None:
    assert_documented("sync test|doctor", document(invoke("--json", "sync", "test", addr("DiegoS"), env=env)))
    assert_documented("sync test|doctor", document(invoke("--json", "doctor", env=env)))
    checked = document(invoke("--json", "persons", "check", addr("DiegoS"), env=env))
    assert_documented("persons check", checked)


def test_persons_check_names_an_alias_outside_the_policy_an_alias(
    invoke: Invoke, env: dict[str, str], addr: Any
) -> None:
    """`adele` is AdeleV's alias; the policy holds DiegoS only, so EWS refuses `adele` as it refuses AdeleV."""
    ok(invoke("policy", "restrict", "--member", addr("DiegoS"), env=env))
    run = invoke("--json", "persons", "check", addr("DiegoS"), addr("adele"), addr("AlexW"), env=env)
    assert run.code == 1
    checks = {c["email"]: c for c in json.loads(run.out)["checks"]}
    assert checks[addr("DiegoS")]["status"] == "ok"
    alias = checks[addr("adele")]
    assert (alias["status"], alias["primary_smtp"]) == ("alias", addr("AdeleV"))
    # `adele` is no ROOMS person here: the remedy adds the primary address ('persons set adele' would be refused).
    assert alias["remedy"].startswith(
        f"give ROOMS the primary address: 'roomsops persons add {addr('AdeleV')}'"
    )
    assert alias["remedy"].endswith(f"('roomsops policy test {addr('AdeleV')}')"), alias["remedy"]
    assert checks[addr("AlexW")]["status"] == "denied_by_policy"  # a primary address outside: a real denial

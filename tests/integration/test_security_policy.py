"""Issue 17 against the lab, policy side: OPATH quoting of the RBAC scope (D7) and runbooks saved for Windows
PowerShell (D2)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from roomsops.services.policy import rbac
from tests.conftest import Invoke, Run
from tests.powershell_tokens import as_windows_powershell_reads, string_literals

pytestmark = pytest.mark.integration

ATTACK = "Sync\u2019 -or Alias -ne \u2019x"


@pytest.fixture
def env(fresh_lab: Any, tmp_path: Path) -> dict[str, str]:
    return {
        "ROOMSOPS_SETTINGS": str(fresh_lab.settings_path),
        "ROOMSOPS_WINRM_PASSWORD": fresh_lab.info["winrm"]["password"],
        "ROOMSOPS_LOG_AUDIT": str(tmp_path / "audit.jsonl"),
    }


def addr(lab: Any, name: str) -> str:
    return f"{name}@{lab.info['tenant']['domain']}"


def consent(lab: Any, grant: bool) -> None:
    body = {"app_id": lab.app("rooms")["app_id"], "permission": "full_access_as_app", "grant": grant}
    assert lab.admin("POST", "consent", json=body).status_code == 200


def restrict_rbac(invoke: Invoke, env: dict[str, str], lab: Any) -> Run:
    return invoke(
        "--json",
        "policy",
        "restrict",
        "--engine",
        "rbac",
        "--sp-object-id",
        lab.app("rooms")["object_id"],
        "--group",
        ATTACK,
        "--member",
        addr(lab, "DiegoS"),
        "--probe",
        addr(lab, "AdeleV"),
        env=env,
    )


def results(run: Run) -> dict[str, str]:
    return {t["mailbox"]: t["access_check_result"] for t in json.loads(run.out)["tests"]}


def scope_filters(lab: Any) -> list[str]:
    return [s["filter"] for s in lab.admin("GET", "state").json()["rbac"]["management_scopes"]]


def test_a_group_named_with_typographic_quotes_does_not_widen_the_rbac_scope(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str]
) -> None:
    adele, diego = addr(fresh_lab, "AdeleV"), addr(fresh_lab, "DiegoS")
    consent(fresh_lab, False)  # the scope alone decides
    # The attack with the old escaping (only ' doubled): the lab, like PowerShell, ends the value at ’, and
    # `-or Alias -ne ...` puts every mailbox in the scope.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rbac, "opath_value", lambda value: value.replace("'", "''"))
        before = restrict_rbac(invoke, env, fresh_lab)
    assert before.code == 1, before.err
    assert results(before) == {diego: "Granted", adele: "Granted"}  # the probe outside the group is in scope
    (widened,) = scope_filters(fresh_lab)
    assert f"MemberOfGroup -eq 'CN={ATTACK}," in widened  # the name's quotes left single

    fresh_lab.reset()
    consent(fresh_lab, False)
    run = restrict_rbac(invoke, env, fresh_lab)
    assert run.code == 0, run.err + run.out
    assert results(run) == {diego: "Granted", adele: "Denied"}
    (only,) = scope_filters(fresh_lab)
    assert "CN=Sync\u2019\u2019 -or Alias -ne \u2019\u2019x," in only  # each typographic quote doubled


@pytest.mark.parametrize("engine", ["aap", "rbac"])
def test_runbooks_are_ascii_on_stdout_and_saved_with_a_bom(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, engine: str
) -> None:
    member = "Ren\u00e9\u0442|calc#@" + fresh_lab.info["tenant"]["domain"]
    args = ["policy", "restrict", "--engine", engine, "--group", ATTACK, "--member", member, "--print-script"]
    run = invoke(*args, env=env)
    assert run.code == 0, run.err
    # Windows PowerShell 5.1 reads stdout redirected to a file (or pasted) in the ANSI code page: ASCII reads
    # the same in every code page, so the hostile member and group stay values.
    assert run.out.isascii() and as_windows_powershell_reads(run.out) == run.out
    assert string_literals(run.out).count(member) == 1
    assert string_literals(run.out).count(ATTACK) >= 1
    assert "('Ren' + [char]0x00E9 + [char]0x0442 + '|calc#@" in run.out

    saved = tmp_path / "restrict.ps1"
    run = invoke(*args, "--output", str(saved), env=env)
    assert run.code == 0, run.err
    assert run.out == "" and f"runbook saved to {saved}" in run.err
    data = saved.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    assert as_windows_powershell_reads(data.decode("utf-8")) == data[3:].decode("utf-8")
    assert fresh_lab.requests() == {}  # printed, not run


def test_output_without_print_script_is_refused(invoke: Invoke, fresh_lab: Any, env: dict[str, str]) -> None:
    run = invoke("policy", "restrict", "--member", addr(fresh_lab, "DiegoS"), "--output", "x.ps1", env=env)
    assert run.code == 2 and "--output applies to --print-script only" in run.err
    assert fresh_lab.requests() == {}


@pytest.mark.parametrize(
    "args",
    [
        ("restrict", "--group", "SyncIs*", "--member", "DiegoS"),
        ("restrict", "--group", "Sync?sAllowed", "--member", "DiegoS"),
        ("restrict", "--engine", "rbac", "--group", "[S]yncIsAllowed", "--member", "DiegoS"),
        ("restrict", "--engine", "rbac", "--scope", "Scope*", "--member", "DiegoS"),
        ("remove", "--group", "*", "--yes"),
    ],
)
def test_group_wildcards_are_refused_before_connecting(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], args: tuple[str, ...]
) -> None:
    args = tuple(addr(fresh_lab, a) if a == "DiegoS" else a for a in args)
    run = invoke("policy", *args, env=env)
    assert run.code == 2, run.err
    assert "contains the wildcard" in run.err and "exact name" in run.err
    assert fresh_lab.requests() == {}  # nothing asked of the tenant, nothing changed

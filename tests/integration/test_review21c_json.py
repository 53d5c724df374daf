"""review21c: `--json` everywhere (issue 21.8): "`--json` (a global option, before the command) prints exactly one
JSON document on stdout ... Every document has "ok"" (README), and every command's shape is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def test_lab_env_with_json_prints_a_json_document(invoke: Invoke, fresh_lab: Any) -> None:
    """`roomsops --json lab env --dir DIR` prints the shell lines (`# domain ...`, `export ROOMSOPS_SETTINGS=...`)
    as with no --json, exit 0: a script that asks for JSON gets text (issue 21.8 fixed the same for
    `--print-script`)."""
    run = invoke("--json", "lab", "env", "--dir", str(fresh_lab.dir))
    assert run.code == 0, run.out + run.err
    doc = json.loads(run.out)
    assert doc["ok"] is True, doc


@pytest.mark.parametrize("command", ["db adopt-id", "sync diff", "sync resolve", "sync purge"])
def test_every_commands_json_shape_is_documented(command: str) -> None:
    """Issue 21.8 deliver: "every command's `--json` shape documented and pinned by a test". These commands answer
    --json with documents of their own (`sync diff`: {"differences", "ok"}; `sync purge`: {"mailbox", "dry_run",
    "removed", "ok"}; `db adopt-id`: {"database", "action", "installation_id", "previous", "ok"}) that README's
    "JSON output" section does not list."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## JSON output", 1)[1].split("\n## ", 1)[0]
    # A shape is written as `command`: {...} (or `a|b`: for commands sharing one).
    assert re.search(rf"`(?:[^`]*\|)?{re.escape(command)}(?:\|[^`]*)?`:\s", section), command


def test_an_interrupted_tenant_change_document_is_the_documented_error_document(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README, JSON output: "any error: {"error": {"code", "message", "remedy"}, "ok": false}". A tenant change
    stopped half-way (WinRM dropped during New-ApplicationAccessPolicy; the group and its member were made) prints
    {"command", "reason", "done", "not_done", "remedy", "ok": false}: no "error" member, so a script reading
    error.code (as for every other failure) breaks exactly when the tenant is half-changed; and README's JSON
    section does not document this document at all."""
    from collections.abc import Sequence

    from roomsops.adapters.exo.session import ExchangeSession

    original = ExchangeSession.run_batch

    def run_batch(self: ExchangeSession, statements: Sequence[tuple[str, Any]]) -> Any:
        if statements and statements[0][0] == "New-ApplicationAccessPolicy":
            fresh_lab.fault(protocol="wsman", operation="Command", kind="drop_before", count=1)
        return original(self, statements)

    monkeypatch.setattr(ExchangeSession, "run_batch", run_batch)
    run = invoke("--json", "policy", "restrict", "--member", addr("DiegoS"), env=env)
    assert run.code == 1, run.out + run.err
    doc = json.loads(run.out)
    assert doc["ok"] is False and doc["done"], doc
    section = README.read_text(encoding="utf-8").split("## JSON output", 1)[1].split("\n## ", 1)[0]
    assert "error" in doc or "not_done" in section, doc

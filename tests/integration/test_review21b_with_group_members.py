"""review21b: `policy remove --with-group` must leave a way back (issue 21.10, undo)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, ok

pytestmark = pytest.mark.integration


def test_removing_the_group_records_its_members(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], addr: Any
) -> None:
    """The undo printed after `policy remove --with-group` is "run 'roomsops policy restrict --group G' (and the
    group with its members, with --member or --from-persons)", but which members the group had is nowhere:
    not in the prompt, the result, the JSON document or the audit log (only the group's id). A group adopted by
    `policy restrict` (made by another administrator, with members roomsops never added) is gone for good.
    The members removed with the group are in the result (and so in the audit log)."""
    members = [addr("DiegoS"), addr("AdeleV")]
    ok(invoke("policy", "restrict", *[a for m in members for a in ("--member", m)], env=env))
    audit = Path(env["ROOMSOPS_LOG_AUDIT"])
    audit.unlink(missing_ok=True)
    run = ok(
        invoke("--json", "policy", "remove", "--group", "SyncIsAllowed", "--with-group", "--yes", env=env)
    )
    doc = json.loads(run.out)
    assert doc["removed_group"] == "SyncIsAllowed", doc
    recorded = run.out + audit.read_text(encoding="utf-8")
    missing = [m for m in members if m.casefold() not in recorded.casefold()]
    assert missing == [], recorded

"""The README's `--json` shapes of the commands that need a tenant, against the lab's real output
(the reader and the comparison: tests/cli/test_readme_json.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_readme_json import assert_documented, document
from tests.conftest import Invoke, ok

from .conftest import Addr, LabHelper

pytestmark = pytest.mark.integration


def test_auth_test_document(invoke: Invoke, env: dict[str, str]) -> None:
    doc = document(invoke("--json", "auth", "test", env=env))
    assert doc["checks"]
    assert_documented("auth test", doc)


def test_policy_documents_of_both_engines_and_of_migrate(
    invoke: Invoke, fresh_lab: LabHelper, env: dict[str, str], addr: Addr
) -> None:
    members = ["--member", addr("DiegoS"), "--member", addr("AdeleV")]
    restricted = document(invoke("--json", "policy", "restrict", *members, env=env))
    assert restricted["steps"] and restricted["tests"]
    assert_documented("policy restrict", restricted)
    assert_documented("policy test", document(invoke("--json", "policy", "test", addr("DiegoS"), env=env)))

    sp = ["--sp-object-id", fresh_lab.app("rooms")["object_id"]]
    planned = document(invoke("--json", "policy", "migrate", "--dry-run", *sp, env=env))
    assert planned["policies"] and planned["steps"]
    assert_documented("policy migrate", planned)
    migrated = document(invoke("--json", "policy", "migrate", "--yes", *sp, env=env))
    assert migrated["tests"]
    assert_documented("policy migrate", migrated)

    rbac = ["--engine", "rbac"]
    restricted = document(invoke("--json", "policy", "restrict", *rbac, *sp, *members, env=env))
    assert restricted["steps"] and restricted["tests"]
    assert_documented("policy restrict --engine rbac", restricted)
    tested = document(invoke("--json", "policy", "test", *rbac, addr("DiegoS"), env=env))
    assert_documented("policy test --engine rbac", tested)


def test_sync_document_and_its_summary_file(invoke: Invoke, env: dict[str, str], addr: Addr) -> None:
    ok(invoke("rooms", "add", addr("room-zurich"), "--name", "Zürich", env=env))
    document(invoke("--json", "persons", "add", addr("DiegoS"), "--sync-mode", "O365", env=env))
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    booking = ["--organizer", addr("DiegoS"), "--room", addr("room-zurich"), "--title", "Planning"]
    times = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]
    document(invoke("--json", "bookings", "add", *booking, *times, env=env))

    synced = document(invoke("--json", "sync", env=env))
    assert synced["mailboxes"] and synced["mailboxes"][0]["created"] == 1
    assert_documented("sync", synced)

    # "the same document (plus "totals") is the last-run summary file"
    summary: dict[str, Any] = json.loads(Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"]).read_text(encoding="utf-8"))
    assert "totals" in summary
    assert_documented("sync", {k: v for k, v in summary.items() if k != "totals"})

"""review21e: the sync summary file (`sync.summary_file`) when it is a symbolic link. fix21d: "A refused command
never removes a symbolic link or a file it did not make"; README: the summary is the file "that monitoring can
read", and a refused `sync` "writes `"ok": false` there". RoomsAppSettings.config's writer follows a link ("its
target is replaced ..., the link stays a link"); the summary's writer does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("refused", [False, True], ids=["sync_ran", "sync_refused"])
def test_sync_keeps_a_summary_file_that_is_a_symbolic_link(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path, refused: bool
) -> None:
    """Steps: the administrator points the summary at the monitoring agent's file: `last-sync.json` (the
    configured sync.summary_file) is a symbolic link to monitor/roomsops.json, which holds an earlier run's
    `"ok": true` document. Then `sync` runs (or is refused with exit 2 on its configuration: RoomsAppSettings.config
    gone).
    Expected: the link stays a link and the document lands in its target (as for RoomsAppSettings.config), so the
    monitoring agent sees this run (a refused one as `"ok": false`).
    Actual: the summary is written with os.replace() over the link: the link becomes a regular file and
    monitor/roomsops.json keeps the old `"ok": true` for ever — the monitoring reports a healthy sync while every
    run fails, and the administrator's link is gone (a refused command removed a symbolic link it did not make)."""
    summary = Path(env["ROOMSOPS_SYNC_SUMMARY_FILE"])
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    target = monitor / "roomsops.json"
    target.write_text(json.dumps({"ok": True, "finished": "2020-01-01T00:00:00+00:00"}), encoding="utf-8")
    summary.symlink_to(target)
    # a database (sync refuses where there is none); a person roomsops does not sync
    assert invoke("persons", "add", "x@example.com", "--sync-mode", "None", "--no-check", env=env).code == 0
    run_env = dict(env)
    if refused:
        run_env["ROOMSOPS_APP_SETTINGS"] = str(tmp_path / "gone" / "RoomsAppSettings.config")
    run = invoke("sync", env=run_env)
    assert run.code == (2 if refused else 0), run.out + run.err
    assert summary.is_symlink(), "the summary's symbolic link was replaced by a regular file"
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["ok"] is (not refused) and doc.get("finished") != "2020-01-01T00:00:00+00:00", doc

"""review21c: output path settings that cannot be files (issue 21.7: configuration errors are exit 2, "nothing was
changed"; no "unexpected ... report it"). `log.file` and `log.audit` naming a folder are refused up front ("is a
folder, not a file"); a path *under a file* (a typo: `roomsops.log/audit.jsonl`, or a file where the folder should
be) is not."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Invoke, one_line_error


def test_a_log_file_under_a_file_is_a_configuration_error(invoke: Invoke, tmp_path: Path) -> None:
    """Every command, even `persons list`, fails with "unexpected FileExistsError: ... — run again with --debug for
    the traceback, and report it", exit 1."""
    a_file = tmp_path / "logs"
    a_file.write_text("", encoding="utf-8")
    run = invoke("persons", "list", env={"ROOMSOPS_LOG_FILE": str(a_file / "roomsops.log")})
    line = one_line_error(run)
    assert "unexpected" not in line and "log.file" in line, line
    assert run.code == 2, (run.code, line)


def test_an_audit_log_under_a_file_refuses_the_change_before_making_it(
    invoke: Invoke, tmp_path: Path
) -> None:
    """`rooms add` with log.audit under a file adds the room, then says "the audit log ... could not be written
    (File exists) after rooms.add ...: that change was made but is not in the audit log", exit 1: a configuration
    error known before the change (log.audit = a folder is refused up front, exit 2, nothing changed) lets a change
    through unaudited."""
    a_file = tmp_path / "audit"
    a_file.write_text("", encoding="utf-8")
    env = {"ROOMSOPS_LOG_AUDIT": str(a_file / "audit.jsonl")}
    run = invoke("rooms", "add", "room-zurich@contoso.com", "--name", "Zürich", env=env)
    line = one_line_error(run)
    assert run.code == 2, (run.code, line)
    # Nothing recorded: the refused add left no database behind (a list then says there is none).
    listed = json.loads(invoke("--json", "rooms", "list").out)
    assert listed["error"]["code"] == "no_database", listed

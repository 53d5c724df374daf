"""review21c: `sync.summary_file` (the file a monitor reads, issue 21.3) set to a folder: a configuration error
(issue 21.7: exit 2 with a remedy), like `log.file` and `log.audit` ("is a folder, not a file")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("kind", ["folder", "under-a-file"])
def test_a_summary_file_that_cannot_be_a_file_is_a_configuration_error(
    invoke: Invoke, app_settings: Path, tmp_path: Path, kind: str
) -> None:
    """`sync.summary_file = "C:/ProgramData/roomsops"` (the folder meant) made every `roomsops sync` fail with
    "unexpected IsADirectoryError ... report it" (exit 1, nothing synced) and left a `.last-sync.XXXX` temporary
    file, with the run's summary, in the folder *above* it on every run; a path under a file gave "unexpected
    FileExistsError". Expected: exit 2 naming sync.summary_file, no stray file."""
    holder = tmp_path / "holder"
    holder.mkdir()
    target = holder / "roomsops"
    if kind == "folder":
        target.mkdir()
    else:
        target.write_text("", encoding="utf-8")
        target = target / "last.json"
    env = {"ROOMSOPS_APP_SETTINGS": str(app_settings), "ROOMSOPS_SYNC_SUMMARY_FILE": str(target)}
    run = invoke("sync", env=env)
    line = one_line_error(run)
    assert "unexpected" not in line and "sync.summary_file" in line, line
    assert run.code == 2, (run.code, line)
    stray = [p.name for p in [*holder.iterdir(), *tmp_path.iterdir()] if p.name.startswith(".last-sync.")]
    assert stray == [], stray

"""review21c: `lab serve` failures are plain errors with remedies (issue 21.7: "`lab serve` failures are plain
errors with remedies and leave no half-built folder")."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Invoke, one_line_error


def test_a_lab_folder_under_a_file_is_a_plain_error(invoke: Invoke, tmp_path: Path) -> None:
    """`lab serve --dir notes.txt/lab` (a path under a file) answers "unexpected NotADirectoryError: ... — run again
    with --debug for the traceback, and report it", exit 1 (a bug report for a wrong argument); `--dir` naming a
    file itself is already a plain usage error (exit 2)."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    run = invoke("lab", "serve", "--dir", str(a_file / "lab"), "--port", "0")
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert run.code == 2, (run.code, line)

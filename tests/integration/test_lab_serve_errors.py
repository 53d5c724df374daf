"""Issue 21.7: `lab serve` failures are plain errors (exit 2) with a remedy, and leave no half-built folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_port_in_use_is_exit_2_and_creates_nothing(invoke: Invoke, lab: Any, tmp_path: Path) -> None:
    folder = tmp_path / "second-lab"
    run = invoke("lab", "serve", "--dir", str(folder), "--port", str(lab.lab.port))
    assert run.code == 2
    assert one_line_error(run) == (
        f"Error: port {lab.lab.port} on 127.0.0.1 is already in use; nothing was created — choose another "
        "--port, or --port 0 for a free one"
    )
    assert not folder.exists()


def test_a_folder_held_by_a_running_lab_is_exit_2_and_left_as_it_was(invoke: Invoke, lab: Any) -> None:
    folder = Path(lab.dir)
    before = files(folder)
    run = invoke("lab", "serve", "--dir", str(folder))
    assert run.code == 2
    assert one_line_error(run) == (
        f"Error: another lab is running on {folder.resolve()} — stop that lab first ('roomsops lab stop --dir "
        f"{folder.resolve()}', or Ctrl-C in its terminal), or give another --dir"
    )
    after = files(folder)
    assert {k: v for k, v in after.items() if k != "tenant.json"} == {
        k: v for k, v in before.items() if k != "tenant.json"
    }  # the running lab itself may save its tenant meanwhile

"""Issue 17, D8: `lab serve --dir DIR` replaces only a roomsops.toml it wrote (`--force`: with a backup).

Before: the lab overwrote any DIR/roomsops.toml, e.g. an administrator's real settings, without a copy.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from roomsops.lab.files import SETTINGS_MARKER, ForeignSettingsFile, claim_settings_file
from roomsops.lab.serve import run
from tests.conftest import Invoke

MINE = '[rooms]\ndatabase = "sqlite:///C:/ROOMS/rooms.db"\n'


def test_lab_serve_refuses_a_roomsops_toml_it_did_not_write(invoke: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "roomsops.toml").write_text(MINE)
    run_ = invoke("lab", "serve", "--dir", str(folder))
    assert (run_.code, run_.out) == (2, "")
    assert run_.err == (
        f"Error: {folder / 'roomsops.toml'} exists and was not written by the lab, which would replace it — "
        "give the lab an empty folder with --dir, or pass --force to replace it (a copy is kept)\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["roomsops.toml"]
    assert (folder / "roomsops.toml").read_text() == MINE


def test_force_keeps_a_copy_and_the_lab_then_owns_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "roomsops.toml").write_text(MINE)
    stopped = threading.Event()
    stopped.set()  # start, say ready, stop
    ready: list[str] = []
    assert run(folder, force=True, ready=ready.append, stop=stopped) == 0
    assert ready == [f"lab ready: {folder / 'roomsops.toml'}"]
    assert (folder / "roomsops.toml.bak").read_text() == MINE
    written = (folder / "roomsops.toml").read_text()
    assert written.startswith(SETTINGS_MARKER)
    # Restarting on the lab's own file needs no --force and makes no further copy.
    assert claim_settings_file(folder, force=False) is None
    assert run(folder, ready=ready.append, stop=stopped) == 0
    assert sorted(p.name for p in folder.glob("roomsops.toml*")) == ["roomsops.toml", "roomsops.toml.bak"]


def test_a_second_forced_replacement_keeps_both_copies(tmp_path: Path) -> None:
    (tmp_path / "roomsops.toml").write_text(MINE)
    (tmp_path / "roomsops.toml.bak").write_text("older copy")
    backup = claim_settings_file(tmp_path, force=True)
    assert backup == tmp_path / "roomsops.toml.bak1"
    assert backup.read_text() == MINE
    assert (tmp_path / "roomsops.toml.bak").read_text() == "older copy"


def test_a_lab_folder_from_before_the_marker_is_still_the_labs(tmp_path: Path) -> None:
    (tmp_path / "roomsops.toml").write_text(
        f'[cloud]\nname = "lab"\n\n[rooms]\napp_settings = "{tmp_path / "RoomsAppSettings.config"}"\n'
    )
    assert claim_settings_file(tmp_path, force=False) is None
    (tmp_path / "roomsops.toml").write_text('[cloud]\nname = "lab"\n')  # another folder's lab: not ours
    with pytest.raises(ForeignSettingsFile):
        claim_settings_file(tmp_path, force=False)

"""review21c: a roomsops.toml that roomsops finds by itself (not named with --settings or $ROOMSOPS_SETTINGS)
while group or others may write it. review21b (0c433d8) refuses it in the data folder, because its
`powershell.host` is where the next tenant change sends the WinRM credentials; the same file found as
`./roomsops.toml` (the working folder, searched first) is taken without the check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


def _shared_settings(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    folder.chmod(0o777)
    toml = folder / "roomsops.toml"
    toml.write_text('[powershell]\nhost = "evil.example"\n', encoding="utf-8")
    toml.chmod(0o666)
    return toml


def test_the_data_folder_as_working_folder_does_not_bypass_the_check(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README (Task Scheduler) has the task start in the data folder (`-WorkingDirectory C:\\ProgramData\\roomsops`);
    a cron job or a systemd unit does the same on Linux (`WorkingDirectory=` the data folder). From there the very
    file review21b refuses is found as ./roomsops.toml first, and its powershell.host is taken ("now evil.example
    from roomsops.toml"). The same file must be refused whichever way it was found."""
    machine = tmp_path / "machine"
    toml = _shared_settings(machine)
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    refused = invoke("config", "settings")
    assert refused.code == 2 and str(toml) in one_line_error(refused), refused.out + refused.err

    monkeypatch.chdir(machine)
    run = invoke("config", "settings")
    assert "evil.example" not in run.out, run.out
    assert run.code == 2, run.out + run.err


def test_a_world_writable_working_folder_settings_file_is_refused(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A roomsops.toml in a working folder every user may write (a shared folder, a scheduler's default start
    folder opened up) is found, not named, just like the data folder's, and hands its powershell.host to whoever
    wrote it."""
    shared = tmp_path / "shared"
    _shared_settings(shared)
    monkeypatch.chdir(shared)
    run = invoke("config", "settings")
    assert "evil.example" not in run.out, run.out
    assert run.code == 2, run.out + run.err


def test_a_settings_file_another_account_owns_is_refused(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """review21c, observed: a roomsops.toml owned by another (non-root) account, mode 0644, was taken: its owner
    may change it whenever they like. Refused like one others may write, found in the data folder or the working
    folder; the account's own file (or root's) is taken. (The suite runs as root, which may give a file away.)"""
    machine = tmp_path / "machine"
    machine.mkdir()
    toml = machine / "roomsops.toml"
    toml.write_text('[powershell]\nhost = "evil.example"\n', encoding="utf-8")
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    assert "evil.example" in invoke("config", "settings").out  # this account's own file: taken
    os.chown(toml, 4242, 4242)
    for folder in (tmp_path, machine):  # found in the data folder, then as ./roomsops.toml
        monkeypatch.chdir(folder)
        run = invoke("config", "settings")
        assert run.code == 2 and "evil.example" not in run.out, run.out + run.err
        line = one_line_error(run)
        assert str(toml) in line and "uid 4242" in line, line

"""review21b: the per-machine data folder (issue 21.9) as a new and as a hostile administrator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("kind", ["file", "under-a-file", "dangling-link"])
def test_a_data_folder_that_cannot_be_a_folder_is_a_configuration_error(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """$ROOMSOPS_DATA_DIR naming a file, a path under a file or a dangling symbolic link gave exit 1
    "unexpected FileExistsError/NotADirectoryError ... report it" (a bug report for a configuration error).
    It is a configuration error: exit 2, one line naming the variable and its value, with a remedy."""
    a_file = tmp_path / "afile"
    a_file.write_text("", encoding="utf-8")
    if kind == "file":
        folder = a_file
    elif kind == "under-a-file":
        folder = a_file / "sub"
    else:
        folder = tmp_path / "link"
        folder.symlink_to(tmp_path / "nowhere")
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(folder))
    run = invoke("persons", "add", "diego@contoso.com")
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "unexpected" not in line and "report it" not in line, line
    assert "ROOMSOPS_DATA_DIR" in line, line


def test_a_relative_data_folder_does_not_follow_the_working_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ROOMSOPS_DATA_DIR=data (relative) put rooms.db into <working folder>/data: under Task Scheduler that is
    System32\\data, the very dependence on the working folder the data folder exists to avoid; and each
    working folder silently got its own empty database. A relative value is refused (exit 2, naming the
    variable), and nothing is created in the working folder."""
    work = tmp_path / "System32"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", "data")
    run = invoke("persons", "add", "diego@contoso.com")
    assert run.code == 2, run.out + run.err
    assert "ROOMSOPS_DATA_DIR" in one_line_error(run)
    assert list(work.iterdir()) == []


def test_an_import_refused_for_bad_rows_creates_no_database(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fresh machine `persons import` of a file with bad rows says "nothing was imported" (exit 2) but
    created the data folder and an empty rooms.db (+ installation id) in it: the data folder is to be created
    on the first write only, and a refused import writes nothing. The file is read before the database."""
    machine = tmp_path / "machine"
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    csv = tmp_path / "persons.csv"
    csv.write_text(
        "email,name,sync_mode,sync_url,conflict_behaviour\ngood@contoso.com,Good,,,\nbad address,Bad,,,\n",
        encoding="utf-8",
    )
    run = invoke("persons", "import", str(csv), "--no-check")
    assert run.code == 2 and "nothing was imported" in run.err, run.out + run.err
    assert not machine.exists(), sorted(p.name for p in machine.iterdir())


def test_a_settings_file_others_may_write_is_not_picked_up_from_the_data_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --settings, roomsops.toml is read from the data folder, found, not named by the administrator.
    On Windows that folder is under ProgramData, where any user may create a folder (and own it) before roomsops
    first writes there; here: a data folder and roomsops.toml writable by every user. Its `powershell.host`
    was taken as it is ("now evil.example from .../roomsops.toml"), so the WinRM credentials of the next
    `policy restrict` go to that host. A settings file others may change is refused (exit 2, naming it)."""
    machine = tmp_path / "shared"
    machine.mkdir()
    machine.chmod(0o777)
    toml = machine / "roomsops.toml"
    toml.write_text('[powershell]\nhost = "evil.example"\n', encoding="utf-8")
    toml.chmod(0o666)
    monkeypatch.setenv("ROOMSOPS_DATA_DIR", str(machine))
    run = invoke("config", "settings")
    assert run.code == 2, run.out + run.err
    assert str(toml) in one_line_error(run)

"""fix21h: a link beside the database (the sync lock, the summary) that cannot be reached is exit 2 naming it, and
its remedy works; rooms.database naming no file (in-memory, the URI forms too) is exit 2 and creates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize("name", ["rooms.db.sync.lock", "roomsops-last-sync.json"])
def test_a_link_into_a_missing_folder_is_refused_and_creating_the_folder_makes_it_work(
    invoke: Invoke, app_settings: Path, tmp_path: Path, name: str
) -> None:
    link = tmp_path / name
    target = tmp_path / "share" / name
    assert (
        invoke(
            "--app-settings", str(app_settings), "persons", "add", "diego@contoso.com", "--sync-mode", "None"
        ).code
        == 0
    )  # a database (a person roomsops does not sync: no connection)
    link.symlink_to(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    refused = invoke("--app-settings", str(app_settings), "sync")
    line = one_line_error(refused)
    assert refused.code == 2 and str(link) in line and f"create the folder {target.parent}" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made
    (tmp_path / "share").mkdir()  # the remedy
    run = invoke("--app-settings", str(app_settings), "sync")
    assert run.code == 0, run.err
    assert link.is_symlink() and target.is_file()


def test_a_refused_command_keeps_the_lock_link_and_removes_only_the_file_it_made(
    invoke: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "locks").mkdir()
    link = tmp_path / "rooms.db.sync.lock"
    link.symlink_to(tmp_path / "locks" / "rooms.db.sync.lock")
    (tmp_path / "locks" / "other").write_text("kept")
    assert invoke("sync", "resume", "--person", "x@example.com").code == 2
    assert link.is_symlink() and [p.name for p in (tmp_path / "locks").iterdir()] == ["other"]


@pytest.mark.parametrize(
    "url",
    ["sqlite+pysqlite://", "sqlite:///file::memory:?uri=true", "sqlite:///file:db?mode=memory&uri=true"],
)
def test_a_database_url_without_a_file_creates_nothing(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    run = invoke("persons", "list")
    line = one_line_error(run)
    assert run.code == 2 and "names no database file" in line, line
    assert ":///rooms.db" in line and list(tmp_path.iterdir()) == []


def test_a_file_uri_database_is_still_accepted(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", f"sqlite:///file:{tmp_path / 'rooms.db'}?uri=true")
    assert invoke("persons", "list").code == 0
    assert (tmp_path / "rooms.db").is_file()

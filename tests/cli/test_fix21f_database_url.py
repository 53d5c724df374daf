"""fix21f: rooms.database written with two slashes after `sqlite:` (review21e) is a configuration error naming the
form with three; the suggestion never shows a password the URL carries, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke, one_line_error


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("sqlite://rooms.db", "sqlite:///rooms.db"),
        ("sqlite://C:/ROOMS/rooms.db", "sqlite:///C:/ROOMS/rooms.db"),
        ("sqlite+pysqlite://rooms.db", "sqlite+pysqlite:///rooms.db"),
        ("sqlite://admin:Hunter2secret@host/rooms.db", "sqlite:///admin:********@host/rooms.db"),
    ],
)
def test_two_slashes_name_the_url_meant(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, meant: str
) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", url)
    run = invoke("persons", "add", "diego@contoso.com")
    assert run.code == 2, (run.code, run.err)
    line = one_line_error(run)
    assert line.startswith("Error: rooms.database '") and f"— write it as {meant} " in line, line
    assert "Hunter2secret" not in run.out + run.err
    assert list(tmp_path.iterdir()) == []  # no database, id file or log


def test_three_slashes_are_not_taken_for_two(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOMSOPS_ROOMS_DATABASE", "sqlite:///rooms.db")
    assert invoke("persons", "add", "diego@contoso.com", "--no-check").code == 0
    assert invoke("persons", "list").code == 0

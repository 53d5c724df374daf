"""Issue 21.15, the noise: a note reads after the result it is about; a failed config write leaves the .bak as
it was."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from roomsops.adapters.appsettings import document
from roomsops.core.errors import InputError
from roomsops.core.results import Output, Result


@dataclass(frozen=True)
class Summary(Result):
    def lines(self) -> list[str]:
        return ["the summary"]


def test_notes_follow_the_result_on_a_terminal() -> None:
    both = io.StringIO()  # a terminal shows stdout and stderr in one stream
    Output(stdout=both, stderr=both).emit(Summary(notes=("Restart the ROOMS service.",)))
    assert both.getvalue() == "the summary\nRestart the ROOMS service.\n"


def test_a_failed_write_leaves_the_backup_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "RoomsAppSettings.config"
    path.write_bytes(b"current")
    backup = tmp_path / "RoomsAppSettings.config.bak"
    backup.write_bytes(b"older")
    real = document._replace_file

    def failing(target: Path, data: bytes, *args: object, **kwargs: object) -> None:
        if target == path:
            raise InputError("cannot write", "disk full")
        real(target, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(document, "_replace_file", failing)
    with pytest.raises(InputError):
        document.write_atomic(path, b"new")
    assert (path.read_bytes(), backup.read_bytes()) == (b"current", b"older")
    backup.unlink()
    with pytest.raises(InputError):
        document.write_atomic(path, b"new")
    assert not backup.exists()  # none before, none after

"""review21c: a mistyped ROOMSOPS_<SECTION>_<KEY> variable (issue 21.5's "an unknown key is refused with the
closest known key", issue 21.9's list of every setting and its variable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("ROOMSOPS_ROOMS_DATABSE", "ROOMSOPS_ROOMS_DATABASE"),
        ("ROOMSOPS_SYNC_CONCURENCY", "ROOMSOPS_SYNC_CONCURRENCY"),
        ("ROOMSOPS_LOG_FILES", "ROOMSOPS_LOG_FILE"),
    ],
)
def test_a_mistyped_settings_variable_is_named(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, meant: str
) -> None:
    """The same typo in roomsops.toml (`[rooms] databse = ...`) is refused, exit 2 "unknown setting rooms.databse
    ... known keys of [rooms]: ...". As a variable — the way README's systemd unit (`Environment=`) and a
    Windows task set them — it is ignored without a word: ROOMSOPS_ROOMS_DATABSE=sqlite:///D:/rooms/rooms.db
    leaves rooms.database at its default, so `persons list` shows a new empty database ("no persons", exit 0) and
    `sync` has nothing to do and succeeds. `config settings` does not show it either. It must be named (refused
    like the file's typo, or at least warned about with the variable meant)."""
    monkeypatch.setenv(variable, str(tmp_path / "elsewhere" / "x"))
    for args in (("persons", "list"), ("config", "settings")):
        run = invoke(*args)
        assert run.code == 2 or variable in run.err, (args, run.code, run.out, run.err)

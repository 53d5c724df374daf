"""review21t: read-only commands create a new, empty ROOMS database (and a new installation id) where none is.
`bookings list`, `persons list`, `rooms list` and `sync diff` run with settings that do not lead to the real
database (a scheduled task without ROOMSOPS_SETTINGS, another account's data folder) answer "no bookings" / "no open
differences", exit 0, and leave `rooms.db` and `rooms.db.installation-id` behind; `rooms check` and `db upgrade`
refuse the same situation, exit 2, "there is no ROOMS database at … — check rooms.database". A monitor polling
`sync diff` then sees a healthy, empty installation. Issue 21, Deliver 9: defaults that do not depend on where a
command runs, nothing created when a command cannot do its job on the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Invoke


@pytest.mark.parametrize("args", [("bookings", "list"), ("sync", "diff"), ("persons", "list")])
def test_a_read_only_command_creates_no_database(
    invoke: Invoke, tmp_path: Path, args: tuple[str, ...]
) -> None:
    assert not (tmp_path / "rooms.db").exists()
    run = invoke(*args)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("rooms.db")) == []
    assert run.code == 2, run.out + run.err
    assert "rooms.db" in run.err, run.err

"""review21n: fix21m's `unreachable_link` error of the sync run lock (a data folder that is a symbolic link to a
folder not there) ends its remedy with 'or set $ROOMSOPS_DATA_DIR to one'. The sync lock lies beside the SQLite
database (rooms.database), not in the data folder: with rooms.database set, as the README's settings and the lab's
roomsops.toml do, setting ROOMSOPS_DATA_DIR changes nothing and `sync` fails the same way. Issue 21, Deliver 6:
every remedy sentence points at a command (here: a setting) that works for that situation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

from .conftest import changes

pytestmark = pytest.mark.integration


def test_sync_lock_behind_a_dangling_link_names_a_setting_that_moves_it(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    link = tmp_path / "data"
    link.symlink_to(tmp_path / "unmounted" / "data")
    linked = {**env, "ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{link}/rooms.db"}
    fresh_lab.reset_requests()
    run = invoke("sync", env=linked)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "unreachable_link" in run.err or str(link) in line, line
    assert changes(fresh_lab) == {}
    # Follow the remedy as written: a data folder that exists.
    good = tmp_path / "good"
    good.mkdir()
    again = invoke("sync", env={**linked, "ROOMSOPS_DATA_DIR": str(good)})
    if "ROOMSOPS_DATA_DIR" in line:
        assert again.code == 0, again.out + again.err  # the remedy worked
    else:
        assert "rooms.database" in line, line  # the setting that places the lock is named


def test_sync_lock_behind_a_loop_of_links_says_it_is_a_loop(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """reviewer doubt (review21n): a data folder that is a loop of links has no folder to create where it points;
    the error says it is a loop and the remedy does not say to create that folder."""
    links = tmp_path / "links"
    links.mkdir()
    first, second = links / "data", links / "other"
    first.symlink_to(second)
    second.symlink_to(first)
    linked = {**env, "ROOMSOPS_ROOMS_DATABASE": f"sqlite:///{first}/rooms.db"}
    fresh_lab.reset_requests()
    run = invoke("sync", env=linked)
    assert run.code == 2, run.out + run.err
    line = one_line_error(run)
    assert "loop" in line and str(first) in line, line
    assert "create the folder it points at" not in line, line
    assert "rooms.database" in line, line
    assert changes(fresh_lab) == {}
    assert sorted(p.name for p in links.iterdir()) == ["data", "other"]  # nothing made

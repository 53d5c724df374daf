"""review21y: fix21x made `sync` refuse with no_database (exit 2, nothing created) where the settings lead to no
database, because a scheduled run whose settings miss the real database would otherwise create a new, empty
installation and report a green "ok" while the real sync has stopped (review21w; issue 21, Deliver 3 and 9:
"nothing created when a command fails on configuration"). `roomsops serve` — README's long-running form of the same
sync, the one a systemd unit or a Windows service runs unattended — still does exactly that: where no database is,
`serve --max-ticks 1` creates rooms.db, rooms.db.installation-id and rooms.db.serve.lock, prints "0 pass(es),
0 failed" and exits 0 (without --max-ticks it would run "healthy" forever, /healthz green). An administrator expects
what `sync` does: `Error: there is no ROOMS database at ... — ...`, exit 2, no file created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Invoke, one_line_error

pytestmark = pytest.mark.integration


def test_serve_where_no_database_is_is_refused_and_creates_nothing(
    invoke: Invoke, fresh_lab: Any, env: dict[str, str], tmp_path: Path
) -> None:
    run_env = env | {"ROOMSOPS_SERVE_STATUS_LISTEN": "127.0.0.1:0"}
    sync = invoke("--quiet", "sync", env=run_env)
    assert sync.code == 2, sync.out + sync.err  # the one-off sync refuses (fix21x)
    serve = invoke("--quiet", "serve", "--max-ticks", "1", env=run_env)
    made = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("rooms.db"))
    assert made == [], serve.out + serve.err
    assert serve.code == 2, serve.out + serve.err
    assert "no ROOMS database" in one_line_error(serve)
